//! RFC 9457 problem details: the one shape every error of the API takes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pharos_decider::{Rejection, RejectionKind};
use pharos_eventstore::{Outage, StoreError};
use pharos_privacy::PrivacyError;
use serde::Serialize;

/// Base of the stable `type` URIs.
const TYPE_BASE: &str = "https://pharos.ac-toulouse.fr/problems/";

/// Un champ refusé de la requête, et pourquoi.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Erreur au format `application/problem+json` (RFC 9457) : la règle dans `type`, un titre et
/// un détail en français, les champs en faute dans `errors`. Une création refusée parce que
/// la ressource existe déjà porte aussi `existing_id` (son adresse dans l'en-tête
/// `Location`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// What few problems carry (boxed: every `Result<_, Problem>` stays small).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    extra: Option<Box<Extra>>,
}

/// The rarer parts of a problem.
#[derive(Debug, Clone, Default, Serialize)]
struct Extra {
    /// The resource that exists already, when a creation is refused for that reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    existing_id: Option<uuid::Uuid>,
    /// Its address, sent as `Location`.
    #[serde(skip)]
    location: Option<String>,
    /// Sent as `Retry-After`.
    #[serde(skip)]
    retry_after_seconds: Option<u64>,
}

impl Problem {
    /// `kind` is the stable slug of the `type` URI, e.g. `wrong-expected-version`.
    pub fn new(
        status: StatusCode,
        kind: &str,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            type_uri: format!("{TYPE_BASE}{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            extra: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    /// A creation refused because the resource exists: its id in the body, its address
    /// (`location`) in the `Location` header.
    pub fn with_existing(mut self, id: uuid::Uuid, location: impl Into<String>) -> Self {
        let extra = self.extra.get_or_insert_with(Box::default);
        extra.existing_id = Some(id);
        extra.location = Some(location.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.extra
            .get_or_insert_with(Box::default)
            .retry_after_seconds = Some(seconds);
        self
    }

    /// The id of the resource that exists already, for a creation refused for that reason.
    pub fn existing_id(&self) -> Option<uuid::Uuid> {
        self.extra.as_ref().and_then(|e| e.existing_id)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Ressource introuvable",
            "Aucune ressource ne correspond à cette adresse.",
        )
    }

    /// The answer of an address no route serves.
    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "no-route",
            "Adresse inconnue",
            "Aucune route de l'API ne sert cette adresse.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Méthode non autorisée",
            "Cette adresse n'accepte pas cette méthode HTTP.",
        )
    }

    /// The generic answer to a server fault: the cause goes to the log, never to the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Erreur interne",
            "Une erreur inattendue s'est produite ; elle a été journalisée. Réessayez plus tard.",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service indisponible",
            detail,
        )
    }

    /// The database cannot serve: 503, with when to try again. Nothing was written,
    /// except, when a connection was cut during a commit, perhaps the whole command (an
    /// `Idempotency-Key` makes the retry safe).
    pub fn outage(outage: Outage) -> Self {
        match outage {
            Outage::Unreachable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database-unavailable",
                "Base de données injoignable",
                "La base de données est momentanément injoignable ; la demande n'a pas été \
                 traitée. Réessayez dans un instant.",
            )
            .with_retry_after(5),
            Outage::StorageFull => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage-full",
                "Espace disque plein",
                "L'espace disque du serveur est plein : rien n'a été enregistré. Réessayez plus \
                 tard.",
            )
            .with_retry_after(60),
        }
    }

    /// A database error outside the event store's calls: 503 for an outage, else 500
    /// (logged).
    pub fn database(error: &sqlx::Error) -> Self {
        match Outage::of(error) {
            Some(outage) => {
                tracing::warn!(?outage, %error, "database unavailable");
                Self::outage(outage)
            }
            None => {
                tracing::error!(%error, "database failure");
                Self::internal()
            }
        }
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Requête trop volumineuse",
            format!(
                "Le corps de la requête dépasse la limite de {} Kio.",
                limit / 1024
            ),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.extra.as_ref().and_then(|e| e.retry_after_seconds);
        let location = self.extra.as_ref().and_then(|e| e.location.clone());
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, value);
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::WrongExpectedVersion {
                expected, actual, ..
            } => Self::new(
                StatusCode::CONFLICT,
                "wrong-expected-version",
                "Modification concurrente",
                format!(
                    "La ressource a changé entre-temps (version attendue : {expected}, version actuelle : {actual}). Rechargez-la puis recommencez."
                ),
            ),
            StoreError::IdempotencyConflict { event_id } => Self::new(
                StatusCode::CONFLICT,
                "duplicate-event",
                "Événement déjà enregistré",
                format!("L'événement {event_id} est déjà enregistré dans un autre contexte."),
            ),
            StoreError::EventTooLarge { bytes, limit, .. } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "event-too-large",
                "Données trop volumineuses",
                format!("Les données font {bytes} octets, au-delà de la limite de {limit} octets."),
            ),
            StoreError::InvalidStreamId { stream_id, .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-identifier",
                "Identifiant invalide",
                format!("L'identifiant « {stream_id} » n'est pas valide."),
            ),
            StoreError::CompanionRefused { reason } => Self::new(
                StatusCode::CONFLICT,
                "concurrent-change",
                "Modification concurrente",
                reason,
            ),
            StoreError::Closed => {
                Self::unavailable("Le service s'arrête ; réessayez dans un instant.")
            }
            StoreError::Outage { outage, reason } => {
                tracing::warn!(?outage, %reason, "database unavailable");
                Self::outage(outage)
            }
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other), "event store failure");
                Self::internal()
            }
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

/// A vault failure: the store's errors keep their meaning, anything else is logged and
/// answered as an internal error.
impl From<PrivacyError> for Problem {
    fn from(error: PrivacyError) -> Self {
        match error {
            PrivacyError::Store(e) => e.into(),
            PrivacyError::Database(e) => Self::database(&e),
            other => {
                tracing::error!(error = %other, "vault failure");
                Self::internal()
            }
        }
    }
}
