//! The `cohorts` target. Pupil and parent ambassador cohorts. Owns `ambassador_cohort`.
//!
//! Mounted by `pharos serve`; for now it answers only its status route
//! (`GET /api/v1/targets/cohorts`): its commands are not built yet.

use pharos_kit::{OpenApiRouter, Started, Target};

/// The `cohorts` target.
pub const TARGET: Target = Target {
    name: "cohorts",
    summary: "Cohortes d'ambassadeurs élèves et parents",
    owns: &["ambassador_cohort"],
    openapi: || pharos_kit::openapi_of(OpenApiRouter::<()>::new()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            Ok(Started::new("cohorts", OpenApiRouter::new(), (), app))
        })
    },
};
