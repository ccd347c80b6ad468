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
use chrono::NaiveDate;
use pharos_access::TargetState;
use pharos_events::phare::SchoolYear;
use pharos_web::api::{Route, route};
use pharos_web::{Problem, Rejection, target_status_route};
use utoipa::OpenApi as _;
use utoipa::openapi::path::HttpMethod;

/// The name `pharos serve --target` takes.
pub const TARGET: &str = "phare";

/// pHARe started as an experiment in 2019-2020: no deployment or label is older.
pub const FIRST_PHARE_YEAR: i32 = 2019;

/// Every route of this target but the shared status route, as a table: the router is
/// built from it, and a unit test checks the OpenAPI document against it.
pub fn routes() -> Vec<Route<TargetState>> {
    use HttpMethod::{Delete, Get, Post};
    vec![
        route(Post, "/api/v1/phare/deployments", deployments::create),
        route(Get, "/api/v1/phare/deployments/{id}", deployments::get),
        route(
            Post,
            "/api/v1/phare/deployments/{id}/charter",
            deployments::sign_charter,
        ),
        route(
            Post,
            "/api/v1/phare/deployments/{id}/team-members",
            deployments::add_member,
        ),
        route(
            Delete,
            "/api/v1/phare/deployments/{id}/team-members/{member_id}",
            deployments::remove_member,
        ),
        route(
            Post,
            "/api/v1/phare/deployments/{id}/coordinator",
            deployments::name_coordinator,
        ),
        route(
            Post,
            "/api/v1/phare/deployments/{id}/protocol",
            deployments::record_protocol,
        ),
        route(
            Post,
            "/api/v1/phare/deployments/{id}/learning-hours",
            deployments::plan_learning_hours,
        ),
        route(
            Post,
            "/api/v1/phare/deployments/{id}/parent-workshops",
            deployments::record_parent_workshop,
        ),
        route(Post, "/api/v1/phare/labels", labels::create),
        route(Get, "/api/v1/phare/labels/{id}", labels::get),
        route(Post, "/api/v1/phare/labels/{id}/criteria", labels::answer),
        route(Post, "/api/v1/phare/labels/{id}/submit", labels::submit),
        route(Post, "/api/v1/phare/labels/{id}/review", labels::review),
        route(Post, "/api/v1/phare/labels/{id}/decision", labels::decide),
    ]
}

/// Every route of this target.
pub fn router(state: TargetState) -> Router {
    pharos_web::api::router(routes())
        .with_state(state.clone())
        .merge(target_status_route(TARGET).with_state(state.app))
}

/// The OpenAPI document of this target's routes (the shared status route aside), to be
/// merged with the other targets'.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        deployments::create,
        deployments::get,
        deployments::sign_charter,
        deployments::add_member,
        deployments::remove_member,
        deployments::name_coordinator,
        deployments::record_protocol,
        deployments::plan_learning_hours,
        deployments::record_parent_workshop,
        labels::create,
        labels::get,
        labels::answer,
        labels::submit,
        labels::review,
        labels::decide,
    ),
    components(schemas(
        pharos_web::Created,
        pharos_web::Versioned,
        pharos_web::Problem,
        pharos_web::FieldError,
        input::PersonInput,
        deployments::NewDeployment,
        deployments::CharterInput,
        deployments::NewTeamMember,
        deployments::CoordinatorInput,
        deployments::ProtocolInput,
        deployments::LearningHoursInput,
        deployments::WorkshopInput,
        deployments::DeploymentView,
        deployments::DeploymentStatus,
        deployments::CharterTerm,
        deployments::MemberView,
        deployments::PersonView,
        deployments::Protocol,
        deployments::LearningHours,
        deployments::Workshop,
        deployments::Compliance,
        labels::NewLabel,
        labels::LevelInput,
        labels::AnswerInput,
        labels::DecisionInput,
        labels::Outcome,
        labels::LabelView,
        labels::LabelStatus,
        labels::LevelView,
        labels::CriterionView,
        pharos_events::phare::TeamFunction,
        pharos_events::phare::ProtocolBody,
        pharos_events::phare::LabelLevel,
        pharos_events::phare::CriterionAuthority,
    )),
    tags((name = "phare", description = "Déploiement du programme pHARe et labels"))
)]
struct ApiDoc;

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

    #[test]
    fn the_openapi_document_describes_every_route_and_no_other() {
        let problems = pharos_web::api::undocumented(&openapi(), &routes(), "phare");
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn the_openapi_document_shows_no_sealed_value() {
        let text = serde_json::to_string(&openapi()).unwrap();
        assert!(!text.to_lowercase().contains("sealed"), "{text}");
    }

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
