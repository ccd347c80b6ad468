//! The `directory` target: the school registry (UAI import), accounts and login, the
//! orientation directory, and requests on personal data. Owns the `school`, `user`,
//! `partner` and `person` categories.

mod auth;
pub mod import;
pub mod labels;
mod partners;
mod people;
pub mod schools;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef};
use pharos_access::{Access, FailureLimiter, TargetState};
use pharos_events::{Email, Role};
use pharos_eventstore::{GlobalPosition, Metadata, StoreError};
use pharos_kit::{Context, OpenApiRouter, Started, Target, routes};
use pharos_web::{AppState, HttpSettings};

pub use partners::seed::seed as seed_partners;

/// The name `pharos serve --target` takes.
const NAME: &str = "directory";

/// Failed logins allowed per account, and per client address, within the window.
const FAILURES_PER_ACCOUNT: usize = 5;
const FAILURES_PER_ADDRESS: usize = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a request folding the log waits for the writes acknowledged before it.
const SETTLE: Duration = Duration::from_secs(2);

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
}

impl Directory {
    pub fn new(target: TargetState) -> Self {
        Self {
            target,
            logins: Arc::new(LoginLimits::default()),
        }
    }

    /// Waits until `position` is readable by `read_all` (on PostgreSQL an older open
    /// transaction can hold it back a moment), so that the next list here shows the change.
    async fn readable(&self, position: GlobalPosition) {
        let store = &self.target.app.store;
        if !matches!(
            store.wait_readable(position, Duration::from_secs(2)).await,
            Ok(true)
        ) {
            tracing::warn!(?position, "appended event not readable yet");
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

/// The directory target: schools, accounts and login, the orientation directory,
/// requests on personal data; and, on start, the national help lines, the first
/// administrator and the hourly retention purge.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Annuaire : établissements, comptes et connexion, annuaire d'orientation, données personnelles",
    owns: &["school", "user", "partner", "person"],
    openapi: || pharos_kit::openapi_of(api(HttpSettings::default().upload_limit_bytes)),
    start: |context| Box::pin(start(context)),
};

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "directory", description = "Annuaire : comptes et connexion, registre des établissements \
    (import UAI), annuaire d'orientation, demandes sur les données personnelles")))]
struct ApiDoc;

/// Every route of this target with its documentation, the import limited to
/// `upload_limit` bytes.
fn api(upload_limit: usize) -> OpenApiRouter<Directory> {
    let import = OpenApiRouter::new()
        .routes(routes!(import::handler))
        .layer(DefaultBodyLimit::max(upload_limit));
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(users::reset::reset))
        .routes(routes!(users::reset::request))
        .routes(routes!(users::http::create_handler, users::list::list))
        .routes(routes!(users::bulk::create_school_accounts))
        .routes(routes!(users::http::get))
        .routes(routes!(users::http::change_role))
        .routes(routes!(users::http::set_grants))
        .routes(routes!(users::http::deactivate))
        .routes(routes!(users::reset::issue_handler))
        .routes(routes!(schools::http::register))
        .merge(import)
        .routes(routes!(schools::http::get))
        .routes(routes!(schools::http::close))
        .routes(routes!(partners::http::register, partners::http::list))
        .routes(routes!(partners::http::get, partners::http::update))
        .routes(routes!(partners::http::verify))
        .routes(routes!(partners::http::archive))
        .routes(routes!(partners::http::unarchive))
        .routes(routes!(people::export))
        .routes(routes!(people::erase))
        .routes(routes!(people::read_log))
}

/// Seeds the national help lines, creates the first administrator when none is active,
/// and starts the retention purge.
async fn start(context: Context) -> anyhow::Result<Started> {
    let directory = Directory::new(context.state.clone());
    let store = &context.state.app.store;
    let seeded = seed_partners(store).await?;
    if seeded > 0 {
        tracing::info!(seeded, "national help lines seeded");
    }
    let admin = bootstrap_admin(
        &directory,
        context.first_admin.email.clone(),
        context.first_admin.password.clone(),
    )
    .await?;
    if let Some(admin) = admin {
        match admin.generated_password {
            Some(password) => eprintln!(
                "Compte administrateur créé : {} — mot de passe : {password}\n\
                 (affiché cette seule fois : notez-le, puis changez-le via POST /api/v1/me/password)",
                admin.email
            ),
            None => eprintln!("Compte administrateur créé : {}", admin.email),
        }
    }
    let upload_limit = context.state.app.settings.upload_limit_bytes;
    let app = context.state.app.clone();
    Ok(
        Started::new(NAME, api(upload_limit), directory, app).with_worker(
            "retention-purge",
            people::purge_job(
                store.clone(),
                context.state.vault.clone(),
                context.shutdown.clone(),
            ),
        ),
    )
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
        source_target: Some(NAME.into()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_shows_no_sealed_value() {
        let text = serde_json::to_string(&(TARGET.openapi)()).unwrap_or_default();
        assert!(!text.is_empty());
        assert!(!text.to_lowercase().contains("sealed"), "{text}");
    }

    #[test]
    fn login_logout_and_password_reset_are_public_and_every_other_route_needs_a_bearer_token() {
        let document = (TARGET.openapi)();
        let mut checked = 0;
        for (path, item) in &document.paths.paths {
            for operation in [&item.get, &item.post, &item.put, &item.delete]
                .into_iter()
                .flatten()
            {
                let security = serde_json::to_value(&operation.security).unwrap_or_default();
                let expected =
                    if path.starts_with("/api/v1/auth/") || path == "/api/v1/password-reset" {
                        serde_json::json!([{}])
                    } else {
                        serde_json::json!([{ "bearer": [] }])
                    };
                assert_eq!(security, expected, "{path}");
                checked += 1;
            }
        }
        assert_eq!(checked, 28);
    }
}
