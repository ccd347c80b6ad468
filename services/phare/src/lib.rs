//! The `phare` target: the pHARe programme's deployment per school or circonscription
//! and school year, and pHARe labels. Owns `phare_deployment` and `phare_label`.
//!
//! Routes:
//!
//! | route | who | action |
//! |---|---|---|
//! | `POST /api/v1/phare/deployments`, `GET /api/v1/phare/deployments[?school_uai=&circonscription=&department=&school_year=]`, `GET /api/v1/phare/deployments/{id}` and its commands | the school, its department's referents, the pole | `ManageDeployment` |
//! | `POST /api/v1/phare/labels`, `GET /api/v1/phare/labels[?school_uai=&department=&school_year=]`, `GET /api/v1/phare/labels/{id}`, `/criteria`, `/submit` | the school, its department's referents, the pole | `ApplyForLabel` |
//! | `POST /api/v1/phare/labels/{id}/review`, `/decision`, criteria the pole answers | the pole | `DecideLabel` |
//!
//! A circonscription's deployment holds the resource team and the coordinator its écoles
//! are judged by: the accounts of its écoles list and read it (`GET`, reads of names
//! logged as for any reader) but do not change it; an école's own team members and
//! coordinator never count, and its view says so (`warnings`), as it says when its
//! circonscription has no deployment that year. The protocol goes to the conseil
//! d'administration of a collège or lycée, to the conseil d'école of an école or a
//! circonscription (`protocol-body-mismatch` otherwise). The lists show each item's
//! state, read from its stream for the page: a deployment's status and compliance flags,
//! an application's status (with the return reason or the level awarded).
//!
//! `PATCH …/deployments/{id}/team-members/{member_id}` changes a member during the year;
//! `POST …/deployments/{id}/carry-over/confirm` confirms what a new year's deployment took
//! from the year before. A second creation for the same owner and year answers 409 with
//! `existing_id` and a `Location`.
//!
//! Each aggregate is a module with a pure decider (`deployment::decider`,
//! `label::decider`) and its routes (`deployment::http`, `label::http`); the compliance
//! flags come from `pharos_domain::compliance`, shared with the read model and the
//! reminders. Four in-memory projections follow the log: [`index`] (deployments and
//! labels by owner, for the lists), [`evidence`] (what people attended of the pHARe
//! trainings, read from the `trainings` target's events), [`ambassadors`] (each
//! school's pupil ambassadors of the year, read from the `cohorts` target's declared
//! cohorts, for the deployment's « au moins 10 élèves ambassadeurs » flag) and
//! [`contest`] (each school's submitted contest entries of the year, which meet the
//! label's « participation au concours » without the pole's tick).

pub mod ambassadors;
mod answer;
pub mod contest;
pub mod criteria;
pub mod deployment;
pub mod evidence;
pub mod index;
mod input;
pub mod label;
pub mod places;

use chrono::NaiveDate;
use pharos_access::{Projected, TargetState};
use pharos_decider::Rejection;
use pharos_events::cohort::CATEGORY as COHORT_CATEGORY;
use pharos_events::contest::{EDITION_CATEGORY as CONTEST_CATEGORY, ENTRY_CATEGORY};
use pharos_events::phare::SchoolYear;
use pharos_events::phare::{DEPLOYMENT_CATEGORY, LABEL_CATEGORY};
use pharos_events::training::{SESSION_CATEGORY, TRAINING_CATEGORY};
use pharos_kit::{OpenApiRouter, Started, Target, routes};
use utoipa::OpenApi as _;

/// The name `pharos serve --target` takes.
const NAME: &str = "phare";

/// pHARe started as an experiment in 2019-2020: no deployment or label is older.
pub const FIRST_PHARE_YEAR: i32 = 2019;

