//! Values as typed in requests, parsed once here, each refusal naming its rule in
//! French; and the bounded page of a list.

use chrono::NaiveDate;
use pharos_decider::{Rejection, sentence};
use pharos_events::Uai;
use pharos_events::phare::SchoolYear;

pub fn school_year(text: &str) -> Result<SchoolYear, Rejection> {
    SchoolYear::parse(text)
        .map_err(|e| Rejection::invalid("invalid-school-year", "school_year", sentence(&e.0)))
}

pub fn uai(field: &'static str, text: &str) -> Result<Uai, Rejection> {
    Uai::parse(text).map_err(|e| Rejection::invalid("invalid-uai", field, sentence(&e.0)))
}

/// A calendar date `AAAA-MM-JJ`.
pub fn date(field: &'static str, text: &str) -> Result<NaiveDate, Rejection> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        Rejection::invalid(
            "invalid-date",
            field,
            format!("« {text} » n'est pas une date : AAAA-MM-JJ attendu (ex. 2025-11-06)."),
        )
    })
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

/// Free text as typed, trimmed; empty is absent.
pub fn trimmed(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Lists answer at most this many items per page.
pub const PAGE_MAX: usize = 500;
/// Items per page unless `limit` says otherwise.
pub const PAGE_DEFAULT: usize = 100;

/// The page of `items` from `offset`, `limit` long (at most [`PAGE_MAX`]), with the
/// number of items in all.
pub fn page<T>(items: Vec<T>, limit: Option<u32>, offset: Option<u32>) -> (Vec<T>, usize) {
    let total = items.len();
    let limit = limit.map_or(PAGE_DEFAULT, |l| (l as usize).clamp(1, PAGE_MAX));
    let offset = offset.map_or(0, |o| o as usize);
    (items.into_iter().skip(offset).take(limit).collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_identifiers_naming_the_rule() {
        assert_eq!(
            date("date", " 2025-11-06 ").unwrap(),
            NaiveDate::from_ymd_opt(2025, 11, 6).unwrap()
        );
        let error = date("date", "06/11/2025").unwrap_err();
        assert_eq!((error.rule, error.field), ("invalid-date", Some("date")));
        let error = choice(
            "invalid-x",
            "x",
            "peut-être",
            &[("oui", true), ("non", false)],
        )
        .unwrap_err();
        assert!(error.message.contains("oui, non"), "{}", error.message);
        assert_eq!(
            school_year("2025-2027").unwrap_err().rule,
            "invalid-school-year"
        );
        assert_eq!(
            uai("school_uai", "0310001A").unwrap_err().rule,
            "invalid-uai"
        );
    }

    #[test]
    fn a_page_is_bounded() {
        let items: Vec<u32> = (0..1000).collect();
        let (first, total) = page(items.clone(), None, None);
        assert_eq!((first.len(), total), (PAGE_DEFAULT, 1000));
        let (big, _) = page(items, Some(10_000), Some(0));
        assert_eq!(big.len(), PAGE_MAX);
    }
}
