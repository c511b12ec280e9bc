//! The planner: from a settled state change to exactly the right messages.
//!
//! A change is held for the settle time, then compared with what applicants were last told (so a
//! flap sends nothing, and down → degraded → down sends one notice). Each settled change becomes
//! a notice event in the office's incident; its audience follows the rules of [`audience`], one
//! message per applicant listing every affected booking, on the applicant's first usable channel,
//! held until the morning when planned in the office's quiet hours. The messages are computed in
//! the database in one statement per event, and a unique key (event, applicant) makes replaying
//! an event plan nothing new.

mod audience;
pub mod audience_index;
pub mod broadcast;
mod filter;
pub mod notice;
pub mod preview;
mod quiet;
pub mod update;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

pub use audience::{restoration_kind, rules, Rule, STATUS_UPDATE};
pub use audience_index::AudienceIndex;
pub use preview::{who_would_hear, Audience as WhoWouldHear};
pub use quiet::QuietHours;

use crate::domain::{Channel, OfficeCode, Service, ServiceState, TimeZone};
use crate::store::{
    Audience, EventPlan, OfficeDirectory, PlannedCounts, SettledChange, Store, StoreError, Trigger,
};

/// How the planner behaves (`[planner]` in `kabar.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlannerConfig {
    /// How long a change must stand before anyone hears of it.
    pub settle_seconds: u64,
    /// Appointments this far ahead are affected when the expected restoration is unknown.
    pub horizon_days: u32,
    /// When WhatsApp and SMS wait for the morning, in each office's own time zone.
    pub quiet_hours: QuietHours,
    /// Per-office quiet hours, by office code.
    pub office_quiet_hours: BTreeMap<String, QuietHours>,
    /// An appointment sooner than the end of the quiet hours plus this is told at once.
    pub quiet_margin_minutes: u32,
    /// The applicant's channels, most preferred first.
    pub channels: Vec<Channel>,
    /// While an incident is open, applicants booked for the next day hear where things stand at
    /// this local time, from the day after the incident opened.
    #[serde(with = "hh_mm")]
    pub status_update_time: NaiveTime,
    /// How often `kabar serve` looks for settled changes, due status updates and broadcasts.
    pub tick_seconds: u64,
}

/// `HH:MM` in configuration files.
mod hh_mm {
    use chrono::NaiveTime;

    pub fn serialize<S: serde::Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&time.format("%H:%M"))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        NaiveTime::parse_from_str(&text, "%H:%M")
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a time; write HH:MM, e.g. 17:00")))
    }
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            settle_seconds: 120,
            horizon_days: 14,
            quiet_hours: QuietHours::default(),
            office_quiet_hours: BTreeMap::new(),
            quiet_margin_minutes: 180,
            channels: vec![Channel::Whatsapp, Channel::Sms, Channel::Email],
            status_update_time: NaiveTime::from_hms_opt(17, 0, 0).expect("a valid time"),
            tick_seconds: 5,
        }
    }
}

impl PlannerConfig {
    /// Checks what serde cannot: channels listed once each, office codes well formed.
    pub fn validate(&self) -> Result<(), String> {
        if self.channels.is_empty() {
            return Err("planner.channels is empty; list at least one of whatsapp, sms, email".into());
        }
        for (at, channel) in self.channels.iter().enumerate() {
            if self.channels[..at].contains(channel) {
                return Err(format!("planner.channels lists {channel} twice"));
            }
        }
        for code in self.office_quiet_hours.keys() {
            code.parse::<OfficeCode>().map_err(|err| format!("planner.office_quiet_hours: {err}"))?;
        }
        Ok(())
    }

    fn quiet_hours_of(&self, office: &OfficeCode) -> QuietHours {
        self.office_quiet_hours
            .iter()
            .find(|(code, _)| code.eq_ignore_ascii_case(office.as_str()))
            .map_or(self.quiet_hours, |(_, hours)| *hours)
    }
}

