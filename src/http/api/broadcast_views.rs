//! What the broadcast routes read and answer: the request as staff give it (parsed at the edge
//! into the filter's and content's types), the preview with its cost estimate, a broadcast with
//! its lifecycle and delivery progress, and how the broadcast services' refusals become problems.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::domain::{format_short, Channel, OfficeCode, TimeZone, TypedTime};
use crate::plan::broadcast::{
    BroadcastContent, BroadcastError, BroadcastFilter, BroadcastRequest, FilterError, Preview,
};
use crate::plan::notice::StoredPickup;
use crate::render::{Localized, NoticeKind};
use crate::staff::CostsConfig;
use crate::store::{BroadcastRecord, BroadcastStatus, OfficeDirectory};

/// A broadcast as staff write it (for a preview, `title` may be left out).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastBody {
    /// A name for staff, e.g. "Tangerang weekend pickup".
    #[serde(default)]
    pub title: Option<String>,
    /// Who it is for: `offices` (`"TNG"`, `"TNG,CGK"`, `"region:Banten"`, `"all"`), and optionally
    /// `services`, `stages`, `products`, `express`, `appointment_from`/`_to`, `applied_from`/`_to`
    /// (days, `YYYY-MM-DD`).
    #[schema(value_type = Object, example = json!({"offices": "TNG", "stages": ["ready"]}))]
    pub filter: BroadcastFilter,
    /// A catalogue notice to send, e.g. `ready_for_pickup` (instead of `text`).
    #[schema(value_type = Option<String>, example = "ready_for_pickup")]
    pub template: Option<NoticeKind>,
    /// Staff-written text in Indonesian.
    pub text: Option<String>,
    /// Its English version, for applicants who chose English.
    pub text_en: Option<String>,
    /// Who signs the text (default: the office).
    pub sender: Option<String>,
    /// Pickup hours for `ready_for_pickup`: `hours_id`, `hours_en`, `extra_id`, `extra_en`.
    #[schema(value_type = Option<Object>)]
    pub pickup: Option<StoredPickup>,
    /// Channels in order of preference (default: the planner's).
    #[schema(value_type = Option<Vec<String>>, example = json!(["whatsapp", "sms"]))]
    pub channels: Option<Vec<Channel>>,
    /// When to send: RFC 3339, or `YYYY-MM-DD HH:MM` in the offices' local time (offices in one
    /// zone only). Absent: as soon as it is scheduled.
    pub send_at: Option<String>,
}

impl BroadcastBody {
    /// The request the broadcast services take, by `actor`.
    pub fn request(
        self,
        actor: String,
        offices: &OfficeDirectory,
        now: DateTime<Utc>,
    ) -> Result<BroadcastRequest, ApiError> {
        let content = match (self.template, self.text) {
            (Some(NoticeKind::Broadcast), _) | (None, None) => {
                return Err(ApiError::invalid(
                    "text",
                    "say what to send: `text` (staff-written) or `template` (a catalogue notice)",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid("template", "give `template` or `text`, not both"))
            }
            (Some(kind), None) => {
                if self.text_en.is_some() || self.sender.is_some() {
                    return Err(ApiError::invalid("text_en", "`text_en` and `sender` go with `text`"));
                }
                BroadcastContent::Template { kind, pickup: self.pickup }
            }
            (None, Some(text)) => {
                if self.pickup.is_some() {
                    return Err(ApiError::invalid("pickup", "`pickup` goes with template ready_for_pickup"));
                }
                BroadcastContent::Text { text: Localized { id: text, en: self.text_en }, sender: self.sender }
            }
        };
        let send_at = match &self.send_at {
            Some(text) => Some(send_at(text, &self.filter, offices, now)?),
            None => None,
        };
        Ok(BroadcastRequest {
            title: self.title.unwrap_or_else(|| "preview".into()),
            filter: self.filter,
            content,
            channels: self.channels,
            send_at,
            actor,
        })
    }
}

/// `send_at` as an instant: a wall-clock time is read in the zone of the broadcast's offices.
fn send_at(
    text: &str,
    filter: &BroadcastFilter,
    offices: &OfficeDirectory,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let invalid = |detail: String| ApiError::invalid("send_at", detail);
    let typed: TypedTime = text.parse().map_err(|err: crate::domain::ParseError| invalid(err.0))?;
    let at = if typed.is_local() {
        let offices = filter.offices(offices).map_err(BroadcastError::from)?;
        let mut zones: Vec<TimeZone> = offices.iter().map(|office| office.timezone).collect();
        zones.sort_by_key(|zone| zone.name());
        zones.dedup();
        match zones.as_slice() {
            [zone] => typed.in_zone(*zone).map_err(|err| invalid(err.0))?,
            _ => {
                return Err(invalid(format!(
                    "{text:?} has no offset and the offices are in several time zones; write it with \
                     one, e.g. 2024-06-29T08:00:00+07:00 for WIB"
                )))
            }
        }
    } else {
        typed.in_zone(crate::domain::DEFAULT_ZONE).map_err(|err| invalid(err.0))?
    };
    if at < now - chrono::Duration::minutes(1) {
        return Err(invalid(format!(
            "{text:?} is in the past; leave send_at out to send as soon as possible"
        )));
    }
    Ok(at)
}

/// The cost of a send by `[costs]`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CostEstimate {
    #[schema(example = "IDR")]
    pub currency: String,
    pub total: f64,
    pub by_channel: BTreeMap<String, f64>,
}

