//! French a person reads: the labels of the API's identifiers (roles, school kinds,
//! sectors, priority education) and the messages of values that do not parse, so that
//! no identifier (`department_referent`, `lycee_gt`) reaches a sentence.

use pharos_events::{PriorityEducation, Role, SchoolKind, Sector};

const ROLES: [Role; 6] = [
    Role::Admin,
    Role::PoleManager,
    Role::DepartmentReferent,
    Role::School,
    Role::Juror,
    Role::Trainer,
];

/// A reason as a sentence: capital first letter, one final full stop.
pub fn sentence(reason: &str) -> String {
    let reason = reason.trim().trim_end_matches('.');
    let mut chars = reason.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// Lower case, no accents, words joined by `_`: « Privé sous contrat » → `prive_sous_contrat`.
fn key(text: &str) -> String {
    let folded: String = text
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            ' ' | '-' | '\'' | '’' => '_',
            c => c,
        })
        .collect();
    folded
        .split('_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// A role from its API name or its French name, or the French reason.
pub fn parse_role(text: &str) -> Result<Role, String> {
    let wanted = key(text);
    ROLES
        .into_iter()
        .find(|r| r.as_str() == wanted || key(Role::label(*r)) == wanted)
        .ok_or_else(|| {
            format!(
                "« {} » n'est pas un rôle reconnu. Rôles possibles : {}.",
                text.trim(),
                ROLES.map(Role::label).join(", ")
            )
        })
}

const SCHOOL_KINDS: [(SchoolKind, &str, &[&str]); 7] = [
    (SchoolKind::Ecole, "école", &[]),
    (SchoolKind::College, "collège", &[]),
    (
        SchoolKind::LyceeGt,
        "lycée général et technologique",
        &["lycee_general", "lgt"],
    ),
    (SchoolKind::LyceePro, "lycée professionnel", &["lp"]),
    (SchoolKind::LyceePoly, "lycée polyvalent", &[]),
    (SchoolKind::Erea, "EREA", &[]),
    (SchoolKind::Periscolaire, "accueil périscolaire", &[]),
];

/// A school kind from its API name (`lycee_gt`) or its French name, or the reason
/// (lower case: it joins a list of reasons).
pub fn parse_school_kind(text: &str) -> Result<SchoolKind, String> {
    let wanted = key(text);
    SCHOOL_KINDS
        .iter()
        .find(|(kind, label, aliases)| {
            kind.as_str() == wanted || key(label) == wanted || aliases.contains(&wanted.as_str())
        })
        .map(|(kind, _, _)| *kind)
        .ok_or_else(|| {
            format!(
                "« {} » n'est pas un type d'établissement reconnu ({})",
                text.trim(),
                SCHOOL_KINDS.map(|(_, label, _)| label).join(", ")
            )
        })
}

/// A sector from its API name or its French name, or the reason (lower case).
pub fn parse_sector(text: &str) -> Result<Sector, String> {
    match key(text).as_str() {
        "public" => Ok(Sector::Public),
        "prive_sous_contrat" | "prive" => Ok(Sector::PriveSousContrat),
        _ => Err(format!(
            "« {} » n'est pas un secteur reconnu (public, privé sous contrat)",
            text.trim()
        )),
    }
}

/// A priority-education class from its API name or as written (`REP+`), or the reason
/// (lower case).
pub fn parse_priority_education(text: &str) -> Result<PriorityEducation, String> {
    match key(text).as_str() {
        "none" | "aucun" | "aucune" | "non" | "hors_education_prioritaire" => {
            Ok(PriorityEducation::None)
        }
        "rep" => Ok(PriorityEducation::Rep),
        "rep_plus" | "rep+" | "rep_+" => Ok(PriorityEducation::RepPlus),
        _ => Err(format!(
            "« {} » n'est pas un classement d'éducation prioritaire reconnu (REP, REP+, ou aucun)",
            text.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_french_names_parse_and_refusals_name_no_identifier() {
        assert_eq!(
            parse_role("department_referent"),
            Ok(Role::DepartmentReferent)
        );
        assert_eq!(
            parse_role("Référent départemental"),
            Ok(Role::DepartmentReferent)
        );
        assert_eq!(
            parse_school_kind("Lycée professionnel"),
            Ok(SchoolKind::LyceePro)
        );
        assert_eq!(
            parse_sector("Privé sous contrat"),
            Ok(Sector::PriveSousContrat)
        );
        assert_eq!(
            parse_priority_education("REP+"),
            Ok(PriorityEducation::RepPlus)
        );
        let messages = [
            parse_role("chef").unwrap_err(),
            parse_school_kind("lycee").unwrap_err(),
            parse_sector("associatif").unwrap_err(),
            parse_priority_education("zep").unwrap_err(),
        ];
        for message in messages {
            for identifier in ["_", "connu(e)", "pole_manager", "lycee_gt", "rep_plus"] {
                assert!(!message.contains(identifier), "{message}");
            }
        }
        assert!(
            parse_role("chef")
                .unwrap_err()
                .contains("référent départemental")
        );
    }
}
