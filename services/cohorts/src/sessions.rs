//! The training sessions a cohort may say it attended: a reference projection of the
//! `training` and `training_session` categories (owned by `trainings`, read here), as
//! `phare`'s `evidence` reads them. A session named by a cohort must exist, not be
//! cancelled and have started; the minutes its attendance records for the cohort's
//! referent are kept with the training.
//!
//! The projection may lag behind a session recorded a moment ago in another process:
//! on a miss, the session's and its training's streams are read from the store and
//! applied ([`find`]).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use pharos_access::Projected;
use pharos_domain::hours::attended_minutes;
use pharos_events::training::{
    AttendanceStatus, SESSION_CATEGORY, SessionEvent, TRAINING_CATEGORY, Topic, TrainingEvent,
};
use pharos_eventstore::{EventStore, RecordedEvent, StoreError, StreamId};
use pharos_privacy::PersonId;
use uuid::Uuid;

use crate::decider::SessionFacts;

/// The projection as the handlers hold it (an axum extension).
pub type Sessions = Arc<Projected<KnownSessions>>;

/// A session as the projection keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SessionEntry {
    training_id: Uuid,
    starts_at: DateTime<FixedOffset>,
    planned_minutes: u32,
    cancelled: bool,
}

#[derive(Debug, Default)]
pub struct KnownSessions {
    /// Each training's title and topic.
    trainings: HashMap<Uuid, (String, Topic)>,
    sessions: HashMap<Uuid, SessionEntry>,
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

impl KnownSessions {
    pub fn apply(&mut self, event: &RecordedEvent) {
        // `training_session-…` also starts with `training`: sessions first.
        if let Some(id) = id_in(SESSION_CATEGORY, &event.stream_id) {
            if let Some(e) = pharos_events::decode::<SessionEvent>(event) {
                self.note_session(id, &e);
            }
        } else if let Some(id) = id_in(TRAINING_CATEGORY, &event.stream_id)
            && let Some(TrainingEvent::TrainingCreated { title, topic, .. }) =
                pharos_events::decode::<TrainingEvent>(event)
        {
            self.trainings.insert(id, (title, topic));
        }
    }

    /// One event of session `id`; applying it twice changes nothing more.
    pub fn note_session(&mut self, id: Uuid, event: &SessionEvent) {
        match event {
            SessionEvent::SessionPlanned {
                training_id,
                schedule,
                planned_minutes,
                ..
            } => {
                let cancelled = self.sessions.get(&id).is_some_and(|s| s.cancelled);
                self.sessions.insert(
                    id,
                    SessionEntry {
                        training_id: *training_id,
                        starts_at: schedule.starts_at,
                        planned_minutes: *planned_minutes,
                        cancelled,
                    },
                );
            }
            SessionEvent::SessionRescheduled { schedule } => {
                if let Some(session) = self.sessions.get_mut(&id) {
                    session.starts_at = schedule.starts_at;
                }
            }
            SessionEvent::SessionCancelled { .. } => {
                if let Some(session) = self.sessions.get_mut(&id) {
                    session.cancelled = true;
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

    /// What a cohort needs of session `id`, with the minutes `referent` attended; `None`
    /// when the session is unknown.
    pub fn facts(&self, id: Uuid, referent: PersonId) -> Option<SessionFacts> {
        let session = self.sessions.get(&id)?;
        let referent_minutes = self
            .registrations
            .iter()
            .filter(|(_, (s, p))| *s == id && *p == referent)
            .map(|(registration, _)| {
                attended_minutes(
                    self.attendance
                        .iter()
                        .filter(|((r, _), _)| r == registration)
                        .map(|(_, slot)| *slot),
                )
            })
            .fold(0, u32::saturating_add);
        let (title, topic) = self
            .trainings
            .get(&session.training_id)
            .cloned()
            .map_or((None, None), |(title, topic)| (Some(title), Some(topic)));
        Some(SessionFacts {
            cancelled: session.cancelled,
            starts_at: session.starts_at,
            planned_minutes: session.planned_minutes,
            title: title.unwrap_or_else(|| "Formation".to_owned()),
            topic,
            referent_minutes,
        })
    }
}

/// The facts of session `id` for `referent`: from the projection, or, when it does not
/// know the session yet, from the session's and its training's streams (then applied to
/// the projection, which ignores them when its subscription delivers them again).
pub async fn find(
    sessions: &Sessions,
    store: &EventStore,
    id: Uuid,
    referent: PersonId,
) -> Result<Option<SessionFacts>, StoreError> {
    if let Some(found) = sessions.read(|s| s.facts(id, referent)) {
        return Ok(Some(found));
    }
    let events = store
        .read_stream(&StreamId::new(SESSION_CATEGORY, id)?, 1)
        .await?;
    if events.is_empty() {
        return Ok(None);
    }
    let training = events
        .iter()
        .filter_map(pharos_events::decode::<SessionEvent>)
        .find_map(|e| match e {
            SessionEvent::SessionPlanned { training_id, .. } => Some(training_id),
            _ => None,
        });
    let mut read = events;
    if let Some(training) = training {
        read.extend(
            store
                .read_stream(&StreamId::new(TRAINING_CATEGORY, training)?, 1)
                .await?,
        );
    }
    sessions.apply_read(&read);
    Ok(sessions.read(|s| s.facts(id, referent)))
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
            status: AttendanceStatus::Present,
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
            planned_minutes: 180,
            trainers: vec![],
            recorded_after_the_fact: true,
        }
    }

    #[test]
    fn knows_a_sessions_title_state_and_what_the_referent_attended() {
        let mut known = KnownSessions::default();
        known.trainings.insert(
            Uuid::from_u128(1),
            ("Ambassadeurs".into(), Topic::Ambassadeurs),
        );
        let session = Uuid::from_u128(11);
        assert_eq!(known.facts(session, person(7)), None);
        known.note_session(session, &planned(1));
        known.note_session(session, &registered(21, 7));
        known.note_session(session, &registered(22, 8));
        // Applied twice (read through, then delivered): counted once.
        for _ in 0..2 {
            known.note_session(session, &attended(21, 0, 90));
            known.note_session(session, &attended(22, 0, 180));
        }
        let facts = known.facts(session, person(7)).unwrap();
        assert_eq!(facts.title, "Ambassadeurs");
        assert_eq!(facts.topic, Some(Topic::Ambassadeurs));
        assert_eq!((facts.referent_minutes, facts.planned_minutes), (90, 180));
        assert!(!facts.cancelled);
        assert_eq!(known.facts(session, person(9)).unwrap().referent_minutes, 0);
        known.note_session(
            session,
            &SessionEvent::SessionCancelled {
                reason: "Neige".into(),
            },
        );
        known.note_session(session, &planned(1));
        assert!(known.facts(session, person(7)).unwrap().cancelled);
    }
}
