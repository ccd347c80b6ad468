//! The session decider (category `training_session`): lifecycle, registrations with
//! capacity and waitlist, attendance per slot, audited corrections. Pure: time and the
//! person's other sessions come in the command.

use chrono::{DateTime, FixedOffset, Utc};
use pharos_decider::Decider;
use pharos_events::DepartmentCode;
use pharos_events::training::{
    AttendanceStatus, Registrant, RegistrationMode, Schedule, SessionEvent,
};
use pharos_privacy::PersonId;
use pharos_decider::Rejection;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SessionStatus)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    Confirmed,
    Waitlisted,
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: Uuid,
    pub registrant: Registrant,
    pub mode: RegistrationMode,
    pub status: RegistrationStatus,
}

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
}

/// One attendance entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub status: AttendanceStatus,
    pub minutes: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Session {
    pub plan: Option<Plan>,
    pub status: Option<Status>,
    /// In registration order: the waitlist is served in this order.
    pub registrations: Vec<Registration>,
    pub attendance: std::collections::BTreeMap<(Uuid, usize), Mark>,
    pub cancel_reason: Option<String>,
}

impl Session {
    pub fn registration(&self, id: Uuid) -> Option<&Registration> {
        self.registrations.iter().find(|r| r.id == id)
    }

    pub fn confirmed(&self) -> usize {
        self.registrations
            .iter()
            .filter(|r| r.status == RegistrationStatus::Confirmed)
            .count()
    }

    /// Minutes attended by a registration: its present slots.
    pub fn attended_minutes(&self, registration: Uuid) -> u32 {
        self.attendance
            .range((registration, 0)..=(registration, usize::MAX))
            .filter(|(_, m)| m.status == AttendanceStatus::Present)
            .map(|(_, m)| m.minutes)
            .sum()
    }
}

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

