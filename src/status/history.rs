//! The last 90 days of one service, one record per local day of its office, as status pages show
//! them: the worst state of the day and how long the service was not operational.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::{ServiceState, TimeZone};
use crate::store::PublicChange;

/// How many days the history shows, today included.
pub const HISTORY_DAYS: usize = 90;

/// One local day of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRecord {
    pub date: NaiveDate,
    /// The worst state of the day.
    pub worst: ServiceState,
    /// Minutes not operational that day (up to now, for today).
    pub disrupted_minutes: u32,
}

/// Midnight of `date` in `zone`, as an instant (the earliest, should a zone ever skip midnight).
fn start_of(date: NaiveDate, zone: TimeZone) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    midnight
        .and_local_timezone(zone.0)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |local| local.with_timezone(&Utc))
}

/// The days of one service from its changes (oldest first), ending today in `zone`.
pub fn days(changes: &[&PublicChange], zone: TimeZone, now: DateTime<Utc>) -> Vec<DayRecord> {
    // The state in force from each instant: before the first change, the state it left.
    let mut segments: Vec<(DateTime<Utc>, ServiceState)> = Vec::with_capacity(changes.len() + 1);
    segments.push((DateTime::<Utc>::MIN_UTC, changes.first().map_or(ServiceState::Operational, |c| c.from)));
    segments.extend(changes.iter().map(|c| (c.at, c.to)));
    let today = now.with_timezone(&zone.0).date_naive();
    (0..HISTORY_DAYS)
        .rev()
        .map(|back| {
            let date = today - Duration::days(back as i64);
            let start = start_of(date, zone);
            let end = start_of(date + Duration::days(1), zone).min(now);
            let mut worst = ServiceState::Operational;
            let mut disrupted = Duration::zero();
            for (i, (from, state)) in segments.iter().enumerate() {
                let until = segments.get(i + 1).map_or(now, |next| next.0);
                let state = *state;
                let (from, until) = ((*from).max(start), until.min(end));
                if from >= until {
                    continue;
                }
                worst = worst.max(state);
                if state != ServiceState::Operational {
                    disrupted += until - from;
                }
            }
            DayRecord { date, worst, disrupted_minutes: disrupted.num_minutes().max(0) as u32 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Service;

    fn change(id: i64, from: ServiceState, to: ServiceState, at: &str) -> PublicChange {
        PublicChange {
            id,
            office: "PLG".parse().unwrap(),
            service: Service::Printing,
            from,
            to,
            reason: None,
            expected_at: None,
            at: DateTime::parse_from_rfc3339(at).unwrap().to_utc(),
        }
    }

    #[test]
    fn a_disruption_marks_its_local_days_and_counts_its_minutes() {
        use ServiceState::{Operational, Unavailable};
        let zone: TimeZone = "Asia/Jakarta".parse().unwrap();
        // 20 June 22:00 WIB to 21 June 01:30 WIB.
        let down = change(1, Operational, Unavailable, "2024-06-20T15:00:00Z");
        let up = change(2, Unavailable, Operational, "2024-06-20T18:30:00Z");
        let now = DateTime::parse_from_rfc3339("2024-06-22T05:00:00Z").unwrap().to_utc();
        let days = days(&[&down, &up], zone, now);
        assert_eq!(days.len(), HISTORY_DAYS);
        let last: Vec<_> = days[HISTORY_DAYS - 3..]
            .iter()
            .map(|d| (d.date.to_string(), d.worst, d.disrupted_minutes))
            .collect();
        assert_eq!(
            last,
            [
                ("2024-06-20".to_owned(), Unavailable, 120),
                ("2024-06-21".to_owned(), Unavailable, 90),
                ("2024-06-22".to_owned(), Operational, 0),
            ]
        );
        assert!(days[..HISTORY_DAYS - 3].iter().all(|d| d.worst == Operational));
    }
}
