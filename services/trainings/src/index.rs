//! Trainings and their sessions, in memory, fed by a subscription to `training` and
//! `training_session`: the overlap rule ("the same person confirmed in two overlapping
//! sessions") spans streams, so it is checked against this projection before deciding
//! (a first check; `crate::schedule` decides it on one stream per person, across
//! processes); and the plannings (`GET /api/v1/trainings`, `GET /api/v1/trainings/{id}/sessions`) are
//! answered from it, never by reading the log per request. Two registrations of one
//! person racing into two overlapping sessions in the same instant can both pass this
//! check; the person's schedule stream then refuses one of them.
//!
//! Each session is folded by the session decider's own `evolve`, event by event in
//! stream order: an event is applied only when it is the next version of its stream, so
//! the handlers' write-through and the subscription may deliver the same event twice, or
//! the write-through run ahead of a gap, without changing the result.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, Utc};
use pharos_decider::Decider;
use pharos_events::DepartmentCode;
use pharos_events::training::{
    SESSION_CATEGORY, Schedule, SessionEvent, TRAINING_CATEGORY, Topic, TrainingEvent,
};
use pharos_eventstore::RecordedEvent;
use pharos_privacy::PersonId;
use uuid::Uuid;

use crate::session::decider::{RegistrationStatus, Session, SessionState, Status};

/// A session as the index keeps it: its state and the version it is at.
#[derive(Debug, Default)]
pub struct Indexed {
    pub state: SessionState,
    pub version: i64,
}

impl Indexed {
    /// Planned, so with a plan and a status.
    pub fn planned(&self) -> Option<(&crate::session::decider::Plan, Status)> {
        Some((self.state.plan.as_ref()?, self.state.status?))
    }
}

/// A training as the index keeps it: its creation and when it was created.
#[derive(Debug)]
pub struct IndexedTraining {
    pub created: TrainingEvent,
    /// When it was created: the event's recording time, or this process's clock when
    /// the handler writes it through (the two agree but for a test's manual clock).
    pub created_at: DateTime<Utc>,
}

impl IndexedTraining {
    pub fn topic(&self) -> Topic {
        let TrainingEvent::TrainingCreated { topic, .. } = &self.created;
        *topic
    }
}

#[derive(Debug, Default)]
pub struct SessionIndex {
    /// Each created training, by id (UUID v7: creation order).
    pub trainings: BTreeMap<Uuid, IndexedTraining>,
    pub sessions: BTreeMap<Uuid, Indexed>,
    /// The sessions of each training.
    pub by_training: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

/// The id in `training-<uuid>` when `stream_id` is of `category`.
fn id_in(stream_id: &str, category: &str) -> Option<Uuid> {
    stream_id
        .strip_prefix(category)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|id| Uuid::parse_str(id).ok())
}

impl SessionIndex {
    pub fn apply(&mut self, event: &RecordedEvent) {
        if event.category == TRAINING_CATEGORY {
            if let (Some(id), Some(e)) = (
                id_in(&event.stream_id, TRAINING_CATEGORY),
                pharos_events::decode::<TrainingEvent>(event),
            ) {
                self.note_training(id, e, event.recorded_at);
            }
            return;
        }
        let Some(id) = id_in(&event.stream_id, SESSION_CATEGORY) else {
            return;
        };
        if let Some(e) = pharos_events::decode::<SessionEvent>(event) {
            self.note(id, event.version, &e);
        }
    }

    /// Training `id` was created at `created_at`.
    pub fn note_training(&mut self, id: Uuid, created: TrainingEvent, created_at: DateTime<Utc>) {
        self.trainings.entry(id).or_insert(IndexedTraining {
            created,
            created_at,
        });
    }

