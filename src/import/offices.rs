use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use super::csv_table::{ColumnSpec, Table};
use super::{file_label, ImportError, ImportOptions, ImportReport};
use crate::domain::{
    parse_flag, parse_office_class, Contact, Office, OfficeClass, OfficeCode, ParseError, TimeZone, Unit,
};
use crate::store::{OfficeDirectory, Store};

/// The columns of the office reference list.
/// The columns of the office reference list, and the longest value each may hold. `tpi` may be
/// left out when every class says it (`Kelas I TPI`).
pub const OFFICE_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec { name: "code", required: true, max_chars: 24 },
    ColumnSpec { name: "name", required: true, max_chars: 150 },
    ColumnSpec { name: "timezone", required: true, max_chars: 64 },
    ColumnSpec { name: "kind", required: true, max_chars: 10 },
    ColumnSpec { name: "parent_code", required: true, max_chars: 24 },
    ColumnSpec { name: "class", required: true, max_chars: 40 },
    ColumnSpec { name: "region", required: true, max_chars: 100 },
    ColumnSpec { name: "tpi", required: false, max_chars: 10 },
    ColumnSpec { name: "phone", required: false, max_chars: 40 },
    ColumnSpec { name: "address", required: false, max_chars: 300 },
    ColumnSpec { name: "website", required: false, max_chars: 200 },
    ColumnSpec { name: "instagram", required: false, max_chars: 31 },
];

/// What the list is called in messages.
const WHAT: &str = "office list";
const CODE: usize = 0;
const NAME: usize = 1;
const TIMEZONE: usize = 2;
const KIND: usize = 3;
const PARENT: usize = 4;
const CLASS: usize = 5;
const REGION: usize = 6;
const TPI: usize = 7;
const PHONE: usize = 8;
const ADDRESS: usize = 9;
const WEBSITE: usize = 10;
const INSTAGRAM: usize = 11;

enum Parsed {
    Office(Office),
    /// A unit with the line it came from, checked against the offices once all are known.
    Unit(Unit, u64, Option<TimeZone>),
}

fn parse_phone(text: &str) -> Result<String, ParseError> {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let allowed = text.chars().all(|c| c.is_ascii_digit() || " ()+-./".contains(c));
    if !allowed || digits < 5 {
        return Err(ParseError::new(format!(
            "{text:?} is not a phone number as printed; write digits with spaces, brackets or dashes, e.g. (0711) 410 123"
        )));
    }
    Ok(text.to_owned())
}

/// `kanim.imigrasi.go.id` from `https://kanim.imigrasi.go.id/`: notices print the host and path.
fn parse_website(text: &str) -> Result<String, ParseError> {
    let bare = text.trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/');
    let valid = url::Url::parse(&format!("https://{bare}"))
        .is_ok_and(|url| url.host_str().is_some_and(|host| host.contains('.')));
    if !valid || bare.contains(char::is_whitespace) {
        return Err(ParseError::new(format!(
            "{text:?} is not a web address; write it as kanimpalembang.imigrasi.go.id, or leave the cell empty"
        )));
    }
    Ok(bare.to_owned())
}

fn parse_instagram(text: &str) -> Result<String, ParseError> {
    let handle = text.trim_start_matches('@');
    let valid = !handle.is_empty()
        && handle.len() <= 30
        && handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    if !valid {
        return Err(ParseError::new(format!(
            "{text:?} is not an Instagram handle; write it as @kanimpalembang (up to 30 letters, digits, \
             dots or underscores), or leave the cell empty"
        )));
    }
    Ok(handle.to_owned())
}

/// The `tpi` cell checked against what the class says, when both say something.
fn checkpoint(class_says: Option<bool>, cell: Option<bool>, class_text: &str) -> Result<bool, ParseError> {
    let yes_no = |tpi: bool| if tpi { "yes" } else { "no" };
    match (class_says, cell) {
        (Some(class), Some(cell)) if class != cell => Err(ParseError::new(format!(
            "says {} but the class {class_text:?} says {}; correct one of them",
            yes_no(cell),
            if class { "TPI" } else { "Non TPI" }
        ))),
        (_, Some(tpi)) | (Some(tpi), None) => Ok(tpi),
        (None, None) => Err(ParseError::new(
            "is empty; write yes or no (or give the class with TPI or Non TPI, e.g. Kelas II TPI)",
        )),
    }
}

fn parse_kind(text: &str) -> Result<bool, ParseError> {
    match text.to_ascii_lowercase().as_str() {
        "office" => Ok(true),
        "unit" => Ok(false),
        other => Err(ParseError::new(format!("unknown kind {other:?}; write office or unit"))),
    }
}

/// Imports the office reference list from a file.
pub async fn import_offices(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let file =
        std::fs::File::open(path).map_err(|source| ImportError::Open { path: path.to_owned(), source })?;
    import_offices_from(store, file, &file_label(path), options).await
}

/// An office list read and checked, not yet written.
#[derive(Debug, Default)]
pub struct ParsedOffices {
    /// In code order.
    pub offices: Vec<Office>,
    /// In file order.
    pub units: Vec<Unit>,
    /// Rows read and rejected, with every problem; nothing is written yet.
    pub report: ImportReport,
}

