//! A decider's refusal: which rule, in French, and whether it is a conflict with the
//! current state, an invalid value or an unknown aggregate. Deciders return it;
//! `pharos-web` maps it to problem+json (409, 422, 404) in one place.

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

/// A reason as a sentence: a capital first, one final period. Value parsers
/// (`pharos_events`) give their reason as a fragment; a problem's detail is a sentence.
pub fn sentence(reason: &str) -> String {
    let reason = reason.trim().trim_end_matches('.');
    let mut chars = reason.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
