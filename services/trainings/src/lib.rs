//! The `trainings` target: trainings, their sessions, registrations with a waitlist,
//! attendance per slot and the hours it gives. Owns `training`, `training_session` and
//! `training_schedule` (each person's confirmed time spans, for the overlap rule).
//!
//! Per aggregate, a pure decider (`training::decider`, `session::decider`) and the HTTP
//! routes that run it (`training::http`, `session::http`); `index` follows trainings and
//! sessions in memory, for the plannings `listing` serves and a first check of the rule
//! that spans them (one person confirmed in two overlapping sessions), which `schedule`
//! decides on one stream per person, across processes.

mod index;
mod listing;
pub mod schedule;
pub mod session;
pub mod training;

use std::sync::Arc;

use axum::extract::FromRef;
use pharos_access::{Access, Projected, TargetState};
use pharos_events::training::{SCHEDULE_CATEGORY, SESSION_CATEGORY, TRAINING_CATEGORY};
use pharos_eventstore::StoreError;
use pharos_kit::{Context, OpenApiRouter, Started, Target, routes};
use pharos_web::AppState;
use tokio_util::sync::CancellationToken;

use crate::index::SessionIndex;

/// The name `pharos serve --target` takes.
const NAME: &str = "trainings";

/// The trainings handlers' state.
#[derive(Debug, Clone)]
pub struct Trainings {
    pub target: TargetState,
    index: Arc<Projected<SessionIndex>>,
}

impl Trainings {
    /// Catches up with trainings and sessions (for the overlap rule and the plannings),
    /// then follows them.
    pub async fn start(
        target: TargetState,
        shutdown: CancellationToken,
    ) -> Result<Self, StoreError> {
        let index = Projected::start(
            &target.app.store,
            &[TRAINING_CATEGORY, SESSION_CATEGORY],
            SessionIndex::apply,
            shutdown,
        )
        .await?;
        Ok(Self { target, index })
    }

    /// Writes a session's new events through to this process's index, so the next
    /// registration here sees them at once (other processes see them when their
    /// subscription delivers them, within milliseconds).
    /// `version`: the stream's version after `events`.
    fn note(
        &self,
        session: uuid::Uuid,
        version: i64,
        events: &[pharos_events::training::SessionEvent],
    ) {
        let first = version - events.len() as i64 + 1;
        self.index.update(|index| {
            for (event, version) in events.iter().zip(first..) {
                index.note(session, version, event);
            }
        });
    }
}

impl FromRef<Trainings> for Access {
    fn from_ref(trainings: &Trainings) -> Self {
        trainings.target.access.clone()
    }
}

impl FromRef<Trainings> for AppState {
    fn from_ref(trainings: &Trainings) -> Self {
        trainings.target.app.clone()
    }
}

/// The trainings target.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Formations, sessions, inscriptions et présences",
    owns: &[TRAINING_CATEGORY, SESSION_CATEGORY, SCHEDULE_CATEGORY],
    openapi: || pharos_kit::openapi_of(api()),
    start: |context| Box::pin(start(context)),
};

async fn start(context: Context) -> anyhow::Result<Started> {
    let app = context.state.app.clone();
    let trainings = Trainings::start(context.state, context.shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("lecture des sessions de formation impossible : {e}"))?;
    Ok(Started::new(NAME, api(), trainings, app))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(description = "Formations, sessions, inscriptions et présences"),
    tags((name = "trainings", description = "Formations, sessions, inscriptions et présences"))
)]
struct ApiDoc;

/// Every route of this target with its documentation.
fn api() -> OpenApiRouter<Trainings> {
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(training::http::create, listing::trainings))
        .routes(routes!(training::http::get))
        .routes(routes!(session::http::plan, listing::sessions))
        .routes(routes!(session::http::record_past))
        .routes(routes!(session::http::get))
        .routes(routes!(session::http::open))
        .routes(routes!(session::http::close))
        .routes(routes!(session::http::hold))
        .routes(routes!(session::http::lock_attendance))
        .routes(routes!(session::http::archive))
        .routes(routes!(session::http::cancel))
        .routes(routes!(session::http::reschedule))
        .routes(routes!(session::http::change_capacity))
        .routes(routes!(session::http::change_trainers))
        .routes(routes!(session::http::register))
        .routes(routes!(session::http::withdraw))
        .routes(routes!(session::http::attendance))
        .routes(routes!(session::http::correction))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_shows_no_sealed_value() {
        let text = serde_json::to_string(&(TARGET.openapi)()).unwrap_or_default();
        assert!(text.contains("/api/v1/sessions/{id}/open"));
        assert!(!text.to_lowercase().contains("sealed"));
    }
}
