//! Session commands over HTTP: planning, lifecycle, registrations, attendance.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, FixedOffset};
use pharos_access::{Action, Actor, Denied, IfMatch, SchoolRef, Subject};
use pharos_decider::{
    Decider, Executed, Rejection, execute, execute_attached, execute_linked, execute_with, load,
    sentence,
};
use pharos_events::training::{
    AttendanceStatus, Registrant, RegistrationMode, Schedule, SessionEvent, Slot, Topic,
};
use pharos_events::{DepartmentCode, Email, Role, Uai};
use pharos_eventstore::Companions;
use pharos_privacy::{PersonId, Personal};
use pharos_web::{Json, Path, Problem};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::decider::{self, Plan, PlanInput, Session, SessionCommand, SessionState, stream};
use crate::schedule::{Schedule as PersonSchedule, ScheduleCommand, ScheduleState, Span};
use crate::training::{self, Training};
use crate::{NAME, Trainings};

/// Un créneau (une demi-journée ou moins) : les présences se saisissent par créneau.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SlotInput {
    /// Début du créneau.
    starts_at: DateTime<FixedOffset>,
    /// Fin du créneau.
    ends_at: DateTime<FixedOffset>,
}

/// Quand la session a lieu : son début, sa fin et ses créneaux, dans l'ordre.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ScheduleInput {
    /// Début de la session.
    starts_at: DateTime<FixedOffset>,
    /// Fin de la session, après son début.
    ends_at: DateTime<FixedOffset>,
    /// Au moins un créneau, entre le début et la fin, sans chevauchement.
    #[serde(default)]
    slots: Vec<SlotInput>,
}

impl ScheduleInput {
    fn schedule(&self) -> Schedule {
        Schedule {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            slots: self
                .slots
                .iter()
                .map(|s| Slot {
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                })
                .collect(),
        }
    }
}

/// Une nouvelle session d'une formation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewSession {
    #[serde(flatten)]
    schedule: ScheduleInput,
    /// Lieu de la session ; il faut un lieu ou un lien de classe virtuelle.
    #[serde(default)]
    location: Option<String>,
    /// Lien de classe virtuelle, en https://.
    #[serde(default)]
    remote_url: Option<String>,
    /// Nombre de places (au moins une) ; au-delà, les inscriptions vont en liste d'attente.
    capacity: i64,
    /// Durée de formation prévue, en minutes.
    planned_minutes: i64,
    /// Comptes (rôle `trainer`) qui saisissent les présences.
    #[serde(default)]
    trainers: Vec<Uuid>,
    /// Département où se tient la session : par défaut celui de la formation. Une
    /// formation académique peut avoir une session dans chaque département.
    #[serde(default)]
    #[schema(example = "31")]
    department: Option<String>,
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `POST /api/v1/trainings/{id}/sessions`
#[utoipa::path(operation_id = "trainings_session_plan", post, path = "/api/v1/trainings/{id}/sessions", tag = "trainings",
    summary = "Programmer une session d'une formation",
    request_body = NewSession,
    params(("id" = Uuid, Path, description = "Identifiant de la formation")),
    responses(
        (status = 201, description = "Session programmée", body = pharos_web::Created),
        (status = 404, description = "Formation inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn plan(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(training_id): Path<Uuid>,
    Json(input): Json<NewSession>,
) -> Result<impl IntoResponse, Problem> {
    let plan = plan_input(&trainings, &actor, training_id, input).await?;
    let id = Uuid::now_v7();
    let done = execute::<Session, Problem>(
        &trainings.target.app.store,
        &stream(id)?,
        &SessionCommand::Plan(plan),
        trainings.target.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    trainings.note(id, done.version, &done.events);
    Ok((
        StatusCode::CREATED,
        axum::Json(pharos_web::Created {
            id,
            version: done.version,
        }),
    ))
}

/// The planning `input` asks for a session of `training_id`: the training exists (else
/// 404), the session is held in its department (by default) or, for an academy-wide
/// training, in the one asked, and the actor manages sessions there (else 403).
async fn plan_input(
    trainings: &Trainings,
    actor: &Actor,
    training_id: Uuid,
    input: NewSession,
) -> Result<PlanInput, Problem> {
    let store = &trainings.target.app.store;
    let (training, _) = load::<Training>(store, &training::stream(training_id)?).await?;
    if training.created.is_none() {
        return Err(Problem::not_found());
    }
    let asked = match input.department.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(trainings.target.access.academy.department(d).map_err(|e| {
            Problem::from(Rejection::invalid(
                "invalid-department",
                "department",
                sentence(&e.0),
            ))
        })?),
    };
    let department = match (training.department(), asked) {
        (Some(own), Some(asked)) if *own != asked => {
            return Err(Rejection::invalid(
                "session-outside-training-department",
                "department",
                format!(
                    "Cette formation est celle du département {own} : ses sessions s'y tiennent. Pour une session dans le département {asked}, programmez-la sur une formation académique."
                ),
            )
            .into());
        }
        (Some(own), _) => Some(own.clone()),
        (None, asked) => asked,
    };
    actor.may(
        Action::ManageTrainings,
        Subject::Session {
            department: department.as_ref(),
            trainers: &[],
        },
    )?;
    let remote_url = trimmed(input.remote_url);
    if remote_url
        .as_deref()
        .is_some_and(|u| !u.starts_with("https://"))
    {
        return Err(Rejection::invalid(
            "invalid-remote-url",
            "remote_url",
            "Le lien de classe virtuelle doit commencer par « https:// ».",
        )
        .into());
    }
    check_trainers(trainings, &input.trainers).await?;
    Ok(PlanInput {
        training_id,
        department,
        schedule: input.schedule.schedule(),
        location: trimmed(input.location),
        remote_url,
        capacity: input.capacity,
        planned_minutes: input.planned_minutes,
        trainers: input.trainers,
    })
}

/// Un inscrit d'une session passée et ses présences.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PastRegistrantInput {
    person: PersonInput,
    mode: RegistrationMode,
    /// Ses présences, par créneau (les créneaux non cités restent à saisir).
    #[serde(default)]
    attendance: Vec<PastAttendance>,
}

/// La présence d'un inscrit à un créneau d'une session passée.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PastAttendance {
    /// Le créneau, numéroté à partir de 0.
    slot_index: usize,
    status: AttendanceStatus,
    /// Minutes de présence : par défaut tout le créneau pour une présence, aucune pour
    /// une absence ; jamais plus que le créneau.
    #[serde(default)]
    minutes: Option<i64>,
}