/// One planned event: a settled change, or a status update.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedEvent {
    pub office: String,
    /// For a change: the service, what applicants were last told, the new state, the change.
    pub service: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub change_id: Option<i64>,
    /// For a change: true when the state stands and only its reason or expected restoration
    /// changed (applicants already told get one update).
    pub update: bool,
    /// For a change: the expected restoration.
    pub expected_at: Option<DateTime<Utc>>,
    /// For a status update: the office's local day.
    pub slot: Option<String>,
    #[serde(flatten)]
    pub counts: PlannedCounts,
}

impl PlannedEvent {
    fn new(trigger: &Trigger, counts: PlannedCounts) -> Self {
        let mut event = PlannedEvent {
            office: trigger.office().to_string(),
            service: None,
            from: None,
            to: None,
            change_id: None,
            update: false,
            expected_at: None,
            slot: None,
            counts,
        };
        match trigger {
            Trigger::Change(change) => {
                event.service = Some(change.service.to_string());
                event.from = Some(change.from.to_string());
                event.to = Some(change.to.to_string());
                event.change_id = Some(change.change_id);
                event.update = change.from == change.to;
                event.expected_at = change.expected_at;
            }
            Trigger::StatusUpdate { slot, .. } => event.slot = Some(slot.to_string()),
        }
        event
    }
}

/// Who the audience of a settled change is: applicants hear when a service starts hurting their
/// bookings and when it stops; a change within the same disruption (degraded ↔ unavailable
/// printing) tells nobody again, and the same state with a new reason or expected restoration is
/// an update for those told. `others` is the current state of the office's other services: a
/// booking still held up by one of them (an e-passport when only regular printing is back, as in
/// Gorontalo on 2024-06-25) hears nothing yet.
pub fn audience_of(
    change: &SettledChange,
    others: &[(Service, ServiceState)],
    now: DateTime<Utc>,
    horizon: Duration,
) -> Audience {
    let before = rules(change.service, change.from);
    let after = rules(change.service, change.to);
    let default_end = now + horizon;
    match (before.is_empty(), after.is_empty()) {
        (true, false) => {
            let window_end = change.expected_at.filter(|expected| *expected > now).unwrap_or(default_end);
            Audience::Bookings { rules: after, window_start: now, window_end }
        }
        (false, true) => Audience::ToldOfDisruption {
            kind: restoration_kind(change.service),
            still_down: others
                .iter()
                .filter(|(service, _)| *service != change.service)
                .map(|(service, state)| rules(*service, *state))
                .filter(|rules| !rules.is_empty())
                .collect(),
            window_end: default_end,
        },
        // The same state with a new reason or expected restoration: news for those told.
        (false, false) if change.from == change.to => {
            Audience::Update { restoration: restoration_kind(change.service) }
        }
        _ => Audience::Nobody,
    }
}

/// Plans every change settled by `now`, then the status updates that are due. Safe to run again at
/// any time, from any number of workers: a replayed event plans nothing new.
pub async fn plan_once(
    store: &Store,
    config: &PlannerConfig,
    now: DateTime<Utc>,
) -> Result<Vec<PlannedEvent>, StoreError> {
    plan_once_waking(store, config, now, None).await
}

