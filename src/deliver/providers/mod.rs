//! The providers kabar speaks to, each in its own wire format, each client built once from the
//! configuration and pooled.
//!
//! The HTTP providers ([`twilio`], [`infobip`], [`whatsapp`]) share one pooled client
//! ([`http::http_client`]), wait for their account's [`limit::RateLimit`] before each request, and
//! classify every answer into an [`Accepted`] or a [`SendFailure`]. Each module's docs hold its table
//! of codes; the rules they share:
//!
//! | answer | class | why |
//! |---|---|---|
//! | no answer: timeout, refused connection, connection closed or reset | transient | the provider may not have the message; every provider's guidance is to retry |
//! | HTTP 429 or 5xx | transient, with `Retry-After` (seconds or HTTP-date) as `retry_after` | RFC 9110 §15.6, RFC 6585 §4 |
//! | HTTP 401, or a code saying credentials are wrong | technical | only an operator can fix it |
//! | a 2xx kabar cannot read (no message id) | technical | the provider may have taken it: a retry could send it twice |
//! | **any other 4xx, or a code kabar does not know** | technical | see below |
//!
//! Why an unknown refusal is technical rather than permanent: a 4xx says the request was refused
//! as sent, and most such codes are about the account, the sender or the template (Twilio 21606,
//! Meta 132xxx), which no other applicant's message would escape either. Calling it permanent would
//! quietly move every applicant to their next channel, or mark good numbers bad, on a guess; calling
//! it transient would retry a refusal forever. Technical stops there with the provider's code and
//! scrubbed text in the attempt row, and an operator decides; the tables list every code known to
//! be about the recipient.
//!
//! `SendFailure.reason` never holds the message text, a token or a whole number: known codes get
//! kabar's own words, and a provider's text is cut short with digit runs masked ([`http`]).

pub mod failover;
pub mod http;
pub mod infobip;
pub mod limit;
pub mod log;
pub mod smtp;
pub mod twilio;
pub mod whatsapp;

use super::{Accepted, Destination, FailureKind, Outgoing, SendFailure};
use crate::domain::Channel;
use crate::render::Rendered;

/// A provider could not be set up from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("provider {provider}: {message}")]
    Config { provider: &'static str, message: String },
    #[error("provider {provider}: {source}")]
    Io {
        provider: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// A configured provider account.
#[derive(Debug)]
pub enum Provider {
    Twilio(twilio::Twilio),
    Infobip(infobip::Infobip),
    Whatsapp(whatsapp::WhatsappCloud),
    Smtp(smtp::Smtp),
    /// Writes every channel's messages to a file (demos, dry runs).
    Log(log::LogFile),
}

impl Provider {
    /// The name stored in `messages.provider`.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Twilio(_) => twilio::NAME,
            Provider::Infobip(_) => infobip::NAME,
            Provider::Whatsapp(_) => whatsapp::NAME,
            Provider::Smtp(_) => "smtp",
            Provider::Log(_) => "log",
        }
    }

    /// The channel the provider delivers on; `None` for the log, which takes every channel.
    pub fn channel(&self) -> Option<Channel> {
        match self {
            Provider::Twilio(_) | Provider::Infobip(_) => Some(Channel::Sms),
            Provider::Whatsapp(_) => Some(Channel::Whatsapp),
            Provider::Smtp(_) => Some(Channel::Email),
            Provider::Log(_) => None,
        }
    }

    /// Hands one message to the provider, after waiting for the account's rate limit.
    pub async fn send(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        if let Some(limit) = self.limit() {
            limit.wait().await;
        }
        self.send_now(out).await
    }

    /// Hands one message to the provider at once: the caller waited for [`Provider::limit`].
    pub async fn send_now(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        match self {
            Provider::Twilio(provider) => provider.send_now(out).await,
            Provider::Infobip(provider) => provider.send_now(out).await,
            Provider::Whatsapp(provider) => provider.send_now(out).await,
            Provider::Smtp(provider) => provider.send_now(out).await,
            Provider::Log(provider) => provider.send(out).await,
        }
    }

    /// The account's rate limit; `None` for the log file.
    pub fn limit(&self) -> Option<&limit::RateLimit> {
        match self {
            Provider::Twilio(provider) => Some(provider.limit()),
            Provider::Infobip(provider) => Some(provider.limit()),
            Provider::Whatsapp(provider) => Some(provider.limit()),
            Provider::Smtp(provider) => Some(provider.limit()),
            Provider::Log(_) => None,
        }
    }
}

/// Logs a send's outcome class and code (inside the send's span, which names the provider and
/// message). Debug level: the worker logs each failure once where it handles it.
fn log_outcome(result: &Result<Accepted, SendFailure>) {
    match result {
        Ok(accepted) => tracing::debug!(outcome = "accepted", code = %accepted.response_code),
        Err(failure) => {
            let outcome = match failure.kind {
                FailureKind::Transient { .. } => "transient",
                FailureKind::Permanent { opted_out: false } => "permanent",
                FailureKind::Permanent { opted_out: true } => "opted_out",
                FailureKind::Technical => "technical",
            };
            let code = failure.code.as_deref().unwrap_or("-");
            tracing::debug!(outcome, code, reason = %failure.reason);
        }
    }
}

/// The reason of a message handed to the wrong provider: a kabar bug, described by its shape only.
fn mismatch(provider: &str, expected: &str, out: &Outgoing) -> String {
    let content = match &out.content {
        Rendered::Sms(_) => "an SMS",
        Rendered::Whatsapp(_) => "a WhatsApp template",
        Rendered::Email(_) => "an email",
    };
    let to = match &out.to {
        Destination::Phone(_) => "a phone number",
        Destination::Email { .. } => "an email address",
    };
    format!("{provider} sends {expected}, not {content} to {to}")
}