/// Une session déjà tenue, enregistrée après coup avec ses inscrits et leurs présences.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PastSession {
    #[serde(flatten)]
    session: NewSession,
    /// Les personnes qui étaient inscrites (toutes confirmées).
    #[serde(default)]
    registrants: Vec<PastRegistrantInput>,
}

/// `POST /api/v1/trainings/{id}/sessions/past`: a session over, with its registrants
/// and attendance, marked `recorded_after_the_fact`, its attendance locked (it is
/// history: a later change is an audited correction); nobody registers to it any more.
#[utoipa::path(operation_id = "trainings_session_record_past", post, path = "/api/v1/trainings/{id}/sessions/past", tag = "trainings",
    summary = "Enregistrer après coup une session passée, ses inscrits et leurs présences",
    request_body = PastSession,
    params(("id" = Uuid, Path, description = "Identifiant de la formation")),
    responses(
        (status = 201, description = "Session enregistrée, présences verrouillées (toute modification ultérieure passe par une correction motivée)", body = pharos_web::Created),
        (status = 404, description = "Formation inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Session pas encore terminée, inscrit en double, présence invalide", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn record_past(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(training_id): Path<Uuid>,
    Json(input): Json<PastSession>,
) -> Result<impl IntoResponse, Problem> {
    let plan = plan_input(&trainings, &actor, training_id, input.session).await?;
    let mut people = Vec::with_capacity(input.registrants.len());
    for past in input.registrants {
        let (person, _) = parsed(&trainings, &actor, past.person).await?;
        people.push((person, past.mode, past.attendance));
    }
    // Decided first on stand-ins (one per address, whatever its case): a refused record
    // asks nothing of the vault, and an address given twice is refused here, before two
    // new people would be made for it (the second's key could not be stored).
    let now = trainings.target.clock.now();
    let past =
        |registrant: Registrant, mode, attendance: &[PastAttendance]| decider::PastRegistrant {
            registration_id: Uuid::now_v7(),
            registrant,
            mode,
            attendance: attendance
                .iter()
                .map(|a| (a.slot_index, a.status, a.minutes))
                .collect(),
        };
    let stand_ins = people
        .iter()
        .map(|(person, mode, attendance)| {
            let id = PersonId(Uuid::new_v5(
                &Uuid::NAMESPACE_URL,
                person.email.as_str().to_lowercase().as_bytes(),
            ));
            let nothing = pharos_privacy::Sealed {
                person: id,
                sealed: String::new(),
            };
            let registrant = Registrant {
                person: id,
                display_name: nothing.clone(),
                email: nothing,
                school_uai: person.school_uai.clone(),
                function: person.function.clone(),
            };
            past(registrant, *mode, attendance)
        })
        .collect();
    <Session as pharos_decider::Decider>::decide(
        &SessionCommand::RecordPast {
            plan: plan.clone(),
            registrants: stand_ins,
        },
        &SessionState::default(),
        now,
    )?;
    let id = Uuid::now_v7();
    let mut registrants = Vec::with_capacity(people.len());
    // New people and holds, stored in the record's commit.
    let mut companions = Vec::new();
    for (person, mode, attendance) in people {
        let (registrant, new) = sealed(&trainings, &person).await?;
        // The registration's activity is the session's, however late it is recorded.
        let starts_at = plan.schedule.starts_at.with_timezone(&chrono::Utc);
        companions.extend(new);
        companions.push(registrant_hold(
            &trainings,
            registrant.person,
            id,
            starts_at,
        )?);
        registrants.push(past(registrant, mode, &attendance));
    }
    let command = SessionCommand::RecordPast { plan, registrants };
    let done = execute_attached::<Session, Problem>(
        &trainings.target.app.store,
        &stream(id)?,
        now,
        None,
        &actor.metadata(NAME),
        |_| Ok((Cow::Borrowed(&command), companions.clone())),
    )
    .await?;
    trainings.note(id, done.version, &done.events);
    Ok((
        StatusCode::CREATED,
        axum::Json(pharos_web::Created {
            id,
            version: done.version,
        }),
    ))
}

/// Every account of `trainers` is an active trainer.
async fn check_trainers(trainings: &Trainings, trainers: &[Uuid]) -> Result<(), Problem> {
    for (i, trainer) in trainers.iter().enumerate() {
        match trainings.target.access.reference.user(*trainer).await? {
            Some(u) if u.holds(Role::Trainer) && u.active() => {}
            _ => {
                return Err(Problem::from(Rejection::invalid(
                    "unknown-trainer",
                    "trainers",
                    format!(
                        "Le {} compte de la liste n'est pas un compte actif de formateur ou formatrice.",
                        ordinal(i + 1)
                    ),
                )));
            }
        }
    }
    Ok(())
}

/// A rank in French, abbreviated: « 1er », « 2e ».
fn ordinal(rank: usize) -> String {
    match rank {
        1 => "1er".to_owned(),
        n => format!("{n}e"),
    }
}

/// The session, or 404.
async fn existing(trainings: &Trainings, id: Uuid) -> Result<(SessionState, Plan), Problem> {
    let (session, _) = load::<Session>(&trainings.target.app.store, &stream(id)?).await?;
    let plan = session.plan.clone().ok_or_else(Problem::not_found)?;
    Ok((session, plan))
}

/// The session as a subject for its managers (pole, referent of its department).
fn managing(plan: &Plan) -> Subject<'_> {
    Subject::Session {
        department: plan.department.as_ref(),
        trainers: &[],
    }
}

/// The session as a subject for those who give it: its managers and its trainers.
fn given_by(plan: &Plan) -> Subject<'_> {
    Subject::Session {
        department: plan.department.as_ref(),
        trainers: &plan.trainers,
    }
}

/// Runs the command `check` makes from the session as loaded (404 when there is none,
/// 403 when the actor may not), then writes the new events through to the index.
async fn run(
    trainings: &Trainings,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
    mut check: impl FnMut(&SessionState, &Plan) -> Result<SessionCommand, Problem>,
) -> Result<Executed<SessionEvent>, Problem> {
    run_attached(trainings, actor, id, if_match, |session, plan| {
        Ok((check(session, plan)?, Vec::new()))
    })
    .await
}

/// [`run`], the command coming with the companions its events need in their commit.
async fn run_attached(
    trainings: &Trainings,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
    mut check: impl FnMut(&SessionState, &Plan) -> Result<(SessionCommand, Companions), Problem>,
) -> Result<Executed<SessionEvent>, Problem> {
    let done = execute_attached::<Session, Problem>(
        &trainings.target.app.store,
        &stream(id)?,
        trainings.target.clock.now(),
        if_match,
        &actor.metadata(NAME),
        |session| {
            let plan = session.plan.as_ref().ok_or_else(Problem::not_found)?;
            let (command, companions) = check(session, plan)?;
            Ok((Cow::Owned(command), companions))
        },
    )
    .await?;
    if done.appended.is_some() {
        trainings.note(id, done.version, &done.events);
    }
    Ok(done)
}

