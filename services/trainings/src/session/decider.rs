//! The session decider (category `training_session`): lifecycle, registrations with
//! capacity and waitlist, attendance per slot, audited corrections. Pure: no I/O, no
//! HTTP; time and the person's other sessions come in the command.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_domain::hours;
use pharos_events::DepartmentCode;
use pharos_events::training::{
    AttendanceStatus, Registrant, RegistrationMode, SESSION_CATEGORY, Schedule, SessionEvent,
};
use pharos_eventstore::{StoreError, StreamId};
use uuid::Uuid;

/// The stream of session `id`.
pub fn stream(id: Uuid) -> Result<StreamId, StoreError> {
    StreamId::new(SESSION_CATEGORY, id)
}

/// Where a session is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Planned,
    Open,
    Closed,
    Held,
    AttendanceLocked,
    Archived,
    Cancelled,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Planned => "programmée",
            Self::Open => "ouverte aux inscriptions",
            Self::Closed => "close aux inscriptions",
            Self::Held => "tenue",
            Self::AttendanceLocked => "aux présences verrouillées",
            Self::Archived => "archivée",
            Self::Cancelled => "annulée",
        }
    }
}

/// Where a registration is: holding a place, waiting for one, or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    Confirmed,
    Waitlisted,
    Withdrawn,
}

/// Someone registered to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: Uuid,
    pub registrant: Registrant,
    pub mode: RegistrationMode,
    pub status: RegistrationStatus,
}

/// What planning fixed (the schedule can change by rescheduling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub training_id: Uuid,
    pub department: Option<DepartmentCode>,
    pub schedule: Schedule,
    pub location: Option<String>,
    pub remote_url: Option<String>,
    pub capacity: u32,
    pub planned_minutes: u32,
    pub trainers: Vec<Uuid>,
    /// Recorded once over, with its registrants and attendance.
    pub recorded_after_the_fact: bool,
}

/// One attendance entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub status: AttendanceStatus,
    pub minutes: u32,
}

/// What a session's history folds to; empty until it is planned.
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    pub plan: Option<Plan>,
    pub status: Option<Status>,
    /// In registration order: the waitlist is served in this order.
    pub registrations: Vec<Registration>,
    /// Per registration and slot index.
    pub attendance: BTreeMap<(Uuid, usize), Mark>,
    pub cancel_reason: Option<String>,
}

impl SessionState {
    pub fn registration(&self, id: Uuid) -> Option<&Registration> {
        self.registrations.iter().find(|r| r.id == id)
    }

    pub fn confirmed(&self) -> usize {
        self.registrations
            .iter()
            .filter(|r| r.status == RegistrationStatus::Confirmed)
            .count()
    }

    /// Minutes attended by a registration: what its slots attended credit.
    pub fn attended_minutes(&self, registration: Uuid) -> u32 {
        hours::attended_minutes(
            self.attendance
                .range((registration, 0)..=(registration, usize::MAX))
                .map(|(_, m)| (m.status, m.minutes)),
        )
    }
}

/// Planning as asked, before its values are checked.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub training_id: Uuid,
    pub department: Option<DepartmentCode>,
    pub schedule: Schedule,
    pub location: Option<String>,
    pub remote_url: Option<String>,
    pub capacity: i64,
    pub planned_minutes: i64,
    pub trainers: Vec<Uuid>,
}

/// Someone who attended a session recorded after the fact, with their attendance.
#[derive(Debug, Clone)]
pub struct PastRegistrant {
    pub registration_id: Uuid,
    pub registrant: Registrant,
    pub mode: RegistrationMode,
    /// Per slot attended or missed: its index, the status, the minutes if not the default.
    pub attendance: Vec<(usize, AttendanceStatus, Option<i64>)>,
}

/// What can be asked of a session.
#[derive(Debug, Clone)]
pub enum SessionCommand {
    Plan(PlanInput),
    /// A session that took place without being planned here: planned, held, its
    /// registrants confirmed, their attendance recorded and locked in one go.
    RecordPast {
        plan: PlanInput,
        registrants: Vec<PastRegistrant>,
    },
    Open,
    Close,
    Hold,
    LockAttendance,
    Archive,
    Cancel {
        reason: String,
    },
    Reschedule(Schedule),
    /// A new number of places: raising it promotes the waitlist in order; lowering it
    /// below the confirmed registrations is refused.
    ChangeCapacity {
        capacity: i64,
        /// Waitlisted registrations whose person holds an overlapping confirmed place
        /// elsewhere: skipped by the promotion, they keep waiting.
        busy: Vec<Uuid>,
    },
    /// The accounts who give the session (checked to be active trainers beforehand).
    ChangeTrainers {
        trainers: Vec<Uuid>,
    },
    Register {
        registration_id: Uuid,
        registrant: Registrant,
        mode: RegistrationMode,
        /// Sessions this person is already in whose times overlap this one's.
        overlapping: Vec<Uuid>,
    },
    Withdraw {
        registration_id: Uuid,
        /// As for `ChangeCapacity`: waitlisted registrations the promotion skips.
        busy: Vec<Uuid>,
    },
    RecordAttendance {
        registration_id: Uuid,
        slot_index: usize,
        status: AttendanceStatus,
        minutes: Option<i64>,
    },
    CorrectAttendance {
        registration_id: Uuid,
        slot_index: usize,
        status: AttendanceStatus,
        minutes: Option<i64>,
        reason: String,
    },
}

/// The session aggregate.
#[derive(Debug)]
pub struct Session;

/// The rules a schedule obeys wherever it comes from (planning, rescheduling).
pub fn check_schedule(schedule: &Schedule, now: DateTime<Utc>) -> Result<(), Rejection> {
    if schedule.ends_at <= schedule.starts_at {
        return Err(Rejection::invalid(
            "end-before-start",
            "ends_at",
            "La fin de la session doit être postérieure à son début.",
        ));
    }
    if schedule.starts_at <= now {
        return Err(Rejection::invalid(
            "session-in-the-past",
            "starts_at",
            "Une session ne peut pas être programmée dans le passé.",
        ));
    }
    check_slots(schedule)
}