    /// Event `version` of session `id`: applied when it is the next one; one seen already
    /// changes nothing, one after a gap waits for the subscription to fill the gap.
    pub fn note(&mut self, id: Uuid, version: i64, e: &SessionEvent) {
        let indexed = self.sessions.entry(id).or_default();
        if version != indexed.version + 1 {
            return;
        }
        indexed.state = Session::evolve(std::mem::take(&mut indexed.state), e);
        indexed.version = version;
        if let SessionEvent::SessionPlanned { training_id, .. } = e {
            self.by_training.entry(*training_id).or_default().insert(id);
        }
    }

    /// The sessions other than `except`, not cancelled, where `person` holds a confirmed
    /// place and whose times overlap `schedule` (a place on a waitlist blocks nothing).
    pub fn overlapping(&self, person: PersonId, schedule: &Schedule, except: Uuid) -> Vec<Uuid> {
        self.sessions
            .iter()
            .filter(|(id, _)| **id != except)
            .filter_map(|(id, indexed)| {
                let (plan, status) = indexed.planned()?;
                let overlaps = plan.schedule.starts_at < schedule.ends_at
                    && schedule.starts_at < plan.schedule.ends_at;
                let holds = indexed.state.registrations.iter().any(|r| {
                    r.registrant.person == person && r.status == RegistrationStatus::Confirmed
                });
                (overlaps && holds && status != Status::Cancelled).then_some(*id)
            })
            .collect()
    }

    /// Whether the index knows session `id` cancelled (a final state).
    pub fn cancelled(&self, id: Uuid) -> bool {
        self.sessions
            .get(&id)
            .is_some_and(|s| s.state.status == Some(Status::Cancelled))
    }

    /// The department of a known session (`Some(None)`: academy-wide), `None` when the
    /// index has not seen it.
    pub fn department(&self, session: Uuid) -> Option<Option<DepartmentCode>> {
        self.sessions
            .get(&session)
            .and_then(|s| s.state.plan.as_ref())
            .map(|plan| plan.department.clone())
    }

    /// The sessions other than `except`, not cancelled, of trainings on `topic`, that
    /// `person` attended (present at one slot at least): when each started, in order.
    pub fn attended(
        &self,
        person: PersonId,
        topic: Topic,
        except: Uuid,
    ) -> Vec<DateTime<FixedOffset>> {
        let mut starts: Vec<DateTime<FixedOffset>> = self
            .sessions
            .iter()
            .filter(|(id, _)| **id != except)
            .filter_map(|(_, indexed)| {
                let (plan, status) = indexed.planned()?;
                let on_topic = self
                    .trainings
                    .get(&plan.training_id)
                    .is_some_and(|t| t.topic() == topic);
                let attended = indexed.state.registrations.iter().any(|r| {
                    r.registrant.person == person && indexed.state.attended_minutes(r.id) > 0
                });
                (on_topic && attended && status != Status::Cancelled)
                    .then_some(plan.schedule.starts_at)
            })
            .collect();
        starts.sort();
        starts
    }

    /// The topic of the training session `id` is of, when the index knows both.
    pub fn topic_of(&self, session: Uuid) -> Option<Topic> {
        let plan = self.sessions.get(&session)?.state.plan.as_ref()?;
        Some(self.trainings.get(&plan.training_id)?.topic())
    }