async fn step(
    trainings: Trainings,
    actor: Actor,
    id: Uuid,
    command: SessionCommand,
    if_match: IfMatch,
) -> Result<axum::Json<pharos_web::Versioned>, Problem> {
    let done = run(&trainings, &actor, id, if_match.0, |_, plan| {
        actor.may(Action::ManageTrainings, managing(plan))?;
        Ok(command.clone())
    })
    .await?;
    Ok(axum::Json(pharos_web::Versioned {
        version: done.version,
    }))
}

/// `POST /api/v1/sessions/{id}/open`
#[utoipa::path(operation_id = "trainings_session_open", post, path = "/api/v1/sessions/{id}/open", tag = "trainings",
    summary = "Ouvrir les inscriptions",
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn open(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    step(trainings, actor, id, SessionCommand::Open, if_match).await
}

/// `POST /api/v1/sessions/{id}/close`
#[utoipa::path(operation_id = "trainings_session_close", post, path = "/api/v1/sessions/{id}/close", tag = "trainings",
    summary = "Clore les inscriptions",
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn close(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    step(trainings, actor, id, SessionCommand::Close, if_match).await
}

/// `POST /api/v1/sessions/{id}/hold`
#[utoipa::path(operation_id = "trainings_session_hold", post, path = "/api/v1/sessions/{id}/hold", tag = "trainings",
    summary = "Déclarer la session tenue",
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn hold(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    step(trainings, actor, id, SessionCommand::Hold, if_match).await
}

/// `POST /api/v1/sessions/{id}/lock-attendance`
#[utoipa::path(operation_id = "trainings_session_lock_attendance", post, path = "/api/v1/sessions/{id}/lock-attendance", tag = "trainings",
    summary = "Verrouiller les présences (session terminée)",
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn lock_attendance(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    step(
        trainings,
        actor,
        id,
        SessionCommand::LockAttendance,
        if_match,
    )
    .await
}

/// `POST /api/v1/sessions/{id}/archive`
#[utoipa::path(operation_id = "trainings_session_archive", post, path = "/api/v1/sessions/{id}/archive", tag = "trainings",
    summary = "Archiver la session",
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn archive(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    step(trainings, actor, id, SessionCommand::Archive, if_match).await
}

/// L'annulation d'une session.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Cancellation {
    /// Motif de l'annulation, communiqué aux inscrits.
    reason: String,
}

/// `POST /api/v1/sessions/{id}/cancel`
#[utoipa::path(operation_id = "trainings_session_cancel", post, path = "/api/v1/sessions/{id}/cancel", tag = "trainings",
    summary = "Annuler la session (motif communiqué aux inscrits)",
    request_body = Cancellation,
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn cancel(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<Cancellation>,
) -> Result<impl IntoResponse, Problem> {
    let done = run(&trainings, &actor, id, if_match.0, |_, plan| {
        actor.may(Action::ManageTrainings, managing(plan))?;
        Ok(SessionCommand::Cancel {
            reason: input.reason.clone(),
        })
    })
    .await?;
    Ok(axum::Json(pharos_web::Versioned {
        version: done.version,
    }))
}

/// `POST /api/v1/sessions/{id}/reschedule`
#[utoipa::path(operation_id = "trainings_session_reschedule", post, path = "/api/v1/sessions/{id}/reschedule", tag = "trainings",
    summary = "Reprogrammer la session",
    request_body = ScheduleInput,
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn reschedule(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<ScheduleInput>,
) -> Result<impl IntoResponse, Problem> {
    let schedule = input.schedule();
    let mut moved = Vec::new();
    let done = run(&trainings, &actor, id, if_match.0, |session, plan| {
        actor.may(Action::ManageTrainings, managing(plan))?;
        // Nobody confirmed here may end up in two sessions at once.
        let confirmed: Vec<PersonId> = session
            .registrations
            .iter()
            .filter(|r| r.status == decider::RegistrationStatus::Confirmed)
            .map(|r| r.registrant.person)
            .collect();
        let clashing = trainings.index.read(|index| {
            confirmed
                .iter()
                .filter(|person| !index.overlapping(**person, &schedule, id).is_empty())
                .count()
        });
        if clashing > 0 {
            return Err(Problem::from(Rejection::conflict(
                "reschedule-overlaps",
                format!(
                    "À ces horaires, {} de cette session {} déjà une place confirmée dans une autre session : retirez {} de l'une des deux, ou choisissez d'autres horaires.",
                    if clashing == 1 { "une personne inscrite".to_owned() } else { format!("{clashing} personnes inscrites") },
                    if clashing == 1 { "a" } else { "ont" },
                    if clashing == 1 { "son inscription" } else { "leurs inscriptions" },
                ),
            )));
        }
        moved = confirmed;
        Ok(SessionCommand::Reschedule(schedule.clone()))
    })
    .await?;
    if done.appended.is_some() {
        // Each confirmed person's time moves with the session; a place taken elsewhere
        // in the meantime by another process (a narrow race) is logged for the managers.
        for person in moved {
            if let Err(problem) = claim(&trainings, &actor, person, id, &schedule).await {
                tracing::warn!(session = %id, ?problem, "rescheduled without moving a claimed time span");
            }
        }
    }
    Ok(axum::Json(pharos_web::Versioned {
        version: done.version,
    }))
}

/// Le nouveau nombre de places d'une session.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CapacityInput {
    /// Nombre de places (au moins une, jamais moins que les inscriptions confirmées).
    #[schema(example = 30)]
    capacity: i64,
}

/// `200` après un changement de capacité.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CapacityChanged {
    /// Nouvelle version de la session.
    version: i64,
    /// Les inscriptions en attente qui ont obtenu une place, dans l'ordre de la liste.
    promoted: Vec<Uuid>,
}

