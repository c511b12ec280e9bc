//! Receipts and replies: what the providers tell kabar after a message left.
//!
//! The providers call kabar's small HTTP server ([`server`]): Twilio's status callback and inbound
//! SMS webhook ([`twilio`]), the WhatsApp Cloud API webhook ([`whatsapp`]), Infobip's delivery
//! reports ([`infobip`]), and the one-click unsubscribe link of every email ([`unsubscribe`]). Each
//! request is authenticated first (a signature or a shared secret), then parsed at the edge into
//! [`Receipt`]s and [`InboundReply`]s, which the store applies: statuses only ever move forward,
//! a permanent failure moves the message to the applicant's next channel, and a `STOP` reply opts
//! the number out of the channel it came from.

pub mod config;
pub mod infobip;
pub mod server;
pub mod twilio;
pub mod unsubscribe;
pub mod whatsapp;

use chrono::{DateTime, Utc};

use crate::domain::{Channel, Msisdn};

pub use config::ReceiptsConfig;
pub use server::{router, serve, ReceiptsState};
pub use unsubscribe::unsubscribe_url;

/// What a provider reports about one message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// `"twilio"`, `"infobip"` or `"whatsapp"`: the name the dispatcher stores in
    /// `messages.provider` when the provider accepts a message.
    pub provider: &'static str,
    /// The provider's id of the message (Twilio `MessageSid`, Infobip `messageId`, `wamid.…`).
    pub provider_message_id: String,
    pub status: ReceiptStatus,
    /// When it happened, by the provider's clock where the report says, else when it arrived.
    pub at: DateTime<Utc>,
}

/// Where a message got to. Intermediate states (queued, accepted, sending, pending) are not
/// receipts: the parsers drop them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptStatus {
    /// Handed to the carrier (or WhatsApp's servers).
    Sent,
    /// On the recipient's handset.
    Delivered,
    /// Opened (WhatsApp, and Twilio for channels that report it).
    Read,
    /// Not delivered. `permanent`: this channel will never work for this recipient, so the
    /// message moves to the applicant's next channel; otherwise it is a temporary failure.
    Failed { permanent: bool, code: Option<String>, reason: String },
}

/// A message an applicant sent to kabar's number. Only its meaning is kept, never its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundReply {
    pub channel: Channel,
    pub provider: &'static str,
    /// The provider's id of the inbound message (Twilio `MessageSid`, WhatsApp `wamid.…`): a
    /// webhook delivered twice carries the same id, and is recorded once.
    pub provider_message_id: Option<String>,
    pub from: Msisdn,
    /// The reply asks to stop messages on this channel ([`is_opt_out`]).
    pub opt_out: bool,
}

/// The replies that opt a number out of the channel they came on: `STOP` and `BERHENTI` (what
/// kabar's messages tell applicants to send), and the two other standard keywords Twilio and
/// carriers document, `STOPALL` and `UNSUBSCRIBE`. `CANCEL`, `END` and `QUIT` are deliberately not
/// opt-outs: an applicant answering a notice about an appointment with "cancel" most likely means
/// the appointment, and kabar cannot act on that.
pub const OPT_OUT_KEYWORDS: &[&str] = &["STOP", "BERHENTI", "STOPALL", "UNSUBSCRIBE"];

/// Whether a reply's text is an opt-out keyword: the whole message, case-insensitively, ignoring
/// surrounding spaces and a trailing full stop or exclamation mark ("Stop.", " berhenti! ").
/// A keyword inside a sentence ("jangan stop dulu") is not an opt-out.
pub fn is_opt_out(text: &str) -> bool {
    let word = text.trim().trim_end_matches(['.', '!']).trim_end();
    OPT_OUT_KEYWORDS.iter().any(|keyword| word.eq_ignore_ascii_case(keyword))
}

/// Why a webhook request was refused. Each variant becomes one HTTP status in [`server`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The signature or shared secret is missing or wrong: 401, nothing changes.
    #[error("missing or invalid {0}")]
    Unauthorized(&'static str),
    /// The payload is not what the provider documents: 400.
    #[error("malformed payload: {0}")]
    Malformed(String),
}

impl WebhookError {
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::Malformed(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_out_keywords_are_whole_replies() {
        for text in ["STOP", "stop", " Stop. ", "BERHENTI", "berhenti!", "StopAll", "unsubscribe\n"] {
            assert!(is_opt_out(text), "{text:?}");
        }
        for text in ["", "STOP STOP", "jangan stop dulu", "cancel", "BERHENTI ya", "s t o p", "STOPP"] {
            assert!(!is_opt_out(text), "{text:?}");
        }
    }
}
