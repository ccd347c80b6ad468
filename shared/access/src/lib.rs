//! Who is acting and on what, for every target: session tokens verified locally, the
//! [`Actor`] extractor, the scope table ([`Actor::may`]), and the reference projection of
//! accounts and schools that lets any target check a school's department without
//! calling `directory`.

mod hs256;
mod limiter;
mod policy;
mod projected;
mod reference;
mod token;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum_extra::extract::CookieJar;
use pharos_decider::Clock;
use pharos_events::Academy;
use pharos_privacy::Vault;
use pharos_web::{AppState, Problem};

pub use limiter::FailureLimiter;
pub use policy::{Action, Actor, Denied, Scope, Subject};
pub use projected::Projected;
pub use reference::{Reference, SchoolRef, UserRef};
pub use token::{
    InvalidResetToken, InvalidToken, RESET_PAGE, RESET_TOKEN_TTL, ResetToken, TokenKeys,
};

/// The cookie browsers carry the session token in.
pub const SESSION_COOKIE: &str = "pharos_session";

/// The `Set-Cookie` value of a session: out of scripts' reach, never sent by other sites,
/// `Secure` behind TLS. An empty token with a zero age forgets the session.
pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The access layer of a process: token keys, the academy, the reference projection.
#[derive(Debug, Clone)]
pub struct Access {
    pub tokens: TokenKeys,
    pub academy: Arc<Academy>,
    pub reference: Arc<Reference>,
}

/// What every target's handlers reach: the HTTP plumbing's state, the access layer, the
/// personal-data vault and the clock.
#[derive(Debug, Clone)]
pub struct TargetState {
    pub app: AppState,
    pub access: Access,
    pub vault: Arc<Vault>,
    pub clock: Arc<dyn Clock>,
}

impl FromRef<TargetState> for AppState {
    fn from_ref(state: &TargetState) -> Self {
        state.app.clone()
    }
}

impl FromRef<TargetState> for Access {
    fn from_ref(state: &TargetState) -> Self {
        state.access.clone()
    }
}

fn unauthorized(detail: &str) -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Authentification requise",
        detail,
    )
}

impl From<Denied> for Problem {
    fn from(denied: Denied) -> Self {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Action non autorisée",
            denied.0,
        )
    }
}

impl<S> FromRequestParts<S> for Actor
where
    Access: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let access = Access::from_ref(state);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        let token = match bearer {
            Some(token) => token,
            None => CookieJar::from_headers(&parts.headers)
                .get(SESSION_COOKIE)
                .map(|c| c.value().to_owned())
                .ok_or_else(|| {
                    unauthorized(
                        "Connectez-vous (POST /api/v1/auth/login) puis envoyez le jeton \
                         dans l'en-tête Authorization: Bearer <jeton>.",
                    )
                })?,
        };
        let user_id = access
            .tokens
            .verify(&token)
            .map_err(|_| unauthorized("Le jeton est invalide ou a expiré ; reconnectez-vous."))?;
        let user = access
            .reference
            .user(user_id)
            .await
            .map_err(Problem::from)?
            .ok_or_else(|| unauthorized("Ce jeton ne correspond à aucun compte."))?;
        if !user.active() {
            return Err(unauthorized(
                "Ce compte est désactivé ; adressez-vous au pôle académique.",
            ));
        }
        Ok(Actor {
            user_id,
            role: user.role,
            scope: user.scope,
            grants: user.grants,
            request_id: parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}

/// The `If-Match` header: the version the client last saw (`3`, `"3"` or `W/"3"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(Self(None));
        };
        value
            .to_str()
            .ok()
            .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|v| v.parse::<i64>().ok())
            .map(|v| Self(Some(v)))
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-if-match",
                    "En-tête If-Match invalide",
                    "If-Match doit contenir la version de la ressource (un entier, ex. 3).",
                )
                .with_field("If-Match", "un numéro de version entier")
            })
    }
}
