//! Category `ambassador_cohort`, owned by `cohorts`.
//!
//! A cohort of ambassadors (pupils of a collège or lycée, petits ambassadeurs of CM1-CM2
//! in an école, or parents) is one stream per school, school year and kind,
//! `ambassador_cohort-<uuid v5 of school, year and kind>`, so that a second cohort of the
//! same kind for the same school and year collides on the stream itself. The adult
//! referent's name and e-mail, and the pupils' first names and initials (the optional
//! nominal list, for ambassador certificates), are personal and sealed: the pupils' are
//! erased when the cohort closes, and at the latest at the end of its school year.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use pharos_privacy::Sealed;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::phare::SchoolYear;
use crate::{DepartmentCode, SchoolKind, Uai};

pub const CATEGORY: &str = "ambassador_cohort";

/// Below this many pupil ambassadors, a collège's or lycée's cohort is flagged (never
/// refused): pHARe asks for at least 10 per school.
pub const AMBASSADORS_EXPECTED: u32 = 10;

/// What a cohort is made of.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = CohortKind,
    description = "Type de cohorte : élèves ambassadeurs de collège (eleves_college), de lycée \
                   (eleves_lycee), petits ambassadeurs de CM1-CM2 en école \
                   (petits_ambassadeurs), ou parents ambassadeurs (parents)."
)]
pub enum CohortKind {
    ElevesCollege,
    ElevesLycee,
    PetitsAmbassadeurs,
    Parents,
}

impl CohortKind {
    pub const ALL: [Self; 4] = [
        Self::ElevesCollege,
        Self::ElevesLycee,
        Self::PetitsAmbassadeurs,
        Self::Parents,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ElevesCollege => "eleves_college",
            Self::ElevesLycee => "eleves_lycee",
            Self::PetitsAmbassadeurs => "petits_ambassadeurs",
            Self::Parents => "parents",
        }
    }

    /// Its name in French sentences.
    pub fn label(self) -> &'static str {
        match self {
            Self::ElevesCollege => "élèves ambassadeurs de collège",
            Self::ElevesLycee => "élèves ambassadeurs de lycée",
            Self::PetitsAmbassadeurs => "petits ambassadeurs (CM1-CM2)",
            Self::Parents => "parents ambassadeurs",
        }
    }

    /// Pupils, not parents.
    pub fn is_pupils(self) -> bool {
        self != Self::Parents
    }

    /// The class levels a cohort of this kind counts its ambassadors by.
    pub fn levels(self) -> &'static [ClassLevel] {
        use ClassLevel as L;
        match self {
            Self::ElevesCollege => &[L::Sixieme, L::Cinquieme, L::Quatrieme, L::Troisieme],
            Self::ElevesLycee => &[L::Seconde, L::Premiere, L::Terminale],
            Self::PetitsAmbassadeurs => &[L::Cm1, L::Cm2],
            Self::Parents => &[L::Parents],
        }
    }

    /// The kinds of cohort a school of `school` may have: pupils of its own level, and
    /// parents anywhere. An EREA (établissement régional d'enseignement adapté) teaches
    /// collège classes (6e-3e) and lycée professionnel ones (CAP, counted 2nde-tle): it
    /// may have both pupil kinds. A périscolaire structure has parents only.
    pub fn for_school(school: SchoolKind) -> &'static [Self] {
        match school {
            SchoolKind::Ecole => &[Self::PetitsAmbassadeurs, Self::Parents],
            SchoolKind::College => &[Self::ElevesCollege, Self::Parents],
            SchoolKind::LyceeGt | SchoolKind::LyceePro | SchoolKind::LyceePoly => {
                &[Self::ElevesLycee, Self::Parents]
            }
            SchoolKind::Erea => &[Self::ElevesCollege, Self::ElevesLycee, Self::Parents],
            SchoolKind::Periscolaire => &[Self::Parents],
        }
    }

    /// A cohort of this kind is expected to count [`AMBASSADORS_EXPECTED`] ambassadors
    /// (collèges and lycées).
    pub fn expects_ten(self) -> bool {
        matches!(self, Self::ElevesCollege | Self::ElevesLycee)
    }
}

impl fmt::Display for CohortKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A class level ambassadors are counted by (or `parents` for parents).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[schema(
    as = ClassLevel,
    description = "Niveau de classe : cm1, cm2 (écoles) ; 6e, 5e, 4e, 3e (collèges) ; 2nde, 1re, \
                   tle (lycées) ; parents pour une cohorte de parents."
)]
pub enum ClassLevel {
    #[serde(rename = "cm1")]
    Cm1,
    #[serde(rename = "cm2")]
    Cm2,
    #[serde(rename = "6e")]
    Sixieme,
    #[serde(rename = "5e")]
    Cinquieme,
    #[serde(rename = "4e")]
    Quatrieme,
    #[serde(rename = "3e")]
    Troisieme,
    #[serde(rename = "2nde")]
    Seconde,
    #[serde(rename = "1re")]
    Premiere,
    #[serde(rename = "tle")]
    Terminale,
    #[serde(rename = "parents")]
    Parents,
}

