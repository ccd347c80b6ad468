//! Trainings over HTTP: creating one, reading one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pharos_access::{Action, Actor, Subject};
use pharos_decider::{Rejection, execute, load, sentence};
use pharos_events::DepartmentCode;
use pharos_events::training::{Topic, TrainingEvent};
use pharos_web::{Json, Path, Problem};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Training, stream};
use crate::{NAME, Trainings};

/// Une nouvelle formation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTraining {
    /// Intitulé de la formation.
    #[schema(example = "Méthode de la préoccupation partagée")]
    title: String,
    topic: Topic,
    /// Public visé.
    #[schema(example = "équipes ressources des collèges")]
    audience: String,
    /// Département de l'académie ; absent pour une formation académique.
    #[serde(default)]
    #[schema(example = "31")]
    department: Option<String>,
    /// Présentation libre de la formation.
    #[serde(default)]
    description: String,
    /// Référence dans la plateforme nationale de formation (GAIA).
    #[serde(default)]
    gaia_reference: Option<String>,
}

/// `POST /api/v1/trainings`
#[utoipa::path(operation_id = "trainings_training_create", post, path = "/api/v1/trainings", tag = "trainings",
    summary = "Créer une formation",
    request_body = NewTraining,
    responses(
        (status = 201, description = "Formation créée", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre (pôle ; référent pour son département)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (département hors académie, titre vide)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(trainings): State<Trainings>,
    actor: Actor,
    Json(input): Json<NewTraining>,
) -> Result<impl IntoResponse, Problem> {
    let department = match input.department.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(trainings.target.access.academy.department(d).map_err(|e| {
            Problem::from(Rejection::invalid(
                "invalid-department",
                "department",
                sentence(&e.0),
            ))
        })?),
    };
    actor.may(
        Action::ManageTrainings,
        department
            .as_ref()
            .map_or(Subject::Academy, Subject::Department),
    )?;
    let id = Uuid::now_v7();
    let created = TrainingEvent::TrainingCreated {
        title: input.title.trim().to_owned(),
        topic: input.topic,
        audience: input.audience.trim().to_owned(),
        department,
        description: input.description.trim().to_owned(),
        gaia_reference: input
            .gaia_reference
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty()),
    };
    let now = trainings.target.clock.now();
    let done = execute::<Training, Problem>(
        &trainings.target.app.store,
        &stream(id)?,
        &created,
        now,
        None,
        &actor.metadata(NAME),
    )
    .await?;
    trainings
        .index
        .update(|index| index.note_training(id, created, now));
    Ok((
        StatusCode::CREATED,
        axum::Json(pharos_web::Created {
            id,
            version: done.version,
        }),
    ))
}

/// Une formation, telle que l'API la montre.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrainingView {
    id: Uuid,
    /// Intitulé de la formation.
    title: String,
    topic: Topic,
    /// Public visé.
    audience: String,
    /// Département qui gère la formation ; absent pour une formation académique.
    #[schema(value_type = Option<String>, example = "31")]
    department: Option<DepartmentCode>,
    /// Présentation libre de la formation.
    description: String,
    /// Référence dans la plateforme nationale de formation (GAIA).
    gaia_reference: Option<String>,
    /// Version du flux de la formation.
    version: i64,
}

/// `GET /api/v1/trainings/{id}`: any signed-in user (the catalogue is public to staff).
#[utoipa::path(operation_id = "trainings_training_get", get, path = "/api/v1/trainings/{id}", tag = "trainings",
    summary = "Lire une formation",
    params(("id" = Uuid, Path, description = "Identifiant de la formation")),
    responses(
        (status = 200, description = "La formation", body = TrainingView),
        (status = 404, description = "Formation inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(trainings): State<Trainings>,
    _actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (training, version) = load::<Training>(&trainings.target.app.store, &stream(id)?).await?;
    let Some(TrainingEvent::TrainingCreated {
        title,
        topic,
        audience,
        department,
        description,
        gaia_reference,
    }) = training.created
    else {
        return Err(Problem::not_found());
    };
    Ok(axum::Json(TrainingView {
        id,
        title,
        topic,
        audience,
        department,
        description,
        gaia_reference,
        version,
    }))
}
