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
use pharos_privacy::PersonId;
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

/// What can be asked of a session.
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
        s: &SessionState,
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
                return Err(Rejection::invalid(
                    "non-positive-minutes",
                    "planned_minutes",
                    "La durée prévue (planned_minutes) doit être positive.",
                ));
            }
            let capacity = u32::try_from(input.capacity)
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| {
                    Rejection::invalid(
                        "non-positive-capacity",
                        "capacity",
                        "La capacité doit être d'au moins une place.",
                    )
                })?;
            if input.location.is_none() && input.remote_url.is_none() {
                return Err(Rejection::invalid(
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
            Rejection::conflict(
                "transition-not-allowed",
                format!("Impossible de {what} : la session est {}.", status.label()),
            )
        };
        let started = now >= plan.schedule.starts_at;
        match command {
            C::Plan(_) => Err(Rejection::conflict(
                "session-exists",
                "Cette session existe déjà.",
            )),
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
                Status::Open | Status::Closed => Err(Rejection::conflict(
                    "not-started",
                    "La session n'a pas encore commencé.",
                )),
                _ => Err(not_now("déclarer la session tenue")),
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
                _ => Err(not_now("verrouiller les présences")),
            },
            C::Archive => match status {
                Status::AttendanceLocked => Ok(vec![E::SessionArchived]),
                _ => Err(not_now("archiver")),
            },
            C::Cancel { reason } => {
                if reason.trim().is_empty() {
                    return Err(Rejection::invalid(
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
                        return Err(Rejection::conflict(
                            "session-cancelled",
                            "Cette session est annulée : plus aucune inscription.",
                        ));
                    }
                    Status::Planned | Status::Open if started => {
                        return Err(Rejection::conflict(
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
            C::Withdraw { registration_id } => {
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
                        return Err(Rejection::conflict(
                            "attendance-locked",
                            "Les présences sont verrouillées : faites une correction motivée.",
                        ));
                    }
                    Status::Open | Status::Closed | Status::Held => {}
                    _ => return Err(not_now("saisir les présences")),
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
                "Cette personne n'est pas inscrite (confirmée) à cette session.",
            ));
        }
    }
    let Some(slot) = plan.schedule.slots.get(slot_index) else {
        return Err(Rejection::invalid(
            "unknown-slot",
            "slot_index",
            format!(
                "La session compte {} créneau(x), numérotés à partir de 0.",
                plan.schedule.slots.len()
            ),
        ));
    };
    hours::slot_minutes(status, minutes, slot.minutes())
        .map_err(|refused| Rejection::invalid(refused.rule(), "minutes", refused.to_string()))
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
    use pharos_decider::given;
    use pharos_events::training::Slot;
    use pharos_privacy::Sealed;

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
        let session = given::<Session>(history).at(now(BEFORE));
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
            })
            .then(&[
                E::RegistrationWithdrawn {
                    registration_id: Uuid::from_u128(1001),
                },
                E::RegistrationPromoted {
                    registration_id: Uuid::from_u128(1003),
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
}
