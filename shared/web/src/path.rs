//! Path and query-string extractors whose rejections are problem+json naming the
//! parameter, instead of axum's plain-text `400 Invalid URL`.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, RawPathParams, path::ErrorKind};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::Problem;

/// `axum::extract::Path`: a malformed path parameter (`/sessions/null`) answers 404 with
/// the parameter named, since no resource can live at that address.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => {
                let raw: Vec<(String, String)> = RawPathParams::from_request_parts(parts, state)
                    .await
                    .map(|params| {
                        params
                            .iter()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                Err(path_problem(&rejection, &raw))
            }
        }
    }
}

/// `raw`: the route's parameters as sent. A parameter that did not parse is named by
/// axum when it can tell (`ParseErrorAtKey`); otherwise (a value type's own error, such
/// as a malformed UUID) it is the first one that is not a UUID — every identifier of
/// this API is one — or the first one.
fn path_problem(rejection: &PathRejection, raw: &[(String, String)]) -> Problem {
    let PathRejection::FailedToDeserializePathParams(error) = rejection else {
        // Only a route declared without the parameter its handler reads gets here.
        tracing::error!(%rejection, "path parameters missing from the route");
        return Problem::internal();
    };
    let suspect = || {
        raw.iter()
            .find(|(_, value)| uuid::Uuid::parse_str(value).is_err())
            .or_else(|| raw.first())
            .map_or(("id", ""), |(key, value)| (key.as_str(), value.as_str()))
    };
    let (key, value) = match error.kind() {
        ErrorKind::ParseErrorAtKey { key, value, .. } => (key.as_str(), value.as_str()),
        ErrorKind::InvalidUtf8InPathParam { key } => (key.as_str(), ""),
        _ => suspect(),
    };
    Problem::new(
        StatusCode::NOT_FOUND,
        "malformed-identifier",
        "Ressource introuvable",
        format!("« {value} » n'est pas un identifiant valide : aucune ressource à cette adresse."),
    )
    .with_field(key, "identifiant mal formé")
}

/// `axum::extract::Query`: a query string that does not parse answers 400 with the
/// reason, in problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_problem(&rejection)),
        }
    }
}

fn query_problem(rejection: &QueryRejection) -> Problem {
    let reason = match rejection {
        QueryRejection::FailedToDeserializeQueryString(e) => {
            std::error::Error::source(e).map_or_else(|| e.body_text(), |s| s.to_string())
        }
        other => other.body_text(),
    };
    let (named, reason) = crate::json::french_reason(&reason);
    let detail = match &named {
        Some(name) => format!(
            "Le paramètre « {name} » de l'adresse est refusé : {}.",
            reason.trim_end_matches('.')
        ),
        None => format!(
            "Les paramètres de l'adresse ne sont pas valides : {}.",
            reason.trim_end_matches('.')
        ),
    };
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-query",
        "Paramètres de requête invalides",
        detail,
    )
    .with_field("query", reason)
}
