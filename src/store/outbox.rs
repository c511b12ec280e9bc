//! The outbox side of messages: what happens to a message after a permanent failure.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{epoch, on_reader, on_writer, parse_stored, values_list, Store, StoreError, WritePool};
use crate::domain::Channel;

/// What became of a message that failed permanently on its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FallBack {
    /// Queued again on the applicant's next usable channel.
    Requeued(Channel),
    /// No channel left: the message is `failed/permanent` and its applicant is on the call list.
    Failed,
    /// The message had already moved on (delivered, read, cancelled, or on another channel).
    Unchanged,
}

impl Store {
    /// After a permanent failure of `message_id` on `failed_channel`: queues it again on the
    /// applicant's next usable channel after `failed_channel` in `order` (opted-out channels and
    /// a missing email skipped), or marks it `failed/permanent` with `reason` when none is left.
    /// Works from the row as it is now, so a late receipt for a channel the message already left
    /// changes nothing.
    pub async fn fall_back(
        &self,
        message_id: i64,
        failed_channel: Channel,
        order: &[Channel],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<FallBack, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<(Option<String>, String, bool, bool, bool, bool)> = sqlx::query_as(
                // A status subscriber's message has no applicant: every channel counts as
                // refused, so a permanent failure fails it (email is its only channel).
                "SELECT m.channel, m.status, COALESCE(a.whatsapp_opted_out, TRUE), COALESCE(a.sms_opted_out, TRUE),
                        COALESCE(a.email_opted_out, TRUE), a.email IS NOT NULL
                 FROM messages m LEFT JOIN applicants a ON a.id = m.applicant_id
                 WHERE m.id = $1",
            )
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((channel, status, whatsapp_out, sms_out, email_out, has_email)) = row else {
                return Ok(FallBack::Unchanged);
            };
            let channel: Option<Channel> =
                channel.map(|channel| parse_stored("messages.channel", &channel)).transpose()?;
            if channel != Some(failed_channel) || !matches!(status.as_str(), "queued" | "sending" | "sent") {
                return Ok(FallBack::Unchanged);
            }
            let usable = |candidate: &Channel| match candidate {
                Channel::Whatsapp => !whatsapp_out,
                Channel::Sms => !sms_out,
                Channel::Email => has_email && !email_out,
            };
            let next = order
                .iter()
                .skip_while(|candidate| **candidate != failed_channel)
                .skip(1)
                .find(|candidate| usable(candidate))
                .copied();
            let outcome = match next {
                Some(next) => {
                    sqlx::query(
                        "UPDATE messages
                         SET channel = $2, status = 'queued', not_before = $3, provider = NULL, channel_attempts = 0,
                             provider_message_id = NULL, failure_class = NULL, failure_reason = NULL
                         WHERE id = $1",
                    )
                    .bind(message_id)
                    .bind(next.as_str())
                    .bind(epoch(now))
                    .execute(&mut *tx)
                    .await?;
                    FallBack::Requeued(next)
                }
                None => {
                    sqlx::query(
                        "UPDATE messages
                         SET status = 'failed', failure_class = 'permanent', failure_reason = $2, failed_at = $3
                         WHERE id = $1",
                    )
                    .bind(message_id)
                    .bind(reason)
                    .bind(epoch(now))
                    .execute(&mut *tx)
                    .await?;
                    FallBack::Failed
                }
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }
}

/// A message claimed by a worker: `attempt` fences its outcome (a worker whose lease ran out
/// and whose message was claimed again cannot overwrite the newer claim's outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    pub attempt: i64,
    /// When the message was planned: retries stop at its age budget.
    pub created_at: DateTime<Utc>,
    /// This try's number on the message's current channel (1 for the first): the retry budget.
    pub channel_attempt: i64,
}

/// What a worker learnt from one try of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub claim: Claim,
    pub channel: Channel,
    pub provider: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub outcome: AttemptOutcome,
    /// HTTP status, SMTP reply or provider code.
    pub response_code: Option<String>,
    pub error: Option<String>,
}

/// The outcome of a try, as the message records it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// Handed over: the message is `sent` with the provider's id.
    Accepted { provider_message_id: String },
    /// Try again at `retry_at` on the same channel.
    Retry { retry_at: DateTime<Utc> },
    /// Given up: `failed` with this class (`technical`: retries exhausted or kabar's side is
    /// wrong; `permanent`: a render error). A permanent failure of the channel goes through
    /// [`Store::fall_back`] instead.
    Failed { class: &'static str },
    /// Permanent on this channel: recorded here, then [`Store::fall_back`] moves the message.
    FallBack,
}

/// Rows per multi-row statement when recording: 10 parameters each, well under both engines'
/// limits (SQLite 32,766, PostgreSQL 65,535).
const RECORD_CHUNK: usize = 1000;

