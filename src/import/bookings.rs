use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use super::csv_table::{Cells, ColumnSpec, RowError, Table};
use super::{file_label, ImportError, ImportOptions, ImportReport};
use crate::domain::{
    check_year, parse_date, parse_flag, parse_local_datetime, Applicant, Booking, BookingCode, Email,
    Language, Msisdn, NumberPolicy, OfficeCode, ParseError, Product, Stage,
};
use crate::store::{OfficeDirectory, Store, UpsertCounts};

/// What the export is called in messages.
const WHAT: &str = "booking export";

/// The columns of an M-Paspor booking export, and the longest value each may hold.
pub const BOOKING_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec { name: "booking_code", required: true, max_chars: 40 },
    ColumnSpec { name: "office_code", required: true, max_chars: 24 },
    ColumnSpec { name: "unit_code", required: false, max_chars: 24 },
    ColumnSpec { name: "name", required: true, max_chars: 150 },
    ColumnSpec { name: "phone", required: true, max_chars: 32 },
    ColumnSpec { name: "email", required: false, max_chars: 254 },
    ColumnSpec { name: "whatsapp", required: false, max_chars: 32 },
    ColumnSpec { name: "language", required: false, max_chars: 20 },
    ColumnSpec { name: "appointment_at", required: true, max_chars: 40 },
    ColumnSpec { name: "product", required: true, max_chars: 20 },
    ColumnSpec { name: "express", required: true, max_chars: 10 },
    ColumnSpec { name: "stage", required: true, max_chars: 20 },
    ColumnSpec { name: "applied_at", required: false, max_chars: 40 },
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
pub(super) struct Batch {
    pub bookings: Vec<Booking>,
    pub errors: Vec<RowError>,
    pub rows: u64,
    pub rejected: u64,
    /// How far into the file the parser is, for the progress bar.
    byte: u64,
    /// The lines the batch spans, for a store error.
    first_line: u64,
    last_line: u64,
}

/// The booking codes already seen in a file, by a 64-bit fingerprint of the code, with the line
/// each first appeared on: a few bytes per row, however long the file. (Two codes sharing a
/// fingerprint would be reported as a repeat: with a million rows, a chance of about 1 in 30
/// million.)
#[derive(Default)]
pub(super) struct SeenCodes(HashMap<u64, u64>);

impl SeenCodes {
    /// The line `code` was first seen on, if before; else records it on `line`.
    fn first_line(&mut self, code: &BookingCode, line: u64) -> Option<u64> {
        let mut hasher = std::hash::DefaultHasher::new();
        code.as_str().hash(&mut hasher);
        match self.0.entry(hasher.finish()) {
            Entry::Occupied(first) => Some(*first.get()),
            Entry::Vacant(slot) => {
                slot.insert(line);
                None
            }
        }
    }
}

/// Refuses a valid booking for a reason beyond its cells (the staff API's caller's scope).
pub type Accept<'a> = dyn Fn(&Booking) -> Result<(), ParseError> + Send + Sync + 'a;

/// What a row is checked against besides its own cells.
pub(super) struct RowContext<'a> {
    pub offices: &'a OfficeDirectory,
    pub numbers: &'a NumberPolicy,
    pub seen: SeenCodes,
    pub accept: Option<&'a Accept<'a>>,
}

/// Parses one row; every problem of the row is reported, not only the first.
pub(super) fn parse_row(cells: &mut Cells<'_>, context: &mut RowContext<'_>) -> Option<Booking> {
    let offices = context.offices;
    let code = cells.required(CODE, str::parse::<BookingCode>).and_then(|code| {
        let repeated = context.seen.first_line(&code, cells.line());
        cells.check(
            "booking_code",
            match repeated {
                Some(first) => Err(ParseError::new(format!(
                    "{code} is already on line {first}; a booking appears once in an export: \
                     keep the row that is right and delete the other"
                ))),
                None => Ok(code),
            },
        )
    });
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
    let numbers = context.numbers;
    let mobile = cells.required(PHONE, |text| Msisdn::parse_with(text, numbers));
    let email = cells.optional(EMAIL, str::parse::<Email>);
    let whatsapp = cells.optional(WHATSAPP, |text| Msisdn::parse_with(text, numbers));
    let language = cells.optional(LANGUAGE, str::parse::<Language>);
    // The appointment's calendar day at the office, which the application date cannot follow.
    let appointment = match &office {
        Some((_, zone)) => cells.required(APPOINTMENT, |text| {
            let at = parse_local_datetime(text, *zone)?;
            let day = at.with_timezone(&zone.0).date_naive();
            check_year(day, text).map(|()| (at, day))
        }),
        None => None,
    };
    let product = cells.required(PRODUCT, str::parse::<Product>);
    let express = cells.required(EXPRESS, parse_flag);
    let stage = cells.required(STAGE, str::parse::<Stage>);
    let applied_on = cells.optional(APPLIED, |text| {
        let date = parse_date(text)?;
        check_year(date, text)?;
        match appointment {
            Some((_, day)) if date > day => Err(ParseError::new(format!(
                "{date} is after the appointment on {day}; an application is made before its \
                 appointment: check both dates"
            ))),
            _ => Ok(date),
        }
    });

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
    let booking = Booking {
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
        appointment_at: appointment?.0,
        product: product?,
        express: express?,
        stage: stage?,
        applied_on: applied_on?,
    };
    match context.accept {
        Some(accept) => cells.check("office_code", accept(&booking)).map(|()| booking),
        None => Some(booking),
    }
}

