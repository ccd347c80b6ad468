//! Contest participation per school and school year: a reference projection of the
//! `contest` and `contest_entry` categories (owned by `contests`, read here), for the
//! label criterion « participation au concours ». A school participated in a year when
//! one of its entries to that year's edition was submitted and not withdrawn; the fact
//! then meets the criterion, the pole's tick is only needed without it.

use std::collections::HashMap;
use std::sync::Arc;

use pharos_access::Projected;
use pharos_events::Uai;
use pharos_events::contest::{ContestEvent, EDITION_CATEGORY, ENTRY_CATEGORY, EntryEvent};
use pharos_events::phare::SchoolYear;
use pharos_eventstore::RecordedEvent;
use uuid::Uuid;

/// The label criterion the fact meets.
pub const CRITERION: &str = "participation_concours";

/// The projection as the handlers hold it (an axum extension).
pub type Participation = Arc<Projected<ContestParticipation>>;

#[derive(Debug, Clone, Default)]
struct Entry {
    /// The stream version applied: a version seen already changes nothing.
    version: i64,
    school: Option<(Uai, Uuid)>,
    submitted: bool,
    withdrawn: bool,
}

#[derive(Debug, Default)]
pub struct ContestParticipation {
    /// Each edition's school year.
    editions: HashMap<Uuid, SchoolYear>,
    entries: HashMap<Uuid, Entry>,
}

fn id_of(event: &RecordedEvent, category: &str) -> Option<Uuid> {
    event
        .stream_id
        .strip_prefix(category)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|id| Uuid::parse_str(id).ok())
}

impl ContestParticipation {
    pub fn apply(&mut self, event: &RecordedEvent) {
        if event.category == EDITION_CATEGORY {
            if let (Some(id), Some(ContestEvent::EditionCreated { school_year, .. })) = (
                id_of(event, EDITION_CATEGORY),
                pharos_events::decode::<ContestEvent>(event),
            ) {
                self.editions.insert(id, school_year);
            }
            return;
        }
        let Some(id) = id_of(event, ENTRY_CATEGORY) else {
            return;
        };
        let Some(decoded) = pharos_events::decode::<EntryEvent>(event) else {
            return;
        };
        let entry = self.entries.entry(id).or_default();
        if event.version <= entry.version {
            return;
        }
        entry.version = event.version;
        match decoded {
            EntryEvent::EntryCreated {
                contest_id,
                school_uai,
                ..
            } => entry.school = Some((school_uai, contest_id)),
            EntryEvent::EntrySubmitted { .. } => entry.submitted = true,
            EntryEvent::EntryWithdrawn => entry.withdrawn = true,
            _ => {}
        }
    }

    /// How many entries `school` submitted (and did not withdraw) to the edition of `year`.
    pub fn entries(&self, school: &Uai, year: SchoolYear) -> usize {
        self.entries
            .values()
            .filter(|e| e.submitted && !e.withdrawn)
            .filter(|e| {
                e.school.as_ref().is_some_and(|(uai, contest)| {
                    uai == school && self.editions.get(contest) == Some(&year)
                })
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_submitted_entries_of_the_years_edition_only() {
        let uai = Uai::parse("0310001H").unwrap();
        let year = SchoolYear::starting(2026).unwrap();
        let mut seen = ContestParticipation::default();
        let (contest, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        seen.editions.insert(contest, year);
        seen.editions.insert(other, year.previous());
        let entry = |contest, submitted, withdrawn| Entry {
            version: 3,
            school: Some((uai.clone(), contest)),
            submitted,
            withdrawn,
        };
        seen.entries
            .insert(Uuid::from_u128(10), entry(contest, false, false));
        seen.entries
            .insert(Uuid::from_u128(11), entry(other, true, false));
        seen.entries
            .insert(Uuid::from_u128(12), entry(contest, true, true));
        assert_eq!(seen.entries(&uai, year), 0, "draft, other year, withdrawn");
        seen.entries
            .insert(Uuid::from_u128(13), entry(contest, true, false));
        assert_eq!(seen.entries(&uai, year), 1);
    }
}
