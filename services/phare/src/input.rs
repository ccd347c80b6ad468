//! Values as typed in requests, parsed once here into the types deciders take, each
//! refusal naming its rule in French.

use pharos_decider::{Rejection, sentence};
use pharos_events::phare::{LabelLevel, SchoolYear, StaffPerson};
use pharos_events::{Email, Uai};
use pharos_eventstore::Companions;
use pharos_privacy::Vault;
use pharos_web::Problem;
use serde::Deserialize;
use serde_json::Value;

/// Longest display name kept for a member of staff.
const MAX_NAME_CHARS: usize = 200;

pub fn school_year(text: &str) -> Result<SchoolYear, Rejection> {
    SchoolYear::parse(text)
        .map_err(|e| Rejection::invalid("invalid-school-year", "school_year", sentence(&e.0)))
}

pub fn uai(field: &'static str, text: &str) -> Result<Uai, Rejection> {
    Uai::parse(text).map_err(|e| Rejection::invalid("invalid-uai", field, sentence(&e.0)))
}

/// One of a closed list of identifiers.
pub fn choice<T: Copy>(
    rule: &'static str,
    field: &'static str,
    text: &str,
    options: &[(&'static str, T)],
) -> Result<T, Rejection> {
    let text = text.trim();
    options
        .iter()
        .find(|(id, _)| *id == text)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(id, _)| *id).collect();
            Rejection::invalid(
                rule,
                field,
                format!(
                    "« {text} » n'est pas une valeur acceptée ; valeurs acceptées : {}.",
                    names.join(", ")
                ),
            )
        })
}

/// A label level as `1`, `2`, `3` or its name (`engagement`, `approfondissement`,
/// `expertise`).
pub fn level(field: &'static str, value: &Value) -> Result<LabelLevel, Rejection> {
    let found = match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .and_then(LabelLevel::from_number),
        Value::String(s) => {
            let s = s.trim();
            LabelLevel::ALL
                .into_iter()
                .find(|l| l.as_str() == s || l.number().to_string() == s)
        }
        _ => None,
    };
    found.ok_or_else(|| {
        let value = match value {
            Value::String(s) => s.trim().to_owned(),
            other => other.to_string(),
        };
        Rejection::invalid(
            "invalid-level",
            field,
            format!(
                "« {value} » n'est pas un niveau de label : 1 (engagement), 2 (approfondissement) \
                 ou 3 (expertise)."
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

/// Un membre du personnel, tel que saisi : son nom et son adresse électronique
/// professionnelle (chiffrés à l'enregistrement, chacun avec la clé de la personne).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = StaffPersonInput)]
pub struct PersonInput {
    /// Nom affiché (200 caractères au plus).
    #[schema(example = "Camille Martin")]
    pub display_name: String,
    /// Adresse électronique professionnelle.
    #[schema(example = "camille.martin@ac-toulouse.fr")]
    pub email: String,
}

impl PersonInput {
    /// The checked name and address.
    pub fn check(&self) -> Result<(String, Email), Rejection> {
        let name = self.display_name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Rejection::invalid(
                "invalid-display-name",
                "person.display_name",
                format!(
                    "Le nom de la personne est obligatoire ({MAX_NAME_CHARS} caractères au plus)."
                ),
            ));
        }
        let email = Email::parse(&self.email)
            .map_err(|e| Rejection::invalid("invalid-email", "person.email", sentence(&e.0)))?;
        Ok((name.to_owned(), email))
    }

    /// The person's name and address sealed with their key; if they are new, with the
    /// companion that stores the key in the commit of the append naming them.
    pub async fn seal(&self, vault: &Vault) -> Result<(StaffPerson, Companions), Problem> {
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
            StaffPerson {
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
    fn rejects_a_malformed_school_year_naming_the_rule() {
        let error = school_year("2026-2028").unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("invalid-school-year", Some("school_year"))
        );
        assert!(error.message.contains("n'est pas une année scolaire"));
    }

    #[test]
    fn reads_a_level_as_a_number_or_a_name_and_rejects_others() {
        assert_eq!(
            level("l", &Value::from(2)).unwrap(),
            LabelLevel::Approfondissement
        );
        assert_eq!(
            level("l", &Value::from("expertise")).unwrap(),
            LabelLevel::Expertise
        );
        assert_eq!(
            level("l", &Value::from("1")).unwrap(),
            LabelLevel::Engagement
        );
        for bad in [
            Value::from(0),
            Value::from(4),
            Value::from("or"),
            Value::Null,
        ] {
            let error = level("l", &bad).unwrap_err();
            assert_eq!(error.rule, "invalid-level");
        }
    }

    #[test]
    fn rejects_an_identifier_outside_the_list_and_lists_the_possible_ones() {
        let options = [("oui", true), ("non", false)];
        assert!(choice("invalid-x", "x", " oui ", &options).unwrap());
        let error = choice("invalid-x", "x", "peut-être", &options).unwrap_err();
        assert_eq!(error.rule, "invalid-x");
        assert!(error.message.contains("oui, non"), "{}", error.message);
    }

    #[test]
    fn rejects_a_person_without_a_name_or_with_a_bad_address() {
        let person = |name: &str, email: &str| PersonInput {
            display_name: name.into(),
            email: email.into(),
        };
        assert_eq!(
            person("  ", "a@ac-toulouse.fr").check().unwrap_err().rule,
            "invalid-display-name"
        );
        assert_eq!(
            person("Jeanne Martin", "jeanne").check().unwrap_err().rule,
            "invalid-email"
        );
        let (name, email) = person(" Jeanne Martin ", "Jeanne@AC-Toulouse.fr")
            .check()
            .unwrap();
        assert_eq!(
            (name.as_str(), email.as_str()),
            ("Jeanne Martin", "jeanne@ac-toulouse.fr")
        );
    }
}
