//! The `trainings` target: trainings, their sessions, registrations with a waitlist,
//! attendance per slot and the hours it gives. Owns `training` and `training_session`.

mod index;
pub mod session;
mod sessions;
pub mod training;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use pharos_access::{Access, Projected, TargetState};
use pharos_events::training::SESSION_CATEGORY;
use pharos_eventstore::StoreError;
use pharos_web::api::{Route, route};
use pharos_web::{AppState, target_status_route};
use tokio_util::sync::CancellationToken;
use utoipa::openapi::path::HttpMethod;

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

    /// Writes a session's new events through to this process's index, so the next
    /// registration here sees them at once (other processes see them when their
    /// subscription delivers them, within milliseconds).
    fn note(&self, session: uuid::Uuid, events: &[pharos_events::training::SessionEvent]) {
        self.index.update(|index| {
            for event in events {
                index.note(session, event);
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

/// The OpenAPI document of this target's routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        training::create,
        training::get,
        sessions::plan,
        sessions::get,
        sessions::open,
        sessions::close,
        sessions::hold,
        sessions::lock_attendance,
        sessions::archive,
        sessions::cancel,
        sessions::reschedule,
        sessions::register,
        sessions::withdraw,
        sessions::attendance,
        sessions::correction,
    ),
    components(schemas(pharos_web::Created, pharos_web::Versioned, pharos_web::Problem, pharos_web::FieldError)),
    tags((name = "trainings", description = "Formations, sessions, inscriptions et présences"))
)]
struct ApiDoc;

/// Every route of this target but the shared status route, as a table: the router is
/// built from it, and a unit test checks the OpenAPI document against it.
pub fn routes() -> Vec<Route<Trainings>> {
    use HttpMethod::{Get, Post};
    vec![
        route(Post, "/api/v1/trainings", training::create),
        route(Get, "/api/v1/trainings/{id}", training::get),
        route(Post, "/api/v1/trainings/{id}/sessions", sessions::plan),
        route(Get, "/api/v1/sessions/{id}", sessions::get),
        route(Post, "/api/v1/sessions/{id}/open", sessions::open),
        route(Post, "/api/v1/sessions/{id}/close", sessions::close),
        route(Post, "/api/v1/sessions/{id}/hold", sessions::hold),
        route(
            Post,
            "/api/v1/sessions/{id}/lock-attendance",
            sessions::lock_attendance,
        ),
        route(Post, "/api/v1/sessions/{id}/archive", sessions::archive),
        route(Post, "/api/v1/sessions/{id}/cancel", sessions::cancel),
        route(
            Post,
            "/api/v1/sessions/{id}/reschedule",
            sessions::reschedule,
        ),
        route(
            Post,
            "/api/v1/sessions/{id}/registrations",
            sessions::register,
        ),
        route(
            Post,
            "/api/v1/sessions/{id}/registrations/{rid}/withdraw",
            sessions::withdraw,
        ),
        route(
            Post,
            "/api/v1/sessions/{id}/attendance",
            sessions::attendance,
        ),
        route(
            Post,
            "/api/v1/sessions/{id}/attendance/corrections",
            sessions::correction,
        ),
    ]
}

/// Every route of this target.
pub fn router(trainings: Trainings) -> Router {
    pharos_web::api::router(routes())
        .with_state(trainings.clone())
        .merge(target_status_route(TARGET).with_state(trainings.target.app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_describes_every_route_and_no_other() {
        let problems = pharos_web::api::undocumented(&openapi(), &routes(), "trainings");
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn the_openapi_document_shows_no_sealed_value() {
        let text = serde_json::to_string(&openapi()).unwrap_or_default();
        assert!(!text.to_lowercase().contains("sealed"));
    }
}
