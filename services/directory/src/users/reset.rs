//! Password reset: whoever manages an account issues a reset link for it
//! (`POST /api/v1/users/{id}/password-reset`, or `pharos users reset-password`), and the
//! link's holder sets the password without being logged in (`POST /api/v1/password-reset`).
//! That is how the school accounts created in bulk, without a password, get one.
//!
//! The token is stateless and signed (HS256) with a key derived from the vault's master
//! key for this purpose only, with an audience of its own: a session token is never a reset
//! token, nor the reverse (see `pharos_access::TokenKeys`). It carries the account id, an
//! expiry ([`RESET_TOKEN_TTL`], on the domain's clock) and the version of the account's
//! stream at issuance; it is honoured only while the account is still at that version and
//! active. Setting the password moves the version, so a token serves once; any other
//! change of the account meanwhile (role, grants, another password, deactivation) voids it
//! too, and a fresh link must be issued. Several links issued at the same version are all
//! good until one of them is used. Issuing a link appends nothing.

use std::borrow::Cow;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use pharos_access::{Actor, InvalidResetToken};
use pharos_decider::{Rejection, execute_with, load};
use pharos_eventstore::Metadata;
use pharos_privacy::Personal;
use pharos_web::{Json, Path, Problem, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::http::{existing, may_manage};
use super::password::{check_password, hash_password};
use super::{Account, AccountCommand, stream};
use crate::auth::ClientAddr;
use crate::{Directory, NAME};

use pharos_access::RESET_PAGE;
/// How long a reset link stays good (the same for the links `reminders` mails).
pub use pharos_access::RESET_TOKEN_TTL;

/// Un lien de réinitialisation du mot de passe, montré cette seule fois.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResetLink {
    /// Le jeton : à usage unique, à transmettre à la personne (par courriel), jamais conservé.
    pub token: String,
    /// Échéance du jeton (72 heures après son émission).
    pub expires_at: DateTime<Utc>,
    /// Chemin du lien à envoyer, à préfixer par l'adresse publique de la plateforme : la
    /// page lit le jeton dans le fragment et l'envoie à `POST /api/v1/password-reset`.
    #[schema(example = "/reinitialiser-mot-de-passe#jeton=eyJ0eXAiOiJKV1Qi…")]
    pub reset_path: String,
}

fn deactivated() -> Problem {
    Problem::from(Rejection::conflict(
        "user-deactivated",
        "Ce compte est désactivé : aucun lien de réinitialisation ne peut être émis pour lui.",
    ))
}

/// A reset link for the account `id`, if it exists and is active. No permission is
/// checked here: the route checks the actor's, the command line acts as the platform.
pub async fn issue(directory: &Directory, id: Uuid) -> Result<ResetLink, Problem> {
    let (account, version) = existing(directory, id).await?;
    issue_for(directory, id, &account, version).await
}

async fn issue_for(
    directory: &Directory,
    id: Uuid,
    account: &super::AccountState,
    version: i64,
) -> Result<ResetLink, Problem> {
    let erased = directory
        .target
        .access
        .reference
        .user(id)
        .await?
        .is_some_and(|u| u.erased);
    if account.deactivated || erased {
        return Err(deactivated());
    }
    let (token, expires_at) = directory.target.access.tokens.issue_reset(
        id,
        version,
        directory.target.clock.now(),
        RESET_TOKEN_TTL,
    );
    Ok(ResetLink {
        reset_path: format!("{RESET_PAGE}{token}"),
        token,
        expires_at,
    })
}

