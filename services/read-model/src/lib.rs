//! The `read-model` target. Projector and GraphQL API behind the dashboards; reads every category, owns none.
//!
//! Mounted by `pharos serve`; for now it answers only its status route
//! (`GET /api/v1/targets/read-model`): its commands are not built yet.

use pharos_kit::{OpenApiRouter, Started, Target};

/// The `read-model` target.
pub const TARGET: Target = Target {
    name: "read-model",
    summary: "Projections et API GraphQL des tableaux de bord",
    owns: &[],
    openapi: || pharos_kit::openapi_of(OpenApiRouter::<()>::new()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            Ok(Started::new("read-model", OpenApiRouter::new(), (), app))
        })
    },
};
