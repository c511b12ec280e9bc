//! What the render tests share: a realistic family at Nunukan and ways to look at a rendering.

#[allow(unused_imports)] // each test module takes what it needs
pub(crate) use kabar::domain::{parse_local_datetime, Channel, Language, Product, Service, Stage, TimeZone};
#[allow(unused_imports)]
pub(crate) use kabar::render::{
    check, preview, render, samples, short_office_name, BookingLine, BroadcastText, Catalogue, Encoding,
    Localized, NoticeContext, NoticeKind, OfficeContact, PickupHours, Problem, RenderError, Rendered,
    SMS_SEGMENT_BUDGET,
};

/// Nunukan is in WITA: a date printed in WIB (the server's habit) would be an hour early.
pub(crate) fn nunukan_family() -> NoticeContext {
    let zone: TimeZone = "Asia/Makassar".parse().unwrap();
    let at = |local: &str| parse_local_datetime(local, zone).unwrap();
    let name = "Kantor Imigrasi Kelas II TPI Nunukan";
    NoticeContext {
        applicant_name: "Siti Rahmawati".to_owned(),
        office: OfficeContact {
            name: name.to_owned(),
            short_name: short_office_name(name),
            timezone: zone,
            phone: Some("(0556) 21 000".to_owned()),
            fallback_contact: "www.imigrasi.go.id".to_owned(),
            address: "Jl. Ujang Dewa, Nunukan, Kalimantan Utara".to_owned(),
            website: Some("kanimnunukan.imigrasi.go.id".to_owned()),
            instagram: Some("kanim_nunukan".to_owned()),
        },
        bookings: vec![
            BookingLine {
                code: "NNK24062501A".parse().unwrap(),
                holder_name: "Siti Rahmawati".to_owned(),
                unit_name: "Kantor Imigrasi Nunukan".to_owned(),
                appointment_at: at("2024-06-25 09:00"),
                product: Product::Epassport,
                express: true,
                stage: Stage::Booked,
                rescheduled_to: None,
            },
            BookingLine {
                code: "NNK24062502B".parse().unwrap(),
                holder_name: "Ahmad Fauzan".to_owned(),
                unit_name: "Kantor Imigrasi Nunukan".to_owned(),
                appointment_at: at("2024-06-25 10:30"),
                product: Product::Regular,
                express: false,
                stage: Stage::Booked,
                rescheduled_to: None,
            },
        ],
        service: None,
        reason: Some(Localized::new("gangguan Pusat Data Nasional", "an outage at the National Data Centre")),
        expected_restoration: Some(at("2024-07-01 08:00")),
        pickup: Some(PickupHours {
            hours: Localized::new("Senin-Jumat 08.00-15.00 WITA", "Monday-Friday 08:00-15:00 WITA"),
            extra_days: Some(Localized::new(
                "Sabtu 29 Juni 08.00-12.00 WITA",
                "Saturday 29 June 08:00-12:00 WITA",
            )),
        }),
        broadcast: Some(BroadcastText {
            text: Localized::new(
                "Pendaftaran M-Paspor baru dibuka kembali mulai Senin 1 Juli.",
                "New M-Paspor registrations reopen on Monday 1 July.",
            ),
            sender: Some("Kepala Kantor Imigrasi Nunukan".to_owned()),
        }),
        opt_out: Localized::new("Balas STOP untuk berhenti.", "Reply STOP to opt out."),
        unsubscribe_url: Some("https://kabar.example.id/u/abc123".parse().unwrap()),
    }
}

pub(crate) fn service_for(kind: NoticeKind) -> Option<Service> {
    match kind {
        NoticeKind::AppointmentPostponed => Some(Service::Biometrics),
        NoticeKind::AppointmentUnchanged | NoticeKind::IssuanceDelayed => Some(Service::Epassport),
        NoticeKind::ExpressSuspended => Some(Service::Express),
        NoticeKind::PickupSuspended | NoticeKind::ServiceRestored => Some(Service::Pickup),
        NoticeKind::StatusUpdate => Some(Service::Printing),
        NoticeKind::ReadyForPickup | NoticeKind::Broadcast => None,
    }
}

/// Every text a rendering puts in front of the applicant, joined.
pub(crate) fn visible_text(rendered: &Rendered) -> String {
    match rendered {
        Rendered::Sms(sms) => sms.text.clone(),
        Rendered::Whatsapp(wa) => wa.text.clone(),
        Rendered::Email(email) => format!("{}\n{}\n{}", email.subject, email.text, email.html),
    }
}

/// Whether `kind` on `channel` states the appointment times.
pub(crate) fn shows_appointments(kind: NoticeKind, channel: Channel) -> bool {
    use NoticeKind::*;
    match channel {
        Channel::Sms => matches!(kind, AppointmentPostponed | AppointmentUnchanged | ExpressSuspended),
        _ => matches!(
            kind,
            AppointmentPostponed | AppointmentUnchanged | IssuanceDelayed | ExpressSuspended | StatusUpdate
        ),
    }
}

/// The Nunukan family with a staff broadcast.
pub(crate) fn with_broadcast(text: &str, sender: &str) -> NoticeContext {
    let mut context = nunukan_family();
    context.broadcast =
        Some(BroadcastText { text: Localized::id_only(text), sender: Some(sender.to_owned()) });
    context
}
