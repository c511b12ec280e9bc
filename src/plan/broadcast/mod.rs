//! Manual broadcasts: staff pick an audience with a filter, a catalogue notice or their own text,
//! and channels; they preview ([`preview`]: counts per channel, who cannot be reached, a sample
//! per channel and language, the SMS segments it costs), then send now or at a set time, and may
//! cancel.
//!
//! Through the staff API a broadcast is a draft first, then submitted; one reaching more than
//! `[staff] approval_threshold` applicants or more than one office waits for a supervisor who is
//! not its author ([`lifecycle`]). `kabar broadcast send` schedules at once: whoever runs the CLI
//! holds the database and could bypass any rule, so the audit log says no second person approved.
//!
//! A scheduled broadcast is planned by the planner when its time comes, office by office, with
//! the same quiet hours and the same one-message-per-applicant rule as outage notices.

mod lifecycle;
mod preview;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

pub use super::filter::{BroadcastFilter, FilterError};
pub use lifecycle::{
    approve, broadcast_offices, cancel, cancel_by, create, create_by, draft, reach, reject, submit, Reach,
};
pub use preview::{preview, Preview, Sample};

use super::notice::{NoticeError, StoredPickup};
use super::PlannerConfig;
use crate::domain::{Channel, Language};
use crate::render::{Localized, NoticeKind, RenderError};
use crate::store::{BroadcastCounts, BroadcastOfficePlan, BroadcastStatus, NewBroadcast, Store, StoreError};

/// What a broadcast says.
#[derive(Debug, Clone, PartialEq)]
pub enum BroadcastContent {
    /// A catalogue notice, e.g. `ready_for_pickup` with the extra weekend hours.
    Template { kind: NoticeKind, pickup: Option<StoredPickup> },
    /// Staff-written text (the `broadcast` notice), Indonesian with an optional English version.
    Text { text: Localized, sender: Option<String> },
}

/// A broadcast as staff ask for it.
#[derive(Debug, Clone)]
pub struct BroadcastRequest {
    pub title: String,
    pub filter: BroadcastFilter,
    pub content: BroadcastContent,
    /// In preference order; `None`: the planner's order.
    pub channels: Option<Vec<Channel>>,
    /// `None`: now.
    pub send_at: Option<DateTime<Utc>>,
    pub actor: String,
}

