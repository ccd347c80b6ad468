//! Who is registered where and when, across sessions: the overlap rule ("the same
//! person in two overlapping sessions") spans streams, so it is checked against this
//! in-memory projection of `training_session` events before deciding. Two registrations
//! of one person racing into two different sessions in the same instant can both pass;
//! the window is one append long.

use std::collections::HashMap;

use pharos_events::DepartmentCode;
use pharos_events::training::{SESSION_CATEGORY, Schedule, SessionEvent};
use pharos_eventstore::RecordedEvent;
use pharos_privacy::PersonId;
use uuid::Uuid;

use crate::session::person_of;

/// What the index keeps of a session.
#[derive(Debug)]
struct Indexed {
    schedule: Schedule,
    cancelled: bool,
    /// Fixed at planning: who manages the session.
    department: Option<DepartmentCode>,
}

#[derive(Debug, Default)]
pub struct SessionIndex {
    sessions: HashMap<Uuid, Indexed>,
    /// Each registration's session and person, while not withdrawn.
    registrations: HashMap<Uuid, (Uuid, PersonId)>,
}

impl SessionIndex {
    pub fn apply(&mut self, event: &RecordedEvent) {
        let Some(id) = event
            .stream_id
            .strip_prefix(SESSION_CATEGORY)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            return;
        };
        if let Some(e) = pharos_events::decode::<SessionEvent>(event) {
            self.note(id, &e);
        }
    }

    /// One event of session `id`. Applying an event twice changes nothing more, so the
    /// handlers write their appends through and the subscription delivers them again.
    pub fn note(&mut self, id: Uuid, e: &SessionEvent) {
        if let Some((registration, person)) = person_of(e) {
            self.registrations.insert(registration, (id, person));
            return;
        }
        match e {
            SessionEvent::SessionPlanned {
                schedule,
                department,
                ..
            } => {
                let cancelled = self.sessions.get(&id).is_some_and(|s| s.cancelled);
                self.sessions.insert(
                    id,
                    Indexed {
                        schedule: schedule.clone(),
                        cancelled,
                        department: department.clone(),
                    },
                );
            }
            SessionEvent::SessionRescheduled { schedule } => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.schedule = schedule.clone();
                }
            }
            SessionEvent::SessionCancelled { .. } => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.cancelled = true;
                }
            }
            SessionEvent::RegistrationWithdrawn { registration_id } => {
                self.registrations.remove(registration_id);
            }
            _ => {}
        }
    }

    /// The sessions other than `except` where `person` is registered and whose times
    /// overlap `schedule`.
    pub fn overlapping(&self, person: PersonId, schedule: &Schedule, except: Uuid) -> Vec<Uuid> {
        let mut found: Vec<Uuid> = self
            .registrations
            .values()
            .filter(|(session, p)| *p == person && *session != except)
            .filter_map(|(session, _)| {
                let other = self.sessions.get(session)?;
                let overlaps = other.schedule.starts_at < schedule.ends_at
                    && schedule.starts_at < other.schedule.ends_at;
                (overlaps && !other.cancelled).then_some(*session)
            })
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// The department of a known session (`Some(None)`: academy-wide), `None` when the
    /// index has not seen it.
    pub fn department(&self, session: Uuid) -> Option<Option<DepartmentCode>> {
        self.sessions.get(&session).map(|s| s.department.clone())
    }
}