/// The rules a schedule obeys whenever it is: slots in order, within the session.
fn check_slots(schedule: &Schedule) -> Result<(), Rejection> {
    if schedule.slots.is_empty() {
        return Err(Rejection::invalid(
            "no-slot",
            "slots",
            "Une session compte au moins une demi-journée (créneau).",
        ));
    }
    let mut previous_end: Option<DateTime<FixedOffset>> = None;
    for slot in &schedule.slots {
        if slot.ends_at <= slot.starts_at {
            return Err(Rejection::invalid(
                "slot-end-before-start",
                "slots",
                "Chaque créneau doit finir après avoir commencé.",
            ));
        }
        if slot.starts_at < schedule.starts_at || slot.ends_at > schedule.ends_at {
            return Err(Rejection::invalid(
                "slot-outside-session",
                "slots",
                "Les créneaux doivent tenir entre le début et la fin de la session.",
            ));
        }
        if previous_end.is_some_and(|end| slot.starts_at < end) {
            return Err(Rejection::invalid(
                "slots-overlap",
                "slots",
                "Les créneaux doivent se suivre sans se chevaucher, dans l'ordre.",
            ));
        }
        previous_end = Some(slot.ends_at);
    }
    Ok(())
}

impl Decider for Session {
    type State = SessionState;
    type Command = SessionCommand;
    type Event = SessionEvent;

    fn evolve(mut s: SessionState, event: &SessionEvent) -> SessionState {
        use SessionEvent as E;
        match event {
            E::SessionPlanned {
                training_id,
                department,
                schedule,
                location,
                remote_url,
                capacity,
                planned_minutes,
                trainers,
                recorded_after_the_fact,
            } => {
                s.plan = Some(Plan {
                    recorded_after_the_fact: *recorded_after_the_fact,
                    training_id: *training_id,
                    department: department.clone(),
                    schedule: schedule.clone(),
                    location: location.clone(),
                    remote_url: remote_url.clone(),
                    capacity: *capacity,
                    planned_minutes: *planned_minutes,
                    trainers: trainers.clone(),
                });
                s.status = Some(Status::Planned);
            }
            E::SessionOpened => s.status = Some(Status::Open),
            E::SessionClosed => s.status = Some(Status::Closed),
            E::SessionHeld => s.status = Some(Status::Held),
            E::AttendanceLocked => s.status = Some(Status::AttendanceLocked),
            E::SessionArchived => s.status = Some(Status::Archived),
            E::SessionCancelled { reason } => {
                s.status = Some(Status::Cancelled);
                s.cancel_reason = Some(reason.clone());
            }
            E::SessionRescheduled { schedule } => {
                if let Some(plan) = &mut s.plan {
                    plan.schedule = schedule.clone();
                }
            }
            E::SessionCapacityChanged { capacity } => {
                if let Some(plan) = &mut s.plan {
                    plan.capacity = *capacity;
                }
            }
            E::SessionTrainersChanged { trainers } => {
                if let Some(plan) = &mut s.plan {
                    plan.trainers = trainers.clone();
                }
            }
            E::RegistrationConfirmed {
                registration_id,
                registrant,
                mode,
            }
            | E::RegistrationWaitlisted {
                registration_id,
                registrant,
                mode,
            } => s.registrations.push(Registration {
                id: *registration_id,
                registrant: registrant.clone(),
                mode: *mode,
                status: if matches!(event, E::RegistrationConfirmed { .. }) {
                    RegistrationStatus::Confirmed
                } else {
                    RegistrationStatus::Waitlisted
                },
            }),
            E::RegistrationPromoted { registration_id } => {
                if let Some(r) = s
                    .registrations
                    .iter_mut()
                    .find(|r| r.id == *registration_id)
                {
                    r.status = RegistrationStatus::Confirmed;
                }
            }
            E::RegistrationWithdrawn { registration_id } => {
                if let Some(r) = s
                    .registrations
                    .iter_mut()
                    .find(|r| r.id == *registration_id)
                {
                    r.status = RegistrationStatus::Withdrawn;
                }
            }
            E::AttendanceRecorded {
                registration_id,
                slot_index,
                status,
                minutes,
            }
            | E::AttendanceCorrected {
                registration_id,
                slot_index,
                status,
                minutes,
                ..
            } => {
                s.attendance.insert(
                    (*registration_id, *slot_index),
                    Mark {
                        status: *status,
                        minutes: *minutes,
                    },
                );
            }
        }
        s
    }

