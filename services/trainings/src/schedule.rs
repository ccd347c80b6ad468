//! A person's schedule (category `training_schedule`, one stream per vault person): the
//! time spans of the sessions where they hold a confirmed place. The overlap rule (« one
//! person confirmed in two overlapping sessions ») spans session streams; deciding it on
//! this one stream makes the event store's optimistic concurrency enforce it across
//! processes: two registrations of one person racing into two overlapping sessions both
//! append to the same stream at the same version, one fails its check, decides again on
//! the other's claim (`execute` retries) and is refused.
//!
//! How a registration uses it (`session::http::register`): the session and the person's
//! schedule are loaded together; when the registration confirms a place, its claim of
//! the person's time is decided on the schedule, and both go to the store in one linked
//! append (`EventStore::append_linked`), each stream on the version it was decided on.
//! Both are stored or neither is: no claim without its place, no place without its
//! claim, and nothing to compensate after a refusal or a crash. A waitlisted place
//! claims nothing. A withdrawal and the release of its claim are one linked append too;
//! a promotion from the waitlist claims for the promoted person (see
//! `session::http::claim_promoted` for an overlap then).
//!
//! Crash windows left, and why they are tolerated: a promotion (the waitlist moving up
//! after a withdrawal or a larger capacity) and a reschedule are appended first and
//! their claims after, in commits of their own, since the people they move are known
//! only once the session has decided. A process stopping between the two leaves a
//! promoted place unclaimed (the in-memory index's check still sees that place, the
//! schedule does not) or a rescheduled span claimed at its old time. Registering the
//! person again in a session already claimed appends no second claim, and a claim of a
//! session the index knows cancelled (a final state) blocks nothing. A claim is never
//! trusted to prove a place: the session stream stays the truth for registrations.
//!
//! A reschedule is refused when it would make a confirmed person overlap another of
//! their sessions (as the index knows), then moves each confirmed person's claim to the
//! new span. Places recorded after the fact (`record_past`) claim nothing: they are past,
//! and no registration can overlap them any more (registrations to past sessions are
//! refused).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::training::{SCHEDULE_CATEGORY, ScheduleEvent};
use pharos_eventstore::{EventStore, StoreError, StreamId};
use pharos_privacy::PersonId;
use uuid::Uuid;

/// The schedule stream of `person`.
pub fn stream(person: PersonId) -> Result<StreamId, StoreError> {
    StreamId::new(SCHEDULE_CATEGORY, person.0)
}

/// Holds the empty schedule of a person minted for this request (the vault had no key
/// for their e-mail), so that the registration naming them decides on it without a read:
/// their schedule's stream cannot exist yet, and the append expecting no stream checks it.
pub fn hold_new(store: &EventStore, stream: &StreamId) {
    pharos_decider::held::hold::<Schedule>(store, stream, ScheduleState::default(), 0);
}

/// A claimed time span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
}

impl Span {
    fn overlaps(&self, other: &Span) -> bool {
        self.starts_at < other.ends_at && other.starts_at < self.ends_at
    }
}

/// The sessions claimed, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleState {
    pub claimed: BTreeMap<Uuid, Span>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleCommand {
    /// Claim `span` for a confirmed place in `session_id`. `vacated`: claimed sessions
    /// known to be cancelled (a final state), which block nothing.
    Claim {
        session_id: Uuid,
        span: Span,
        vacated: Vec<Uuid>,
    },
    Release {
        session_id: Uuid,
    },
}

pub struct Schedule;

impl Decider for Schedule {
    type State = ScheduleState;
    type Command = ScheduleCommand;
    type Event = ScheduleEvent;

    fn evolve(mut state: ScheduleState, event: &ScheduleEvent) -> ScheduleState {
        match event {
            ScheduleEvent::SessionTimeClaimed {
                session_id,
                starts_at,
                ends_at,
            } => {
                state.claimed.insert(
                    *session_id,
                    Span {
                        starts_at: *starts_at,
                        ends_at: *ends_at,
                    },
                );
            }
            ScheduleEvent::SessionTimeReleased { session_id } => {
                state.claimed.remove(session_id);
            }
        }
        state
    }