/// Reads and checks an office list. Offices come first, then units, whose parent must be an
/// office of the list or of `known`.
pub fn parse_offices(
    input: impl Read,
    file: &str,
    known: &OfficeDirectory,
) -> Result<ParsedOffices, ImportError> {
    let started = Instant::now();
    let mut table = Table::open(input, OFFICE_COLUMNS, file, WHAT)?;
    let mut report = ImportReport {
        file: file.to_owned(),
        ignored_columns: table.header().ignored.clone(),
        ..ImportReport::default()
    };
    let mut parsed = Vec::new();
    let mut seen: HashMap<OfficeCode, u64> = HashMap::new();
    while let Some(row) =
        table.next_row().map_err(|source| ImportError::Read { file: file.to_owned(), source })?
    {
        report.rows += 1;
        if let Some(error) = row.shape_error() {
            report.rejected += 1;
            report.record_errors([error]);
            continue;
        }
        let mut cells = row.cells();
        let code = cells.required(CODE, str::parse::<OfficeCode>).and_then(|code| {
            let first = *seen.entry(code.clone()).or_insert(row.line);
            cells.check(
                "code",
                if first == row.line {
                    Ok(code)
                } else {
                    Err(ParseError::new(format!(
                        "{code} is already on line {first}; each office or unit appears once: keep \
                         the row that is right and delete the other"
                    )))
                },
            )
        });
        let name = cells.required(NAME, |text| Ok(text.to_owned()));
        let is_office = cells.required(KIND, parse_kind);
        let item = match is_office {
            Some(true) => {
                let timezone = cells.required(TIMEZONE, str::parse::<TimeZone>);
                let class = cells.required(CLASS, |text| {
                    parse_office_class(text).map(|(class, tpi)| (class, tpi, text.to_owned()))
                });
                let region = cells.required(REGION, |text| Ok(text.to_owned()));
                let tpi_cell = cells.optional(TPI, parse_flag);
                let tpi = match (&class, tpi_cell) {
                    (Some((_, says, text)), Some(cell)) => cells.check("tpi", checkpoint(*says, cell, text)),
                    _ => None,
                };
                let class: Option<OfficeClass> = class.map(|(class, _, _)| class);
                let contact = Contact {
                    phone: cells.optional(PHONE, parse_phone).flatten(),
                    address: cells.optional(ADDRESS, |text| Ok(text.to_owned())).flatten(),
                    website: cells.optional(WEBSITE, parse_website).flatten(),
                    instagram: cells.optional(INSTAGRAM, parse_instagram).flatten(),
                };
                match (code, name, timezone, class, region, tpi) {
                    (Some(code), Some(name), Some(timezone), Some(class), Some(region), Some(tpi)) => {
                        Some(Parsed::Office(Office { code, name, timezone, class, tpi, region, contact }))
                    }
                    _ => None,
                }
            }
            Some(false) => {
                let parent = cells.required(PARENT, str::parse::<OfficeCode>);
                let timezone = cells.optional(TIMEZONE, str::parse::<TimeZone>);
                match (code, name, parent, timezone) {
                    (Some(code), Some(name), Some(office), Some(timezone)) => {
                        Some(Parsed::Unit(Unit { code, office, name }, row.line, timezone))
                    }
                    _ => None,
                }
            }
            None => None,
        };
        match item {
            Some(item) if cells.errors.is_empty() => parsed.push(item),
            _ => {
                report.rejected += 1;
                report.record_errors(cells.errors);
            }
        }
    }

    let mut offices: BTreeMap<OfficeCode, Office> = BTreeMap::new();
    let mut units = Vec::new();
    for item in &parsed {
        if let Parsed::Office(office) = item {
            offices.insert(office.code.clone(), office.clone());
        }
    }
    for item in parsed {
        let Parsed::Unit(unit, line, timezone) = item else {
            continue;
        };
        let parent_zone =
            offices.get(&unit.office).or_else(|| known.office(&unit.office)).map(|office| office.timezone);
        let problem = match (parent_zone, timezone) {
            (None, _) => Some((
                "parent_code",
                format!(
                    "unknown office {:?}; a unit's parent_code must be an office of this file or one imported \
                     before: add the office, or correct the code",
                    unit.office.as_str()
                ),
            )),
            (Some(parent), Some(own)) if parent != own => Some((
                "timezone",
                format!("a unit uses its office's time zone ({parent}); leave it empty or write {parent}"),
            )),
            _ => None,
        };
        match problem {
            Some((column, message)) => {
                report.rejected += 1;
                report.record_errors([super::RowError { line, column: Some(column.to_owned()), message }]);
            }
            None => units.push(unit),
        }
    }
    report.errors.sort_by_key(|error| error.line);
    report.elapsed = started.elapsed();
    Ok(ParsedOffices { offices: offices.into_values().collect(), units, report })
}

/// Imports an office list from any reader (the reference list embedded in the binary, a file).
pub async fn import_offices_from(
    store: &Store,
    input: impl Read,
    file: &str,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let known = store.office_directory().await?;
    let ParsedOffices { offices, units, mut report } = parse_offices(input, file, &known)?;
    if report.rejected == 0 || !options.strict {
        report.counts = store.upsert_offices(&offices, &units, chrono::Utc::now()).await?;
        report.written = true;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
