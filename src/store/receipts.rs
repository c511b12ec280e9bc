//! What comes back after a message left: delivery receipts, opt-out replies, unsubscribe links.

use chrono::{DateTime, Utc};

use super::{epoch, on_reader, on_writer, parse_stored, FallBack, Store, StoreError, WritePool};
use crate::domain::Channel;
use crate::receipts::{InboundReply, Receipt, ReceiptStatus};

/// What a batch of receipts did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiptReport {
    /// Moved a message forward (or to the applicant's next channel).
    pub applied: u64,
    /// Found the message, which had already moved past it: a duplicate, a late `sent` after
    /// `delivered`, a failure after delivery or after the message left that channel.
    pub stale: u64,
    /// No message has this provider id.
    pub unknown: u64,
}

/// What an opt-out reply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Opted out at least one applicant (recorded as `opt_out`).
    OptedOut,
    /// No applicant has that number on that channel (recorded as `none`).
    NoMatch,
    /// The same provider message was recorded before: nothing changed.
    Replayed,
}

impl ReplyOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyOutcome::OptedOut => "opt_out",
            ReplyOutcome::NoMatch => "no_match",
            ReplyOutcome::Replayed => "replayed",
        }
    }
}

enum Outcome {
    Applied,
    Stale,
    Unknown,
}

/// The statement that moves a message forward to `status`. Each one's `WHERE` lists the states
/// it may move from, so the rank (queued/sending < sent < delivered < read; failed only before
/// delivery) holds however receipts race each other: a late `sent` never overwrites `delivered`.
/// Delivered and read also win over a temporary failure: the provider saw it arrive after all.
/// Parameters: $1 provider, $2 provider id, $3 when, $4 failure reason.
fn advance_sql(status: &ReceiptStatus) -> &'static str {
    match status {
        ReceiptStatus::Sent => {
            "UPDATE messages SET status = 'sent', sent_at = $3
             WHERE provider = $1 AND provider_message_id = $2 AND status IN ('queued', 'sending')"
        }
        ReceiptStatus::Delivered => {
            "UPDATE messages
             SET status = 'delivered', delivered_at = $3, sent_at = COALESCE(sent_at, $3),
                 failure_class = NULL, failure_reason = NULL, failed_at = NULL
             WHERE provider = $1 AND provider_message_id = $2
               AND (status IN ('queued', 'sending', 'sent') OR (status = 'failed' AND failure_class = 'temporary'))"
        }
        // WhatsApp may skip `delivered` when a message is read at once.
        ReceiptStatus::Read => {
            "UPDATE messages
             SET status = 'read', read_at = $3, delivered_at = COALESCE(delivered_at, $3),
                 sent_at = COALESCE(sent_at, $3), failure_class = NULL, failure_reason = NULL, failed_at = NULL
             WHERE provider = $1 AND provider_message_id = $2
               AND (status IN ('queued', 'sending', 'sent', 'delivered')
                    OR (status = 'failed' AND failure_class = 'temporary'))"
        }
        ReceiptStatus::Failed { .. } => {
            "UPDATE messages
             SET status = 'failed', failure_class = 'temporary', failure_reason = $4, failed_at = $3
             WHERE provider = $1 AND provider_message_id = $2 AND status IN ('queued', 'sending', 'sent')"
        }
    }
}

/// Twilio's code for a recipient who texted STOP.
const TWILIO_UNSUBSCRIBED: &str = "21610";

/// Why a message moved on after an opt-out reply; the reason stays if no channel is left.
const OPTED_OUT_BY_REPLY: &str = "opted out by reply";

impl Store {
    /// Applies receipts in order, each on its own (no transaction is held while a permanent
    /// failure moves a message on). A permanent failure goes through [`Store::fall_back`] with the
    /// applicant's channel `order`; a temporary one marks the message `failed/temporary`.
    pub async fn apply_receipts(
        &self,
        receipts: &[Receipt],
        order: &[Channel],
    ) -> Result<ReceiptReport, StoreError> {
        let mut report = ReceiptReport::default();
        for receipt in receipts {
            let outcome = match &receipt.status {
                ReceiptStatus::Failed { permanent: true, reason, code } => {
                    if receipt.provider == "twilio" && code.as_deref() == Some(TWILIO_UNSUBSCRIBED) {
                        self.opt_out_recipient_of(receipt, Channel::Sms).await?;
                    }
                    self.permanent_failure(receipt, reason, order).await?
                }
                status => self.advance(receipt, status).await?,
            };
            match outcome {
                Outcome::Applied => report.applied += 1,
                Outcome::Stale => report.stale += 1,
                Outcome::Unknown => report.unknown += 1,
            }
        }
        Ok(report)
    }

    async fn advance(&self, receipt: &Receipt, status: &ReceiptStatus) -> Result<Outcome, StoreError> {
        let reason = match status {
            ReceiptStatus::Failed { reason, .. } => Some(reason.as_str()),
            _ => None,
        };
        let updated = on_writer!(self, pool => {
            let mut query = sqlx::query(advance_sql(status))
                .bind(receipt.provider)
                .bind(&receipt.provider_message_id)
                .bind(epoch(receipt.at));
            if let Some(reason) = reason {
                query = query.bind(reason);
            }
            query.execute(pool).await?.rows_affected()
        });
        if updated > 0 {
            return Ok(Outcome::Applied);
        }
        Ok(match self.message_by_provider_id(receipt).await? {
            Some(_) => Outcome::Stale,
            None => Outcome::Unknown,
        })
    }

