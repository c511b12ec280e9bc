//! Booking exports checked in memory rather than streamed from a file: the staff API's booking
//! sync (M-Paspor pushes a JSON array, or posts the CSV of `kabar import bookings`), and tests.
//! A JSON row is checked cell by cell exactly as a CSV row (the same parser, the same messages),
//! then written by the import's own statements: what a re-import does to a booking, a sync does.

use std::io::Read;
use std::time::Instant;

use chrono::Utc;

use super::bookings::{parse_file, parse_row, Accept, RowContext, SeenCodes};
use super::csv_table::{Header, Row, RowError};
use super::{ImportError, ImportOptions, ImportReport, BOOKING_COLUMNS};
use crate::audit::Origin;
use crate::domain::{Booking, NumberPolicy};
use crate::store::{OfficeDirectory, Store, UpsertCounts};

/// The most rows one JSON sync may carry.
pub const MAX_SYNC_ROWS: usize = 10_000;

/// A booking export read and checked, not written.
#[derive(Debug, Default)]
pub struct ParsedBookings {
    /// The valid rows, in file order.
    pub bookings: Vec<Booking>,
    /// Rows read and rejected, with every problem.
    pub report: ImportReport,
}

/// Reads and checks a whole booking export in memory, against `offices` and `numbers`; for
/// tests, fuzzing and small files ([`import_bookings`](super::import_bookings) streams).
#[doc(hidden)]
pub fn parse_bookings(
    input: impl Read,
    file: &str,
    offices: &OfficeDirectory,
    numbers: &NumberPolicy,
) -> Result<ParsedBookings, ImportError> {
    let mut parsed = ParsedBookings::default();
    parsed.report.file = file.to_owned();
    parsed.report.ignored_columns =
        parse_file(input, file, (offices, numbers, None), usize::MAX, |mut batch| {
            parsed.report.rows += batch.rows;
            parsed.report.rejected += batch.rejected;
            parsed.report.record_errors(batch.errors);
            parsed.bookings.append(&mut batch.bookings);
            true
        })?;
    Ok(parsed)
}

/// Bookings as the staff API receives them.
#[derive(Debug)]
pub enum BookingRows<'a> {
    /// Objects keyed by the export's column names; `express` may be a boolean, absent or `null`
    /// cells are empty.
    Json(&'a [serde_json::Map<String, serde_json::Value>]),
    /// The CSV of `kabar import bookings`, whole.
    Csv(&'a [u8]),
}

/// A JSON value as the cell of a CSV row would hold it.
fn cell(value: &serde_json::Value) -> Result<String, &'static str> {
    match value {
        serde_json::Value::Null => Ok(String::new()),
        serde_json::Value::String(text) => Ok(text.clone()),
        serde_json::Value::Bool(flag) => Ok(if *flag { "yes" } else { "no" }.to_owned()),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        _ => Err("is not a string; write the value as the export's column holds it"),
    }
}

/// Checks JSON rows as CSV rows are checked; a row's errors carry its index in the array (from 0)
/// where a file's carry a line.
fn parse_json(
    rows: &[serde_json::Map<String, serde_json::Value>],
    offices: &OfficeDirectory,
    numbers: &NumberPolicy,
    accept: Option<&Accept<'_>>,
) -> ParsedBookings {
    let header = Header::canonical(BOOKING_COLUMNS);
    let mut context = RowContext { offices, numbers, seen: SeenCodes::default(), accept };
    let mut parsed = ParsedBookings::default();
    let mut record = csv::ByteRecord::new();
    for (index, row) in rows.iter().enumerate() {
        let index = index as u64;
        parsed.report.rows += 1;
        let mut errors: Vec<RowError> = row
            .keys()
            .filter(|key| !BOOKING_COLUMNS.iter().any(|spec| spec.name == key.as_str()))
            .map(|key| RowError {
                line: index,
                column: Some(key.clone()),
                message: format!(
                    "is not a booking field; use {}",
                    BOOKING_COLUMNS.iter().map(|spec| spec.name).collect::<Vec<_>>().join(", ")
                ),
            })
            .collect();
        record.clear();
        for spec in BOOKING_COLUMNS {
            match row.get(spec.name).map(cell).unwrap_or(Ok(String::new())) {
                Ok(text) => record.push_field(text.as_bytes()),
                Err(message) => {
                    errors.push(RowError {
                        line: index,
                        column: Some(spec.name.to_owned()),
                        message: message.into(),
                    });
                    record.push_field(b"");
                }
            }
        }
        let detached = Row::detached(&header, &record, index);
        let mut cells = detached.cells();
        let booking = parse_row(&mut cells, &mut context);
        errors.append(&mut cells.errors);
        match booking {
            Some(booking) if errors.is_empty() => parsed.bookings.push(booking),
            _ => {
                parsed.report.rejected += 1;
                parsed.report.record_errors(errors);
            }
        }
    }
    parsed
}

/// Checks `rows` as `kabar import bookings` checks a file, refusing also what `accept` refuses,
/// and writes the valid ones with the import's statements: by default the valid rows are written
/// and the bad ones reported; with `options.strict` nothing is written unless every row is valid.
/// All in one transaction with its audit row (a sync is at most the request body).
pub async fn sync_bookings(
    store: &Store,
    rows: BookingRows<'_>,
    label: &str,
    options: &ImportOptions,
    accept: Option<&Accept<'_>>,
    origin: Option<&Origin>,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let offices = store.office_directory().await?;
    if offices.is_empty() {
        return Err(ImportError::NoOffices { file: label.to_owned() });
    }
    let mut parsed = match rows {
        BookingRows::Json(rows) => parse_json(rows, &offices, &options.numbers, accept),
        BookingRows::Csv(bytes) => {
            let mut parsed = ParsedBookings::default();
            parsed.report.ignored_columns =
                parse_file(bytes, label, (&offices, &options.numbers, accept), usize::MAX, |mut batch| {
                    parsed.report.rows += batch.rows;
                    parsed.report.rejected += batch.rejected;
                    parsed.report.record_errors(batch.errors);
                    parsed.bookings.append(&mut batch.bookings);
                    true
                })?;
            parsed
        }
    };
    let mut report = std::mem::take(&mut parsed.report);
    report.file = label.to_owned();
    if options.strict && report.rejected > 0 {
        report.elapsed = started.elapsed();
        return Ok(report);
    }
    report.written = true;
    if !parsed.bookings.is_empty() {
        let before = store.count_bookings().await?;
        let write_error = |source| ImportError::Write {
            file: label.to_owned(),
            first_line: 1,
            last_line: report.rows,
            source,
        };
        let at = Utc::now();
        let write = async {
            let mut import = store.begin_booking_import().await?;
            let affected = import.upsert(&parsed.bookings, at).await?;
            if let Some(origin) = origin {
                // Counts and offices only: the rows are personal data.
                let entry = origin
                    .entry(at, "bookings.sync", format!("bookings:{label}"))
                    .with_offices(parsed.bookings.iter().map(|booking| booking.office.clone()))
                    .with_summary(serde_json::json!({
                        "rows": report.rows,
                        "rejected": report.rejected,
                        "offered": parsed.bookings.len(),
                        "written": affected,
                        "strict": options.strict,
                    }));
                import.audit(entry).await?;
            }
            import.commit().await?;
            Ok(affected)
        };
        let affected = write.await.map_err(write_error)?;
        let inserted = store.count_bookings().await?.saturating_sub(before);
        report.counts = UpsertCounts::from_affected(parsed.bookings.len() as u64, affected, inserted);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