    fn decide(
        command: &ScheduleCommand,
        state: &ScheduleState,
        _now: DateTime<Utc>,
    ) -> Result<Vec<ScheduleEvent>, Rejection> {
        match command {
            ScheduleCommand::Claim {
                session_id,
                span,
                vacated,
            } => {
                // Claimed already: nothing, unless the session moved (a reschedule
                // moves the claim, checked like a new one).
                if state.claimed.get(session_id) == Some(span) {
                    return Ok(vec![]);
                }
                let overlapping = state.claimed.iter().any(|(id, claimed)| {
                    id != session_id && !vacated.contains(id) && claimed.overlaps(span)
                });
                if overlapping {
                    return Err(Rejection::conflict(
                        "overlapping-session",
                        "Cette personne est déjà inscrite à une autre session sur le même créneau.",
                    ));
                }
                Ok(vec![ScheduleEvent::SessionTimeClaimed {
                    session_id: *session_id,
                    starts_at: span.starts_at,
                    ends_at: span.ends_at,
                }])
            }
            ScheduleCommand::Release { session_id } => {
                if !state.claimed.contains_key(session_id) {
                    return Ok(vec![]);
                }
                Ok(vec![ScheduleEvent::SessionTimeReleased {
                    session_id: *session_id,
                }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_decider::given;

    fn at(t: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(t).unwrap_or_default()
    }

    fn span(from: &str, to: &str) -> Span {
        Span {
            starts_at: at(from),
            ends_at: at(to),
        }
    }

    fn claimed(session: u128, s: Span) -> ScheduleEvent {
        ScheduleEvent::SessionTimeClaimed {
            session_id: Uuid::from_u128(session),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
        }
    }

    fn claim(session: u128, s: Span) -> ScheduleCommand {
        ScheduleCommand::Claim {
            session_id: Uuid::from_u128(session),
            span: s,
            vacated: vec![],
        }
    }

    fn morning() -> Span {
        span("2026-12-03T09:00:00+01:00", "2026-12-03T12:00:00+01:00")
    }

    fn day() -> Span {
        span("2026-12-03T09:00:00+01:00", "2026-12-03T17:00:00+01:00")
    }

    fn afternoon() -> Span {
        span("2026-12-03T12:00:00+01:00", "2026-12-03T17:00:00+01:00")
    }

    #[test]
    fn claims_a_free_span() {
        given::<Schedule>([])
            .when(&claim(1, day()))
            .then(&[claimed(1, day())]);
    }

    #[test]
    fn refuses_an_overlapping_span() {
        given::<Schedule>([claimed(1, morning())])
            .when(&claim(2, day()))
            .then_rejected("overlapping-session");
    }

    #[test]
    fn spans_that_only_touch_do_not_overlap() {
        given::<Schedule>([claimed(1, morning())])
            .when(&claim(2, afternoon()))
            .then(&[claimed(2, afternoon())]);
    }

    #[test]
    fn claiming_the_same_session_again_appends_nothing() {
        given::<Schedule>([claimed(1, day())])
            .when(&claim(1, day()))
            .then(&[]);
    }

    #[test]
    fn a_rescheduled_session_moves_its_claim_unless_it_would_overlap() {
        given::<Schedule>([claimed(1, morning())])
            .when(&claim(1, day()))
            .then(&[claimed(1, day())]);
        given::<Schedule>([claimed(1, morning()), claimed(2, afternoon())])
            .when(&claim(1, day()))
            .then_rejected("overlapping-session");
    }

    #[test]
    fn a_released_span_blocks_nothing() {
        given::<Schedule>([
            claimed(1, morning()),
            ScheduleEvent::SessionTimeReleased {
                session_id: Uuid::from_u128(1),
            },
        ])
        .when(&claim(2, day()))
        .then(&[claimed(2, day())]);
    }

    #[test]
    fn a_cancelled_session_blocks_nothing() {
        given::<Schedule>([claimed(1, morning())])
            .when(&ScheduleCommand::Claim {
                session_id: Uuid::from_u128(2),
                span: day(),
                vacated: vec![Uuid::from_u128(1)],
            })
            .then(&[claimed(2, day())]);
    }

    #[test]
    fn releases_a_claim_once() {
        let release = ScheduleCommand::Release {
            session_id: Uuid::from_u128(1),
        };
        given::<Schedule>([claimed(1, day())])
            .when(&release)
            .then(&[ScheduleEvent::SessionTimeReleased {
                session_id: Uuid::from_u128(1),
            }]);
        given::<Schedule>([]).when(&release).then(&[]);
    }
}
