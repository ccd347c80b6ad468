//! The service kit: what a target is, and what it is started with.
//!
//! Each target crate exports one [`Target`]: its name, the event categories it owns, its
//! API (routes and their OpenAPI documentation from one [`OpenApiRouter`]), and a start
//! function that returns its router and its background workers. The `pharos` crate
//! holds the one table of targets; `--target`, `serve`, `/api/v1/openapi.json` and
//! `pharos openapi` all derive from it.
//!
//! Adding a target: a crate under `services/` whose `lib.rs` declares
//! `pub static TARGET: Target` (a static: its closures are compiled in the target's crate, not in
//! every crate that uses it), and one line in the table of `services/pharos/src/targets.rs`.

use axum::Router;
use futures::future::BoxFuture;
use pharos_access::TargetState;
use tokio_util::sync::CancellationToken;
pub use utoipa_axum::router::OpenApiRouter;
pub use utoipa_axum::routes;

/// A target: one part of Pharos that `pharos serve --target NAME` runs.
#[derive(Clone, Copy)]
pub struct Target {
    /// What `--target` takes, kebab-case.
    pub name: &'static str,
    /// One French line: what the target does (for `--help` and the status route).
    pub summary: &'static str,
    /// The event categories this target writes; no other target writes them.
    pub owns: &'static [&'static str],
    /// The OpenAPI document of the target's routes, before the shared answers are
    /// attached ([`pharos_web::api::merged`] attaches them).
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// Starts the target: catches up what it needs, then returns its router and workers.
    pub start: fn(Context) -> BoxFuture<'static, anyhow::Result<Started>>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("owns", &self.owns)
            .finish_non_exhaustive()
    }
}

/// What a target starts with.
#[derive(Debug, Clone)]
pub struct Context {
    pub state: TargetState,
    /// Cancelled when the process stops: followers and workers end on it.
    pub shutdown: CancellationToken,
    /// The first administrator, created by `directory` when no active one exists.
    pub first_admin: FirstAdmin,
    /// Where targets keep the files they are sent (`files_dir`: the contest's
    /// content-addressed store in the embedded mode).
    pub files_dir: std::path::PathBuf,
    /// How mails leave the platform (the `reminders` target sends them).
    pub mail: MailSettings,
    /// Where the web pages (the `pages` target) reach the public API, without a
    /// trailing slash: this process, or the reverse proxy in front of the targets.
    pub api_url: String,
}

/// How mails are sent: over SMTP when `smtp_url` is set, else written to `outbox_dir`.
#[derive(Clone, Default)]
pub struct MailSettings {
    /// `smtp://host:port` (no TLS), `smtp://host:587?tls=required` (STARTTLS),
    /// `smtps://host:465` (TLS); credentials as `smtps://user:password@host`.
    pub smtp_url: Option<String>,
    /// The sender address (`From`).
    pub from: String,
    /// The platform's address as its users reach it, for the links in mails.
    pub public_url: String,
    /// Where mails go without SMTP (one `.eml` file each).
    pub outbox_dir: std::path::PathBuf,
    /// How often the reminder scheduler evaluates the rules; `None`: never by itself
    /// (`pharos reminders run` only).
    pub scheduler_interval: Option<std::time::Duration>,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the SMTP password.
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("public_url", &self.public_url)
            .field("outbox_dir", &self.outbox_dir)
            .field("scheduler_interval", &self.scheduler_interval)
            .finish()
    }
}

/// `PHAROS_ADMIN_EMAIL` and `PHAROS_ADMIN_PASSWORD`: without a password, one is generated
/// and printed once.
#[derive(Clone, Default)]
pub struct FirstAdmin {
    pub email: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for FirstAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstAdmin")
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A started target: its routes and its background workers.
pub struct Started {
    pub router: Router,
    pub workers: Vec<Worker>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl Started {
    /// The target's router from its API, with its state, plus the status route
    /// `GET /api/v1/targets/{name}`.
    pub fn new<S>(
        name: &'static str,
        api: OpenApiRouter<S>,
        state: S,
        app: pharos_web::AppState,
    ) -> Self
    where
        S: Clone + Send + Sync + 'static,
    {
        let (router, _) = api.split_for_parts();
        Self {
            router: router
                .with_state(state)
                .merge(pharos_web::target_status_route(name).with_state(app)),
            workers: Vec::new(),
        }
    }

    /// Adds a background worker, run until shutdown.
    #[must_use]
    pub fn with_worker(
        mut self,
        name: &'static str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.workers.push(Worker {
            name,
            task: Box::pin(task),
        });
        self
    }
}

/// A background task of a target (the retention purge, the projector, the scheduler):
/// it watches [`Context::shutdown`] and ends soon after it is cancelled.
pub struct Worker {
    pub name: &'static str,
    pub task: BoxFuture<'static, ()>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The OpenAPI document of an API, for [`Target::openapi`].
pub fn openapi_of<S: Clone + Send + Sync + 'static>(
    api: OpenApiRouter<S>,
) -> utoipa::openapi::OpenApi {
    api.split_for_parts().1
}
