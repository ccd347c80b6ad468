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
use axum::handler::Handler;
use pharos_access::{Access, FailureLimiter, TargetState};
use pharos_events::{Email, Role};
use pharos_eventstore::{GlobalPosition, Metadata, StoreError};
use pharos_web::api::{Route, route};
use pharos_web::{AppState, HttpSettings, target_status_route};
use utoipa::openapi::path::HttpMethod;

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

/// The OpenAPI document of this target's routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        auth::login,
        auth::logout,
        auth::me,
        auth::change_password,
        users::create_handler,
        users::get,
        users::change_role,
        users::deactivate,
        schools::register,
        schools::get,
        schools::close,
        import::handler,
        partners::register,
        partners::list,
        partners::get,
        partners::update,
        partners::verify,
        people::export,
        people::erase,
        people::read_log,
    ),
    components(schemas(
        pharos_web::Created,
        pharos_web::Versioned,
        pharos_web::Problem,
        pharos_web::FieldError,
        auth::Credentials,
        auth::LoginSession,
        auth::SessionUser,
        auth::CurrentAccount,
        auth::PasswordChange,
        users::NewUser,
        users::CreatedAccount,
        users::AccountView,
        users::RoleChange,
        users::Deactivation,
        schools::SchoolInput,
        schools::CreatedSchool,
        schools::CloseInput,
        schools::SchoolView,
        import::Report,
        import::Refused,
        partners::PartnerInput,
        partners::ContactInput,
        partners::Verification,
        partners::PartnerSummary,
        partners::PartnerList,
        partners::PartnerView,
        partners::ContactView,
        people::Erasure,
        people::Erased,
        people::ReadLog,
        people::LoggedRead,
        people::PersonalDataExport,
        people::ExportedField,
        pharos_events::Role,
        pharos_events::SchoolKind,
        pharos_events::Sector,
        pharos_events::PriorityEducation,
        pharos_events::school::SchoolRecord,
        pharos_events::partner::PartnerKind,
        pharos_events::partner::PartnerScope,
    )),
    tags((name = "directory", description = "Annuaire : comptes et connexion, registre des établissements \
        (import UAI), annuaire d'orientation, demandes sur les données personnelles"))
)]
struct ApiDoc;

/// Every route of this target but the shared status route, as a table: a unit test
/// checks the OpenAPI document against it. The import route carries the default upload
/// limit here; [`router`] builds the same table with the configured one.
pub fn routes() -> Vec<Route<Directory>> {
    table(HttpSettings::default().upload_limit_bytes)
}

/// The route table, the import route limited to `upload_limit` bytes.
fn table(upload_limit: usize) -> Vec<Route<Directory>> {
    use HttpMethod::{Get, Post, Put};
    vec![
        route(Post, "/api/v1/auth/login", auth::login),
        route(Post, "/api/v1/auth/logout", auth::logout),
        route(Get, "/api/v1/me", auth::me),
        route(Post, "/api/v1/me/password", auth::change_password),
        route(Post, "/api/v1/users", users::create_handler),
        route(Get, "/api/v1/users/{id}", users::get),
        route(Post, "/api/v1/users/{id}/role", users::change_role),
        route(Post, "/api/v1/users/{id}/deactivate", users::deactivate),
        route(Post, "/api/v1/schools", schools::register),
        route(
            Post,
            "/api/v1/schools/import",
            import::handler.layer(DefaultBodyLimit::max(upload_limit)),
        ),
        route(Get, "/api/v1/schools/{uai}", schools::get),
        route(Post, "/api/v1/schools/{uai}/close", schools::close),
        route(Post, "/api/v1/partners", partners::register),
        route(Get, "/api/v1/partners", partners::list),
        route(Get, "/api/v1/partners/{id}", partners::get),
        route(Put, "/api/v1/partners/{id}", partners::update),
        route(Post, "/api/v1/partners/{id}/verify", partners::verify),
        route(Get, "/api/v1/people/export", people::export),
        route(Post, "/api/v1/people/erase", people::erase),
        route(Get, "/api/v1/read-log", people::read_log),
    ]
}

/// Every route of this target.
pub fn router(directory: Directory) -> Router {
    let upload_limit = directory.target.app.settings.upload_limit_bytes;
    pharos_web::api::router(table(upload_limit))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_describes_every_route_and_no_other() {
        let problems: Vec<String> =
            pharos_web::api::undocumented(&openapi(), &routes(), "directory")
                .into_iter()
                // Logging out is public and answers 204 whatever the request carries:
                // it never answers 401, and the document does not pretend it does.
                .filter(|p| p != "POST /api/v1/auth/logout: no 401 answer")
                .collect();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn the_openapi_document_shows_no_sealed_value() {
        let text = serde_json::to_string(&openapi()).unwrap_or_default();
        assert!(!text.is_empty());
        assert!(!text.to_lowercase().contains("sealed"), "{text}");
    }

    #[test]
    fn login_and_logout_are_public_and_every_other_route_needs_a_bearer_token() {
        let document = openapi();
        for route in routes() {
            let operation = document
                .paths
                .get_path_operation(route.path, route.method.clone())
                .map(|o| serde_json::to_value(&o.security).unwrap_or_default());
            let public = route.path.starts_with("/api/v1/auth/");
            let expected = if public {
                serde_json::json!([{}])
            } else {
                serde_json::json!([{ "bearer": [] }])
            };
            assert_eq!(operation, Some(expected), "{route:?}");
        }
    }
}
