//! The `contests` target: the « Non au harcèlement » contest — editions, entries and their
//! files, jury with recusal, awards and palmarès. Owns `contest` and `contest_entry`.
//!
//! Routes:
//!
//! | route | who | action |
//! |---|---|---|
//! | `POST /api/v1/contests`, `/{id}/deadline-extensions`, `/{id}/jurors`, `/{id}/publish-results`, `/{id}/close`, `GET /{id}/jury-progress` | the pole | `ManageContest` |
//! | `GET /api/v1/contests[?school_year=]`, `GET /api/v1/contests/{id}` | any account (jurors and extensions: the pole; a school sees its own extension) | — |
//! | `GET /api/v1/contests/{id}/palmares` | anyone, without login, once published | — |
//! | `POST /api/v1/contests/{id}/entries`, `PATCH /api/v1/entries/{id}`, `POST /api/v1/entries/{id}/files`, `/attestations`, `/submit`, `/withdraw` | the school, its department's referents, the pole | `EnterContest` |
//! | `GET /api/v1/contests/{id}/entries`, `GET /api/v1/entries/{id}`, `GET /api/v1/entries/{id}/files/{file_id}` | the same; a juror, the admissible entries assigned to them | `EnterContest`, `JudgeContest` |
//! | `POST /api/v1/entries/{id}/admissibility`, `/jurors`, `/awards`, `DELETE /api/v1/entries/{id}/awards/{kind}`, `POST /api/v1/entries/{id}/national-result` | the pole | `ManageContest` |
//! | `POST /api/v1/entries/{id}/scores` | the juror the entry is assigned to | `JudgeContest` |
//!
//! Each aggregate is a pure decider: [`edition`] (one stream per school year; extensions,
//! jurors, awards — decided there, where exclusivity and quotas see every award, and
//! revoked there until publication — the palmarès frozen at publication, the national
//! round's results, the close) and [`entry`] (one stream per production; commands
//! depending on the edition carry its state). An entry's status after the jury
//! (laureate… archived) is read from both ([`entry::EntryState::standing`]). Times are in
//! Europe/Paris ([`paris`]). Files go through [`files`]: streamed to a spool file (sha256
//! computed, size capped while receiving), type recognised from the content, a video's
//! duration read from its container (MP4 `moov/mvhd`, WebM `Segment/Info`), then put in a
//! content-addressed [`files::FileStore`] (on disk under `files_dir` now; an
//! S3-compatible implementation plugs in behind the same trait). [`index`] keeps every
//! entry folded in memory for the lists, group counts, the jury's progress and the
//! palmarès; [`palmares`] ranks by weighted score, ties shown. [`purge`] deletes entries'
//! files, at the close (entries without an award) and when the vault erases their
//! responsible adult (a worker following `person_erased` from a checkpoint).
//!
//! Jurors' attachment (for recusal) is given by the pole when appointing them
//! (`{user_id, school_uai?, department?}`): attached to a school, a juror never scores its
//! entries; attached to a department, none of that department's.

pub mod edition;
pub mod entry;
pub mod files;
pub mod http;
pub mod index;
pub mod palmares;
pub mod paris;
pub mod purge;

use std::sync::Arc;

use pharos_access::{Projected, TargetState};
use pharos_events::contest::{EDITION_CATEGORY, ENTRY_CATEGORY};
use pharos_kit::{OpenApiRouter, Started, Target, routes};
use utoipa::OpenApi as _;

/// The name `pharos serve --target` takes.
const NAME: &str = "contests";

