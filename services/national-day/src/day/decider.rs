//! A year's national day as a decider: what the pole sets (date, window, report
//! deadline), each absent value computed ([`crate::date`]). No HTTP here.

use chrono::{DateTime, NaiveDate, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::national_day::NationalDayEvent;
use pharos_events::phare::SchoolYear;

use crate::date::{short_date, unknown_year};
use pharos_domain::national_day::NationalDayDates;
pub use pharos_domain::national_day::Overrides;

/// Longest window on either side of the national day.
pub const MAX_WINDOW_DAYS: u32 = 120;

#[derive(Debug, Clone, Default)]
pub struct NationalDayState {
    pub overrides: Overrides,
}

/// A year's national day as it applies: computed, then overridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edition {
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

impl Edition {
    /// The edition of `year` with `overrides`; refused when the date can be neither
    /// computed nor taken from the overrides.
    pub fn of(year: SchoolYear, overrides: &Overrides) -> Result<Self, Rejection> {
        let dates = NationalDayDates::of(year, overrides).ok_or_else(|| unknown_year(year))?;
        Ok(Self {
            school_year: year,
            date: dates.date,
            computed: dates.computed,
            window_days_before: dates.window_days_before,
            window_days_after: dates.window_days_after,
            window_start: dates.window_start,
            window_end: dates.window_end,
            report_deadline: dates.report_deadline,
            overridden: dates.overridden,
        })
    }

    /// The window, for sentences: « du 07/10/2025 au 06/12/2025 ».
    pub fn window_text(&self) -> String {
        format!(
            "du {} au {}",
            short_date(self.window_start),
            short_date(self.window_end)
        )
    }
}

#[derive(Debug, Clone)]
pub enum NationalDayCommand {
    /// The pole's settings for the year, whole.
    Set {
        school_year: SchoolYear,
        overrides: Overrides,
    },
}

#[derive(Debug)]
pub struct NationalDay;

impl Decider for NationalDay {
    type State = NationalDayState;
    type Command = NationalDayCommand;
    type Event = NationalDayEvent;

    fn evolve(mut state: NationalDayState, event: &NationalDayEvent) -> NationalDayState {
        match event {
            NationalDayEvent::NationalDaySet {
                date,
                window_days_before,
                window_days_after,
                report_deadline,
                ..
            } => {
                state.overrides = Overrides {
                    date: *date,
                    window_days_before: *window_days_before,
                    window_days_after: *window_days_after,
                    report_deadline: *report_deadline,
                };
            }
        }
        state
    }

    fn decide(
        command: &NationalDayCommand,
        state: &NationalDayState,
        _now: DateTime<Utc>,
    ) -> Result<Vec<NationalDayEvent>, Rejection> {
        let NationalDayCommand::Set {
            school_year,
            overrides,
        } = command;
        let year = *school_year;
        if let Some(date) = overrides.date
            && !year.contains(date)
        {
            return Err(Rejection::invalid(
                "national-day-outside-school-year",
                "date",
                format!(
                    "Le {} n'appartient pas à l'année scolaire {year} (du {} au {}).",
                    short_date(date),
                    short_date(year.first_day()),
                    short_date(year.last_day())
                ),
            ));
        }
        for (field, days) in [
            ("window_days_before", overrides.window_days_before),
            ("window_days_after", overrides.window_days_after),
        ] {
            if days.is_some_and(|d| d > MAX_WINDOW_DAYS) {
                return Err(Rejection::invalid(
                    "window-too-long",
                    field,
                    format!(
                        "La fenêtre de la Journée nationale s'étend au plus à \
                         {MAX_WINDOW_DAYS} jours de chaque côté de la date."
                    ),
                ));
            }
        }
        let edition = Edition::of(year, overrides)?;
        if edition.report_deadline < edition.date {
            return Err(Rejection::invalid(
                "report-deadline-before-day",
                "report_deadline",
                format!(
                    "La date limite des bilans ({}) précède la Journée nationale du {} : \
                     elle doit la suivre.",
                    short_date(edition.report_deadline),
                    short_date(edition.date)
                ),
            ));
        }
        if !year.contains(edition.report_deadline) {
            return Err(Rejection::invalid(
                "report-deadline-outside-school-year",
                "report_deadline",
                format!(
                    "La date limite des bilans ({}) n'appartient pas à l'année scolaire {year}.",
                    short_date(edition.report_deadline)
                ),
            ));
        }
        if state.overrides == *overrides {
            return Ok(vec![]);
        }
        Ok(vec![NationalDayEvent::NationalDaySet {
            school_year: year,
            date: overrides.date,
            window_days_before: overrides.window_days_before,
            window_days_after: overrides.window_days_after,
            report_deadline: overrides.report_deadline,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_decider::given;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn year(text: &str) -> SchoolYear {
        SchoolYear::parse(text).unwrap()
    }

    fn set(school_year: &str, overrides: Overrides) -> NationalDayCommand {
        NationalDayCommand::Set {
            school_year: year(school_year),
            overrides,
        }
    }

    #[test]
    fn the_computed_edition_has_a_sixty_day_window_and_a_deadline_three_weeks_after() {
        let edition = Edition::of(year("2025-2026"), &Overrides::default()).unwrap();
        assert_eq!(edition.date, day("2025-11-06"));
        assert_eq!(edition.computed, Some(day("2025-11-06")));
        assert_eq!(edition.window_start, day("2025-10-07"));
        assert_eq!(edition.window_end, day("2025-12-06"));
        assert_eq!(edition.report_deadline, day("2025-11-27"));
        assert!(!edition.overridden);
        assert_eq!(edition.window_text(), "du 07/10/2025 au 06/12/2025");
    }

    #[test]
    fn the_pole_overrides_the_date_and_the_window_follows() {
        let overrides = Overrides {
            date: Some(day("2025-11-13")),
            window_days_before: Some(10),
            ..Overrides::default()
        };
        let events = given::<NationalDay>([])
            .when(&set("2025-2026", overrides))
            .events();
        assert_eq!(events.len(), 1);
        let state = given::<NationalDay>(events.clone()).state().clone();
        let edition = Edition::of(year("2025-2026"), &state.overrides).unwrap();
        assert_eq!(edition.date, day("2025-11-13"));
        assert_eq!(edition.computed, Some(day("2025-11-06")));
        assert_eq!(edition.window_start, day("2025-11-03"));
        assert_eq!(edition.window_end, day("2025-12-13"));
        assert_eq!(edition.report_deadline, day("2025-12-04"));
        assert!(edition.overridden);
        // The same settings again change nothing; none at all return to the computed.
        given::<NationalDay>(events.clone())
            .when(&set("2025-2026", overrides))
            .then(&[]);
        let back = given::<NationalDay>(events)
            .when(&set("2025-2026", Overrides::default()))
            .state_after();
        assert!(!back.overrides.any());
    }

    #[test]
    fn a_year_beyond_the_data_needs_a_date_from_the_pole() {
        given::<NationalDay>([])
            .when(&set("2030-2031", Overrides::default()))
            .then_rejected("national-day-date-unknown");
        let overrides = Overrides {
            date: Some(day("2030-11-07")),
            ..Overrides::default()
        };
        let state = given::<NationalDay>([])
            .when(&set("2030-2031", overrides))
            .state_after();
        let edition = Edition::of(year("2030-2031"), &state.overrides).unwrap();
        assert_eq!((edition.date, edition.computed), (day("2030-11-07"), None));
    }

    #[test]
    fn rejects_a_date_outside_the_year_a_long_window_or_a_deadline_before_the_day() {
        let refused = |overrides: Overrides, rule: &str| {
            given::<NationalDay>([])
                .when(&set("2025-2026", overrides))
                .then_rejected(rule)
        };
        let error = refused(
            Overrides {
                date: Some(day("2026-11-05")),
                ..Overrides::default()
            },
            "national-day-outside-school-year",
        );
        assert_eq!(error.field, Some("date"));
        let error = refused(
            Overrides {
                window_days_after: Some(200),
                ..Overrides::default()
            },
            "window-too-long",
        );
        assert_eq!(error.field, Some("window_days_after"));
        let error = refused(
            Overrides {
                report_deadline: Some(day("2025-11-01")),
                ..Overrides::default()
            },
            "report-deadline-before-day",
        );
        assert!(error.message.contains("01/11/2025"), "{}", error.message);
        refused(
            Overrides {
                report_deadline: Some(day("2026-09-10")),
                ..Overrides::default()
            },
            "report-deadline-outside-school-year",
        );
    }
}
