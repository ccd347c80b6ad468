//! Schools and circonscriptions as this target needs them: found in the reference
//! projection of the `school` category (read through on a miss), checked by pure rules.

use pharos_access::{Access, SchoolRef};
use pharos_decider::Rejection;
use pharos_events::{DepartmentCode, Uai};
use pharos_eventstore::StoreError;
use pharos_web::Problem;

/// A school as the rules here need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSchool {
    pub uai: Uai,
    /// Its name in the school directory, for messages.
    pub name: String,
    pub department: DepartmentCode,
    pub circonscription: Option<String>,
    pub closed: bool,
}

impl From<SchoolRef> for KnownSchool {
    fn from(school: SchoolRef) -> Self {
        Self {
            uai: school.uai,
            name: school.name,
            department: school.department,
            circonscription: school.circonscription,
            closed: school.closed,
        }
    }
}

/// Circonscriptions are typed by people: « Toulouse  Nord » and « toulouse nord » are
/// the same one.
pub fn same_circonscription(a: &str, b: &str) -> bool {
    normal_circonscription(a) == normal_circonscription(b)
}

/// The spelling circonscriptions are compared (and keyed) by: lower case, single spaces.
pub fn normal_circonscription(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

impl KnownSchool {
    /// How the school is named in sentences: its name, with its UAI in parentheses.
    pub fn named(&self) -> String {
        named(&self.name, &self.uai)
    }
}

/// A school's name with its UAI in parentheses (the UAI alone without a name).
pub fn named(name: &str, uai: &Uai) -> String {
    let name = name.trim();
    if name.is_empty() {
        uai.to_string()
    } else {
        format!("{name} ({uai})")
    }
}

/// The school, from the reference projection (read through on a miss).
pub async fn school(access: &Access, uai: &Uai) -> Result<Option<KnownSchool>, Problem> {
    Ok(access.reference.school(uai).await?.map(KnownSchool::from))
}

/// Who may own a deployment or apply for a label: a registered school still open.
pub fn open_school(
    field: &'static str,
    uai: &Uai,
    found: Option<KnownSchool>,
) -> Result<KnownSchool, Rejection> {
    let school = registered_school(field, uai, found)?;
    if school.closed {
        return Err(Rejection::invalid(
            "school-closed",
            field,
            format!(
                "L'établissement {} est fermé : il ne peut plus déployer pHARe ni candidater au label.",
                school.named()
            ),
        ));
    }
    Ok(school)
}

/// A school named in a request must be in the school directory.
pub fn registered_school(
    field: &'static str,
    uai: &Uai,
    found: Option<KnownSchool>,
) -> Result<KnownSchool, Rejection> {
    found.ok_or_else(|| {
        Rejection::invalid(
            "school-unknown",
            field,
            format!(
                "L'établissement {uai} n'est pas enregistré dans le répertoire des établissements."
            ),
        )
    })
}

/// The circonscription as the school directory spells it, when at least one school of
/// `department` belongs to it; refused otherwise.
pub fn circonscription(
    name: &str,
    department: &DepartmentCode,
    schools: &[KnownSchool],
) -> Result<String, Rejection> {
    schools
        .iter()
        .filter(|s| &s.department == department)
        .filter_map(|s| s.circonscription.as_deref())
        .find(|c| same_circonscription(c, name))
        .map(|c| c.trim().to_owned())
        .ok_or_else(|| {
            Rejection::invalid(
                "circonscription-unknown",
                "circonscription",
                format!(
                    "Aucune école du département {department} n'est rattachée à la circonscription « {} » : \
                     vérifiez son nom dans le répertoire des établissements.",
                    name.trim()
                ),
            )
        })
}

/// The schools of `department`, for circonscription checks. The projection may lag
/// behind a school registered a moment ago: when it knows no school of `name`, it is
/// brought up to the last school event before answering "unknown".
pub async fn schools_for_circonscription(
    access: &Access,
    name: &str,
    department: &DepartmentCode,
) -> Result<Vec<KnownSchool>, StoreError> {
    let of_department = |schools: Vec<SchoolRef>| -> Vec<KnownSchool> {
        schools
            .into_iter()
            .filter(|s| &s.department == department)
            .map(KnownSchool::from)
            .collect()
    };
    let projected = of_department(access.reference.schools());
    let found = projected
        .iter()
        .filter_map(|s| s.circonscription.as_deref())
        .any(|c| same_circonscription(c, name));
    if found {
        return Ok(projected);
    }
    Ok(of_department(access.reference.schools_now().await?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn ecole(uai: &str, department: &str, circonscription: &str) -> KnownSchool {
        KnownSchool {
            uai: Uai::parse(uai).unwrap(),
            name: format!("École {uai}"),
            department: DepartmentCode::parse(department).unwrap(),
            circonscription: Some(circonscription.into()),
            closed: false,
        }
    }

    #[test]
    fn rejects_an_unknown_school() {
        let uai = Uai::parse("0310001H").unwrap();
        let error = open_school("school_uai", &uai, None).unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("school-unknown", Some("school_uai"))
        );
        assert!(error.message.contains("n'est pas enregistré"));
    }

    #[test]
    fn rejects_a_closed_school() {
        let mut school = ecole("0310001H", "31", "Toulouse Nord");
        school.closed = true;
        let error = open_school("school_uai", &school.uai.clone(), Some(school)).unwrap_err();
        assert_eq!(error.rule, "school-closed");
        assert!(error.message.contains("est fermé"));
    }

    #[test]
    fn finds_a_circonscription_whatever_the_case_and_spaces() {
        let d31 = DepartmentCode::parse("31").unwrap();
        let schools = [ecole("0310001H", "31", "Toulouse Nord")];
        assert_eq!(
            circonscription(" toulouse   NORD ", &d31, &schools).unwrap(),
            "Toulouse Nord"
        );
    }

    #[test]
    fn rejects_an_unknown_circonscription_or_one_of_another_department() {
        let d31 = DepartmentCode::parse("31").unwrap();
        let schools = [ecole("0320001C", "32", "Auch")];
        for name in ["Auch", "Nulle Part"] {
            let error = circonscription(name, &d31, &schools).unwrap_err();
            assert_eq!(
                (error.rule, error.field),
                ("circonscription-unknown", Some("circonscription"))
            );
            assert!(
                error.message.contains("département 31"),
                "{}",
                error.message
            );
        }
    }
}
