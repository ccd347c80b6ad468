//! The `reminders` target. Cron-scheduled reminder rules, e-mail outbox and SMTP delivery. Owns `reminder`.
//!
//! Mounted by `pharos serve`; for now it answers only its status route
//! (`GET /api/v1/targets/reminders`): its commands are not built yet.

use pharos_kit::{OpenApiRouter, Started, Target};

/// The `reminders` target.
pub const TARGET: Target = Target {
    name: "reminders",
    summary: "Rappels programmés et envoi des courriels",
    owns: &["reminder"],
    openapi: || pharos_kit::openapi_of(OpenApiRouter::<()>::new()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            Ok(Started::new("reminders", OpenApiRouter::new(), (), app))
        })
    },
};
