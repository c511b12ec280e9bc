use std::fmt;
use std::str::FromStr;

use super::{text_enum, ParseError};

/// The code of an office or a service unit, e.g. `PLG` or `PLG-MPP`: 2 to 24 characters, letters,
/// digits and dashes, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct OfficeCode(String);

impl OfficeCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OfficeCode {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let code = input.trim().to_ascii_uppercase();
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-';
        if !(2..=24).contains(&code.len()) || !code.chars().all(allowed) {
            return Err(ParseError::new(format!(
                "{:?} is not an office code; use 2 to 24 letters, digits or dashes, e.g. PLG or PLG-MPP",
                input.trim()
            )));
        }
        Ok(Self(code))
    }
}

impl fmt::Display for OfficeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone. Indonesia has three: WIB (`Asia/Jakarta`, `Asia/Pontianak`), WITA
/// (`Asia/Makassar`) and WIT (`Asia/Jayapura`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl FromStr for TimeZone {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        input.trim().parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| {
            ParseError::new(format!(
                "{:?} is not an IANA time zone; use Asia/Jakarta (WIB), Asia/Pontianak (WIB), \
                 Asia/Makassar (WITA) or Asia/Jayapura (WIT)",
                input.trim()
            ))
        })
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

text_enum!(
    /// The class of a Kantor Imigrasi. Whether it runs a border checkpoint (TPI) is a separate flag.
    OfficeClass, "office class" {
        I => "i" | "1" | "kelas i",
        II => "ii" | "2" | "kelas ii",
        III => "iii" | "3" | "kelas iii",
    }
);

impl OfficeClass {
    /// The class as written in the office's name, e.g. "Kelas I TPI", "Kelas III Non TPI". (The
    /// "Khusus" grade of some Kelas I offices is part of their name, not of the class.)
    pub fn title(self, tpi: bool) -> String {
        let roman = self.as_str().to_ascii_uppercase();
        if tpi {
            format!("Kelas {roman} TPI")
        } else {
            format!("Kelas {roman} Non TPI")
        }
    }
}

/// The official forms of an office class, for messages.
const OFFICIAL_CLASSES: &str = "Kelas I TPI, Kelas I Non TPI, Kelas I Khusus TPI, Kelas I Khusus Non TPI, \
                                Kelas II TPI, Kelas II Non TPI, Kelas III";

/// Parses an office class as the ministry writes it (`Kelas I Khusus TPI`, `Kelas II Non TPI`,
/// `Kelas III`) or short (`I`, `2`, `kelas iii`). Returns the class and, when the text says it,
/// whether the office runs a border checkpoint (TPI). "Khusus" is a grade of Kelas I offices
/// that only their name keeps.
pub fn parse_office_class(input: &str) -> Result<(OfficeClass, Option<bool>), ParseError> {
    let lowered = input.trim().to_ascii_lowercase().replace('-', " ");
    let mut words: Vec<&str> = lowered.split_whitespace().collect();
    if words.first() == Some(&"kelas") {
        words.remove(0);
    }
    let class = match words.first().copied() {
        Some("i" | "1") => Some(OfficeClass::I),
        Some("ii" | "2") => Some(OfficeClass::II),
        Some("iii" | "3") => Some(OfficeClass::III),
        _ => None,
    };
    let rest = words.get(1..).unwrap_or_default();
    let (khusus, rest) = match rest {
        ["khusus", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let tpi = match rest {
        [] => Some(None),
        ["tpi"] => Some(Some(true)),
        ["non", "tpi"] => Some(Some(false)),
        _ => None,
    };
    match (class, tpi) {
        (Some(class), Some(tpi)) if !khusus || class == OfficeClass::I => Ok((class, tpi)),
        _ => Err(ParseError::new(format!(
            "unknown office class {:?}; write I, II or III, or the official form: {OFFICIAL_CLASSES}",
            input.trim()
        ))),
    }
}

/// A Kantor Imigrasi.
#[derive(Debug, Clone, PartialEq)]
pub struct Office {
    pub code: OfficeCode,
    pub name: String,
    pub timezone: TimeZone,
    pub class: OfficeClass,
    /// The office also runs a border checkpoint (airport or seaport).
    pub tpi: bool,
    /// The province, as the Kanwil that oversees the office.
    pub region: String,
    /// How applicants reach the office; printed in every notice.
    pub contact: Contact,
}

/// An office's public contact details, each optional in the reference list: a notice falls back
/// to the national site when the office's own phone is not known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// As it is printed, e.g. `(0711) 410 123`.
    pub phone: Option<String>,
    pub address: Option<String>,
    /// Without the scheme, e.g. `kanimpalembang.imigrasi.go.id`.
    pub website: Option<String>,
    /// The handle without `@`.
    pub instagram: Option<String>,
}

/// A passport service unit outside the main office (ULP, UKK, a counter in a mall or MPP). It uses
/// its office's time zone and state.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub code: OfficeCode,
    pub office: OfficeCode,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_codes_are_upper_case_and_checked() {
        assert_eq!("plg-mpp".parse::<OfficeCode>().unwrap().as_str(), "PLG-MPP");
        assert!("P".parse::<OfficeCode>().is_err());
        assert!("PL G".parse::<OfficeCode>().is_err());
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!("Asia/Makassar".parse::<TimeZone>().unwrap().name(), "Asia/Makassar");
        let err = "WITA".parse::<TimeZone>().unwrap_err().to_string();
        assert!(err.contains("Asia/Makassar (WITA)"), "{err}");
    }

    #[test]
    fn class_titles_follow_the_official_names() {
        assert_eq!(OfficeClass::I.title(true), "Kelas I TPI");
        assert_eq!(OfficeClass::II.title(false), "Kelas II Non TPI");
        assert_eq!(OfficeClass::III.title(false), "Kelas III Non TPI", "as Kerinci's name");
        assert_eq!("Kelas III".parse::<OfficeClass>().unwrap(), OfficeClass::III);
    }

    #[test]
    fn official_class_forms_say_the_class_and_the_checkpoint() {
        use OfficeClass::{I, II, III};
        for (text, expected) in [
            ("Kelas I TPI", (I, Some(true))),
            ("Kelas I Non TPI", (I, Some(false))),
            ("Kelas I Khusus TPI", (I, Some(true))),
            ("kelas i khusus non-tpi", (I, Some(false))),
            ("Kelas II TPI", (II, Some(true))),
            ("Kelas II Non TPI", (II, Some(false))),
            ("Kelas III", (III, None)),
            ("Kelas III Non TPI", (III, Some(false))),
            ("I", (I, None)),
            ("ii", (II, None)),
            ("3", (III, None)),
        ] {
            assert_eq!(parse_office_class(text).unwrap(), expected, "{text}");
        }
        for wrong in
            ["IV", "Kelas", "Kelas II Khusus TPI", "Kelas I TPI Non", "Kelas I Khusus TPI TPI", "TPI"]
        {
            let err = parse_office_class(wrong).unwrap_err().to_string();
            assert!(err.contains("Kelas I Khusus Non TPI"), "{wrong}: {err}");
        }
    }
}
