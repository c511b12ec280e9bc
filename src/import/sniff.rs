//! What a file is before it is read as CSV, and which line of it an editor shows.
//!
//! The first bytes tell a CSV export from the files people pick by mistake (a workbook, a JSON
//! export, a UTF-16 text file, a file saved twice with a byte-order mark), each refused with a
//! message that says what to do instead. Line numbers are counted here, not by the CSV reader:
//! it counts only `\n`, so a file with CR line endings would be all on "line 1", and every error
//! must name the line an editor shows, for LF, CRLF and CR files alike.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

/// How much of the file is looked at before reading it as CSV.
const PREFIX: usize = 64 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A file that is not a CSV export, and why.
#[derive(Debug)]
pub(crate) enum NotCsv {
    Io(io::Error),
    /// The message, without the file name.
    Refused(String),
}

/// The start of a file, checked, and the separator its header row uses.
pub(crate) struct Opened<R> {
    pub input: Counted<io::Chain<io::Cursor<Vec<u8>>, R>>,
    pub lines: Lines,
    pub delimiter: u8,
}

/// Reads the first bytes of `input` and refuses what cannot be a CSV `what` (e.g. "booking
/// export"); `columns` lists the expected header for the message.
pub(crate) fn open<R: Read>(mut input: R, what: &str, columns: &str) -> Result<Opened<R>, NotCsv> {
    let mut prefix = Vec::with_capacity(PREFIX);
    (&mut input).take(PREFIX as u64).read_to_end(&mut prefix).map_err(NotCsv::Io)?;
    let refuse = |problem: &str| {
        NotCsv::Refused(format!(
            "this does not look like a CSV {what}: {problem}; the first line should be the header \
             naming the columns ({columns}), then one row per line"
        ))
    };
    if prefix.starts_with(b"\xFF\xFE") || prefix.starts_with(b"\xFE\xFF") {
        return Err(refuse(
            "it is saved as UTF-16 (Excel's \"Unicode Text\"); save it again as \"CSV UTF-8\"",
        ));
    }
    if prefix.starts_with(b"PK\x03\x04") {
        return Err(refuse("it is a spreadsheet workbook (.xlsx); in Excel use Save As, \"CSV UTF-8\""));
    }
    if prefix.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(refuse("it is an old Excel workbook (.xls); in Excel use Save As, \"CSV UTF-8\""));
    }
    let mut skip = 0;
    if prefix.starts_with(BOM) {
        skip = BOM.len();
        if prefix[skip..].starts_with(BOM) {
            return Err(refuse(
                "it starts with two byte-order marks (saved twice by a tool that added one each \
                 time); open it in a text editor and save it once as UTF-8",
            ));
        }
    }
    let body = &prefix[skip..];
    let first_line = body.split(|&b| b == b'\n' || b == b'\r').next().unwrap_or_default();
    if first_line.contains(&0) {
        return Err(refuse(
            "its first line holds NUL bytes, as a binary file or a UTF-16 text does; save it as \"CSV UTF-8\"",
        ));
    }
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b'[') => {
            return Err(refuse("it looks like JSON; export it as CSV instead"));
        }
        Some(b'<') => {
            return Err(refuse("it looks like HTML or XML (a web page saved by mistake?); export it as CSV"));
        }
        _ => {}
    }
    let delimiter = sniff_delimiter(first_line);
    prefix.drain(..skip);
    let lines = Lines::default();
    let input = Counted { inner: io::Cursor::new(prefix).chain(input), lines: lines.clone() };
    Ok(Opened { input, lines, delimiter })
}

/// The separator of a header row: a comma, unless the row has none and uses semicolons (Excel's
/// CSV in an Indonesian or European locale) or tabs.
fn sniff_delimiter(header: &[u8]) -> u8 {
    let count = |wanted: u8| {
        let mut quoted = false;
        header
            .iter()
            .filter(|&&b| {
                if b == b'"' {
                    quoted = !quoted;
                }
                !quoted && b == wanted
            })
            .count()
    };
    if count(b',') > 0 {
        b','
    } else if count(b';') > 0 {
        b';'
    } else if count(b'\t') > 0 {
        b'\t'
    } else {
        b','
    }
}

/// The lines seen by [`Counted`] that no record has passed yet.
struct LineStarts {
    /// The offset of the first byte of each line that is not empty, and the line's number, in
    /// order. Empty lines are left out: the CSV reader skips them, and a record's position may
    /// point at the blank lines (or the `\n` of a CRLF) before it.
    starts: VecDeque<(u64, u64)>,
    /// Bytes read so far.
    offset: u64,
    /// The line of the next byte, and whether that byte is the first of its line.
    line: u64,
    line_start: bool,
    /// The last byte was `\r`: a `\n` now belongs to it, anything else starts a line.
    pending_cr: bool,
    /// The last byte ended a line.
    pending_lf: bool,
}

