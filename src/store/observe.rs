//! What `/metrics` and `/readyz` ask the store on every scrape: a few small queries over indexed
//! columns (the queue's `(status, not_before)` index, the service state board, due broadcasts),
//! never a scan of every message ever sent.

use chrono::{DateTime, Utc};

use super::{epoch, on_reader, parse_stored, Db, Store, StoreError};
use crate::domain::Channel;
use crate::store::MessageStatus;

/// The queue and the planner at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGauges {
    /// Queued and sending messages, by channel: every pair, zeros included, so a dashboard
    /// line drops to 0 instead of vanishing.
    pub messages: Vec<(MessageStatus, Channel, u64)>,
    /// Queued and due now: a worker may send them.
    pub due: u64,
    /// How long the longest-due queued message has been due (0 when none is due).
    pub oldest_due_seconds: i64,
    /// Claims whose lease ran out: their worker stopped mid-send.
    pub expired_leases: u64,
    /// How long the oldest piece of planning work has waited since it became plannable: a state
    /// change settled but not planned, or a broadcast due but not planned (0 when none waits).
    pub planner_lag_seconds: i64,
}

/// Whether the database schema is the one this build of kabar expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// `sqlite` or `postgres`.
    pub engine: &'static str,
    /// The newest migration this build knows.
    pub expected: i64,
    /// The newest migration applied successfully.
    pub applied: Option<i64>,
    /// Migrations of this build not (successfully) applied.
    pub pending: Vec<i64>,
    /// Migrations applied with other contents than this build's (edited after release).
    pub changed: Vec<i64>,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.changed.is_empty()
    }
}

/// The statuses counted as the queue: what still waits to leave.
const QUEUE_STATUSES: [MessageStatus; 2] = [MessageStatus::Queued, MessageStatus::Sending];

impl Store {
    /// The queue and planner gauges as of `now`; `settle_seconds` is the planner's settle time (a
    /// change is plannable that long after it was made).
    pub async fn queue_gauges(
        &self,
        now: DateTime<Utc>,
        settle_seconds: u64,
    ) -> Result<QueueGauges, StoreError> {
        let settled_before = epoch(now) - i64::try_from(settle_seconds).unwrap_or(i64::MAX / 2);
        type Counts = Vec<(Option<String>, String, i64)>;
        type Queue = (i64, Option<i64>, i64);
        type Oldest = (Option<i64>, Option<i64>);
        let (counts, queue, oldest): (Counts, Queue, Oldest) = on_reader!(self, pool => {
            let counts = sqlx::query_as(
                "SELECT channel, status, COUNT(*) FROM messages
                 WHERE status IN ('queued', 'sending') GROUP BY channel, status",
            )
            .fetch_all(pool)
            .await?;
            let queue = sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN status = 'queued' AND not_before <= $1 THEN 1 ELSE 0 END), 0),
                        MIN(CASE WHEN status = 'queued' AND not_before <= $1 THEN not_before END),
                        COALESCE(SUM(CASE WHEN status = 'sending' AND not_before <= $1 THEN 1 ELSE 0 END), 0)
                 FROM messages WHERE status IN ('queued', 'sending')",
            )
            .bind(epoch(now))
            .fetch_one(pool)
            .await?;
            // The same condition as the planner's `settled_changes`.
            let oldest = sqlx::query_as(
                "SELECT (SELECT MIN(changed_at) FROM service_states
                         WHERE state <> notified_state AND change_id IS NOT NULL AND changed_at <= $1),
                        (SELECT MIN(send_at) FROM broadcasts WHERE status = 'scheduled' AND send_at <= $2)",
            )
            .bind(settled_before)
            .bind(epoch(now))
            .fetch_one(pool)
            .await?;
            (counts, queue, oldest)
        });
        let mut messages: Vec<(MessageStatus, Channel, u64)> = QUEUE_STATUSES
            .iter()
            .flat_map(|status| Channel::ALL.iter().map(move |channel| (*status, *channel, 0)))
            .collect();
        for (channel, status, count) in counts {
            // A queued message always has a channel; a NULL one (no usable channel) is never queued.
            let Some(channel) = channel else { continue };
            let channel: Channel = parse_stored("messages.channel", &channel)?;
            let status: MessageStatus = parse_stored("messages.status", &status)?;
            if let Some(entry) = messages.iter_mut().find(|(s, c, _)| (*s, *c) == (status, channel)) {
                entry.2 = u64::try_from(count).unwrap_or_default();
            }
        }
        let (due, oldest_due, expired) = queue;
        let (oldest_change, oldest_broadcast) = oldest;
        let planner_lag_seconds = [
            oldest_change.map(|changed_at| settled_before - changed_at),
            oldest_broadcast.map(|send_at| epoch(now) - send_at),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
        .max(0);
        Ok(QueueGauges {
            messages,
            due: u64::try_from(due).unwrap_or_default(),
            oldest_due_seconds: oldest_due.map_or(0, |at| (epoch(now) - at).max(0)),
            expired_leases: u64::try_from(expired).unwrap_or_default(),
            planner_lag_seconds,
        })
    }

    /// Compares the migrations recorded in the database with this build's. Fails when the
    /// database cannot be reached (or has no migration table at all).
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let (engine, migrator) = match &self.db {
            Db::Sqlite { .. } => ("sqlite", &super::SQLITE_MIGRATIONS),
            Db::Postgres(_) => ("postgres", &super::POSTGRES_MIGRATIONS),
        };
        let rows: Vec<(i64, bool, Vec<u8>)> = on_reader!(self, pool => {
            sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
                .fetch_all(pool)
                .await?
        });
        let known: Vec<_> = migrator.iter().filter(|m| !m.migration_type.is_down_migration()).collect();
        let applied = |version: i64| rows.iter().find(|(v, success, _)| *v == version && *success);
        Ok(SchemaStatus {
            engine,
            expected: known.iter().map(|m| m.version).max().unwrap_or(0),
            applied: rows.iter().filter(|(_, success, _)| *success).map(|(v, _, _)| *v).max(),
            pending: known.iter().filter(|m| applied(m.version).is_none()).map(|m| m.version).collect(),
            changed: known
                .iter()
                .filter(|m| applied(m.version).is_some_and(|(_, _, sum)| sum.as_slice() != &*m.checksum))
                .map(|m| m.version)
                .collect(),
        })
    }
}
