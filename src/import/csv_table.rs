//! Reading a CSV export: a header row that names the columns (in any order), UTF-8 with or
//! without a byte-order mark, separated by commas (or semicolons, or tabs, as the header shows),
//! and every problem reported as `line N, column NAME: what is wrong`, with the line an editor
//! shows. Every cell kabar reads is checked for control characters and for its length before it
//! is parsed, so no value the store would refuse (PostgreSQL refuses NUL) gets that far.

use std::fmt;
use std::io::Read;

use super::sniff::{self, Counted, Lines, NotCsv};
use super::ImportError;
use crate::domain::{check_length, check_plain_text, ParseError};

/// A column kabar reads, whether a file without it is refused, and how long a value may be.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub required: bool,
    /// In characters, after trimming.
    pub max_chars: usize,
}

/// One problem with one row (or one cell of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {}: {}", self.line, column, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Where each wanted column sits in the file.
pub(crate) struct Header {
    specs: &'static [ColumnSpec],
    positions: Vec<Option<usize>>,
    /// Every column of the file, lower-cased.
    names: Vec<String>,
    /// Columns present in the file that kabar does not read.
    pub ignored: Vec<String>,
}

impl Header {
    fn parse(
        record: &csv::ByteRecord,
        specs: &'static [ColumnSpec],
        file: &str,
        what: &str,
    ) -> Result<Header, ImportError> {
        let header_error = |message: String| ImportError::Header { file: file.to_owned(), message };
        let mut names = Vec::with_capacity(record.len());
        for (at, raw) in record.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|_| ImportError::Encoding {
                file: file.to_owned(),
                line: 1,
                column: format!("#{}", at + 1),
            })?;
            names.push(name.trim().to_ascii_lowercase());
        }
        let expected: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
        if !names.iter().any(|name| expected.contains(&name.as_str())) {
            let shown: Vec<String> = record
                .iter()
                .take(4)
                .map(|raw| format!("{:?}", shorten(String::from_utf8_lossy(raw).trim())))
                .collect();
            return Err(header_error(format!(
                "this does not look like a CSV {what}: the first line should be the header naming \
                 the columns ({}), but it reads {}{}",
                expected.join(", "),
                shown.join(", "),
                if names.len() > 4 { ", …" } else { "" }
            )));
        }
        for (at, name) in names.iter().enumerate() {
            if let Err(err) = check_plain_text(name) {
                return Err(header_error(format!("the header's column #{} {err}", at + 1)));
            }
            // Unnamed columns (a trailing separator) are ignored, however many there are.
            if !name.is_empty() && names[..at].contains(name) {
                return Err(header_error(format!(
                    "column {name:?} appears twice in the header row; remove or rename one"
                )));
            }
        }
        let positions: Vec<Option<usize>> =
            specs.iter().map(|spec| names.iter().position(|name| name == spec.name)).collect();
        let missing: Vec<&str> = specs
            .iter()
            .zip(&positions)
            .filter(|(spec, position)| spec.required && position.is_none())
            .map(|(spec, _)| spec.name)
            .collect();
        if !missing.is_empty() {
            return Err(header_error(format!(
                "missing required column{} {}; add {} to the header row, which names the columns \
                 (found: {}; expected: {})",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
                names.iter().map(|name| shorten(name)).collect::<Vec<_>>().join(", "),
                expected.join(", ")
            )));
        }
        let ignored = names
            .iter()
            .filter(|name| !name.is_empty() && !specs.iter().any(|spec| spec.name == *name))
            .map(|name| shorten(name))
            .collect();
        Ok(Header { specs, positions, names, ignored })
    }

    fn width(&self) -> usize {
        self.names.len()
    }

    /// A header naming every column of `specs` in their order, for rows that come as records
    /// rather than as a file (the staff API's JSON).
    pub fn canonical(specs: &'static [ColumnSpec]) -> Header {
        Header {
            specs,
            positions: (0..specs.len()).map(Some).collect(),
            names: specs.iter().map(|spec| spec.name.to_owned()).collect(),
            ignored: Vec::new(),
        }
    }
}

/// A header name as quoted in a message: at most 40 characters.
fn shorten(name: &str) -> String {
    match name.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_owned(),
    }
}

/// A CSV file being read row by row.
pub(crate) struct Table<R: Read> {
    reader: csv::Reader<Counted<std::io::Chain<std::io::Cursor<Vec<u8>>, R>>>,
    lines: Lines,
    header: Header,
    record: csv::ByteRecord,
}

