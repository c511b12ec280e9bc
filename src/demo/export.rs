//! Bookings written as an M-Paspor export, the file `kabar import bookings` reads.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;

use chrono::{Datelike, NaiveDate, Timelike};

use super::{phones, SeedOffice};
use crate::domain::Booking;

/// The export's columns, in order.
pub const BOOKINGS_CSV_HEADER: [&str; 13] = [
    "booking_code",
    "office_code",
    "unit_code",
    "name",
    "phone",
    "email",
    "whatsapp",
    "language",
    "appointment_at",
    "product",
    "express",
    "stage",
    "applied_at",
];

/// Phone spellings by row, most often the local `0812-3456-7890`, so an import meets every form
/// people type (see [`phones::spell`]).
const PHONE_STYLES: [usize; 10] = [0, 0, 0, 1, 1, 2, 3, 4, 5, 6];
const FLAGS: [(&str, &str); 5] =
    [("yes", "no"), ("yes", "no"), ("ya", "tidak"), ("true", "false"), ("1", "0")];

/// Writes `bookings` as CSV with [`BOOKINGS_CSV_HEADER`]: `appointment_at` as `YYYY-MM-DD HH:MM` in
/// the office's zone (looked up in `offices`), `name` the passport holder, empty cells for absent
/// values, phone numbers and yes/no flags in varied real-world spellings. Returns the number of
/// bookings written.
///
/// A booking whose office is not in `offices` fails with [`io::ErrorKind::InvalidInput`].
pub fn write_bookings_csv<W: io::Write>(
    bookings: impl IntoIterator<Item = Booking>,
    offices: &[SeedOffice],
    out: W,
) -> io::Result<u64> {
    let zones: HashMap<&str, chrono_tz::Tz> =
        offices.iter().map(|office| (office.code.as_str(), office.timezone.0)).collect();
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(BOOKINGS_CSV_HEADER)?;
    let (mut phone, mut whatsapp, mut appointment, mut applied) =
        (String::new(), String::new(), String::new(), String::new());
    let mut written = 0u64;
    for booking in bookings {
        let zone = zones.get(booking.office.as_str()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("booking {}: office {} is not in the office list", booking.code, booking.office),
            )
        })?;
        let row = written as usize;
        phone.clear();
        phones::spell(booking.applicant.mobile.e164(), PHONE_STYLES[row % 10], &mut phone);
        whatsapp.clear();
        if let Some(number) = &booking.applicant.whatsapp {
            phones::spell(number.e164(), PHONE_STYLES[(row + 3) % 10], &mut whatsapp);
        }
        let local = booking.appointment_at.with_timezone(zone);
        appointment.clear();
        push_date(&mut appointment, local.date_naive());
        let _ = write!(appointment, " {:02}:{:02}", local.hour(), local.minute());
        applied.clear();
        if let Some(day) = booking.applied_on {
            push_date(&mut applied, day);
        }
        let (yes, no) = FLAGS[row % FLAGS.len()];
        writer.write_record([
            booking.code.as_str(),
            booking.office.as_str(),
            booking.unit.as_ref().map_or("", |unit| unit.as_str()),
            booking.holder_name.as_str(),
            phone.as_str(),
            booking.applicant.email.as_ref().map_or("", |e| e.as_str()),
            whatsapp.as_str(),
            booking.applicant.language.map_or("", |l| l.as_str()),
            appointment.as_str(),
            booking.product.as_str(),
            if booking.express { yes } else { no },
            booking.stage.as_str(),
            applied.as_str(),
        ])?;
        written += 1;
    }
    writer.flush()?;
    Ok(written)
}

fn push_date(out: &mut String, day: NaiveDate) {
    let _ = write!(out, "{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
}
