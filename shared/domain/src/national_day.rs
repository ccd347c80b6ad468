//! When the Journée nationale « Non au harcèlement » falls, and its campaign window and
//! report deadline: the first Thursday on or after the day classes resume after the
//! Toussaint holidays (a Monday, national, the same for every zone); when that Thursday
//! is 11 November (a public holiday), the Thursday after. The return days are data,
//! shipped in `toussaint.json` beside this crate's `Cargo.toml`; beyond them, there is no
//! computed date (the pole sets one). `national-day` records what the pole overrides;
//! the read model shows the same dates from the same rules.

use std::sync::LazyLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use pharos_events::phare::SchoolYear;
use serde::Deserialize;

/// Where the return days are, as people find it in the repository.
pub const DATA_FILE: &str = "shared/domain/toussaint.json";

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
/// broken file leaves the list empty, and every year then has no computed date.
static RETURNS: LazyLock<Vec<ToussaintReturn>> = LazyLock::new(|| {
    let mut returns = serde_json::from_str::<DataFile>(DATA)
        .map(|d| d.returns)
        .unwrap_or_default();
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

/// The computed national day of `year`; `None` for a year the data file does not cover.
pub fn computed_national_day(year: SchoolYear) -> Option<NaiveDate> {
    RETURNS
        .iter()
        .find(|r| r.school_year == year)
        .map(|r| national_day_after(r.classes_resume))
}

/// Every school year the data covers, with its national day.
pub fn known_national_days() -> Vec<(SchoolYear, NaiveDate)> {
    RETURNS
        .iter()
        .map(|r| (r.school_year, national_day_after(r.classes_resume)))
        .collect()
}

/// What the pole set for a year; each `None` is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overrides {
    pub date: Option<NaiveDate>,
    pub window_days_before: Option<u32>,
    pub window_days_after: Option<u32>,
    pub report_deadline: Option<NaiveDate>,
}

impl Overrides {
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// A year's national day as it applies: computed, then overridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NationalDayDates {
    pub school_year: SchoolYear,
    /// The effective date.
    pub date: NaiveDate,
    /// The date the rule gives, `None` beyond the data file.
    pub computed: Option<NaiveDate>,
    pub window_days_before: u32,
    pub window_days_after: u32,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub report_deadline: NaiveDate,
    pub overridden: bool,
}

impl NationalDayDates {
    /// The dates of `year` with `overrides`; `None` when the date can be neither
    /// computed nor taken from the overrides.
    pub fn of(year: SchoolYear, overrides: &Overrides) -> Option<Self> {
        let computed = computed_national_day(year);
        let date = overrides.date.or(computed)?;
        let before = overrides.window_days_before.unwrap_or(DEFAULT_DAYS_BEFORE);
        let after = overrides.window_days_after.unwrap_or(DEFAULT_DAYS_AFTER);
        Some(Self {
            school_year: year,
            date,
            computed,
            window_days_before: before,
            window_days_after: after,
            window_start: date - Duration::days(i64::from(before)),
            window_end: date + Duration::days(i64::from(after)),
            report_deadline: overrides
                .report_deadline
                .unwrap_or(date + Duration::days(DEFAULT_REPORT_DAYS)),
            overridden: overrides.any(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    fn year(text: &str) -> SchoolYear {
        SchoolYear::parse(text).unwrap_or_else(|e| panic!("{}", e.0))
    }

    #[test]
    fn the_dates_follow_the_overrides_or_the_rule() {
        let computed = NationalDayDates::of(year("2025-2026"), &Overrides::default());
        let computed = computed.unwrap_or_else(|| panic!("2025-2026 is covered"));
        assert_eq!(computed.date, day("2025-11-06"));
        assert_eq!(computed.window_start, day("2025-10-07"));
        assert_eq!(computed.window_end, day("2025-12-06"));
        assert_eq!(computed.report_deadline, day("2025-11-27"));
        assert!(!computed.overridden);
        let set = Overrides {
            date: Some(day("2030-11-14")),
            window_days_before: Some(7),
            ..Overrides::default()
        };
        let beyond = NationalDayDates::of(year("2030-2031"), &set)
            .unwrap_or_else(|| panic!("a set date applies"));
        assert_eq!(beyond.computed, None);
        assert_eq!(beyond.window_start, day("2030-11-07"));
        assert!(NationalDayDates::of(year("2030-2031"), &Overrides::default()).is_none());
    }
}
