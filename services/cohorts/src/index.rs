//! Which cohorts exist and where they stand: an in-memory projection of the
//! `ambassador_cohort` category (each cohort folded by the decider's `evolve`), for the
//! lists. Handlers write their appends through, so that this process lists them at once;
//! each cohort keeps the version it has applied, so that the subscription delivering
//! the same events again changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use pharos_access::Projected;
use pharos_decider::Decider;
use pharos_events::cohort::{CATEGORY, CohortEvent};
use pharos_eventstore::RecordedEvent;
use uuid::Uuid;

use crate::decider::{Cohort, CohortState};

/// The projection as the handlers hold it (an axum extension).
pub type Index = Arc<Projected<CohortIndex>>;

#[derive(Debug, Default)]
pub struct CohortIndex {
    /// Each cohort, with the version of its stream applied.
    pub cohorts: BTreeMap<Uuid, (i64, CohortState)>,
}

impl CohortIndex {
    pub fn apply(&mut self, event: &RecordedEvent) {
        let id = event
            .stream_id
            .strip_prefix(CATEGORY)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|id| Uuid::parse_str(id).ok());
        if let Some(id) = id
            && let Some(e) = pharos_events::decode::<CohortEvent>(event)
        {
            self.note(id, event.version, &e);
        }
    }

    /// Event `version` of cohort `id`; a version applied already changes nothing.
    pub fn note(&mut self, id: Uuid, version: i64, event: &CohortEvent) {
        let (seen, state) = self.cohorts.entry(id).or_default();
        if version <= *seen {
            return;
        }
        *seen = version;
        *state = Cohort::evolve(std::mem::take(state), event);
    }

    /// Events just appended to cohort `id`, which is at `version` after them.
    pub fn note_all(&mut self, id: Uuid, version: i64, events: &[CohortEvent]) {
        let first = version - events.len() as i64 + 1;
        for (event, version) in events.iter().zip(first..) {
            self.note(id, version, event);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use pharos_events::cohort::ClassLevel;

    use super::*;
    use crate::decider::CohortStatus;

    #[test]
    fn applies_each_version_once_whatever_the_order_of_delivery() {
        let mut index = CohortIndex::default();
        let id = Uuid::from_u128(1);
        let counts = CohortEvent::CountsSet {
            counts: [(ClassLevel::Sixieme, 4)].into_iter().collect(),
        };
        let closed = CohortEvent::CohortClosed {
            closed_on: NaiveDate::from_ymd_opt(2026, 11, 15).unwrap(),
        };
        index.note_all(id, 3, &[counts.clone(), closed]);
        // Delivered again by the subscription: older versions change nothing.
        index.note(id, 2, &counts);
        let (version, state) = &index.cohorts[&id];
        assert_eq!(*version, 3);
        assert_eq!(state.status, CohortStatus::Closed);
        assert_eq!(state.total(), 4);
    }
}
