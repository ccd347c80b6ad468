//! Categories `phare_deployment` and `phare_label`, owned by `phare`.
//!
//! A deployment is one stream per owner (a school, or a circonscription for the resource
//! team of primary schools) and school year, `phare_deployment-<uuid v5 of owner and
//! year>`, so that a second deployment for the same owner and year collides on the
//! stream itself. A label application is one stream per school and year likewise,
//! `phare_label-<uuid v5 of school and year>`, which lets the progressive-level rule read
//! a school's earlier years without scanning the category. Staff names and e-mails are
//! personal and sealed.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use pharos_privacy::Sealed;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DepartmentCode, InvalidValue, Uai};

pub const DEPLOYMENT_CATEGORY: &str = "phare_deployment";
pub const LABEL_CATEGORY: &str = "phare_label";

/// Année scolaire: `"2026-2027"`, from 1 September of the first year to 31 August of the
/// second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SchoolYear {
    start: i32,
}

impl SchoolYear {
    /// Years outside this range cannot be dates of the platform (and stay far from
    /// chrono's limits).
    const EARLIEST: i32 = 1900;
    const LATEST: i32 = 2999;

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        let malformed = || {
            InvalidValue(format!(
                "« {text} » n'est pas une année scolaire : deux années consécutives attendues (ex. 2026-2027)"
            ))
        };
        let (first, second) = text.split_once('-').ok_or_else(malformed)?;
        let year = |part: &str| {
            (part.len() == 4 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<i32>().ok())
                .flatten()
        };
        let (Some(first), Some(second)) = (year(first), year(second)) else {
            return Err(malformed());
        };
        if second != first + 1 {
            return Err(InvalidValue(format!(
                "« {text} » n'est pas une année scolaire : la seconde année doit suivre la première (ex. {first}-{})",
                first + 1
            )));
        }
        Self::starting(first).ok_or_else(malformed)
    }

    /// The school year starting in September of `year`.
    pub fn starting(year: i32) -> Option<Self> {
        (Self::EARLIEST..=Self::LATEST)
            .contains(&year)
            .then_some(Self { start: year })
    }

    /// The school year `date` falls in.
    pub fn containing(date: NaiveDate) -> Self {
        let start = if date.month() >= 9 {
            date.year()
        } else {
            date.year() - 1
        };
        Self {
            start: start.clamp(Self::EARLIEST, Self::LATEST),
        }
    }

    pub fn start_year(self) -> i32 {
        self.start
    }

    /// 1 September.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.start, 9, 1).unwrap_or(NaiveDate::MIN)
    }

    /// 31 August.
    pub fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.start + 1, 8, 31).unwrap_or(NaiveDate::MAX)
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        (self.first_day()..=self.last_day()).contains(&date)
    }

    pub fn next(self) -> Self {
        Self {
            start: (self.start + 1).min(Self::LATEST),
        }
    }

    pub fn previous(self) -> Self {
        Self {
            start: (self.start - 1).max(Self::EARLIEST),
        }
    }
}

impl fmt::Display for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.start + 1)
    }
}

impl TryFrom<String> for SchoolYear {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SchoolYear> for String {
    fn from(year: SchoolYear) -> Self {
        year.to_string()
    }
}

/// Whose deployment it is. The department is kept so that access is decided on the
/// deployment itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeploymentOwner {
    School {
        uai: Uai,
        department: DepartmentCode,
    },
    /// The resource team of the primary schools of a circonscription (1er degré, IEN),
    /// spelt as the school directory spells it.
    Circonscription {
        circonscription: String,
        department: DepartmentCode,
    },
}

impl DeploymentOwner {
    pub fn department(&self) -> &DepartmentCode {
        match self {
            Self::School { department, .. } | Self::Circonscription { department, .. } => {
                department
            }
        }
    }
}

/// What a resource-team member does in the school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Fonction d'un membre de l'équipe ressource : enseignant, CPE, AED, infirmier, \
                   assistant social, psychologue de l'Éducation nationale, direction, conseiller \
                   pédagogique, IEN, médecin scolaire, AESH, ou autre (précisée par un libellé)."
)]
pub enum TeamFunction {
    Enseignant,
    Cpe,
    Aed,
    Infirmier,
    AssistantSocial,
    Psyen,
    Direction,
    ConseillerPedagogique,
    Ien,
    MedecinScolaire,
    Aesh,
    /// Another function, named by the member's `function_label`.
    Autre,
}

/// A member of staff named in a deployment: both fields sealed with their person's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffPerson {
    pub display_name: Sealed,
    pub email: Sealed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub member_id: Uuid,
    pub person: StaffPerson,
    pub function: TeamFunction,
    pub trained: bool,
    pub training_minutes: u32,
    /// Trained in the méthode de la préoccupation partagée.
    pub mpp_trained: bool,
    /// The member's school: absent for a school deployment's own staff, and for staff of
    /// the circonscription itself (IEN team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_uai: Option<Uai>,
    /// The function's name when it is [`TeamFunction::Autre`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_label: Option<String>,
    /// Copied from the previous school year's deployment when this one was opened, and
    /// not confirmed since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub carried_over: bool,
}

