//! Email subscriptions to an office's public status: anyone may ask for an office's updates by
//! email, without an account.
//!
//! - **Double opt-in.** The subscribe form records a pending subscriber and queues one
//!   confirmation mail; nothing else is planned for them until its link is followed (within
//!   [`SubscriptionsConfig::confirm_hours`]).
//! - **Tokens.** Each subscriber has a random salt; the confirmation and unsubscribe tokens are
//!   HMACs of it under the database's subscription secret ([`tokens`]), so the worker that writes
//!   a mail derives them again while the database keeps only their SHA-256.
//! - **One-click unsubscribe** (RFC 8058) in every mail: `List-Unsubscribe` and
//!   `List-Unsubscribe-Post` headers; a `POST` to the link unsubscribes, a `GET` only shows a
//!   button (mail scanners that fetch links unsubscribe nobody).
//! - **Updates** are planned by [`plan_updates`]: one message per confirmed subscriber of the
//!   office per state change recorded after they confirmed, idempotently (a unique key).
//! - Subscribers are not applicants: their messages carry a subscriber, never an applicant, so
//!   neither side ever gets the other's mail. Their mails ([`mail`]) say only what the public
//!   status page says.

pub mod mail;
pub mod tokens;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// `[subscriptions]` in kabar.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubscriptionsConfig {
    /// Subscribe requests per email address per hour (each one sends a confirmation mail).
    pub per_address_per_hour: u32,
    /// Subscribe requests per client address per hour.
    pub per_client_per_hour: u32,
    /// How long a confirmation link works.
    pub confirm_hours: u32,
    /// How long a subscribe form, once served, may be posted.
    pub form_hours: u32,
}

impl Default for SubscriptionsConfig {
    fn default() -> Self {
        SubscriptionsConfig {
            per_address_per_hour: 3,
            per_client_per_hour: 20,
            confirm_hours: 48,
            form_hours: 24,
        }
    }
}

impl SubscriptionsConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("per_address_per_hour", self.per_address_per_hour),
            ("per_client_per_hour", self.per_client_per_hour),
            ("confirm_hours", self.confirm_hours),
            ("form_hours", self.form_hours),
        ] {
            if value == 0 || value > 10_000 {
                return Err(format!("subscriptions.{name} = {value} is out of range; use 1 to 10000"));
            }
        }
        Ok(())
    }
}

/// The kinds of a subscriber's message (`messages.kind`).
pub const KIND_CONFIRM: &str = "status_confirm";
pub const KIND_UPDATE: &str = "status_update";

/// Plans the update mails due at `now`: one per confirmed subscriber per state change of their
/// office recorded since they confirmed. Safe to run again at any time: what was planned is not
/// planned twice. Email is the only channel, and the planner's quiet hours hold only WhatsApp and
/// SMS, so the mails are due at once, as an applicant's email would be.
/// Like applicants' notices, only changes that have stood for the planner's settle time are told.
pub async fn plan_updates(
    store: &Store,
    planner: &crate::plan::PlannerConfig,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let settle = chrono::Duration::seconds(i64::try_from(planner.settle_seconds).unwrap_or(i64::MAX / 2));
    let planned = store.plan_subscriber_updates(now - settle, now).await?;
    if planned > 0 {
        tracing::debug!(messages = planned, "planned status subscription updates");
    }
    Ok(planned)
}