/// `POST /api/v1/users/{id}/password-reset`
#[utoipa::path(operation_id = "directory_users_issue_password_reset", post, path = "/api/v1/users/{id}/password-reset", tag = "directory",
    summary = "Émettre un lien de réinitialisation du mot de passe",
    description = "Émet, pour un compte actif, un jeton de réinitialisation à usage unique valable 72 heures, \
        rendu cette seule fois avec le chemin du lien : à transmettre à la personne, qui choisit son mot de passe \
        par `POST /api/v1/password-reset` sans être connectée. C'est ainsi que les comptes des établissements créés \
        sans mot de passe (`POST /api/v1/users/schools`) en reçoivent un. La cible reminders envoie déjà un tel lien \
        par courriel à la création de chaque compte (invitation) et à chaque demande « mot de passe oublié » \
        (`POST /api/v1/auth/password-reset`) ; cette route en émet un à transmettre soi-même. Le jeton ne vaut que tant que le compte n'a pas \
        changé : définir le mot de passe l'épuise, et tout autre changement du compte (rôle, attributions, mot de \
        passe, désactivation) l'annule ; il faut alors en émettre un autre. Rien n'est enregistré dans le journal.",
    params(("id" = Uuid, Path, description = "Identifiant du compte")),
    responses(
        (status = 201, description = "Lien émis (montré cette seule fois)", body = ResetLink),
        (status = 403, description = "Ce compte n'est pas géré par l'acteur", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Compte inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Compte désactivé (`user-deactivated`)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn issue_handler(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (account, version) = existing(&directory, id).await?;
    may_manage(&actor, &account)?;
    let link = issue_for(&directory, id, &account, version).await?;
    tracing::info!(account = %id, by = %actor.user_id, "password reset link issued");
    Ok((StatusCode::CREATED, axum::Json(link)))
}

/// Un nouveau mot de passe, avec le jeton du lien de réinitialisation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordReset {
    /// Le jeton du lien de réinitialisation.
    token: String,
    /// Le nouveau mot de passe (12 à 256 caractères).
    password: String,
}

/// The one answer to a token that does not serve, whatever the reason (unknown, forged,
/// used, voided, the account deactivated): it tells nothing about the account.
fn invalid_token() -> Problem {
    Problem::from(Rejection::invalid(
        "reset-token-invalid",
        "token",
        "Ce lien de réinitialisation n'est pas valable : il est incomplet, a déjà servi ou a été \
         remplacé. Demandez-en un nouveau au pôle académique.",
    ))
}

fn expired_token() -> Problem {
    Problem::from(Rejection::invalid(
        "reset-token-expired",
        "token",
        "Ce lien de réinitialisation a expiré (il vaut 72 heures). Demandez-en un nouveau au pôle \
         académique.",
    ))
}

fn rate_limited(wait: std::time::Duration) -> Problem {
    let seconds = wait.as_secs().max(1);
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        "Trop de tentatives",
        match seconds.div_ceil(60) {
            1 => "Trop de tentatives refusées : réessayez dans une minute.".to_owned(),
            minutes => format!("Trop de tentatives refusées : réessayez dans {minutes} minutes."),
        },
    )
    .with_retry_after(seconds)
}

/// `POST /api/v1/password-reset`
#[utoipa::path(operation_id = "directory_password_reset", post, path = "/api/v1/password-reset", tag = "directory",
    summary = "Choisir son mot de passe avec un lien de réinitialisation",
    description = "Définit le mot de passe du compte du lien (jeton émis par `POST /api/v1/users/{id}/password-reset` \
        ou `pharos users reset-password`) ; la personne peut ensuite se connecter. Route publique. Le jeton sert une \
        seule fois. Un jeton inconnu, altéré, déjà utilisé, annulé par un changement du compte, ou un jeton de session \
        reçoit `reset-token-invalid`, un jeton échu `reset-token-expired`, sans rien dire du compte. Les échecs comptent \
        avec ceux des connexions, par adresse du client.",
    request_body = PasswordReset,
    responses(
        (status = 200, description = "Mot de passe défini ; nouvelle version du compte", body = pharos_web::Versioned),
        (status = 422, description = "Jeton refusé (`reset-token-invalid`, `reset-token-expired`) ou mot de passe refusé (12 à 256 caractères)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Trop de tentatives refusées ; réessayer après le délai de l'en-tête Retry-After", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(()))]
pub async fn reset(
    State(directory): State<Directory>,
    ClientAddr(addr): ClientAddr,
    Json(input): Json<PasswordReset>,
) -> Result<impl IntoResponse, Problem> {
    let limits = &directory.logins;
    let started = Instant::now();
    if let Some(wait) = limits.per_address.retry_after(&addr, started) {
        return Err(rate_limited(wait));
    }
    let failed = |problem: Problem| {
        limits.per_address.record_failure(&addr, started);
        tracing::info!(client = %addr, "refused password reset token");
        problem
    };
    let now = directory.target.clock.now();
    let claims = directory
        .target
        .access
        .tokens
        .verify_reset(&input.token, now)
        .map_err(|e| {
            failed(match e {
                InvalidResetToken::Invalid => invalid_token(),
                InvalidResetToken::Expired => expired_token(),
            })
        })?;
    check_password(&input.password)?;
    let store = &directory.target.app.store;
    let account_stream = stream(claims.user)?;
    let (account, version) = load::<Account>(store, &account_stream).await?;
    let active = directory
        .target
        .access
        .reference
        .user(claims.user)
        .await?
        .is_some_and(|u| u.active());
    let Some(created) = account
        .created
        .filter(|_| active && !account.deactivated && version == claims.version)
    else {
        return Err(failed(invalid_token()));
    };
    let vault = &directory.target.vault;
    let hash = hash_password(input.password).await?;
    let sealed = vault
        .seal(created.email.person, &hash)
        .await
        .map_err(Problem::from)?;
    let metadata = Metadata {
        actor_id: Some(claims.user.to_string()),
        actor_role: Some(created.role.to_string()),
        source_target: Some(NAME.into()),
        ..Metadata::default()
    };
    let command = AccountCommand::SetPassword {
        password_hash: sealed,
    };
    // At the token's version, under the stream's lock: of two uses at once, one wins.
    let done = execute_with::<Account, Problem>(
        store,
        &account_stream,
        now,
        Some(claims.version),
        &metadata,
        |state| {
            if state.deactivated {
                Err(invalid_token())
            } else {
                Ok(Cow::Borrowed(&command))
            }
        },
    )
    .await
    .map_err(|p| {
        if p.status == 409 {
            failed(invalid_token())
        } else {
            p
        }
    })?;
    // The account may have been locked by failed logins: its new password opens it.
    if let Ok(Personal::Known(email)) = vault.unseal(&created.email).await {
        limits.per_account.clear(&email);
    }
    tracing::info!(account = %claims.user, "password set through a reset link");
    Ok(Versioned {
        version: done.version,
    })
}

