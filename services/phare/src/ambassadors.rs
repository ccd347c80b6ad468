//! Pupil ambassadors per school and school year: a reference projection of the
//! `ambassador_cohort` category (owned by `cohorts`, read here), for the deployment's
//! « au moins 10 élèves ambassadeurs » flag. A cohort counts once declared (then
//! trained, active, or closed after its declaration); drafts and parents' cohorts do
//! not. The flag is computed, never entered by hand, and never blocks a save.

use std::collections::HashMap;
use std::sync::Arc;

use pharos_access::Projected;
use pharos_events::Uai;
use pharos_events::cohort::{AMBASSADORS_EXPECTED, CATEGORY, CohortEvent, CohortKind};
use pharos_events::phare::SchoolYear;
use pharos_eventstore::RecordedEvent;
use uuid::Uuid;

/// The projection as the handlers hold it (an axum extension).
pub type Ambassadors = Arc<Projected<PupilAmbassadors>>;

/// A cohort as the flag needs it.
#[derive(Debug, Clone, Default)]
struct CohortEntry {
    /// The stream version applied: a version seen already changes nothing.
    version: i64,
    school: Option<(Uai, SchoolYear, CohortKind)>,
    total: u32,
    declared: bool,
}

#[derive(Debug, Default)]
pub struct PupilAmbassadors {
    cohorts: HashMap<Uuid, CohortEntry>,
}

impl PupilAmbassadors {
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

    /// Event `version` of cohort `id`.
    pub fn note(&mut self, id: Uuid, version: i64, event: &CohortEvent) {
        let entry = self.cohorts.entry(id).or_default();
        if version <= entry.version {
            return;
        }
        entry.version = version;
        match event {
            CohortEvent::CohortCreated {
                school_uai,
                school_year,
                kind,
                ..
            } => entry.school = Some((school_uai.clone(), *school_year, *kind)),
            CohortEvent::CountsSet { counts } => {
                entry.total = counts.values().fold(0, |a, b| a.saturating_add(*b));
            }
            CohortEvent::CohortDeclared { .. } => entry.declared = true,
            _ => {}
        }
    }

    /// The pupil ambassadors of `school` in `year`: the pupils of its cohorts declared
    /// (or later), parents' cohorts aside.
    pub fn of(&self, school: &Uai, year: SchoolYear) -> u32 {
        self.cohorts
            .values()
            .filter(|c| c.declared)
            .filter(|c| {
                c.school
                    .as_ref()
                    .is_some_and(|(uai, y, kind)| uai == school && *y == year && kind.is_pupils())
            })
            .fold(0, |total, c| total.saturating_add(c.total))
    }
}

/// Les élèves ambassadeurs de l'établissement pour l'année du déploiement, d'après ses
/// cohortes déclarées (jamais saisis à la main) : au moins 10 attendus dans un collège ou
/// un lycée. Une indication, jamais un motif de refus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = AmbassadorsCompliance)]
pub struct AmbassadorsFlag {
    /// Élèves ambassadeurs des cohortes déclarées (ou formées, actives, closes) de
    /// l'établissement pour l'année ; 0 pour une circonscription.
    pub pupil_ambassadors: u32,
    /// L'établissement est un collège, un lycée ou un EREA : 10 ambassadeurs y sont
    /// attendus.
    pub ambassadors_expected: bool,
    /// Au moins 10 élèves ambassadeurs.
    pub ten_ambassadors: bool,
}

impl AmbassadorsFlag {
    pub fn of(pupil_ambassadors: u32, ambassadors_expected: bool) -> Self {
        Self {
            pupil_ambassadors,
            ambassadors_expected,
            ten_ambassadors: pupil_ambassadors >= AMBASSADORS_EXPECTED,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use pharos_events::DepartmentCode;
    use pharos_events::cohort::{ClassLevel, Referent};
    use pharos_privacy::{PersonId, Sealed};

    use super::*;

    fn created(uai: &Uai, kind: CohortKind) -> CohortEvent {
        let sealed = Sealed {
            person: PersonId(Uuid::from_u128(1)),
            sealed: "YQ==".into(),
        };
        CohortEvent::CohortCreated {
            school_uai: uai.clone(),
            department: DepartmentCode::parse("31").unwrap(),
            school_year: SchoolYear::parse("2026-2027").unwrap(),
            kind,
            referent: Referent {
                display_name: sealed.clone(),
                email: sealed,
            },
        }
    }

    fn counted(level: ClassLevel, n: u32) -> CohortEvent {
        CohortEvent::CountsSet {
            counts: [(level, n)].into_iter().collect(),
        }
    }

    fn declared() -> CohortEvent {
        CohortEvent::CohortDeclared {
            declared_on: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        }
    }

    #[test]
    fn counts_the_pupils_of_declared_cohorts_only() {
        let college = Uai::parse("0310001H").unwrap();
        let year = SchoolYear::parse("2026-2027").unwrap();
        let mut index = PupilAmbassadors::default();
        let (pupils, parents) = (Uuid::from_u128(1), Uuid::from_u128(2));
        index.note(pupils, 1, &created(&college, CohortKind::ElevesCollege));
        index.note(pupils, 2, &counted(ClassLevel::Sixieme, 8));
        index.note(parents, 1, &created(&college, CohortKind::Parents));
        index.note(parents, 2, &counted(ClassLevel::Parents, 6));
        index.note(parents, 3, &declared());
        assert_eq!(index.of(&college, year), 0, "a draft does not count");
        index.note(pupils, 3, &declared());
        assert_eq!(index.of(&college, year), 8);
        index.note(pupils, 4, &counted(ClassLevel::Sixieme, 11));
        // Delivered again: changes nothing.
        index.note(pupils, 2, &counted(ClassLevel::Sixieme, 8));
        assert_eq!(index.of(&college, year), 11);
        assert_eq!(index.of(&college, year.next()), 0);
        assert!(AmbassadorsFlag::of(11, true).ten_ambassadors);
        assert!(!AmbassadorsFlag::of(9, true).ten_ambassadors);
    }
}