impl CostEstimate {
    pub fn of(costs: &CostsConfig, channels: &BTreeMap<Channel, u64>, sms_segments: u64) -> CostEstimate {
        let mut by_channel = BTreeMap::new();
        for (channel, count) in channels {
            let cost = match channel {
                Channel::Sms => sms_segments as f64 * costs.sms_segment,
                Channel::Whatsapp => *count as f64 * costs.whatsapp_message,
                Channel::Email => *count as f64 * costs.email,
            };
            by_channel.insert(channel.to_string(), cost);
        }
        CostEstimate { currency: costs.currency.clone(), total: by_channel.values().sum(), by_channel }
    }
}

/// What sending would do, computed without writing anything.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewAnswer {
    pub offices: usize,
    /// Messages it would plan: one per applicant and office.
    pub applicants: u64,
    /// Applicants by the channel each would get.
    pub by_channel: BTreeMap<String, u64>,
    /// Applicants with no usable channel (they go on the call list).
    pub unreachable: u64,
    pub sms_segments: u64,
    pub estimated_cost: CostEstimate,
    /// Whether a supervisor who is not its author must approve it before it is scheduled.
    pub needs_approval: bool,
    /// A rendering per channel used, in Indonesian and in English.
    #[schema(value_type = Vec<Object>)]
    pub samples: Vec<crate::plan::broadcast::Sample>,
}

impl PreviewAnswer {
    pub fn of(preview: Preview, costs: &CostsConfig, threshold: u64) -> PreviewAnswer {
        PreviewAnswer {
            estimated_cost: CostEstimate::of(costs, &preview.channels, preview.sms_segments),
            needs_approval: preview.messages > threshold || preview.offices > 1,
            offices: preview.offices,
            applicants: preview.messages,
            by_channel: preview
                .channels
                .iter()
                .map(|(channel, count)| (channel.to_string(), *count))
                .collect(),
            unreachable: preview.unreachable,
            sms_segments: preview.sms_segments,
            samples: preview.samples,
        }
    }
}

/// Messages of a broadcast by status, on one channel.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Progress {
    /// `queued`, `sending`, `sent`, `delivered`, `read`, `failed`, `cancelled`, … by channel;
    /// `none` for applicants with no usable channel.
    pub by_channel: BTreeMap<String, BTreeMap<String, u64>>,
    pub total: BTreeMap<String, u64>,
}

impl Progress {
    pub fn of(counts: Vec<(String, Option<Channel>, u64)>) -> Progress {
        let mut progress = Progress::default();
        for (status, channel, count) in counts {
            let channel = channel.map_or_else(|| "none".to_owned(), |channel| channel.to_string());
            *progress.by_channel.entry(channel).or_default().entry(status.clone()).or_default() += count;
            *progress.total.entry(status).or_default() += count;
        }
        progress
    }
}

