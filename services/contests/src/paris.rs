//! Contest dates are French: an opening or a deadline typed as a date or a local time is
//! a time in Europe/Paris (summer and winter time included), stored in UTC.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

/// The day an instant falls on in Paris.
pub fn date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// An instant as people in Paris read it: `12/02/2027 à 23:59 (heure de Paris)`.
pub fn describe(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris)
        .format("%d/%m/%Y à %H:%M (heure de Paris)")
        .to_string()
}

/// The instant of a local time in Paris; in the autumn's repeated hour, the earlier one;
/// in the spring's skipped hour, the hour after.
pub fn local(at: NaiveDateTime) -> DateTime<Utc> {
    match Paris.from_local_datetime(&at) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => local(at + chrono::Duration::hours(1)),
    }
}

/// An instant as typed: RFC 3339 with an offset (`2027-02-12T23:59:00+01:00`), a local
/// time in Paris (`2027-02-12T23:59`), or a date — the start of that day in Paris, or
/// its last minute (23:59:59) when `end_of_day`.
pub fn parse(text: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(local(at));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let time = if end_of_day {
            NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN)
        } else {
            NaiveTime::MIN
        };
        return Ok(local(day.and_time(time)));
    }
    Err(format!(
        "« {text} » n'est pas une date (2027-02-12), une heure de Paris (2027-02-12T23:59) ni \
         un instant avec décalage (2027-02-12T23:59:00+01:00)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dates_and_local_times_in_paris_winter_and_summer() {
        let winter = parse("2027-02-12", true).unwrap();
        assert_eq!(winter.to_rfc3339(), "2027-02-12T22:59:59+00:00");
        let summer = parse("2027-06-01T10:00", false).unwrap();
        assert_eq!(summer.to_rfc3339(), "2027-06-01T08:00:00+00:00");
        assert_eq!(
            parse("2027-02-12", false).unwrap().to_rfc3339(),
            "2027-02-11T23:00:00+00:00"
        );
        assert_eq!(date(winter), "2027-02-12".parse::<NaiveDate>().unwrap());
        assert_eq!(describe(winter), "12/02/2027 à 23:59 (heure de Paris)");
        assert!(parse("12/02/2027", false).is_err());
        // The skipped hour of the spring is the hour after.
        assert_eq!(
            parse("2027-03-28T02:30", false).unwrap().to_rfc3339(),
            "2027-03-28T01:30:00+00:00"
        );
    }
}
