//! Bringing data in: the office reference list and M-Paspor booking exports, from CSV.
//!
//! Both importers parse every row into domain types before anything is written, report each bad
//! row as `FILE: line N, column NAME: what is wrong`, and upsert by code, so importing the same
//! file twice changes nothing. By default the valid rows are written and the command fails with a
//! summary when any row was bad; with `strict` nothing is written unless every row is valid (the
//! file is validated whole first, then written in one transaction).

mod bookings;
mod csv_table;
mod offices;
mod sniff;
mod sync;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use bookings::{import_bookings, Accept, BOOKING_COLUMNS};
pub use csv_table::{ColumnSpec, RowError};
pub use offices::{import_offices, import_offices_from, parse_offices, ParsedOffices, OFFICE_COLUMNS};
pub use sync::{parse_bookings, sync_bookings, BookingRows, ParsedBookings, MAX_SYNC_ROWS};

use crate::domain::NumberPolicy;
use crate::store::{StoreError, UpsertCounts};

/// How many row errors a report keeps; the rest are only counted, so a wholly wrong file of a
/// million rows does not fill memory.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// A problem that stops an import before any row is written (or, for the store, mid-way: the
/// batches already committed stay, and importing the file again completes it).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: csv::Error,
    },
    /// The header row, or the file as a whole, is wrong: nothing can be read.
    #[error("{file}: line 1: {message}")]
    Header { file: String, message: String },
    #[error("{file}: line {line}, column {column}: not valid UTF-8; save the file as UTF-8 (in Excel: \"CSV UTF-8\")")]
    Encoding { file: String, line: u64, column: String },
    #[error(
        "{file}: no offices in the database; import them first with `kabar import offices data/offices.csv`"
    )]
    NoOffices { file: String },
    /// The store refused a batch: its rows were not written (nor, with `strict`, any row).
    #[error("{file}: lines {first_line} to {last_line} could not be written; import the file again once the database is back")]
    Write {
        file: String,
        first_line: u64,
        last_line: u64,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Options shared by the importers.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Write nothing unless every row is valid.
    pub strict: bool,
    /// Rows per transaction.
    pub batch_size: usize,
    /// Draw a progress bar (only ever drawn on a terminal).
    pub progress: bool,
    /// Whose mobile numbers a booking may carry (`[import] allowed_countries`).
    pub numbers: NumberPolicy,
    /// A booking export at least this large going into an empty table is an initial load: one
    /// transaction, with the table's secondary indexes built once at the end (SQLite).
    pub initial_load_bytes: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            strict: false,
            batch_size: 25_000,
            progress: false,
            numbers: NumberPolicy::default(),
            initial_load_bytes: INITIAL_LOAD_BYTES,
        }
    }
}

/// About 35,000 rows of an M-Paspor export: below it, building the indexes again costs more than
/// keeping them in step.
const INITIAL_LOAD_BYTES: u64 = 4 << 20;

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// The file, as named in messages.
    pub file: String,
    /// Data rows read (the header excluded).
    pub rows: u64,
    /// Rows with at least one problem; none of them was written.
    pub rejected: u64,
    /// Whether anything was written (false when `strict` refused the file).
    pub written: bool,
    pub counts: UpsertCounts,
    /// The first [`MAX_REPORTED_ERRORS`] problems, in file order.
    pub errors: Vec<RowError>,
    /// Problems found beyond those kept in `errors`.
    pub more_errors: u64,
    /// Columns in the file that kabar does not read.
    pub ignored_columns: Vec<String>,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl ImportReport {
    pub fn is_clean(&self) -> bool {
        self.rejected == 0
    }

    fn record_errors(&mut self, errors: impl IntoIterator<Item = RowError>) {
        for error in errors {
            if self.errors.len() < MAX_REPORTED_ERRORS {
                self.errors.push(error);
            } else {
                self.more_errors += 1;
            }
        }
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.errors {
            writeln!(f, "{}: {error}", self.file)?;
        }
        if self.more_errors > 0 {
            writeln!(f, "… and {} more problems", self.more_errors)?;
        }
        if !self.ignored_columns.is_empty() {
            writeln!(f, "ignored columns kabar does not read: {}", self.ignored_columns.join(", "))?;
        }
        let UpsertCounts { inserted, updated, unchanged } = self.counts;
        write!(f, "{} rows read in {:.1} s: ", self.rows, self.elapsed.as_secs_f64())?;
        if self.written {
            write!(f, "{inserted} new, {updated} updated, {unchanged} unchanged")?;
        } else {
            write!(f, "nothing written (--strict)")?;
        }
        if self.rejected > 0 {
            write!(f, "; {} rows rejected, fix them and import the file again", self.rejected)?;
        }
        Ok(())
    }
}

/// The display name of an input file in messages.
fn file_label(path: &std::path::Path) -> String {
    path.display().to_string()
}
