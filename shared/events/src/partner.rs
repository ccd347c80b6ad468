//! Category `partner`, owned by `directory`: the orientation directory, one stream per
//! partner or help line, `partner-<uuid>`. Organisations' own numbers and addresses are
//! public; named contact people are personal and sealed.

use chrono::NaiveDate;
use pharos_privacy::Sealed;
use serde::{Deserialize, Serialize};

use crate::DepartmentCode;

pub const CATEGORY: &str = "partner";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    /// Numéro d'aide (3018, 119...).
    HelpLine,
    /// Urgences (17, 112, 114).
    Emergency,
    MaisonDesAdolescents,
    /// Cellule ou dispositif local.
    LocalCell,
    Association,
    Health,
    Justice,
    /// Police ou gendarmerie (maison de protection des familles, cellule psycho-sociale...).
    Police,
    /// Collectivité (commune, département, intercommunalité) et ses services.
    LocalAuthority,
    /// Aide aux victimes (France Victimes, 116 006...).
    VictimSupport,
    /// Planning familial.
    FamilyPlanning,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartnerScope {
    National,
    Department,
    Local,
}

/// A named person to contact at the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPerson {
    pub display_name: Sealed,
    pub email: Sealed,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Sealed>,
    /// What they do there (public: « infirmière », « coordinatrice »).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerRecord {
    pub name: String,
    pub kind: PartnerKind,
    pub scope: PartnerScope,
    /// Required for department partners, and for local ones in the academy; a local
    /// partner outside it has a commune and a country instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<DepartmentCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commune: Option<String>,
    /// ISO 3166 code of the country (`BE`) of a local partner outside France; absent
    /// for France (and in every event written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Numbers as people dial them, normalised (`05 61 00 00 00`, `+32 56 39 16 20`,
    /// short numbers such as `3018` as they are). Older events hold them as typed.
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Opening hours as the partner states them (« 7j/7, 24h/24 »).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    pub description: String,
    #[serde(default)]
    pub contacts: Vec<ContactPerson>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PartnerEvent {
    PartnerRegistered {
        #[serde(flatten)]
        record: PartnerRecord,
        verified_on: NaiveDate,
    },
    /// Carries the whole record after the change.
    PartnerUpdated {
        #[serde(flatten)]
        record: PartnerRecord,
    },
    /// Someone checked the entry is still right.
    PartnerVerified { verified_on: NaiveDate },
    /// The entry leaves the directory's lists (kept, and can come back).
    PartnerArchived {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An archived entry is back in the lists.
    PartnerUnarchived {},
}
