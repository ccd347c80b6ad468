//! `Idempotency-Key` on POST: the same key with the same request answers what the first
//! request answered, without running it again; the same key with another request is 422.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use pharos_eventstore::{Db, on_db};
use sha2::{Digest, Sha256};

use crate::{AppState, Problem};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer replayed from an earlier request.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

enum Claim {
    /// First time: run the request and record its answer.
    New,
    Replay {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    OtherRequest,
    InFlight,
}

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST || never_stored(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k.to_owned(),
        _ => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-idempotency-key",
                "Clé d'idempotence invalide",
                "L'en-tête Idempotency-Key doit contenir de 1 à 255 caractères ASCII visibles.",
            )
            .with_field("Idempotency-Key", "1 à 255 caractères ASCII visibles")
            .into_response();
        }
    };
    // Uploads (a school directory CSV) may exceed the JSON limit; the handler's own
    // extractor still enforces the limit of its route.
    let limit = state
        .settings
        .body_limit_bytes
        .max(state.settings.upload_limit_bytes);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, limit).await else {
        return Problem::payload_too_large(limit).into_response();
    };
    // Keys are scoped to the caller's credentials: two users may pick the same key.
    // Browsers authenticate with the session cookie instead of the header.
    let caller = parts
        .headers
        .get(header::AUTHORIZATION)
        .or_else(|| parts.headers.get(header::COOKIE))
        .map(|v| Sha256::digest(v.as_bytes()))
        .map(|d| hex(&d))
        .unwrap_or_default();
    let scoped_key = format!("{caller}:{key}");
    let mut fingerprint = Sha256::new();
    fingerprint.update(parts.method.as_str());
    fingerprint.update(b" ");
    fingerprint.update(parts.uri.path());
    fingerprint.update(b"\n");
    fingerprint.update(&bytes);
    let fingerprint = fingerprint.finalize().to_vec();

    let db = state.store.db();
    match claim(&db, &scoped_key, &fingerprint).await {
        Ok(Claim::New) => {}
        Ok(Claim::Replay {
            status,
            content_type,
            body,
        }) => return replay(status, content_type, body),
        Ok(Claim::OtherRequest) => {
            return Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Clé d'idempotence déjà utilisée",
                "Cette clé d'idempotence a déjà servi pour une autre requête ; utilisez une nouvelle clé.",
            )
            .with_field("Idempotency-Key", "déjà utilisée pour une autre requête")
            .into_response();
        }
        Ok(Claim::InFlight) => {
            return Problem::new(
                StatusCode::CONFLICT,
                "idempotency-key-in-flight",
                "Requête déjà en cours",
                "Une requête avec cette clé d'idempotence est en cours de traitement ; réessayez dans un instant.",
            )
            .with_retry_after(1)
            .into_response();
        }
        Err(e) => return Problem::database(&e).into_response(),
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not buffer a response");
            let _ = forget(&db, &scoped_key).await;
            return Problem::internal().into_response();
        }
    };
    // Server faults are not recorded: the client may retry them with the same key.
    let recorded = if parts.status.is_server_error() {
        forget(&db, &scoped_key).await
    } else {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        record(&db, &scoped_key, parts.status.as_u16(), content_type, &body).await
    };
    if let Err(e) = recorded {
        tracing::error!(error = %e, "could not record an idempotent answer");
    }
    Response::from_parts(parts, Body::from(body))
}

/// Routes whose answers are never stored: they carry a secret shown once (a session
/// token, a generated password, a password-reset token), or a file whose content is its
/// own key (uploads are streamed, never buffered here). Running them twice is harmless.
fn never_stored(path: &str) -> bool {
    path.starts_with("/api/v1/auth/")
        || path == "/api/v1/users"
        || path.ends_with("/password-reset")
        || (path.starts_with("/api/v1/entries/") && path.ends_with("/files"))
}

fn replay(status: u16, content_type: Option<String>, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
        .headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const INSERT: &str = "INSERT INTO idempotency_keys (key, fingerprint, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (key) DO NOTHING";
const SELECT: &str =
    "SELECT fingerprint, status, content_type, body FROM idempotency_keys WHERE key = $1";
const RECORD: &str =
    "UPDATE idempotency_keys SET status = $2, content_type = $3, body = $4 WHERE key = $1";
const FORGET: &str = "DELETE FROM idempotency_keys WHERE key = $1 AND status IS NULL";

type Stored = (Vec<u8>, Option<i32>, Option<String>, Option<Vec<u8>>);

async fn claim(db: &Db, key: &str, fingerprint: &[u8]) -> Result<Claim, sqlx::Error> {
    let inserted = on_db!(db, |pool| sqlx::query(INSERT)
        .bind(key)
        .bind(fingerprint)
        .bind(Utc::now())
        .execute(pool)
        .await?
        .rows_affected());
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let stored: Option<Stored> = on_db!(db, |pool| sqlx::query_as(SELECT)
        .bind(key)
        .fetch_optional(pool)
        .await?);
    Ok(match stored {
        // Forgotten between our insert and select: a server fault; treat as in flight.
        None => Claim::InFlight,
        Some((stored, _, _, _)) if stored != fingerprint => Claim::OtherRequest,
        Some((_, Some(status), content_type, body)) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(200),
            content_type,
            body: body.unwrap_or_default(),
        },
        Some(_) => Claim::InFlight,
    })
}

async fn record(
    db: &Db,
    key: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| sqlx::query(RECORD)
        .bind(key)
        .bind(i32::from(status))
        .bind(content_type)
        .bind(body)
        .execute(pool)
        .await
        .map(|_| ()))
}

async fn forget(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| sqlx::query(FORGET)
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::never_stored;

    #[test]
    fn answers_carrying_a_secret_or_a_file_are_never_stored() {
        for path in [
            "/api/v1/auth/login",
            "/api/v1/users",
            "/api/v1/users/0191f6a4-0000-7000-8000-000000000000/password-reset",
            "/api/v1/password-reset",
            "/api/v1/entries/0191f6a4-0000-7000-8000-000000000000/files",
        ] {
            assert!(never_stored(path), "{path}");
        }
        for path in [
            "/api/v1/users/schools",
            "/api/v1/trainings",
            "/api/v1/entries/x/submit",
        ] {
            assert!(!never_stored(path), "{path}");
        }
    }
}
