//! The variables a template sees: the context, pre-formatted for one language.
//!
//! Dates, service and product names are formatted here rather than by template helpers, so a
//! template author writes `{{when}}` and cannot get the zone wrong. An absent optional fact is
//! left out of the view (not set to null): strict mode then makes `{{expected_restoration}}` an
//! error unless the template guards it with `{{#if expected_restoration}}`.

use serde_json::{json, Map, Value};

use super::context::NoticeContext;
use super::dates;
use crate::domain::{Channel, Language, Product, Service, Stage};

/// More bookings than this get the compact form (`many_bookings`).
pub const MANY_BOOKINGS: usize = 2;

/// Variables that may be absent; `{{#if}}` on any other missing name is an error (a misspelling).
pub const OPTIONAL: &[&str] = &[
    "service",
    "service_id",
    "service_short",
    "reason",
    "expected_restoration",
    "expected_restoration_short",
    "pickup_hours",
    "pickup_extra_days",
    "broadcast_text",
    "sender",
    "office_website",
    "office_instagram",
    "unsubscribe_url",
    "rescheduled_to",
    "rescheduled_to_short",
    "awaiting_codes",
    "awaiting_appointments",
    "awaiting_details",
    "interviewed_codes",
    "office_phone",
];

/// The variables of `context` in `language` on `channel`, as the templates see them.
pub fn build(context: &NoticeContext, language: Language, channel: Channel) -> Value {
    let zone = context.office.timezone;
    let bookings: Vec<Value> = context
        .bookings
        .iter()
        .map(|booking| {
            let mut line = json!({
                "code": booking.code.as_str(),
                "holder_name": booking.holder_name,
                "unit_name": booking.unit_name,
                "when": dates::long(booking.appointment_at, zone, language),
                "when_short": dates::short(booking.appointment_at, zone, language),
                "product": product_name(booking.product, language),
                "express": booking.express,
                "awaiting_appointment": awaiting_appointment(booking.stage),
            });
            if let Some(new_slot) = booking.rescheduled_to {
                line["rescheduled_to"] = dates::long(new_slot, zone, language).into();
                line["rescheduled_to_short"] = dates::short(new_slot, zone, language).into();
            }
            line
        })
        .collect();
    let codes: Vec<&str> = context.bookings.iter().map(|b| b.code.as_str()).collect();
    let (awaiting, interviewed): (Vec<_>, Vec<_>) =
        context.bookings.iter().partition(|b| awaiting_appointment(b.stage));
    let join = |bookings: Vec<&super::context::BookingLine>| {
        bookings.iter().map(|b| b.code.as_str()).collect::<Vec<_>>().join(", ")
    };

    let mut view = Map::new();
    let mut set = |key: &str, value: Value| {
        view.insert(key.to_owned(), value);
    };
    set("language", language.as_str().into());
    set("applicant_name", context.applicant_name.clone().into());
    set("office_name", context.office.name.clone().into());
    set("office_short", context.office.short_name.clone().into());
    // A phone is printed as a phone; an office without one is reached by the fallback contact,
    // and the wording says "see", not "call".
    let contact = context.office.phone.clone().unwrap_or_else(|| context.office.fallback_contact.clone());
    let contact_line = match (&context.office.phone, language) {
        (Some(_), Language::Id) => format!("hubungi {contact}"),
        (Some(_), Language::En) => format!("call {contact}"),
        (None, Language::Id) => format!("lihat {contact}"),
        (None, Language::En) => format!("see {contact}"),
    };
    if let Some(phone) = &context.office.phone {
        set("office_phone", phone.clone().into());
    }
    set("office_contact", contact.into());
    set("office_contact_line", contact_line.into());
    set("office_address", context.office.address.clone().into());
    set("booking_codes", codes.join(", ").into());
    set("booking_count", codes.len().into());
    set("several_bookings", (codes.len() > 1).into());
    // Beyond two bookings an SMS lists codes only and WhatsApp leaves out the units: a family
    // of four with dates, times and unit names would not fit two segments or 1,024 characters.
    set("many_bookings", (codes.len() > MANY_BOOKINGS).into());
    set("bookings", bookings.into());
    // "Reply STOP" works on SMS and WhatsApp only; an email carries the unsubscribe link, and a
    // template that puts `opt_out` in an email fails instead of telling readers to reply STOP.
    if channel != Channel::Email {
        set("opt_out", context.opt_out.get(language).into());
    }
    // Who still has the appointment ahead and who is past it: an outage after the interview
    // means "your passport will be late, no need to come", before it "come as booked".
    if !awaiting.is_empty() {
        let with_dates: Vec<String> = awaiting
            .iter()
            .map(|b| format!("{} ({})", b.code.as_str(), dates::short(b.appointment_at, zone, language)))
            .collect();
        set("awaiting_appointments", with_dates.join(", ").into());
        let details: Vec<String> = awaiting
            .iter()
            .map(|b| {
                format!(
                    "{} {}, {}",
                    b.code.as_str(),
                    dates::long(b.appointment_at, zone, language),
                    b.unit_name
                )
            })
            .collect();
        set("awaiting_details", details.join("; ").into());
        set("awaiting_codes", join(awaiting).into());
    }
    if !interviewed.is_empty() {
        set("interviewed_codes", join(interviewed).into());
    }
    if let Some(website) = &context.office.website {
        set("office_website", website.clone().into());
    }
    if let Some(handle) = &context.office.instagram {
        set("office_instagram", handle.clone().into());
    }
    if let Some(service) = context.service {
        set("service", service_name(service, language).into());
        set("service_id", service.as_str().into());
        set("service_short", service_short(service, language).into());
    }
    if let Some(reason) = &context.reason {
        set("reason", reason.get(language).into());
    }
    if let Some(at) = context.expected_restoration {
        set("expected_restoration", dates::long(at, zone, language).into());
        set("expected_restoration_short", dates::short(at, zone, language).into());
    }
    if let Some(pickup) = &context.pickup {
        set("pickup_hours", pickup.hours.get(language).into());
        if let Some(extra) = &pickup.extra_days {
            set("pickup_extra_days", extra.get(language).into());
        }
    }
    if let Some(broadcast) = &context.broadcast {
        set("broadcast_text", broadcast.text.get(language).into());
        if let Some(sender) = &broadcast.sender {
            set("sender", sender.clone().into());
        }
    }
    if let Some(url) = &context.unsubscribe_url {
        set("unsubscribe_url", url.as_str().into());
    }
    Value::Object(view)
}

