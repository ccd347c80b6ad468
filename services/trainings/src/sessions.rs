//! Session commands over HTTP: planning, lifecycle, registrations, attendance.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, FixedOffset};
use pharos_access::{Action, Actor, Denied, Executed, IfMatch, Subject, execute, load};
use pharos_events::training::{
    AttendanceStatus, Registrant, RegistrationMode, SESSION_CATEGORY, Schedule, SessionEvent, Slot,
};
use pharos_events::{Email, Role, Uai};
use pharos_eventstore::StreamId;
use pharos_privacy::Personal;
use pharos_web::{Json, Problem, Rejection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::session::{Plan, RegistrationStatus, Session, SessionCommand, Sessions, Status};
use crate::training::{self, Catalogue};
use crate::{TARGET, Trainings};

pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(SESSION_CATEGORY, id)?)
}

fn privacy_problem(error: pharos_privacy::PrivacyError) -> Problem {
    match error {
        pharos_privacy::PrivacyError::Store(e) => e.into(),
        other => {
            tracing::error!(error = %other, "vault failure");
            Problem::internal()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SlotInput {
    starts_at: DateTime<FixedOffset>,
    ends_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScheduleInput {
    starts_at: DateTime<FixedOffset>,
    ends_at: DateTime<FixedOffset>,
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

#[derive(Debug, Deserialize)]
pub struct NewSession {
    #[serde(flatten)]
    schedule: ScheduleInput,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    remote_url: Option<String>,
    capacity: i64,
    planned_minutes: i64,
    /// Accounts (role `trainer`) who record attendance.
    #[serde(default)]
    trainers: Vec<Uuid>,
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `POST /api/v1/trainings/{id}/sessions`
pub async fn plan(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(training_id): Path<Uuid>,
    Json(input): Json<NewSession>,
) -> Result<impl IntoResponse, Problem> {
    let store = &trainings.target.app.store;
    let (training, _) = load::<Catalogue>(store, &training::stream(training_id)?).await?;
    if training.created.is_none() {
        return Err(Problem::not_found());
    }
    let department = training.department().cloned();
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
            "Le lien de classe virtuelle doit commencer par https://.",
        )
        .into());
    }
    for (i, trainer) in input.trainers.iter().enumerate() {
        match trainings.target.access.reference.user(*trainer).await? {
            Some(u) if u.role == Role::Trainer && u.active() => {}
            _ => {
                return Err(Problem::from(Rejection::invalid(
                    "unknown-trainer",
                    "trainers",
                    format!("trainers[{i}] n'est pas un compte actif de formateur ou formatrice."),
                )));
            }
        }
    }
    let id = Uuid::now_v7();
    let done = execute::<Sessions>(
        store,
        &stream(id)?,
        &SessionCommand::Plan(crate::session::PlanInput {
            training_id,
            department,
            schedule: input.schedule.schedule(),
            location: trimmed(input.location),
            remote_url,
            capacity: input.capacity,
            planned_minutes: input.planned_minutes,
            trainers: input.trainers,
        }),
        trainings.target.clock.now(),
        None,
        &actor.metadata(TARGET),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "id": id, "version": done.version })),
    ))
}

/// The session, or 404.
async fn existing(trainings: &Trainings, id: Uuid) -> Result<(Session, Plan), Problem> {
    let (session, _) = load::<Sessions>(&trainings.target.app.store, &stream(id)?).await?;
    let plan = session.plan.clone().ok_or_else(Problem::not_found)?;
    Ok((session, plan))
}

fn managing(plan: &Plan) -> Subject<'_> {
    Subject::Session {
        department: plan.department.as_ref(),
        trainers: &[],
    }
}

fn given(plan: &Plan) -> Subject<'_> {
    Subject::Session {
        department: plan.department.as_ref(),
        trainers: &plan.trainers,
    }
}

