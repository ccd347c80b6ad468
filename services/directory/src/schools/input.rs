//! A school as typed in the form or read from a line of an import, and its checks:
//! every field at fault, each with its French reason.

use pharos_events::school::SchoolRecord;
use pharos_events::{Academy, PriorityEducation, SchoolKind, Uai};

use crate::labels::{parse_priority_education, parse_school_kind, parse_sector};
use serde::Deserialize;

/// Un établissement tel que saisi dans le formulaire ou lu dans une ligne CSV, avant
/// contrôle.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SchoolInput {
    #[schema(example = "0310001H")]
    pub uai: String,
    pub name: String,
    /// `ecole`, `college`, `lycee_gt`, `lycee_pro`, `lycee_poly`, `erea`, `periscolaire`
    /// (ou leur nom en français : « lycée professionnel »).
    #[schema(example = "college")]
    pub kind: String,
    /// `public` ou `prive_sous_contrat`.
    #[schema(example = "public")]
    pub sector: String,
    /// Département de l'académie (`31` ou `031`).
    #[schema(example = "31")]
    pub department: String,
    pub commune: String,
    /// Circonscription de l'IEN : obligatoire pour une école (1er degré).
    #[serde(default)]
    pub circonscription: Option<String>,
    /// `none` (par défaut), `rep` ou `rep_plus`.
    #[serde(default)]
    pub priority_education: Option<String>,
}

impl SchoolInput {
    /// The checked record, or every field at fault with its French reason.
    pub fn check(&self, academy: &Academy) -> Result<SchoolRecord, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let uai = Uai::parse(&self.uai)
            .map_err(|e| errors.push(("uai", e.0)))
            .ok();
        let name = self.name.trim();
        if name.is_empty() {
            errors.push(("name", "le nom de l'établissement est vide".to_owned()));
        }
        let kind = parse_school_kind(&self.kind)
            .map_err(|e| errors.push(("kind", e)))
            .ok();
        let sector = parse_sector(&self.sector)
            .map_err(|e| errors.push(("sector", e)))
            .ok();
        let department = academy
            .department(&self.department)
            .map_err(|e| errors.push(("department", e.0)))
            .ok();
        let commune = self.commune.trim();
        if commune.is_empty() {
            errors.push(("commune", "la commune est vide".to_owned()));
        }
        let circonscription = self
            .circonscription
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if kind.is_some_and(SchoolKind::is_primary) && circonscription.is_none() {
            errors.push((
                "circonscription",
                "une école (1er degré) doit appartenir à une circonscription".to_owned(),
            ));
        }
        let priority_education = match self.priority_education.as_deref().map(str::trim) {
            None | Some("") => Some(PriorityEducation::None),
            Some(p) => parse_priority_education(p)
                .map_err(|e| errors.push(("priority_education", e)))
                .ok(),
        };
        match (uai, kind, sector, department, priority_education) {
            (Some(uai), Some(kind), Some(sector), Some(department), Some(priority_education))
                if errors.is_empty() =>
            {
                Ok(SchoolRecord {
                    uai,
                    name: name.to_owned(),
                    kind,
                    sector,
                    department,
                    commune: commune.to_owned(),
                    circonscription,
                    priority_education,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_primary_school_needs_a_circonscription_and_a_department_of_the_academy() {
        let input = SchoolInput {
            uai: "0310001H".into(),
            name: "École Jean Jaurès".into(),
            kind: "ecole".into(),
            sector: "public".into(),
            department: "33".into(),
            commune: "Toulouse".into(),
            circonscription: Some("  ".into()),
            priority_education: None,
        };
        let errors = input.check(&Academy::toulouse()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["department", "circonscription"]);
    }
}
