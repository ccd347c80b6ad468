//! The `cohorts` target: pupil and parent ambassador cohorts, one per school, school year
//! and kind. Owns `ambassador_cohort`.
//!
//! Routes:
//!
//! | route | who | action |
//! |---|---|---|
//! | `POST /api/v1/cohorts`, `GET /api/v1/cohorts[?school_uai=&school_year=&department=&kind=]`, `GET /api/v1/cohorts/{id}` | the school, its department's referents, the pole | `ManageCohorts` |
//! | `PUT /api/v1/cohorts/{id}/counts`, `PUT …/names`, `POST …/trainings`, `POST …/declare`, `/activate`, `/close` | the school, its department's referents, the pole | `ManageCohorts` |
//!
//! A cohort's kind must suit its school (école: `petits_ambassadeurs`; collège:
//! `eleves_college`; lycée GT, pro or polyvalent: `eleves_lycee`; EREA: both pupil kinds,
//! its collège and CAP classes; any school, périscolaire included: `parents`), and its
//! counts are by the class levels of its kind (`cm1`, `cm2`; `6e`…`3e`; `2nde`, `1re`,
//! `tle`; `parents`). A second creation for the same school, year and kind answers 409
//! with `existing_id` and a `Location` (the stream id derives from the three).
//!
//! Lifecycle `draft → declared → trained → active → closed`: `trained` is reached when
//! a training is recorded on a declared cohort (or at the declaration, when one was
//! recorded before); `active` needs it. A training is a session of the `trainings`
//! target (it must exist, not be cancelled and have started; the referent's attendance is
//! shown) or an entry typed by the school. Below 10 pupils in a collège or lycée, the
//! cohort is flagged (`below_ten_ambassadors`, `warnings`), never refused.
//!
//! Personal data: the adult referent (held for `cohort_referent`: two school years after
//! the cohort's) and the optional nominal list (one vault person per pupil, held for
//! `pupil_name`: the end of the cohort's school year; erased when the list is replaced
//! and when the cohort closes). Names are shown only by `GET /api/v1/cohorts/{id}`, each
//! read logged; never in lists.
//!
//! The aggregate is a pure decider ([`decider`]) and its routes ([`http`]). Two in-memory
//! projections follow the log: [`index`] (the cohorts, for the lists) and [`sessions`]
//! (the `trainings` target's sessions, for the training rules). `phare` reads this
//! target's events for its « 10 ambassadeurs » flag.

pub mod decider;
pub mod http;
pub mod index;
mod input;
pub mod sessions;

use pharos_access::{Projected, TargetState};
use pharos_events::cohort::CATEGORY;
use pharos_events::training::{SESSION_CATEGORY, TRAINING_CATEGORY};
use pharos_kit::{OpenApiRouter, Started, Target, routes};
use utoipa::OpenApi as _;

/// The name `pharos serve --target` takes.
const NAME: &str = "cohorts";

/// The `cohorts` target.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Cohortes d'ambassadeurs élèves et parents",
    owns: &[CATEGORY],
    openapi: || pharos_kit::openapi_of(api()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            // The lists: caught up before serving, then followed.
            let index: index::Index = Projected::start(
                &app.store,
                &[CATEGORY],
                index::CohortIndex::apply,
                context.shutdown.clone(),
            )
            .await?;
            // The sessions cohorts may say they attended.
            let sessions: sessions::Sessions = Projected::start(
                &app.store,
                &[TRAINING_CATEGORY, SESSION_CATEGORY],
                sessions::KnownSessions::apply,
                context.shutdown.clone(),
            )
            .await?;
            let api = api()
                .layer(axum::Extension(index))
                .layer(axum::Extension(sessions));
            Ok(Started::new(NAME, api, context.state, app))
        })
    },
};

/// Every route of this target with its documentation.
fn api() -> OpenApiRouter<TargetState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(http::create, http::list))
        .routes(routes!(http::get))
        .routes(routes!(http::set_counts))
        .routes(routes!(http::set_names))
        .routes(routes!(http::record_training))
        .routes(routes!(http::declare))
        .routes(routes!(http::activate))
        .routes(routes!(http::close))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(
        pharos_web::Created,
        pharos_web::Versioned,
        pharos_web::Problem,
        pharos_web::FieldError,
        input::ReferentInput,
        http::NewCohort,
        http::CohortCountsInput,
        http::CohortTrainingInput,
        http::PupilInput,
        http::CohortSummary,
        http::CohortList,
        http::CohortView,
        http::ReferentView,
        http::PupilView,
        http::TrainingView,
        decider::CohortStatus,
        pharos_events::cohort::CohortKind,
        pharos_events::cohort::ClassLevel,
    )),
    tags((name = "cohorts", description = "Cohortes d'élèves et de parents ambassadeurs"))
)]
struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_shows_no_sealed_value_and_documents_every_operation() {
        let document = (TARGET.openapi)();
        let text = serde_json::to_string(&document).unwrap();
        assert!(!text.to_lowercase().contains("sealed"), "{text}");
        let problems = pharos_web::api::incomplete(&document, NAME);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(pharos_web::api::operations(&document).count(), 9);
    }
}