async fn run(
    trainings: &Trainings,
    actor: &Actor,
    id: Uuid,
    command: SessionCommand,
    if_match: Option<i64>,
) -> Result<Executed<SessionEvent>, Problem> {
    let done = execute::<Sessions>(
        &trainings.target.app.store,
        &stream(id)?,
        &command,
        trainings.target.clock.now(),
        if_match,
        &actor.metadata(TARGET),
    )
    .await?;
    if let Some(appended) = done.appended {
        trainings.settle(appended.position).await;
    }
    Ok(done)
}

/// `POST /api/v1/sessions/{id}/{open|close|hold|lock-attendance|archive}`
pub async fn transition(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path((id, step)): Path<(Uuid, String)>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    let command = match step.as_str() {
        "open" => SessionCommand::Open,
        "close" => SessionCommand::Close,
        "hold" => SessionCommand::Hold,
        "lock-attendance" => SessionCommand::LockAttendance,
        "archive" => SessionCommand::Archive,
        _ => return Err(Problem::not_found()),
    };
    let (_, plan) = existing(&trainings, id).await?;
    actor.may(Action::ManageTrainings, managing(&plan))?;
    let done = run(&trainings, &actor, id, command, if_match.0).await?;
    Ok(axum::Json(json!({ "version": done.version })))
}

#[derive(Debug, Deserialize)]
pub struct Cancellation {
    reason: String,
}

/// `POST /api/v1/sessions/{id}/cancel`
pub async fn cancel(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<Cancellation>,
) -> Result<impl IntoResponse, Problem> {
    let (_, plan) = existing(&trainings, id).await?;
    actor.may(Action::ManageTrainings, managing(&plan))?;
    let done = run(
        &trainings,
        &actor,
        id,
        SessionCommand::Cancel {
            reason: input.reason,
        },
        if_match.0,
    )
    .await?;
    Ok(axum::Json(json!({ "version": done.version })))
}

/// `POST /api/v1/sessions/{id}/reschedule`
pub async fn reschedule(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<ScheduleInput>,
) -> Result<impl IntoResponse, Problem> {
    let (_, plan) = existing(&trainings, id).await?;
    actor.may(Action::ManageTrainings, managing(&plan))?;
    let done = run(
        &trainings,
        &actor,
        id,
        SessionCommand::Reschedule(input.schedule()),
        if_match.0,
    )
    .await?;
    Ok(axum::Json(json!({ "version": done.version })))
}

#[derive(Debug, Deserialize)]
pub struct PersonInput {
    email: String,
    display_name: String,
    #[serde(default)]
    school_uai: Option<String>,
    function: String,
}

#[derive(Debug, Deserialize)]
pub struct NewRegistration {
    person: PersonInput,
    mode: RegistrationMode,
}

/// May `actor` register (or withdraw) someone of `school` to this session? Pole
/// managers everywhere; a department referent for sessions of their department or
/// people of its schools; a school for its own people.
async fn may_register(
    trainings: &Trainings,
    actor: &Actor,
    plan: &Plan,
    school: Option<&Uai>,
) -> Result<(), Problem> {
    let on_session = actor.may(Action::RegisterToTraining, managing(plan));
    let Err(denied) = on_session else {
        return Ok(());
    };
    let Some(uai) = school else {
        return Err(denied.into());
    };
    let Some(school) = trainings.target.access.reference.school(uai).await? else {
        return Err(denied.into());
    };
    actor
        .may(
            Action::RegisterToTraining,
            Subject::School {
                uai,
                department: &school.department,
            },
        )
        .map_err(|d: Denied| d.into())
}

fn invalid(rule: &'static str, field: &'static str, message: impl Into<String>) -> Problem {
    Rejection::invalid(rule, field, message).into()
}