/// `PUT /api/v1/sessions/{id}/capacity`: raising it promotes the waitlist in order.
#[utoipa::path(operation_id = "trainings_session_change_capacity", put, path = "/api/v1/sessions/{id}/capacity", tag = "trainings",
    summary = "Changer la capacité d'une session (la liste d'attente avance si elle augmente)",
    request_body = CapacityInput,
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Capacité enregistrée ; inscriptions promues", body = CapacityChanged),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Moins de places que d'inscriptions confirmées, ou session commencée", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn change_capacity(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<CapacityInput>,
) -> Result<impl IntoResponse, Problem> {
    let done = run(&trainings, &actor, id, if_match.0, |session, plan| {
        actor.may(Action::ManageTrainings, managing(plan))?;
        Ok(SessionCommand::ChangeCapacity {
            capacity: input.capacity,
            busy: busy(&trainings, id, session, plan),
        })
    })
    .await?;
    let promoted = done
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::RegistrationPromoted { registration_id } => Some(*registration_id),
            _ => None,
        })
        .collect::<Vec<_>>();
    claim_promoted(&trainings, &actor, id, &promoted).await;
    Ok(axum::Json(CapacityChanged {
        version: done.version,
        promoted,
    }))
}

/// Les formateurs d'une session.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TrainersInput {
    /// Comptes (rôle `trainer`, actifs) qui donnent la session et saisissent ses
    /// présences ; la liste remplace la précédente.
    trainers: Vec<Uuid>,
}

/// `PUT /api/v1/sessions/{id}/trainers`
#[utoipa::path(operation_id = "trainings_session_change_trainers", put, path = "/api/v1/sessions/{id}/trainers", tag = "trainings",
    summary = "Changer les formateurs d'une session",
    request_body = TrainersInput,
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Compte qui n'est pas un formateur actif, ou cité deux fois", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn change_trainers(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<TrainersInput>,
) -> Result<impl IntoResponse, Problem> {
    // Authorised before the accounts are looked up, and again on the session as decided.
    let (_, plan) = existing(&trainings, id).await?;
    actor.may(Action::ManageTrainings, managing(&plan))?;
    check_trainers(&trainings, &input.trainers).await?;
    let done = run(&trainings, &actor, id, if_match.0, |_, plan| {
        actor.may(Action::ManageTrainings, managing(plan))?;
        Ok(SessionCommand::ChangeTrainers {
            trainers: input.trainers.clone(),
        })
    })
    .await?;
    Ok(axum::Json(pharos_web::Versioned {
        version: done.version,
    }))
}

/// La personne à inscrire.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PersonInput {
    /// Adresse électronique : une personne est la même quelle que soit la casse.
    #[schema(example = "prenom.nom@ac-toulouse.fr")]
    email: String,
    /// Nom affiché.
    display_name: String,
    /// UAI de son établissement ; pour un compte d'établissement, le sien par défaut.
    #[serde(default)]
    #[schema(example = "0310001H")]
    school_uai: Option<String>,
    /// Sa fonction.
    #[schema(example = "CPE")]
    function: String,
}

/// Une inscription à une session.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewRegistration {
    person: PersonInput,
    mode: RegistrationMode,
}

/// `201` après une inscription.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrationCreated {
    /// Identifiant de l'inscription.
    id: Uuid,
    /// `confirmed` ou `waitlisted`.
    status: RegistrationStatus,
    /// Nouvelle version de la session.
    version: i64,
    /// Avertissements, en français, qui n'empêchent pas l'inscription : par exemple une
    /// personne qui a déjà suivi une formation sur le même thème. Vide sinon.
    warnings: Vec<String>,
}

/// `200` après un retrait.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Withdrawn {
    /// Nouvelle version de la session.
    version: i64,
    /// Les inscriptions en attente qui ont obtenu une place, dans l'ordre de la liste :
    /// aucune, ou la première en attente quand le retrait libère une place confirmée
    /// (comme après un changement de capacité).
    promoted: Vec<Uuid>,
}

/// Où en est une session : `planned` (programmée), `open` (ouverte aux inscriptions),
/// `closed` (inscriptions closes), `held` (tenue), `attendance_locked` (présences
/// verrouillées), `archived` (archivée) ou `cancelled` (annulée).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Planned,
    Open,
    Closed,
    Held,
    AttendanceLocked,
    Archived,
    Cancelled,
}

impl From<decider::Status> for SessionStatus {
    fn from(status: decider::Status) -> Self {
        use decider::Status as S;
        match status {
            S::Planned => Self::Planned,
            S::Open => Self::Open,
            S::Closed => Self::Closed,
            S::Held => Self::Held,
            S::AttendanceLocked => Self::AttendanceLocked,
            S::Archived => Self::Archived,
            S::Cancelled => Self::Cancelled,
        }
    }
}

/// Où en est une inscription : `confirmed` (place obtenue), `waitlisted` (en liste
/// d'attente) ou `withdrawn` (retirée).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    Confirmed,
    Waitlisted,
    Withdrawn,
}

impl From<decider::RegistrationStatus> for RegistrationStatus {
    fn from(status: decider::RegistrationStatus) -> Self {
        use decider::RegistrationStatus as R;
        match status {
            R::Confirmed => Self::Confirmed,
            R::Waitlisted => Self::Waitlisted,
            R::Withdrawn => Self::Withdrawn,
        }
    }
}

/// Un créneau de la session : les présences se saisissent par créneau.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Slot)]
pub struct SlotView {
    /// Début du créneau.
    starts_at: DateTime<FixedOffset>,
    /// Fin du créneau.
    ends_at: DateTime<FixedOffset>,
}

impl From<&Slot> for SlotView {
    fn from(slot: &Slot) -> Self {
        Self {
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
        }
    }
}

/// Une session et ses inscriptions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    id: Uuid,
    /// La formation dont c'est une session.
    training_id: Uuid,
    /// Département qui gère la session ; absent pour une session académique.
    #[schema(value_type = Option<String>, example = "31")]
    department: Option<DepartmentCode>,
    /// Début de la session.
    starts_at: DateTime<FixedOffset>,
    /// Fin de la session.
    ends_at: DateTime<FixedOffset>,
    /// Ses créneaux, dans l'ordre (numérotés à partir de 0).
    slots: Vec<SlotView>,
    /// Lieu de la session.
    location: Option<String>,
    /// Lien de classe virtuelle.
    remote_url: Option<String>,
    /// Nombre de places.
    capacity: u32,
    /// Durée de formation prévue, en minutes.
    planned_minutes: u32,
    /// Comptes qui saisissent les présences.
    trainers: Vec<Uuid>,
    status: SessionStatus,
    /// Motif de l'annulation, si la session est annulée.
    cancel_reason: Option<String>,
    /// Enregistrée après coup (session passée), et non programmée à l'avance.
    recorded_after_the_fact: bool,
    /// Nombre d'inscriptions confirmées.
    confirmed: usize,
    /// Nombre d'inscriptions en liste d'attente.
    waitlisted: usize,
    /// Les inscriptions, dans l'ordre où elles ont été enregistrées (un établissement ne
    /// voit que les siennes).
    registrations: Vec<RegistrationView>,
    /// Version du flux de la session.
    version: i64,
}

