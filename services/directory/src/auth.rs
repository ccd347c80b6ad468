//! Login, logout, the current account, and its password.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use pharos_access::{Actor, session_cookie};
use pharos_decider::{Rejection, execute, load};
use pharos_events::{Email, Role};
use pharos_privacy::Personal;
use pharos_web::{Json, Problem, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::users::http::{GrantView, unseal_identity};
use crate::users::password::{check_password, hash_password, verify_password};
use crate::users::{Account, AccountCommand, stream};
use crate::{Directory, NAME};

/// The client's address, for the failed-login limit: the socket's peer, or behind a
/// trusted reverse proxy (`trust_forwarded_for`) the last address of `X-Forwarded-For`,
/// the one the proxy itself saw (earlier entries are the client's to forge).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<Directory> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        directory: &Directory,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = directory
            .target
            .app
            .settings
            .trust_forwarded_for
            .then(|| parts.headers.get_all("x-forwarded-for").iter().next_back())
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .and_then(|v| v.parse::<std::net::IpAddr>().ok());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Self(
            forwarded
                .or(peer)
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        ))
    }
}

/// Identifiants de connexion.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    #[schema(example = "prenom.nom@ac-toulouse.fr")]
    email: String,
    password: String,
}

/// Une session ouverte : le jeton à présenter dans `Authorization: Bearer`, son
/// échéance, et le compte connecté. Le même jeton est posé dans le cookie de session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginSession {
    token: String,
    expires_at: DateTime<Utc>,
    user: SessionUser,
}

/// Le compte connecté.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionUser {
    id: Uuid,
    email: String,
    /// Rôle principal.
    role: Role,
    /// Périmètre du rôle : code de département (référent) ou UAI (établissement).
    scope: Option<String>,
    /// Attributions supplémentaires : autres rôles détenus, chacun avec son périmètre.
    grants: Vec<GrantView>,
}

/// Le compte de l'utilisateur connecté.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CurrentAccount {
    id: Uuid,
    email: String,
    display_name: String,
    /// Rôle principal.
    role: Role,
    /// Périmètre du rôle : code de département (référent) ou UAI (établissement).
    scope: Option<String>,
    /// Attributions supplémentaires : autres rôles détenus, chacun avec son périmètre.
    grants: Vec<GrantView>,
    version: i64,
}

fn wrong_credentials() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid-credentials",
        "Identifiants incorrects",
        "Adresse électronique ou mot de passe incorrect.",
    )
}

fn rate_limited(wait: std::time::Duration) -> Problem {
    let seconds = wait.as_secs().max(1);
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        "Trop de tentatives",
        match seconds.div_ceil(60) {
            1 => "Trop d'échecs de connexion : réessayez dans une minute.".to_owned(),
            minutes => {
                format!("Trop d'échecs de connexion : réessayez dans {minutes} minutes.")
            }
        },
    )
    .with_retry_after(seconds)
}

/// `POST /api/v1/auth/login` → `{token, expires_at, user}` and the session cookie.
/// An unknown e-mail and a wrong password get the same answer in the same time; failed
/// attempts are limited per account and per client address.
#[utoipa::path(operation_id = "directory_auth_login", post, path = "/api/v1/auth/login", tag = "directory",
    summary = "Se connecter",
    description = "Ouvre une session : le jeton est rendu dans la réponse et posé dans le cookie de session \
        (HttpOnly, SameSite=Strict). Une adresse inconnue et un mot de passe faux reçoivent la même réponse ; \
        les échecs sont limités par compte et par adresse du client. Route publique.",
    request_body = Credentials,
    responses(
        (status = 200, description = "Connecté ; le cookie de session est posé (Set-Cookie)", body = LoginSession),
        (status = 401, description = "Identifiants incorrects", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Compte désactivé", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Trop d'échecs de connexion ; réessayer après le délai de l'en-tête Retry-After", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(()))]