/// Whether the biometrics and interview are still ahead.
fn awaiting_appointment(stage: Stage) -> bool {
    stage == Stage::Booked
}

/// The service as the applicant calls it: a bare noun, because the templates say "Layanan
/// {{service}}" / "the {{service}} service" ("layanan layanan izin tinggal" otherwise).
pub fn service_name(service: Service, language: Language) -> &'static str {
    match (service, language) {
        (Service::Registration, Language::Id) => "pendaftaran M-Paspor",
        (Service::Registration, Language::En) => "M-Paspor registration",
        (Service::Biometrics, Language::Id) => "perekaman biometrik dan wawancara",
        (Service::Biometrics, Language::En) => "biometrics and interview",
        (Service::Printing, Language::Id) => "pencetakan paspor",
        (Service::Printing, Language::En) => "passport printing",
        (Service::Epassport, Language::Id) => "penerbitan paspor elektronik",
        (Service::Epassport, Language::En) => "e-passport issuance",
        (Service::Express, Language::Id) => "percepatan paspor",
        (Service::Express, Language::En) => "express passport",
        (Service::Pickup, Language::Id) => "pengambilan paspor",
        (Service::Pickup, Language::En) => "passport pickup",
        (Service::StayPermit, Language::Id) => "izin tinggal",
        (Service::StayPermit, Language::En) => "stay permit",
        (Service::BorderCrossing, Language::Id) => "pemeriksaan perlintasan",
        (Service::BorderCrossing, Language::En) => "border crossing",
        (Service::Visa, Language::Id) => "visa",
        (Service::Visa, Language::En) => "visa",
        (Service::TravelBan, Language::Id) => "cegah dan tangkal",
        (Service::TravelBan, Language::En) => "travel ban",
    }
}

