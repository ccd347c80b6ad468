//! The `phare` target. pHARe deployment per school or circonscription and school year, and labels. Owns `phare_deployment`, `phare_label`.
//!
//! Mounted by `pharos serve`; for now it answers only its status route, the domain
//! commands come with their own issues.

use axum::Router;
use pharos_access::TargetState;
use pharos_web::target_status_route;

/// The name `pharos serve --target` takes.
pub const TARGET: &str = "phare";

/// Every route of this target.
pub fn router(state: TargetState) -> Router {
    target_status_route(TARGET).with_state(state.app)
}
