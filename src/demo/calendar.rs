//! Office days and slots: weekdays only, 08:00-15:00 with a lunch break, in the office's zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc, Weekday};

use crate::domain::TimeZone;

/// Appointments run 08:00-15:00 with a break 12:00-13:00.
pub(super) fn slots_per_day(slot_minutes: u32) -> u32 {
    6 * 60 / slot_minutes
}

fn slot_time(slot: u32, slot_minutes: u32) -> NaiveTime {
    let mut minutes = 8 * 60 + slot * slot_minutes;
    if minutes >= 12 * 60 {
        minutes += 60;
    }
    NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).expect("slots fall within the day")
}

/// The instant of a wall-clock slot in the office's zone. Indonesian zones have no daylight
/// saving; for a foreign zone's gap the wall time is read as UTC rather than failing.
pub(super) fn local_to_utc(zone: TimeZone, day: NaiveDate, slot: u32, slot_minutes: u32) -> DateTime<Utc> {
    let local = day.and_time(slot_time(slot, slot_minutes));
    zone.0
        .from_local_datetime(&local)
        .earliest()
        .map(|instant| instant.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

fn is_weekday(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Weekdays from `today` (inclusive) over `horizon_days` calendar days; at least one.
pub(super) fn upcoming_weekdays(today: NaiveDate, horizon_days: u32) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = (0..i64::from(horizon_days.max(1)))
        .map(|offset| today + Duration::days(offset))
        .filter(|day| is_weekday(*day))
        .collect();
    if days.is_empty() {
        days.extend((1..=3).map(|offset| today + Duration::days(offset)).find(|day| is_weekday(*day)));
    }
    days
}

/// The `count` weekdays before `today`, most recent first.
pub(super) fn past_weekdays(today: NaiveDate, count: usize) -> Vec<NaiveDate> {
    (1..).map(|offset| today - Duration::days(offset)).filter(|day| is_weekday(*day)).take(count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cover_office_hours_around_the_lunch_break() {
        let times: Vec<String> =
            (0..slots_per_day(30)).map(|slot| slot_time(slot, 30).format("%H:%M").to_string()).collect();
        assert_eq!(times.first().unwrap(), "08:00");
        assert!(times.contains(&"11:30".to_owned()) && times.contains(&"13:00".to_owned()));
        assert!(!times.iter().any(|t| t.starts_with("12:")));
        assert_eq!(times.last().unwrap(), "14:30");
        assert_eq!(slot_time(slots_per_day(15) - 1, 15).format("%H:%M").to_string(), "14:45");
    }

    #[test]
    fn weekday_windows_skip_weekends() {
        let saturday = NaiveDate::from_ymd_opt(2024, 6, 22).unwrap();
        assert_eq!(upcoming_weekdays(saturday, 1), vec![NaiveDate::from_ymd_opt(2024, 6, 24).unwrap()]);
        let past = past_weekdays(saturday, 2);
        assert_eq!(past[0], NaiveDate::from_ymd_opt(2024, 6, 21).unwrap());
        assert_eq!(past[1], NaiveDate::from_ymd_opt(2024, 6, 20).unwrap());
    }
}