impl<R: Read> Table<R> {
    /// Opens a CSV `what` ("booking export", "office list") whose columns are `specs`.
    pub fn open(input: R, specs: &'static [ColumnSpec], file: &str, what: &str) -> Result<Self, ImportError> {
        let columns = specs.iter().map(|spec| spec.name).collect::<Vec<_>>().join(", ");
        let opened = sniff::open(input, what, &columns).map_err(|err| match err {
            NotCsv::Io(source) => ImportError::Read { file: file.to_owned(), source: source.into() },
            NotCsv::Refused(message) => ImportError::Header { file: file.to_owned(), message },
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .delimiter(opened.delimiter)
            .from_reader(opened.input);
        let read_error = |source| ImportError::Read { file: file.to_owned(), source };
        let first = reader.byte_headers().map_err(read_error)?.clone();
        if first.is_empty() || first.iter().all(|field| field.iter().all(u8::is_ascii_whitespace)) {
            return Err(ImportError::Header {
                file: file.to_owned(),
                message: format!(
                    "the file is empty; the first line should be the header naming the columns ({columns})"
                ),
            });
        }
        let header = Header::parse(&first, specs, file, what)?;
        Ok(Table { reader, lines: opened.lines, header, record: csv::ByteRecord::new() })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Reads the next row; `Ok(None)` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, csv::Error> {
        if !self.reader.read_byte_record(&mut self.record)? {
            return Ok(None);
        }
        let byte = self.record.position().map_or(0, |position| position.byte());
        let line = self.lines.line_of(byte);
        Ok(Some(Row { header: &self.header, record: &self.record, line, byte }))
    }
}

/// One data row.
pub(crate) struct Row<'a> {
    header: &'a Header,
    record: &'a csv::ByteRecord,
    pub line: u64,
    pub byte: u64,
}

impl<'a> Row<'a> {
    /// A row of `header` that did not come from a file; `line` is how its errors place it.
    pub fn detached(header: &'a Header, record: &'a csv::ByteRecord, line: u64) -> Row<'a> {
        Row { header, record, line, byte: 0 }
    }

    /// A row whose field count differs from the header's cannot be read safely: which value
    /// belongs to which column is a guess.
    /// The error names the first column that has no value (too few fields) or the first field
    /// beyond the header (too many).
    pub fn shape_error(&self) -> Option<RowError> {
        let (fields, width) = (self.record.len(), self.header.width());
        if fields == width {
            return None;
        }
        let column = match self.header.names.get(fields) {
            Some(name) if !name.is_empty() => shorten(name),
            _ => format!("#{}", fields.min(width) + 1),
        };
        let problem = if fields < width { "no value" } else { "a value beyond the header" };
        Some(RowError {
            line: self.line,
            column: Some(column),
            message: format!(
                "{problem}: the row has {fields} field{} but the header has {width}; check for a \
                 missing or extra separator or an unclosed quote",
                if fields == 1 { "" } else { "s" }
            ),
        })
    }

    /// Collects the problems of this row while its cells are parsed.
    pub fn cells(&self) -> Cells<'_> {
        Cells { row: self, errors: Vec::new() }
    }
}

/// Parses the cells of one row, keeping every problem so one pass reports them all.
pub(crate) struct Cells<'a> {
    row: &'a Row<'a>,
    pub errors: Vec<RowError>,
}

impl<'a> Cells<'a> {
    /// The line the row starts on.
    pub fn line(&self) -> u64 {
        self.row.line
    }

    fn error(&mut self, column: &'static str, message: String) {
        self.errors.push(RowError { line: self.row.line, column: Some(column.to_owned()), message });
    }

    /// The trimmed text of column `index` (an index into the importer's specs); empty when the
    /// column is absent from the file or the cell is blank; `None` when it is not UTF-8, holds a
    /// control character or is longer than the column allows (each reported).
    pub fn text(&mut self, index: usize) -> Option<&'a str> {
        let spec = self.row.header.specs[index];
        let Some(position) = self.row.header.positions[index] else {
            return Some("");
        };
        let raw = self.row.record.get(position).unwrap_or_default();
        match std::str::from_utf8(raw) {
            Ok(text) => {
                let text = text.trim();
                let checked = check_plain_text(text).and_then(|()| check_length(text, spec.max_chars));
                self.check(spec.name, checked).map(|()| text)
            }
            Err(err) => {
                self.error(
                    spec.name,
                    format!(
                        "not valid UTF-8 (byte 0x{:02X} at position {}); save the file as UTF-8 \
                         (in Excel: \"CSV UTF-8\")",
                        raw[err.valid_up_to()],
                        err.valid_up_to() + 1
                    ),
                );
                None
            }
        }
    }

    /// A required cell, parsed.
    pub fn required<T>(
        &mut self,
        index: usize,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        let name = self.row.header.specs[index].name;
        let text = self.text(index)?;
        if text.is_empty() {
            self.error(name, "is empty; write a value: this column is required".into());
            return None;
        }
        self.check(name, parse(text))
    }

    /// An optional cell, parsed when not blank.
    pub fn optional<T>(
        &mut self,
        index: usize,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<Option<T>> {
        let name = self.row.header.specs[index].name;
        let text = self.text(index)?;
        if text.is_empty() {
            return Some(None);
        }
        self.check(name, parse(text)).map(Some)
    }

    /// Records a problem found after parsing (one that involves another table or cell).
    pub fn check<T>(&mut self, column: &'static str, result: Result<T, ParseError>) -> Option<T> {
        result.map_err(|err| self.error(column, err.0)).ok()
    }
}