/// What may change of a team member during the year (their person stays): each field
/// the new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDetails {
    pub function: TeamFunction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_label: Option<String>,
    pub trained: bool,
    pub training_minutes: u32,
    pub mpp_trained: bool,
}

/// Where the treatment protocol is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Instance devant laquelle le protocole de traitement est présenté : conseil \
                   d'administration (établissement du second degré) ou conseil d'école."
)]
pub enum ProtocolBody {
    ConseilAdministration,
    ConseilEcole,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeploymentEvent {
    DeploymentCreated {
        owner: DeploymentOwner,
        school_year: SchoolYear,
    },
    /// The charte d'engagement, signed on that day; a later one (renewal or correction)
    /// replaces it.
    CharterSigned {
        signed_on: NaiveDate,
    },
    TeamMemberAdded(TeamMember),
    TeamMemberRemoved {
        member_id: Uuid,
    },
    /// A member's function, training or MPP changed during the year; it confirms a
    /// member carried over.
    TeamMemberUpdated {
        member_id: Uuid,
        details: MemberDetails,
    },
    /// The coordinator / référent harcèlement; a later one replaces them.
    CoordinatorNamed {
        person: StaffPerson,
        /// Copied from the previous school year's deployment, to confirm.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        carried_over: bool,
    },
    /// The protocole de traitement; a later record replaces it.
    ProtocolRecorded {
        formalised_on: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        presented_on: Option<NaiveDate>,
        presented_to: ProtocolBody,
        /// Copied from the previous school year's deployment, to confirm.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        carried_over: bool,
    },
    /// What was carried over from the previous school year (team, coordinator, protocol)
    /// is confirmed as it now stands.
    CarryOverConfirmed,
    /// The 10 heures d'apprentissage; a later plan replaces it.
    LearningHoursPlanned {
        planned: bool,
        hours: u32,
    },
    /// A parent workshop, held or (dated ahead) scheduled.
    ParentWorkshopRecorded {
        workshop_id: Uuid,
        held_on: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participants: Option<u32>,
    },
}

/// Label levels, progressive.
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
    description = "Niveau du label pHARe, progressif : engagement (1), approfondissement (2), \
                   expertise (3)."
)]
pub enum LabelLevel {
    Engagement,
    Approfondissement,
    Expertise,
}

impl LabelLevel {
    pub const ALL: [Self; 3] = [Self::Engagement, Self::Approfondissement, Self::Expertise];

    /// 1, 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            Self::Engagement => 1,
            Self::Approfondissement => 2,
            Self::Expertise => 3,
        }
    }

    pub fn from_number(number: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.number() == number)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Engagement => "engagement",
            Self::Approfondissement => "approfondissement",
            Self::Expertise => "expertise",
        }
    }

    /// The level below, `None` for the first.
    pub fn below(self) -> Option<Self> {
        self.number().checked_sub(1).and_then(Self::from_number)
    }
}

impl fmt::Display for LabelLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "niveau {} ({})", self.number(), self.as_str())
    }
}

/// Who answers a criterion: the applying school (or its referent), or the pole (facts
/// only the pole holds, such as contest participation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Qui répond au critère : l'établissement candidat (ou son référent), ou le \
                   pôle (faits que seul le pôle connaît, comme la participation au concours)."
)]
pub enum CriterionAuthority {
    #[default]
    School,
    Pole,
}

/// One item of a level's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionSpec {
    pub key: String,
    /// What users see, in French.
    pub label: String,
    #[serde(default)]
    pub answered_by: CriterionAuthority,
}

/// A level's checklist as configured for the year when the application was drafted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChecklist {
    pub level: LabelLevel,
    pub criteria: Vec<CriterionSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LabelEvent {
    /// The application, with the checklists of every level up to the target as they were
    /// configured then (a later change of configuration leaves it alone).
    LabelDrafted {
        school_uai: Uai,
        department: DepartmentCode,
        school_year: SchoolYear,
        target_level: LabelLevel,
        checklists: Vec<LevelChecklist>,
    },
    /// An answer to one criterion; a later answer replaces it.
    CriterionAnswered {
        criterion: String,
        met: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<String>,
    },
    LabelSubmitted,
    LabelReviewStarted,
    LabelAwarded {
        level: LabelLevel,
        reason: String,
    },
    LabelNotAwarded {
        reason: String,
    },
    /// The pole returns an application under review to the school, with the reason: the
    /// school corrects its answers and submits it again.
    LabelReturned {
        reason: String,
    },
}

/// The label checklists of one school year as the pole set them at run time, one stream
/// per year in the `phare_label` category: `phare_label-criteria-<year>` (e.g.
/// `phare_label-criteria-2026-2027`). Without one, the checklists shipped in
/// `criteria.json` apply. Applications already drafted keep the checklists they were
/// drafted with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LabelCriteriaEvent {
    /// Every level's checklist for the year; a later record replaces it whole.
    LabelCriteriaSet {
        school_year: SchoolYear,
        checklists: Vec<LevelChecklist>,
    },
}
