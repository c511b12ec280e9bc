//! Dates as applicants read them, in the office's zone.
//!
//! Indonesian: `Senin, 24 Juni 2024 pukul 09.00 WIB` (the dot in the time is the Indonesian
//! convention); English: `Monday 24 June 2024 at 09:00 WIB`. The short forms (`Sen 24 Jun 09.00 WIB`,
//! `Mon 24 Jun 09:00 WIB`) are for SMS, where every character counts. The zone abbreviation (WIB,
//! WITA, WIT) comes from chrono-tz. Day and month names are written here rather than taken from a
//! locale crate: there are nineteen words per language and chrono's own formatter knows only
//! English.

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::domain::{Language, TimeZone};

const HARI: [&str; 7] = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"];
const BULAN: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const BULAN_SINGKAT: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"];
const HARI_SINGKAT: [&str; 7] = ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"];

/// `Senin, 24 Juni 2024 pukul 09.00 WIB` / `Monday 24 June 2024 at 09:00 WIB`.
pub fn long(instant: DateTime<Utc>, zone: TimeZone, language: Language) -> String {
    let local = instant.with_timezone(&zone.0);
    let weekday = local.weekday().num_days_from_monday() as usize;
    let month = local.month0() as usize;
    let (day, year, hour, minute) = (local.day(), local.year(), local.hour(), local.minute());
    let abbreviation = local.format("%Z");
    match language {
        Language::Id => format!(
            "{}, {day} {} {year} pukul {hour:02}.{minute:02} {abbreviation}",
            HARI[weekday], BULAN[month]
        ),
        Language::En => local.format("%A %-d %B %Y at %H:%M %Z").to_string(),
    }
}

/// `Sen 24 Jun 09.00 WIB` / `Mon 24 Jun 09:00 WIB`.
pub fn short(instant: DateTime<Utc>, zone: TimeZone, language: Language) -> String {
    let local = instant.with_timezone(&zone.0);
    match language {
        Language::Id => format!(
            "{} {} {} {:02}.{:02} {}",
            HARI_SINGKAT[local.weekday().num_days_from_monday() as usize],
            local.day(),
            BULAN_SINGKAT[local.month0() as usize],
            local.hour(),
            local.minute(),
            local.format("%Z")
        ),
        Language::En => local.format("%a %-d %b %H:%M %Z").to_string(),
    }
}

/// `24 Jun 2024` in either language (the Indonesian month abbreviations differ: `Agu`, `Okt`, `Des`).
pub fn day(date: chrono::NaiveDate, language: Language) -> String {
    match language {
        Language::Id => format!("{} {} {}", date.day(), BULAN_SINGKAT[date.month0() as usize], date.year()),
        Language::En => date.format("%-d %b %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_local_datetime;

    fn at(local: &str, zone: &str) -> (DateTime<Utc>, TimeZone) {
        let zone: TimeZone = zone.parse().unwrap();
        (parse_local_datetime(local, zone).unwrap(), zone)
    }

    #[test]
    fn indonesian_long_form_in_each_zone() {
        let (instant, wib) = at("2024-06-24 09:00", "Asia/Jakarta");
        assert_eq!(long(instant, wib, Language::Id), "Senin, 24 Juni 2024 pukul 09.00 WIB");
        let (instant, wita) = at("2024-06-25 13:30", "Asia/Makassar");
        assert_eq!(long(instant, wita, Language::Id), "Selasa, 25 Juni 2024 pukul 13.30 WITA");
        let (instant, wit) = at("2024-06-30 07:05", "Asia/Jayapura");
        assert_eq!(long(instant, wit, Language::Id), "Minggu, 30 Juni 2024 pukul 07.05 WIT");
    }

    #[test]
    fn english_long_form() {
        let (instant, wib) = at("2024-06-24 09:00", "Asia/Pontianak");
        assert_eq!(long(instant, wib, Language::En), "Monday 24 June 2024 at 09:00 WIB");
        let (instant, wita) = at("2024-07-01 08:00", "Asia/Makassar");
        assert_eq!(long(instant, wita, Language::En), "Monday 1 July 2024 at 08:00 WITA");
    }

    #[test]
    fn the_same_instant_reads_differently_in_each_zone() {
        let (instant, _) = at("2024-06-24 23:30", "Asia/Jakarta");
        let wit: TimeZone = "Asia/Jayapura".parse().unwrap();
        // 23:30 WIB is already the next day in Papua.
        assert_eq!(long(instant, wit, Language::Id), "Selasa, 25 Juni 2024 pukul 01.30 WIT");
    }

    #[test]
    fn short_forms_for_sms() {
        let (instant, wib) = at("2024-06-24 09:00", "Asia/Jakarta");
        assert_eq!(short(instant, wib, Language::Id), "Sen 24 Jun 09.00 WIB");
        assert_eq!(short(instant, wib, Language::En), "Mon 24 Jun 09:00 WIB");
        let (instant, wita) = at("2024-08-17 10:00", "Asia/Makassar");
        assert_eq!(short(instant, wita, Language::Id), "Sab 17 Agu 10.00 WITA");
    }
}
