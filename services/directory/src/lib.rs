//! The `directory` target. School registry (UAI import), accounts, roles and scopes, login, orientation directory, personal-data vault events. Owns `school`, `user`, `partner`, `person`.
//!
//! Mounted by `pharos serve`; for now it answers only its status route, the domain
//! commands come with their own issues.

use axum::Router;
use pharos_web::{AppState, target_status_route};

/// The name `pharos serve --target` takes.
pub const TARGET: &str = "directory";

/// Every route of this target.
pub fn router(state: AppState) -> Router {
    target_status_route(TARGET).with_state(state)
}
