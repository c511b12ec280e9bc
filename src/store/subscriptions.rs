//! Status subscriptions: subscribers, their confirmation and departure (the mails planned for
//! them are in [`super::subscriber_outbox`]). Every write records an audit row in its own
//! transaction; audit rows name the subscriber by id, never by address.

use chrono::{DateTime, Utc};
use rand::RngCore as _;

use super::audit::AuditLog as _;
use super::{epoch, on_writer, parse_stored, Store, StoreError, WritePool};
use crate::audit::{Actor, AuditEntry};
use crate::domain::{Email, Language, OfficeCode};
use crate::status::subscriptions::KIND_CONFIRM;

/// A subscribe request that passed the form's checks. The caller made the salt and hashed the
/// tokens ([`crate::status::subscriptions::tokens`]).
#[derive(Debug, Clone)]
pub struct NewSubscriber<'a> {
    pub office: &'a OfficeCode,
    /// Lower case.
    pub email: &'a Email,
    pub language: Language,
    pub salt: &'a str,
    pub confirm_hash: &'a str,
    pub unsubscribe_hash: &'a str,
    pub confirm_expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// The client's address and the request id, for the audit row.
    pub client: Option<String>,
    pub request_id: Option<String>,
}

/// What a subscribe request did. The public answer is the same either way (it must not tell
/// who is subscribed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// A confirmation mail is queued (a new subscriber, or one pending or gone asking again).
    ConfirmationQueued { subscriber_id: i64 },
    /// Already confirmed: nothing is sent.
    AlreadyConfirmed { subscriber_id: i64 },
}

/// What following a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed {
        subscriber_id: i64,
        office: OfficeCode,
    },
    /// Followed again: still confirmed.
    AlreadyConfirmed {
        office: OfficeCode,
    },
    /// The link is too old, or the subscriber left since.
    Expired,
    Unknown,
}

/// What an unsubscribe did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsubscribeOutcome {
    Unsubscribed { subscriber_id: i64, office: OfficeCode, cancelled: u64 },
    AlreadyGone { office: OfficeCode },
    Unknown,
}

fn audit(action: &str, subscriber_id: i64, office: &OfficeCode, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry::new(at, Actor::system("status-subscriptions"), action, format!("subscriber:{subscriber_id}"))
        .with_offices([office.clone()])
}

