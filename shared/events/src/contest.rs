//! Categories `contest` and `contest_entry`, owned by `contests`: the « Non au
//! harcèlement » contest.
//!
//! An edition is one stream per school year, `contest-<uuid v5 of the year>`, so that a
//! second edition of the same year collides on the stream itself. It holds the dates, the
//! categories, special prizes, rules and scoring criteria, the deadline extensions granted
//! to schools, the jurors appointed, the awards (decided there, where « one laureate per
//! category » and the nomination quota are checked against every award of the edition;
//! revoked there until publication), the palmarès frozen at publication, the national
//! round's results of the nominated entries, and the close that archives every entry.
//!
//! An entry is one stream per production, `contest_entry-<uuid v7>`. No pupil is named:
//! the group is its class levels and counts. The responsible adult's name and e-mail are
//! personal and sealed. Files are referred to by the sha256 of their content, kept in the
//! target's content-addressed store, never in events.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use pharos_privacy::Sealed;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::phare::SchoolYear;
use crate::{DepartmentCode, SchoolKind, Uai};

pub const EDITION_CATEGORY: &str = "contest";
pub const ENTRY_CATEGORY: &str = "contest_entry";

/// Niveau d'une catégorie du concours.
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
    as = ContestLevel,
    description = "Niveau d'une catégorie : école, collège, lycée, périscolaire, ou inter-degrés \
                   (un groupe mêlant des niveaux de plusieurs degrés)."
)]
pub enum ContestLevel {
    Ecole,
    College,
    Lycee,
    Periscolaire,
    InterDegres,
}

impl ContestLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ecole => "ecole",
            Self::College => "college",
            Self::Lycee => "lycee",
            Self::Periscolaire => "periscolaire",
            Self::InterDegres => "inter_degres",
        }
    }

    /// The level a school of `kind` competes at (outside `inter_degres`).
    pub fn of_school(kind: SchoolKind) -> Self {
        match kind {
            SchoolKind::Ecole => Self::Ecole,
            SchoolKind::College => Self::College,
            SchoolKind::LyceeGt
            | SchoolKind::LyceePro
            | SchoolKind::LyceePoly
            | SchoolKind::Erea => Self::Lycee,
            SchoolKind::Periscolaire => Self::Periscolaire,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Ecole => "école",
            Self::College => "collège",
            Self::Lycee => "lycée",
            Self::Periscolaire => "périscolaire",
            Self::InterDegres => "inter-degrés",
        }
    }
}

/// Support d'une production.
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
#[schema(as = ContestMedium, description = "Support de la production : affiche ou vidéo.")]
pub enum Medium {
    Affiche,
    Video,
}

impl Medium {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Affiche => "affiche",
            Self::Video => "video",
        }
    }
}

/// Niveau de classe d'un groupe d'élèves.
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
    as = ContestClassLevel,
    description = "Niveau de classe : ps, ms, gs, cp, ce1, ce2, cm1, cm2 (école), 6e, 5e, 4e, 3e \
                   (collège), 2nde, 1re, tle (terminale), cap (lycée)."
)]
pub enum ClassLevel {
    #[serde(rename = "ps")]
    Ps,
    #[serde(rename = "ms")]
    Ms,
    #[serde(rename = "gs")]
    Gs,
    #[serde(rename = "cp")]
    Cp,
    #[serde(rename = "ce1")]
    Ce1,
    #[serde(rename = "ce2")]
    Ce2,
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
    #[serde(rename = "cap")]
    Cap,
}

impl ClassLevel {
    /// The level of school this class belongs to.
    pub fn stage(self) -> ContestLevel {
        match self {
            Self::Ps
            | Self::Ms
            | Self::Gs
            | Self::Cp
            | Self::Ce1
            | Self::Ce2
            | Self::Cm1
            | Self::Cm2 => ContestLevel::Ecole,
            Self::Sixieme | Self::Cinquieme | Self::Quatrieme | Self::Troisieme => {
                ContestLevel::College
            }
            Self::Seconde | Self::Premiere | Self::Terminale | Self::Cap => ContestLevel::Lycee,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ps => "ps",
            Self::Ms => "ms",
            Self::Gs => "gs",
            Self::Cp => "cp",
            Self::Ce1 => "ce1",
            Self::Ce2 => "ce2",
            Self::Cm1 => "cm1",
            Self::Cm2 => "cm2",
            Self::Sixieme => "6e",
            Self::Cinquieme => "5e",
            Self::Quatrieme => "4e",
            Self::Troisieme => "3e",
            Self::Seconde => "2nde",
            Self::Premiere => "1re",
            Self::Terminale => "tle",
            Self::Cap => "cap",
        }
    }
}

