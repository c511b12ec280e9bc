//! Delivery: the outbox worker claims planned messages, renders them, hands them to a provider
//! in its real wire format, and records what happened.
//!
//! [`providers`] speaks to Twilio, Infobip, the WhatsApp Cloud API, SMTP and a log file; each
//! send returns an [`Accepted`] or a classified [`SendFailure`], which the worker turns into a
//! retry, a fallback to the applicant's next channel, or a final status.

pub mod config;
pub mod providers;
pub mod worker;

pub use config::{DeliveryConfig, Providers};
pub use worker::{StepReport, Worker, WorkerError};

use std::time::Duration;

use crate::domain::{Email, Msisdn};
use crate::render::Rendered;

/// Who a message goes to, in the shape its channel needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// A mobile number (SMS, or WhatsApp when it is the applicant's WhatsApp number).
    Phone(Msisdn),
    Email {
        address: Email,
        name: String,
    },
}

/// One message ready to hand to a provider.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// kabar's id of the message: sent along as the provider's client reference where the API has
    /// one (Infobip `messageId`/`callbackData`, SMTP `Message-ID`), so receipts can find it.
    pub message_id: i64,
    pub to: Destination,
    pub content: Rendered,
    /// When the worker handed it over, by the worker's clock: the wall clock, or the simulated
    /// time of the demo's replay and of tests. Only the log provider writes it down.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's id of the message (Twilio `sid`, WhatsApp `wamid.…`, Infobip `messageId`,
    /// the SMTP `Message-ID`): receipts refer to it.
    pub provider_message_id: String,
    /// The HTTP status or SMTP reply code, for the attempt row.
    pub response_code: String,
}

/// How a failed try is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth trying again later on the same channel (timeouts, connection errors, HTTP 429 and
    /// 5xx, SMTP 4xx, codes documented as retryable). `retry_after` is the provider's own hint.
    Transient { retry_after: Option<Duration> },
    /// Never going to work on this channel (invalid number, not a WhatsApp user, SMTP 5xx): no
    /// retry; the applicant's next channel is tried. `opted_out`: the provider says the
    /// recipient unsubscribed (Twilio 21610), which kabar records as an opt-out.
    Permanent { opted_out: bool },
    /// kabar's own side is wrong (bad credentials, a rejected request shape): retrying or
    /// changing channel will not help until an operator fixes the configuration.
    Technical,
}

/// A failed try, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SendFailure {
    pub kind: FailureKind,
    /// The provider's error code or the HTTP/SMTP status, e.g. `21610`, `131026`, `550`.
    pub code: Option<String>,
    /// What went wrong, for the attempt row and the delivery report. Never contains the message
    /// text, a token or a full phone number.
    pub reason: String,
}

impl SendFailure {
    pub fn transient(code: Option<String>, reason: impl Into<String>, retry_after: Option<Duration>) -> Self {
        Self { kind: FailureKind::Transient { retry_after }, code, reason: reason.into() }
    }

    pub fn permanent(code: Option<String>, reason: impl Into<String>) -> Self {
        Self { kind: FailureKind::Permanent { opted_out: false }, code, reason: reason.into() }
    }

    pub fn technical(code: Option<String>, reason: impl Into<String>) -> Self {
        Self { kind: FailureKind::Technical, code, reason: reason.into() }
    }
}