/// What one try writes on its message. A fall-back keeps the claim (`sending`) for
/// [`Store::fall_back`], which moves the message on.
struct NewState<'a> {
    status: &'static str,
    provider_message_id: Option<&'a str>,
    not_before: Option<i64>,
    failure_class: Option<&'static str>,
    failure_reason: Option<&'a str>,
    sent_at: Option<i64>,
    failed_at: Option<i64>,
}

impl<'a> NewState<'a> {
    fn of(attempt: &'a Attempt, now: i64) -> Self {
        let unchanged = NewState {
            status: "sending",
            provider_message_id: None,
            not_before: None,
            failure_class: None,
            failure_reason: attempt.error.as_deref(),
            sent_at: None,
            failed_at: None,
        };
        match &attempt.outcome {
            AttemptOutcome::Accepted { provider_message_id } => NewState {
                status: "sent",
                provider_message_id: Some(provider_message_id),
                failure_reason: None,
                sent_at: Some(now),
                ..unchanged
            },
            AttemptOutcome::Retry { retry_at } => NewState {
                status: "queued",
                not_before: Some(epoch(*retry_at)),
                failure_class: Some("temporary"),
                ..unchanged
            },
            AttemptOutcome::Failed { class } => {
                NewState { status: "failed", failure_class: Some(class), failed_at: Some(now), ..unchanged }
            }
            AttemptOutcome::FallBack => unchanged,
        }
    }
}

/// `WITH v (…) AS (VALUES …) UPDATE messages … FROM v … RETURNING id` for `rows` tries: the
/// new state of each message whose claim still holds (same `attempts`, still `sending`).
/// (SQLite's RETURNING sees only the updated table, unqualified; `id` alone is unambiguous on
/// PostgreSQL because `v` names its column `message_id`.)
fn update_messages_sql(rows: usize, placeholder: fn(usize) -> String) -> String {
    format!(
        "WITH v (message_id, attempts, status, provider, provider_message_id, not_before, failure_class,
                 failure_reason, sent_at, failed_at) AS (VALUES {values})
         UPDATE messages AS m
         SET status = v.status,
             provider = v.provider,
             provider_message_id = CASE WHEN v.status = 'sent' THEN v.provider_message_id ELSE m.provider_message_id END,
             not_before = COALESCE(v.not_before, m.not_before),
             failure_class = CASE WHEN v.status = 'sending' THEN m.failure_class ELSE v.failure_class END,
             failure_reason = v.failure_reason,
             sent_at = COALESCE(v.sent_at, m.sent_at),
             failed_at = COALESCE(v.failed_at, m.failed_at)
         FROM v
         WHERE m.id = v.message_id AND m.attempts = v.attempts AND m.status = 'sending'
         RETURNING id",
        values = values_list(rows, 10, placeholder, |p| p.join(", "))
    )
}

fn insert_attempts_sql(rows: usize, placeholder: fn(usize) -> String) -> String {
    format!(
        "INSERT INTO message_attempts
             (message_id, channel, provider, started_at, duration_ms, outcome, response_code, error)
         VALUES {}",
        values_list(rows, 8, placeholder, |p| p.join(", "))
    )
}

impl AttemptOutcome {
    fn column(&self) -> &'static str {
        match self {
            AttemptOutcome::Accepted { .. } => "accepted",
            AttemptOutcome::Retry { .. } => "temporary",
            AttemptOutcome::Failed { class } => class,
            AttemptOutcome::FallBack => "permanent",
        }
    }
}