/// [`plan_once`], waking `workers` as soon as each event's messages are written, so that the
/// first office's applicants are being told while the other offices of a national change are
/// still being planned (`kabar serve` passes its workers' wake-up; other processes' workers get
/// the store's notification too).
pub async fn plan_once_waking(
    store: &Store,
    config: &PlannerConfig,
    now: DateTime<Utc>,
    workers: Option<std::sync::Arc<tokio::sync::Notify>>,
) -> Result<Vec<PlannedEvent>, StoreError> {
    let settle = Duration::seconds(i64::try_from(config.settle_seconds).unwrap_or(i64::MAX / 2));
    let settled = store.settled_changes(now - settle).await?;
    let incidents = store.open_incidents().await?;
    if settled.is_empty() && incidents.is_empty() {
        return Ok(Vec::new());
    }
    let offices = store.office_directory().await?;
    let horizon = Duration::days(i64::from(config.horizon_days));
    let board = store.service_board(None).await?;
    let mut plans = Vec::new();
    for change in settled {
        let others: Vec<(Service, ServiceState)> = board
            .iter()
            .filter(|row| row.office == change.office)
            .map(|row| (row.service, row.state))
            .collect();
        plans.push((audience_of(&change, &others, now, horizon), Trigger::Change(change)));
    }
    for incident in incidents {
        let Some(zone) = offices.office(&incident.office).map(|office| office.timezone) else {
            continue;
        };
        if let Some((slot, window_start, window_end)) =
            status_update_due(config, zone, incident.opened_at, now)
        {
            let audience = Audience::Bookings { rules: STATUS_UPDATE, window_start, window_end };
            plans.push((audience, Trigger::StatusUpdate { office: incident.office, slot }));
        }
    }
    // Offices are planned side by side where the engine allows; one office's events stay in
    // order (each sees what the one before marked as told, and the last resolves the incident).
    let mut by_office: BTreeMap<OfficeCode, Vec<(usize, EventPlan)>> = BTreeMap::new();
    for (index, (audience, trigger)) in plans.into_iter().enumerate() {
        let plan = event_plan(config, &offices, trigger, audience, now);
        by_office.entry(plan.trigger.office().clone()).or_default().push((index, plan));
    }
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(store.planning_concurrency()));
    let mut tasks = tokio::task::JoinSet::new();
    for (_, plans) in by_office {
        let (store, limit, workers) = (store.clone(), limit.clone(), workers.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("the semaphore is never closed");
            let mut planned = Vec::with_capacity(plans.len());
            for (index, plan) in plans {
                let counts = store.plan_event(&plan).await?;
                if let Some(workers) = workers.as_ref().filter(|_| counts.messages > 0) {
                    workers.notify_one();
                    store.notify_workers().await?;
                }
                tracing::debug!(
                    office = %plan.trigger.office(),
                    messages = counts.messages,
                    unreachable = counts.unreachable,
                    "planned notice event"
                );
                planned.push((index, PlannedEvent::new(&plan.trigger, counts)));
            }
            Ok::<_, StoreError>(planned)
        });
    }
    let mut planned = Vec::new();
    while let Some(done) = tasks.join_next().await {
        planned.extend(done.expect("a planning task never panics")?);
    }
    planned.sort_by_key(|(index, _)| *index);
    Ok(planned.into_iter().map(|(_, event)| event).collect())
}

fn event_plan(
    config: &PlannerConfig,
    offices: &OfficeDirectory,
    trigger: Trigger,
    audience: Audience,
    now: DateTime<Utc>,
) -> EventPlan {
    let office = trigger.office();
    let quiet_until = offices
        .office(office)
        .and_then(|known| config.quiet_hours_of(office).ends_after(now, known.timezone));
    EventPlan {
        trigger,
        audience,
        now,
        quiet_until,
        quiet_margin: Duration::minutes(i64::from(config.quiet_margin_minutes)),
        channels: config.channels.clone(),
    }
}

/// The status update due at an office whose incident opened at `opened_at`: its local day, and
/// the next local day, whose appointments it is for. Due once the local time passes the update
/// time, from the day after the incident opened (that day's applicants were just told).
pub fn status_update_due(
    config: &PlannerConfig,
    zone: TimeZone,
    opened_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(chrono::NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let local = now.with_timezone(&zone.0);
    let today = local.date_naive();
    if local.time() < config.status_update_time || opened_at.with_timezone(&zone.0).date_naive() >= today {
        return None;
    }
    let midnight = |day: chrono::NaiveDate| {
        zone.0
            .from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map(|start| start.with_timezone(&Utc))
    };
    let tomorrow = today.succ_opt()?;
    Some((today, midnight(tomorrow)?, midnight(tomorrow.succ_opt()?)?))
}
