//! A JSON body extractor whose rejections are problem+json naming the field.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Problem;

/// `axum::Json`, answering bad bodies with problem+json (400, 413, 415, 422).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(problem_of(&rejection)),
        }
    }
}

/// `Option<Json<T>>`: `None` for a request without a body (no `Content-Type` and
/// nothing sent), the parsed body otherwise, with the same rejections as [`Json`].
impl<T, S> axum::extract::OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if req.headers().contains_key(axum::http::header::CONTENT_TYPE) {
            return <Self as FromRequest<S>>::from_request(req, state)
                .await
                .map(Some);
        }
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|_| problem_of(&JsonRejection::MissingJsonContentType(Default::default())))?;
        if bytes.is_empty() {
            return Ok(None);
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        <Self as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn problem_of(rejection: &JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde's message names the path: "field: reason at line 1 column 12".
            let text =
                std::error::Error::source(e).map_or_else(|| e.body_text(), |s| s.to_string());
            let (field, message) = text
                .split_once(": ")
                .filter(|(f, _)| *f != ".")
                .map_or(("body".to_owned(), text.clone()), |(f, m)| {
                    (f.to_owned(), m.to_owned())
                });
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "Données invalides",
                format!("Le champ « {field} » est invalide : {message}"),
            )
            .with_field(field, message)
        }
        JsonRejection::JsonSyntaxError(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "JSON mal formé",
            format!(
                "Le corps de la requête n'est pas du JSON valide : {}",
                e.body_text()
            ),
        ),
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Type de contenu non pris en charge",
            "Envoyez le corps en JSON avec l'en-tête Content-Type: application/json.",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Requête trop volumineuse",
            "Le corps de la requête dépasse la taille autorisée.",
        ),
        other => Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Requête invalide",
            format!(
                "Le corps de la requête n'a pas pu être lu : {}",
                other.body_text()
            ),
        ),
    }
}