/// Type de fichier accepté, reconnu d'après son contenu.
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
    as = ContestFileType,
    description = "Type de fichier, reconnu d'après son contenu (jamais d'après son extension) : \
                   png, jpeg, pdf, mp4, webm."
)]
pub enum FileType {
    Png,
    Jpeg,
    Pdf,
    Mp4,
    Webm,
}

impl FileType {
    pub const ALL: [Self; 5] = [Self::Png, Self::Jpeg, Self::Pdf, Self::Mp4, Self::Webm];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Pdf => "pdf",
            Self::Mp4 => "mp4",
            Self::Webm => "webm",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Pdf => "application/pdf",
            Self::Mp4 => "video/mp4",
            Self::Webm => "video/webm",
        }
    }

    /// The type a MIME type names.
    pub fn of_mime(mime: &str) -> Option<Self> {
        match mime.trim().to_ascii_lowercase().as_str() {
            "image/png" => Some(Self::Png),
            "image/jpeg" | "image/jpg" => Some(Self::Jpeg),
            "application/pdf" => Some(Self::Pdf),
            "video/mp4" | "video/quicktime" => Some(Self::Mp4),
            "video/webm" => Some(Self::Webm),
            _ => None,
        }
    }

    /// The type a file name's extension claims.
    pub fn of_extension(name: &str) -> Option<Self> {
        let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "png" => Some(Self::Png),
            "jpg" | "jpeg" => Some(Self::Jpeg),
            "pdf" => Some(Self::Pdf),
            "mp4" | "m4v" | "mov" => Some(Self::Mp4),
            "webm" => Some(Self::Webm),
            _ => None,
        }
    }

    /// The medium a file of this type is a production of: a video, or a poster (image or
    /// PDF).
    pub fn medium(self) -> Medium {
        match self {
            Self::Mp4 | Self::Webm => Medium::Video,
            Self::Png | Self::Jpeg | Self::Pdf => Medium::Affiche,
        }
    }
}

/// A category of an edition: a level and a medium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContestCategory {
    pub level: ContestLevel,
    pub medium: Medium,
    pub label: String,
}

impl ContestCategory {
    /// How requests name it: `college_video`.
    pub fn key(&self) -> String {
        format!("{}_{}", self.level.as_str(), self.medium.as_str())
    }
}

/// A special prize of an edition (`cyberharcelement`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialPrize {
    pub key: String,
    pub label: String,
}

/// The rules of an edition, as settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContestRules {
    pub media: Vec<Medium>,
    pub max_video_seconds: u32,
    pub max_file_bytes: u64,
    pub file_types: Vec<FileType>,
    pub max_entries_per_group: u32,
    pub nominees_per_category: u32,
}

/// A scoring criterion and its weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub key: String,
    pub label: String,
    pub weight: u32,
}

/// An award.
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
    as = ContestAwardKind,
    description = "Distinction : lauréat (un par catégorie), mention, coup de cœur (un par \
                   catégorie), ou sélection pour le concours national (dans la limite du quota \
                   par catégorie)."
)]
pub enum AwardKind {
    Laureate,
    Mention,
    CoupDeCoeur,
    NominatedNational,
}

impl AwardKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Laureate => "lauréat",
            Self::Mention => "mention",
            Self::CoupDeCoeur => "coup de cœur",
            Self::NominatedNational => "sélection nationale",
        }
    }

    /// One entry at most per category holds this award.
    pub fn exclusive(self) -> bool {
        matches!(self, Self::Laureate | Self::CoupDeCoeur)
    }
}

