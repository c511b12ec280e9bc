//! Realistic sample contexts, for previews and for checking templates: the longest office name
//! in use, two bookings with long holder and unit names, and every optional fact present; a
//! family of four (the compact form of `many_bookings`); bookings before and after the interview,
//! and at every open stage;
//! plus the lean variants (one booking, nothing optional) so that both sides of every `{{#if}}`
//! are rendered by [`super::check`].

use chrono::{DateTime, Utc};

use super::context::{
    short_office_name, BookingLine, BroadcastText, Localized, NoticeContext, OfficeContact, PickupHours,
};
use super::kind::NoticeKind;
use crate::domain::{parse_local_datetime, Product, Service, Stage, TimeZone};

/// The context `kabar templates preview` shows for `kind`: the longest realistic one.
pub fn context(kind: NoticeKind) -> NoticeContext {
    let mut context = full(soekarno_hatta());
    context.service = services(kind).first().copied();
    if matches!(kind, NoticeKind::AppointmentPostponed | NoticeKind::ServiceRestored) {
        context.bookings[0].rescheduled_to = Some(at("2024-07-01 09:00", jakarta()));
    }
    concerned_only(context)
}

/// Every context [`super::check`] renders `kind` with, each with a label for messages.
pub fn variants(kind: NoticeKind) -> Vec<(String, NoticeContext)> {
    let mut out = Vec::new();
    let services = services(kind);
    let service_list: Vec<Option<Service>> =
        if services.is_empty() { vec![None] } else { services.iter().copied().map(Some).collect() };
    for service in service_list {
        let name = service.map_or_else(String::new, |s| format!(", service {s}"));
        let mut long = full(soekarno_hatta());
        long.service = service;
        out.push((format!("two bookings, all facts{name}"), long.clone()));
        let mut mixed = long.clone();
        mixed.bookings[1].stage = Stage::Printing;
        out.push((format!("one booked, one past the interview{name}"), mixed.clone()));
        mixed.bookings[0].stage = Stage::Attended;
        out.push((format!("two past the interview{name}"), mixed));
        // Every stage alone, so that each kind is rendered for each place an application can
        // stand (the wording differs before and after the interview).
        for &stage in Stage::ALL.iter().filter(|stage| !stage.is_closed()) {
            let mut alone = long.clone();
            for booking in &mut alone.bookings {
                booking.stage = stage;
            }
            out.push((format!("two bookings, both {stage}{name}"), alone));
        }
        let mut four = with_four_bookings(long.clone());
        out.push((format!("four bookings, all facts{name}"), four.clone()));
        four.bookings[2].stage = Stage::Printing;
        four.bookings[3].stage = Stage::Attended;
        out.push((format!("four bookings, two past the interview{name}"), four));
        for booking in &mut long.bookings {
            booking.rescheduled_to = Some(at("2024-07-01 09:00", jakarta()));
        }
        out.push((format!("two bookings, both rescheduled{name}"), long.clone()));
        let four = with_four_bookings(long);
        out.push((format!("four bookings, all rescheduled{name}"), four));
        let mut lean = lean(kind, nunukan());
        lean.service = service;
        out.push((format!("one booking, no optional facts{name}"), lean));
    }
    out.into_iter().map(|(label, context)| (label, concerned_only(context))).collect()
}

/// The bookings as the planner would choose them for the context's service: an e-passport
/// outage concerns e-passport applications only (regular ones proceed), an express suspension
/// only bookings with the express option.
fn concerned_only(mut context: NoticeContext) -> NoticeContext {
    for booking in &mut context.bookings {
        match context.service {
            Some(Service::Epassport) => booking.product = Product::Epassport,
            Some(Service::Express) => booking.express = true,
            _ => {}
        }
    }
    context
}

/// The services a kind is sent for (empty when it is about no service).
fn services(kind: NoticeKind) -> Vec<Service> {
    use Service::*;
    match kind {
        NoticeKind::AppointmentPostponed => vec![Biometrics, StayPermit],
        NoticeKind::AppointmentUnchanged => vec![Epassport, Printing],
        NoticeKind::IssuanceDelayed => vec![Printing, Epassport],
        NoticeKind::ExpressSuspended => vec![Express],
        NoticeKind::PickupSuspended => vec![Pickup],
        NoticeKind::ServiceRestored => {
            vec![Biometrics, StayPermit, Printing, Epassport, Express, Pickup]
        }
        NoticeKind::StatusUpdate => vec![Biometrics, Epassport, Pickup],
        NoticeKind::ReadyForPickup | NoticeKind::Broadcast => vec![],
    }
}

fn jakarta() -> TimeZone {
    "Asia/Jakarta".parse().expect("a known zone")
}

fn at(local: &str, zone: TimeZone) -> DateTime<Utc> {
    parse_local_datetime(local, zone).expect("a valid sample time")
}

fn soekarno_hatta() -> OfficeContact {
    let name = "Kantor Imigrasi Kelas I Tempat Pemeriksaan Imigrasi Soekarno-Hatta";
    OfficeContact {
        name: name.to_owned(),
        short_name: short_office_name(name),
        timezone: jakarta(),
        phone: Some("(021) 5507 0000".to_owned()),
        fallback_contact: "www.imigrasi.go.id".to_owned(),
        address: "Jl. Raya Bandara Soekarno-Hatta, Kota Tangerang, Banten".to_owned(),
        website: Some("kanimsoekarnohatta.imigrasi.go.id".to_owned()),
        instagram: Some("kanim_soekarnohatta".to_owned()),
    }
}

