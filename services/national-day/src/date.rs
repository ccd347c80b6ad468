//! When the Journée nationale « Non au harcèlement » falls: the first Thursday on or
//! after the day classes resume after the Toussaint holidays (a Monday, national, the
//! same for every zone); when that Thursday is 11 November (a public holiday), the
//! Thursday after. The return days are data, shipped in `toussaint.json` beside
//! `Cargo.toml`; beyond them, the computation refuses and names the file to extend.
//!
//! Also the French spelling of dates (« jeudi 6 novembre 2025 », « 06/11/2025 »).

use std::sync::LazyLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use pharos_decider::Rejection;
use pharos_events::phare::SchoolYear;
use serde::Deserialize;

/// Where the return days are, as people find it in the repository.
pub const DATA_FILE: &str = "services/national-day/toussaint.json";

const DATA: &str = include_str!("../toussaint.json");

/// Days of the window before the national day, unless the pole says otherwise.
pub const DEFAULT_DAYS_BEFORE: u32 = 30;
/// Days of the window after the national day, unless the pole says otherwise.
pub const DEFAULT_DAYS_AFTER: u32 = 30;
/// Days after the national day schools have to report, unless the pole says otherwise.
pub const DEFAULT_REPORT_DAYS: i64 = 21;

/// The return day of one school year, as the data file gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ToussaintReturn {
    pub school_year: SchoolYear,
    /// The day classes resume (a Monday; a Thursday in 2016).
    pub classes_resume: NaiveDate,
    /// Where the day comes from, or the assumption it rests on.
    pub source: String,
}

#[derive(Debug, Deserialize)]
struct DataFile {
    returns: Vec<ToussaintReturn>,
}

/// The shipped return days, in school-year order. The file is checked by the tests: a
/// broken file leaves the list empty, and every year then answers « unknown ».
static RETURNS: LazyLock<Vec<ToussaintReturn>> = LazyLock::new(|| {
    let mut returns = serde_json::from_str::<DataFile>(DATA)
        .map(|d| d.returns)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, file = DATA_FILE, "unreadable Toussaint return days");
            Vec::new()
        });
    returns.sort_by_key(|r| r.school_year);
    returns
});

/// Every shipped return day.
pub fn toussaint_returns() -> &'static [ToussaintReturn] {
    &RETURNS
}

/// The national day of a year whose classes resume on `classes_resume`: the first
/// Thursday on or after it, unless that is 11 November, then the Thursday after.
pub fn national_day_after(classes_resume: NaiveDate) -> NaiveDate {
    let ahead = (7 + Weekday::Thu.num_days_from_monday()
        - classes_resume.weekday().num_days_from_monday())
        % 7;
    let thursday = classes_resume + Duration::days(i64::from(ahead));
    if thursday.month() == 11 && thursday.day() == 11 {
        thursday + Duration::days(7)
    } else {
        thursday
    }
}

/// The computed national day of `year`, or why it cannot be computed (a year the data
/// file does not cover), as a refusal naming the file to extend.
pub fn national_day(year: SchoolYear) -> Result<NaiveDate, Rejection> {
    RETURNS
        .iter()
        .find(|r| r.school_year == year)
        .map(|r| national_day_after(r.classes_resume))
        .ok_or_else(|| unknown_year(year))
}

fn unknown_year(year: SchoolYear) -> Rejection {
    let covered = match (RETURNS.first(), RETURNS.last()) {
        (Some(first), Some(last)) => {
            format!(
                "années connues : {} à {}",
                first.school_year, last.school_year
            )
        }
        _ => "aucune année connue".to_owned(),
    };
    Rejection::invalid(
        "national-day-date-unknown",
        "school_year",
        format!(
            "La date de la Journée nationale {year} ne peut pas être calculée : le jour de \
             reprise après les vacances de la Toussaint de cette année n'est pas dans le \
             fichier {DATA_FILE} ({covered}). Ajoutez-le à ce fichier, ou que le pôle fixe \
             la date de cette année."
        ),
    )
}

