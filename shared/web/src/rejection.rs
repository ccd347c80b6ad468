//! A decider's refusal: which rule, in French, and whether it is a conflict with the
//! current state (409) or an invalid value (422). Deciders return it; HTTP maps it here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The command does not fit the aggregate's current state: 409.
    Conflict,
    /// A value breaks a rule whatever the state: 422.
    Invalid,
    /// The aggregate does not exist: 404.
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct Rejection {
    pub kind: RejectionKind,
    /// Stable slug of the rule (the problem's `type`), e.g. `school-already-closed`.
    pub rule: &'static str,
    /// French, for the person who sent the command.
    pub message: String,
    /// The field at fault, when one is.
    pub field: Option<&'static str>,
}

impl Rejection {
    pub fn conflict(rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RejectionKind::Conflict,
            rule,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(rule: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RejectionKind::Invalid,
            rule,
            message: message.into(),
            field: Some(field),
        }
    }

    pub fn not_found(rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RejectionKind::NotFound,
            rule,
            message: message.into(),
            field: None,
        }
    }
}

impl From<Rejection> for Problem {
    fn from(rejection: Rejection) -> Self {
        let (status, title) = match rejection.kind {
            RejectionKind::Conflict => {
                (StatusCode::CONFLICT, "Action impossible dans l'état actuel")
            }
            RejectionKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "Valeur refusée"),
            RejectionKind::NotFound => (StatusCode::NOT_FOUND, "Ressource introuvable"),
        };
        let problem = Problem::new(status, rejection.rule, title, rejection.message.clone());
        match rejection.field {
            Some(field) => problem.with_field(field, rejection.message),
            None => problem,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
