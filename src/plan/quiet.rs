//! Quiet hours in the office's own time zone: WhatsApp and SMS planned inside them wait for the
//! morning, unless the applicant's appointment comes too soon after (then now beats too late).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveTime, TimeZone as _, Utc};

use crate::domain::{ParseError, TimeZone};

/// A nightly window, `21:00-07:00` by default; it may wrap midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            start: NaiveTime::from_hms_opt(21, 0, 0).expect("a valid time"),
            end: NaiveTime::from_hms_opt(7, 0, 0).expect("a valid time"),
        }
    }
}

impl QuietHours {
    /// When the quiet hours that contain `now` end, or `None` outside them.
    pub fn ends_after(self, now: DateTime<Utc>, zone: TimeZone) -> Option<DateTime<Utc>> {
        if self.start == self.end {
            return None;
        }
        let local = now.with_timezone(&zone.0);
        let time = local.time();
        let inside = if self.start < self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !inside {
            return None;
        }
        let mut day = local.date_naive();
        if time >= self.end {
            day += Duration::days(1);
        }
        zone.0.from_local_datetime(&day.and_time(self.end)).earliest().map(|end| end.with_timezone(&Utc))
    }
}

impl FromStr for QuietHours {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let invalid = || {
            ParseError::new(format!("{input:?} is not a time window; write HH:MM-HH:MM, e.g. 21:00-07:00"))
        };
        let (start, end) = input.trim().split_once('-').ok_or_else(invalid)?;
        let time = |text: &str| NaiveTime::parse_from_str(text.trim(), "%H:%M").map_err(|_| invalid());
        Ok(QuietHours { start: time(start)?, end: time(end)? })
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

impl serde::Serialize for QuietHours {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for QuietHours {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_same_instant_is_quiet_in_one_zone_and_not_in_another() {
        let quiet = QuietHours::default();
        // 14:30 UTC is 21:30 WIB, 22:30 WITA, 23:30 WIT.
        let now = at("2024-06-20T14:30:00Z");
        let jakarta: TimeZone = "Asia/Jakarta".parse().unwrap();
        assert_eq!(quiet.ends_after(now, jakarta), Some(at("2024-06-21T00:00:00Z")), "07:00 WIB");
        let jayapura: TimeZone = "Asia/Jayapura".parse().unwrap();
        assert_eq!(quiet.ends_after(now, jayapura), Some(at("2024-06-20T22:00:00Z")), "07:00 WIT");
        // 13:30 UTC is 20:30 WIB (not quiet) but 22:30 WIT.
        assert_eq!(quiet.ends_after(at("2024-06-20T13:30:00Z"), jakarta), None);
        // 05:00 WITA, after midnight, ends the same morning.
        let makassar: TimeZone = "Asia/Makassar".parse().unwrap();
        assert_eq!(quiet.ends_after(at("2024-06-20T21:00:00Z"), makassar), Some(at("2024-06-20T23:00:00Z")));
    }

    #[test]
    fn windows_parse_and_print() {
        let window: QuietHours = "22:00-06:30".parse().unwrap();
        assert_eq!(window.to_string(), "22:00-06:30");
        assert!("22-06".parse::<QuietHours>().is_err());
    }
}