/// Reads the whole file, handing a batch to `emit` every `batch_size` rows; stops early when
/// `emit` returns false (the writer has gone).
pub(super) fn parse_file(
    input: impl Read,
    file: &str,
    (offices, numbers, accept): (&OfficeDirectory, &NumberPolicy, Option<&Accept<'_>>),
    batch_size: usize,
    mut emit: impl FnMut(Batch) -> bool,
) -> Result<Vec<String>, ImportError> {
    let mut table = Table::open(input, BOOKING_COLUMNS, file, WHAT)?;
    let ignored = table.header().ignored.clone();
    let mut context = RowContext { offices, numbers, seen: SeenCodes::default(), accept };
    let new_batch = || Batch {
        bookings: Vec::with_capacity(batch_size.min(100_000)),
        errors: Vec::new(),
        rows: 0,
        rejected: 0,
        byte: 0,
        first_line: 0,
        last_line: 0,
    };
    let mut batch = new_batch();
    while let Some(row) =
        table.next_row().map_err(|source| ImportError::Read { file: file.to_owned(), source })?
    {
        batch.rows += 1;
        batch.byte = row.byte;
        if batch.first_line == 0 {
            batch.first_line = row.line;
        }
        batch.last_line = row.line;
        if let Some(error) = row.shape_error() {
            batch.rejected += 1;
            batch.errors.push(error);
        } else {
            let mut cells = row.cells();
            match parse_row(&mut cells, &mut context) {
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
/// batches of `options.batch_size` rows while the next batch is parsed; memory stays flat
/// whatever the file size. By default each batch is one transaction, so a store failure keeps
/// the batches before it; with `strict` the file is validated whole first and then written in a
/// single transaction, so nothing is kept unless everything is. An initial load (a file of at
/// least `options.initial_load_bytes` into an empty table) is also one transaction, with the
/// table's secondary indexes built once at the end on SQLite.
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
        let (offices, numbers, label) = (offices.clone(), options.numbers.clone(), file.clone());
        let report = tokio::task::spawn_blocking(move || {
            let mut report = ImportReport { file: label.clone(), ..ImportReport::default() };
            report.ignored_columns =
                parse_file(input, &label, (&offices, &numbers, None), batch_size, |batch| {
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
    let (parser_offices, numbers, label) = (offices.clone(), options.numbers.clone(), file.clone());
    let parser = tokio::task::spawn_blocking(move || {
        parse_file(input, &label, (&parser_offices, &numbers, None), batch_size, |batch| {
            sender.blocking_send(batch).is_ok()
        })
    });

    let bar = progress_bar(options, total_bytes);
    bar.set_message("importing");
    let before = store.count_bookings().await?;
    let at = Utc::now();
    let mut report = ImportReport { file: file.clone(), written: true, ..ImportReport::default() };
    let mut affected = 0;
    let mut valid = 0;
    // With `strict`, and for an initial load (a large file into an empty table), one transaction
    // for the whole file; on an error it is rolled back when dropped, and importing the file
    // again completes it.
    let initial_load = before == 0 && total_bytes >= options.initial_load_bytes;
    let mut whole_file = match options.strict || initial_load {
        true => Some(store.begin_booking_import().await?),
        false => None,
    };
    if let (Some(import), true) = (&mut whole_file, initial_load) {
        import.suspend_indexes().await?;
    }
    while let Some(batch) = receiver.recv().await {
        report.rows += batch.rows;
        report.rejected += batch.rejected;
        report.record_errors(batch.errors);
        valid += batch.bookings.len() as u64;
        if !batch.bookings.is_empty() {
            // On a store error the receiver is dropped, which stops the parser.
            let written = match &mut whole_file {
                Some(import) => import.upsert(&batch.bookings, at).await,
                None => store.upsert_bookings(&batch.bookings, at).await,
            };
            affected += written.map_err(|source| ImportError::Write {
                file: file.clone(),
                first_line: batch.first_line,
                last_line: batch.last_line,
                source,
            })?;
        }
        bar.set_position(batch.byte);
    }
    report.ignored_columns = parser.await.expect("the parsing thread panicked")?;
    if let Some(import) = whole_file {
        if options.strict && report.rejected > 0 {
            // The file changed between the two passes; strict still means all or nothing.
            import.rollback().await?;
            report.written = false;
            report.elapsed = started.elapsed();
            return Ok(report);
        }
        import.commit().await?;
    }
    let inserted = store.count_bookings().await?.saturating_sub(before);
    if affected >= ANALYZE_AFTER {
        store.analyze().await?;
    }
    report.counts = UpsertCounts::from_affected(valid, affected, inserted);
    bar.finish_and_clear();
    report.elapsed = started.elapsed();
    Ok(report)
}
