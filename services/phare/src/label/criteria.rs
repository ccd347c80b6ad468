//! The label checklists of one school year, edited by the pole at run time, as a decider:
//! one stream per year, `phare_label-criteria-<year>`. A record replaces the year's
//! checklists whole; without one, `criteria.json` applies (see [`in_force`]). No HTTP here.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::phare::{LabelCriteriaEvent, LabelLevel, LevelChecklist, SchoolYear};

use crate::check_school_year;
use crate::criteria::CriteriaConfig;

/// Longest criterion key and label.
pub const KEY_MAX: usize = 60;
pub const LABEL_MAX: usize = 300;

/// The id of a year's criteria stream in the `phare_label` category.
pub fn criteria_stream_id(year: SchoolYear) -> String {
    format!("criteria-{year}")
}

/// A year's criteria as their events leave them: `None` until the pole records some.
#[derive(Debug, Clone, Default)]
pub struct CriteriaState {
    pub recorded: Option<Vec<LevelChecklist>>,
}

/// The checklists in force for `year`: those recorded for it, else those shipped.
pub fn in_force(
    state: &CriteriaState,
    shipped: &CriteriaConfig,
    year: SchoolYear,
) -> Vec<LevelChecklist> {
    match &state.recorded {
        Some(checklists) => checklists.clone(),
        None => shipped.checklists_up_to(LabelLevel::Expertise, year),
    }
}

#[derive(Debug, Clone)]
pub enum CriteriaCommand {
    Set {
        school_year: SchoolYear,
        checklists: Vec<LevelChecklist>,
    },
}

#[derive(Debug)]
pub struct LabelCriteria;

impl Decider for LabelCriteria {
    type State = CriteriaState;
    type Command = CriteriaCommand;
    type Event = LabelCriteriaEvent;

    fn evolve(mut state: CriteriaState, event: &LabelCriteriaEvent) -> CriteriaState {
        match event {
            LabelCriteriaEvent::LabelCriteriaSet { checklists, .. } => {
                state.recorded = Some(checklists.clone());
            }
        }
        state
    }

    fn decide(
        command: &CriteriaCommand,
        state: &CriteriaState,
        now: DateTime<Utc>,
    ) -> Result<Vec<LabelCriteriaEvent>, Rejection> {
        let CriteriaCommand::Set {
            school_year,
            checklists,
        } = command;
        check_school_year(*school_year, pharos_domain::today_in_france(now))?;
        check(checklists)?;
        let mut ordered = checklists.clone();
        ordered.sort_by_key(|c| c.level);
        if state.recorded.as_ref() == Some(&ordered) {
            return Ok(vec![]);
        }
        Ok(vec![LabelCriteriaEvent::LabelCriteriaSet {
            school_year: *school_year,
            checklists: ordered,
        }])
    }
}

fn invalid(rule: &'static str, message: String) -> Rejection {
    Rejection::invalid(rule, "checklists", message)
}

