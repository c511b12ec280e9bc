//! What a planned message says: the facts the store holds (applicant, bookings, office, the event
//! or broadcast) turned into the [`NoticeContext`] the catalogue renders.

use serde::{Deserialize, Serialize};

use super::filter::BroadcastFilter;
use crate::domain::{OfficeCode, Service};
use crate::render::{
    short_office_name, BookingLine, BroadcastText, Localized, NoticeContext, NoticeKind, OfficeContact,
    PickupHours,
};
use crate::store::{ApplicantFacts, BookingFacts, BroadcastRecord, EventFacts, OfficeDirectory};

/// Wording kabar adds to every notice (`[notices]` in `kabar.toml`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NoticeConfig {
    /// Printed as the contact of an office whose phone the office list does not give.
    pub fallback_contact: String,
    /// Pickup hours in the `ready_for_pickup` notices the planner sends when pickup resumes (a
    /// broadcast gives its own).
    pub pickup_hours_id: String,
    pub pickup_hours_en: String,
    /// How to stop SMS and WhatsApp messages.
    pub opt_out_id: String,
    pub opt_out_en: String,
}

impl Default for NoticeConfig {
    fn default() -> Self {
        NoticeConfig {
            fallback_contact: "www.imigrasi.go.id".into(),
            pickup_hours_id: "Senin-Jumat pada jam layanan".into(),
            pickup_hours_en: "Monday to Friday during service hours".into(),
            opt_out_id: "Balas STOP untuk berhenti menerima pesan ini.".into(),
            opt_out_en: "Reply STOP to stop these messages.".into(),
        }
    }
}

/// What a message is about.
#[derive(Debug, Clone, Copy)]
pub enum About<'a> {
    Event(&'a EventFacts),
    Broadcast(&'a BroadcastRecord),
}

/// A notice could not be put together from the store's facts.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("office {0} is not in the office list")]
    UnknownOffice(OfficeCode),
    #[error("the message lists no booking")]
    NoBookings,
    #[error("broadcast {id}: stored {what} cannot be read: {message}")]
    Broadcast { id: i64, what: &'static str, message: String },
}

/// Builds notice contexts for one office list and wording.
#[derive(Debug, Clone, Copy)]
pub struct Notices<'a> {
    pub directory: &'a OfficeDirectory,
    pub config: &'a NoticeConfig,
}

impl Notices<'_> {
    /// The context of one applicant's notice at `office` about `bookings`.
    pub fn context(
        &self,
        office: &OfficeCode,
        kind: NoticeKind,
        applicant: &ApplicantFacts,
        bookings: &[BookingFacts],
        about: About<'_>,
        unsubscribe_url: Option<url::Url>,
    ) -> Result<NoticeContext, NoticeError> {
        let known =
            self.directory.office(office).ok_or_else(|| NoticeError::UnknownOffice(office.clone()))?;
        if bookings.is_empty() {
            return Err(NoticeError::NoBookings);
        }
        let contact = &known.contact;
        let office_contact = OfficeContact {
            name: known.name.clone(),
            short_name: short_office_name(&known.name),
            timezone: known.timezone,
            phone: contact.phone.clone(),
            fallback_contact: self.config.fallback_contact.clone(),
            address: contact.address.clone().unwrap_or_else(|| format!("{}, {}", known.name, known.region)),
            website: contact.website.clone(),
            instagram: contact.instagram.clone(),
        };
        let lines = bookings
            .iter()
            .map(|booking| BookingLine {
                code: booking.code.clone(),
                holder_name: booking.holder_name.clone(),
                unit_name: booking
                    .unit
                    .as_ref()
                    .and_then(|unit| self.directory.unit(unit))
                    .map_or_else(|| known.name.clone(), |unit| unit.name.clone()),
                appointment_at: booking.appointment_at,
                product: booking.product,
                express: booking.express,
                stage: booking.stage,
                rescheduled_to: None,
            })
            .collect();
        let default_pickup = || PickupHours {
            hours: Localized::new(self.config.pickup_hours_id.clone(), self.config.pickup_hours_en.clone()),
            extra_days: None,
        };
        let mut context = NoticeContext {
            applicant_name: applicant.name.clone(),
            office: office_contact,
            bookings: lines,
            service: None,
            reason: None,
            expected_restoration: None,
            pickup: (kind == NoticeKind::ReadyForPickup).then(default_pickup),
            broadcast: None,
            opt_out: Localized::new(self.config.opt_out_id.clone(), self.config.opt_out_en.clone()),
            unsubscribe_url,
        };
        match about {
            About::Event(event) => {
                context.service = event.service;
                context.reason = event.reason.clone().map(Localized::id_only);
                context.expected_restoration = event.expected_at;
            }
            About::Broadcast(broadcast) => {
                let filter: BroadcastFilter =
                    serde_json::from_str(&broadcast.filter_json).map_err(|err| NoticeError::Broadcast {
                        id: broadcast.id,
                        what: "filter",
                        message: err.to_string(),
                    })?;
                context.service = single(&filter.services);
                if let Some(pickup) = &broadcast.pickup_json {
                    context.pickup = Some(parse_pickup(pickup).map_err(|message| {
                        NoticeError::Broadcast { id: broadcast.id, what: "pickup hours", message }
                    })?);
                }
                if let Some(text) = &broadcast.text_id {
                    context.broadcast = Some(BroadcastText {
                        text: Localized { id: text.clone(), en: broadcast.text_en.clone() },
                        // Without a sender the office speaks, and it is named already.
                        sender: broadcast.sender.clone(),
                    });
                }
            }
        }
        Ok(context)
    }
}

fn single(services: &[Service]) -> Option<Service> {
    match services {
        [service] => Some(*service),
        _ => None,
    }
}

/// Pickup hours as a broadcast stores them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredPickup {
    pub hours_id: String,
    pub hours_en: Option<String>,
    pub extra_id: Option<String>,
    pub extra_en: Option<String>,
}

impl StoredPickup {
    pub fn hours(&self) -> PickupHours {
        PickupHours {
            hours: Localized { id: self.hours_id.clone(), en: self.hours_en.clone() },
            extra_days: self
                .extra_id
                .as_ref()
                .map(|id| Localized { id: id.clone(), en: self.extra_en.clone() }),
        }
    }
}

fn parse_pickup(json: &str) -> Result<PickupHours, String> {
    serde_json::from_str::<StoredPickup>(json).map(|stored| stored.hours()).map_err(|err| err.to_string())
}