/// Une demande de lien de réinitialisation (« mot de passe oublié »).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// L'adresse électronique du compte.
    #[schema(example = "principal.0310001a@ac-toulouse.fr")]
    email: String,
}

/// `POST /api/v1/auth/password-reset`
#[utoipa::path(operation_id = "directory_auth_request_password_reset", post, path = "/api/v1/auth/password-reset", tag = "directory",
    summary = "Demander un lien de réinitialisation du mot de passe (mot de passe oublié)",
    description = "Route publique. Si l'adresse est celle d'un compte actif, la demande est enregistrée et la cible \
        reminders envoie à cette adresse un lien de réinitialisation à usage unique valable 72 heures (le jeton est \
        créé au moment de l'envoi, jamais enregistré). La réponse est la même, dans le même délai, que l'adresse soit \
        connue ou non : elle ne dit rien de l'existence d'un compte. Une nouvelle demande annule les liens émis \
        avant elle ; pour un même compte, une demande moins de 15 minutes après la précédente n'envoie rien de plus. \
        Les demandes comptent avec les échecs de connexion, par adresse du client.",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Demande reçue : un courriel part si l'adresse est celle d'un compte actif"),
        (status = 422, description = "Adresse électronique mal formée (`invalid-email`)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Trop de demandes ; réessayer après le délai de l'en-tête Retry-After", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(()))]
pub async fn request(
    State(directory): State<Directory>,
    ClientAddr(addr): ClientAddr,
    Json(input): Json<PasswordResetRequest>,
) -> Result<impl IntoResponse, Problem> {
    let email = pharos_events::Email::parse(&input.email).map_err(|e| {
        Problem::from(Rejection::invalid(
            "invalid-email",
            "email",
            crate::labels::sentence(&e.0),
        ))
    })?;
    let limits = &directory.logins;
    let started = Instant::now();
    if let Some(wait) = limits.per_address.retry_after(&addr, started) {
        return Err(rate_limited(wait));
    }
    // Every request counts, known address or not: a client cannot probe addresses, nor
    // have mails sent, faster than it could try passwords.
    limits.per_address.record_failure(&addr, started);
    // Looked up and recorded after the answer, so that its timing tells nothing either.
    tokio::spawn(async move {
        if let Err(e) = record_request(&directory, &email.to_string()).await {
            tracing::warn!(error = ?e, "password reset request not recorded");
        }
    });
    Ok(StatusCode::ACCEPTED)
}

/// Records the request of an existing account (the decider records nothing for a
/// deactivated account, nor within 15 minutes of the last request).
async fn record_request(directory: &Directory, email: &str) -> Result<(), Problem> {
    let Some(person) = directory
        .target
        .vault
        .find_person(email)
        .await
        .map_err(Problem::from)?
    else {
        return Ok(());
    };
    let account_stream = stream(person.0)?;
    let (account, _) = load::<Account>(&directory.target.app.store, &account_stream).await?;
    if account.created.is_none() {
        return Ok(());
    }
    let metadata = Metadata {
        actor_id: Some(person.0.to_string()),
        source_target: Some(NAME.into()),
        ..Metadata::default()
    };
    pharos_decider::execute::<Account, Problem>(
        &directory.target.app.store,
        &account_stream,
        &AccountCommand::RequestPasswordReset,
        directory.target.clock.now(),
        None,
        &metadata,
    )
    .await?;
    tracing::info!(account = %person.0, "password reset requested");
    Ok(())
}