/// `POST /api/v1/sessions/{id}/registrations` → `{id, status: confirmed|waitlisted}`
pub async fn register(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(input): Json<NewRegistration>,
) -> Result<impl IntoResponse, Problem> {
    let person = input.person;
    let email =
        Email::parse(&person.email).map_err(|e| invalid("invalid-email", "person.email", e.0))?;
    let display_name = person.display_name.trim().to_owned();
    if display_name.is_empty() {
        return Err(invalid(
            "name-required",
            "person.display_name",
            "Le nom de la personne est obligatoire.",
        ));
    }
    let function = person.function.trim().to_owned();
    if function.is_empty() {
        return Err(invalid(
            "function-required",
            "person.function",
            "La fonction de la personne est obligatoire (ex. CPE).",
        ));
    }
    let mut school_uai = match person.school_uai.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) => {
            Some(Uai::parse(u).map_err(|e| invalid("invalid-uai", "person.school_uai", e.0))?)
        }
    };
    // A school registers its own people.
    if let (None, pharos_access::Scope::School(own)) = (&school_uai, &actor.scope) {
        school_uai = Some(own.clone());
    }
    if let Some(uai) = &school_uai {
        match trainings.target.access.reference.school(uai).await? {
            Some(s) if !s.closed => {}
            _ => {
                return Err(invalid(
                    "school-unknown",
                    "person.school_uai",
                    format!("L'établissement {uai} n'est pas enregistré (ou est fermé)."),
                ));
            }
        }
    }
    let (_, plan) = existing(&trainings, id).await?;
    may_register(&trainings, &actor, &plan, school_uai.as_ref()).await?;

    let vault = &trainings.target.vault;
    let known = vault
        .find_person(email.as_str())
        .await
        .map_err(privacy_problem)?;
    let overlapping = match known {
        Some(person) => trainings
            .index
            .read(|index| index.overlapping(person, &plan.schedule, id)),
        None => Vec::new(),
    };
    let person = match known {
        Some(p) => p,
        None => vault
            .person(email.as_str())
            .await
            .map_err(privacy_problem)?,
    };
    let mut sealed = vault
        .seal_all(&[(person, display_name.as_str()), (person, email.as_str())])
        .await
        .map_err(privacy_problem)?
        .into_iter();
    let (Some(display_name), Some(email)) = (sealed.next(), sealed.next()) else {
        return Err(Problem::internal());
    };
    let registration_id = Uuid::now_v7();
    let done = run(
        &trainings,
        &actor,
        id,
        SessionCommand::Register {
            registration_id,
            registrant: Registrant {
                person,
                display_name,
                email,
                school_uai,
                function,
            },
            mode: input.mode,
            overlapping,
        },
        None,
    )
    .await?;
    let status = match done.events.first() {
        Some(SessionEvent::RegistrationConfirmed { .. }) => "confirmed",
        _ => "waitlisted",
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "id": registration_id, "status": status, "version": done.version })),
    ))
}

