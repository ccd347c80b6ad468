//! The `national-day` target. Journée nationale « Non au harcèlement »: editions and awareness actions. Owns `national_day`, `awareness_action`.
//!
//! Mounted by `pharos serve`; for now it answers only its status route
//! (`GET /api/v1/targets/national-day`): its commands are not built yet.

use pharos_kit::{OpenApiRouter, Started, Target};

/// The `national-day` target.
pub const TARGET: Target = Target {
    name: "national-day",
    summary: "Journée nationale « Non au harcèlement » : éditions et actions",
    owns: &["national_day", "awareness_action"],
    openapi: || pharos_kit::openapi_of(OpenApiRouter::<()>::new()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            Ok(Started::new("national-day", OpenApiRouter::new(), (), app))
        })
    },
};
