//! The label checklists, as data: `criteria.json` beside this crate's manifest, compiled
//! in. A checklist applies to one level over a range of school years, so the pole can
//! change the criteria for a coming year without touching applications already drafted
//! (each application keeps the checklists it was drafted with).
//!
//! Level 2 asks for taking part in the contest « Non au harcèlement » that year. Contest
//! events do not exist yet (the `contests` target has not been built), so that criterion
//! is answered by the pole (`"answered_by": "pole"`), not derived from the contest's
//! entries; once entries exist it can be checked against them.

use std::collections::HashSet;
use std::sync::LazyLock;

use pharos_events::phare::{CriterionSpec, LabelLevel, LevelChecklist, SchoolYear};
use pharos_web::Problem;
use serde::Deserialize;

const SHIPPED: &str = include_str!("../criteria.json");

/// One level's checklist over a range of school years.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistEntry {
    pub level: LabelLevel,
    pub from: SchoolYear,
    #[serde(default)]
    pub until: Option<SchoolYear>,
    pub criteria: Vec<CriterionSpec>,
}

impl ChecklistEntry {
    fn covers(&self, year: SchoolYear) -> bool {
        self.from <= year && self.until.is_none_or(|until| year <= until)
    }
}

/// Every checklist, and whether levels are progressive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaConfig {
    /// For the people who edit the file.
    #[serde(default)]
    pub description: Option<String>,
    /// Applying for level n needs level n−1 awarded an earlier year.
    pub progressive: bool,
    pub checklists: Vec<ChecklistEntry>,
}

static SHIPPED_CONFIG: LazyLock<Result<CriteriaConfig, String>> =
    LazyLock::new(|| CriteriaConfig::from_json(SHIPPED));

impl CriteriaConfig {
    /// The configuration compiled in (checked by a unit test, so a broken file does not
    /// ship; should it anyway, label commands answer 500 and the log says why).
    pub fn shipped() -> Result<&'static Self, Problem> {
        SHIPPED_CONFIG.as_ref().map_err(|e| {
            tracing::error!(error = %e, "criteria.json is invalid");
            Problem::internal()
        })
    }

    /// Parses and checks a configuration: every checklist has criteria, keys are unique
    /// in a checklist and every item has a key and a label, ranges are ordered.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let config: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for entry in &config.checklists {
            let name = format!("{} from {}", entry.level.as_str(), entry.from);
            if entry.criteria.is_empty() {
                return Err(format!("{name}: no criteria"));
            }
            if entry.until.is_some_and(|until| until < entry.from) {
                return Err(format!("{name}: until is before from"));
            }
            let mut keys = HashSet::new();
            for criterion in &entry.criteria {
                if criterion.key.trim().is_empty() || criterion.label.trim().is_empty() {
                    return Err(format!("{name}: a criterion without key or label"));
                }
                if !keys.insert(criterion.key.as_str()) {
                    return Err(format!("{name}: criterion {} twice", criterion.key));
                }
            }
        }
        Ok(config)
    }

    /// The checklist of `level` for `year`: of the entries covering the year, the one
    /// starting latest.
    pub fn checklist(&self, level: LabelLevel, year: SchoolYear) -> Option<&ChecklistEntry> {
        self.checklists
            .iter()
            .filter(|e| e.level == level && e.covers(year))
            .max_by_key(|e| e.from)
    }

    /// The checklists of every level up to `target` configured for `year` (a level
    /// without one is left out, and the decider refuses the application).
    pub fn checklists_up_to(&self, target: LabelLevel, year: SchoolYear) -> Vec<LevelChecklist> {
        LabelLevel::ALL
            .into_iter()
            .filter(|l| *l <= target)
            .filter_map(|level| {
                self.checklist(level, year).map(|e| LevelChecklist {
                    level,
                    criteria: e.criteria.clone(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use pharos_events::phare::CriterionAuthority;

    use super::*;

    fn year(text: &str) -> SchoolYear {
        SchoolYear::parse(text).unwrap()
    }

    #[test]
    fn the_shipped_file_holds_the_level_one_items_and_the_contest_for_level_two() {
        let config = CriteriaConfig::shipped().unwrap();
        assert!(config.progressive);
        let level1 = config
            .checklist(LabelLevel::Engagement, year("2026-2027"))
            .unwrap();
        let keys: Vec<&str> = level1.criteria.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "charte_signee",
                "equipe_ressource_formee",
                "coordonnateur_designe",
                "protocole_formalise_presente",
                "dix_heures_planifiees",
                "atelier_parents"
            ]
        );
        let level2 = config
            .checklist(LabelLevel::Approfondissement, year("2026-2027"))
            .unwrap();
        let contest = level2
            .criteria
            .iter()
            .find(|c| c.key == "participation_concours")
            .unwrap();
        assert_eq!(contest.answered_by, CriterionAuthority::Pole);
        assert!(contest.label.contains("Non au harcèlement"));
        assert_eq!(
            config
                .checklists_up_to(LabelLevel::Expertise, year("2026-2027"))
                .len(),
            3
        );
    }

    #[test]
    fn a_later_checklist_replaces_an_earlier_one_from_its_year() {
        let config = CriteriaConfig::from_json(
            r#"{"progressive": false, "checklists": [
                {"level": "engagement", "from": "2019-2020", "until": "2029-2030",
                 "criteria": [{"key": "a", "label": "A"}]},
                {"level": "engagement", "from": "2027-2028",
                 "criteria": [{"key": "b", "label": "B"}]}
            ]}"#,
        )
        .unwrap();
        let key = |y: &str| {
            config
                .checklist(LabelLevel::Engagement, year(y))
                .unwrap()
                .criteria[0]
                .key
                .clone()
        };
        assert_eq!(key("2026-2027"), "a");
        assert_eq!(key("2027-2028"), "b");
        assert!(
            config
                .checklist(LabelLevel::Engagement, year("2018-2019"))
                .is_none()
        );
        assert!(
            config
                .checklist(LabelLevel::Expertise, year("2026-2027"))
                .is_none()
        );
    }

    #[test]
    fn refuses_a_file_with_a_criterion_twice_or_an_empty_checklist() {
        let twice = r#"{"progressive": true, "checklists": [{"level": "engagement", "from": "2019-2020",
            "criteria": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]}]}"#;
        assert!(
            CriteriaConfig::from_json(twice)
                .unwrap_err()
                .contains("twice")
        );
        let empty = r#"{"progressive": true, "checklists": [{"level": "engagement", "from": "2019-2020", "criteria": []}]}"#;
        assert!(
            CriteriaConfig::from_json(empty)
                .unwrap_err()
                .contains("no criteria")
        );
        let level = r#"{"progressive": true, "checklists": [{"level": "platine", "from": "2019-2020", "criteria": []}]}"#;
        assert!(CriteriaConfig::from_json(level).is_err());
    }
}