pub async fn login(
    State(directory): State<Directory>,
    ClientAddr(addr): ClientAddr,
    Json(credentials): Json<Credentials>,
) -> Result<impl IntoResponse, Problem> {
    let now = Instant::now();
    // An e-mail that does not parse is limited under its raw form.
    let account_key = Email::parse(&credentials.email).map_or_else(
        |_| credentials.email.trim().to_lowercase(),
        |e| e.to_string(),
    );
    let limits = &directory.logins;
    if let Some(wait) = limits
        .per_account
        .retry_after(&account_key, now)
        .max(limits.per_address.retry_after(&addr, now))
    {
        return Err(rate_limited(wait));
    }
    let vault = &directory.target.vault;
    let person = vault
        .find_person(&account_key)
        .await
        .map_err(Problem::from)?;
    let account = match person {
        Some(p) => Some(
            load::<Account>(&directory.target.app.store, &stream(p.0)?)
                .await?
                .0,
        ),
        None => None,
    };
    let created = account.as_ref().and_then(|a| a.created.clone());
    let hash = match created.as_ref().and_then(|c| c.password_hash.clone()) {
        Some(sealed) => match vault.unseal(&sealed).await.map_err(Problem::from)? {
            Personal::Known(hash) => Some(hash),
            Personal::Erased => None,
        },
        None => None,
    };
    if !verify_password(credentials.password, hash).await {
        limits.per_account.record_failure(&account_key, now);
        limits.per_address.record_failure(&addr, now);
        tracing::info!(client = %addr, "failed login");
        return Err(wrong_credentials());
    }
    let (Some(person), Some(account), Some(created)) = (person, account, created) else {
        return Err(wrong_credentials());
    };
    if account.deactivated {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "account-deactivated",
            "Compte désactivé",
            "Ce compte est désactivé ; adressez-vous au pôle académique.",
        ));
    }
    limits.per_account.clear(&account_key);
    let (token, expires_at) = directory.target.access.tokens.issue(person.0);
    let cookie = session_cookie(
        &token,
        directory.target.access.tokens.ttl().num_seconds(),
        directory.target.app.settings.secure_cookies,
    );
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    Ok((
        headers,
        axum::Json(LoginSession {
            token,
            expires_at,
            user: SessionUser {
                id: person.0,
                email: account_key,
                role: created.role,
                scope: created.scope,
                grants: GrantView::all(&account.grants),
            },
        }),
    ))
}

/// `POST /api/v1/auth/logout`: forgets the browser's session cookie. (Tokens are
/// stateless: a bearer token stays valid until it expires or the account is
/// deactivated.)
#[utoipa::path(operation_id = "directory_auth_logout", post, path = "/api/v1/auth/logout", tag = "directory",
    summary = "Se déconnecter",
    description = "Efface le cookie de session du navigateur. Les jetons sont sans état : un jeton porteur \
        reste valable jusqu'à son échéance ou la désactivation du compte. Route publique, qui répond toujours 204.",
    responses(
        (status = 204, description = "Cookie de session effacé (Set-Cookie)"),
    ),
    security(()))]
pub async fn logout() -> impl IntoResponse {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&session_cookie("", 0, false)) {
        headers.insert(header::SET_COOKIE, value);
    }
    (StatusCode::NO_CONTENT, headers)
}

/// `GET /api/v1/me`
#[utoipa::path(operation_id = "directory_auth_me", get, path = "/api/v1/me", tag = "directory",
    summary = "Lire son compte",
    responses(
        (status = 200, description = "Le compte connecté", body = CurrentAccount),
        (status = 404, description = "Compte inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn me(
    State(directory): State<Directory>,
    actor: Actor,
) -> Result<impl IntoResponse, Problem> {
    let (account, version) =
        load::<Account>(&directory.target.app.store, &stream(actor.user_id)?).await?;
    let Some(created) = account.created else {
        return Err(Problem::not_found());
    };
    let (email, display_name) = unseal_identity(&directory, &actor, &created, "/api/v1/me").await?;
    Ok(axum::Json(CurrentAccount {
        id: actor.user_id,
        email: email.to_string(),
        display_name: display_name.to_string(),
        role: actor.role,
        scope: actor.scope.value(),
        grants: GrantView::all(&account.grants),
        version,
    }))
}

/// Changement de son mot de passe.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/me/password`
#[utoipa::path(operation_id = "directory_auth_change_password", post, path = "/api/v1/me/password", tag = "directory",
    summary = "Changer son mot de passe",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Mot de passe changé ; nouvelle version du compte", body = pharos_web::Versioned),
        (status = 404, description = "Compte inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Compte désactivé entre-temps, ou écritures concurrentes sur le compte", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Mot de passe actuel incorrect, ou nouveau mot de passe refusé (12 à 256 caractères)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn change_password(
    State(directory): State<Directory>,
    actor: Actor,
    Json(input): Json<PasswordChange>,
) -> Result<impl IntoResponse, Problem> {
    check_password(&input.new_password).map_err(|rejection| {
        Problem::from(Rejection {
            field: Some("new_password"),
            ..rejection
        })
    })?;
    let store = &directory.target.app.store;
    let vault = &directory.target.vault;
    let (account, _) = load::<Account>(store, &stream(actor.user_id)?).await?;
    let Some(created) = account.created else {
        return Err(Problem::not_found());
    };
    let hash = match &created.password_hash {
        Some(sealed) => match vault.unseal(sealed).await.map_err(Problem::from)? {
            Personal::Known(hash) => Some(hash),
            Personal::Erased => None,
        },
        None => None,
    };
    if !verify_password(input.current_password, hash).await {
        return Err(Problem::from(Rejection::invalid(
            "wrong-current-password",
            "current_password",
            "Le mot de passe actuel ne correspond pas.",
        )));
    }
    let new_hash = hash_password(input.new_password).await?;
    let sealed = vault
        .seal(created.email.person, &new_hash)
        .await
        .map_err(Problem::from)?;
    let done = execute::<Account, Problem>(
        store,
        &stream(actor.user_id)?,
        &AccountCommand::SetPassword {
            password_hash: sealed,
        },
        directory.target.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}