/// The service in two or three words, for SMS.
pub fn service_short(service: Service, language: Language) -> &'static str {
    match (service, language) {
        (Service::Biometrics, Language::Id) => "foto & wawancara",
        (Service::Biometrics, Language::En) => "biometrics & interview",
        (Service::Printing, Language::Id) => "cetak paspor",
        (Service::Printing, Language::En) => "passport printing",
        (Service::Epassport, Language::Id) => "cetak paspor elektronik",
        (Service::Epassport, Language::En) => "e-passport printing",
        (Service::Express, Language::Id) => "paspor percepatan",
        (Service::Express, Language::En) => "express passports",
        (Service::Pickup, Language::Id) => "pengambilan paspor",
        (Service::Pickup, Language::En) => "passport pickup",
        (Service::StayPermit, Language::Id) => "izin tinggal",
        (Service::StayPermit, Language::En) => "stay permits",
        (other, language) => service_name(other, language),
    }
}

fn product_name(product: Product, language: Language) -> &'static str {
    match (product, language) {
        (Product::Regular, Language::Id) => "paspor biasa",
        (Product::Regular, Language::En) => "regular passport",
        (Product::Epassport, Language::Id) => "paspor elektronik",
        (Product::Epassport, Language::En) => "e-passport",
    }
}

/// Every variable a template may use, nested ones as `bookings.code`, for error messages (a
/// test keeps it equal to what [`build`] produces for the samples).
pub const ALL: &[&str] = &[
    "applicant_name",
    "awaiting_appointments",
    "awaiting_codes",
    "awaiting_details",
    "booking_codes",
    "booking_count",
    "bookings",
    "bookings.awaiting_appointment",
    "bookings.code",
    "bookings.express",
    "bookings.holder_name",
    "bookings.product",
    "bookings.rescheduled_to",
    "bookings.rescheduled_to_short",
    "bookings.unit_name",
    "bookings.when",
    "bookings.when_short",
    "broadcast_text",
    "expected_restoration",
    "expected_restoration_short",
    "interviewed_codes",
    "language",
    "many_bookings",
    "office_address",
    "office_contact",
    "office_contact_line",
    "office_instagram",
    "office_name",
    "office_phone",
    "office_short",
    "office_website",
    "opt_out",
    "pickup_extra_days",
    "pickup_hours",
    "reason",
    "sender",
    "service",
    "service_id",
    "service_short",
    "several_bookings",
    "unsubscribe_url",
];

/// The names of the variables in a view, nested ones as `bookings.code`.
pub fn variable_names(view: &Value) -> Vec<String> {
    let mut names = Vec::new();
    if let Value::Object(map) = view {
        for (key, value) in map {
            match value {
                Value::Array(items) => {
                    let mut nested: Vec<String> = items
                        .iter()
                        .filter_map(Value::as_object)
                        .flat_map(|item| item.keys().map(|k| format!("{key}.{k}")))
                        .collect();
                    nested.sort();
                    nested.dedup();
                    names.push(key.clone());
                    names.extend(nested);
                }
                _ => names.push(key.clone()),
            }
        }
    }
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::render::{samples, NoticeKind};

    #[test]
    fn the_list_of_variables_is_what_the_views_hold() {
        let mut seen = BTreeSet::new();
        for &kind in NoticeKind::ALL {
            for (_, context) in samples::variants(kind) {
                for language in Language::ALL {
                    for channel in Channel::ALL {
                        seen.extend(variable_names(&build(&context, *language, *channel)));
                    }
                }
            }
        }
        let listed: BTreeSet<String> = ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(seen, listed);
        for optional in OPTIONAL {
            assert!(ALL.iter().any(|name| name.ends_with(optional)), "{optional}");
        }
    }
}