/// The pHARe target.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Déploiement du programme pHARe par établissement ou circonscription, et labels",
    owns: &[DEPLOYMENT_CATEGORY, LABEL_CATEGORY],
    openapi: || pharos_kit::openapi_of(api()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            // Caught up before serving, side by side (they share nothing), then followed.
            let (index, evidence, ambassadors, participation): (
                index::Index,
                evidence::Evidence,
                ambassadors::Ambassadors,
                contest::Participation,
            ) = tokio::try_join!(
                // The lists by department.
                Projected::start(
                    &app.store,
                    &[DEPLOYMENT_CATEGORY, LABEL_CATEGORY],
                    index::PhareIndex::apply,
                    context.shutdown.clone(),
                ),
                // What people attended of the pHARe trainings, shown with team members.
                Projected::start(
                    &app.store,
                    &[TRAINING_CATEGORY, SESSION_CATEGORY],
                    evidence::TrainingsAttended::apply,
                    context.shutdown.clone(),
                ),
                // Each school's pupil ambassadors, from its declared cohorts.
                Projected::start(
                    &app.store,
                    &[COHORT_CATEGORY],
                    ambassadors::PupilAmbassadors::apply,
                    context.shutdown.clone(),
                ),
                // Each school's contest entries, for the label's « participation au concours ».
                Projected::start(
                    &app.store,
                    &[CONTEST_CATEGORY, ENTRY_CATEGORY],
                    contest::ContestParticipation::apply,
                    context.shutdown.clone(),
                ),
            )?;
            let api = api()
                .layer(axum::Extension(participation))
                .layer(axum::Extension(index))
                .layer(axum::Extension(evidence))
                .layer(axum::Extension(ambassadors));
            Ok(Started::new(NAME, api, context.state, app))
        })
    },
};

/// Every route of this target with its documentation.
fn api() -> OpenApiRouter<TargetState> {
    use deployment::http as deployments;
    use label::http as labels;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(deployments::create, deployments::list))
        .routes(routes!(deployments::get))
        .routes(routes!(deployments::sign_charter))
        .routes(routes!(deployments::add_member))
        .routes(routes!(
            deployments::remove_member,
            deployments::update_member
        ))
        .routes(routes!(deployments::confirm_carry_over))
        .routes(routes!(deployments::name_coordinator))
        .routes(routes!(deployments::record_protocol))
        .routes(routes!(deployments::plan_learning_hours))
        .routes(routes!(deployments::record_parent_workshop))
        .routes(routes!(labels::create, labels::list))
        .routes(routes!(labels::get))
        .routes(routes!(labels::answer))
        .routes(routes!(labels::submit))
        .routes(routes!(labels::review))
        .routes(routes!(labels::decide))
        .routes(routes!(labels::return_to_school))
        .routes(routes!(labels::get_criteria, labels::set_criteria))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(
        pharos_web::Created,
        pharos_web::Versioned,
        pharos_web::Problem,
        pharos_web::FieldError,
        input::PersonInput,
        deployment::http::NewDeployment,
        deployment::http::CharterInput,
        deployment::http::NewTeamMember,
        deployment::http::MemberUpdate,
        deployment::http::CoordinatorInput,
        deployment::http::ProtocolInput,
        deployment::http::LearningHoursInput,
        deployment::http::WorkshopInput,
        deployment::http::DeploymentView,
        deployment::http::DeploymentSummary,
        deployment::http::DeploymentList,
        deployment::http::DeploymentStatusView,
        deployment::http::CharterTermView,
        deployment::http::MemberView,
        deployment::http::TrainingEvidenceView,
        deployment::http::PersonView,
        deployment::http::ProtocolView,
        deployment::http::LearningHoursView,
        deployment::http::WorkshopView,
        pharos_domain::compliance::Compliance,
        deployment::http::DeploymentComplianceView,
        ambassadors::AmbassadorsFlag,
        label::http::NewLabel,
        label::http::LevelInput,
        label::http::AnswerInput,
        label::http::DecisionInput,
        label::http::ReturnInput,
        label::http::CriterionSpecView,
        label::http::ChecklistView,
        label::http::CriteriaSource,
        label::http::LabelCriteriaView,
        label::http::ChecklistInput,
        label::http::LabelCriteriaInput,
        label::http::OutcomeInput,
        label::http::LabelView,
        label::http::LabelSummary,
        label::http::LabelList,
        label::http::LabelStatusView,
        label::http::LevelView,
        label::http::CriterionView,
        label::http::Suggested,
        label::http::SuggestionSource,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_shows_no_sealed_value() {
        let text = serde_json::to_string(&(TARGET.openapi)()).unwrap();
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