#[derive(Debug, Clone)]
pub enum SessionCommand {
    Plan(PlanInput),
    Open,
    Close,
    Hold,
    LockAttendance,
    Archive,
    Cancel {
        reason: String,
    },
    Reschedule(Schedule),
    Register {
        registration_id: Uuid,
        registrant: Registrant,
        mode: RegistrationMode,
        /// Sessions this person is already in whose times overlap this one's.
        overlapping: Vec<Uuid>,
    },
    Withdraw {
        registration_id: Uuid,
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

#[derive(Debug)]
pub struct Sessions;

fn conflict(rule: &'static str, message: impl Into<String>) -> Rejection {
    Rejection::conflict(rule, message)
}

fn invalid(rule: &'static str, field: &'static str, message: impl Into<String>) -> Rejection {
    Rejection::invalid(rule, field, message)
}

/// The rules a schedule obeys wherever it comes from (planning, rescheduling).
pub fn check_schedule(schedule: &Schedule, now: DateTime<Utc>) -> Result<(), Rejection> {
    if schedule.ends_at <= schedule.starts_at {
        return Err(invalid(
            "end-before-start",
            "ends_at",
            "La fin de la session doit être postérieure à son début.",
        ));
    }
    if schedule.starts_at <= now {
        return Err(invalid(
            "session-in-the-past",
            "starts_at",
            "Une session ne peut pas être programmée dans le passé.",
        ));
    }
    if schedule.slots.is_empty() {
        return Err(invalid(
            "no-slot",
            "slots",
            "Une session compte au moins une demi-journée (créneau).",
        ));
    }
    let mut previous_end: Option<DateTime<FixedOffset>> = None;
    for slot in &schedule.slots {
        if slot.ends_at <= slot.starts_at {
            return Err(invalid(
                "slot-end-before-start",
                "slots",
                "Chaque créneau doit finir après avoir commencé.",
            ));
        }
        if slot.starts_at < schedule.starts_at || slot.ends_at > schedule.ends_at {
            return Err(invalid(
                "slot-outside-session",
                "slots",
                "Les créneaux doivent tenir entre le début et la fin de la session.",
            ));
        }
        if previous_end.is_some_and(|end| slot.starts_at < end) {
            return Err(invalid(
                "slots-overlap",
                "slots",
                "Les créneaux doivent se suivre sans se chevaucher, dans l'ordre.",
            ));
        }
        previous_end = Some(slot.ends_at);
    }
    Ok(())
}

fn check_minutes(
    status: AttendanceStatus,
    minutes: Option<i64>,
    slot_minutes: i64,
) -> Result<u32, Rejection> {
    match (status, minutes) {
        (AttendanceStatus::Present, None) => Ok(u32::try_from(slot_minutes).unwrap_or(0)),
        (AttendanceStatus::Present, Some(m)) if m <= 0 => Err(invalid(
            "non-positive-minutes",
            "minutes",
            "Une présence compte un nombre de minutes positif.",
        )),
        (AttendanceStatus::Present, Some(m)) if m > slot_minutes => Err(invalid(
            "minutes-over-slot",
            "minutes",
            format!("{m} minutes dépassent la durée du créneau ({slot_minutes} minutes)."),
        )),
        (AttendanceStatus::Present, Some(m)) => Ok(u32::try_from(m).unwrap_or(0)),
        (_, None | Some(0)) => Ok(0),
        (_, Some(_)) => Err(invalid(
            "minutes-for-absence",
            "minutes",
            "Une absence ne compte pas de minutes.",
        )),
    }
}

impl Decider for Sessions {
    type State = Session;
    type Command = SessionCommand;
    type Event = SessionEvent;

    fn evolve(mut s: Session, event: &SessionEvent) -> Session {
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
            } => {
                s.plan = Some(Plan {
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
        s: &Session,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionEvent>, Rejection> {
        use SessionCommand as C;
        use SessionEvent as E;
        let (Some(plan), Some(status)) = (&s.plan, s.status) else {
            let C::Plan(input) = command else {
                return Err(Rejection::not_found(
                    "session-unknown",
                    "Cette session n'existe pas.",
                ));
            };
            check_schedule(&input.schedule, now)?;
            if input.planned_minutes <= 0 {
                return Err(invalid(
                    "non-positive-minutes",
                    "planned_minutes",
                    "La durée prévue (planned_minutes) doit être positive.",
                ));
            }
            let capacity = u32::try_from(input.capacity)
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| {
                    invalid(
                        "non-positive-capacity",
                        "capacity",
                        "La capacité doit être d'au moins une place.",
                    )
                })?;
            if input.location.is_none() && input.remote_url.is_none() {
                return Err(invalid(
                    "no-place",
                    "location",
                    "Indiquez un lieu (location) ou un lien de classe virtuelle (remote_url).",
                ));
            }
            return Ok(vec![E::SessionPlanned {
                training_id: input.training_id,
                department: input.department.clone(),
                schedule: input.schedule.clone(),
                location: input.location.clone(),
                remote_url: input.remote_url.clone(),
                capacity,
                planned_minutes: u32::try_from(input.planned_minutes).unwrap_or(u32::MAX),
                trainers: input.trainers.clone(),
            }]);
        };
        let not_now = |what: &str| {
            conflict(
                "transition-not-allowed",
                format!("Impossible de {what} : la session est {}.", status.label()),
            )
        };
        let started = now >= plan.schedule.starts_at;
        match command {
            C::Plan(_) => Err(conflict("session-exists", "Cette session existe déjà.")),
            C::Open => match status {
                Status::Planned => Ok(vec![E::SessionOpened]),
                _ => Err(not_now("ouvrir les inscriptions")),
            },
            C::Close => match status {
                Status::Open => Ok(vec![E::SessionClosed]),
                _ => Err(not_now("clore les inscriptions")),
            },
            C::Hold => match status {
                Status::Open | Status::Closed if started => Ok(vec![E::SessionHeld]),
                Status::Open | Status::Closed => Err(conflict(
                    "not-started",
                    "La session n'a pas encore commencé.",
                )),
                _ => Err(not_now("déclarer la session tenue")),
            },
            C::LockAttendance => match status {
                Status::Open | Status::Closed | Status::Held if now < plan.schedule.ends_at => {
                    Err(conflict(
                        "not-ended",
                        "Les présences se verrouillent une fois la session terminée.",
                    ))
                }
                Status::Open | Status::Closed => Ok(vec![E::SessionHeld, E::AttendanceLocked]),
                Status::Held => Ok(vec![E::AttendanceLocked]),
                _ => Err(not_now("verrouiller les présences")),
            },
            C::Archive => match status {
                Status::AttendanceLocked => Ok(vec![E::SessionArchived]),
                _ => Err(not_now("archiver")),
            },
            C::Cancel { reason } => {
                if reason.trim().is_empty() {
                    return Err(invalid(
                        "reason-required",
                        "reason",
                        "Indiquez le motif de l'annulation : il est communiqué aux inscrits.",
                    ));
                }
                match status {
                    Status::Planned | Status::Open | Status::Closed => {
                        Ok(vec![E::SessionCancelled {
                            reason: reason.trim().to_owned(),
                        }])
                    }
                    _ => Err(not_now("annuler")),
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
                _ => Err(not_now("reprogrammer")),
            },
            C::Register {
                registration_id,
                registrant,
                mode,
                overlapping,
            } => {
                match status {
                    Status::Cancelled => {
                        return Err(conflict(
                            "session-cancelled",
                            "Cette session est annulée : plus aucune inscription.",
                        ));
                    }
                    Status::Planned | Status::Open if started => {
                        return Err(conflict(
                            "session-past",
                            "Cette session a déjà commencé : plus aucune inscription.",
                        ));
                    }
                    Status::Planned | Status::Open => {}
                    _ => return Err(not_now("inscrire")),
                }
                if s.registrations.iter().any(|r| {
                    r.registrant.person == registrant.person
                        && r.status != RegistrationStatus::Withdrawn
                }) {
                    return Err(conflict(
                        "already-registered",
                        "Cette personne est déjà inscrite à cette session.",
                    ));
                }
                if !overlapping.is_empty() {
                    return Err(conflict(
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
            C::Withdraw { registration_id } => {
                let Some(registration) = s.registration(*registration_id) else {
                    return Err(Rejection::not_found(
                        "registration-unknown",
                        "Cette inscription n'existe pas.",
                    ));
                };
                if registration.status == RegistrationStatus::Withdrawn {
                    return Err(conflict(
                        "already-withdrawn",
                        "Cette inscription est déjà retirée.",
                    ));
                }
                if !matches!(status, Status::Planned | Status::Open | Status::Closed) || started {
                    return Err(not_now("retirer une inscription"));
                }
                let mut events = vec![E::RegistrationWithdrawn {
                    registration_id: *registration_id,
                }];
                let promoted = (registration.status == RegistrationStatus::Confirmed)
                    .then(|| {
                        s.registrations
                            .iter()
                            .find(|r| r.status == RegistrationStatus::Waitlisted)
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
                        return Err(conflict(
                            "attendance-locked",
                            "Les présences sont verrouillées : faites une correction motivée.",
                        ));
                    }
                    Status::Open | Status::Closed | Status::Held => {}
                    _ => return Err(not_now("saisir les présences")),
                }
                if !started {
                    return Err(conflict(
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
                    return Err(conflict(
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
                    return Err(conflict(
                        "not-locked",
                        "Les présences ne sont pas verrouillées : saisissez-les directement.",
                    ));
                }
                if reason.trim().is_empty() {
                    return Err(invalid(
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

fn check_attendance(
    s: &Session,
    plan: &Plan,
    registration_id: Uuid,
    slot_index: usize,
    status: AttendanceStatus,
    minutes: Option<i64>,
) -> Result<u32, Rejection> {
    match s.registration(registration_id) {
        Some(r) if r.status == RegistrationStatus::Confirmed => {}
        _ => {
            return Err(invalid(
                "not-registered",
                "registration_id",
                "Cette personne n'est pas inscrite (confirmée) à cette session.",
            ));
        }
    }
    let Some(slot) = plan.schedule.slots.get(slot_index) else {
        return Err(invalid(
            "unknown-slot",
            "slot_index",
            format!(
                "La session compte {} créneau(x), numérotés à partir de 0.",
                plan.schedule.slots.len()
            ),
        ));
    };
    check_minutes(status, minutes, slot.minutes())
}

/// The person behind a registration, for the overlap check.
pub fn person_of(event: &SessionEvent) -> Option<(Uuid, PersonId)> {
    match event {
        SessionEvent::RegistrationConfirmed {
            registration_id,
            registrant,
            ..
        }
        | SessionEvent::RegistrationWaitlisted {
            registration_id,
            registrant,
            ..
        } => Some((*registration_id, registrant.person)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_events::training::Slot;
    use pharos_privacy::Sealed;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn now(text: &str) -> DateTime<Utc> {
        at(text).with_timezone(&Utc)
    }

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

    const BEFORE: &str = "2026-11-21T10:00:00+01:00";
    const DURING: &str = "2026-12-03T10:00:00+01:00";
    const AFTER: &str = "2026-12-03T18:00:00+01:00";

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
        SessionCommand::Register {
            registration_id: Uuid::from_u128(1000 + n),
            registrant: person(n),
            mode: RegistrationMode::Volunteer,
            overlapping: vec![],
        }
    }

    /// Given these commands succeeded in order, the state.
    fn given(commands: &[(SessionCommand, &str)]) -> Session {
        let mut state = Session::default();
        for (command, instant) in commands {
            for event in Sessions::decide(command, &state, now(instant)).unwrap() {
                state = Sessions::evolve(state, &event);
            }
        }
        state
    }

    fn rule(command: &SessionCommand, state: &Session, instant: &str) -> &'static str {
        Sessions::decide(command, state, now(instant))
            .unwrap_err()
            .rule
    }

    fn open(capacity: i64) -> Vec<(SessionCommand, &'static str)> {
        vec![
            (SessionCommand::Plan(plan_input(capacity)), BEFORE),
            (SessionCommand::Open, BEFORE),
        ]
    }

    #[test]
    fn rejects_a_session_that_ends_before_it_starts() {
        let mut input = plan_input(10);
        input.schedule.ends_at = input.schedule.starts_at;
        assert_eq!(
            rule(&SessionCommand::Plan(input), &Session::default(), BEFORE),
            "end-before-start"
        );
    }

    #[test]
    fn rejects_non_positive_planned_minutes_and_capacity() {
        let mut input = plan_input(10);
        input.planned_minutes = 0;
        assert_eq!(
            rule(&SessionCommand::Plan(input), &Session::default(), BEFORE),
            "non-positive-minutes"
        );
        assert_eq!(
            rule(
                &SessionCommand::Plan(plan_input(0)),
                &Session::default(),
                BEFORE
            ),
            "non-positive-capacity"
        );
    }

    #[test]
    fn rejects_slots_outside_the_session_or_overlapping() {
        let mut input = plan_input(10);
        input.schedule.slots[1].ends_at = at("2026-12-03T18:00:00+01:00");
        assert_eq!(
            rule(&SessionCommand::Plan(input), &Session::default(), BEFORE),
            "slot-outside-session"
        );
        let mut input = plan_input(10);
        input.schedule.slots[1].starts_at = at("2026-12-03T11:00:00+01:00");
        assert_eq!(
            rule(&SessionCommand::Plan(input), &Session::default(), BEFORE),
            "slots-overlap"
        );
    }

    #[test]
    fn waitlists_registrations_over_capacity_and_promotes_them_in_order() {
        let mut commands = open(2);
        for n in 1..=4 {
            commands.push((register(n), BEFORE));
        }
        let state = given(&commands);
        let statuses: Vec<_> = state.registrations.iter().map(|r| r.status).collect();
        use RegistrationStatus::{Confirmed, Waitlisted};
        assert_eq!(statuses, [Confirmed, Confirmed, Waitlisted, Waitlisted]);
        let events = Sessions::decide(
            &SessionCommand::Withdraw {
                registration_id: Uuid::from_u128(1001),
            },
            &state,
            now(BEFORE),
        )
        .unwrap();
        assert_eq!(
            events,
            [
                SessionEvent::RegistrationWithdrawn {
                    registration_id: Uuid::from_u128(1001)
                },
                SessionEvent::RegistrationPromoted {
                    registration_id: Uuid::from_u128(1003)
                },
            ]
        );
    }

    #[test]
    fn rejects_the_same_person_twice_in_a_session() {
        let mut commands = open(10);
        commands.push((register(1), BEFORE));
        let state = given(&commands);
        let mut again = register(1);
        if let SessionCommand::Register {
            registration_id, ..
        } = &mut again
        {
            *registration_id = Uuid::from_u128(9);
        }
        assert_eq!(rule(&again, &state, BEFORE), "already-registered");
    }

    #[test]
    fn rejects_a_person_in_two_overlapping_sessions() {
        let state = given(&open(10));
        let command = SessionCommand::Register {
            registration_id: Uuid::from_u128(1),
            registrant: person(1),
            mode: RegistrationMode::Designated,
            overlapping: vec![Uuid::from_u128(77)],
        };
        assert_eq!(rule(&command, &state, BEFORE), "overlapping-session");
    }

    #[test]
    fn rejects_registrations_on_a_cancelled_or_past_session() {
        let mut commands = open(10);
        commands.push((
            SessionCommand::Cancel {
                reason: "formateur malade".into(),
            },
            BEFORE,
        ));
        assert_eq!(
            rule(&register(1), &given(&commands), BEFORE),
            "session-cancelled"
        );
        assert_eq!(
            rule(&register(1), &given(&open(10)), DURING),
            "session-past"
        );
    }

    #[test]
    fn rejects_attendance_for_someone_not_registered_or_before_the_start() {
        let mut commands = open(10);
        commands.push((register(1), BEFORE));
        let state = given(&commands);
        let mark = |registration: u128| SessionCommand::RecordAttendance {
            registration_id: Uuid::from_u128(registration),
            slot_index: 0,
            status: AttendanceStatus::Present,
            minutes: None,
        };
        assert_eq!(rule(&mark(1001), &state, BEFORE), "before-start");
        assert_eq!(rule(&mark(1002), &state, DURING), "not-registered");
        let events = Sessions::decide(&mark(1001), &state, now(DURING)).unwrap();
        assert_eq!(
            events,
            [SessionEvent::AttendanceRecorded {
                registration_id: Uuid::from_u128(1001),
                slot_index: 0,
                status: AttendanceStatus::Present,
                minutes: 180,
            }]
        );
    }

    #[test]
    fn rejects_minutes_over_the_slot() {
        let mut commands = open(10);
        commands.push((register(1), BEFORE));
        let command = SessionCommand::RecordAttendance {
            registration_id: Uuid::from_u128(1001),
            slot_index: 0,
            status: AttendanceStatus::Present,
            minutes: Some(181),
        };
        assert_eq!(
            rule(&command, &given(&commands), DURING),
            "minutes-over-slot"
        );
    }

    #[test]
    fn after_the_lock_only_a_correction_with_a_reason_changes_attendance() {
        let mut commands = open(10);
        commands.push((register(1), BEFORE));
        commands.push((SessionCommand::LockAttendance, AFTER));
        let state = given(&commands);
        assert_eq!(state.status, Some(Status::AttendanceLocked));
        let record = SessionCommand::RecordAttendance {
            registration_id: Uuid::from_u128(1001),
            slot_index: 1,
            status: AttendanceStatus::Present,
            minutes: None,
        };
        assert_eq!(rule(&record, &state, AFTER), "attendance-locked");
        let correct = |reason: &str| SessionCommand::CorrectAttendance {
            registration_id: Uuid::from_u128(1001),
            slot_index: 1,
            status: AttendanceStatus::Present,
            minutes: Some(200),
            reason: reason.into(),
        };
        assert_eq!(rule(&correct(" "), &state, AFTER), "reason-required");
        let corrected = given(
            &[
                commands.clone(),
                vec![(correct("feuille d'émargement retrouvée"), AFTER)],
            ]
            .concat(),
        );
        assert_eq!(corrected.attended_minutes(Uuid::from_u128(1001)), 200);
    }

    #[test]
    fn the_lifecycle_refuses_steps_out_of_order() {
        let planned = given(&open(10)[..1]);
        assert_eq!(
            rule(&SessionCommand::Close, &planned, BEFORE),
            "transition-not-allowed"
        );
        assert_eq!(
            rule(&SessionCommand::LockAttendance, &given(&open(10)), DURING),
            "not-ended"
        );
        assert_eq!(
            rule(
                &SessionCommand::Cancel {
                    reason: String::new()
                },
                &planned,
                BEFORE
            ),
            "reason-required"
        );
        let mut commands = open(10);
        commands.push((SessionCommand::LockAttendance, AFTER));
        let locked = given(&commands);
        assert_eq!(
            rule(
                &SessionCommand::Cancel { reason: "x".into() },
                &locked,
                AFTER
            ),
            "transition-not-allowed"
        );
        assert_eq!(
            rule(&SessionCommand::Reschedule(schedule()), &locked, AFTER),
            "transition-not-allowed"
        );
    }
}
