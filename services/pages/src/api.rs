//! The public API as the pages call it: with the user's own session token, so that a page
//! shows exactly what the API gives that user.

use std::time::Duration;

use axum::http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The API at `api_url`.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// Why a call gave no answer to show.
#[derive(Debug)]
pub enum ApiError {
    /// The token is missing, expired or revoked: sign in again.
    SignedOut,
    /// The API refused, with the French explanation of its problem (or GraphQL error)
    /// and, for a command, the fields at fault (`field` → message), to show next to
    /// their inputs.
    Refused {
        status: StatusCode,
        detail: String,
        fields: Vec<(String, String)>,
    },
    /// The API did not answer, or not in a way a page can use (logged where it happens).
    Unavailable,
}

/// A successful sign-in.
#[derive(Debug, Deserialize)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The longest a file's forwarding may take in all (a large video over a slow line).
const UPLOAD_CEILING: Duration = Duration::from_secs(4 * 3600);

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// `POST /api/v1/auth/login`. A refusal carries the API's French detail (wrong
    /// credentials, too many attempts).
    pub async fn login(&self, email: &str, password: &str) -> Result<SignedIn, ApiError> {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status.is_success() {
            return response.json().await.map_err(unreadable);
        }
        Err(refusal(status, response).await)
    }

    /// `GET path` of the REST API as `token`'s user; the JSON answer.
    pub async fn get(&self, token: &str, path: &str) -> Result<Value, ApiError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .map_err(unreachable)?;
        let response = accepted(response).await?;
        response.json().await.map_err(unreadable)
    }

    /// [`Api::get`], read into `T`.
    pub async fn get_as<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
    ) -> Result<T, ApiError> {
        let value = self.get(token, path).await?;
        serde_json::from_value(value).map_err(|error| {
            tracing::warn!(%error, path, "API answer unreadable by the pages");
            ApiError::Unavailable
        })
    }

    /// A command (`POST`, `PUT`…) as `token`'s user, with a JSON body; the JSON answer.
    pub async fn command(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        self.send(Some(token), method, path, body, None).await
    }

    /// [`Api::command`] on the version the page showed (`If-Match`): the API refuses
    /// with 409 when the record changed since.
    pub async fn command_at(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        version: i64,
    ) -> Result<Value, ApiError> {
        self.send(Some(token), method, path, body, Some(version))
            .await
    }

    /// `POST path` as `token`'s user with `body` streamed as the request body, of
    /// `content_type` (a contest entry's file, forwarded as it arrives: never held whole
    /// in memory); the JSON answer.
    pub async fn upload(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        body: reqwest::Body,
    ) -> Result<Value, ApiError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            // Not the client's 30 s: the browser's request bounds it, cut by the page's
            // deadline once its bytes stop coming (pharos-web), not while they come.
            .timeout(UPLOAD_CEILING)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        let response = accepted(response).await?;
        response.json().await.map_err(unreadable)
    }

    /// A `POST` of the public routes (a forgotten password, a reset link), without a token.
    pub async fn public_post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.send(None, reqwest::Method::POST, path, body, None)
            .await
    }

    async fn send(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        version: Option<i64>,
    ) -> Result<Value, ApiError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(version) = version {
            request = request.header(reqwest::header::IF_MATCH, format!("\"{version}\""));
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED && token.is_some() {
            return Err(ApiError::SignedOut);
        }
        if !status.is_success() {
            return Err(refusal(status, response).await);
        }
        if status == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        // A command may answer 202 or 200 with an empty body.
        let bytes = response.bytes().await.map_err(unreadable)?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|error| {
            tracing::warn!(%error, path, "API answer unreadable by the pages");
            ApiError::Unavailable
        })
    }

    /// A GraphQL query as `token`'s user; its `data`, or the first error's message.
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Result<T, ApiError> {
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(unreachable)?;
        let response = accepted(response).await?;
        #[derive(Deserialize)]
        struct Answer<T> {
            data: Option<T>,
            #[serde(default)]
            errors: Vec<GraphqlError>,
        }
        #[derive(Deserialize)]
        struct GraphqlError {
            message: String,
        }
        let answer: Answer<T> = response.json().await.map_err(unreadable)?;
        match (answer.data, answer.errors.into_iter().next()) {
            (_, Some(error)) => Err(ApiError::Refused {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                detail: error.message,
                fields: Vec::new(),
            }),
            (Some(data), None) => Ok(data),
            (None, None) => {
                tracing::warn!("GraphQL answer without data nor errors");
                Err(ApiError::Unavailable)
            }
        }
    }
}

/// A signed-in request's answer when it is a success; else the user signed out (401) or
/// the API's refusal.
async fn accepted(response: reqwest::Response) -> Result<reqwest::Response, ApiError> {
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return Err(ApiError::SignedOut);
    }
    if !status.is_success() {
        return Err(refusal(status, response).await);
    }
    Ok(response)
}

fn unreachable(error: reqwest::Error) -> ApiError {
    tracing::warn!(%error, "API unreachable from the pages");
    ApiError::Unavailable
}

fn unreadable(error: reqwest::Error) -> ApiError {
    tracing::warn!(%error, "API answer unreadable by the pages");
    ApiError::Unavailable
}

/// A problem+json answer: its `detail` (else a generic French sentence) and its fields.
async fn refusal(status: StatusCode, response: reqwest::Response) -> ApiError {
    let problem = response.json::<Value>().await.unwrap_or(Value::Null);
    ApiError::Refused {
        status,
        detail: problem["detail"].as_str().map_or_else(
            || format!("Le service a refusé la demande (HTTP {status})."),
            str::to_owned,
        ),
        fields: problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((
                    e["field"].as_str()?.to_owned(),
                    e["message"].as_str()?.to_owned(),
                ))
            })
            .collect(),
    }
}
