//! Category `school`, owned by `directory`: one stream per school, `school-<UAI>`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{DepartmentCode, PriorityEducation, SchoolKind, Sector, Uai};

pub const CATEGORY: &str = "school";

/// Ce que le registre sait d'un établissement, tel qu'enregistré ou mis à jour en dernier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchoolRecord {
    #[schema(value_type = String, example = "0310001H")]
    pub uai: Uai,
    pub name: String,
    pub kind: SchoolKind,
    pub sector: Sector,
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    pub commune: String,
    /// Premier degré seulement : la circonscription de l'IEN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circonscription: Option<String>,
    pub priority_education: PriorityEducation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SchoolEvent {
    SchoolRegistered(SchoolRecord),
    /// Carries the whole record after the change.
    SchoolUpdated(SchoolRecord),
    /// A closed school stays in the history; a merge names its successor.
    SchoolClosed {
        closed_on: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        successor_uai: Option<Uai>,
    },
}
