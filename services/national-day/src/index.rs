//! What this target keeps in memory of the log: every awareness action as its events
//! leave it (for the lists and the expected reports), and the orientation directory's
//! partners (to check the partners an action names). Fed by a subscription to
//! `awareness_action` and `partner`; this process's own appends are written through.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use pharos_access::Projected;
use pharos_decider::Decider;
use pharos_events::national_day::{ACTION_CATEGORY, ActionEvent};
use pharos_events::partner::{CATEGORY as PARTNER_CATEGORY, PartnerEvent};
use pharos_eventstore::{EventStore, RecordedEvent, StoreError, StreamId};
use uuid::Uuid;

use crate::action::{Action, ActionState};

/// The projection as the handlers hold it (an axum extension).
pub type Index = Arc<Projected<ActionIndex>>;

/// An action and the version of its stream folded so far.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub state: ActionState,
    pub version: i64,
}

/// A partner of the orientation directory as actions name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerEntry {
    pub name: String,
    pub archived: bool,
    pub version: i64,
}

#[derive(Debug, Default)]
pub struct ActionIndex {
    pub actions: BTreeMap<Uuid, Entry>,
    pub partners: HashMap<Uuid, PartnerEntry>,
}

/// The id of a stream of `category`.
fn id_in(category: &str, stream_id: &str) -> Option<Uuid> {
    stream_id
        .strip_prefix(category)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|id| Uuid::parse_str(id).ok())
}

impl ActionIndex {
    pub fn apply(&mut self, event: &RecordedEvent) {
        if let Some(id) = id_in(ACTION_CATEGORY, &event.stream_id) {
            if let Some(e) = pharos_events::decode::<ActionEvent>(event) {
                self.note_action(id, event.version, &e);
            }
        } else if let Some(id) = id_in(PARTNER_CATEGORY, &event.stream_id)
            && let Some(e) = pharos_events::decode::<PartnerEvent>(event)
        {
            self.note_partner(id, event.version, &e);
        }
    }

    /// Event `version` of action `id`: applied when it is the next one, so that the
    /// subscription delivering an event already written through changes nothing.
    pub fn note_action(&mut self, id: Uuid, version: i64, event: &ActionEvent) {
        let entry = self.actions.entry(id).or_default();
        if version != entry.version + 1 {
            return;
        }
        entry.state = Action::evolve(std::mem::take(&mut entry.state), event);
        entry.version = version;
    }

    fn note_partner(&mut self, id: Uuid, version: i64, event: &PartnerEvent) {
        let entry = self.partners.entry(id).or_default();
        if version <= entry.version {
            return;
        }
        entry.version = version;
        match event {
            PartnerEvent::PartnerRegistered { record, .. }
            | PartnerEvent::PartnerUpdated { record } => entry.name = record.name.clone(),
            PartnerEvent::PartnerArchived { .. } => entry.archived = true,
            PartnerEvent::PartnerUnarchived {} => entry.archived = false,
            PartnerEvent::PartnerVerified { .. } => {}
        }
    }
}

/// Writes `events`, just appended to action `id` up to `version`, through to the index.
pub fn write_through(index: &Index, id: Uuid, version: i64, events: &[ActionEvent]) {
    let first = version - events.len() as i64 + 1;
    index.update(|index| {
        for (n, event) in events.iter().enumerate() {
            index.note_action(id, first + n as i64, event);
        }
    });
}

/// The partner, from the index or read through from its stream (registered a moment
/// ago by another process).
pub async fn partner(
    index: &Index,
    store: &EventStore,
    id: Uuid,
) -> Result<Option<PartnerEntry>, StoreError> {
    let known = |index: &ActionIndex| {
        index
            .partners
            .get(&id)
            .filter(|p| p.version > 0 && !p.name.is_empty())
            .cloned()
    };
    if let Some(found) = index.read(known) {
        return Ok(Some(found));
    }
    let events = store
        .read_stream(&StreamId::new(PARTNER_CATEGORY, id)?, 1)
        .await?;
    index.apply_read(&events);
    Ok(index.read(known))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_events::national_day::{ActionDetails, ActionSchool, ActionType, Campaign};
    use pharos_events::phare::SchoolYear;
    use pharos_events::{DepartmentCode, Uai};

    #[test]
    fn applies_each_event_once_and_in_order() {
        let declared = ActionEvent::ActionDeclared {
            school_year: SchoolYear::parse("2025-2026").unwrap(),
            campaign: Campaign::NationalDay,
            details: ActionDetails {
                schools: vec![ActionSchool {
                    uai: Uai::parse("0310001H").unwrap(),
                    department: DepartmentCode::parse("31").unwrap(),
                }],
                date: "2025-11-06".parse().unwrap(),
                types: vec![ActionType::Atelier],
                audience_levels: vec![],
                pupils_reached: 10,
                adults_reached: 0,
                partners: vec![],
                description: String::new(),
                held: false,
            },
        };
        let mut index = ActionIndex::default();
        let id = Uuid::from_u128(1);
        index.note_action(id, 1, &declared);
        index.note_action(id, 1, &declared);
        // A gap (event 2 not seen yet) waits for the subscription.
        index.note_action(id, 3, &ActionEvent::ActionValidated);
        index.note_action(id, 2, &ActionEvent::ActionSubmitted);
        index.note_action(id, 2, &ActionEvent::ActionSubmitted);
        let entry = &index.actions[&id];
        assert_eq!(entry.version, 2);
        assert_eq!(entry.state.status, crate::action::ActionStatus::Submitted);
    }
}