impl Store {
    /// Claims up to `limit` due messages for `lease` on behalf of `worker` (its registry id):
    /// expired leases of crashed workers first, then queued messages in the order they became
    /// due. One short transaction; nothing is sent inside it. On PostgreSQL, workers claiming at
    /// once skip each other's rows.
    pub async fn claim_messages(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let (now, until, limit) = (epoch(now), epoch(now + lease), limit as i64);
        on_writer!(self, pool => {
            let skip_locked = pool.dialect().skip_locked;
            let mut tx = pool.begin_write().await?;
            let mut claims = Vec::new();
            for status in ["sending", "queued"] {
                let left = limit - claims.len() as i64;
                if left <= 0 {
                    break;
                }
                // `attempts` is INTEGER (INT4 on PostgreSQL): widened so both engines decode an i64.
                let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&format!(
                    "UPDATE messages SET status = 'sending', attempts = attempts + 1,
                            channel_attempts = channel_attempts + 1, not_before = $1, claimed_by = $5
                     WHERE id IN (SELECT id FROM messages
                                  WHERE status = $2 AND not_before <= $3
                                  ORDER BY not_before LIMIT $4 {skip_locked})
                     RETURNING id, CAST(attempts AS BIGINT), created_at, channel_attempts"
                ))
                .bind(until)
                .bind(status)
                .bind(now)
                .bind(left)
                .bind(worker)
                .fetch_all(&mut *tx)
                .await?;
                for (id, attempt, created_at, channel_attempt) in rows {
                    claims.push(Claim { id, attempt, created_at: super::from_epoch(created_at)?, channel_attempt });
                }
            }
            tx.commit().await?;
            claims.sort_by_key(|claim| claim.id);
            Ok(claims)
        })
    }

    /// Records a batch of tries in one transaction: each message's new state, only where the
    /// claim still holds, and an attempt row for each of those; a few multi-row statements per
    /// batch, not two per message. Returns the claims that still held.
    pub async fn record_attempts(
        &self,
        attempts: &[Attempt],
        now: DateTime<Utc>,
    ) -> Result<Vec<Claim>, StoreError> {
        let now = epoch(now);
        on_writer!(self, pool => {
            let placeholder = pool.dialect().placeholder;
            let mut tx = pool.begin_write().await?;
            let mut held_ids = HashSet::with_capacity(attempts.len());
            for chunk in attempts.chunks(RECORD_CHUNK) {
                let sql = update_messages_sql(chunk.len(), placeholder);
                let mut update = sqlx::query_scalar::<_, i64>(&sql);
                for attempt in chunk {
                    let row = NewState::of(attempt, now);
                    update = update
                        .bind(attempt.claim.id)
                        .bind(attempt.claim.attempt)
                        .bind(row.status)
                        .bind(&attempt.provider)
                        .bind(row.provider_message_id)
                        .bind(row.not_before)
                        .bind(row.failure_class)
                        .bind(row.failure_reason)
                        .bind(row.sent_at)
                        .bind(row.failed_at);
                }
                let updated = update.fetch_all(&mut *tx).await?;
                held_ids.extend(updated);
                let held: Vec<&Attempt> =
                    chunk.iter().filter(|attempt| held_ids.contains(&attempt.claim.id)).collect();
                if held.is_empty() {
                    continue;
                }
                let sql = insert_attempts_sql(held.len(), placeholder);
                let mut insert = sqlx::query(&sql);
                for attempt in held {
                    insert = insert
                        .bind(attempt.claim.id)
                        .bind(attempt.channel.as_str())
                        .bind(&attempt.provider)
                        .bind(epoch(attempt.started_at))
                        .bind(attempt.duration_ms)
                        .bind(attempt.outcome.column())
                        .bind(&attempt.response_code)
                        .bind(&attempt.error);
                }
                insert.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(attempts
                .iter()
                .filter(|attempt| held_ids.contains(&attempt.claim.id))
                .map(|attempt| attempt.claim)
                .collect())
        })
    }

    /// Gives claims back untried (a worker shutting down): queued again, due now, the attempt
    /// not counted.
    pub async fn release_claims(&self, claims: &[Claim], now: DateTime<Utc>) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for claim in claims {
                sqlx::query(
                    "UPDATE messages SET status = 'queued', attempts = attempts - 1,
                            channel_attempts = channel_attempts - 1, not_before = $3
                     WHERE id = $1 AND attempts = $2 AND status = 'sending'",
                )
                .bind(claim.id)
                .bind(claim.attempt)
                .bind(epoch(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// When the next message becomes due (a queued one, or a lease that runs out), if any.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<i64> = on_reader!(self, pool => {
            sqlx::query_scalar(
                "SELECT MIN(due) FROM (
                     SELECT MIN(not_before) AS due FROM messages WHERE status = 'queued'
                     UNION ALL
                     SELECT MIN(not_before) AS due FROM messages WHERE status = 'sending') d",
            )
            .fetch_one(pool)
            .await?
        });
        next.map(super::from_epoch).transpose()
    }

    /// Tells workers in other processes that messages were planned (PostgreSQL `NOTIFY`;
    /// SQLite workers share the process and are woken directly).
    pub async fn notify_workers(&self) -> Result<(), StoreError> {
        if let super::Db::Postgres(pool) = &self.db {
            sqlx::query("SELECT pg_notify($1, '')").bind(WAKE_CHANNEL).execute(pool).await?;
        }
        Ok(())
    }

    /// A listener for [`Store::notify_workers`] on PostgreSQL; `None` on SQLite.
    pub async fn listen_for_work(&self) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        match &self.db {
            super::Db::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen(WAKE_CHANNEL).await?;
                Ok(Some(listener))
            }
            super::Db::Sqlite { .. } => Ok(None),
        }
    }
}

/// How many messages have one kind, channel and status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MessageCount {
    pub kind: String,
    /// `None`: no usable channel.
    pub channel: Option<String>,
    pub status: String,
    pub messages: u64,
}

impl Store {
    /// Every message counted by kind, channel and status.
    pub async fn message_counts(&self) -> Result<Vec<MessageCount>, StoreError> {
        let rows: Vec<(String, Option<String>, String, i64)> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT kind, channel, status, COUNT(*) FROM messages
                 GROUP BY kind, channel, status ORDER BY kind, channel, status",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(kind, channel, status, messages)| MessageCount {
                kind,
                channel,
                status,
                messages: messages as u64,
            })
            .collect())
    }
}

/// The PostgreSQL notification channel that wakes workers.
pub const WAKE_CHANNEL: &str = "kabar_messages";