/// May `actor` register (or withdraw) someone of `school` to this session? Pole
/// managers everywhere; a department referent for sessions of their department or
/// people of its schools; a school for its own people. A refusal names the schools it
/// cites (`school` and `own`, the actor's: see `own_schools`) rather than their UAI only.
fn may_register(
    actor: &Actor,
    department: Option<&DepartmentCode>,
    school: Option<&SchoolRef>,
    own: &[SchoolRef],
) -> Result<(), Problem> {
    let session = Subject::Session {
        department,
        trainers: &[],
    };
    let named = |Denied(text): Denied| {
        Problem::from(Denied(named_schools(text, school.into_iter().chain(own))))
    };
    let Err(denied) = actor.may(Action::RegisterToTraining, session) else {
        return Ok(());
    };
    let Some(school) = school else {
        return Err(named(denied));
    };
    actor
        .may(
            Action::RegisterToTraining,
            Subject::School {
                uai: &school.uai,
                department: &school.department,
            },
        )
        .map_err(named)
}

/// `text` with « l'établissement 0310001H » of each of `schools` said with its name:
/// « l'établissement Collège Jean Jaurès (0310001H) ».
fn named_schools<'a>(mut text: String, schools: impl Iterator<Item = &'a SchoolRef>) -> String {
    for school in schools {
        let (uai, name, department) = (&school.uai, &school.name, &school.department);
        text = text
            .replace(
                &format!("l'établissement {uai} (département {department})"),
                &format!("l'établissement {name} ({uai}, département {department})"),
            )
            .replace(
                &format!("l'établissement {uai}"),
                &format!("l'établissement {name} ({uai})"),
            );
    }
    text
}

/// The schools the actor acts for, as the reference knows them (to name them).
async fn own_schools(trainings: &Trainings, actor: &Actor) -> Result<Vec<SchoolRef>, Problem> {
    let mut schools = Vec::new();
    for uai in schools_held(actor) {
        if let Some(school) = trainings.target.access.reference.school(uai).await? {
            schools.push(school);
        }
    }
    Ok(schools)
}

/// Whether the actor may register some people to some session, whatever its
/// department: a school (its own people), a department referent (the people of their
/// department's schools), the pole.
fn registers_somewhere(actor: &Actor) -> bool {
    actor.held().any(|(role, scope)| match scope {
        pharos_access::Scope::Academy => actor
            .may(Action::RegisterToTraining, Subject::Academy)
            .is_ok(),
        pharos_access::Scope::Department(d) => actor
            .may(Action::RegisterToTraining, Subject::Department(d))
            .is_ok(),
        pharos_access::Scope::School(_) => role == Role::School,
        _ => false,
    })
}

/// A person to register, checked: who they are and their school, if any.
struct Parsed {
    email: Email,
    display_name: String,
    function: String,
    school_uai: Option<Uai>,
}

/// Checks `person` (a school's own people by default) and finds their school.
async fn parsed(
    trainings: &Trainings,
    actor: &Actor,
    person: PersonInput,
) -> Result<(Parsed, Option<SchoolRef>), Problem> {
    let email = Email::parse(&person.email).map_err(|e| {
        Problem::from(Rejection::invalid(
            "invalid-email",
            "person.email",
            sentence(&e.0),
        ))
    })?;
    let display_name = person.display_name.trim().to_owned();
    if display_name.is_empty() {
        return Err(Problem::from(Rejection::invalid(
            "name-required",
            "person.display_name",
            "Le nom de la personne est obligatoire.",
        )));
    }
    let function = person.function.trim().to_owned();
    if function.is_empty() {
        return Err(Problem::from(Rejection::invalid(
            "function-required",
            "person.function",
            "La fonction de la personne est obligatoire (ex. CPE).",
        )));
    }
    let mut school_uai = match person.school_uai.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) => Some(Uai::parse(u).map_err(|e| {
            Problem::from(Rejection::invalid(
                "invalid-uai",
                "person.school_uai",
                sentence(&e.0),
            ))
        })?),
    };
    // A school registers its own people (an actor holding several schools says which).
    if school_uai.is_none() {
        let mut schools = schools_held(actor);
        if let (Some(own), None) = (schools.next(), schools.next()) {
            school_uai = Some(own.clone());
        }
    }
    let school = match &school_uai {
        Some(uai) => match trainings.target.access.reference.school(uai).await? {
            Some(s) if !s.closed => Some(s),
            Some(s) => {
                return Err(Problem::from(Rejection::invalid(
                    "school-unknown",
                    "person.school_uai",
                    format!("L'établissement {} ({uai}) est fermé.", s.name),
                )));
            }
            None => {
                return Err(Problem::from(Rejection::invalid(
                    "school-unknown",
                    "person.school_uai",
                    format!("L'établissement {uai} n'est pas enregistré."),
                )));
            }
        },
        None => None,
    };
    Ok((
        Parsed {
            email,
            display_name,
            function,
            school_uai,
        },
        school,
    ))
}

/// The registrant `person` is, their name and e-mail sealed in the vault; with the
/// companion storing their key, if they are new, in the first append naming them.
async fn sealed(
    trainings: &Trainings,
    person: &Parsed,
) -> Result<(Registrant, Companions), Problem> {
    let Parsed {
        email,
        display_name,
        function,
        school_uai,
    } = person;
    let vault = &trainings.target.vault;
    let (person, new) = vault
        .person_in_commit(email.as_str())
        .await
        .map_err(Problem::from)?;
    let mut sealed = vault
        .seal_all(&[(person, display_name.as_str()), (person, email.as_str())])
        .await
        .map_err(Problem::from)?
        .into_iter();
    let (Some(display_name), Some(email)) = (sealed.next(), sealed.next()) else {
        return Err(Problem::internal());
    };
    Ok((
        Registrant {
            person,
            display_name,
            email,
            school_uai: school_uai.clone(),
            function: function.clone(),
        },
        new,
    ))
}

/// The schools the actor acts for, by its primary role or its grants.
fn schools_held(actor: &Actor) -> impl Iterator<Item = &Uai> {
    actor.held().filter_map(|(role, scope)| match scope {
        pharos_access::Scope::School(uai) if role == Role::School => Some(uai),
        _ => None,
    })
}