    /// The recipient of a message told the provider to stop (Twilio 21610): record the opt-out
    /// as kabar's own, so no later message is planned on that channel.
    async fn opt_out_recipient_of(&self, receipt: &Receipt, channel: Channel) -> Result<(), StoreError> {
        let column = match channel {
            Channel::Whatsapp => "whatsapp_opted_out",
            Channel::Sms => "sms_opted_out",
            Channel::Email => "email_opted_out",
        };
        let sql = format!(
            "UPDATE applicants SET {column} = TRUE
             WHERE id = (SELECT applicant_id FROM messages WHERE provider = $1 AND provider_message_id = $2)"
        );
        on_writer!(self, pool => {
            sqlx::query(&sql).bind(receipt.provider).bind(&receipt.provider_message_id).execute(pool).await?;
        });
        Ok(())
    }

    async fn permanent_failure(
        &self,
        receipt: &Receipt,
        reason: &str,
        order: &[Channel],
    ) -> Result<Outcome, StoreError> {
        let Some((message_id, channel)) = self.message_by_provider_id(receipt).await? else {
            return Ok(Outcome::Unknown);
        };
        let Some(channel) = channel else {
            return Ok(Outcome::Stale);
        };
        let channel: Channel = parse_stored("messages.channel", &channel)?;
        // fall_back reads the row again in its own transaction and acts only if the message is
        // still queued, sending or sent on this channel: never after delivery.
        Ok(match self.fall_back(message_id, channel, order, reason, receipt.at).await? {
            FallBack::Requeued(_) | FallBack::Failed => Outcome::Applied,
            FallBack::Unchanged => Outcome::Stale,
        })
    }

    async fn message_by_provider_id(
        &self,
        receipt: &Receipt,
    ) -> Result<Option<(i64, Option<String>)>, StoreError> {
        Ok(on_reader!(self, pool => {
            sqlx::query_as("SELECT id, channel FROM messages WHERE provider = $1 AND provider_message_id = $2")
                .bind(receipt.provider)
                .bind(&receipt.provider_message_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// An applicant replied STOP (`reply`, an opt-out on WhatsApp or SMS): opts out every
    /// applicant reached on that channel at that number (the mobile for SMS; the WhatsApp number,
    /// which is the mobile unless another was given, for WhatsApp), records the reply (not its
    /// text) in `inbound_replies`, and moves their still-queued messages on that channel to their
    /// next usable channel in `order`, so the message still reaches them on a channel they did
    /// not refuse. A reply whose provider id is already recorded (the provider delivered the
    /// webhook again) changes nothing: [`ReplyOutcome::Replayed`]. Email replies do not exist:
    /// `Email` does nothing.
    pub async fn opt_out_by_reply(
        &self,
        reply: &InboundReply,
        order: &[Channel],
        now: DateTime<Utc>,
    ) -> Result<ReplyOutcome, StoreError> {
        // Both lookups are indexed: `mobile` is unique, `whatsapp` has a partial index.
        let (column, reached) = match reply.channel {
            Channel::Sms => ("sms_opted_out", "mobile = $1"),
            Channel::Whatsapp => {
                ("whatsapp_opted_out", "(whatsapp = $1 OR (whatsapp IS NULL AND mobile = $1))")
            }
            Channel::Email => return Ok(ReplyOutcome::NoMatch),
        };
        // The row goes in first: when the provider id is already there, nothing else happens.
        // (SQLite needs the WHERE to tell the SELECT from the upsert clause.)
        let record = format!(
            "INSERT INTO inbound_replies (channel, provider, provider_message_id, mobile, action, received_at)
             SELECT $2, $3, $4, $1,
                    CASE WHEN EXISTS (SELECT 1 FROM applicants WHERE {reached}) THEN 'opt_out' ELSE 'none' END,
                    $5
             WHERE TRUE
             ON CONFLICT (provider, provider_message_id) DO NOTHING"
        );
        let opt_out = format!("UPDATE applicants SET {column} = TRUE WHERE {reached}");
        let queued = format!(
            "SELECT id FROM messages
             WHERE status = 'queued' AND channel = $2
               AND applicant_id IN (SELECT id FROM applicants WHERE {reached})
             ORDER BY id"
        );
        let number = reply.from.e164();
        let (recorded, matched, queued): (u64, u64, Vec<i64>) = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let recorded = sqlx::query(&record)
                .bind(number)
                .bind(reply.channel.as_str())
                .bind(reply.provider)
                .bind(reply.provider_message_id.as_deref())
                .bind(epoch(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let (matched, queued) = if recorded == 0 {
                (0, Vec::new())
            } else {
                let matched = sqlx::query(&opt_out).bind(number).execute(&mut *tx).await?.rows_affected();
                let queued: Vec<i64> =
                    sqlx::query_scalar(&queued).bind(number).bind(reply.channel.as_str()).fetch_all(&mut *tx).await?;
                (matched, queued)
            };
            tx.commit().await?;
            (recorded, matched, queued)
        });
        if recorded == 0 {
            return Ok(ReplyOutcome::Replayed);
        }
        // Each move is its own transaction (fall_back's); none may be open here, since SQLite has
        // a single writer connection.
        for message_id in queued {
            self.fall_back(message_id, reply.channel, order, OPTED_OUT_BY_REPLY, now).await?;
        }
        Ok(if matched > 0 { ReplyOutcome::OptedOut } else { ReplyOutcome::NoMatch })
    }

    /// The one-click unsubscribe of an email link: opts the applicant out of email. Returns
    /// false for an unknown applicant.
    pub async fn unsubscribe_email(&self, applicant_id: i64) -> Result<bool, StoreError> {
        let updated = on_writer!(self, pool => {
            sqlx::query("UPDATE applicants SET email_opted_out = TRUE WHERE id = $1")
                .bind(applicant_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(updated > 0)
    }
}
