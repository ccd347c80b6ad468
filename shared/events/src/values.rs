//! Values parsed once at the boundary, so handlers and deciders never see raw strings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a value was refused, in French, for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

fn invalid(message: impl Into<String>) -> InvalidValue {
    InvalidValue(message.into())
}

/// Unité administrative immatriculée: 7 digits and the check letter of their number
/// (the remainder modulo 23 indexes [`Uai::CHECK_LETTERS`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uai(String);

impl Uai {
    pub const CHECK_LETTERS: &'static [u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim().to_ascii_uppercase();
        let bytes = text.as_bytes();
        if bytes.len() != 8
            || !bytes[..7].iter().all(u8::is_ascii_digit)
            || !bytes[7].is_ascii_alphabetic()
        {
            return Err(invalid(format!(
                "« {text} » n'est pas un UAI : 7 chiffres suivis d'une lettre attendus (ex. 0310001A)"
            )));
        }
        let expected = Self::check_letter(&text[..7]);
        if bytes[7] != expected {
            return Err(invalid(format!(
                "UAI {text} : la lettre de contrôle devrait être {} (clé des 7 chiffres)",
                expected as char
            )));
        }
        Ok(Self(text))
    }

    /// The check letter of 7 digits.
    pub fn check_letter(digits: &str) -> u8 {
        let number: u64 = digits.parse().unwrap_or(0);
        Self::CHECK_LETTERS[(number % 23) as usize]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Uai {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Uai> for String {
    fn from(uai: Uai) -> Self {
        uai.0
    }
}

/// A French department code: `"31"`, `"09"`, `"2A"`, `"971"`. The national directory
/// writes metropolitan codes on three characters (`"031"`); both are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DepartmentCode(String);

impl DepartmentCode {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim().to_ascii_uppercase();
        let code = match text.len() {
            3 if text.starts_with('0') => text[1..].to_owned(),
            1 if text.as_bytes()[0].is_ascii_digit() => format!("0{text}"),
            _ => text.clone(),
        };
        let valid = match code.as_bytes() {
            [a, b] => {
                (a.is_ascii_digit() && b.is_ascii_digit() && code != "00" && code != "20")
                    || code == "2A"
                    || code == "2B"
            }
            [b'9', b'7', c] => c.is_ascii_digit(),
            _ => false,
        };
        if valid {
            Ok(Self(code))
        } else {
            Err(invalid(format!(
                "« {text} » n'est pas un code de département (ex. 31, 09, 2A, 971)"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DepartmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DepartmentCode {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DepartmentCode> for String {
    fn from(code: DepartmentCode) -> Self {
        code.0
    }
}

/// The academy the platform serves: its name and departments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Academy {
    pub name: String,
    pub departments: Vec<DepartmentCode>,
}

impl Academy {
    /// The académie de Toulouse: Ariège, Aveyron, Haute-Garonne, Gers, Lot,
    /// Hautes-Pyrénées, Tarn, Tarn-et-Garonne.
    pub fn toulouse() -> Self {
        Self {
            name: "Toulouse".into(),
            departments: ["09", "12", "31", "32", "46", "65", "81", "82"]
                .iter()
                .filter_map(|d| DepartmentCode::parse(d).ok())
                .collect(),
        }
    }

    pub fn contains(&self, department: &DepartmentCode) -> bool {
        self.departments.contains(department)
    }

    /// A department of this academy, or why not.
    pub fn department(&self, text: &str) -> Result<DepartmentCode, InvalidValue> {
        let code = DepartmentCode::parse(text)?;
        if self.contains(&code) {
            Ok(code)
        } else {
            Err(invalid(format!(
                "le département {code} n'appartient pas à l'académie de {} ({})",
                self.name,
                self.departments
                    .iter()
                    .map(DepartmentCode::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

/// A professional e-mail address, trimmed and lower-cased (people are identified by
/// e-mail case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim().to_lowercase();
        let well_formed = text.len() <= 254
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && match text.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if well_formed {
            Ok(Self(text))
        } else {
            Err(invalid(format!(
                "« {text} » n'est pas une adresse électronique valide (ex. prenom.nom@ac-toulouse.fr)"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

macro_rules! identifier_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident => $id:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $id),+ }
            }

            pub fn parse(text: &str) -> Result<Self, InvalidValue> {
                match text.trim() {
                    $($id => Ok(Self::$variant),)+
                    other => Err(invalid(format!(
                        concat!("« {} » n'est pas ", $what, " reconnu ; valeurs acceptées : {}."),
                        other,
                        [$($id),+].join(", ")
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

identifier_enum!(
    /// Type d'établissement.
    SchoolKind, "un type d'établissement", {
        Ecole => "ecole",
        College => "college",
        LyceeGt => "lycee_gt",
        LyceePro => "lycee_pro",
        LyceePoly => "lycee_poly",
        Erea => "erea",
        Periscolaire => "periscolaire",
    }
);

impl SchoolKind {
    /// Primary schools (1er degré) belong to a circonscription.
    pub fn is_primary(self) -> bool {
        self == Self::Ecole
    }
}

identifier_enum!(
    /// Secteur.
    Sector, "un secteur", {
        Public => "public",
        PriveSousContrat => "prive_sous_contrat",
    }
);

identifier_enum!(
    /// Éducation prioritaire.
    PriorityEducation, "un classement d'éducation prioritaire", {
        None => "none",
        Rep => "rep",
        RepPlus => "rep_plus",
    }
);

identifier_enum!(
    /// Le rôle d'un compte : ce qu'il peut faire.
    Role, "un rôle", {
        Admin => "admin",
        PoleManager => "pole_manager",
        DepartmentReferent => "department_referent",
        School => "school",
        Juror => "juror",
        Trainer => "trainer",
    }
);

impl Role {
    /// The French name of the role, for sentences (« référent départemental »).
    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "administrateur",
            Self::PoleManager => "pôle académique",
            Self::DepartmentReferent => "référent départemental",
            Self::School => "établissement",
            Self::Juror => "juré",
            Self::Trainer => "formateur",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_an_uai_with_its_check_letter() {
        // 0310001 = 23 × 13478 + 7 → index 7 → 'H'.
        assert_eq!(Uai::parse("0310001h").unwrap().as_str(), "0310001H");
        assert_eq!(Uai::check_letter("0000000"), b'A');
        assert_eq!(Uai::check_letter("0000022"), b'Z');
    }

    #[test]
    fn rejects_an_uai_with_a_wrong_check_letter_and_says_which() {
        let error = Uai::parse("0310001A").unwrap_err();
        assert!(error.0.contains("devrait être H"), "{error}");
        assert!(Uai::parse("031001A").is_err());
        assert!(Uai::parse("03100011").is_err());
    }

    #[test]
    fn normalises_department_codes_of_the_national_directory() {
        assert_eq!(DepartmentCode::parse("031").unwrap().as_str(), "31");
        assert_eq!(DepartmentCode::parse("9").unwrap().as_str(), "09");
        assert_eq!(DepartmentCode::parse("2a").unwrap().as_str(), "2A");
        assert_eq!(DepartmentCode::parse("971").unwrap().as_str(), "971");
        assert!(DepartmentCode::parse("20").is_err());
        assert!(DepartmentCode::parse("abc").is_err());
    }

    #[test]
    fn rejects_departments_outside_the_academy() {
        let academy = Academy::toulouse();
        assert!(academy.department("31").is_ok());
        let error = academy.department("33").unwrap_err();
        assert!(
            error
                .0
                .contains("n'appartient pas à l'académie de Toulouse")
        );
    }

    #[test]
    fn emails_compare_case_insensitively() {
        assert_eq!(
            Email::parse(" Jeanne.Martin@AC-Toulouse.fr ").unwrap(),
            Email::parse("jeanne.martin@ac-toulouse.fr").unwrap()
        );
        for bad in [
            "",
            "jeanne",
            "jeanne@",
            "@ac.fr",
            "a b@ac.fr",
            "a@b",
            "a@@b.fr",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers_list_the_accepted_values() {
        assert_eq!(Role::parse("school").unwrap(), Role::School);
        let error = SchoolKind::parse("lycee").unwrap_err();
        assert!(error.0.contains("lycee_gt"), "{error}");
    }
}
