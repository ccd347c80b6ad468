//! The `national-day` target: the Journée nationale « Non au harcèlement » of each school
//! year (its date, window and report deadline), and the awareness and prevention
//! actions schools declare, for the national day or during the year. Owns
//! `national_day` and `awareness_action`.
//!
//! Routes:
//!
//! | route | who | action |
//! |---|---|---|
//! | `GET /api/v1/national-days/{school_year}`, `GET /api/v1/national-days/vocabulary` | every account | — |
//! | `PUT /api/v1/national-days/{school_year}` | the pole | `SetNationalDay` |
//! | `POST /api/v1/national-days/{school_year}/actions`, `GET /api/v1/actions[?…]`, `GET`/`PATCH /api/v1/actions/{id}`, `POST …/submit` | a school of the action, the referents of its department, the pole | `ReportAwarenessAction` |
//! | `POST /api/v1/actions/{id}/validate`, `/return`, `/publish`, `GET /api/v1/national-days/{school_year}/reports` | the referent of the department of **every** school of the action, the pole | `ValidateAwarenessAction` |
//!
//! The date rule and the shipped Toussaint return days are in [`date`]
//! (`toussaint.json`); [`date::national_day`] is what `pharos national-day dates` prints.
//!
//! An action names one school or several (an inter-degree action of a collège and its
//! écoles): any school of the action reads, edits and submits it; a department referent
//! validates, returns or publishes it only when every school of the action is in their
//! department (an action across two departments is the pole's to validate).

pub mod action;
pub mod date;
pub mod day;
pub mod index;
mod input;
mod places;
pub mod report;

use chrono::NaiveDate;
use pharos_access::{Projected, TargetState};
use pharos_decider::Rejection;
use pharos_events::national_day::{ACTION_CATEGORY, NATIONAL_DAY_CATEGORY};
use pharos_events::partner::CATEGORY as PARTNER_CATEGORY;
use pharos_events::phare::SchoolYear;
use pharos_kit::{OpenApiRouter, Started, Target, routes};
use utoipa::OpenApi as _;

pub use date::{known_national_days, long_date, national_day, national_day_lines};

/// The name `pharos serve --target` takes.
const NAME: &str = "national-day";

/// The first Journée nationale « Non au harcèlement » was held in November 2015.
pub const FIRST_YEAR: i32 = 2015;

/// The national-day target.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Journée nationale « Non au harcèlement » : éditions et actions",
    owns: &[NATIONAL_DAY_CATEGORY, ACTION_CATEGORY],
    openapi: || pharos_kit::openapi_of(api()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            let index: index::Index = Projected::start(
                &app.store,
                &[ACTION_CATEGORY, PARTNER_CATEGORY],
                index::ActionIndex::apply,
                context.shutdown.clone(),
            )
            .await?;
            let api = api().layer(axum::Extension(index));
            Ok(Started::new(NAME, api, context.state, app))
        })
    },
};

/// Every route of this target with its documentation.
fn api() -> OpenApiRouter<TargetState> {
    use action::http as actions;
    use day::http as days;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(days::vocabulary))
        .routes(routes!(days::get, days::set))
        .routes(routes!(report::reports))
        .routes(routes!(actions::create))
        .routes(routes!(actions::list))
        .routes(routes!(actions::get, actions::edit))
        .routes(routes!(actions::submit))
        .routes(routes!(actions::validate))
        .routes(routes!(actions::return_to_school))
        .routes(routes!(actions::publish))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(
        pharos_web::Created,
        pharos_web::Versioned,
        pharos_web::Problem,
        pharos_web::FieldError,
        pharos_events::national_day::Campaign,
        day::http::NationalDayView,
        day::http::NationalDayInput,
        day::http::VocabularyView,
        day::http::TermView,
        report::ReportView,
        report::MissingSchoolView,
        action::http::NewAction,
        action::http::ActionPatch,
        action::http::PartnerInput,
        action::http::ReturnInput,
        action::http::ActionView,
        action::http::ActionSchoolView,
        action::http::ActionPartnerView,
        action::http::ActionStatusView,
        action::http::ActionSummary,
        action::http::ActionList,
    )),
    tags((name = "national-day", description = "Journée nationale « Non au harcèlement » et actions de prévention"))
)]
struct ApiDoc;

/// An action or a national day concerns a school year from the first national day
/// (2015-2016) up to the next one: further ahead is a typing error, not a plan.
pub fn check_school_year(year: SchoolYear, today: NaiveDate) -> Result<(), Rejection> {
    let next = SchoolYear::containing(today).next();
    if year.start_year() < FIRST_YEAR || year > next {
        return Err(Rejection::invalid(
            "school-year-out-of-range",
            "school_year",
            format!(
                "L'année scolaire {year} est hors période : la Journée nationale couvre les \
                 années de {FIRST_YEAR}-{} à {next} (l'année suivante au plus tard).",
                FIRST_YEAR + 1
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_school_year_before_the_first_national_day_or_beyond_the_next_one() {
        let today: NaiveDate = "2026-11-15".parse().unwrap();
        for ok in ["2015-2016", "2027-2028"] {
            assert!(check_school_year(SchoolYear::parse(ok).unwrap(), today).is_ok());
        }
        for bad in ["2014-2015", "2028-2029"] {
            let error = check_school_year(SchoolYear::parse(bad).unwrap(), today).unwrap_err();
            assert_eq!(error.rule, "school-year-out-of-range");
        }
    }

    #[test]
    fn the_openapi_document_is_complete_and_french() {
        let document = (TARGET.openapi)();
        // Tagged `national-day` (the target's name), operation ids prefixed
        // `national_day_` (an identifier): `incomplete` expects the tag as prefix.
        let problems: Vec<String> = pharos_web::api::incomplete(&document, "national-day")
            .into_iter()
            .filter(|p| !p.contains("not prefixed national-day_"))
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
        for (method, path, operation) in pharos_web::api::operations(&document) {
            let id = operation.operation_id.as_deref().unwrap_or_default();
            assert!(id.starts_with("national_day_"), "{method} {path}: {id}");
        }
        let text = serde_json::to_string(&document).unwrap();
        assert!(text.contains("Journée nationale"), "{text}");
    }
}