impl Store {
    /// The secret named `name`, made of 32 random bytes on first use (by whichever process asks
    /// first; every process of the database then reads the same one).
    pub async fn server_secret(&self, name: &str, now: DateTime<Utc>) -> Result<Vec<u8>, StoreError> {
        let read = || async {
            let found: Option<String> = on_writer!(self, pool => {
                sqlx::query_scalar("SELECT secret FROM server_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_optional(pool)
                    .await?
            });
            Ok::<_, StoreError>(found)
        };
        let found = match read().await? {
            Some(found) => found,
            None => {
                let mut bytes = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut bytes);
                on_writer!(self, pool => {
                    sqlx::query(
                        "INSERT INTO server_secrets (name, secret, created_at) VALUES ($1, $2, $3)
                         ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(hex::encode(bytes))
                    .bind(epoch(now))
                    .execute(pool)
                    .await?;
                });
                read()
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("server_secrets: {name} is missing")))?
            }
        };
        hex::decode(&found)
            .map_err(|err| StoreError::Corrupt(format!("server_secrets.secret of {name}: {err}")))
    }

    /// Records a subscribe request and queues its confirmation mail, unless the address is
    /// already confirmed for the office.
    pub async fn subscribe(&self, new: &NewSubscriber<'_>) -> Result<SubscribeOutcome, StoreError> {
        let now = epoch(new.now);
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: Option<(i64, String)> = sqlx::query_as(
                "SELECT id, status FROM status_subscribers WHERE office_code = $1 AND email = $2",
            )
            .bind(new.office.as_str())
            .bind(new.email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some((id, status)) if status == "confirmed" => {
                    return Ok(SubscribeOutcome::AlreadyConfirmed { subscriber_id: id });
                }
                Some((id, _)) => {
                    sqlx::query(
                        "UPDATE status_subscribers
                         SET status = 'pending', language = $2, token_salt = $3, confirm_hash = $4,
                             unsubscribe_hash = $5, confirm_expires_at = $6, confirmed_at = NULL,
                             unsubscribed_at = NULL
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(new.language.as_str())
                    .bind(new.salt)
                    .bind(new.confirm_hash)
                    .bind(new.unsubscribe_hash)
                    .bind(epoch(new.confirm_expires_at))
                    .execute(&mut *tx)
                    .await?;
                    id
                }
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO status_subscribers (office_code, email, language, status, token_salt,
                                                         confirm_hash, unsubscribe_hash, confirm_expires_at, created_at)
                         VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8)
                         RETURNING id",
                    )
                    .bind(new.office.as_str())
                    .bind(new.email.as_str())
                    .bind(new.language.as_str())
                    .bind(new.salt)
                    .bind(new.confirm_hash)
                    .bind(new.unsubscribe_hash)
                    .bind(epoch(new.confirm_expires_at))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            sqlx::query(&format!(
                "INSERT INTO messages (office_code, subscriber_id, kind, language, channel, status, not_before, created_at)
                 VALUES ($1, $2, '{KIND_CONFIRM}', $3, 'email', 'queued', $4, $4)"
            ))
            .bind(new.office.as_str())
            .bind(id)
            .bind(new.language.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let mut entry = audit("subscription.request", id, new.office, new.now)
                .with_summary(serde_json::json!({ "language": new.language.as_str() }));
            entry.client = new.client.clone();
            entry.request_id = new.request_id.clone();
            tx.append_audit(entry).await?;
            tx.commit().await?;
            Ok(SubscribeOutcome::ConfirmationQueued { subscriber_id: id })
        })
    }

    /// Confirms the pending subscriber whose confirmation token hashes to `confirm_hash`, if
    /// the link has not expired. Updates are planned for state changes after this moment.
    pub async fn confirm_subscriber(
        &self,
        confirm_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ConfirmOutcome, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let found: Option<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT id, office_code, status, confirm_expires_at FROM status_subscribers WHERE confirm_hash = $1",
            )
            .bind(confirm_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, office, status, expires_at)) = found else { return Ok(ConfirmOutcome::Unknown) };
            let office: OfficeCode = parse_stored("status_subscribers.office_code", &office)?;
            match status.as_str() {
                "confirmed" => return Ok(ConfirmOutcome::AlreadyConfirmed { office }),
                "pending" if expires_at > epoch(now) => {}
                _ => return Ok(ConfirmOutcome::Expired),
            }
            sqlx::query(
                "UPDATE status_subscribers
                 SET status = 'confirmed', confirmed_at = $2,
                     after_change_id = (SELECT COALESCE(MAX(id), 0) FROM service_state_changes)
                 WHERE id = $1",
            )
            .bind(id)
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?;
            tx.append_audit(audit("subscription.confirm", id, &office, now)).await?;
            tx.commit().await?;
            Ok(ConfirmOutcome::Confirmed { subscriber_id: id, office })
        })
    }

    /// Unsubscribes the subscriber whose unsubscribe token hashes to `unsubscribe_hash` (pending
    /// or confirmed) and cancels their messages not yet claimed.
    pub async fn unsubscribe_subscriber(
        &self,
        unsubscribe_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<UnsubscribeOutcome, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let found: Option<(i64, String, String)> = sqlx::query_as(
                "SELECT id, office_code, status FROM status_subscribers WHERE unsubscribe_hash = $1",
            )
            .bind(unsubscribe_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, office, status)) = found else { return Ok(UnsubscribeOutcome::Unknown) };
            let office: OfficeCode = parse_stored("status_subscribers.office_code", &office)?;
            if status == "unsubscribed" {
                return Ok(UnsubscribeOutcome::AlreadyGone { office });
            }
            sqlx::query("UPDATE status_subscribers SET status = 'unsubscribed', unsubscribed_at = $2 WHERE id = $1")
                .bind(id)
                .bind(epoch(now))
                .execute(&mut *tx)
                .await?;
            let cancelled = sqlx::query(
                "UPDATE messages SET status = 'cancelled', failed_at = $2
                 WHERE subscriber_id = $1 AND status = 'queued'",
            )
            .bind(id)
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let entry = audit("subscription.unsubscribe", id, &office, now)
                .with_summary(serde_json::json!({ "cancelled_messages": cancelled }));
            tx.append_audit(entry).await?;
            tx.commit().await?;
            Ok(UnsubscribeOutcome::Unsubscribed { subscriber_id: id, office, cancelled })
        })
    }
}