/// Registration at session `id` holds `person`'s name and address until the
/// `session_registrant` retention runs out from `reference` (two school years on, by the
/// shipped rules): the directory's purge erases them then, unless something else (an
/// account, a later session) still holds them. Stored in the registration's commit.
fn registrant_hold(
    trainings: &Trainings,
    person: PersonId,
    id: Uuid,
    reference: chrono::DateTime<chrono::Utc>,
) -> Result<std::sync::Arc<dyn pharos_eventstore::Companion>, Problem> {
    trainings
        .target
        .vault
        .hold_in_commit(
            person,
            &format!("training_session-{id}"),
            "session_registrant",
            Some(reference),
        )
        .map_err(Problem::from)
}

/// Claims session `id`'s time in `person`'s schedule (`crate::schedule`) by a commit of
/// its own (a promotion, a reschedule), refused with `overlapping-session` when they hold
/// an overlapping place.
async fn claim(
    trainings: &Trainings,
    actor: &Actor,
    person: PersonId,
    id: Uuid,
    times: &Schedule,
) -> Result<(), Problem> {
    execute_with::<PersonSchedule, Problem>(
        &trainings.target.app.store,
        &crate::schedule::stream(person)?,
        trainings.target.clock.now(),
        None,
        &actor.metadata(NAME),
        |state| Ok(Cow::Owned(claim_of(trainings, state, id, times))),
    )
    .await?;
    Ok(())
}

/// The claim of session `id`'s time on a person's schedule as it stands.
fn claim_of(
    trainings: &Trainings,
    state: &ScheduleState,
    id: Uuid,
    times: &Schedule,
) -> ScheduleCommand {
    // Cancelled is final: a claim of a session the index knows cancelled blocks nothing
    // (one it has not seen cancelled yet blocks, on the safe side).
    let vacated = trainings.index.read(|index| {
        state
            .claimed
            .keys()
            .filter(|session| index.cancelled(**session))
            .copied()
            .collect()
    });
    ScheduleCommand::Claim {
        session_id: id,
        span: Span {
            starts_at: times.starts_at,
            ends_at: times.ends_at,
        },
        vacated,
    }
}

/// The waitlisted registrations of session `id` whose person holds an overlapping
/// confirmed place elsewhere (as this process's index knows): a promotion skips them.
fn busy(trainings: &Trainings, id: Uuid, session: &SessionState, plan: &Plan) -> Vec<Uuid> {
    trainings.index.read(|index| {
        session
            .registrations
            .iter()
            .filter(|r| r.status == decider::RegistrationStatus::Waitlisted)
            .filter(|r| {
                !index
                    .overlapping(r.registrant.person, &plan.schedule, id)
                    .is_empty()
            })
            .map(|r| r.id)
            .collect()
    })
}

/// Claims the time of the registrations promoted from the waitlist of session `id`.
/// Waiting people known to hold an overlapping place are skipped by the promotion
/// (`busy`); a place taken in another process between that reading and this claim (a
/// narrow race) leaves the promotion standing, and the overlap is logged for the
/// managers to settle.
async fn claim_promoted(trainings: &Trainings, actor: &Actor, id: Uuid, promoted: &[Uuid]) {
    if promoted.is_empty() {
        return;
    }
    let Ok((session, plan)) = existing(trainings, id).await else {
        return;
    };
    for registration in promoted.iter().filter_map(|r| session.registration(*r)) {
        let person = registration.registrant.person;
        if let Err(problem) = claim(trainings, actor, person, id, &plan.schedule).await {
            tracing::warn!(session = %id, registration = %registration.id, ?problem,
                "promoted from the waitlist without claiming the time span");
        }
    }
}

/// `POST /api/v1/sessions/{id}/registrations` → `{id, status: confirmed|waitlisted}`
#[utoipa::path(operation_id = "trainings_session_register", post, path = "/api/v1/sessions/{id}/registrations", tag = "trainings",
    summary = "Inscrire une personne (confirmée, ou en liste d'attente si complet)",
    request_body = NewRegistration,
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 201, description = "Inscription enregistrée, avec ses éventuels avertissements (personne déjà formée sur le même thème)", body = RegistrationCreated),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn register(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(input): Json<NewRegistration>,
) -> Result<impl IntoResponse, Problem> {
    let (person, school) = parsed(&trainings, &actor, input.person).await?;
    // Authorised before the person is registered in the vault (on the department the
    // index knows, fixed at planning), and again on the session as it is decided on.
    let department = match trainings.index.read(|index| index.department(id)) {
        Some(department) => department,
        None => existing(&trainings, id).await?.1.department,
    };
    let own = own_schools(&trainings, &actor).await?;
    may_register(&actor, department.as_ref(), school.as_ref(), &own)?;
    // A new person, registered meanwhile by another request (the same person, to another
    // session), is tried once more as the person they now are.
    let mut tried = false;
    loop {
        let placed = place(
            &trainings,
            &actor,
            id,
            &person,
            input.mode,
            school.as_ref(),
            &own,
        );
        match placed.await {
            Err(problem) if !tried && problem.type_uri.ends_with("/concurrent-change") => {
                tried = true;
            }
            placed => return placed,
        }
    }
}

/// Registers `person` at session `id`: the registration and, for a confirmed place, the
/// claim of their time on their schedule (`crate::schedule`) in one commit, with their
/// key (if new) and their hold.
async fn place(
    trainings: &Trainings,
    actor: &Actor,
    id: Uuid,
    person: &Parsed,
    mode: RegistrationMode,
    school: Option<&SchoolRef>,
    own: &[SchoolRef],
) -> Result<(StatusCode, axum::Json<RegistrationCreated>), Problem> {
    let registration_id = Uuid::now_v7();
    let (registrant, new_person) = sealed(trainings, person).await?;
    let person = registrant.person;
    let store = &trainings.target.app.store;
    let schedule_stream = crate::schedule::stream(person)?;
    if !new_person.is_empty() {
        crate::schedule::hold_new(store, &schedule_stream);
    }
    let (done, _) = execute_linked::<Session, PersonSchedule, Problem>(
        store,
        (&stream(id)?, &schedule_stream),
        &actor.metadata(NAME),
        |session, schedule| {
            let plan = session.plan.as_ref().ok_or_else(Problem::not_found)?;
            may_register(actor, plan.department.as_ref(), school, own)?;
            let now = trainings.target.clock.now();
            let register = SessionCommand::Register {
                registration_id,
                registrant: registrant.clone(),
                mode,
                overlapping: trainings
                    .index
                    .read(|index| index.overlapping(person, &plan.schedule, id)),
            };
            let events = Session::decide(&register, session, now)?;
            // A confirmed place holds the person's time; a waitlisted one does not.
            let claimed = match events.first() {
                Some(SessionEvent::RegistrationConfirmed { .. }) => PersonSchedule::decide(
                    &claim_of(trainings, schedule, id, &plan.schedule),
                    schedule,
                    now,
                )?,
                _ => Vec::new(),
            };
            // Held from the later of now and the session's start.
            let start = plan.schedule.starts_at.with_timezone(&chrono::Utc).max(now);
            let mut companions = new_person.clone();
            companions.push(registrant_hold(trainings, person, id, start)?);
            Ok((events, claimed, companions))
        },
    )
    .await?;
    if done.appended.is_some() {
        trainings.note(id, done.version, &done.events);
    }
    let status = match done.events.first() {
        Some(SessionEvent::RegistrationConfirmed { .. }) => RegistrationStatus::Confirmed,
        _ => RegistrationStatus::Waitlisted,
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(RegistrationCreated {
            id: registration_id,
            status,
            version: done.version,
            warnings: already_trained(trainings, person, id).into_iter().collect(),
        }),
    ))
}