    fn decide(
        command: &SessionCommand,
        s: &SessionState,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionEvent>, Rejection> {
        use SessionCommand as C;
        use SessionEvent as E;
        let (Some(plan), Some(status)) = (&s.plan, s.status) else {
            return match command {
                C::Plan(input) => {
                    check_schedule(&input.schedule, now)?;
                    Ok(vec![planned_event(input, false)?])
                }
                C::RecordPast { plan, registrants } => record_past(plan, registrants, now),
                _ => Err(Rejection::not_found(
                    "session-unknown",
                    "Cette session n'existe pas.",
                )),
            };
        };
        let not_now = |what: &str| {
            Rejection::conflict(
                "transition-not-allowed",
                format!("Impossible {what} : la session est {}.", status.label()),
            )
        };
        let started = now >= plan.schedule.starts_at;
        match command {
            C::Plan(_) | C::RecordPast { .. } => Err(Rejection::conflict(
                "session-exists",
                "Cette session existe déjà.",
            )),
            C::Open => match status {
                Status::Planned => Ok(vec![E::SessionOpened]),
                _ => Err(not_now("d'ouvrir les inscriptions")),
            },
            C::Close => match status {
                Status::Open => Ok(vec![E::SessionClosed]),
                _ => Err(not_now("de clore les inscriptions")),
            },
            C::Hold => match status {
                Status::Open | Status::Closed if started => Ok(vec![E::SessionHeld]),
                Status::Open | Status::Closed => Err(Rejection::conflict(
                    "not-started",
                    "La session n'a pas encore commencé.",
                )),
                _ => Err(not_now("de déclarer la session tenue")),
            },
            C::LockAttendance => match status {
                Status::Open | Status::Closed | Status::Held if now < plan.schedule.ends_at => {
                    Err(Rejection::conflict(
                        "not-ended",
                        "Les présences se verrouillent une fois la session terminée.",
                    ))
                }
                Status::Open | Status::Closed => Ok(vec![E::SessionHeld, E::AttendanceLocked]),
                Status::Held => Ok(vec![E::AttendanceLocked]),
                _ => Err(not_now("de verrouiller les présences")),
            },
            C::Archive => match status {
                Status::AttendanceLocked => Ok(vec![E::SessionArchived]),
                _ => Err(not_now("d'archiver")),
            },
            C::Cancel { reason } => {
                if reason.trim().is_empty() {
                    return Err(Rejection::invalid(
                        "reason-required",
                        "reason",
                        "Indiquez le motif de l'annulation : il est communiqué aux personnes inscrites.",
                    ));
                }
                match status {
                    Status::Planned | Status::Open | Status::Closed => {
                        Ok(vec![E::SessionCancelled {
                            reason: reason.trim().to_owned(),
                        }])
                    }
                    _ => Err(not_now("d'annuler")),
                }
            }
            C::Reschedule(schedule) => match status {
                Status::Planned | Status::Open | Status::Closed => {
                    check_schedule(schedule, now)?;
                    if *schedule == plan.schedule {
                        return Ok(vec![]);
                    }
                    Ok(vec![E::SessionRescheduled {
                        schedule: schedule.clone(),
                    }])
                }
                _ => Err(not_now("de reprogrammer")),
            },
            C::Register {
                registration_id,
                registrant,
                mode,
                overlapping,
            } => {
                match status {
                    Status::Cancelled => {
                        return Err(Rejection::conflict(
                            "session-cancelled",
                            "Cette session est annulée : plus aucune inscription.",
                        ));
                    }
                    _ if started => {
                        return Err(Rejection::conflict(
                            "session-past",
                            "Cette session a déjà commencé : plus aucune inscription.",
                        ));
                    }
                    Status::Planned if *mode == RegistrationMode::Volunteer => {
                        return Err(Rejection::conflict(
                            "registrations-not-open",
                            "Les inscriptions volontaires ne sont pas encore ouvertes pour cette session : attendez leur ouverture, ou faites désigner la personne par son chef d'établissement ou le référent départemental.",
                        ));
                    }
                    Status::Planned | Status::Open => {}
                    _ => return Err(not_now("d'inscrire")),
                }
                if s.registrations.iter().any(|r| {
                    r.registrant.person == registrant.person
                        && r.status != RegistrationStatus::Withdrawn
                }) {
                    return Err(Rejection::conflict(
                        "already-registered",
                        "Cette personne est déjà inscrite à cette session.",
                    ));
                }
                if !overlapping.is_empty() {
                    return Err(Rejection::conflict(
                        "overlapping-session",
                        "Cette personne est déjà inscrite à une autre session sur le même créneau.",
                    ));
                }
                let registration_id = *registration_id;
                let registrant = registrant.clone();
                let mode = *mode;
                if s.confirmed() < plan.capacity as usize {
                    Ok(vec![E::RegistrationConfirmed {
                        registration_id,
                        registrant,
                        mode,
                    }])
                } else {
                    Ok(vec![E::RegistrationWaitlisted {
                        registration_id,
                        registrant,
                        mode,
                    }])
                }
            }
            C::ChangeCapacity { capacity, busy } => {
                if !matches!(status, Status::Planned | Status::Open | Status::Closed) {
                    return Err(not_now("de changer la capacité"));
                }
                if started {
                    return Err(Rejection::conflict(
                        "session-past",
                        "Cette session a déjà commencé : sa capacité ne change plus.",
                    ));
                }
                let capacity = positive_capacity(*capacity)?;
                let confirmed = s.confirmed();
                if (capacity as usize) < confirmed {
                    return Err(Rejection::conflict(
                        "capacity-below-confirmed",
                        format!(
                            "Impossible de ramener la capacité à {} : {confirmed} inscriptions sont déjà confirmées. Retirez d'abord des inscriptions, ou gardez au moins {confirmed} places.",
                            places(capacity as usize)
                        ),
                    ));
                }
                if capacity == plan.capacity {
                    return Ok(vec![]);
                }
                let mut events = vec![E::SessionCapacityChanged { capacity }];
                events.extend(
                    s.registrations
                        .iter()
                        .filter(|r| r.status == RegistrationStatus::Waitlisted)
                        .filter(|r| !busy.contains(&r.id))
                        .take((capacity as usize).saturating_sub(confirmed))
                        .map(|r| E::RegistrationPromoted {
                            registration_id: r.id,
                        }),
                );
                Ok(events)
            }
            C::ChangeTrainers { trainers } => {
                if matches!(status, Status::Archived | Status::Cancelled) {
                    return Err(not_now("de changer les formateurs"));
                }
                let mut unique = trainers.clone();
                unique.sort();
                unique.dedup();
                if unique.len() != trainers.len() {
                    return Err(Rejection::invalid(
                        "trainer-twice",
                        "trainers",
                        "Un même formateur ou une même formatrice figure deux fois dans la liste.",
                    ));
                }
                if *trainers == plan.trainers {
                    return Ok(vec![]);
                }
                Ok(vec![E::SessionTrainersChanged {
                    trainers: trainers.clone(),
                }])
            }
            C::Withdraw {
                registration_id,
                busy,
            } => {
                let Some(registration) = s.registration(*registration_id) else {
                    return Err(Rejection::not_found(
                        "registration-unknown",
                        "Cette inscription n'existe pas.",
                    ));
                };
                if registration.status == RegistrationStatus::Withdrawn {
                    return Err(Rejection::conflict(
                        "already-withdrawn",
                        "Cette inscription est déjà retirée.",
                    ));
                }
                if !matches!(status, Status::Planned | Status::Open | Status::Closed) || started {
                    return Err(not_now("de retirer une inscription"));
                }
                let mut events = vec![E::RegistrationWithdrawn {
                    registration_id: *registration_id,
                }];
                let promoted = (registration.status == RegistrationStatus::Confirmed)
                    .then(|| {
                        s.registrations.iter().find(|r| {
                            r.status == RegistrationStatus::Waitlisted && !busy.contains(&r.id)
                        })
                    })
                    .flatten();
                if let Some(next) = promoted {
                    events.push(E::RegistrationPromoted {
                        registration_id: next.id,
                    });
                }
                Ok(events)
            }
            C::RecordAttendance {
                registration_id,
                slot_index,
                status: mark,
                minutes,
            } => {
                match status {
                    Status::AttendanceLocked | Status::Archived => {
                        return Err(Rejection::conflict(
                            "attendance-locked",
                            "Les présences sont verrouillées : faites une correction motivée.",
                        ));
                    }
                    Status::Open | Status::Closed | Status::Held => {}
                    _ => return Err(not_now("de saisir les présences")),
                }
                if !started {
                    return Err(Rejection::conflict(
                        "before-start",
                        "Les présences se saisissent une fois la session commencée.",
                    ));
                }
                let minutes =
                    check_attendance(s, plan, *registration_id, *slot_index, *mark, *minutes)?;
                if plan
                    .schedule
                    .slots
                    .get(*slot_index)
                    .is_some_and(|slot| now < slot.starts_at)
                {
                    return Err(Rejection::conflict(
                        "before-start",
                        "Ce créneau n'a pas encore commencé.",
                    ));
                }
                if s.attendance.get(&(*registration_id, *slot_index))
                    == Some(&Mark {
                        status: *mark,
                        minutes,
                    })
                {
                    return Ok(vec![]);
                }
                Ok(vec![E::AttendanceRecorded {
                    registration_id: *registration_id,
                    slot_index: *slot_index,
                    status: *mark,
                    minutes,
                }])
            }
            C::CorrectAttendance {
                registration_id,
                slot_index,
                status: mark,
                minutes,
                reason,
            } => {
                if status != Status::AttendanceLocked {
                    return Err(Rejection::conflict(
                        "not-locked",
                        "Les présences ne sont pas verrouillées : saisissez-les directement.",
                    ));
                }
                if reason.trim().is_empty() {
                    return Err(Rejection::invalid(
                        "reason-required",
                        "reason",
                        "Une correction après verrouillage demande un motif.",
                    ));
                }
                let minutes =
                    check_attendance(s, plan, *registration_id, *slot_index, *mark, *minutes)?;
                Ok(vec![E::AttendanceCorrected {
                    registration_id: *registration_id,
                    slot_index: *slot_index,
                    status: *mark,
                    minutes,
                    reason: reason.trim().to_owned(),
                }])
            }
        }
    }
}

/// The planning `input` asks for, its schedule checked beforehand.
fn planned_event(input: &PlanInput, after_the_fact: bool) -> Result<SessionEvent, Rejection> {
    if input.planned_minutes <= 0 {
        return Err(Rejection::invalid(
            "non-positive-minutes",
            "planned_minutes",
            "La durée prévue doit être positive.",
        ));
    }
    let capacity = positive_capacity(input.capacity)?;
    if input.location.is_none() && input.remote_url.is_none() {
        return Err(Rejection::invalid(
            "no-place",
            "location",
            "Indiquez un lieu ou un lien de classe virtuelle.",
        ));
    }
    Ok(SessionEvent::SessionPlanned {
        training_id: input.training_id,
        department: input.department.clone(),
        schedule: input.schedule.clone(),
        location: input.location.clone(),
        remote_url: input.remote_url.clone(),
        capacity,
        planned_minutes: u32::try_from(input.planned_minutes).unwrap_or(u32::MAX),
        trainers: input.trainers.clone(),
        recorded_after_the_fact: after_the_fact,
    })
}

/// A session over, recorded with its registrants (all confirmed) and their attendance,
/// then its attendance locked: recorded after the fact, it is history, and any later
/// change is an audited correction (with a reason). Sessions recorded before this rule
/// end at `SessionHeld` and read as held, to be locked as any other.
fn record_past(
    input: &PlanInput,
    registrants: &[PastRegistrant],
    now: DateTime<Utc>,
) -> Result<Vec<SessionEvent>, Rejection> {
    use SessionEvent as E;
    if input.schedule.ends_at <= input.schedule.starts_at {
        return Err(Rejection::invalid(
            "end-before-start",
            "ends_at",
            "La fin de la session doit être postérieure à son début.",
        ));
    }
    if input.schedule.ends_at > now {
        return Err(Rejection::invalid(
            "session-not-ended",
            "ends_at",
            "Seule une session terminée s'enregistre après coup ; programmez les autres.",
        ));
    }
    check_slots(&input.schedule)?;
    let mut events = vec![planned_event(input, true)?, E::SessionHeld];
    if let Ok(capacity) = usize::try_from(input.capacity)
        && registrants.len() > capacity
    {
        return Err(Rejection::invalid(
            "capacity-below-confirmed",
            "capacity",
            format!(
                "La liste compte {} personnes inscrites pour {} : indiquez au moins {} places.",
                registrants.len(),
                places(capacity),
                registrants.len()
            ),
        ));
    }
    let mut state = events.iter().fold(SessionState::default(), Session::evolve);
    for past in registrants {
        if state
            .registrations
            .iter()
            .any(|r| r.registrant.person == past.registrant.person)
        {
            return Err(Rejection::invalid(
                "already-registered",
                "registrants",
                "Une même personne figure deux fois parmi les personnes inscrites.",
            ));
        }
        let confirmed = E::RegistrationConfirmed {
            registration_id: past.registration_id,
            registrant: past.registrant.clone(),
            mode: past.mode,
        };
        state = Session::evolve(state, &confirmed);
        events.push(confirmed);
        for (slot_index, status, minutes) in &past.attendance {
            let plan = state.plan.as_ref().ok_or_else(|| {
                Rejection::not_found("session-unknown", "Cette session n'existe pas.")
            })?;
            let minutes = check_attendance(
                &state,
                plan,
                past.registration_id,
                *slot_index,
                *status,
                *minutes,
            )?;
            let recorded = E::AttendanceRecorded {
                registration_id: past.registration_id,
                slot_index: *slot_index,
                status: *status,
                minutes,
            };
            state = Session::evolve(state, &recorded);
            events.push(recorded);
        }
    }
    events.push(E::AttendanceLocked);
    Ok(events)
}

/// A number of places, in words: « une place », « 3 places ».
fn places(count: usize) -> String {
    match count {
        1 => "une place".to_owned(),
        n => format!("{n} places"),
    }
}

/// A number of places: at least one.
fn positive_capacity(capacity: i64) -> Result<u32, Rejection> {
    u32::try_from(capacity)
        .ok()
        .filter(|c| *c > 0)
        .ok_or_else(|| {
            Rejection::invalid(
                "non-positive-capacity",
                "capacity",
                "La capacité doit être d'au moins une place.",
            )
        })
}

fn check_attendance(
    s: &SessionState,
    plan: &Plan,
    registration_id: Uuid,
    slot_index: usize,
    status: AttendanceStatus,
    minutes: Option<i64>,
) -> Result<u32, Rejection> {
    match s.registration(registration_id) {
        Some(r) if r.status == RegistrationStatus::Confirmed => {}
        _ => {
            return Err(Rejection::invalid(
                "not-registered",
                "registration_id",
                "Cette personne n'a pas d'inscription confirmée à cette session.",
            ));
        }
    }
    let Some(slot) = plan.schedule.slots.get(slot_index) else {
        return Err(Rejection::invalid(
            "unknown-slot",
            "slot_index",
            format!(
                "La session compte {} : ils sont numérotés à partir de 0.",
                match plan.schedule.slots.len() {
                    1 => "un seul créneau".to_owned(),
                    n => format!("{n} créneaux"),
                }
            ),
        ));
    };
    hours::slot_minutes(status, minutes, slot.minutes())
        .map_err(|refused| Rejection::invalid(refused.rule(), "minutes", refused.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_decider::given;
    use pharos_events::training::Slot;
    use pharos_privacy::{PersonId, Sealed};

    use RegistrationStatus::{Confirmed, Waitlisted};
    use SessionCommand as C;
    use SessionEvent as E;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn now(text: &str) -> DateTime<Utc> {
        at(text).with_timezone(&Utc)
    }

    const BEFORE: &str = "2026-11-21T10:00:00+01:00";
    const DURING: &str = "2026-12-03T10:00:00+01:00";
    const AFTER: &str = "2026-12-03T18:00:00+01:00";

    /// 2026-12-03, two half-days.
    fn schedule() -> Schedule {
        Schedule {
            starts_at: at("2026-12-03T09:00:00+01:00"),
            ends_at: at("2026-12-03T17:00:00+01:00"),
            slots: vec![
                Slot {
                    starts_at: at("2026-12-03T09:00:00+01:00"),
                    ends_at: at("2026-12-03T12:00:00+01:00"),
                },
                Slot {
                    starts_at: at("2026-12-03T13:30:00+01:00"),
                    ends_at: at("2026-12-03T17:00:00+01:00"),
                },
            ],
        }
    }

    fn plan_input(capacity: i64) -> PlanInput {
        PlanInput {
            training_id: Uuid::nil(),
            department: None,
            schedule: schedule(),
            location: Some("Canopé, Toulouse".into()),
            remote_url: None,
            capacity,
            planned_minutes: 390,
            trainers: vec![],
        }
    }

    /// What planning `plan_input(capacity)` records.
    fn planned(capacity: u32) -> SessionEvent {
        E::SessionPlanned {
            training_id: Uuid::nil(),
            department: None,
            schedule: schedule(),
            location: Some("Canopé, Toulouse".into()),
            remote_url: None,
            capacity,
            planned_minutes: 390,
            trainers: vec![],
            recorded_after_the_fact: false,
        }
    }

    /// A session planned, then opened to registrations.
    fn open(capacity: u32) -> Vec<SessionEvent> {
        vec![planned(capacity), E::SessionOpened]
    }

    /// `history`, then what `command` decides at `instant` (it must succeed).
    fn after(
        history: Vec<SessionEvent>,
        command: &SessionCommand,
        instant: &str,
    ) -> Vec<SessionEvent> {
        let decided = given::<Session>(history.clone())
            .at(now(instant))
            .when(command)
            .events();
        [history, decided].concat()
    }

    fn person(n: u128) -> Registrant {
        let sealed = Sealed {
            person: PersonId(Uuid::from_u128(n)),
            sealed: String::new(),
        };
        Registrant {
            person: PersonId(Uuid::from_u128(n)),
            display_name: sealed.clone(),
            email: sealed,
            school_uai: None,
            function: "CPE".into(),
        }
    }

    fn register(n: u128) -> SessionCommand {
        C::Register {
            registration_id: Uuid::from_u128(1000 + n),
            registrant: person(n),
            mode: RegistrationMode::Volunteer,
            overlapping: vec![],
        }
    }

    #[test]
    fn plans_a_session_then_opens_it() {
        given::<Session>([])
            .at(now(BEFORE))
            .when(&C::Plan(plan_input(10)))
            .then(&[planned(10)]);
        given::<Session>([planned(10)])
            .at(now(BEFORE))
            .when(&C::Open)
            .then(&[E::SessionOpened]);
    }

    #[test]
    fn rejects_a_session_that_ends_before_it_starts() {
        let mut input = plan_input(10);
        input.schedule.ends_at = input.schedule.starts_at;
        given::<Session>([])
            .at(now(BEFORE))
            .when(&C::Plan(input))
            .then_rejected("end-before-start");
    }

    #[test]
    fn rejects_non_positive_planned_minutes_and_capacity() {
        let mut input = plan_input(10);
        input.planned_minutes = 0;
        given::<Session>([])
            .at(now(BEFORE))
            .when(&C::Plan(input))
            .then_rejected("non-positive-minutes");
        given::<Session>([])
            .at(now(BEFORE))
            .when(&C::Plan(plan_input(0)))
            .then_rejected("non-positive-capacity");
    }

    #[test]
    fn rejects_slots_outside_the_session_or_overlapping() {
        let mut input = plan_input(10);
        input.schedule.slots[1].ends_at = at("2026-12-03T18:00:00+01:00");
        given::<Session>([])
            .at(now(BEFORE))
            .when(&C::Plan(input))
            .then_rejected("slot-outside-session");
        let mut input = plan_input(10);
        input.schedule.slots[1].starts_at = at("2026-12-03T11:00:00+01:00");
        given::<Session>([])
            .at(now(BEFORE))
            .when(&C::Plan(input))
            .then_rejected("slots-overlap");
    }

    #[test]
    fn waitlists_registrations_over_capacity_and_promotes_them_in_order() {
        let mut history = open(2);
        for n in 1..=4 {
            history = after(history, &register(n), BEFORE);
        }
        let session = given::<Session>(history.clone()).at(now(BEFORE));
        let statuses: Vec<_> = session
            .state()
            .registrations
            .iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, [Confirmed, Confirmed, Waitlisted, Waitlisted]);
        session
            .when(&C::Withdraw {
                registration_id: Uuid::from_u128(1001),
                busy: vec![],
            })
            .then(&[
                E::RegistrationWithdrawn {
                    registration_id: Uuid::from_u128(1001),
                },
                E::RegistrationPromoted {
                    registration_id: Uuid::from_u128(1003),
                },
            ]);
        // The first waiting person holds an overlapping place elsewhere: the next is
        // promoted, the first keeps waiting.
        given::<Session>(history)
            .at(now(BEFORE))
            .when(&C::Withdraw {
                registration_id: Uuid::from_u128(1001),
                busy: vec![Uuid::from_u128(1003)],
            })
            .then(&[
                E::RegistrationWithdrawn {
                    registration_id: Uuid::from_u128(1001),
                },
                E::RegistrationPromoted {
                    registration_id: Uuid::from_u128(1004),
                },
            ]);
    }

    #[test]
    fn rejects_the_same_person_twice_in_a_session() {
        let mut again = register(1);
        if let C::Register {
            registration_id, ..
        } = &mut again
        {
            *registration_id = Uuid::from_u128(9);
        }
        given::<Session>(after(open(10), &register(1), BEFORE))
            .at(now(BEFORE))
            .when(&again)
            .then_rejected("already-registered");
    }

    #[test]
    fn rejects_a_person_in_two_overlapping_sessions() {
        given::<Session>(open(10))
            .at(now(BEFORE))
            .when(&C::Register {
                registration_id: Uuid::from_u128(1),
                registrant: person(1),
                mode: RegistrationMode::Designated,
                overlapping: vec![Uuid::from_u128(77)],
            })
            .then_rejected("overlapping-session");
    }

    #[test]
    fn rejects_registrations_on_a_cancelled_or_past_session() {
        let cancel = C::Cancel {
            reason: "formateur malade".into(),
        };
        given::<Session>(after(open(10), &cancel, BEFORE))
            .at(now(BEFORE))
            .when(&register(1))
            .then_rejected("session-cancelled");
        given::<Session>(open(10))
            .at(now(DURING))
            .when(&register(1))
            .then_rejected("session-past");
    }

    #[test]
    fn rejects_attendance_for_someone_not_registered_or_before_the_start() {
        let registered = after(open(10), &register(1), BEFORE);
        let mark = |registration: u128| C::RecordAttendance {
            registration_id: Uuid::from_u128(registration),
            slot_index: 0,
            status: AttendanceStatus::Present,
            minutes: None,
        };
        given::<Session>(registered.clone())
            .at(now(BEFORE))
            .when(&mark(1001))
            .then_rejected("before-start");
        given::<Session>(registered.clone())
            .at(now(DURING))
            .when(&mark(1002))
            .then_rejected("not-registered");
        given::<Session>(registered)
            .at(now(DURING))
            .when(&mark(1001))
            .then(&[E::AttendanceRecorded {
                registration_id: Uuid::from_u128(1001),
                slot_index: 0,
                status: AttendanceStatus::Present,
                minutes: 180,
            }]);
    }

    #[test]
    fn rejects_minutes_over_the_slot() {
        given::<Session>(after(open(10), &register(1), BEFORE))
            .at(now(DURING))
            .when(&C::RecordAttendance {
                registration_id: Uuid::from_u128(1001),
                slot_index: 0,
                status: AttendanceStatus::Present,
                minutes: Some(181),
            })
            .then_rejected("minutes-over-slot");
    }

    #[test]
    fn after_the_lock_only_a_correction_with_a_reason_changes_attendance() {
        let locked = after(
            after(open(10), &register(1), BEFORE),
            &C::LockAttendance,
            AFTER,
        );
        assert_eq!(
            given::<Session>(locked.clone()).state().status,
            Some(Status::AttendanceLocked)
        );
        given::<Session>(locked.clone())
            .at(now(AFTER))
            .when(&C::RecordAttendance {
                registration_id: Uuid::from_u128(1001),
                slot_index: 1,
                status: AttendanceStatus::Present,
                minutes: None,
            })
            .then_rejected("attendance-locked");
        let correct = |reason: &str| C::CorrectAttendance {
            registration_id: Uuid::from_u128(1001),
            slot_index: 1,
            status: AttendanceStatus::Present,
            minutes: Some(200),
            reason: reason.into(),
        };
        given::<Session>(locked.clone())
            .at(now(AFTER))
            .when(&correct(" "))
            .then_rejected("reason-required");
        let corrected = given::<Session>(locked)
            .at(now(AFTER))
            .when(&correct("feuille d'émargement retrouvée"))
            .state_after();
        assert_eq!(corrected.attended_minutes(Uuid::from_u128(1001)), 200);
    }

    #[test]
    fn the_lifecycle_refuses_steps_out_of_order() {
        given::<Session>([planned(10)])
            .at(now(BEFORE))
            .when(&C::Close)
            .then_rejected("transition-not-allowed");
        given::<Session>(open(10))
            .at(now(DURING))
            .when(&C::LockAttendance)
            .then_rejected("not-ended");
        given::<Session>([planned(10)])
            .at(now(BEFORE))
            .when(&C::Cancel {
                reason: String::new(),
            })
            .then_rejected("reason-required");
        let locked = after(open(10), &C::LockAttendance, AFTER);
        given::<Session>(locked.clone())
            .at(now(AFTER))
            .when(&C::Cancel { reason: "x".into() })
            .then_rejected("transition-not-allowed");
        given::<Session>(locked)
            .at(now(AFTER))
            .when(&C::Reschedule(schedule()))
            .then_rejected("transition-not-allowed");
    }

    #[test]
    fn volunteers_register_once_open_designated_people_from_planning() {
        given::<Session>([planned(10)])
            .at(now(BEFORE))
            .when(&register(1))
            .then_rejected("registrations-not-open");
        let designated = C::Register {
            registration_id: Uuid::from_u128(1001),
            registrant: person(1),
            mode: RegistrationMode::Designated,
            overlapping: vec![],
        };
        given::<Session>([planned(10)])
            .at(now(BEFORE))
            .when(&designated)
            .then(&[E::RegistrationConfirmed {
                registration_id: Uuid::from_u128(1001),
                registrant: person(1),
                mode: RegistrationMode::Designated,
            }]);
        given::<Session>(open(10))
            .at(now(BEFORE))
            .when(&register(1))
            .events();
    }

    #[test]
    fn raising_the_capacity_promotes_the_waitlist_in_order() {
        let mut history = open(1);
        for n in 1..=4 {
            history = after(history, &register(n), BEFORE);
        }
        given::<Session>(history)
            .at(now(BEFORE))
            .when(&C::ChangeCapacity {
                capacity: 3,
                busy: vec![],
            })
            .then(&[
                E::SessionCapacityChanged { capacity: 3 },
                E::RegistrationPromoted {
                    registration_id: Uuid::from_u128(1002),
                },
                E::RegistrationPromoted {
                    registration_id: Uuid::from_u128(1003),
                },
            ]);
    }

    #[test]
    fn lowering_the_capacity_below_the_confirmed_count_is_refused_with_the_count() {
        let mut history = open(5);
        for n in 1..=3 {
            history = after(history, &register(n), BEFORE);
        }
        let refused = given::<Session>(history.clone())
            .at(now(BEFORE))
            .when(&C::ChangeCapacity {
                capacity: 2,
                busy: vec![],
            })
            .then_rejected("capacity-below-confirmed");
        assert!(refused.message.contains("3 inscriptions"), "{refused}");
        given::<Session>(history.clone())
            .at(now(BEFORE))
            .when(&C::ChangeCapacity {
                capacity: 0,
                busy: vec![],
            })
            .then_rejected("non-positive-capacity");
        given::<Session>(history.clone())
            .at(now(BEFORE))
            .when(&C::ChangeCapacity {
                capacity: 3,
                busy: vec![],
            })
            .then(&[E::SessionCapacityChanged { capacity: 3 }]);
        given::<Session>(history)
            .at(now(DURING))
            .when(&C::ChangeCapacity {
                capacity: 8,
                busy: vec![],
            })
            .then_rejected("session-past");
    }

    #[test]
    fn the_trainers_change_after_planning_until_the_archive() {
        let trainer = Uuid::from_u128(42);
        let changed = given::<Session>(open(10))
            .at(now(BEFORE))
            .when(&C::ChangeTrainers {
                trainers: vec![trainer],
            })
            .state_after();
        assert_eq!(changed.plan.map(|p| p.trainers), Some(vec![trainer]));
        given::<Session>(open(10))
            .at(now(BEFORE))
            .when(&C::ChangeTrainers {
                trainers: vec![trainer, trainer],
            })
            .then_rejected("trainer-twice");
        given::<Session>(open(10))
            .at(now(BEFORE))
            .when(&C::ChangeTrainers { trainers: vec![] })
            .then(&[]);
        let cancelled = after(open(10), &C::Cancel { reason: "x".into() }, BEFORE);
        given::<Session>(cancelled)
            .at(now(BEFORE))
            .when(&C::ChangeTrainers {
                trainers: vec![trainer],
            })
            .then_rejected("transition-not-allowed");
    }

    #[test]
    fn a_session_keeps_its_own_department_and_old_events_read_as_academy_wide() {
        let d31 = DepartmentCode::parse("31").unwrap();
        let mut input = plan_input(10);
        input.department = Some(d31.clone());
        let state = given::<Session>([])
            .at(now(BEFORE))
            .when(&C::Plan(input))
            .state_after();
        assert_eq!(state.plan.and_then(|p| p.department), Some(d31));
        // Recorded before sessions had a department of their own: no field.
        let old = serde_json::json!({
            "type": "session_planned", "training_id": Uuid::nil(),
            "starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00",
            "slots": [], "location": "Toulouse", "capacity": 3, "planned_minutes": 60
        });
        let old: SessionEvent = serde_json::from_value(old).unwrap();
        let state = given::<Session>([old]).state().clone();
        assert_eq!(state.plan.map(|p| p.department), Some(None));
    }

    #[test]
    fn records_a_past_session_with_its_registrants_and_attendance_then_refuses_registrations() {
        let past =
            |n: u128, attendance: Vec<(usize, AttendanceStatus, Option<i64>)>| PastRegistrant {
                registration_id: Uuid::from_u128(1000 + n),
                registrant: person(n),
                mode: RegistrationMode::Designated,
                attendance,
            };
        let record = |capacity: i64, registrants: Vec<PastRegistrant>| C::RecordPast {
            plan: plan_input(capacity),
            registrants,
        };
        let present = AttendanceStatus::Present;
        let command = record(
            10,
            vec![
                past(1, vec![(0, present, None), (1, present, Some(200))]),
                past(2, vec![(0, AttendanceStatus::Absent, None)]),
            ],
        );
        let mut recorded = planned(10);
        if let E::SessionPlanned {
            recorded_after_the_fact,
            ..
        } = &mut recorded
        {
            *recorded_after_the_fact = true;
        }
        let confirmed = |n: u128| E::RegistrationConfirmed {
            registration_id: Uuid::from_u128(1000 + n),
            registrant: person(n),
            mode: RegistrationMode::Designated,
        };
        let mark = |n: u128, slot_index, status, minutes| E::AttendanceRecorded {
            registration_id: Uuid::from_u128(1000 + n),
            slot_index,
            status,
            minutes,
        };
        let events = given::<Session>([]).at(now(AFTER)).when(&command).events();
        assert_eq!(
            events,
            [
                recorded,
                E::SessionHeld,
                confirmed(1),
                mark(1, 0, present, 180),
                mark(1, 1, present, 200),
                confirmed(2),
                mark(2, 0, AttendanceStatus::Absent, 0),
                E::AttendanceLocked,
            ]
        );
        let state = given::<Session>(events.clone()).state().clone();
        assert_eq!(state.status, Some(Status::AttendanceLocked));
        assert_eq!(state.attended_minutes(Uuid::from_u128(1001)), 380);
        assert!(state.plan.is_some_and(|p| p.recorded_after_the_fact));
        given::<Session>(events.clone())
            .at(now(AFTER))
            .when(&register(3))
            .then_rejected("session-past");
        // Its attendance is history: a change is a correction, with a reason.
        let mark = |status| C::RecordAttendance {
            registration_id: Uuid::from_u128(1002),
            slot_index: 1,
            status,
            minutes: None,
        };
        given::<Session>(events.clone())
            .at(now(AFTER))
            .when(&mark(present))
            .then_rejected("attendance-locked");
        given::<Session>(events.clone())
            .at(now(AFTER))
            .when(&C::CorrectAttendance {
                registration_id: Uuid::from_u128(1002),
                slot_index: 1,
                status: present,
                minutes: None,
                reason: "feuille d'émargement retrouvée".into(),
            })
            .events();
        // Recorded before the lock was part of it: held, and locked as any other.
        let old: Vec<SessionEvent> = events[..events.len() - 1].to_vec();
        given::<Session>(old)
            .at(now(AFTER))
            .when(&C::LockAttendance)
            .then(&[E::AttendanceLocked]);

        given::<Session>([])
            .at(now(DURING))
            .when(&command)
            .then_rejected("session-not-ended");
        given::<Session>([])
            .at(now(AFTER))
            .when(&record(10, vec![past(1, vec![]), past(1, vec![])]))
            .then_rejected("already-registered");
        given::<Session>([])
            .at(now(AFTER))
            .when(&record(1, vec![past(1, vec![]), past(2, vec![])]))
            .then_rejected("capacity-below-confirmed");
        given::<Session>([])
            .at(now(AFTER))
            .when(&record(10, vec![past(1, vec![(0, present, Some(181))])]))
            .then_rejected("minutes-over-slot");
        given::<Session>(events)
            .at(now(AFTER))
            .when(&command)
            .then_rejected("session-exists");
    }

    /// A refusal reads as a French sentence: no field name, no code, no « (s) ».
    fn readable(rejection: &Rejection) -> &str {
        let message = rejection.message.as_str();
        assert!(
            message.starts_with(|c: char| c.is_uppercase() || c == '«'),
            "{message}"
        );
        assert!(message.ends_with('.'), "{message}");
        for token in ["_", "(s)", "(x)", "(e)", "`", "{", "[", "?"] {
            assert!(!message.contains(token), "{token} in {message}");
        }
        message
    }

    #[test]
    fn refusals_read_as_french_sentences() {
        let refused = |history: Vec<SessionEvent>, instant: &str, command: &SessionCommand| {
            given::<Session>(history)
                .at(now(instant))
                .when(command)
                .rejection()
        };
        let mut input = plan_input(10);
        input.planned_minutes = 0;
        assert_eq!(
            readable(&refused(vec![], BEFORE, &C::Plan(input))),
            "La durée prévue doit être positive."
        );
        let mut input = plan_input(10);
        input.location = None;
        assert_eq!(
            readable(&refused(vec![], BEFORE, &C::Plan(input))),
            "Indiquez un lieu ou un lien de classe virtuelle."
        );
        assert_eq!(
            readable(&refused(vec![planned(10)], BEFORE, &C::Close)),
            "Impossible de clore les inscriptions : la session est programmée."
        );
        assert_eq!(
            readable(&refused(open(10), BEFORE, &C::Archive)),
            "Impossible d'archiver : la session est ouverte aux inscriptions."
        );
        let mut history = open(5);
        for n in 1..=3 {
            history = after(history, &register(n), BEFORE);
        }
        assert_eq!(
            readable(&refused(
                history.clone(),
                BEFORE,
                &C::ChangeCapacity {
                    capacity: 1,
                    busy: vec![]
                }
            )),
            "Impossible de ramener la capacité à une place : 3 inscriptions sont déjà \
             confirmées. Retirez d'abord des inscriptions, ou gardez au moins 3 places."
        );
        let mark =
            |registration: u128, slot_index: usize, minutes: Option<i64>| C::RecordAttendance {
                registration_id: Uuid::from_u128(registration),
                slot_index,
                status: AttendanceStatus::Present,
                minutes,
            };
        assert_eq!(
            readable(&refused(history.clone(), DURING, &mark(1009, 0, None))),
            "Cette personne n'a pas d'inscription confirmée à cette session."
        );
        assert_eq!(
            readable(&refused(history.clone(), DURING, &mark(1001, 5, None))),
            "La session compte 2 créneaux : ils sont numérotés à partir de 0."
        );
        assert_eq!(
            readable(&refused(history, DURING, &mark(1001, 0, Some(181)))),
            "La présence saisie (181 minutes) dépasse la durée du créneau (180 minutes)."
        );
        let past = |n: u128| PastRegistrant {
            registration_id: Uuid::from_u128(1000 + n),
            registrant: person(n),
            mode: RegistrationMode::Designated,
            attendance: vec![],
        };
        let record = C::RecordPast {
            plan: plan_input(1),
            registrants: vec![past(1), past(2)],
        };
        assert_eq!(
            readable(&refused(vec![], AFTER, &record)),
            "La liste compte 2 personnes inscrites pour une place : indiquez au moins 2 places."
        );
    }
}
