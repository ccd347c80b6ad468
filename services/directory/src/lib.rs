//! The `directory` target: the school registry (UAI import), accounts and login, the
//! orientation directory, and requests on personal data. Owns the `school`, `user`,
//! `partner` and `person` categories.

mod auth;
pub mod import;
mod partners;
mod people;
pub mod schools;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use pharos_access::{Access, FailureLimiter, TargetState};
use pharos_events::{Email, Role};
use pharos_eventstore::{GlobalPosition, Metadata, StoreError};
use pharos_web::{AppState, target_status_route};

pub use partners::seed as seed_partners;

/// The name `pharos serve --target` takes.
pub const TARGET: &str = "directory";

/// Failed logins allowed per account, and per client address, within the window.
const FAILURES_PER_ACCOUNT: usize = 5;
const FAILURES_PER_ADDRESS: usize = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The failed-login limits of this process.
#[derive(Debug)]
pub struct LoginLimits {
    pub per_account: FailureLimiter,
    pub per_address: FailureLimiter,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account: FailureLimiter::new(FAILURES_PER_ACCOUNT, FAILURE_WINDOW),
            per_address: FailureLimiter::new(FAILURES_PER_ADDRESS, FAILURE_WINDOW),
        }
    }
}

/// The directory's handlers' state.
#[derive(Debug, Clone)]
pub struct Directory {
    pub target: TargetState,
    pub logins: Arc<LoginLimits>,
    /// Mark the session cookie `Secure` (HTTPS deployments).
    pub secure_cookies: bool,
    /// Behind a reverse proxy: take the client's address from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
}

impl Directory {
    pub fn new(target: TargetState) -> Self {
        Self {
            target,
            logins: Arc::new(LoginLimits::default()),
            secure_cookies: false,
            trust_forwarded_for: false,
        }
    }

    /// Waits until this process's reference projection has applied `position`, so the
    /// next request here sees the change (a deactivated account's tokens stop at once).
    async fn settle(&self, position: GlobalPosition) {
        let store = &self.target.app.store;
        let reference = &self.target.access.reference;
        let wait = Duration::from_secs(2);
        if store.wait_readable(position, wait).await.is_err()
            || !reference.wait_for(position, wait).await
        {
            tracing::warn!(?position, "reference projection is lagging");
        }
    }
}

impl FromRef<Directory> for Access {
    fn from_ref(directory: &Directory) -> Self {
        directory.target.access.clone()
    }
}

impl FromRef<Directory> for AppState {
    fn from_ref(directory: &Directory) -> Self {
        directory.target.app.clone()
    }
}

/// Every route of this target.
pub fn router(directory: Directory) -> Router {
    let upload_limit = directory.target.app.settings.upload_limit_bytes;
    Router::new()
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/me/password", post(auth::change_password))
        .route("/api/v1/users", post(users::create_handler))
        .route("/api/v1/users/{id}", get(users::get))
        .route("/api/v1/users/{id}/role", post(users::change_role))
        .route("/api/v1/users/{id}/deactivate", post(users::deactivate))
        .route("/api/v1/schools", post(schools::register))
        .route(
            "/api/v1/schools/import",
            post(import::handler).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/v1/schools/{uai}", get(schools::get))
        .route("/api/v1/schools/{uai}/close", post(schools::close))
        .route(
            "/api/v1/partners",
            post(partners::register).get(partners::list),
        )
        .route(
            "/api/v1/partners/{id}",
            get(partners::get).put(partners::update),
        )
        .route("/api/v1/partners/{id}/verify", post(partners::verify))
        .route("/api/v1/people/export", get(people::export))
        .route("/api/v1/people/erase", post(people::erase))
        .route("/api/v1/read-log", get(people::read_log))
        .with_state(directory.clone())
        .merge(target_status_route(TARGET).with_state(directory.target.app))
}

/// Why the directory could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("seed/partners.json is invalid: {0}")]
    Seed(serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("bootstrap administrator: {0}")]
    Bootstrap(String),
}

/// The first administrator, created on a first start.
#[derive(Debug)]
pub struct BootstrapAdmin {
    pub email: String,
    /// Set when the password was generated: print it once.
    pub generated_password: Option<String>,
}

/// Creates an administrator when no active one exists: from `email` and `password`
/// (`PHAROS_ADMIN_EMAIL`, `PHAROS_ADMIN_PASSWORD`), with a generated password when
/// none is given. `None` when an administrator exists already.
pub async fn bootstrap_admin(
    directory: &Directory,
    email: Option<String>,
    password: Option<String>,
) -> Result<Option<BootstrapAdmin>, StartError> {
    if directory.target.access.reference.any_active(Role::Admin) {
        return Ok(None);
    }
    let email = email.unwrap_or_else(|| "admin@pharos.localhost".to_owned());
    let email = Email::parse(&email)
        .map_err(|e| StartError::Bootstrap(format!("PHAROS_ADMIN_EMAIL : {e}")))?;
    let metadata = Metadata {
        actor_id: Some("bootstrap".into()),
        actor_role: Some(Role::Admin.to_string()),
        source_target: Some(TARGET.into()),
        ..Metadata::default()
    };
    let created = users::create(
        directory,
        None,
        users::NewUser {
            email: email.to_string(),
            display_name: "Administrateur".into(),
            role: Role::Admin.to_string(),
            scope: None,
            password,
        },
        &metadata,
    )
    .await;
    match created {
        Ok(created) => Ok(Some(BootstrapAdmin {
            email: email.to_string(),
            generated_password: created.generated_password,
        })),
        // Another replica bootstrapped it meanwhile, or that address already has an
        // account (deactivated): nothing to do here, but say so.
        Err(p) if p.status == 409 => {
            tracing::warn!(email = %email, "no active administrator, and the bootstrap address already has an account");
            Ok(None)
        }
        Err(p) => Err(StartError::Bootstrap(p.detail)),
    }
}
