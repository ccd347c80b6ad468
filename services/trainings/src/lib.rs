//! The `trainings` target: trainings, their sessions, registrations with a waitlist,
//! attendance per slot and the hours it gives. Owns `training` and `training_session`.

mod index;
pub mod session;
mod sessions;
pub mod training;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use pharos_access::{Access, Projected, TargetState};
use pharos_events::training::SESSION_CATEGORY;
use pharos_eventstore::{GlobalPosition, StoreError};
use pharos_web::{AppState, target_status_route};
use tokio_util::sync::CancellationToken;

use crate::index::SessionIndex;

/// The name `pharos serve --target` takes.
pub const TARGET: &str = "trainings";

/// The trainings handlers' state.
#[derive(Debug, Clone)]
pub struct Trainings {
    pub target: TargetState,
    index: Arc<Projected<SessionIndex>>,
}

impl Trainings {
    /// Catches up with the sessions (for the overlap rule), then follows them.
    pub async fn start(
        target: TargetState,
        shutdown: CancellationToken,
    ) -> Result<Self, StoreError> {
        let index = Projected::start(
            &target.app.store,
            &[SESSION_CATEGORY],
            SessionIndex::apply,
            shutdown,
        )
        .await?;
        Ok(Self { target, index })
    }

    /// Waits until this process's session index has applied `position`, so the next
    /// registration here sees this one.
    async fn settle(&self, position: GlobalPosition) {
        let wait = Duration::from_secs(2);
        if self
            .target
            .app
            .store
            .wait_readable(position, wait)
            .await
            .is_err()
            || !self.index.wait_for(position, wait).await
        {
            tracing::warn!(?position, "session index is lagging");
        }
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

/// Every route of this target.
pub fn router(trainings: Trainings) -> Router {
    Router::new()
        .route("/api/v1/trainings", post(training::create))
        .route("/api/v1/trainings/{id}", get(training::get))
        .route("/api/v1/trainings/{id}/sessions", post(sessions::plan))
        .route("/api/v1/sessions/{id}", get(sessions::get))
        .route("/api/v1/sessions/{id}/cancel", post(sessions::cancel))
        .route(
            "/api/v1/sessions/{id}/reschedule",
            post(sessions::reschedule),
        )
        .route(
            "/api/v1/sessions/{id}/registrations",
            post(sessions::register),
        )
        .route(
            "/api/v1/sessions/{id}/registrations/{rid}/withdraw",
            post(sessions::withdraw),
        )
        .route(
            "/api/v1/sessions/{id}/attendance",
            post(sessions::attendance),
        )
        .route(
            "/api/v1/sessions/{id}/attendance/corrections",
            post(sessions::correction),
        )
        .route("/api/v1/sessions/{id}/{step}", post(sessions::transition))
        .with_state(trainings.clone())
        .merge(target_status_route(TARGET).with_state(trainings.target.app))
}
