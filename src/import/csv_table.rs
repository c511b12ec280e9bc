//! Reading a CSV export: a header row that names the columns (in any order), UTF-8 with or
//! without a byte-order mark, and every problem reported as `line N, column NAME: what is wrong`.

use std::fmt;
use std::io::Read;

use super::ImportError;
use crate::domain::ParseError;

/// A column kabar reads, and whether a file without it is refused.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub required: bool,
}

/// One problem with one row (or one cell of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}, column {}: {}", self.line, column, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Where each wanted column sits in the file.
pub(crate) struct Header {
    specs: &'static [ColumnSpec],
    positions: Vec<Option<usize>>,
    width: usize,
    /// Columns present in the file that kabar does not read.
    pub ignored: Vec<String>,
}

impl Header {
    fn parse(
        record: &csv::ByteRecord,
        specs: &'static [ColumnSpec],
        file: &str,
    ) -> Result<Header, ImportError> {
        let mut names = Vec::with_capacity(record.len());
        for (at, raw) in record.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|_| ImportError::Encoding {
                file: file.to_owned(),
                line: 1,
                column: format!("#{}", at + 1),
            })?;
            names.push(name.trim().to_ascii_lowercase());
        }
        for (at, name) in names.iter().enumerate() {
            if names[..at].contains(name) {
                return Err(ImportError::Header {
                    file: file.to_owned(),
                    message: format!("column {name:?} appears twice in the header row"),
                });
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
            let expected: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
            return Err(ImportError::Header {
                file: file.to_owned(),
                message: format!(
                    "missing required column{} {}; the first row must be a header naming the columns \
                     (found: {}; expected: {})",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    names.join(", "),
                    expected.join(", ")
                ),
            });
        }
        let ignored =
            names.iter().filter(|name| !specs.iter().any(|spec| spec.name == *name)).cloned().collect();
        Ok(Header { specs, positions, width: record.len(), ignored })
    }
}

/// A CSV file being read row by row.
pub(crate) struct Table<R: Read> {
    reader: csv::Reader<R>,
    header: Header,
    record: csv::ByteRecord,
}

impl<R: Read> Table<R> {
    pub fn open(input: R, specs: &'static [ColumnSpec], file: &str) -> Result<Self, ImportError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(input);
        let read_error = |source| ImportError::Read { file: file.to_owned(), source };
        let first = reader.byte_headers().map_err(read_error)?.clone();
        if first.is_empty() || first.iter().all(|field| field.iter().all(u8::is_ascii_whitespace)) {
            return Err(ImportError::Header {
                file: file.to_owned(),
                message: "the file is empty; the first row must be a header naming the columns".into(),
            });
        }
        let header = Header::parse(&first, specs, file)?;
        Ok(Table { reader, header, record: csv::ByteRecord::new() })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Reads the next row; `Ok(None)` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, csv::Error> {
        if !self.reader.read_byte_record(&mut self.record)? {
            return Ok(None);
        }
        let (line, byte) =
            self.record.position().map_or((0, 0), |position| (position.line(), position.byte()));
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

impl Row<'_> {
    /// A row whose field count differs from the header's cannot be read safely: which value
    /// belongs to which column is a guess.
    pub fn shape_error(&self) -> Option<RowError> {
        (self.record.len() != self.header.width).then(|| RowError {
            line: self.line,
            column: None,
            message: format!(
                "has {} fields but the header has {}; check for a missing or extra separator or an unclosed quote",
                self.record.len(),
                self.header.width
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
    fn error(&mut self, column: &'static str, message: String) {
        self.errors.push(RowError { line: self.row.line, column: Some(column), message });
    }

    /// The trimmed text of column `index` (an index into the importer's specs); empty when the
    /// column is absent from the file or the cell is blank; `None` when it is not UTF-8.
    pub fn text(&mut self, index: usize) -> Option<&'a str> {
        let spec = self.row.header.specs[index];
        let Some(position) = self.row.header.positions[index] else {
            return Some("");
        };
        let raw = self.row.record.get(position).unwrap_or_default();
        match std::str::from_utf8(raw) {
            Ok(text) => Some(text.trim()),
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
            self.error(name, "is empty; a value is required".into());
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
