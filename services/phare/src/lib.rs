//! The `phare` target: the pHARe programme's deployment per school or circonscription
//! and school year, and pHARe labels. Owns `phare_deployment` and `phare_label`.
//!
//! Routes (API.md, pHARe):
//!
//! | route | who |
//! |---|---|
//! | `POST /api/v1/phare/deployments`, `GET /api/v1/phare/deployments/{id}` and its commands | the school, its department's referents, the pole |
//! | `POST /api/v1/phare/labels`, `GET /api/v1/phare/labels/{id}`, `/criteria`, `/submit` | the school, its department's referents, the pole |
//! | `POST /api/v1/phare/labels/{id}/review`, `/decision`, criteria the pole answers | the pole |

pub mod criteria;
pub mod deployments;
mod input;
pub mod labels;
pub mod places;

use axum::Router;
use axum::routing::{delete, get, post};
use chrono::NaiveDate;
use pharos_access::TargetState;
use pharos_events::phare::SchoolYear;
use pharos_web::{Problem, Rejection, target_status_route};
use serde::Serialize;
use uuid::Uuid;

/// The name `pharos serve --target` takes.
pub const TARGET: &str = "phare";

/// pHARe started as an experiment in 2019-2020: no deployment or label is older.
pub const FIRST_PHARE_YEAR: i32 = 2019;

/// Every route of this target.
pub fn router(state: TargetState) -> Router {
    Router::new()
        .route("/api/v1/phare/deployments", post(deployments::create))
        .route("/api/v1/phare/deployments/{id}", get(deployments::get))
        .route(
            "/api/v1/phare/deployments/{id}/charter",
            post(deployments::sign_charter),
        )
        .route(
            "/api/v1/phare/deployments/{id}/team-members",
            post(deployments::add_member),
        )
        .route(
            "/api/v1/phare/deployments/{id}/team-members/{member_id}",
            delete(deployments::remove_member),
        )
        .route(
            "/api/v1/phare/deployments/{id}/coordinator",
            post(deployments::name_coordinator),
        )
        .route(
            "/api/v1/phare/deployments/{id}/protocol",
            post(deployments::record_protocol),
        )
        .route(
            "/api/v1/phare/deployments/{id}/learning-hours",
            post(deployments::plan_learning_hours),
        )
        .route(
            "/api/v1/phare/deployments/{id}/parent-workshops",
            post(deployments::record_parent_workshop),
        )
        .route("/api/v1/phare/labels", post(labels::create))
        .route("/api/v1/phare/labels/{id}", get(labels::get))
        .route("/api/v1/phare/labels/{id}/criteria", post(labels::answer))
        .route("/api/v1/phare/labels/{id}/submit", post(labels::submit))
        .route("/api/v1/phare/labels/{id}/review", post(labels::review))
        .route("/api/v1/phare/labels/{id}/decision", post(labels::decide))
        .with_state(state.clone())
        .merge(target_status_route(TARGET).with_state(state.app))
}

/// The answer to a creation: `201` with the new resource's id and version.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub id: Uuid,
    pub version: i64,
}

/// The answer to a command on an existing resource: `200` with its new version.
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub version: i64,
}

/// A deployment or label concerns a school year from pHARe's start up to the next one:
/// further ahead is a typing error, not a plan.
pub fn check_school_year(year: SchoolYear, today: NaiveDate) -> Result<(), Rejection> {
    let next = SchoolYear::containing(today).next();
    if year.start_year() < FIRST_PHARE_YEAR || year > next {
        return Err(Rejection::invalid(
            "school-year-out-of-range",
            "school_year",
            format!(
                "L'année scolaire {year} est hors période : pHARe couvre les années de \
                 {FIRST_PHARE_YEAR}-{} à {next} (l'année suivante au plus tard).",
                FIRST_PHARE_YEAR + 1
            ),
        ));
    }
    Ok(())
}

/// A vault failure: the store's errors keep their meaning, anything else is logged and
/// answered as an internal error.
fn privacy_problem(error: pharos_privacy::PrivacyError) -> Problem {
    match error {
        pharos_privacy::PrivacyError::Store(e) => e.into(),
        other => {
            tracing::error!(error = %other, "vault failure");
            Problem::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_school_year_is_two_consecutive_years_from_september_to_august() {
        let year = SchoolYear::parse(" 2026-2027 ").unwrap();
        assert_eq!(year.to_string(), "2026-2027");
        assert_eq!(year.first_day(), day("2026-09-01"));
        assert_eq!(year.last_day(), day("2027-08-31"));
        assert_eq!(SchoolYear::containing(day("2027-08-31")), year);
        assert_eq!(SchoolYear::containing(day("2026-09-01")), year);
        assert_eq!(SchoolYear::containing(day("2026-08-31")), year.previous());
        for bad in [
            "2026-2028",
            "2026",
            "2026/2027",
            "26-27",
            "2027-2026",
            "abcd-efgh",
            "",
        ] {
            assert!(SchoolYear::parse(bad).is_err(), "{bad}");
        }
        let error = SchoolYear::parse("2026-2028").unwrap_err();
        assert!(error.0.contains("2026-2027"), "{error}");
    }

    #[test]
    fn rejects_a_school_year_before_phare_or_beyond_the_next_one() {
        let today = day("2026-11-15");
        assert!(check_school_year(SchoolYear::parse("2019-2020").unwrap(), today).is_ok());
        assert!(check_school_year(SchoolYear::parse("2027-2028").unwrap(), today).is_ok());
        for year in ["2018-2019", "2028-2029"] {
            let error = check_school_year(SchoolYear::parse(year).unwrap(), today).unwrap_err();
            assert_eq!(error.rule, "school-year-out-of-range");
            assert!(error.message.contains("hors période"), "{}", error.message);
        }
    }
}