/// The contests target.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Concours « Non au harcèlement » : éditions, productions, jury, palmarès",
    owns: &[EDITION_CATEGORY, ENTRY_CATEGORY],
    openapi: || pharos_kit::openapi_of(api()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            let index: index::Index = Projected::start(
                &app.store,
                &[ENTRY_CATEGORY],
                index::Entries::apply,
                context.shutdown.clone(),
            )
            .await?;
            // The embedded store; an S3-compatible one would be chosen here.
            let files: http::Files = Arc::new(files::DiskStore::open(&context.files_dir)?);
            let erasures = purge::follow_erasures(
                app.store.clone(),
                index.clone(),
                files.clone(),
                context.state.clock.clone(),
                context.shutdown.clone(),
            );
            let api = api()
                .layer(axum::Extension(index))
                .layer(axum::Extension(files));
            Ok(Started::new(NAME, api, context.state, app)
                .with_worker(purge::ERASURE_FOLLOWER, erasures))
        })
    },
};

/// Every route of this target with its documentation.
fn api() -> OpenApiRouter<TargetState> {
    use http::editions;
    use http::entries;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(editions::create, editions::list))
        .routes(routes!(editions::get))
        .routes(routes!(editions::extend_deadline))
        .routes(routes!(editions::appoint_juror))
        .routes(routes!(editions::jury_progress))
        .routes(routes!(editions::publish_results))
        .routes(routes!(editions::palmares))
        .routes(routes!(editions::close))
        .routes(routes!(entries::create, entries::list))
        .routes(routes!(entries::get, entries::update))
        .routes(routes!(entries::upload))
        .routes(routes!(entries::download))
        .routes(routes!(entries::attest))
        .routes(routes!(entries::submit))
        .routes(routes!(entries::withdraw))
        .routes(routes!(entries::decide_admissibility))
        .routes(routes!(entries::assign_juror))
        .routes(routes!(entries::score_entry))
        .routes(routes!(entries::grant_award))
        .routes(routes!(entries::revoke_award))
        .routes(routes!(entries::record_national_result))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(
        pharos_web::Created,
        pharos_web::Versioned,
        pharos_web::Problem,
        pharos_web::FieldError,
        http::PersonInput,
        http::PersonView,
        http::editions::NewEditionInput,
        http::editions::CategoryInput,
        http::editions::SpecialPrizeInput,
        http::editions::RulesInput,
        http::editions::CriterionInput,
        http::editions::EditionView,
        http::editions::EditionList,
        http::editions::CategoryView,
        http::editions::SpecialPrizeView,
        http::editions::RulesView,
        http::editions::CriterionView,
        http::editions::ExtensionView,
        http::editions::JurorView,
        http::editions::ExtensionInput,
        http::editions::JurorInput,
        http::editions::JuryProgress,
        http::editions::JurorProgress,
        http::editions::EntryProgress,
        http::editions::PalmaresView,
        http::editions::PalmaresCategory,
        http::editions::PalmaresEntry,
        http::editions::ClosedCampaign,
        http::entries::NewEntryInput,
        http::entries::GroupInput,
        http::entries::EntryPatch,
        http::entries::FileView,
        http::entries::AttestationsInput,
        http::entries::AdmissibilityInput,
        http::entries::AssignmentInput,
        http::entries::ScoresInput,
        http::entries::AwardInput,
        http::entries::NationalResultInput,
        http::entries::GroupView,
        http::entries::AttestationsView,
        http::entries::JurorScores,
        http::entries::EntryView,
        http::entries::EntrySummary,
        http::entries::EntryList,
        entry::EntryStatus,
        pharos_events::contest::ContestLevel,
        pharos_events::contest::Medium,
        pharos_events::contest::ClassLevel,
        pharos_events::contest::FileType,
        pharos_events::contest::AwardKind,
    )),
    tags((name = "contests", description = "Concours « Non au harcèlement » : éditions, productions, jury, palmarès"))
)]
struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_shows_no_sealed_value_and_prefixes_its_operations() {
        let document = (TARGET.openapi)();
        let text = serde_json::to_string(&document).unwrap();
        assert!(!text.to_lowercase().contains("sealed"), "{text}");
        for item in document.paths.paths.values() {
            for operation in [&item.get, &item.post, &item.patch, &item.delete]
                .into_iter()
                .flatten()
            {
                let id = operation.operation_id.as_deref().unwrap_or_default();
                assert!(id.starts_with("contests_"), "{id}");
            }
        }
    }
}
