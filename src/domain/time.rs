//! Local times of an office: parsing what staff and M-Paspor write, and the short form kabar prints.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone as _, Utc};

use super::{ParseError, TimeZone};

/// A time as a person types it, wherever kabar asks for one (`state set --until`, `plan --at`,
/// `broadcast send --at`, `audit --since`, the API): an RFC 3339 instant with its own offset
/// (`2024-06-24T17:00:00+07:00`, `…Z`), or a wall-clock time `YYYY-MM-DD HH:MM` (seconds
/// optional, `T` accepted as separator) that is read in a zone the caller names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedTime {
    Instant(DateTime<Utc>),
    Local(NaiveDateTime),
}

/// The example every time error gives.
const TIME_FORMS: &str = "write YYYY-MM-DD HH:MM (local time), e.g. 2024-06-24 17:00, or an RFC 3339 \
                          instant with its offset, e.g. 2024-06-24T17:00:00+07:00";

impl std::str::FromStr for TypedTime {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
            return Ok(TypedTime::Instant(instant.with_timezone(&Utc)));
        }
        ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .map(TypedTime::Local)
            .ok_or_else(|| ParseError::new(format!("{text:?} is not a date and time; {TIME_FORMS}")))
    }
}

impl TypedTime {
    /// The instant, reading a wall-clock time in `zone`.
    pub fn in_zone(self, zone: TimeZone) -> Result<DateTime<Utc>, ParseError> {
        let naive = match self {
            TypedTime::Instant(instant) => return Ok(instant),
            TypedTime::Local(naive) => naive,
        };
        match zone.0.from_local_datetime(&naive) {
            LocalResult::Single(local) => Ok(local.with_timezone(&Utc)),
            // Indonesia has no daylight saving; an ambiguous time can only happen in a foreign zone.
            LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
            LocalResult::None => Err(ParseError::new(format!(
                "\"{}\" does not exist in {zone} (a daylight-saving gap)",
                naive.format("%Y-%m-%d %H:%M")
            ))),
        }
    }

    /// Whether the time was written without an offset (so a zone was assumed).
    pub fn is_local(self) -> bool {
        matches!(self, TypedTime::Local(_))
    }
}

/// Parses a [`TypedTime`] and reads a wall-clock time in `zone`.
pub fn parse_local_datetime(input: &str, zone: TimeZone) -> Result<DateTime<Utc>, ParseError> {
    input.parse::<TypedTime>()?.in_zone(zone)
}

/// The zone a typed time without an offset is read in when it belongs to no office in particular
/// (`plan --at`, `broadcast send --at`, `audit --since`): Jakarta, WIB.
pub const DEFAULT_ZONE: TimeZone = TimeZone(chrono_tz::Asia::Jakarta);

/// The years a booking's dates may fall in. Fixed, not relative to today: replays of June 2024
/// must keep importing, and no M-Paspor booking is older than the 2000s.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// Refuses a date outside [`YEARS`]; `text` is what was written, for the message.
pub fn check_year(date: NaiveDate, text: &str) -> Result<(), ParseError> {
    use chrono::Datelike as _;
    if YEARS.contains(&date.year()) {
        return Ok(());
    }
    Err(ParseError::new(format!(
        "{:?} is in the year {}; kabar accepts dates from {} to {}: check the year",
        text.trim(),
        date.year(),
        YEARS.start(),
        YEARS.end()
    )))
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(input: &str) -> Result<NaiveDate, ParseError> {
    let text = input.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ParseError::new(format!("{text:?} is not a date; write YYYY-MM-DD, e.g. 2024-06-11")))
}

/// Parses a yes/no flag as M-Paspor exports and people write it.
pub fn parse_flag(input: &str) -> Result<bool, ParseError> {
    match input.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "ya" => Ok(true),
        "no" | "n" | "false" | "0" | "tidak" | "" => Ok(false),
        other => Err(ParseError::new(format!(
            "{other:?} is not yes or no; use yes/no, true/false, 1/0 or ya/tidak"
        ))),
    }
}

/// `2024-06-24 09:00 WIB`: an instant in an office's zone, for tables and logs.
pub fn format_short(instant: DateTime<Utc>, zone: TimeZone) -> String {
    instant.with_timezone(&zone.0).format("%Y-%m-%d %H:%M %Z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        name.parse().unwrap()
    }

    #[test]
    fn local_times_become_utc_in_each_indonesian_zone() {
        let wib = parse_local_datetime("2024-06-24 09:00", zone("Asia/Jakarta")).unwrap();
        let wita = parse_local_datetime("2024-06-24 09:00", zone("Asia/Makassar")).unwrap();
        let wit = parse_local_datetime("2024-06-24 09:00", zone("Asia/Jayapura")).unwrap();
        assert_eq!(wib.to_rfc3339(), "2024-06-24T02:00:00+00:00");
        assert_eq!(wita.to_rfc3339(), "2024-06-24T01:00:00+00:00");
        assert_eq!(wit.to_rfc3339(), "2024-06-24T00:00:00+00:00");
        assert_eq!(format_short(wita, zone("Asia/Makassar")), "2024-06-24 09:00 WITA");
        assert_eq!(format_short(wit, zone("Asia/Jayapura")), "2024-06-24 09:00 WIT");
    }

    #[test]
    fn impossible_dates_are_refused_with_the_expected_form() {
        let err = parse_local_datetime("2024-02-30 09:00", zone("Asia/Jakarta")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"2024-02-30 09:00\" is not a date and time; write YYYY-MM-DD HH:MM (local time), e.g. \
             2024-06-24 17:00, or an RFC 3339 instant with its offset, e.g. 2024-06-24T17:00:00+07:00"
        );
        assert!(parse_date("2024-13-01").is_err());
        assert_eq!(parse_date("2024-06-11").unwrap().to_string(), "2024-06-11");
    }

    #[test]
    fn every_typed_time_takes_both_forms() {
        let local: TypedTime = "2024-06-24 17:00".parse().unwrap();
        assert!(local.is_local());
        assert_eq!(local.in_zone(zone("Asia/Makassar")).unwrap().to_rfc3339(), "2024-06-24T09:00:00+00:00");
        let instant: TypedTime = "2024-06-24T17:00:00+07:00".parse().unwrap();
        assert!(!instant.is_local());
        assert_eq!(instant.in_zone(zone("Asia/Jayapura")).unwrap().to_rfc3339(), "2024-06-24T10:00:00+00:00");
        assert_eq!("2024-06-24T17:00".parse::<TypedTime>().unwrap(), local);
        assert!("24/06/2024 17:00".parse::<TypedTime>().is_err());
    }

    #[test]
    fn years_outside_the_bounds_name_them() {
        let date = |text| parse_date(text).unwrap();
        assert!(check_year(date("2000-01-01"), "2000-01-01").is_ok());
        assert!(check_year(date("2099-12-31"), "2099-12-31").is_ok());
        let err = check_year(date("9999-06-24"), "9999-06-24").unwrap_err().to_string();
        assert_eq!(
            err,
            "\"9999-06-24\" is in the year 9999; kabar accepts dates from 2000 to 2099: check the year"
        );
        assert!(check_year(date("1999-12-31"), "1999-12-31").is_err());
    }

    #[test]
    fn flags_in_english_and_indonesian() {
        for yes in ["yes", "TRUE", "1", "ya"] {
            assert!(parse_flag(yes).unwrap());
        }
        for no in ["no", "false", "0", "tidak", ""] {
            assert!(!parse_flag(no).unwrap());
        }
        assert!(parse_flag("maybe").is_err());
    }
}