impl ClassLevel {
    pub const ALL: [Self; 10] = [
        Self::Cm1,
        Self::Cm2,
        Self::Sixieme,
        Self::Cinquieme,
        Self::Quatrieme,
        Self::Troisieme,
        Self::Seconde,
        Self::Premiere,
        Self::Terminale,
        Self::Parents,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cm1 => "cm1",
            Self::Cm2 => "cm2",
            Self::Sixieme => "6e",
            Self::Cinquieme => "5e",
            Self::Quatrieme => "4e",
            Self::Troisieme => "3e",
            Self::Seconde => "2nde",
            Self::Premiere => "1re",
            Self::Terminale => "tle",
            Self::Parents => "parents",
        }
    }

    /// The level as typed (`6e`, `CM1`, ` tle `): case and surrounding spaces ignored.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_lowercase();
        Self::ALL.into_iter().find(|l| l.as_str() == text)
    }

    /// The field naming this level's count in a request (`counts.6e`).
    pub fn count_field(self) -> &'static str {
        match self {
            Self::Cm1 => "counts.cm1",
            Self::Cm2 => "counts.cm2",
            Self::Sixieme => "counts.6e",
            Self::Cinquieme => "counts.5e",
            Self::Quatrieme => "counts.4e",
            Self::Troisieme => "counts.3e",
            Self::Seconde => "counts.2nde",
            Self::Premiere => "counts.1re",
            Self::Terminale => "counts.tle",
            Self::Parents => "counts.parents",
        }
    }
}

impl fmt::Display for ClassLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The cohort's adult referent: both fields sealed with their person's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referent {
    pub display_name: Sealed,
    pub email: Sealed,
}

/// A pupil of the nominal list: their first name and initial sealed with a person of
/// their own (one per pupil and list, erased at the cohort's closing or the end of its
/// school year), their class level in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PupilName {
    pub first_name: Sealed,
    pub initial: Sealed,
    pub class_level: ClassLevel,
}

/// A training the cohort's referent or pupils attended: a session of the `trainings`
/// target (`session_id`, its title, day and length as recorded there), or an entry typed
/// by the school (a training given by someone else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohortTraining {
    pub entry_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Uuid>,
    pub held_on: NaiveDate,
    pub minutes: u32,
    pub title: String,
    /// For a session: the minutes its attendance records for the cohort's referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referent_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CohortEvent {
    /// A draft cohort. The department is kept so that access is decided on the cohort
    /// itself.
    CohortCreated {
        school_uai: Uai,
        department: DepartmentCode,
        school_year: SchoolYear,
        kind: CohortKind,
        referent: Referent,
    },
    /// The ambassadors by class level; a later count replaces the whole of it.
    CountsSet {
        counts: BTreeMap<ClassLevel, u32>,
    },
    /// The cohort is declared to the pole: its ambassadors count from now on.
    CohortDeclared {
        declared_on: NaiveDate,
    },
    TrainingRecorded(CohortTraining),
    /// The trained cohort starts its actions.
    CohortActivated {
        activated_on: NaiveDate,
    },
    /// The nominal list; a later list replaces it (the persons of the earlier one are
    /// erased).
    NamesSet {
        pupils: Vec<PupilName>,
    },
    /// Nothing changes after; the pupils' names are erased.
    CohortClosed {
        closed_on: NaiveDate,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_and_write_as_the_school_writes_them() {
        let counts: BTreeMap<ClassLevel, u32> =
            serde_json::from_str(r#"{"6e": 3, "3e": 2, "2nde": 1, "cm1": 4}"#).unwrap();
        assert_eq!(counts[&ClassLevel::Sixieme], 3);
        assert_eq!(
            serde_json::to_string(&counts).unwrap(),
            r#"{"cm1":4,"6e":3,"3e":2,"2nde":1}"#
        );
        assert_eq!(ClassLevel::parse(" CM2 "), Some(ClassLevel::Cm2));
        assert_eq!(ClassLevel::parse("7e"), None);
        for level in ClassLevel::ALL {
            assert_eq!(ClassLevel::parse(level.as_str()), Some(level));
            assert_eq!(level.count_field(), format!("counts.{level}"));
        }
    }

    #[test]
    fn every_school_may_have_parents_and_pupils_of_its_own_level_only() {
        for school in SchoolKind::ALL {
            assert!(CohortKind::for_school(*school).contains(&CohortKind::Parents));
        }
        assert_eq!(
            CohortKind::for_school(SchoolKind::College),
            [CohortKind::ElevesCollege, CohortKind::Parents]
        );
        assert!(!CohortKind::for_school(SchoolKind::LyceePro).contains(&CohortKind::ElevesCollege));
        assert!(CohortKind::for_school(SchoolKind::Erea).contains(&CohortKind::ElevesLycee));
    }
}