/// `POST /api/v1/sessions/{id}/registrations/{rid}/withdraw`: frees the place, which
/// goes to the first waiting registration.
pub async fn withdraw(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path((id, registration_id)): Path<(Uuid, Uuid)>,
) -> Result<impl IntoResponse, Problem> {
    let (session, plan) = existing(&trainings, id).await?;
    let school = session
        .registration(registration_id)
        .and_then(|r| r.registrant.school_uai.clone());
    may_register(&trainings, &actor, &plan, school.as_ref()).await?;
    let done = run(
        &trainings,
        &actor,
        id,
        SessionCommand::Withdraw { registration_id },
        None,
    )
    .await?;
    let promoted = done.events.iter().find_map(|e| match e {
        SessionEvent::RegistrationPromoted { registration_id } => Some(*registration_id),
        _ => None,
    });
    Ok(axum::Json(
        json!({ "version": done.version, "promoted": promoted }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct AttendanceInput {
    registration_id: Uuid,
    slot_index: usize,
    status: AttendanceStatus,
    #[serde(default)]
    minutes: Option<i64>,
    /// Corrections only.
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/sessions/{id}/attendance`
pub async fn attendance(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(input): Json<AttendanceInput>,
) -> Result<impl IntoResponse, Problem> {
    let (_, plan) = existing(&trainings, id).await?;
    actor.may(Action::RecordAttendance, given(&plan))?;
    let done = run(
        &trainings,
        &actor,
        id,
        SessionCommand::RecordAttendance {
            registration_id: input.registration_id,
            slot_index: input.slot_index,
            status: input.status,
            minutes: input.minutes,
        },
        None,
    )
    .await?;
    Ok(axum::Json(json!({ "version": done.version })))
}

/// `POST /api/v1/sessions/{id}/attendance/corrections`: after the lock, with a reason.
pub async fn correction(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(input): Json<AttendanceInput>,
) -> Result<impl IntoResponse, Problem> {
    let (_, plan) = existing(&trainings, id).await?;
    actor.may(Action::RecordAttendance, given(&plan))?;
    let done = run(
        &trainings,
        &actor,
        id,
        SessionCommand::CorrectAttendance {
            registration_id: input.registration_id,
            slot_index: input.slot_index,
            status: input.status,
            minutes: input.minutes,
            reason: input.reason.unwrap_or_default(),
        },
        None,
    )
    .await?;
    Ok(axum::Json(json!({ "version": done.version })))
}

#[derive(Debug, Serialize)]
struct RegistrationView {
    id: Uuid,
    display_name: String,
    email: String,
    school_uai: Option<Uai>,
    function: String,
    mode: RegistrationMode,
    status: RegistrationStatus,
    /// Place in the waitlist, from 1.
    waitlist_position: Option<usize>,
    attended_minutes: u32,
}

/// `GET /api/v1/sessions/{id}`: the session with its registrations (a logged read of
/// each registrant). Managers and the session's trainers see everyone; a school sees
/// its own people.
pub async fn get(
    State(trainings): State<Trainings>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (session, version) = load::<Sessions>(&trainings.target.app.store, &stream(id)?).await?;
    let Some(plan) = session.plan.clone() else {
        return Err(Problem::not_found());
    };
    let sees_all = actor.may(Action::ManageTrainings, managing(&plan)).is_ok()
        || actor.may(Action::RecordAttendance, given(&plan)).is_ok();
    let own_school = match &actor.scope {
        pharos_access::Scope::School(uai) if !sees_all => Some(uai.clone()),
        _ if sees_all => None,
        _ => {
            actor.may(Action::ManageTrainings, managing(&plan))?;
            None
        }
    };
    let vault = &trainings.target.vault;
    let metadata = actor.metadata(TARGET);
    let mut waiting = 0;
    let mut registrations = Vec::new();
    for r in &session.registrations {
        let position = (r.status == RegistrationStatus::Waitlisted).then(|| {
            waiting += 1;
            waiting
        });
        if own_school.is_some() && r.registrant.school_uai != own_school {
            continue;
        }
        let values = vault
            .unseal_all(&[&r.registrant.display_name, &r.registrant.email])
            .await
            .map_err(privacy_problem)?;
        vault
            .log_read(
                &metadata,
                r.registrant.person,
                "/api/v1/sessions/{id}",
                "training",
            )
            .await
            .map_err(privacy_problem)?;
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
            status: r.status,
            waitlist_position: position,
            attended_minutes: session.attended_minutes(r.id),
        });
    }
    let status = session.status.unwrap_or(Status::Planned);
    Ok(axum::Json(json!({
        "id": id,
        "training_id": plan.training_id,
        "department": plan.department,
        "starts_at": plan.schedule.starts_at,
        "ends_at": plan.schedule.ends_at,
        "slots": plan.schedule.slots,
        "location": plan.location,
        "remote_url": plan.remote_url,
        "capacity": plan.capacity,
        "planned_minutes": plan.planned_minutes,
        "trainers": plan.trainers,
        "status": status,
        "cancel_reason": session.cancel_reason,
        "confirmed": session.confirmed(),
        "waitlisted": waiting,
        "registrations": registrations,
        "version": version,
    })))
}