/// A broadcast, where it is in its life, and (for one broadcast) how its delivery goes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BroadcastView {
    pub id: i64,
    pub title: String,
    /// draft, submitted (waiting for approval), scheduled, planned, rejected or cancelled.
    #[schema(example = "submitted")]
    pub status: String,
    /// Submitted and waiting for a supervisor who is not its author.
    pub awaiting_approval: bool,
    #[schema(example = "ready_for_pickup")]
    pub kind: String,
    pub offices: Vec<String>,
    #[schema(value_type = Object)]
    pub filter: serde_json::Value,
    pub text: Option<String>,
    pub text_en: Option<String>,
    pub sender: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub pickup: Option<serde_json::Value>,
    pub channels: Vec<String>,
    pub send_at: DateTime<Utc>,
    /// `send_at` in each zone of its offices, e.g. `2024-06-29 08:00 WIB`.
    pub send_at_local: Vec<String>,
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// Applicants counted when it was submitted.
    pub reach: Option<u64>,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub planned_at: Option<DateTime<Utc>>,
    /// Only for one broadcast (`GET /broadcasts/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

impl BroadcastView {
    pub fn of(record: BroadcastRecord, offices: &[OfficeCode], directory: &OfficeDirectory) -> BroadcastView {
        let mut zones: Vec<TimeZone> =
            offices.iter().filter_map(|code| directory.office(code)).map(|office| office.timezone).collect();
        zones.sort_by_key(|zone| zone.name());
        zones.dedup();
        BroadcastView {
            id: record.id,
            title: record.title,
            status: record.status.to_string(),
            awaiting_approval: record.status == BroadcastStatus::Submitted,
            kind: record.kind.to_string(),
            offices: offices.iter().map(ToString::to_string).collect(),
            filter: serde_json::from_str(&record.filter_json).unwrap_or(serde_json::Value::Null),
            text: record.text_id,
            text_en: record.text_en,
            sender: record.sender,
            pickup: record.pickup_json.and_then(|pickup| serde_json::from_str(&pickup).ok()),
            channels: record.channels.iter().map(ToString::to_string).collect(),
            send_at: record.send_at,
            send_at_local: zones.into_iter().map(|zone| format_short(record.send_at, zone)).collect(),
            author: record.created_by,
            created_at: record.created_at,
            reach: record.reach,
            submitted_by: record.submitted_by,
            submitted_at: record.submitted_at,
            approved_by: record.approved_by,
            approved_at: record.approved_at,
            rejected_by: record.rejected_by,
            rejected_at: record.rejected_at,
            rejection_reason: record.rejection_reason,
            cancelled_by: record.cancelled_by,
            cancelled_at: record.cancelled_at,
            planned_at: record.planned_at,
            progress: None,
        }
    }
}

/// `POST /broadcasts/{id}/reject`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why, for its author.
    #[schema(example = "Jam pengambilan salah: Sabtu buka 08.00")]
    pub reason: String,
}

/// A cancelled broadcast and the messages stopped.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CancelAnswer {
    pub broadcast: BroadcastView,
    /// Messages not yet handed to a provider that were cancelled.
    pub messages_cancelled: u64,
}

impl From<BroadcastError> for ApiError {
    fn from(err: BroadcastError) -> Self {
        let detail = err.to_string();
        match err {
            BroadcastError::Store(err) => err.into(),
            BroadcastError::Audience(FilterError::Invalid { field, .. }) => {
                ApiError::invalid(&format!("filter.{field}"), detail.replace("--", ""))
            }
            BroadcastError::Audience(_) => ApiError::invalid("filter.offices", detail),
            BroadcastError::Field { field, .. } => ApiError::invalid(field, detail.replace("--", "")),
            BroadcastError::Filter(_) => ApiError::Invalid { field: None, detail },
            BroadcastError::Render { .. } | BroadcastError::Notice { .. } => {
                ApiError::invalid("template", detail)
            }
            BroadcastError::UnknownBroadcast(_) => {
                ApiError::NotFound(detail.replace("; see `kabar broadcast list`", ""))
            }
            BroadcastError::WrongStatus { .. } => ApiError::Conflict(detail),
            BroadcastError::OwnBroadcast(_) => ApiError::Forbidden(detail),
        }
    }
}
