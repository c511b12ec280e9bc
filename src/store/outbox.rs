//! The outbox side of messages: what happens to a message after a permanent failure.

use chrono::{DateTime, Utc};

use super::{epoch, on_writer, parse_stored, Store, StoreError, WritePool};
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
                "SELECT m.channel, m.status, a.whatsapp_opted_out, a.sms_opted_out,
                        a.email_opted_out, a.email IS NOT NULL
                 FROM messages m JOIN applicants a ON a.id = m.applicant_id
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
                         SET channel = $2, status = 'queued', not_before = $3, provider = NULL,
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
