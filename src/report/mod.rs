//! The delivery report as written out, one format for `kabar messages export` and the API's
//! streamed `…/messages`: CSV (a header row, booking codes joined with `+`) or JSON lines, phone
//! numbers masked unless the reader may see them whole.

pub mod calls;

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::Channel;
use crate::store::ExportRow;

/// The columns of the CSV export, in the order of [`Line`]'s fields.
pub const EXPORT_COLUMNS: [&str; 20] = [
    "message_id",
    "incident_id",
    "broadcast_id",
    "office",
    "bookings",
    "phone",
    "channel",
    "provider",
    "kind",
    "language",
    "status",
    "attempts",
    "failure_class",
    "failure_reason",
    "created_at",
    "not_before",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
];

/// One message as written: `B` is the booking codes, joined for CSV and a list in JSON.
#[derive(serde::Serialize)]
pub struct Line<'a, B> {
    message_id: i64,
    incident_id: Option<i64>,
    broadcast_id: Option<i64>,
    office: &'a str,
    bookings: B,
    phone: Cow<'a, str>,
    channel: Option<&'static str>,
    provider: Option<&'a str>,
    kind: &'static str,
    language: &'static str,
    status: &'static str,
    attempts: u32,
    failure_class: Option<&'static str>,
    failure_reason: Option<Cow<'a, str>>,
    created_at: String,
    not_before: String,
    sent_at: Option<String>,
    delivered_at: Option<String>,
    read_at: Option<String>,
    failed_at: Option<String>,
}

/// The line of `row`; `csv` makes free text safe to open in a spreadsheet.
pub fn line<B>(row: &ExportRow, bookings: B, full_phone: bool, csv: bool) -> Line<'_, B> {
    let text = |text| if csv { spreadsheet_safe(text) } else { Cow::Borrowed(text) };
    Line {
        message_id: row.message_id,
        incident_id: row.incident_id,
        broadcast_id: row.broadcast_id,
        office: row.office.as_str(),
        bookings,
        phone: match &row.mobile {
            Some(mobile) if full_phone => Cow::Borrowed(mobile.e164()),
            Some(mobile) => Cow::Owned(mobile.masked()),
            // Anonymised: linked to nobody any more.
            None => Cow::Borrowed(""),
        },
        channel: row.channel.map(Channel::as_str),
        provider: row.provider.as_deref(),
        kind: row.kind.as_str(),
        language: row.language.as_str(),
        status: row.status.as_str(),
        attempts: row.attempts,
        failure_class: row.failure_class.map(|class| class.as_str()),
        failure_reason: row.failure_reason.as_deref().map(text),
        created_at: rfc3339(row.created_at),
        not_before: rfc3339(row.not_before),
        sent_at: row.sent_at.map(rfc3339),
        delivered_at: row.delivered_at.map(rfc3339),
        read_at: row.read_at.map(rfc3339),
        failed_at: row.failed_at.map(rfc3339),
    }
}

/// The booking codes of a row, joined with `+` for a CSV cell.
pub fn joined_codes(row: &ExportRow) -> String {
    row.bookings.iter().map(|code| code.as_str()).collect::<Vec<_>>().join("+")
}

/// The booking codes of a row, as a JSON list.
pub fn codes(row: &ExportRow) -> Vec<&str> {
    row.bookings.iter().map(|code| code.as_str()).collect()
}

/// `2024-06-20T03:00:00Z`.
pub fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula; free text from
/// applicants or providers is prefixed with `'` so opening the file cannot run anything (OWASP's
/// advice for CSV injection). Phone numbers and codes kabar wrote itself are left as they are.
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}