/// The dates of an edition besides opening and deadline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EditionDates {
    /// The academic jury.
    pub jury_on: Option<NaiveDate>,
    /// A local round (circonscription or department) before the academic jury.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_round_on: Option<NaiveDate>,
    /// The day nominees are sent to the national round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_submission_on: Option<NaiveDate>,
    /// The exhibition at the rectorat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhibition_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhibition_to: Option<NaiveDate>,
}

/// One line of a published palmarès: no personal data, the group as counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PalmaresLine {
    pub category: String,
    pub entry_id: Uuid,
    pub title: String,
    pub school_uai: Uai,
    pub school_name: String,
    pub levels: Vec<ClassLevel>,
    pub pupil_count: u32,
    pub adult_count: u32,
    pub awards: Vec<AwardKind>,
    #[serde(default)]
    pub special_prizes: Vec<String>,
    /// The weighted score on 20, in hundredths.
    pub score_hundredths: Option<u32>,
    /// The rank in its category by weighted score (ties share a rank).
    pub rank: Option<u32>,
    pub tied: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContestEvent {
    EditionCreated {
        school_year: SchoolYear,
        edition: u32,
        opens_at: DateTime<Utc>,
        submission_deadline: DateTime<Utc>,
        dates: EditionDates,
        categories: Vec<ContestCategory>,
        special_prizes: Vec<SpecialPrize>,
        rules: ContestRules,
        criteria: Vec<Criterion>,
    },
    /// The pole lets one school submit after the deadline (the actor is in the metadata).
    DeadlineExtended {
        school_uai: Uai,
        until: DateTime<Utc>,
        reason: String,
    },
    /// A juror of the edition, with their school or department of attachment (recusal).
    JurorAppointed {
        juror_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        school_uai: Option<Uai>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        department: Option<DepartmentCode>,
    },
    AwardGranted {
        entry_id: Uuid,
        category: String,
        kind: AwardKind,
    },
    /// The pole takes an award back before publication (a mistake put right; the actor
    /// is in the metadata).
    AwardRevoked {
        entry_id: Uuid,
        category: String,
        kind: AwardKind,
    },
    /// The palmarès as published: frozen.
    ResultsPublished { palmares: Vec<PalmaresLine> },
    /// The national round's result for an entry nominated to it, recorded by the pole
    /// after publication: `awarded` — national laureate, or not awarded. A later one for
    /// the same entry corrects it.
    NationalResultRecorded { entry_id: Uuid, awarded: bool },
    /// The campaign is over: every entry of the edition is archived, and files of
    /// entries without an award are deleted.
    CampaignClosed,
}

/// The pupils behind an entry: never named, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The class or workshop (« 5e B », « atelier théâtre »): entries are counted by it.
    pub label: String,
    pub levels: Vec<ClassLevel>,
    pub pupil_count: u32,
    pub adult_count: u32,
}

/// What the school says of its entry, and may change while it is a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryDetails {
    /// The category's key (`college_video`).
    pub category: String,
    pub special_prizes: Vec<String>,
    pub title: String,
    pub group: Group,
    pub project_sheet: String,
}

/// The adult responsible for an entry: sealed with their person's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Responsible {
    pub display_name: Sealed,
    pub email: Sealed,
}

/// A file of an entry, in the content-addressed store under its sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryFile {
    pub file_id: Uuid,
    pub sha256: String,
    pub bytes: u64,
    pub file_type: FileType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
}

/// What the school attests: it holds the rights (no signed form is uploaded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestations {
    pub image_rights: bool,
    pub third_party_rights: bool,
    pub republic_values: bool,
    pub rights_grant: bool,
    /// The function of who attests (« principal du collège »), not a name.
    pub attested_by: String,
}

impl Attestations {
    pub fn complete(&self) -> bool {
        self.image_rights && self.third_party_rights && self.republic_values && self.rights_grant
    }
}

