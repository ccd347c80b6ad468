//! Pure rules that more than one target needs — the commands that record the facts, the
//! read model that counts them, the reminders that chase what is missing — so that each
//! reuses them instead of importing another service. No I/O, no HTTP.

pub mod compliance;
pub mod hours;
pub mod national_day;

use chrono::{DateTime, NaiveDate, Utc};

/// The date in metropolitan France at `now` (Europe/Paris, summer time included): the
/// academy's day, which every « today » of a rule is (a charter signed this morning in
/// Toulouse is not « in the future » for a UTC clock still on the day before).
pub fn today_in_france(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::Paris).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_in_france_follows_paris_time_winter_and_summer() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 23:30 UTC is already the next day in Paris, in winter (UTC+1) and in summer.
        assert_eq!(
            today_in_france(at("2026-11-05T23:30:00Z")).to_string(),
            "2026-11-06"
        );
        assert_eq!(
            today_in_france(at("2026-06-10T22:30:00Z")).to_string(),
            "2026-06-11"
        );
        // 22:30 UTC in winter is still the same day in Paris.
        assert_eq!(
            today_in_france(at("2026-11-05T22:30:00Z")).to_string(),
            "2026-11-05"
        );
    }
}
