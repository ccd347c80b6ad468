//! The ranking of an edition's entries by weighted score, category by category, ties
//! shown: pure, from the entries' states (scores) and the edition's criteria.

use std::collections::BTreeMap;

use pharos_events::contest::Criterion;
use uuid::Uuid;

use crate::entry::{EntryState, score};

/// An entry's place in its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranked {
    pub entry_id: Uuid,
    /// The mean weighted score on 20, in hundredths (`None`: not scored yet).
    pub score_hundredths: Option<u32>,
    /// 1 for the best; entries with the same score share a rank (1, 1, 3).
    pub rank: Option<u32>,
    /// Another entry of the category has the same score.
    pub tied: bool,
}

/// A score on 20 in hundredths, rounded: what ties are judged on.
pub fn hundredths(score: f64) -> u32 {
    (score * 100.0).round().clamp(0.0, 2000.0) as u32
}

/// The admissible entries of each category, best first, unscored last.
pub fn rank<'a>(
    criteria: &[Criterion],
    entries: impl IntoIterator<Item = (Uuid, &'a EntryState)>,
) -> BTreeMap<String, Vec<Ranked>> {
    let mut by_category: BTreeMap<String, Vec<(Uuid, Option<u32>)>> = BTreeMap::new();
    for (id, entry) in entries {
        if !entry.status.admissible() {
            continue;
        }
        let Some(details) = &entry.details else {
            continue;
        };
        by_category
            .entry(details.category.clone())
            .or_default()
            .push((id, score(criteria, entry).map(hundredths)));
    }
    by_category
        .into_iter()
        .map(|(category, mut scored)| {
            scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let ranked = scored
                .iter()
                .enumerate()
                .map(|(i, (id, points))| {
                    let first = scored.iter().position(|(_, p)| p == points).unwrap_or(i);
                    let count = scored.iter().filter(|(_, p)| p == points).count();
                    Ranked {
                        entry_id: *id,
                        score_hundredths: *points,
                        rank: points.map(|_| first as u32 + 1),
                        tied: points.is_some() && count > 1,
                    }
                })
                .collect();
            (category, ranked)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::default_criteria;
    use crate::entry::EntryStatus;
    use pharos_events::contest::{EntryDetails, Group};

    fn entry(category: &str, marks: &[[u8; 4]], status: EntryStatus) -> EntryState {
        let keys = ["message", "creativite", "realisation", "valeurs"];
        EntryState {
            contest_id: Some(Uuid::nil()),
            details: Some(EntryDetails {
                category: category.into(),
                special_prizes: vec![],
                title: "t".into(),
                group: Group {
                    label: "g".into(),
                    levels: vec![],
                    pupil_count: 2,
                    adult_count: 1,
                },
                project_sheet: String::new(),
            }),
            status,
            scores: marks
                .iter()
                .enumerate()
                .map(|(j, m)| {
                    (
                        Uuid::from_u128(100 + j as u128),
                        keys.iter()
                            .zip(m)
                            .map(|(k, v)| ((*k).to_owned(), *v))
                            .collect(),
                    )
                })
                .collect(),
            ..EntryState::default()
        }
    }

    #[test]
    fn ranks_by_weighted_score_with_ties_sharing_a_rank() {
        use EntryStatus::*;
        let entries = [
            entry("a", &[[16, 14, 12, 18]], UnderJury), // 14.75
            entry("a", &[[10, 10, 10, 10], [20, 20, 20, 20]], UnderJury), // 15
            entry("a", &[[15, 15, 15, 15]], UnderJury), // 15
            entry("a", &[], Admissible),                // unscored
            entry("a", &[[20, 20, 20, 20]], Inadmissible), // out
            entry("b", &[[8, 8, 8, 8]], UnderJury),
        ];
        let ranking = rank(
            &default_criteria(),
            entries
                .iter()
                .enumerate()
                .map(|(i, e)| (Uuid::from_u128(i as u128), e)),
        );
        let a = &ranking["a"];
        let places: Vec<(u128, Option<u32>, Option<u32>, bool)> = a
            .iter()
            .map(|r| (r.entry_id.as_u128(), r.score_hundredths, r.rank, r.tied))
            .collect();
        assert_eq!(
            places,
            [
                (1, Some(1500), Some(1), true),
                (2, Some(1500), Some(1), true),
                (0, Some(1475), Some(3), false),
                (3, None, None, false),
            ]
        );
        assert_eq!(ranking["b"][0].rank, Some(1));
    }
}
