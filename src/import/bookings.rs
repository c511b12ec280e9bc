use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use super::csv_table::{ColumnSpec, RowError, Table};
use super::{file_label, ImportError, ImportOptions, ImportReport};
use crate::domain::{
    parse_date, parse_flag, parse_local_datetime, Applicant, Booking, BookingCode, Email, Language, Msisdn,
    OfficeCode, ParseError, Product, Stage,
};
use crate::store::{OfficeDirectory, Store, UpsertCounts};

/// The columns of an M-Paspor booking export.
pub const BOOKING_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec { name: "booking_code", required: true },
    ColumnSpec { name: "office_code", required: true },
    ColumnSpec { name: "unit_code", required: false },
    ColumnSpec { name: "name", required: true },
    ColumnSpec { name: "phone", required: true },
    ColumnSpec { name: "email", required: false },
    ColumnSpec { name: "whatsapp", required: false },
    ColumnSpec { name: "language", required: false },
    ColumnSpec { name: "appointment_at", required: true },
    ColumnSpec { name: "product", required: true },
    ColumnSpec { name: "express", required: true },
    ColumnSpec { name: "stage", required: true },
    ColumnSpec { name: "applied_at", required: false },
];
const CODE: usize = 0;
const OFFICE: usize = 1;
const UNIT: usize = 2;
const NAME: usize = 3;
const PHONE: usize = 4;
const EMAIL: usize = 5;
const WHATSAPP: usize = 6;
const LANGUAGE: usize = 7;
const APPOINTMENT: usize = 8;
const PRODUCT: usize = 9;
const EXPRESS: usize = 10;
const STAGE: usize = 11;
const APPLIED: usize = 12;

/// An import that writes this many rows refreshes the query planner's statistics.
const ANALYZE_AFTER: u64 = 10_000;

/// A batch of parsed rows on its way from the parsing thread to the writer.
struct Batch {
    bookings: Vec<Booking>,
    errors: Vec<RowError>,
    rows: u64,
    rejected: u64,
    /// How far into the file the parser is, for the progress bar.
    byte: u64,
}