/// Errors of broadcasts, each saying what to change.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    #[error(transparent)]
    Audience(#[from] FilterError),
    #[error("{0}")]
    Filter(String),
    /// A field of the broadcast itself (title, text, sender) is wrong.
    #[error("{message}")]
    Field { field: &'static str, message: String },
    #[error("broadcast {id} is {status}: {what}")]
    WrongStatus { id: i64, status: BroadcastStatus, what: &'static str },
    #[error(
        "broadcast {0} is yours: a supervisor who is not its author must approve it (four-eyes rule); \
         ask another supervisor for its offices"
    )]
    OwnBroadcast(i64),
    #[error("the sample for {channel} in {language} cannot be rendered: {source}")]
    Render {
        channel: Channel,
        language: Language,
        #[source]
        source: RenderError,
    },
    #[error("the sample for {channel} in {language} cannot be put together: {source}")]
    Notice {
        channel: Channel,
        language: Language,
        #[source]
        source: NoticeError,
    },
    #[error("no broadcast has id {0}; see `kabar broadcast list`")]
    UnknownBroadcast(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What planning a due broadcast wrote.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedBroadcast {
    pub broadcast_id: i64,
    pub offices: usize,
    #[serde(flatten)]
    pub counts: BroadcastCounts,
}

/// The longest broadcast text, title and sender kabar accepts (WhatsApp allows 1,024 characters
/// for the whole message).
pub const MAX_TEXT: usize = 700;
pub const MAX_TITLE: usize = 200;
pub const MAX_SENDER: usize = 100;

impl BroadcastRequest {
    /// Refuses staff text with control characters (line breaks and tabs are allowed in the
    /// message itself) or beyond the length limits.
    pub fn check_text(&self) -> Result<(), BroadcastError> {
        use crate::domain::{check_length, check_plain_text};
        let field = |name: &'static str, err: crate::domain::ParseError| BroadcastError::Field {
            // The API's field: the flag without its dashes, `text_en` for `--text-en`.
            field: match name {
                "--text-en" => "text_en",
                other => other.trim_start_matches('-'),
            },
            message: format!("{name}: {err}"),
        };
        check_plain_text(&self.title).map_err(|err| field("--title", err))?;
        check_length(&self.title, MAX_TITLE).map_err(|err| field("--title", err))?;
        if let BroadcastContent::Text { text, sender } = &self.content {
            for (name, value) in [("--text", Some(&text.id)), ("--text-en", text.en.as_ref())] {
                let Some(value) = value else { continue };
                // A message may have paragraphs; no other control character belongs in it.
                check_plain_text(&value.replace(['\n', '\r', '\t'], " ")).map_err(|err| field(name, err))?;
                check_length(value, MAX_TEXT).map_err(|err| field(name, err))?;
            }
            if let Some(sender) = sender {
                check_plain_text(sender).map_err(|err| field("--sender", err))?;
                check_length(sender, MAX_SENDER).map_err(|err| field("--sender", err))?;
            }
        }
        Ok(())
    }

    fn kind(&self) -> NoticeKind {
        match &self.content {
            BroadcastContent::Template { kind, .. } => *kind,
            BroadcastContent::Text { .. } => NoticeKind::Broadcast,
        }
    }

    fn channels(&self, config: &PlannerConfig) -> Vec<Channel> {
        self.channels.clone().unwrap_or_else(|| config.channels.clone())
    }

    /// The record this request would store, as the planner and the renderer read it.
    fn record(&self, config: &PlannerConfig, now: DateTime<Utc>) -> NewBroadcast {
        let (text_id, text_en, sender, pickup) = match &self.content {
            BroadcastContent::Text { text, sender } => {
                (Some(text.id.clone()), text.en.clone(), sender.clone(), None)
            }
            BroadcastContent::Template { pickup, .. } => (None, None, None, pickup.as_ref()),
        };
        NewBroadcast {
            title: self.title.clone(),
            filter_json: serde_json::to_string(&self.filter).expect("a filter serialises"),
            kind: self.kind(),
            text_id,
            text_en,
            sender,
            pickup_json: pickup.map(|pickup| serde_json::to_string(pickup).expect("pickup hours serialise")),
            channels: self.channels(config),
            send_at: self.send_at.unwrap_or(now),
            created_by: self.actor.clone(),
            created_at: now,
        }
    }
}

fn horizon_end(config: &PlannerConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(i64::from(config.horizon_days))
}

/// Plans every broadcast whose time has come, office by office. Safe to run again: a replay plans
/// nothing new, and a broadcast cancelled meanwhile plans nothing more.
pub async fn plan_due(
    store: &Store,
    config: &PlannerConfig,
    now: DateTime<Utc>,
) -> Result<Vec<PlannedBroadcast>, StoreError> {
    let due = store.due_broadcasts(now).await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let directory = store.office_directory().await?;
    let mut planned = Vec::new();
    for broadcast in due {
        let filter: BroadcastFilter = serde_json::from_str(&broadcast.filter_json)
            .map_err(|err| StoreError::Corrupt(format!("broadcast {} filter: {err}", broadcast.id)))?;
        let offices = filter
            .offices(&directory)
            .map_err(|err| StoreError::Corrupt(format!("broadcast {}: {err}", broadcast.id)))?;
        let mut counts = BroadcastCounts::default();
        for office in &offices {
            let quiet_until = config.quiet_hours_of(&office.code).ends_after(now, office.timezone);
            let office_counts = store
                .plan_broadcast_office(&BroadcastOfficePlan {
                    broadcast_id: broadcast.id,
                    office: office.code.clone(),
                    kind: broadcast.kind,
                    filter: filter.at_office(office),
                    now,
                    horizon_end: horizon_end(config, now),
                    quiet_until,
                    quiet_margin: Duration::minutes(i64::from(config.quiet_margin_minutes)),
                    channels: broadcast.channels.clone(),
                })
                .await?;
            counts.messages += office_counts.messages;
            counts.unreachable += office_counts.unreachable;
            counts.deferred += office_counts.deferred;
        }
        store.finish_broadcast(broadcast.id, now).await?;
        planned.push(PlannedBroadcast { broadcast_id: broadcast.id, offices: offices.len(), counts });
    }
    Ok(planned)
}
