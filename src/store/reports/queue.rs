//! The queue at a glance: messages by status and channel, what is due, what waits.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{optional, MessageStatus};
use crate::domain::Channel;
use crate::store::{epoch, from_epoch, on_reader, parse_stored, Store, StoreError};

/// The queue at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStatus {
    /// Every status in lifecycle order, zeros included.
    pub by_status: Vec<(MessageStatus, u64)>,
    /// The (channel, status) pairs that have messages, by status then channel; `None`: no usable
    /// channel.
    pub by_channel_status: Vec<(Option<Channel>, MessageStatus, u64)>,
    /// Queued and due: a worker may send them now.
    pub due_now: u64,
    /// How long the longest-due queued message has been due: a growing age means the workers
    /// are behind (or stopped).
    pub oldest_due_age: Option<chrono::Duration>,
    /// Queued but held: quiet hours or a retry's backoff.
    pub waiting: u64,
    /// When the next held message becomes due.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Claimed by a worker and being handed to a provider.
    pub sending: u64,
    /// Of those, claims whose lease has run out: their worker stopped mid-send.
    pub expired_leases: u64,
}

impl QueueStatus {
    /// What `kabar status --json` prints and `GET /api/v1/queue` answers.
    pub fn to_json(&self) -> serde_json::Value {
        let rfc3339 = |instant: DateTime<Utc>| instant.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let by_status: serde_json::Map<String, serde_json::Value> =
            self.by_status.iter().map(|(status, count)| (status.to_string(), (*count).into())).collect();
        let by_channel: Vec<serde_json::Value> = self
            .by_channel_status
            .iter()
            .map(|(channel, status, count)| {
                serde_json::json!({"channel": channel, "status": status, "messages": count})
            })
            .collect();
        serde_json::json!({
            "by_status": by_status,
            "by_channel": by_channel,
            "queue": {
                "depth": self.depth(),
                "due_now": self.due_now,
                "oldest_due_seconds": self.oldest_due_age.map(|age| age.num_seconds()),
                "waiting": self.waiting,
                "next_due_at": self.next_due_at.map(rfc3339),
                "sending": self.sending,
                "expired_leases": self.expired_leases,
            },
        })
    }

    /// Queued messages, due or held.
    pub fn depth(&self) -> u64 {
        self.due_now + self.waiting
    }
}

impl Store {
    /// The queue as of `now`: messages by status and by channel, what is due, what waits, and
    /// what is being sent.
    pub async fn queue_status(&self, now: DateTime<Utc>) -> Result<QueueStatus, StoreError> {
        type Queue = (i64, i64, Option<i64>, Option<i64>, i64);
        let (counts, queue): (Vec<(Option<String>, String, i64)>, Queue) = on_reader!(self, pool => {
            let counts = sqlx::query_as("SELECT channel, status, COUNT(*) FROM messages GROUP BY channel, status")
                .fetch_all(pool)
                .await?;
            // The index on (status, not_before) serves this without reading the table.
            let queue = sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN status = 'queued' AND not_before <= $1 THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN status = 'queued' AND not_before > $1 THEN 1 ELSE 0 END), 0),
                        MIN(CASE WHEN status = 'queued' AND not_before <= $1 THEN not_before END),
                        MIN(CASE WHEN status = 'queued' AND not_before > $1 THEN not_before END),
                        COALESCE(SUM(CASE WHEN status = 'sending' AND not_before <= $1 THEN 1 ELSE 0 END), 0)
                 FROM messages WHERE status IN ('queued', 'sending')",
            )
            .bind(epoch(now))
            .fetch_one(pool)
            .await?;
            (counts, queue)
        });
        let mut by_status: BTreeMap<MessageStatus, u64> =
            MessageStatus::ALL.iter().map(|status| (*status, 0)).collect();
        let mut by_channel_status = Vec::with_capacity(counts.len());
        for (channel, status, count) in counts {
            let status: MessageStatus = parse_stored("messages.status", &status)?;
            let count = u64::try_from(count).unwrap_or_default();
            *by_status.entry(status).or_default() += count;
            by_channel_status.push((optional("messages.channel", channel)?, status, count));
        }
        by_channel_status.sort_by_key(|(channel, status, _)| (*status, *channel));
        let (due_now, waiting, oldest_due, next_due, expired_leases) = queue;
        let count = |value: i64| u64::try_from(value).unwrap_or_default();
        Ok(QueueStatus {
            sending: by_status[&MessageStatus::Sending],
            by_status: by_status.into_iter().collect(),
            by_channel_status,
            due_now: count(due_now),
            oldest_due_age: oldest_due.map(|at| Ok::<_, StoreError>(now - from_epoch(at)?)).transpose()?,
            waiting: count(waiting),
            next_due_at: next_due.map(from_epoch).transpose()?,
            expired_leases: count(expired_leases),
        })
    }
}