/// Where an entry stands. The entry's own stream takes it from `draft` to `under_jury`
/// (or `withdrawn`); the states after the jury come from its edition (see
/// [`EntryStatus::standing`]): the published palmarès (`laureate`, `mention`,
/// `not_selected`, `nominated_national`), the national round's result
/// (`national_laureate`, `not_awarded`), the campaign's close (`archived`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = ContestEntryStatus,
    description = "État d'une production : brouillon, déposée, recevable, non recevable, \
                   devant le jury (au moins un juré désigné), retirée ; une fois le palmarès \
                   publié : lauréate, mention (ou coup de cœur), non retenue, sélectionnée \
                   pour le concours national ; puis lauréate nationale ou non primée au \
                   concours national ; archivée à la clôture de la campagne."
)]
pub enum EntryStatus {
    #[default]
    Draft,
    Submitted,
    Admissible,
    Inadmissible,
    UnderJury,
    Withdrawn,
    Laureate,
    Mention,
    NotSelected,
    NominatedNational,
    NationalLaureate,
    NotAwarded,
    Archived,
}

impl EntryStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "brouillon",
            Self::Submitted => "déposée",
            Self::Admissible => "recevable",
            Self::Inadmissible => "non recevable",
            Self::UnderJury => "devant le jury",
            Self::Withdrawn => "retirée",
            Self::Laureate => "lauréate",
            Self::Mention => "distinguée d'une mention",
            Self::NotSelected => "non retenue",
            Self::NominatedNational => "sélectionnée pour le concours national",
            Self::NationalLaureate => "lauréate du concours national",
            Self::NotAwarded => "non primée au concours national",
            Self::Archived => "archivée",
        }
    }

    /// Admissible: with or without jurors yet, or judged since.
    pub fn admissible(self) -> bool {
        matches!(
            self,
            Self::Admissible
                | Self::UnderJury
                | Self::Laureate
                | Self::Mention
                | Self::NotSelected
                | Self::NominatedNational
                | Self::NationalLaureate
                | Self::NotAwarded
        )
    }

    /// Where an entry whose own stream left it at `self` stands, given its edition:
    /// archived once the campaign is closed (withdrawn entries stay withdrawn); after
    /// publication, an admissible entry is nominated (then national laureate or not
    /// awarded once the national result is in), laureate, mention (a mention or a coup de
    /// cœur), or not selected. Before publication nothing of the jury's outcome shows.
    pub fn standing(
        self,
        closed: bool,
        published: bool,
        awards: &[AwardKind],
        national_result: Option<bool>,
    ) -> Self {
        if self == Self::Withdrawn {
            return self;
        }
        if closed {
            return Self::Archived;
        }
        if !published || !self.admissible() {
            return self;
        }
        if awards.contains(&AwardKind::NominatedNational) {
            return match national_result {
                Some(true) => Self::NationalLaureate,
                Some(false) => Self::NotAwarded,
                None => Self::NominatedNational,
            };
        }
        if awards.contains(&AwardKind::Laureate) {
            Self::Laureate
        } else if awards.is_empty() {
            Self::NotSelected
        } else {
            Self::Mention
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryEvent {
    EntryCreated {
        contest_id: Uuid,
        school_uai: Uai,
        department: DepartmentCode,
        details: EntryDetails,
        responsible: Responsible,
    },
    EntryEdited {
        details: EntryDetails,
    },
    ResponsibleChanged {
        responsible: Responsible,
    },
    FileAttached(EntryFile),
    FileRemoved {
        file_id: Uuid,
    },
    Attested(Attestations),
    /// `extended_until`: submitted after the deadline under the school's extension.
    EntrySubmitted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extended_until: Option<DateTime<Utc>>,
    },
    EntryWithdrawn,
    AdmissibilityDecided {
        admissible: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    JurorAssigned {
        juror_id: Uuid,
    },
    /// A juror's marks on 20 per criterion; a later one of the same juror replaces it.
    EntryScored {
        juror_id: Uuid,
        scores: BTreeMap<String, u8>,
    },
    /// Files deleted from the store: under a retention rule (`purpose`:
    /// `contest_file_non_laureate`), or because the responsible adult was erased
    /// (`person_erased`).
    FilesDeleted {
        file_ids: Vec<Uuid>,
        purpose: String,
    },
}
