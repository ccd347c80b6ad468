//! Requests on personal data (pole managers): right of access, erasure, read log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use pharos_access::{Action, Actor, Subject};
use pharos_decider::Rejection;
use pharos_events::Email;
use pharos_privacy::ReadLogEntry;
use pharos_web::{Json, Problem, Query};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Directory, NAME};

fn email(text: &str, field: &'static str) -> Result<Email, Problem> {
    Email::parse(text).map_err(|e| {
        Problem::from(Rejection::invalid(
            "invalid-email",
            field,
            crate::labels::sentence(&e.0),
        ))
    })
}

fn nobody() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "person-unknown",
        "Personne inconnue",
        "Aucune donnée personnelle n'est détenue pour cette adresse (jamais enregistrée, ou effacée).",
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByEmail {
    /// Adresse électronique de la personne.
    #[param(example = "prenom.nom@ac-toulouse.fr")]
    email: String,
}

/// Une lecture des données nominatives d'une personne.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoggedRead {
    read_at: DateTime<Utc>,
    /// Le compte qui a lu.
    actor_id: Option<String>,
    actor_role: Option<String>,
    /// La route de la lecture (`/api/v1/partners/{id}`...).
    route: String,
    /// Pourquoi : `account`, `orientation`, `right_of_access`...
    purpose: String,
}

impl From<ReadLogEntry> for LoggedRead {
    fn from(entry: ReadLogEntry) -> Self {
        // Destructured without `..`: a field added to the log must be decided on here.
        let ReadLogEntry {
            read_at,
            actor_id,
            actor_role,
            route,
            purpose,
        } = entry;
        Self {
            read_at,
            actor_id,
            actor_role,
            route,
            purpose,
        }
    }
}

// The shape of what the vault's export (`pharos_privacy::Vault::export`) builds. The
// handler answers the vault's JSON as it is (a field the vault adds must reach the
// person); debug builds check that it still has this shape.
/// Tout ce qui est détenu sur une personne, déchiffré (droit d'accès).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataExport {
    person: Uuid,
    email: String,
    /// Chaque champ personnel de la personne dans le journal, déchiffré.
    fields: Vec<ExportedField>,
    /// Qui a lu ses données, du plus ancien au plus récent.
    reads: Vec<LoggedRead>,
}

/// Un champ personnel du journal, déchiffré (« donnée effacée » une fois la personne
/// effacée).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportedField {
    /// Le flux de l'événement (`user-<uuid>`...).
    stream: String,
    event_type: String,
    recorded_at: DateTime<Utc>,
    /// Le chemin du champ dans l'événement (`email`, `contacts.0.phone`...).
    field: String,
    value: String,
}

/// `GET /api/v1/people/export?email=E`: everything held about the person, decrypted.
#[utoipa::path(operation_id = "directory_people_export", get, path = "/api/v1/people/export", tag = "directory",
    summary = "Exporter les données d'une personne (droit d'accès)",
    description = "Tout ce qui est détenu sur la personne, déchiffré : chaque champ personnel du journal, où et \
        quand il a été enregistré, et qui a lu ses données. L'export est lui-même une lecture consignée.",
    params(ByEmail),
    responses(
        (status = 200, description = "Les données de la personne", body = PersonalDataExport),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Aucune donnée détenue pour cette adresse (jamais enregistrée, ou effacée)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Adresse invalide", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn export(
    State(directory): State<Directory>,
    actor: Actor,
    Query(query): Query<ByEmail>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManagePersonalData, Subject::Academy)?;
    let email = email(&query.email, "email")?;
    let vault = &directory.target.vault;
    let Some(export) = vault
        .export(&directory.target.app.store, email.as_str())
        .await
        .map_err(Problem::from)?
    else {
        return Err(nobody());
    };
    debug_assert!(
        serde_json::from_value::<PersonalDataExport>(export.clone()).is_ok(),
        // No value in the message: it is personal data.
        "the vault's export no longer has the documented shape (PersonalDataExport)"
    );
    if let Some(person) = vault
        .find_person(email.as_str())
        .await
        .map_err(Problem::from)?
    {
        vault
            .log_read(
                &actor.metadata(NAME),
                person,
                "/api/v1/people/export",
                "right_of_access",
            )
            .await
            .map_err(Problem::from)?;
    }
    Ok(axum::Json(export))
}

/// Demande d'effacement.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Erasure {
    #[schema(example = "prenom.nom@ac-toulouse.fr")]
    email: String,
    /// Motif, obligatoire : il est consigné.
    reason: String,
}