/// The warning when `person` already attended a session on the topic of session `id`
/// (as this process's index knows): « Cette personne a déjà suivi une formation « … »
/// (le 05/11/2025). »
fn already_trained(trainings: &Trainings, person: PersonId, id: Uuid) -> Option<String> {
    let (topic, attended) = trainings.index.read(|index| {
        let topic = index.topic_of(id)?;
        Some((topic, index.attended(person, topic, id)))
    })?;
    if attended.is_empty() {
        return None;
    }
    let dates: Vec<String> = attended
        .iter()
        .map(|start| format!("le {}", start.format("%d/%m/%Y")))
        .collect();
    let dates = match dates.as_slice() {
        [one] => one.clone(),
        [rest @ .., last] => format!("{} et {last}", rest.join(", ")),
        [] => String::new(),
    };
    Some(format!(
        "Cette personne a déjà suivi une formation « {} » ({dates}).",
        topic_label(topic)
    ))
}

/// A training topic as the pole words it.
fn topic_label(topic: Topic) -> &'static str {
    match topic {
        Topic::EquipeRessource => "équipe ressource",
        Topic::Mpp => "méthode de la préoccupation partagée",
        Topic::Pilotes => "pilotes pHARe",
        Topic::Ambassadeurs => "élèves ambassadeurs",
        Topic::Parents => "parents",
        Topic::Referents => "référents",
        Topic::TousPersonnels => "tous personnels",
        Topic::Partenaires => "partenaires",
        Topic::EnLigne => "en ligne",
    }
}

/// The parameters of a registration's address, by name: a malformed one is named in
/// the problem.
#[derive(Debug, Deserialize)]
pub struct RegistrationPath {
    id: Uuid,
    rid: Uuid,
}

/// `POST /api/v1/sessions/{id}/registrations/{rid}/withdraw`: frees the place, which
/// goes to the first waiting registration.
#[utoipa::path(operation_id = "trainings_session_withdraw", post, path = "/api/v1/sessions/{id}/registrations/{rid}/withdraw", tag = "trainings",
    summary = "Retirer une inscription (la place va au premier en attente)",
    params(("id" = Uuid, Path, description = "Identifiant de la session"), ("rid" = Uuid, Path, description = "Identifiant de l'inscription")),
    responses(
        (status = 200, description = "Inscription retirée", body = Withdrawn),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(RegistrationPath {
        id,
        rid: registration_id,
    }): Path<RegistrationPath>,
) -> Result<impl IntoResponse, Problem> {
    let (session, plan) = existing(&trainings, id).await?;
    let school = session
        .registration(registration_id)
        .and_then(|r| r.registrant.school_uai.clone());
    let school = match &school {
        Some(uai) => trainings.target.access.reference.school(uai).await?,
        None => None,
    };
    let own = own_schools(&trainings, &actor).await?;
    may_register(&actor, plan.department.as_ref(), school.as_ref(), &own)?;
    let withdraw = |session: &SessionState, plan: &Plan| SessionCommand::Withdraw {
        registration_id,
        busy: busy(&trainings, id, session, plan),
    };
    let done = match session.registration(registration_id) {
        // The withdrawal and the release of the person's time in one commit: no freed
        // place stays claimed.
        Some(registration) => {
            let (done, _) = execute_linked::<Session, PersonSchedule, Problem>(
                &trainings.target.app.store,
                (
                    &stream(id)?,
                    &crate::schedule::stream(registration.registrant.person)?,
                ),
                &actor.metadata(NAME),
                |session, schedule| {
                    let plan = session.plan.as_ref().ok_or_else(Problem::not_found)?;
                    let now = trainings.target.clock.now();
                    let events = Session::decide(&withdraw(session, plan), session, now)?;
                    let released = if events
                        .iter()
                        .any(|e| matches!(e, SessionEvent::RegistrationWithdrawn { .. }))
                    {
                        PersonSchedule::decide(
                            &ScheduleCommand::Release { session_id: id },
                            schedule,
                            now,
                        )?
                    } else {
                        Vec::new()
                    };
                    Ok((events, released, Vec::new()))
                },
            )
            .await?;
            if done.appended.is_some() {
                trainings.note(id, done.version, &done.events);
            }
            done
        }
        // Unknown here: the session's decision says so (404).
        None => {
            run(&trainings, &actor, id, None, |session, plan| {
                Ok(withdraw(session, plan))
            })
            .await?
        }
    };
    let promoted: Vec<Uuid> = done
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::RegistrationPromoted { registration_id } => Some(*registration_id),
            _ => None,
        })
        .collect();
    claim_promoted(&trainings, &actor, id, &promoted).await;
    Ok(axum::Json(Withdrawn {
        version: done.version,
        promoted,
    }))
}

