//! Trainings (category `training`): what is taught, to whom, by which department.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use pharos_access::{Action, Actor, Subject};
use pharos_decider::{Decider, execute, load};
use pharos_events::DepartmentCode;
use pharos_events::training::{TRAINING_CATEGORY, Topic, TrainingEvent};
use pharos_eventstore::StreamId;
use pharos_web::{Json, Path, Problem};
use pharos_decider::Rejection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{NAME, Trainings};

pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(TRAINING_CATEGORY, id)?)
}

#[derive(Debug, Clone, Default)]
pub struct Training {
    pub created: Option<TrainingEvent>,
}

impl Training {
    pub fn department(&self) -> Option<&DepartmentCode> {
        match &self.created {
            Some(TrainingEvent::TrainingCreated { department, .. }) => department.as_ref(),
            None => None,
        }
    }
}

#[derive(Debug)]
pub struct Catalogue;

impl Decider for Catalogue {
    type State = Training;
    type Command = TrainingEvent;
    type Event = TrainingEvent;

    fn evolve(mut state: Training, event: &TrainingEvent) -> Training {
        state.created = Some(event.clone());
        state
    }

    fn decide(
        command: &TrainingEvent,
        state: &Training,
        _now: DateTime<Utc>,
    ) -> Result<Vec<TrainingEvent>, Rejection> {
        if state.created.is_some() {
            return Err(Rejection::conflict(
                "training-exists",
                "Cette formation existe déjà.",
            ));
        }
        let TrainingEvent::TrainingCreated { title, .. } = command;
        if title.trim().is_empty() {
            return Err(Rejection::invalid(
                "title-required",
                "title",
                "Le titre de la formation est obligatoire.",
            ));
        }
        Ok(vec![command.clone()])
    }
}

/// A new training.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTraining {
    #[schema(example = "Méthode de la préoccupation partagée")]
    title: String,
    topic: Topic,
    /// Who it is for.
    #[schema(example = "équipes ressources des collèges")]
    audience: String,
    /// A department of the academy; absent for an academy-wide training.
    #[serde(default)]
    #[schema(example = "31")]
    department: Option<String>,
    #[serde(default)]
    description: String,
    /// Reference in the national training platform (GAIA).
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
            Problem::from(Rejection::invalid("invalid-department", "department", e.0))
        })?),
    };
    actor.may(
        Action::ManageTrainings,
        department
            .as_ref()
            .map_or(Subject::Academy, Subject::Department),
    )?;
    let id = Uuid::now_v7();
    let done = execute::<Catalogue, Problem>(
        &trainings.target.app.store,
        &stream(id)?,
        &TrainingEvent::TrainingCreated {
            title: input.title.trim().to_owned(),
            topic: input.topic,
            audience: input.audience.trim().to_owned(),
            department,
            description: input.description.trim().to_owned(),
            gaia_reference: input
                .gaia_reference
                .map(|g| g.trim().to_owned())
                .filter(|g| !g.is_empty()),
        },
        trainings.target.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(pharos_web::Created {
            id,
            version: done.version,
        }),
    ))
}

/// A training as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrainingView {
    id: Uuid,
    title: String,
    topic: Topic,
    audience: String,
    #[schema(value_type = Option<String>, example = "31")]
    department: Option<DepartmentCode>,
    description: String,
    gaia_reference: Option<String>,
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
    let (training, version) = load::<Catalogue>(&trainings.target.app.store, &stream(id)?).await?;
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
