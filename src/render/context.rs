//! The facts a notice is written from, as the planner fills them from the store.
//!
//! One context is one applicant at one office: an applicant with bookings at two offices gets two
//! notices, each in the zone of its own office. Facts that only some kinds use are `Option`s; a
//! template that needs one which is absent fails to render (strict mode) instead of printing a
//! hole, so the planner learns at once that it sent an incomplete context.

use chrono::{DateTime, Utc};

use crate::domain::{BookingCode, Language, Product, Service, Stage, TimeZone};

/// Staff-written text in Indonesian, with an optional English version. English readers get the
/// Indonesian text when no translation was written: an untranslated notice beats no notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Localized {
    pub id: String,
    pub en: Option<String>,
}

impl Localized {
    pub fn new(id: impl Into<String>, en: impl Into<String>) -> Self {
        Self { id: id.into(), en: Some(en.into()) }
    }

    /// Indonesian only.
    pub fn id_only(id: impl Into<String>) -> Self {
        Self { id: id.into(), en: None }
    }

    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Id => &self.id,
            Language::En => self.en.as_deref().unwrap_or(&self.id),
        }
    }
}

/// The office that speaks, and how to reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeContact {
    /// The full name, e.g. `Kantor Imigrasi Kelas I TPI Palembang`.
    pub name: String,
    /// The name for SMS, e.g. `Kanim Palembang`; see [`short_office_name`].
    pub short_name: String,
    pub timezone: TimeZone,
    /// `None` when the office list gives no phone number.
    pub phone: Option<String>,
    /// How to reach the office when it has no phone (`notices.fallback_contact`, a website by
    /// default).
    pub fallback_contact: String,
    pub address: String,
    pub website: Option<String>,
    /// The handle without `@`.
    pub instagram: Option<String>,
}

/// One booking of the applicant at this office.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingLine {
    pub code: BookingCode,
    /// Whom the passport is for (a parent books for the children).
    pub holder_name: String,
    /// The unit where the appointment is (the office itself, a ULP, a counter in an MPP).
    pub unit_name: String,
    pub appointment_at: DateTime<Utc>,
    pub product: Product,
    pub express: bool,
    /// Where the application stands. `Booked` means the appointment (biometrics and interview) is
    /// still ahead; any later stage means it is past: the two hear different advice.
    pub stage: Stage,
    /// The new slot when the office moved a postponed appointment; `None` while it is not known.
    pub rescheduled_to: Option<DateTime<Utc>>,
}

/// Pickup hours after printing resumes, including extra opening days (Tangerang opened on a
/// weekend for the held passports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupHours {
    /// e.g. "Senin-Jumat 08.00-15.00 WIB".
    pub hours: Localized,
    /// e.g. "Sabtu dan Minggu, 29-30 Juni, 08.00-12.00 WIB".
    pub extra_days: Option<Localized>,
}

/// A staff-written broadcast and who sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastText {
    pub text: Localized,
    /// The person or section that signs it, e.g. "Seksi Lalu Lintas Keimigrasian"; `None`: the
    /// office itself (which every rendering already names).
    pub sender: Option<String>,
}

/// Everything a notice may say. The planner fills it; [`super::render`] turns it into words.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeContext {
    /// The name on the M-Paspor account that holds the phone number.
    pub applicant_name: String,
    pub office: OfficeContact,
    /// At least one; every booking of the applicant this notice concerns, in appointment order.
    /// The planner filters them by what the service touches, and the templates trust it: for an
    /// e-passport outage only e-passport applications (regular passports are still issued), for
    /// an express suspension only bookings with the express option, for pickup only applications
    /// ready for pickup.
    pub bookings: Vec<BookingLine>,
    /// The service that stopped, slowed, or (for `service_restored`) came back.
    pub service: Option<Service>,
    /// Why, in a few words ("gangguan Pusat Data Nasional").
    pub reason: Option<Localized>,
    pub expected_restoration: Option<DateTime<Utc>>,
    pub pickup: Option<PickupHours>,
    pub broadcast: Option<BroadcastText>,
    /// How to stop receiving SMS or WhatsApp messages, e.g. "Balas STOP untuk berhenti". Not used
    /// in email, where replying STOP does nothing: emails carry `unsubscribe_url` instead.
    pub opt_out: Localized,
    /// One-click unsubscribe link (`List-Unsubscribe` and the link in the footer); required for
    /// email, where rendering without it fails.
    pub unsubscribe_url: Option<url::Url>,
}

/// `Kanim Soekarno-Hatta` from `Kantor Imigrasi Kelas I Khusus TPI Soekarno-Hatta`: the class
/// words are dropped and "Kantor Imigrasi" becomes "Kanim", the abbreviation every Indonesian
/// reader knows. For SMS, where the full name alone can take half a segment. A name that does not
/// start with "Kantor Imigrasi" is returned unchanged.
pub fn short_office_name(name: &str) -> String {
    let Some(rest) = name.trim().strip_prefix("Kantor Imigrasi") else {
        return name.trim().to_owned();
    };
    const CLASS_WORDS: [&str; 10] =
        ["Kelas", "I", "II", "III", "Khusus", "TPI", "Non", "Tempat", "Pemeriksaan", "Imigrasi"];
    let words: Vec<&str> = rest.split_whitespace().collect();
    let place = words
        .iter()
        .position(|word| !CLASS_WORDS.contains(word))
        .map(|first| words[first..].join(" "))
        .unwrap_or_default();
    if place.is_empty() {
        name.trim().to_owned()
    } else {
        format!("Kanim {place}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_drop_the_class() {
        for (full, short) in [
            ("Kantor Imigrasi Kelas I Tempat Pemeriksaan Imigrasi Soekarno-Hatta", "Kanim Soekarno-Hatta"),
            ("Kantor Imigrasi Kelas I TPI Palembang", "Kanim Palembang"),
            ("Kantor Imigrasi Kelas II Non TPI Tangerang", "Kanim Tangerang"),
            ("Kantor Imigrasi Kelas III Putussibau", "Kanim Putussibau"),
            ("Kantor Imigrasi Kelas I Khusus TPI Jakarta Selatan", "Kanim Jakarta Selatan"),
            ("ULP Mal Pelayanan Publik", "ULP Mal Pelayanan Publik"),
        ] {
            assert_eq!(short_office_name(full), short, "{full}");
        }
    }

    #[test]
    fn english_falls_back_to_indonesian() {
        let text = Localized::id_only("gangguan sistem");
        assert_eq!(text.get(Language::En), "gangguan sistem");
        let both = Localized::new("gangguan sistem", "system outage");
        assert_eq!(both.get(Language::En), "system outage");
    }
}
