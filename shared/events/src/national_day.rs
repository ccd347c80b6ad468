//! Categories `national_day` and `awareness_action`, owned by `national-day`.
//!
//! - `national_day`: one stream per school year, `national_day-<year>` (e.g.
//!   `national_day-2025-2026`), holding what the pole overrides of the Journée nationale
//!   « Non au harcèlement » of that year (its date, its window, its report deadline).
//!   Without a stream, the computed values apply.
//! - `awareness_action`: one stream per awareness or prevention action,
//!   `awareness_action-<uuid v7>`, declared by a school (or for it), for the national day
//!   or during the year, `draft → submitted → validated | returned → published`.
//!
//! No harassment situation is ever recorded here: an action says what was done, when,
//! for whom and with whom, and a climate survey is recorded as held (its date, its
//! levels), never its answers. Nothing personal: schools, counts, public partner names.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::phare::SchoolYear;
use crate::{DepartmentCode, Uai};

pub const NATIONAL_DAY_CATEGORY: &str = "national_day";
pub const ACTION_CATEGORY: &str = "awareness_action";

/// The id of a year's national-day stream in [`NATIONAL_DAY_CATEGORY`].
pub fn national_day_stream_id(year: SchoolYear) -> String {
    year.to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NationalDayEvent {
    /// What the pole sets for the year, whole: each absent value is the computed one
    /// (the date from the Toussaint return, the window J−30 → J+30, the report deadline
    /// J+21). A later record replaces it.
    NationalDaySet {
        school_year: SchoolYear,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date: Option<NaiveDate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_days_before: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_days_after: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report_deadline: Option<NaiveDate>,
    },
}

/// Which campaign an action belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = AwarenessCampaign,
    description = "Campagne de l'action : national_day (Journée nationale « Non au \
                   harcèlement », dans sa fenêtre) ou year_round (action de prévention \
                   pendant l'année scolaire)."
)]
pub enum Campaign {
    #[default]
    NationalDay,
    YearRound,
}

impl Campaign {
    pub const ALL: [Self; 2] = [Self::NationalDay, Self::YearRound];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NationalDay => "national_day",
            Self::YearRound => "year_round",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NationalDay => "Journée nationale « Non au harcèlement »",
            Self::YearRound => "Action de prévention pendant l'année",
        }
    }
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $id:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $id)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The identifier requests and events use.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $id),+ }
            }

            /// What users read, in French.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }

            /// The value of an identifier, `None` when it is not one.
            pub fn parse(text: &str) -> Option<Self> {
                let text = text.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// What an awareness action consists of (one action may be of several types).
    ActionType {
        ProjectionDebat => "projection_debat", "Projection-débat";
        Intervention => "intervention", "Intervention d'un partenaire ou d'un professionnel";
        Atelier => "atelier", "Atelier";
        Exposition => "exposition", "Exposition";
        TheatreForum => "theatre_forum", "Théâtre-forum";
        JeuQuiz => "jeu_quiz", "Jeu ou quiz";
        StandAmbassadeurs => "stand_ambassadeurs", "Stand des élèves ambassadeurs";
        ChansonChorale => "chanson_chorale", "Chanson ou chorale";
        TenueCommune => "tenue_commune", "Tenue ou signe commun";
        Lecture => "lecture", "Lecture";
        Questionnaire => "questionnaire", "Questionnaire sur le climat scolaire";
        Parents => "parents", "Action avec les parents";
        Autre => "autre", "Autre action (décrite)";
    }
);

vocabulary!(
    /// Who an action was for: school levels, parents, staff.
    AudienceLevel {
        Maternelle => "maternelle", "Maternelle";
        Cp => "cp", "CP";
        Ce1 => "ce1", "CE1";
        Ce2 => "ce2", "CE2";
        Cm1 => "cm1", "CM1";
        Cm2 => "cm2", "CM2";
        Sixieme => "6e", "Sixième";
        Cinquieme => "5e", "Cinquième";
        Quatrieme => "4e", "Quatrième";
        Troisieme => "3e", "Troisième";
        Seconde => "2nde", "Seconde";
        Premiere => "1re", "Première";
        Terminale => "tle", "Terminale";
        Parents => "parents", "Parents";
        Personnels => "personnels", "Personnels";
    }
);

/// A school an action is held in, with its department (kept so that access is decided
/// on the action itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSchool {
    pub uai: Uai,
    pub department: DepartmentCode,
}

/// A partner of an action: an entry of the orientation directory (its id, and its
/// public name when the action was recorded), or a name typed freely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionPartner {
    Directory { partner_id: Uuid, name: String },
    Named { name: String },
}

impl ActionPartner {
    pub fn name(&self) -> &str {
        match self {
            Self::Directory { name, .. } | Self::Named { name } => name,
        }
    }
}

/// What an action is, as declared or last edited: each record carries it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDetails {
    /// One or several schools (an inter-degree action of a collège and its écoles); the
    /// first is the one that declared it.
    pub schools: Vec<ActionSchool>,
    pub date: NaiveDate,
    pub types: Vec<ActionType>,
    #[serde(default)]
    pub audience_levels: Vec<AudienceLevel>,
    pub pupils_reached: u32,
    #[serde(default)]
    pub adults_reached: u32,
    #[serde(default)]
    pub partners: Vec<ActionPartner>,
    #[serde(default)]
    pub description: String,
    /// Held (reported afterwards) rather than planned.
    pub held: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionEvent {
    ActionDeclared {
        school_year: SchoolYear,
        campaign: Campaign,
        #[serde(flatten)]
        details: ActionDetails,
    },
    /// Carries the whole details after the change.
    ActionEdited {
        #[serde(flatten)]
        details: ActionDetails,
    },
    ActionSubmitted,
    /// The department referent (or the pole) sends the action back to the school.
    ActionReturned {
        reason: String,
    },
    ActionValidated,
    ActionPublished,
}
