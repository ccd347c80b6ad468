//! Retention rules, as data (`retention.json`): for each purpose personal data is held
//! for, until when. Domain services give the reference date (the school year of a pupil
//! name, the close of a contest campaign, the deactivation of an account); the purge job
//! erases every person whose time has passed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::PrivacyError;

const DEFAULT_RULES: &str = include_str!("../retention.json");

/// The purposes Pharos holds personal data for; a rules file must cover each.
pub const PURPOSES: &[&str] = &[
    "staff",
    "deactivated_account",
    "session_registrant",
    "phare_team_member",
    "cohort_referent",
    "partner_contact",
    "pupil_name",
    "contest_file_non_laureate",
    "contest_responsible",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Kept until erased on request or by another rule.
    WhileNeeded,
    /// Until the end of the school year holding the reference date (31 August).
    EndOfSchoolYear,
    /// A number of days after the reference date.
    DaysAfter(i64),
    /// The end of the school year `n` years after the one holding the reference date
    /// (2: the reference's school year and the two that follow).
    SchoolYearsAfter(i32),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRule {
    pub purpose: String,
    pub rule: Rule,
    /// What users are told, in French.
    pub description: String,
}

/// The rules in force.
#[derive(Debug, Clone)]
pub struct RetentionRules(Vec<RetentionRule>);

impl RetentionRules {
    /// The rules shipped with Pharos.
    pub fn shipped() -> Result<Self, PrivacyError> {
        Self::from_json(DEFAULT_RULES)
    }

    /// Rules from a `retention.json`; every purpose of [`PURPOSES`] must have one, so
    /// that no record is refused later for want of a rule.
    pub fn from_json(json: &str) -> Result<Self, PrivacyError> {
        let rules: Vec<RetentionRule> = serde_json::from_str(json)
            .map_err(|e| PrivacyError::InvalidRules(format!("JSON illisible ({e})")))?;
        let missing: Vec<&str> = PURPOSES
            .iter()
            .copied()
            .filter(|p| !rules.iter().any(|r| r.purpose == *p))
            .collect();
        if !missing.is_empty() {
            return Err(PrivacyError::InvalidRules(format!(
                "aucune règle pour {}",
                missing.join(", ")
            )));
        }
        Ok(Self(rules))
    }

    pub fn rules(&self) -> &[RetentionRule] {
        &self.0
    }

    /// No rule at all (a stand-in where a configuration is refused anyway).
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// The rule for `purpose`.
    pub fn rule(&self, purpose: &str) -> Result<&RetentionRule, PrivacyError> {
        self.0
            .iter()
            .find(|r| r.purpose == purpose)
            .ok_or_else(|| PrivacyError::UnknownPurpose(purpose.to_owned()))
    }

    /// Until when data held for `purpose`, from `reference`, may be kept (`None`: no
    /// deadline).
    pub fn retain_until(
        &self,
        purpose: &str,
        reference: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, PrivacyError> {
        Ok(match self.rule(purpose)?.rule {
            Rule::WhileNeeded => None,
            Rule::EndOfSchoolYear => end_of_school_year(reference, 0),
            Rule::SchoolYearsAfter(years) => end_of_school_year(reference, years),
            Rule::DaysAfter(days) => Some(reference + Duration::days(days)),
        })
    }
}

/// 1 September after the school year holding `reference`, `later` years on (a school
/// year runs 1 September → 31 August).
fn end_of_school_year(reference: DateTime<Utc>, later: i32) -> Option<DateTime<Utc>> {
    let date = reference.date_naive();
    let year = if date.month() >= 9 {
        date.year() + 1
    } else {
        date.year()
    };
    NaiveDate::from_ymd_opt(year + later, 9, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Utc.from_utc_datetime(&d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).single().unwrap()
    }

    #[test]
    fn the_shipped_rules_parse_and_cover_the_privacy_rules() {
        let rules = RetentionRules::shipped().unwrap();
        for purpose in PURPOSES {
            assert!(rules.rule(purpose).is_ok(), "{purpose}");
        }
        let without_partners: Vec<_> = rules
            .rules()
            .iter()
            .filter(|r| r.purpose != "partner_contact")
            .collect();
        let refused = RetentionRules::from_json(&serde_json::to_string(&without_partners).unwrap());
        assert!(
            matches!(&refused, Err(PrivacyError::InvalidRules(m)) if m.contains("partner_contact")),
            "{refused:?}"
        );
    }

    #[test]
    fn pupil_names_go_at_the_end_of_their_school_year() {
        let rules = RetentionRules::shipped().unwrap();
        let end = Utc.with_ymd_and_hms(2027, 9, 1, 0, 0, 0).single();
        assert_eq!(
            rules.retain_until("pupil_name", at(2026, 11, 21)).unwrap(),
            end
        );
        assert_eq!(
            rules.retain_until("pupil_name", at(2027, 6, 30)).unwrap(),
            end
        );
        assert_eq!(
            rules.retain_until("pupil_name", at(2027, 9, 2)).unwrap(),
            Utc.with_ymd_and_hms(2028, 9, 1, 0, 0, 0).single()
        );
    }

    #[test]
    fn registrants_and_team_members_go_two_school_years_after_theirs() {
        let rules = RetentionRules::shipped().unwrap();
        let end = Utc.with_ymd_and_hms(2029, 9, 1, 0, 0, 0).single();
        for purpose in ["session_registrant", "phare_team_member"] {
            assert_eq!(rules.retain_until(purpose, at(2026, 9, 1)).unwrap(), end);
            assert_eq!(rules.retain_until(purpose, at(2027, 8, 31)).unwrap(), end);
        }
        assert_eq!(
            rules
                .retain_until("partner_contact", at(2026, 1, 1))
                .unwrap(),
            Some(at(2027, 1, 1))
        );
    }

    #[test]
    fn deactivated_accounts_go_a_year_later_and_unknown_purposes_are_refused() {
        let rules = RetentionRules::shipped().unwrap();
        assert_eq!(
            rules
                .retain_until("deactivated_account", at(2026, 1, 1))
                .unwrap(),
            Some(at(2027, 1, 1))
        );
        assert_eq!(rules.retain_until("staff", at(2026, 1, 1)).unwrap(), None);
        assert!(matches!(
            rules.retain_until("medical_record", at(2026, 1, 1)),
            Err(PrivacyError::UnknownPurpose(_))
        ));
    }
}
