//! Phone numbers as people write them (`056/39 16 20`, `+32 56 39 16 20`,
//! `0 800 235 236`, `05 61 00 00 00`, `3018`), normalised with libphonenumber's data
//! (the `phonenumber` crate): a French number in the national form people dial
//! (`05 61 00 00 00`), a foreign one in the international form (`+32 56 39 16 20`),
//! a national short number (`3018`, `119`, `17`, `112`, `116 006`) as it is.

use std::str::FromStr;

use phonenumber::Mode;
use phonenumber::country::Id;

/// Characters people put between digits.
const SEPARATORS: &str = " .-/()\u{a0}";

/// `text` normalised, reading a national number (leading `0`) as one of `country`
/// (ISO 3166 code; France when absent), then of France, then of the neighbours the
/// academy's partners are in (Belgium, Spain, Andorra). `Err` holds the French reason.
pub fn normalise(text: &str, country: Option<&str>) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("le numéro est vide".to_owned());
    }
    let mut digits = String::new();
    for (i, c) in text.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => digits.push(c),
            c if SEPARATORS.contains(c) => {}
            _ => {
                return Err(format!(
                    "« {text} » n'est pas un numéro de téléphone : seuls les chiffres, les espaces, \
                     le + initial et les séparateurs . - / ( ) sont admis"
                ));
            }
        }
    }
    if let Some(short) = short_number(&digits) {
        return Ok(short);
    }
    let mut regions = vec![country.and_then(|c| Id::from_str(c).ok()).unwrap_or(Id::FR)];
    for region in [Id::FR, Id::BE, Id::ES, Id::AD] {
        if !regions.contains(&region) {
            regions.push(region);
        }
    }
    for region in regions {
        let Ok(number) = phonenumber::parse(Some(region), &digits) else {
            continue;
        };
        if !number.is_valid() {
            continue;
        }
        let mode = if number.code().value() == 33 {
            Mode::National
        } else {
            Mode::International
        };
        return Ok(number.format().mode(mode).to_string());
    }
    Err(format!(
        "« {text} » n'est pas un numéro de téléphone valide (ex. 05 61 00 00 00, \
         +32 56 39 16 20, ou un numéro court comme 3018)"
    ))
}

/// A national short number (`15`, `17`, `112`, `119`, `3018`, `3114`, `116 006`...):
/// two to six digits, no leading `0` or `+`; the European `116 xxx` numbers written in
/// two groups, the others as one.
fn short_number(digits: &str) -> Option<String> {
    let short = (2..=6).contains(&digits.len())
        && !digits.starts_with('0')
        && digits.chars().all(|c| c.is_ascii_digit());
    if !short {
        return None;
    }
    Some(if digits.len() == 6 && digits.starts_with("116") {
        format!("{} {}", &digits[..3], &digits[3..])
    } else {
        digits.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_people_write_them_are_normalised() {
        for (typed, country, expected) in [
            ("056/39 16 20", Some("BE"), "+32 56 39 16 20"),
            ("056/39 16 20", None, "+32 56 39 16 20"),
            ("+32 56 39 16 20", None, "+32 56 39 16 20"),
            ("0 800 235 236", None, "0 800 23 52 36"),
            ("05 61 00 00 00", None, "05 61 00 00 00"),
            ("05.61.00.00.00", None, "05 61 00 00 00"),
            ("+33 5 61 00 00 00", Some("BE"), "05 61 00 00 00"),
            ("3018", None, "3018"),
            ("3114", None, "3114"),
            ("15", None, "15"),
            ("116 006", None, "116 006"),
            ("116006", None, "116 006"),
        ] {
            assert_eq!(
                normalise(typed, country).as_deref(),
                Ok(expected),
                "{typed}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for bad in ["", "appelez-nous", "05 61", "+33 1", "05 61 00 00 00 00 00"] {
            let error = normalise(bad, None).unwrap_err();
            assert!(!error.is_empty(), "{bad}");
        }
    }
}
