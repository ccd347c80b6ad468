//! What the trainings' events say a person attended: a reference projection of the
//! `training` and `training_session` categories (owned by `trainings`, read here), so
//! that a resource-team member shows the pHARe trainings behind « formé ». It is
//! evidence shown beside what the school declares, never a reason to refuse a save.

use std::collections::HashMap;
use std::sync::Arc;

use pharos_access::Projected;
use pharos_domain::hours::attended_minutes;
use pharos_events::training::{
    AttendanceStatus, SESSION_CATEGORY, SessionEvent, TRAINING_CATEGORY, Topic, TrainingEvent,
};
use pharos_eventstore::RecordedEvent;
use pharos_privacy::PersonId;
use uuid::Uuid;

/// The projection as the handlers hold it (an axum extension).
pub type Evidence = Arc<Projected<TrainingsAttended>>;

/// Minutes a person attended, by kind of pHARe training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attended {
    /// Trainings of resource teams (topic `equipe_ressource`).
    pub team_minutes: u32,
    /// Trainings in the méthode de la préoccupation partagée (topic `mpp`).
    pub mpp_minutes: u32,
}

#[derive(Debug, Default)]
pub struct TrainingsAttended {
    topics: HashMap<Uuid, Topic>,
    /// Each session's training, and whether it was cancelled.
    sessions: HashMap<Uuid, (Uuid, bool)>,
    /// Each registration's session and person, while not withdrawn.
    registrations: HashMap<Uuid, (Uuid, PersonId)>,
    /// Each registration's attendance per slot, as last recorded or corrected.
    attendance: HashMap<(Uuid, usize), (AttendanceStatus, u32)>,
}

fn id_in(category: &str, stream_id: &str) -> Option<Uuid> {
    stream_id
        .strip_prefix(category)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|id| Uuid::parse_str(id).ok())
}

impl TrainingsAttended {
    pub fn apply(&mut self, event: &RecordedEvent) {
        // `training_session-…` also starts with `training`: sessions first.
        if let Some(id) = id_in(SESSION_CATEGORY, &event.stream_id) {
            if let Some(e) = pharos_events::decode::<SessionEvent>(event) {
                self.note_session(id, &e);
            }
        } else if let Some(id) = id_in(TRAINING_CATEGORY, &event.stream_id)
            && let Some(TrainingEvent::TrainingCreated { topic, .. }) =
                pharos_events::decode::<TrainingEvent>(event)
        {
            self.topics.insert(id, topic);
        }
    }

    /// One event of session `id`; applying it twice changes nothing more.
    pub fn note_session(&mut self, id: Uuid, event: &SessionEvent) {
        match event {
            SessionEvent::SessionPlanned { training_id, .. } => {
                let cancelled = self.sessions.get(&id).is_some_and(|s| s.1);
                self.sessions.insert(id, (*training_id, cancelled));
            }
            SessionEvent::SessionCancelled { .. } => {
                if let Some(session) = self.sessions.get_mut(&id) {
                    session.1 = true;
                }
            }
            SessionEvent::RegistrationConfirmed {
                registration_id,
                registrant,
                ..
            }
            | SessionEvent::RegistrationWaitlisted {
                registration_id,
                registrant,
                ..
            } => {
                self.registrations
                    .insert(*registration_id, (id, registrant.person));
            }
            SessionEvent::RegistrationWithdrawn { registration_id } => {
                self.registrations.remove(registration_id);
            }
            SessionEvent::AttendanceRecorded {
                registration_id,
                slot_index,
                status,
                minutes,
            }
            | SessionEvent::AttendanceCorrected {
                registration_id,
                slot_index,
                status,
                minutes,
                ..
            } => {
                self.attendance
                    .insert((*registration_id, *slot_index), (*status, *minutes));
            }
            _ => {}
        }
    }