/// Every level from the first, once each, each with criteria whose keys are unique
/// snake_case words and whose labels are given.
fn check(checklists: &[LevelChecklist]) -> Result<(), Rejection> {
    let levels: Vec<LabelLevel> = checklists.iter().map(|c| c.level).collect();
    for level in LabelLevel::ALL {
        let count = levels.iter().filter(|l| **l == level).count();
        if count > 1 {
            return Err(invalid(
                "criteria-level-twice",
                format!("Le {level} a deux listes de critères : une par niveau."),
            ));
        }
    }
    if let Some(level) = levels
        .iter()
        .filter_map(|l| l.below())
        .find(|below| !levels.contains(below))
    {
        return Err(invalid(
            "criteria-level-missing",
            format!("Les niveaux sont progressifs : donnez aussi la liste de critères du {level}."),
        ));
    }
    if checklists.is_empty() {
        return Err(invalid(
            "criteria-level-missing",
            "Donnez au moins la liste de critères du niveau 1 (engagement).".into(),
        ));
    }
    for checklist in checklists {
        let level = checklist.level;
        if checklist.criteria.is_empty() {
            return Err(invalid(
                "criteria-empty",
                format!("La liste de critères du {level} est vide."),
            ));
        }
        let mut keys = HashSet::new();
        for criterion in &checklist.criteria {
            let key = criterion.key.as_str();
            if key.is_empty()
                || key.len() > KEY_MAX
                || !key.starts_with(|c: char| c.is_ascii_lowercase())
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(invalid(
                    "criterion-key-invalid",
                    format!(
                        "« {key} » n'est pas une clé de critère : des minuscules sans accent, \
                         chiffres et _ ({KEY_MAX} caractères au plus, ex. charte_signee)."
                    ),
                ));
            }
            let label = criterion.label.trim();
            if label.is_empty() || label.chars().count() > LABEL_MAX {
                return Err(invalid(
                    "criterion-label-invalid",
                    format!(
                        "Le critère « {key} » du {level} doit avoir un libellé de 1 à \
                         {LABEL_MAX} caractères."
                    ),
                ));
            }
            if !keys.insert(key) {
                return Err(invalid(
                    "criterion-twice",
                    format!("Le critère « {key} » figure deux fois dans la liste du {level}."),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use pharos_decider::testing::Given;
    use pharos_events::phare::{CriterionAuthority, CriterionSpec};

    use super::*;

    fn given(history: impl IntoIterator<Item = LabelCriteriaEvent>) -> Given<LabelCriteria> {
        pharos_decider::given::<LabelCriteria>(history).at("2026-11-15T10:00:00Z".parse().unwrap())
    }

    fn year() -> SchoolYear {
        SchoolYear::parse("2027-2028").unwrap()
    }

    fn spec(key: &str, label: &str) -> CriterionSpec {
        CriterionSpec {
            key: key.into(),
            label: label.into(),
            answered_by: CriterionAuthority::School,
        }
    }

    fn engagement() -> LevelChecklist {
        LevelChecklist {
            level: LabelLevel::Engagement,
            criteria: vec![
                spec("charte_signee", "Charte signée"),
                spec("semaine_prevention", "Semaine de prévention organisée"),
            ],
        }
    }

    fn set(checklists: Vec<LevelChecklist>) -> CriteriaCommand {
        CriteriaCommand::Set {
            school_year: year(),
            checklists,
        }
    }

    #[test]
    fn the_pole_sets_a_years_criteria_which_replace_the_shipped_ones() {
        let shipped = CriteriaConfig::shipped().unwrap();
        let before = in_force(&CriteriaState::default(), shipped, year());
        assert_eq!(
            before,
            shipped.checklists_up_to(LabelLevel::Expertise, year())
        );
        let events = given([]).when(&set(vec![engagement()])).events();
        assert_eq!(
            events,
            vec![LabelCriteriaEvent::LabelCriteriaSet {
                school_year: year(),
                checklists: vec![engagement()],
            }]
        );
        let state = given(events.clone()).state().clone();
        assert_eq!(in_force(&state, shipped, year()), vec![engagement()]);
        // The same again appends nothing.
        given(events).when(&set(vec![engagement()])).then(&[]);
    }

    #[test]
    fn rejects_criteria_lists_that_could_not_be_answered() {
        let level2 = LevelChecklist {
            level: LabelLevel::Approfondissement,
            criteria: vec![spec("concours", "Concours")],
        };
        let mut empty = engagement();
        empty.criteria.clear();
        let mut twice = engagement();
        twice.criteria.push(spec("charte_signee", "Encore"));
        let mut bad_key = engagement();
        bad_key.criteria[0].key = "Charte signée".into();
        let mut no_label = engagement();
        no_label.criteria[0].label = "  ".into();
        for (checklists, rule) in [
            (vec![], "criteria-level-missing"),
            (vec![level2], "criteria-level-missing"),
            (vec![engagement(), engagement()], "criteria-level-twice"),
            (vec![empty], "criteria-empty"),
            (vec![twice], "criterion-twice"),
            (vec![bad_key], "criterion-key-invalid"),
            (vec![no_label], "criterion-label-invalid"),
        ] {
            given([]).when(&set(checklists)).then_rejected(rule);
        }
        let far = CriteriaCommand::Set {
            school_year: SchoolYear::parse("2030-2031").unwrap(),
            checklists: vec![engagement()],
        };
        given([])
            .when(&far)
            .then_rejected("school-year-out-of-range");
    }
}