/// Every school year the data covers, with its national day.
pub fn known_national_days() -> Vec<(SchoolYear, NaiveDate)> {
    RETURNS
        .iter()
        .map(|r| (r.school_year, national_day_after(r.classes_resume)))
        .collect()
}

/// The lines `pharos national-day dates` prints: « 2025-2026 : jeudi 6 novembre 2025 ».
pub fn national_day_lines() -> Vec<String> {
    known_national_days()
        .into_iter()
        .map(|(year, date)| format!("{year} : {}", long_date(date)))
        .collect()
}

const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// « jeudi 6 novembre 2025 » (« 1er » for the first of the month).
pub fn long_date(date: NaiveDate) -> String {
    let day = match date.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!(
        "{} {day} {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// « 06/11/2025 ».
pub fn short_date(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn year(text: &str) -> SchoolYear {
        SchoolYear::parse(text).unwrap()
    }

    #[test]
    fn reproduces_the_known_national_days() {
        for (school_year, known) in [
            ("2021-2022", "2021-11-18"),
            ("2022-2023", "2022-11-10"),
            ("2023-2024", "2023-11-09"),
            ("2024-2025", "2024-11-07"),
            ("2025-2026", "2025-11-06"),
        ] {
            assert_eq!(
                national_day(year(school_year)).unwrap(),
                day(known),
                "{school_year}"
            );
        }
    }

    #[test]
    fn a_thursday_falling_on_11_november_moves_to_the_next_one() {
        // Classes resumed on Monday 8 November 2021: Thursday 11 is a public holiday.
        assert_eq!(national_day_after(day("2021-11-08")), day("2021-11-18"));
        // The same rule, whatever the year.
        assert_eq!(national_day_after(day("2027-11-08")), day("2027-11-18"));
        // A return on a Thursday is that Thursday.
        assert_eq!(national_day_after(day("2016-11-03")), day("2016-11-03"));
        // A Thursday 11 November the return day itself is moved too.
        assert_eq!(national_day_after(day("2032-11-11")), day("2032-11-18"));
    }

    #[test]
    fn the_data_covers_2015_to_2030_with_monday_returns_and_a_source_each() {
        let returns = toussaint_returns();
        let years: Vec<String> = returns.iter().map(|r| r.school_year.to_string()).collect();
        assert_eq!(years.first().map(String::as_str), Some("2015-2016"));
        assert_eq!(years.last().map(String::as_str), Some("2029-2030"));
        assert_eq!(returns.len(), 15, "{years:?}");
        for r in returns {
            assert!(r.school_year.contains(r.classes_resume), "{r:?}");
            assert_eq!(r.classes_resume.month(), 11, "{r:?}");
            // A Monday, except 2016 (classes resumed on Thursday 3 November).
            if r.school_year != year("2016-2017") {
                assert_eq!(r.classes_resume.weekday(), Weekday::Mon, "{r:?}");
            }
            assert!(!r.source.trim().is_empty(), "{r:?}");
            let national = national_day_after(r.classes_resume);
            assert_eq!(national.weekday(), Weekday::Thu);
        }
    }

    #[test]
    fn a_year_beyond_the_data_is_refused_naming_the_file() {
        let error = national_day(year("2030-2031")).unwrap_err();
        assert_eq!(error.rule, "national-day-date-unknown");
        assert!(error.message.contains(DATA_FILE), "{}", error.message);
        assert!(
            error
                .message
                .contains("années connues : 2015-2016 à 2029-2030"),
            "{}",
            error.message
        );
        assert!(national_day(year("2014-2015")).is_err());
    }

    #[test]
    fn dates_read_in_french() {
        assert_eq!(long_date(day("2025-11-06")), "jeudi 6 novembre 2025");
        assert_eq!(long_date(day("2026-10-01")), "jeudi 1er octobre 2026");
        assert_eq!(short_date(day("2025-11-06")), "06/11/2025");
        let lines = national_day_lines();
        assert_eq!(lines.len(), 15);
        assert!(lines.contains(&"2025-2026 : jeudi 6 novembre 2025".to_owned()));
        assert!(lines.contains(&"2021-2022 : jeudi 18 novembre 2021".to_owned()));
    }
}
