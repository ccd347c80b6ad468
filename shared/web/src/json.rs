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
            let (path, reason) = text
                .split_once(": ")
                .filter(|(path, _)| !path.contains(' '))
                .map_or((".", text.as_str()), |(path, reason)| (path, reason));
            let (named, message) = french_reason(reason);
            let field = match (path, named) {
                (".", Some(named)) => named,
                (".", None) => "body".to_owned(),
                (path, Some(named)) => format!("{path}.{named}"),
                (path, None) => path.to_owned(),
            };
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "Données invalides",
                format!(
                    "Le champ « {field} » est invalide : {}.",
                    message.trim_end_matches('.')
                ),
            )
            .with_field(field, message)
        }
        JsonRejection::JsonSyntaxError(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "JSON mal formé",
            match position(&e.body_text()) {
                Some(at) => format!("Le corps de la requête n'est pas du JSON valide ({at})."),
                None => "Le corps de la requête n'est pas du JSON valide.".to_owned(),
            },
        ),
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Type de contenu non pris en charge",
            "Envoyez le corps en JSON, avec l'en-tête « Content-Type: application/json ».",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Requête trop volumineuse",
            "Le corps de la requête dépasse la taille autorisée.",
        ),
        _ => Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Requête invalide",
            "Le corps de la requête n'a pas pu être lu.",
        ),
    }
}

/// Where serde_json stopped, in French: « … at line 1 column 12 » → « ligne 1, colonne 12 ».
fn position(text: &str) -> Option<String> {
    let (_, at) = text.rsplit_once(" at line ")?;
    let (line, column) = at.split_once(" column ")?;
    let line: u64 = line.trim().parse().ok()?;
    let column: u64 = column.trim().parse().ok()?;
    Some(format!("ligne {line}, colonne {column}"))
}

/// serde's English reason in French, and the field it names when it names one (a
/// missing or unknown field). Reasons written by the API's own types are French
/// already and pass as they are.
pub(crate) fn french_reason(reason: &str) -> (Option<String>, String) {
    let reason = reason
        .rsplit_once(" at line ")
        .map_or(reason, |(reason, _)| reason)
        .trim();
    let quoted = |rest: &str| rest.split('`').next().unwrap_or_default().to_owned();
    if let Some(rest) = reason.strip_prefix("missing field `") {
        return (Some(quoted(rest)), "champ obligatoire manquant".into());
    }
    if let Some(rest) = reason.strip_prefix("unknown field `") {
        return (Some(quoted(rest)), "champ inconnu".into());
    }
    if let Some(rest) = reason.strip_prefix("duplicate field `") {
        return (Some(quoted(rest)), "champ donné deux fois".into());
    }
    if let Some(rest) = reason.strip_prefix("unknown variant `") {
        let accepted = rest
            .split_once("expected one of ")
            .or_else(|| rest.split_once("expected "))
            .map_or("", |(_, list)| list)
            .replace('`', "");
        return (
            None,
            format!(
                "« {} » n'est pas une valeur acceptée ; valeurs acceptées : {accepted}",
                quoted(rest)
            ),
        );
    }
    if let Some(rest) = reason.strip_prefix("invalid type: ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        return (None, format!("il faut {}", expected_fr(expected)));
    }
    if let Some(rest) = reason.strip_prefix("invalid value: ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        return (None, format!("il faut {}", expected_fr(expected)));
    }
    if reason.starts_with("invalid length") {
        return (None, "nombre d'éléments invalide".into());
    }
    if reason.starts_with("UUID parsing failed") || reason.starts_with("invalid character") {
        return (None, "identifiant invalide (UUID attendu)".into());
    }
    // std's reasons for a number or a boolean that does not parse (query strings).
    match reason {
        "invalid digit found in string" | "cannot parse integer from empty string" => {
            return (None, "nombre entier attendu".into());
        }
        "number too large to fit in target type" => return (None, "nombre trop grand".into()),
        "number too small to fit in target type" => return (None, "nombre trop petit".into()),
        "invalid float literal" => return (None, "nombre attendu".into()),
        "provided string was not `true` or `false`" => {
            return (None, "« true » ou « false » attendu".into());
        }
        _ => {}
    }
    // chrono's reasons for a date or an instant that does not parse.
    if [
        "premature end of input",
        "input contains invalid characters",
        "input is out of range",
        "trailing input",
        "input is not enough for unique date and time",
        "no possible date and time matching input",
    ]
    .contains(&reason)
    {
        return (
            None,
            "date ou heure invalide (format attendu : 2026-12-03 ou 2026-12-03T09:00:00+01:00)"
                .into(),
        );
    }
    (None, reason.to_owned())
}

/// What serde expected, in French.
fn expected_fr(expected: &str) -> String {
    let expected = expected.trim();
    let integer = [
        "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
    ];
    if integer.contains(&expected) || expected.contains("integer") {
        "un nombre entier".into()
    } else if ["f32", "f64"].contains(&expected) || expected.contains("number") {
        "un nombre".into()
    } else if expected.contains("string") || expected.contains("str") {
        "une chaîne de caractères".into()
    } else if expected.contains("bool") {
        "un booléen".into()
    } else if expected.contains("sequence") || expected.contains("array") {
        "une liste".into()
    } else if expected.contains("map") || expected.starts_with("struct") {
        "un objet".into()
    } else if expected.contains("UUID") || expected.contains("uuid") {
        "un identifiant (UUID)".into()
    } else {
        // Anything else serde says is English: say no more than that the value is wrong.
        "une autre valeur".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serdes_reasons_read_in_french_and_name_their_field() {
        let (field, message) = french_reason("missing field `title` at line 1 column 2");
        assert_eq!(field.as_deref(), Some("title"));
        assert_eq!(message, "champ obligatoire manquant");
        let (_, message) =
            french_reason("invalid type: integer `3`, expected a string at line 1 column 12");
        assert_eq!(message, "il faut une chaîne de caractères");
        let (_, message) =
            french_reason("unknown variant `maybe`, expected one of `mpp`, `pilotes`");
        assert_eq!(
            message,
            "« maybe » n'est pas une valeur acceptée ; valeurs acceptées : mpp, pilotes"
        );
        let (_, message) = french_reason("premature end of input at line 1 column 30");
        assert!(message.starts_with("date ou heure invalide"), "{message}");
        let own = "« 0310001A » : la lettre de contrôle devrait être H";
        assert_eq!(french_reason(own), (None, own.to_owned()));
        // What serde says in English of a type it does not know stays out of the answer.
        let (_, message) =
            french_reason("invalid value: string \"x\", expected a formatted date and time");
        assert_eq!(message, "il faut une autre valeur");
        let (field, message) = french_reason("duplicate field `title` at line 1 column 20");
        assert_eq!(field.as_deref(), Some("title"));
        assert_eq!(message, "champ donné deux fois");
        assert_eq!(
            french_reason("invalid digit found in string").1,
            "nombre entier attendu"
        );
        assert_eq!(
            position("expected value at line 3 column 14").as_deref(),
            Some("ligne 3, colonne 14")
        );
    }
}