    /// What `person` attended of pHARe trainings (sessions not cancelled).
    pub fn of(&self, person: PersonId) -> Attended {
        let mut attended = Attended::default();
        for (registration, (session, _)) in
            self.registrations.iter().filter(|(_, (_, p))| *p == person)
        {
            let Some((training, false)) = self.sessions.get(session) else {
                continue;
            };
            let minutes = attended_minutes(
                self.attendance
                    .iter()
                    .filter(|((r, _), _)| r == registration)
                    .map(|(_, slot)| *slot),
            );
            match self.topics.get(training) {
                Some(Topic::EquipeRessource) => {
                    attended.team_minutes = attended.team_minutes.saturating_add(minutes);
                }
                Some(Topic::Mpp) => {
                    attended.mpp_minutes = attended.mpp_minutes.saturating_add(minutes);
                }
                _ => {}
            }
        }
        attended
    }
}

#[cfg(test)]
mod tests {
    use pharos_events::training::{Registrant, RegistrationMode, Schedule};
    use pharos_privacy::Sealed;

    use super::*;

    fn person(n: u128) -> PersonId {
        PersonId(Uuid::from_u128(n))
    }

    fn registered(registration: u128, who: u128) -> SessionEvent {
        let sealed = Sealed {
            person: person(who),
            sealed: "YQ==".into(),
        };
        SessionEvent::RegistrationConfirmed {
            registration_id: Uuid::from_u128(registration),
            registrant: Registrant {
                person: person(who),
                display_name: sealed.clone(),
                email: sealed,
                school_uai: None,
                function: "CPE".into(),
            },
            mode: RegistrationMode::Designated,
        }
    }

    fn attended(registration: u128, slot_index: usize, minutes: u32) -> SessionEvent {
        SessionEvent::AttendanceRecorded {
            registration_id: Uuid::from_u128(registration),
            slot_index,
            status: if minutes > 0 {
                AttendanceStatus::Present
            } else {
                AttendanceStatus::Absent
            },
            minutes,
        }
    }

    fn planned(training: u128) -> SessionEvent {
        let at = "2026-11-03T09:00:00+01:00".parse().unwrap();
        SessionEvent::SessionPlanned {
            training_id: Uuid::from_u128(training),
            department: None,
            schedule: Schedule {
                starts_at: at,
                ends_at: at,
                slots: vec![],
            },
            location: None,
            remote_url: None,
            capacity: 10,
            planned_minutes: 390,
            trainers: vec![],
            recorded_after_the_fact: true,
        }
    }

    #[test]
    fn counts_the_minutes_attended_by_kind_of_phare_training() {
        let mut index = TrainingsAttended::default();
        index
            .topics
            .insert(Uuid::from_u128(1), Topic::EquipeRessource);
        index.topics.insert(Uuid::from_u128(2), Topic::Mpp);
        index.topics.insert(Uuid::from_u128(3), Topic::Parents);
        let (team, mpp, other, cancelled) = (
            Uuid::from_u128(11),
            Uuid::from_u128(12),
            Uuid::from_u128(13),
            Uuid::from_u128(14),
        );
        for (session, training) in [(team, 1), (mpp, 2), (other, 3), (cancelled, 1)] {
            index.note_session(session, &planned(training));
        }
        index.note_session(
            cancelled,
            &SessionEvent::SessionCancelled {
                reason: "Neige".into(),
            },
        );
        for (session, registration) in [(team, 21), (mpp, 22), (other, 23), (cancelled, 24)] {
            index.note_session(session, &registered(registration, 7));
            index.note_session(session, &attended(registration, 0, 180));
            // Applied twice (written through, then delivered): counted once.
            index.note_session(session, &attended(registration, 0, 180));
        }
        index.note_session(team, &attended(21, 1, 0));
        index.note_session(team, &registered(25, 8));
        index.note_session(team, &attended(25, 0, 180));
        assert_eq!(
            index.of(person(7)),
            Attended {
                team_minutes: 180,
                mpp_minutes: 180
            }
        );
        index.note_session(
            team,
            &SessionEvent::RegistrationWithdrawn {
                registration_id: Uuid::from_u128(25),
            },
        );
        assert_eq!(index.of(person(8)), Attended::default());
        assert_eq!(index.of(person(9)), Attended::default());
    }
}