impl Default for LineStarts {
    fn default() -> Self {
        LineStarts {
            starts: VecDeque::new(),
            offset: 0,
            line: 1,
            line_start: true,
            pending_cr: false,
            pending_lf: false,
        }
    }
}

/// Maps the position of a record to the line it starts on, for positions given in increasing
/// order. Memory stays bounded: only the lines between the last record and what the CSV reader
/// buffered ahead are kept.
#[derive(Clone, Default)]
pub(crate) struct Lines(Rc<RefCell<LineStarts>>);

impl Lines {
    /// The 1-based line of the record the CSV reader placed at `offset`: the first line with
    /// content at or after it.
    pub fn line_of(&self, offset: u64) -> u64 {
        let mut state = self.0.borrow_mut();
        while state.starts.front().is_some_and(|&(start, _)| start < offset) {
            state.starts.pop_front();
        }
        state.starts.front().map_or(state.line, |&(_, line)| line)
    }

    fn feed(&self, bytes: &[u8]) {
        let mut state = self.0.borrow_mut();
        for &byte in bytes {
            let at = state.offset;
            state.offset += 1;
            if std::mem::take(&mut state.pending_cr) {
                if byte == b'\n' {
                    // The second half of a CRLF.
                    state.pending_lf = true;
                    continue;
                }
                state.pending_lf = true;
            }
            if std::mem::take(&mut state.pending_lf) {
                state.line += 1;
                state.line_start = true;
            }
            let content = byte != b'\r' && byte != b'\n';
            if std::mem::take(&mut state.line_start) && content {
                let line = state.line;
                state.starts.push_back((at, line));
            }
            match byte {
                b'\n' => state.pending_lf = true,
                b'\r' => state.pending_cr = true,
                _ => {}
            }
        }
    }
}

/// A reader that records where lines start in what passes through it.
pub(crate) struct Counted<R> {
    inner: R,
    lines: Lines,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.lines.feed(&buf[..read]);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records_and_lines(content: &[u8], buffer: usize) -> Vec<(String, u64)> {
        let Ok(opened) = open(content, "test", "a, b") else { panic!("refused") };
        let mut reader = csv::ReaderBuilder::new()
            .buffer_capacity(buffer)
            .has_headers(false)
            .flexible(true)
            .delimiter(opened.delimiter)
            .from_reader(opened.input);
        let mut out = Vec::new();
        for record in reader.byte_records() {
            let record = record.unwrap();
            let byte = record.position().unwrap().byte();
            out.push((String::from_utf8_lossy(&record[0]).into_owned(), opened.lines.line_of(byte)));
        }
        out
    }

    #[test]
    fn lines_as_an_editor_shows_them_for_every_line_ending() {
        let expected = [("h", 1), ("a", 2), ("b", 4), ("c", 6)];
        let expected: Vec<(String, u64)> = expected.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect();
        for ending in ["\n", "\r\n", "\r"] {
            let content = ["h,x", "a,\"two", "lines\"", "b,y", "", "c,z", ""].join(ending);
            // Small buffers put a read boundary between every pair of bytes.
            for buffer in [1, 2, 3, 5, 8 * 1024] {
                assert_eq!(records_and_lines(content.as_bytes(), buffer), expected, "{ending:?} {buffer}");
            }
        }
    }

    #[test]
    fn semicolons_and_tabs_are_recognised_in_the_header() {
        assert_eq!(sniff_delimiter(b"a;b;c"), b';');
        assert_eq!(sniff_delimiter(b"a\tb"), b'\t');
        assert_eq!(sniff_delimiter(b"a,b;c"), b',');
        assert_eq!(sniff_delimiter(b"\"a;b\",c"), b',');
        assert_eq!(sniff_delimiter(b"abc"), b',');
    }

    #[test]
    fn files_that_are_not_csv_say_what_they_are() {
        let refused = |content: &[u8]| match open(content, "booking export", "a, b") {
            Err(NotCsv::Refused(message)) => message,
            _ => panic!("accepted {content:?}"),
        };
        assert!(refused(b"\xFF\xFEa\0,\0").contains("UTF-16"));
        assert!(refused(b"PK\x03\x04rest").contains(".xlsx"));
        assert!(refused(b"\xEF\xBB\xBF\xEF\xBB\xBFa,b").contains("two byte-order marks"));
        assert!(refused(b"a\0b,c\n").contains("NUL"));
        let json = refused(b"  [{\"booking_code\": \"MP-1\"}]");
        assert_eq!(
            json,
            "this does not look like a CSV booking export: it looks like JSON; export it as CSV \
             instead; the first line should be the header naming the columns (a, b), then one row per line"
        );
    }
}