    /// The planned sessions of `training`.
    pub fn sessions_of(&self, training: Uuid) -> impl Iterator<Item = (Uuid, &Indexed)> {
        self.by_training
            .get(&training)
            .into_iter()
            .flatten()
            .filter_map(|id| Some((*id, self.sessions.get(id)?)))
            .filter(|(_, s)| s.planned().is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use pharos_events::training::{Registrant, RegistrationMode};
    use pharos_privacy::Sealed;

    fn schedule() -> Schedule {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap();
        Schedule {
            starts_at: at("2026-12-03T09:00:00+01:00"),
            ends_at: at("2026-12-03T17:00:00+01:00"),
            slots: vec![],
        }
    }

    fn planned() -> SessionEvent {
        SessionEvent::SessionPlanned {
            training_id: Uuid::nil(),
            department: None,
            schedule: schedule(),
            location: Some("Toulouse".into()),
            remote_url: None,
            capacity: 1,
            planned_minutes: 60,
            trainers: vec![],
            recorded_after_the_fact: false,
        }
    }

    fn registrant(n: u128) -> Registrant {
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

    #[test]
    fn only_a_confirmed_place_blocks_an_overlapping_session() {
        let mut index = SessionIndex::default();
        let session = Uuid::from_u128(1);
        let person = PersonId(Uuid::from_u128(7));
        index.note(session, 1, &planned());
        index.note(
            session,
            2,
            &SessionEvent::RegistrationWaitlisted {
                registration_id: Uuid::from_u128(70),
                registrant: registrant(7),
                mode: RegistrationMode::Designated,
            },
        );
        let other = Uuid::from_u128(2);
        assert!(index.overlapping(person, &schedule(), other).is_empty());
        index.note(
            session,
            3,
            &SessionEvent::RegistrationPromoted {
                registration_id: Uuid::from_u128(70),
            },
        );
        assert_eq!(index.overlapping(person, &schedule(), other), [session]);
    }

    #[test]
    fn knows_who_attended_a_session_on_a_topic() {
        let mut index = SessionIndex::default();
        let created = |topic| TrainingEvent::TrainingCreated {
            title: "T".into(),
            topic,
            audience: "tous".into(),
            department: None,
            description: String::new(),
            gaia_reference: None,
        };
        index.note_training(Uuid::nil(), created(Topic::Mpp), chrono::Utc::now());
        let mut with_a_slot = planned();
        if let SessionEvent::SessionPlanned { schedule, .. } = &mut with_a_slot {
            schedule.slots = vec![pharos_events::training::Slot {
                starts_at: schedule.starts_at,
                ends_at: schedule.ends_at,
            }];
        }
        let session = Uuid::from_u128(1);
        index.note(session, 1, &with_a_slot);
        for (version, n) in [(2, 7), (3, 8)] {
            index.note(
                session,
                version,
                &SessionEvent::RegistrationConfirmed {
                    registration_id: Uuid::from_u128(70 + n),
                    registrant: registrant(n),
                    mode: RegistrationMode::Designated,
                },
            );
        }
        for (version, n, status, minutes) in [
            (
                4,
                7,
                pharos_events::training::AttendanceStatus::Present,
                480,
            ),
            (5, 8, pharos_events::training::AttendanceStatus::Absent, 0),
        ] {
            index.note(
                session,
                version,
                &SessionEvent::AttendanceRecorded {
                    registration_id: Uuid::from_u128(70 + n),
                    slot_index: 0,
                    status,
                    minutes,
                },
            );
        }
        let other = Uuid::from_u128(2);
        let attended = |n: u128, topic| index.attended(PersonId(Uuid::from_u128(n)), topic, other);
        assert_eq!(attended(7, Topic::Mpp), [schedule().starts_at]);
        assert!(attended(8, Topic::Mpp).is_empty(), "absent");
        assert!(attended(7, Topic::Referents).is_empty(), "another topic");
        assert!(
            index
                .attended(PersonId(Uuid::from_u128(7)), Topic::Mpp, session)
                .is_empty(),
            "the session registered to"
        );
        assert_eq!(index.topic_of(session), Some(Topic::Mpp));
    }

    #[test]
    fn an_event_twice_or_after_a_gap_changes_nothing() {
        let mut index = SessionIndex::default();
        let session = Uuid::from_u128(1);
        index.note(session, 1, &planned());
        index.note(session, 3, &SessionEvent::SessionClosed);
        index.note(session, 2, &SessionEvent::SessionOpened);
        index.note(session, 2, &SessionEvent::SessionOpened);
        let indexed = &index.sessions[&session];
        assert_eq!(
            (indexed.version, indexed.state.status),
            (2, Some(Status::Open))
        );
        assert_eq!(index.sessions_of(Uuid::nil()).count(), 1);
    }
}