/// Parses one row; every problem of the row is reported, not only the first.
fn parse_row(cells: &mut super::csv_table::Cells<'_>, offices: &OfficeDirectory) -> Option<Booking> {
    let code = cells.required(CODE, str::parse::<BookingCode>);
    let office = cells.required(OFFICE, str::parse::<OfficeCode>).and_then(|code| {
        let known = offices.office(&code).map(|office| (code.clone(), office.timezone));
        cells.check(
            "office_code",
            known.ok_or_else(|| {
                ParseError::new(format!(
                    "unknown office {:?}; import it first with `kabar import offices`",
                    code.as_str()
                ))
            }),
        )
    });
    let unit = cells.optional(UNIT, str::parse::<OfficeCode>);
    let holder_name = cells.required(NAME, |text| Ok(text.to_owned()));
    let mobile = cells.required(PHONE, str::parse::<Msisdn>);
    let email = cells.optional(EMAIL, str::parse::<Email>);
    let whatsapp = cells.optional(WHATSAPP, str::parse::<Msisdn>);
    let language = cells.optional(LANGUAGE, str::parse::<Language>);
    let appointment = match &office {
        Some((_, zone)) => cells.required(APPOINTMENT, |text| parse_local_datetime(text, *zone)),
        None => None,
    };
    let product = cells.required(PRODUCT, str::parse::<Product>);
    let express = cells.required(EXPRESS, parse_flag);
    let stage = cells.required(STAGE, str::parse::<Stage>);
    let applied_on = cells.optional(APPLIED, parse_date);

    let (office, _) = office?;
    let unit = unit?;
    if let Some(unit) = &unit {
        let parent = offices.unit(unit).map(|known| &known.office);
        let problem = match parent {
            None => {
                Some(format!("unknown unit {:?}; import it first with `kabar import offices`", unit.as_str()))
            }
            Some(parent) if *parent != office => {
                Some(format!("unit {} belongs to office {}, not {}", unit, parent, office))
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            cells.check::<()>("unit_code", Err(ParseError::new(problem)));
            return None;
        }
    }
    let holder_name = holder_name?;
    Some(Booking {
        code: code?,
        office,
        unit,
        applicant: Applicant {
            name: holder_name.clone(),
            mobile: mobile?,
            email: email?,
            whatsapp: whatsapp?,
            language: language?,
        },
        holder_name,
        appointment_at: appointment?,
        product: product?,
        express: express?,
        stage: stage?,
        applied_on: applied_on?,
    })
}

/// Reads the whole file, handing a batch to `emit` every `batch_size` rows; stops early when
/// `emit` returns false (the writer has gone).
fn parse_file(
    input: impl Read,
    file: &str,
    offices: &OfficeDirectory,
    batch_size: usize,
    mut emit: impl FnMut(Batch) -> bool,
) -> Result<Vec<String>, ImportError> {
    let mut table = Table::open(input, BOOKING_COLUMNS, file)?;
    let ignored = table.header().ignored.clone();
    let new_batch = || Batch {
        bookings: Vec::with_capacity(batch_size),
        errors: Vec::new(),
        rows: 0,
        rejected: 0,
        byte: 0,
    };
    let mut batch = new_batch();
    while let Some(row) =
        table.next_row().map_err(|source| ImportError::Read { file: file.to_owned(), source })?
    {
        batch.rows += 1;
        batch.byte = row.byte;
        if let Some(error) = row.shape_error() {
            batch.rejected += 1;
            batch.errors.push(error);
        } else {
            let mut cells = row.cells();
            match parse_row(&mut cells, offices) {
                Some(booking) if cells.errors.is_empty() => batch.bookings.push(booking),
                _ => {
                    batch.rejected += 1;
                    batch.errors.append(&mut cells.errors);
                }
            }
        }
        if batch.rows as usize >= batch_size && !emit(std::mem::replace(&mut batch, new_batch())) {
            return Ok(ignored);
        }
    }
    emit(batch);
    Ok(ignored)
}

fn progress_bar(options: &ImportOptions, total_bytes: u64) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    // indicatif draws nothing when standard error is not a terminal.
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:>10} [{bar:40}] {bytes}/{total_bytes} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Imports an M-Paspor booking export. Rows are parsed on a blocking thread and written in
/// batches of `options.batch_size` rows, one transaction each, while the next batch is parsed;
/// memory stays flat whatever the file size.
pub async fn import_bookings(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let file = file_label(path);
    let open =
        || std::fs::File::open(path).map_err(|source| ImportError::Open { path: path.to_owned(), source });
    let total_bytes = open()?.metadata().map(|meta| meta.len()).unwrap_or(0);
    let offices = Arc::new(store.office_directory().await?);
    if offices.is_empty() {
        return Err(ImportError::NoOffices { file });
    }
    let batch_size = options.batch_size.max(1);

    if options.strict {
        // First pass: validate only. Nothing is written unless every row is valid.
        let input = std::io::BufReader::with_capacity(1 << 20, open()?);
        let (offices, label) = (offices.clone(), file.clone());
        let report = tokio::task::spawn_blocking(move || {
            let mut report = ImportReport::default();
            report.ignored_columns = parse_file(input, &label, &offices, batch_size, |batch| {
                report.rows += batch.rows;
                report.rejected += batch.rejected;
                report.record_errors(batch.errors);
                true
            })?;
            Ok::<_, ImportError>(report)
        })
        .await
        .expect("the validating thread panicked")?;
        if report.rejected > 0 {
            return Ok(ImportReport { elapsed: started.elapsed(), ..report });
        }
    }

    // Two batches in flight: one being written, one parsed ahead. Large transactions matter on
    // SQLite: each commit rewrites every page it touched into the WAL, and index pages of random keys
    // (booking codes, mobile numbers) are touched again by nearly every batch.
    let (sender, mut receiver) = mpsc::channel::<Batch>(1);
    let input = std::io::BufReader::with_capacity(1 << 20, open()?);
    let (parser_offices, label) = (offices.clone(), file.clone());
    let parser = tokio::task::spawn_blocking(move || {
        parse_file(input, &label, &parser_offices, batch_size, |batch| sender.blocking_send(batch).is_ok())
    });

    let bar = progress_bar(options, total_bytes);
    bar.set_message("importing");
    let before = store.count_bookings().await?;
    let at = Utc::now();
    let mut report = ImportReport { written: true, ..ImportReport::default() };
    let mut affected = 0;
    let mut valid = 0;
    while let Some(batch) = receiver.recv().await {
        report.rows += batch.rows;
        report.rejected += batch.rejected;
        report.record_errors(batch.errors);
        valid += batch.bookings.len() as u64;
        if !batch.bookings.is_empty() {
            // On a store error the receiver is dropped, which stops the parser.
            affected += store.upsert_bookings(&batch.bookings, at).await?;
        }
        bar.set_position(batch.byte);
    }
    report.ignored_columns = parser.await.expect("the parsing thread panicked")?;
    let inserted = store.count_bookings().await?.saturating_sub(before);
    if affected >= ANALYZE_AFTER {
        store.analyze().await?;
    }
    report.counts = UpsertCounts::from_affected(valid, affected, inserted);
    bar.finish_and_clear();
    report.elapsed = started.elapsed();
    Ok(report)
}