fn nunukan() -> OfficeContact {
    let name = "Kantor Imigrasi Kelas II TPI Nunukan";
    OfficeContact {
        name: name.to_owned(),
        short_name: short_office_name(name),
        timezone: "Asia/Makassar".parse().expect("a known zone"),
        // Nunukan's lean sample has no phone: the fallback contact is printed instead.
        phone: None,
        fallback_contact: "www.imigrasi.go.id".to_owned(),
        address: "Jl. Ujang Dewa, Nunukan, Kalimantan Utara".to_owned(),
        website: None,
        instagram: None,
    }
}

fn full(office: OfficeContact) -> NoticeContext {
    let zone = office.timezone;
    NoticeContext {
        applicant_name: "Muhammad Rizky Ramadhan Saputra".to_owned(),
        bookings: vec![
            BookingLine {
                code: "MP2406SHX7K29QA".parse().expect("a valid code"),
                holder_name: "Muhammad Rizky Ramadhan Saputra".to_owned(),
                unit_name: "Unit Layanan Paspor Mal Pelayanan Publik Kota Tangerang".to_owned(),
                appointment_at: at("2024-06-24 09:00", zone),
                product: Product::Epassport,
                express: true,
                stage: Stage::Booked,
                rescheduled_to: None,
            },
            BookingLine {
                code: "MP2406SHX7K29QB".parse().expect("a valid code"),
                holder_name: "Aisyah Nurhaliza Putri Ramadhani".to_owned(),
                unit_name: "Unit Layanan Paspor Mal Pelayanan Publik Kota Tangerang".to_owned(),
                appointment_at: at("2024-06-24 09:30", zone),
                product: Product::Regular,
                express: false,
                stage: Stage::Booked,
                rescheduled_to: None,
            },
        ],
        office,
        service: None,
        reason: Some(Localized::new(
            "gangguan Pusat Data Nasional (PDN)",
            "an outage at the National Data Centre (PDN)",
        )),
        expected_restoration: Some(at("2024-06-27 08:00", zone)),
        pickup: Some(PickupHours {
            hours: Localized::new("Senin-Jumat 08.00-15.00 WIB", "Monday to Friday 08:00-15:00 WIB"),
            extra_days: Some(Localized::new(
                "Sabtu-Minggu 29-30 Juni 08.00-12.00 WIB",
                "Saturday-Sunday 29-30 June 08:00-12:00 WIB",
            )),
        }),
        broadcast: Some(BroadcastText {
            text: Localized::new(
                "Paspor yang tertunda cetak sudah selesai. Pengambilan dibuka juga Sabtu-Minggu \
                 29-30 Juni pukul 08.00-12.00 WIB. Bawa bukti bayar.",
                "Passports held by the outage are printed. Pickup is also open Saturday-Sunday \
                 29-30 June 08:00-12:00 WIB. Bring your payment receipt.",
            ),
            sender: Some("Seksi Lalu Lintas Keimigrasian".to_owned()),
        }),
        opt_out: Localized::new(
            "Balas STOP untuk berhenti menerima pesan ini.",
            "Reply STOP to stop these messages.",
        ),
        unsubscribe_url: Some(
            "https://kabar.imigrasi.go.id/berhenti/8f3a1c7e2b9d4f60".parse().expect("a valid URL"),
        ),
    }
}

/// A family of four: the two bookings of `context` and two more like them, half an hour apart.
fn with_four_bookings(mut context: NoticeContext) -> NoticeContext {
    let more: Vec<BookingLine> = context
        .bookings
        .iter()
        .zip(["MP2406SHX7K29QC", "MP2406SHX7K29QD"])
        .zip(["Fatimah Azzahra Ramadhani Putri", "Abdurrahman Hafizh Ramadhan Saputra"])
        .map(|((booking, code), holder)| BookingLine {
            code: code.parse().expect("a valid code"),
            holder_name: holder.to_owned(),
            appointment_at: booking.appointment_at + chrono::Duration::minutes(60),
            rescheduled_to: booking.rescheduled_to.map(|at| at + chrono::Duration::minutes(60)),
            ..booking.clone()
        })
        .collect();
    context.bookings.extend(more);
    context
}

/// One booking, and only the facts `kind` cannot do without.
fn lean(kind: NoticeKind, office: OfficeContact) -> NoticeContext {
    let mut context = full(office);
    context.bookings.truncate(1);
    context.reason = None;
    context.expected_restoration = None;
    context.pickup = Some(PickupHours {
        hours: Localized::new("Senin-Jumat 08.00-15.00 WITA", "Monday to Friday 08:00-15:00 WITA"),
        extra_days: None,
    });
    if kind != NoticeKind::ReadyForPickup {
        context.pickup = None;
    }
    match (kind, &mut context.broadcast) {
        // Without a sender the office speaks (it is named once).
        (NoticeKind::Broadcast, Some(broadcast)) => broadcast.sender = None,
        _ => context.broadcast = None,
    }
    context
}