/// La présence d'une personne inscrite à un créneau.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AttendanceInput {
    /// L'inscription (confirmée) de la personne.
    registration_id: Uuid,
    /// Le créneau, numéroté à partir de 0.
    slot_index: usize,
    status: AttendanceStatus,
    /// Minutes de présence : par défaut tout le créneau pour une présence, aucune pour
    /// une absence ; jamais plus que le créneau.
    #[serde(default)]
    minutes: Option<i64>,
    /// Motif, pour les corrections seulement (obligatoire).
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/sessions/{id}/attendance`
#[utoipa::path(operation_id = "trainings_session_attendance", post, path = "/api/v1/sessions/{id}/attendance", tag = "trainings",
    summary = "Saisir une présence (par créneau)",
    request_body = AttendanceInput,
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn attendance(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(input): Json<AttendanceInput>,
) -> Result<impl IntoResponse, Problem> {
    let done = run(&trainings, &actor, id, None, |_, plan| {
        actor.may(Action::RecordAttendance, given_by(plan))?;
        Ok(SessionCommand::RecordAttendance {
            registration_id: input.registration_id,
            slot_index: input.slot_index,
            status: input.status,
            minutes: input.minutes,
        })
    })
    .await?;
    Ok(axum::Json(pharos_web::Versioned {
        version: done.version,
    }))
}

/// `POST /api/v1/sessions/{id}/attendance/corrections`: after the lock, with a reason.
#[utoipa::path(operation_id = "trainings_session_correction", post, path = "/api/v1/sessions/{id}/attendance/corrections", tag = "trainings",
    summary = "Corriger une présence après verrouillage (motif obligatoire, tracé)",
    request_body = AttendanceInput,
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn correction(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(input): Json<AttendanceInput>,
) -> Result<impl IntoResponse, Problem> {
    let reason = input.reason.unwrap_or_default();
    let done = run(&trainings, &actor, id, None, |_, plan| {
        actor.may(Action::RecordAttendance, given_by(plan))?;
        Ok(SessionCommand::CorrectAttendance {
            registration_id: input.registration_id,
            slot_index: input.slot_index,
            status: input.status,
            minutes: input.minutes,
            reason: reason.clone(),
        })
    })
    .await?;
    Ok(axum::Json(pharos_web::Versioned {
        version: done.version,
    }))
}

/// Une inscription, telle que la session la montre.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrationView {
    id: Uuid,
    /// Nom affiché de la personne (effacé si ses données l'ont été).
    display_name: String,
    /// Adresse électronique de la personne (effacée si ses données l'ont été).
    email: String,
    /// UAI de son établissement.
    #[schema(value_type = Option<String>, example = "0310001H")]
    school_uai: Option<Uai>,
    /// Sa fonction.
    function: String,
    mode: RegistrationMode,
    status: RegistrationStatus,
    /// Rang dans la liste d'attente, à partir de 1.
    waitlist_position: Option<usize>,
    /// Minutes de présence : la somme des créneaux où la personne était présente.
    attended_minutes: u32,
}

/// `GET /api/v1/sessions/{id}`: the session with its registrations (a logged read of
/// each registrant). Managers and the session's trainers see everyone; whoever may
/// register people to it reads it too, with the registrations of the people they may
/// register (a school its own people, a department referent the people of their
/// department's schools), besides its public facts (capacity, counts).
#[utoipa::path(operation_id = "trainings_session_get", get, path = "/api/v1/sessions/{id}", tag = "trainings",
    summary = "Lire une session et ses inscriptions",
    description = "Le pôle, le référent du département de la session et ses formateurs voient toutes les inscriptions. Qui peut inscrire des personnes à la session la lit aussi, avec les inscriptions des personnes qu'il peut inscrire (un établissement les siennes, un référent départemental celles des établissements de son département), en plus des informations publiques de la session (places, nombre d'inscriptions confirmées et en attente).",
    params(("id" = Uuid, Path, description = "Identifiant de la session")),
    responses(
        (status = 200, description = "La session", body = SessionView),
        (status = 404, description = "Session inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (session, version) = load::<Session>(&trainings.target.app.store, &stream(id)?).await?;
    let Some(plan) = session.plan.clone() else {
        return Err(Problem::not_found());
    };
    let sees_all = actor.may(Action::ManageTrainings, managing(&plan)).is_ok()
        || actor.may(Action::RecordAttendance, given_by(&plan)).is_ok();
    // Otherwise whoever may register people here reads it, with those people only.
    if !sees_all && !registers_somewhere(&actor) {
        actor.may(Action::ManageTrainings, managing(&plan))?;
    }
    // Per school of a registrant: whether the actor may register its people.
    let mut theirs: std::collections::HashMap<Uai, bool> = std::collections::HashMap::new();
    if !sees_all {
        for uai in session
            .registrations
            .iter()
            .filter_map(|r| r.registrant.school_uai.as_ref())
        {
            if theirs.contains_key(uai) {
                continue;
            }
            let school = trainings.target.access.reference.school(uai).await?;
            let may = schools_held(&actor).any(|own| own == uai)
                || school.as_ref().is_some_and(|school| {
                    may_register(&actor, plan.department.as_ref(), Some(school), &[]).is_ok()
                });
            theirs.insert(uai.clone(), may);
        }
    }
    let vault = &trainings.target.vault;
    let metadata = actor.metadata(NAME);
    let mut waiting = 0;
    let mut registrations = Vec::new();
    for r in &session.registrations {
        let position = (r.status == decider::RegistrationStatus::Waitlisted).then(|| {
            waiting += 1;
            waiting
        });
        if !sees_all
            && !r
                .registrant
                .school_uai
                .as_ref()
                .is_some_and(|uai| theirs.get(uai).copied().unwrap_or(false))
        {
            continue;
        }
        let values = vault
            .unseal_all(&[&r.registrant.display_name, &r.registrant.email])
            .await
            .map_err(Problem::from)?;
        vault
            .log_read(
                &metadata,
                r.registrant.person,
                "/api/v1/sessions/{id}",
                "training",
            )
            .await
            .map_err(Problem::from)?;
        let text = |i: usize| {
            values.get(i).map_or_else(
                || Personal::<String>::Erased.to_string(),
                ToString::to_string,
            )
        };
        registrations.push(RegistrationView {
            id: r.id,
            display_name: text(0),
            email: text(1),
            school_uai: r.registrant.school_uai.clone(),
            function: r.registrant.function.clone(),
            mode: r.mode,
            status: r.status.into(),
            waitlist_position: position,
            attended_minutes: session.attended_minutes(r.id),
        });
    }
    Ok(axum::Json(SessionView {
        id,
        training_id: plan.training_id,
        department: plan.department.clone(),
        starts_at: plan.schedule.starts_at,
        ends_at: plan.schedule.ends_at,
        slots: plan.schedule.slots.iter().map(SlotView::from).collect(),
        location: plan.location.clone(),
        remote_url: plan.remote_url.clone(),
        capacity: plan.capacity,
        planned_minutes: plan.planned_minutes,
        trainers: plan.trainers.clone(),
        status: session.status.unwrap_or(decider::Status::Planned).into(),
        cancel_reason: session.cancel_reason.clone(),
        recorded_after_the_fact: plan.recorded_after_the_fact,
        confirmed: session.confirmed(),
        waitlisted: waiting,
        registrations,
        version,
    }))
}
