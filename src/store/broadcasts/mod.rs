//! Manual broadcasts: stored with their audience filter and their place in the lifecycle
//! ([`lifecycle`]), planned office by office with the same set-based statements as notice events
//! ([`planning`]), previewed without writing ([`audience`]).

mod audience;
mod filter;
mod lifecycle;
mod planning;

use chrono::{DateTime, Utc};

pub use audience::{AudienceGroup, AudienceQuery};
pub use filter::BookingFilter;
pub use lifecycle::{StepAudit, Transition, Transitioned};
pub use planning::{BroadcastCounts, BroadcastOfficePlan};

use super::{epoch, from_epoch, on_reader, on_writer, parse_stored, AuditLog, Store, StoreError, WritePool};
use crate::audit::AuditEntry;
use crate::domain::{text_enum, Channel};
use crate::render::NoticeKind;

text_enum! {
    /// Where a broadcast is in its life: staff draft and submit it; a big one waits, submitted,
    /// for a second person; scheduled ones are planned when their time comes.
    BroadcastStatus, "broadcast status" {
        Draft => "draft",
        Submitted => "submitted",
        Scheduled => "scheduled",
        Planned => "planned",
        Rejected => "rejected",
        Cancelled => "cancelled",
    }
}

/// A broadcast as staff create it.
#[derive(Debug, Clone)]
pub struct NewBroadcast {
    pub title: String,
    /// The audience filter as staff gave it, as JSON, for `broadcast show`.
    pub filter_json: String,
    pub kind: NoticeKind,
    pub text_id: Option<String>,
    pub text_en: Option<String>,
    pub sender: Option<String>,
    /// Pickup hours as JSON (`ready_for_pickup`).
    pub pickup_json: Option<String>,
    pub channels: Vec<Channel>,
    pub send_at: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A stored broadcast.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BroadcastRecord {
    pub id: i64,
    pub title: String,
    pub filter_json: String,
    pub kind: NoticeKind,
    pub text_id: Option<String>,
    pub text_en: Option<String>,
    pub sender: Option<String>,
    pub pickup_json: Option<String>,
    pub channels: Vec<Channel>,
    pub status: BroadcastStatus,
    pub send_at: DateTime<Utc>,
    /// The author.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub planned_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Applicants counted when it was submitted.
    pub reach: Option<u64>,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// The second person; `None` when none was needed (or the CLI sent it).
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub cancelled_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct BroadcastRow {
    id: i64,
    title: String,
    filter: String,
    kind: String,
    text_id: Option<String>,
    text_en: Option<String>,
    sender: Option<String>,
    pickup_hours: Option<String>,
    channels: String,
    status: String,
    send_at: i64,
    created_by: String,
    created_at: i64,
    planned_at: Option<i64>,
    cancelled_at: Option<i64>,
    reach: Option<i64>,
    submitted_by: Option<String>,
    submitted_at: Option<i64>,
    approved_by: Option<String>,
    approved_at: Option<i64>,
    rejected_by: Option<String>,
    rejected_at: Option<i64>,
    rejection_reason: Option<String>,
    cancelled_by: Option<String>,
}

const BROADCAST_COLUMNS: &str = "id, title, filter, kind, text_id, text_en, sender, pickup_hours, channels, \
     status, send_at, created_by, created_at, planned_at, cancelled_at, reach, submitted_by, submitted_at, \
     approved_by, approved_at, rejected_by, rejected_at, rejection_reason, cancelled_by";

fn broadcast_record(row: BroadcastRow) -> Result<BroadcastRecord, StoreError> {
    let instant = |value: Option<i64>| value.map(from_epoch).transpose();
    Ok(BroadcastRecord {
        id: row.id,
        title: row.title,
        filter_json: row.filter,
        kind: parse_stored("broadcasts.kind", &row.kind)?,
        text_id: row.text_id,
        text_en: row.text_en,
        sender: row.sender,
        pickup_json: row.pickup_hours,
        channels: row
            .channels
            .split(',')
            .map(|channel| parse_stored("broadcasts.channels", channel))
            .collect::<Result<_, _>>()?,
        status: parse_stored("broadcasts.status", &row.status)?,
        send_at: from_epoch(row.send_at)?,
        created_by: row.created_by,
        created_at: from_epoch(row.created_at)?,
        planned_at: instant(row.planned_at)?,
        cancelled_at: instant(row.cancelled_at)?,
        reach: row.reach.map(|reach| reach.max(0) as u64),
        submitted_by: row.submitted_by,
        submitted_at: instant(row.submitted_at)?,
        approved_by: row.approved_by,
        approved_at: instant(row.approved_at)?,
        rejected_by: row.rejected_by,
        rejected_at: instant(row.rejected_at)?,
        rejection_reason: row.rejection_reason,
        cancelled_by: row.cancelled_by,
    })
}

impl Store {
    /// Stores a broadcast as a draft, or scheduled for its `send_at` (the planner plans it when
    /// that comes), with the audit row `audit` makes of its id, in one transaction.
    pub async fn create_broadcast(
        &self,
        broadcast: &NewBroadcast,
        status: BroadcastStatus,
        audit: Option<&(dyn Fn(i64) -> AuditEntry + Sync)>,
    ) -> Result<i64, StoreError> {
        let channels: Vec<&str> = broadcast.channels.iter().map(|channel| channel.as_str()).collect();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO broadcasts (title, filter, kind, text_id, text_en, sender, pickup_hours, channels,
                                         status, send_at, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 RETURNING id",
            )
            .bind(&broadcast.title)
            .bind(&broadcast.filter_json)
            .bind(broadcast.kind.as_str())
            .bind(&broadcast.text_id)
            .bind(&broadcast.text_en)
            .bind(&broadcast.sender)
            .bind(&broadcast.pickup_json)
            .bind(channels.join(","))
            .bind(status.as_str())
            .bind(epoch(broadcast.send_at))
            .bind(&broadcast.created_by)
            .bind(epoch(broadcast.created_at))
            .fetch_one(&mut *tx)
            .await?;
            if let Some(audit) = audit {
                tx.append_audit(audit(id)).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn broadcast(&self, id: i64) -> Result<Option<BroadcastRecord>, StoreError> {
        let row: Option<BroadcastRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(broadcast_record).transpose()
    }

    /// Every broadcast, newest first.
    pub async fn broadcasts(&self) -> Result<Vec<BroadcastRecord>, StoreError> {
        self.broadcasts_before(None, i64::MAX).await
    }

    /// At most `limit` broadcasts with ids below `before` (all when `None`), newest first: a page
    /// of a list that reads on from the last id of the page before.
    pub async fn broadcasts_before(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<BroadcastRecord>, StoreError> {
        let rows: Vec<BroadcastRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id < $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(broadcast_record).collect()
    }

    /// Scheduled broadcasts whose time has come, oldest first. Drafts, broadcasts waiting for
    /// approval and rejected ones are never due.
    pub async fn due_broadcasts(&self, now: DateTime<Utc>) -> Result<Vec<BroadcastRecord>, StoreError> {
        let rows: Vec<BroadcastRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {BROADCAST_COLUMNS} FROM broadcasts
                 WHERE status = 'scheduled' AND send_at <= $1 ORDER BY send_at, id"
            ))
            .bind(epoch(now))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(broadcast_record).collect()
    }

    /// A broadcast's messages counted by status and channel (`None`: no usable channel).
    pub async fn broadcast_message_counts(
        &self,
        id: i64,
    ) -> Result<Vec<(String, Option<Channel>, u64)>, StoreError> {
        let rows: Vec<(String, Option<String>, i64)> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT status, channel, COUNT(*) FROM messages WHERE broadcast_id = $1
                 GROUP BY status, channel ORDER BY status, channel",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(status, channel, count)| {
                let channel =
                    channel.map(|channel| parse_stored("messages.channel", &channel)).transpose()?;
                Ok((status, channel, count as u64))
            })
            .collect()
    }
}
