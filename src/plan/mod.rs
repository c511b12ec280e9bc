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
mod quiet;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub use audience::{restoration_kind, rules, Rule};
pub use quiet::QuietHours;

use crate::domain::{Channel, OfficeCode};
use crate::store::{Audience, EventPlan, PlannedCounts, SettledChange, Store, StoreError};

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
        }
    }
}

impl PlannerConfig {
    /// Checks what serde cannot: channels listed once each, office codes well formed.
    pub fn validate(&self) -> Result<(), String> {
        if self.channels.is_empty() {
            return Err(
                "planner.channels is empty; list at least one of whatsapp, sms, email".into(),
            );
        }
        for (at, channel) in self.channels.iter().enumerate() {
            if self.channels[..at].contains(channel) {
                return Err(format!("planner.channels lists {channel} twice"));
            }
        }
        for code in self.office_quiet_hours.keys() {
            code.parse::<OfficeCode>()
                .map_err(|err| format!("planner.office_quiet_hours: {err}"))?;
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

/// One planned event.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedEvent {
    pub office: String,
    pub service: String,
    pub from: String,
    pub to: String,
    /// The state change the event settles.
    pub change_id: i64,
    #[serde(flatten)]
    pub counts: PlannedCounts,
}

/// Who the audience of a settled change is: applicants hear when a service starts hurting their
/// bookings and when it stops; a change within the same disruption (degraded ↔ unavailable
/// printing) tells nobody again.
pub fn audience_of(change: &SettledChange, now: DateTime<Utc>, horizon: Duration) -> Audience {
    let before = rules(change.service, change.from);
    let after = rules(change.service, change.to);
    match (before.is_empty(), after.is_empty()) {
        (true, false) => {
            let window_end = change
                .expected_at
                .filter(|expected| *expected > now)
                .unwrap_or(now + horizon);
            Audience::Bookings {
                rules: after,
                window_end,
            }
        }
        (false, true) => Audience::ToldOfDisruption {
            kind: restoration_kind(change.service),
        },
        _ => Audience::Nobody,
    }
}

/// Plans every change settled by `now`. Safe to run again at any time, from any number of
/// workers: a replayed event plans nothing new.
pub async fn plan_once(
    store: &Store,
    config: &PlannerConfig,
    now: DateTime<Utc>,
) -> Result<Vec<PlannedEvent>, StoreError> {
    let settle = Duration::seconds(i64::try_from(config.settle_seconds).unwrap_or(i64::MAX / 2));
    let settled = store.settled_changes(now - settle).await?;
    if settled.is_empty() {
        return Ok(Vec::new());
    }
    let offices = store.office_directory().await?;
    let horizon = Duration::days(i64::from(config.horizon_days));
    let mut planned = Vec::with_capacity(settled.len());
    for change in settled {
        let quiet_until = offices.office(&change.office).and_then(|office| {
            config
                .quiet_hours_of(&change.office)
                .ends_after(now, office.timezone)
        });
        let plan = EventPlan {
            audience: audience_of(&change, now, horizon),
            change,
            now,
            quiet_until,
            quiet_margin: Duration::minutes(i64::from(config.quiet_margin_minutes)),
            channels: config.channels.clone(),
        };
        let counts = store.plan_event(&plan).await?;
        tracing::info!(
            office = %plan.change.office,
            service = %plan.change.service,
            to = %plan.change.to,
            messages = counts.messages,
            unreachable = counts.unreachable,
            "planned notice event"
        );
        planned.push(PlannedEvent {
            office: plan.change.office.to_string(),
            service: plan.change.service.to_string(),
            from: plan.change.from.to_string(),
            to: plan.change.to.to_string(),
            change_id: plan.change.change_id,
            counts,
        });
    }
    Ok(planned)
}