/// La personne effacée.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Erased {
    person: Uuid,
    erased: bool,
}

/// `POST /api/v1/people/erase`: the person's key is destroyed; every field sealed with
/// it reads « donnée effacée » from now on, and their account stops working.
#[utoipa::path(operation_id = "directory_people_erase", post, path = "/api/v1/people/erase", tag = "directory",
    summary = "Effacer les données d'une personne",
    description = "La clé de la personne est détruite : chacun de ses champs personnels se lit désormais \
        « donnée effacée », et son compte cesse de fonctionner. Irréversible ; le motif est consigné.",
    request_body = Erasure,
    responses(
        (status = 200, description = "Personne effacée", body = Erased),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Aucune donnée détenue pour cette adresse (jamais enregistrée, ou déjà effacée)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Effacement de ses propres données (`self-erasure`)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Adresse invalide, ou motif manquant", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn erase(
    State(directory): State<Directory>,
    actor: Actor,
    Json(input): Json<Erasure>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManagePersonalData, Subject::Academy)?;
    let email = email(&input.email, "email")?;
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(Problem::from(Rejection::invalid(
            "reason-required",
            "reason",
            "Indiquez le motif de l'effacement : il est consigné.",
        )));
    }
    let vault = &directory.target.vault;
    let Some(person) = vault
        .find_person(email.as_str())
        .await
        .map_err(Problem::from)?
    else {
        return Err(nobody());
    };
    // An account's id is its vault person: erasing oneself would lock the pole's last
    // manager out halfway through a request; another manager does it.
    if person.0 == actor.user_id {
        return Err(Problem::from(Rejection::conflict(
            "self-erasure",
            "Vous ne pouvez pas effacer vos propres données : demandez-le à un autre membre du \
             pôle académique.",
        )));
    }
    let recorded = vault
        .erase(
            &directory.target.app.store,
            person,
            reason,
            &actor.metadata(NAME),
        )
        .await
        .map_err(Problem::from)?;
    if let Some(appended) = recorded {
        directory.settle(appended.position).await;
    }
    Ok(axum::Json(Erased {
        person: person.0,
        erased: true,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByPerson {
    /// Adresse électronique de la personne.
    #[param(example = "prenom.nom@ac-toulouse.fr")]
    person: String,
}

/// Qui a lu les données d'une personne.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadLog {
    person: Uuid,
    /// Du plus ancien au plus récent.
    reads: Vec<LoggedRead>,
}

/// `GET /api/v1/read-log?person=E`: who read that person's data, when, and how.
#[utoipa::path(operation_id = "directory_people_read_log", get, path = "/api/v1/read-log", tag = "directory",
    summary = "Journal des lectures des données d'une personne",
    description = "Qui a lu les données nominatives de la personne, quand, par quelle route et pourquoi.",
    params(ByPerson),
    responses(
        (status = 200, description = "Les lectures", body = ReadLog),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Aucune donnée détenue pour cette adresse (jamais enregistrée, ou effacée)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Adresse invalide", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn read_log(
    State(directory): State<Directory>,
    actor: Actor,
    Query(query): Query<ByPerson>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManagePersonalData, Subject::Academy)?;
    let email = email(&query.person, "person")?;
    let vault = &directory.target.vault;
    let Some(person) = vault
        .find_person(email.as_str())
        .await
        .map_err(Problem::from)?
    else {
        return Err(nobody());
    };
    let reads = vault.reads_of(person).await.map_err(Problem::from)?;
    Ok(axum::Json(ReadLog {
        person: person.0,
        reads: reads.into_iter().map(LoggedRead::from).collect(),
    }))
}

/// Applies the retention rules every hour while this process holds the purge lease.
pub(crate) async fn purge_job(
    store: pharos_eventstore::EventStore,
    vault: std::sync::Arc<pharos_privacy::Vault>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
    let job = pharos_eventstore::Metadata {
        actor_id: Some("retention-job".into()),
        source_target: Some("directory".into()),
        ..pharos_eventstore::Metadata::default()
    };
    while !shutdown.is_cancelled() {
        let lease = match store.lease("privacy-purge", &shutdown).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "purge lease unavailable; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(10)) => continue,
                }
            }
        };
        while lease.is_held() {
            match vault.purge(&store, chrono::Utc::now(), &job).await {
                Ok(purged) if !purged.is_empty() => {
                    tracing::info!(count = purged.len(), "retention purge erased people");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention purge failed; next run retries"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = lease.lost() => {}
                () = tokio::time::sleep(EVERY) => {}
            }
        }
    }
}
