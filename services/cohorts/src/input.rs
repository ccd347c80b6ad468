//! Values as typed in requests, parsed once here into the types the decider takes, each
//! refusal naming its rule (and its field) in French.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use pharos_decider::{Rejection, sentence};
use pharos_events::cohort::{ClassLevel, CohortKind, Referent};
use pharos_events::phare::SchoolYear;
use pharos_events::{Email, Uai};
use pharos_eventstore::Companions;
use pharos_privacy::Vault;
use pharos_web::Problem;
use serde::Deserialize;

/// Longest display name kept for a referent.
const MAX_NAME_CHARS: usize = 200;

pub fn school_year(text: &str) -> Result<SchoolYear, Rejection> {
    SchoolYear::parse(text)
        .map_err(|e| Rejection::invalid("invalid-school-year", "school_year", sentence(&e.0)))
}

pub fn uai(field: &'static str, text: &str) -> Result<Uai, Rejection> {
    Uai::parse(text).map_err(|e| Rejection::invalid("invalid-uai", field, sentence(&e.0)))
}

/// A kind of cohort by its identifier.
pub fn kind(text: &str) -> Result<CohortKind, Rejection> {
    let text = text.trim();
    CohortKind::ALL
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| {
            Rejection::invalid(
                "invalid-kind",
                "kind",
                format!(
                    "« {text} » n'est pas un type de cohorte ; types acceptés : eleves_college, \
                     eleves_lycee, petits_ambassadeurs, parents."
                ),
            )
        })
}

/// Free text kept as typed, trimmed; empty is absent.
pub fn trimmed(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A refusal of a count whose level (a key of `counts`) is not one: the field names the
/// key as sent.
fn level_refused(rule: &str, key: &str, message: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        rule,
        "Valeur refusée",
        message.clone(),
    )
    .with_field(format!("counts.{}", key.trim()), message)
}

/// The counts by class level as sent (`{"6e": 3}`): every key a class level, once.
pub fn counts(sent: &BTreeMap<String, u32>) -> Result<BTreeMap<ClassLevel, u32>, Problem> {
    let mut counts = BTreeMap::new();
    for (key, count) in sent {
        let Some(level) = ClassLevel::parse(key) else {
            return Err(level_refused(
                "level-unknown",
                key,
                format!(
                    "« {} » n'est pas un niveau de classe ; niveaux acceptés : cm1, cm2, 6e, 5e, \
                     4e, 3e, 2nde, 1re, tle, parents.",
                    key.trim()
                ),
            ));
        };
        if counts.insert(level, *count).is_some() {
            return Err(level_refused(
                "level-duplicate",
                key,
                format!("Le niveau {level} est donné deux fois : donnez-le une seule fois."),
            ));
        }
    }
    Ok(counts)
}

/// L'adulte référent de la cohorte : son nom et son adresse électronique (chiffrés à
/// l'enregistrement, avec la clé de la personne).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = CohortReferentInput)]
pub struct ReferentInput {
    /// Nom affiché (200 caractères au plus).
    #[schema(example = "Camille Martin")]
    pub display_name: String,
    /// Adresse électronique.
    #[schema(example = "camille.martin@ac-toulouse.fr")]
    pub email: String,
}

impl ReferentInput {
    /// The checked name and address.
    pub fn check(&self) -> Result<(String, Email), Rejection> {
        let name = self
            .display_name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Rejection::invalid(
                "invalid-display-name",
                "referent.display_name",
                format!(
                    "Le nom du référent de la cohorte est obligatoire ({MAX_NAME_CHARS} caractères \
                     au plus)."
                ),
            ));
        }
        let email = Email::parse(&self.email)
            .map_err(|e| Rejection::invalid("invalid-email", "referent.email", sentence(&e.0)))?;
        Ok((name, email))
    }

    /// The referent's name and address sealed with their key; if they are new, with the
    /// companion that stores the key in the commit of the append naming them.
    pub async fn seal(&self, vault: &Vault) -> Result<(Referent, Companions), Problem> {
        let (name, email) = self.check()?;
        let (person, new) = vault
            .person_in_commit(email.as_str())
            .await
            .map_err(Problem::from)?;
        let sealed = vault
            .seal_all(&[(person, name.as_str()), (person, email.as_str())])
            .await
            .map_err(Problem::from)?;
        let mut sealed = sealed.into_iter();
        let (Some(display_name), Some(email)) = (sealed.next(), sealed.next()) else {
            return Err(Problem::internal());
        };
        Ok((
            Referent {
                display_name,
                email,
            },
            new,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counts_by_level_and_names_an_unknown_level_as_sent() {
        let sent: BTreeMap<String, u32> = [("6e".to_owned(), 3), (" 5E ".to_owned(), 2)]
            .into_iter()
            .collect();
        let read = counts(&sent).unwrap();
        assert_eq!(read[&ClassLevel::Sixieme], 3);
        assert_eq!(read[&ClassLevel::Cinquieme], 2);
        let sent: BTreeMap<String, u32> = [("7e".to_owned(), 3)].into_iter().collect();
        let problem = counts(&sent).unwrap_err();
        assert_eq!(problem.status, 422);
        assert!(problem.type_uri.ends_with("/level-unknown"));
        assert_eq!(problem.errors[0].field, "counts.7e");
        let sent: BTreeMap<String, u32> = [("6e".to_owned(), 3), ("6E".to_owned(), 1)]
            .into_iter()
            .collect();
        assert!(
            counts(&sent)
                .unwrap_err()
                .type_uri
                .ends_with("/level-duplicate")
        );
    }

    #[test]
    fn rejects_a_referent_without_a_name_or_with_a_bad_address_and_an_unknown_kind() {
        let referent = |name: &str, email: &str| ReferentInput {
            display_name: name.into(),
            email: email.into(),
        };
        let error = referent(" ", "a@ac-toulouse.fr").check().unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("invalid-display-name", Some("referent.display_name"))
        );
        let error = referent("Camille", "camille").check().unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("invalid-email", Some("referent.email"))
        );
        assert_eq!(kind(" parents ").unwrap(), CohortKind::Parents);
        assert_eq!(kind("eleves").unwrap_err().rule, "invalid-kind");
    }
}
