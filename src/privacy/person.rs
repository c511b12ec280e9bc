//! What kabar holds on one person, and what erasing them did.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::PersonQuery;
use crate::domain::{BookingCode, Channel, Email, Language, Msisdn, OfficeCode, Product, Stage};
use crate::store::{FailureClass, MessageStatus};

/// One applicant and everything linked to them.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub applicant_id: i64,
    pub name: String,
    pub mobile: Msisdn,
    pub email: Option<Email>,
    /// `None`: the mobile number is the WhatsApp number.
    pub whatsapp: Option<Msisdn>,
    pub language: Option<Language>,
    pub opted_out: Vec<Channel>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In appointment order.
    pub bookings: Vec<PersonBooking>,
    /// In the order they were planned.
    pub messages: Vec<PersonMessage>,
    /// Replies from the person's numbers (mobile, or WhatsApp number), oldest first.
    pub replies: Vec<PersonReply>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonBooking {
    pub code: BookingCode,
    pub office: OfficeCode,
    pub unit: Option<OfficeCode>,
    pub holder_name: String,
    pub appointment_at: DateTime<Utc>,
    pub product: Product,
    pub express: bool,
    pub stage: Stage,
    pub applied_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonMessage {
    pub id: i64,
    pub office: OfficeCode,
    pub incident_id: Option<i64>,
    pub broadcast_id: Option<i64>,
    pub kind: String,
    pub language: Language,
    /// `None`: no usable channel.
    pub channel: Option<Channel>,
    pub status: MessageStatus,
    pub failure_class: Option<FailureClass>,
    pub bookings: Vec<BookingCode>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonReply {
    pub channel: Channel,
    pub provider: String,
    /// The number it came from, as stored (masked once the retention policy reached it).
    pub number: String,
    /// `opt_out`, or `none` when it changed nothing.
    pub action: String,
    pub received_at: DateTime<Utc>,
}

impl PersonRecord {
    /// A number as the output shows it: whole only when it is the number the user typed.
    pub fn shown(number: &Msisdn, query: &PersonQuery) -> String {
        match query {
            PersonQuery::Phone(typed) if typed == number => number.e164().to_owned(),
            _ => number.masked(),
        }
    }

    /// The record as JSON, numbers shown by [`PersonRecord::shown`].
    pub fn to_json(&self, query: &PersonQuery) -> serde_json::Value {
        let replies: Vec<serde_json::Value> = self
            .replies
            .iter()
            .map(|reply| {
                serde_json::json!({
                    "channel": reply.channel,
                    "provider": reply.provider,
                    "number": reply.shown(query),
                    "action": reply.action,
                    "received_at": reply.received_at,
                })
            })
            .collect();
        serde_json::json!({
            "applicant_id": self.applicant_id,
            "name": self.name,
            "mobile": Self::shown(&self.mobile, query),
            "email": self.email.as_ref().map(Email::as_str),
            "whatsapp": self.whatsapp.as_ref().map(|number| Self::shown(number, query)),
            "language": self.language,
            "opted_out": self.opted_out,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "bookings": self.bookings,
            "messages": self.messages,
            "replies": replies,
        })
    }
}

impl PersonReply {
    /// The number as the output shows it: whole only when it is the number the user typed.
    pub fn shown(&self, query: &PersonQuery) -> String {
        match query {
            PersonQuery::Phone(typed) if typed.e164() == self.number => self.number.clone(),
            _ => crate::domain::mask_number(&self.number),
        }
    }
}

/// What `kabar applicant erase` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    pub applicant_id: i64,
    /// The mobile number, masked.
    pub mobile: String,
    pub bookings_removed: u64,
    /// Queued messages that will not be sent.
    pub messages_cancelled: u64,
    /// Of those, messages a worker had already claimed: one may have reached the provider in
    /// the last seconds.
    pub messages_in_flight: u64,
    /// Every message of the person, now linked to nobody (statuses kept for reports).
    pub messages_anonymised: u64,
    pub attempt_errors_wiped: u64,
    pub replies_masked: u64,
    pub audit_id: i64,
}

impl std::fmt::Display for ErasureReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "erased applicant {} ({})", self.applicant_id, self.mobile)?;
        writeln!(f, "  {} bookings removed", self.bookings_removed)?;
        write!(f, "  {} pending messages cancelled", self.messages_cancelled)?;
        if self.messages_in_flight > 0 {
            write!(
                f,
                " ({} already claimed by a worker: may have reached the provider)",
                self.messages_in_flight
            )?;
        }
        writeln!(f)?;
        writeln!(f, "  {} messages anonymised (statuses kept for reports)", self.messages_anonymised)?;
        writeln!(f, "  {} attempt error texts wiped", self.attempt_errors_wiped)?;
        writeln!(f, "  {} reply numbers masked", self.replies_masked)?;
        write!(f, "recorded as audit row {}", self.audit_id)
    }
}
