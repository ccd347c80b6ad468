//! When the Journée nationale « Non au harcèlement » falls: the first Thursday on or
//! after the day classes resume after the Toussaint holidays (a Monday, national, the
//! same for every zone); when that Thursday is 11 November (a public holiday), the
//! Thursday after. The rule and the return days (`shared/domain/toussaint.json`) are in
//! [`pharos_domain::national_day`], shared with the read model; here, beyond the data,
//! the refusal that names the file to extend.
//!
//! Also the French spelling of dates (« jeudi 6 novembre 2025 », « 06/11/2025 »).

#[cfg(test)]
use chrono::Weekday;
use chrono::{Datelike, NaiveDate};
use pharos_decider::Rejection;
use pharos_events::phare::SchoolYear;

pub use pharos_domain::national_day::{
    DATA_FILE, DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_REPORT_DAYS, ToussaintReturn,
    known_national_days, national_day_after, toussaint_returns,
};

/// The computed national day of `year`, or why it cannot be computed (a year the data
/// file does not cover), as a refusal naming the file to extend.
pub fn national_day(year: SchoolYear) -> Result<NaiveDate, Rejection> {
    pharos_domain::national_day::computed_national_day(year).ok_or_else(|| unknown_year(year))
}

pub(crate) fn unknown_year(year: SchoolYear) -> Rejection {
    let returns = toussaint_returns();
    let covered = match (returns.first(), returns.last()) {
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
