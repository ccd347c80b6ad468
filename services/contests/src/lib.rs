//! The `contests` target. The « Non au harcèlement » contest: editions, entries, jury, palmarès. Owns `contest`, `contest_entry`.
//!
//! Mounted by `pharos serve`; for now it answers only its status route
//! (`GET /api/v1/targets/contests`): its commands are not built yet.

use pharos_kit::{OpenApiRouter, Started, Target};

/// The `contests` target.
pub const TARGET: Target = Target {
    name: "contests",
    summary: "Concours « Non au harcèlement » : éditions, productions, jury, palmarès",
    owns: &["contest", "contest_entry"],
    openapi: || pharos_kit::openapi_of(OpenApiRouter::<()>::new()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            Ok(Started::new("contests", OpenApiRouter::new(), (), app))
        })
    },
};
