//! Every entry, folded by the entry decider, in memory: for the lists, the count of a
//! group's entries, the jury's progress, the palmarès, the close of a campaign and the
//! entries of an erased person. Fed by the `contest_entry` category, written through by
//! this process's handlers, read through by [`catch_up`].

use std::collections::BTreeMap;
use std::sync::Arc;

use pharos_access::Projected;
use pharos_decider::Decider;
use pharos_events::contest::{ENTRY_CATEGORY, EntryEvent};
use pharos_eventstore::{EventStore, GlobalPosition, RecordedEvent, StoreError};
use uuid::Uuid;

use crate::entry::{Entry, EntryState, EntryStatus};

/// The projection as the handlers hold it (an axum extension).
pub type Index = Arc<Projected<Entries>>;

/// Entries by id, each with the version of its stream folded so far.
#[derive(Debug, Default)]
pub struct Entries {
    pub entries: BTreeMap<Uuid, (EntryState, i64)>,
    /// The last event applied (written-through states aside).
    pub position: GlobalPosition,
}

impl Entries {
    pub fn apply(&mut self, event: &RecordedEvent) {
        self.position = self.position.max(event.position);
        let Some(id) = event
            .stream_id
            .strip_prefix(ENTRY_CATEGORY)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            return;
        };
        let Some(decoded) = pharos_events::decode::<EntryEvent>(event) else {
            return;
        };
        let (state, version) = self.entries.remove(&id).unwrap_or_default();
        // Seen already (written through, or delivered twice): nothing more.
        if event.version <= version {
            self.entries.insert(id, (state, version));
            return;
        }
        self.entries
            .insert(id, (Entry::evolve(state, &decoded), event.version));
    }

    /// An entry as a handler just loaded it (written through).
    pub fn note(&mut self, id: Uuid, state: EntryState, version: i64) {
        if self.entries.get(&id).is_none_or(|(_, v)| *v < version) {
            self.entries.insert(id, (state, version));
        }
    }

    /// The entries of an edition.
    pub fn of_contest(&self, contest: Uuid) -> impl Iterator<Item = (Uuid, &EntryState)> {
        self.entries
            .iter()
            .filter(move |(_, (e, _))| e.contest_id == Some(contest))
            .map(|(id, (e, _))| (*id, e))
    }

    /// The entries whose responsible adult is `person`.
    pub fn of_responsible(&self, person: pharos_privacy::PersonId) -> Vec<Uuid> {
        self.entries
            .iter()
            .filter(|(_, (e, _))| {
                e.responsible
                    .as_ref()
                    .is_some_and(|r| r.email.person == person || r.display_name.person == person)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether an entry still holds content `sha256` (stored once for all of them).
    pub fn holds(&self, sha256: &str) -> bool {
        self.entries
            .values()
            .any(|(e, _)| e.files.iter().any(|f| f.sha256 == sha256))
    }

    /// How many entries of `school` in `contest` carry the group `label` (case and
    /// spaces aside), withdrawn ones and `except` aside.
    pub fn same_group(
        &self,
        contest: Uuid,
        school: &pharos_events::Uai,
        label: &str,
        except: Option<Uuid>,
    ) -> usize {
        let normal = |text: &str| {
            text.split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let label = normal(label);
        self.of_contest(contest)
            .filter(|(id, _)| Some(*id) != except)
            .filter(|(_, e)| e.school_uai.as_ref() == Some(school))
            .filter(|(_, e)| e.status != EntryStatus::Withdrawn)
            .filter(|(_, e)| {
                e.details
                    .as_ref()
                    .is_some_and(|d| normal(&d.group.label) == label)
            })
            .count()
    }
}

/// Applies the entries' events the subscription has not delivered yet: a worker acting on
/// an event of another category (an erasure) then sees every entry written before it.
pub async fn catch_up(index: &Index, store: &EventStore) -> Result<(), StoreError> {
    let categories = [ENTRY_CATEGORY.to_owned()];
    loop {
        let after = index.read(|i| i.position);
        let page = store.read_all(after, 1000, &categories).await?;
        if page.is_empty() {
            return Ok(());
        }
        index.apply_read(&page);
    }
}
