//! The booking export parser: valid files in any column order, quoting and line ending read back
//! exactly; one wrong cell is reported on its own line and column and nothing else; and no input
//! panics.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use kabar::domain::{NumberPolicy, Product, Stage};
use kabar::import::{parse_bookings, parse_offices, BOOKING_COLUMNS};
use kabar::store::OfficeDirectory;
use proptest::prelude::*;

use crate::phone::indonesian_mobile;

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
GTO,Kantor Imigrasi Kelas I TPI Gorontalo,Asia/Makassar,office,,I,Gorontalo,yes
JPR,Kantor Imigrasi Kelas I TPI Jayapura,Asia/Jayapura,office,,I,Papua,yes
PLG-MPP,ULP Mal Pelayanan Publik Palembang,,unit,PLG,,,
";

pub fn directory() -> &'static OfficeDirectory {
    static DIRECTORY: std::sync::LazyLock<OfficeDirectory> = std::sync::LazyLock::new(load_directory);
    &DIRECTORY
}

fn load_directory() -> OfficeDirectory {
    let parsed = parse_offices(OFFICES.as_bytes(), "offices.csv", &OfficeDirectory::default()).unwrap();
    assert!(parsed.report.is_clean(), "{}", parsed.report);
    OfficeDirectory::from_lists(parsed.offices, parsed.units)
}

/// One generated booking row: the cells by column name, and what kabar should read from them.
#[derive(Debug, Clone)]
struct Row {
    cells: Vec<(&'static str, String)>,
    code: String,
    office: &'static str,
    name: String,
    e164: String,
    /// The appointment in UTC, computed from the office's fixed offset (no DST in Indonesia).
    appointment_utc: NaiveDateTime,
    stage: Stage,
    product: Product,
}

/// Printable text kabar accepts in a name: no control or invisible formatting characters, not
/// blank, at most 150 characters.
fn name() -> impl Strategy<Value = String> {
    "[\\PC&&[^\u{2028}\u{2029}\u{200E}\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}\u{FEFF}]]{1,60}"
        .prop_filter("a name is not blank", |name| !name.trim().is_empty())
}

fn row(n: usize) -> impl Strategy<Value = Row> {
    (
        proptest::sample::select(vec![("PLG", 7i64), ("GTO", 8), ("JPR", 9)]),
        name(),
        indonesian_mobile(),
        (0u32..3650, 0u32..24, 0u32..60),
        proptest::sample::select(Stage::ALL.to_vec()),
        proptest::sample::select(Product::ALL.to_vec()),
        any::<bool>(),
        0u32..40,
        "[a-z0-9]{0,6}",
    )
        .prop_map(
            move |(
                (office, offset),
                name,
                (e164, phone),
                (day, hour, minute),
                stage,
                product,
                express,
                applied_before,
                suffix,
            )| {
                let local =
                    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(hour, minute, 0).unwrap()
                        + Duration::days(i64::from(day));
                let applied = local.date() - Duration::days(i64::from(applied_before));
                let code = format!("MP-{n:05}{suffix}");
                let cells = vec![
                    ("booking_code", code.to_lowercase()),
                    ("office_code", office.to_lowercase()),
                    (
                        "unit_code",
                        if office == "PLG" && day % 2 == 0 { "plg-mpp".into() } else { String::new() },
                    ),
                    ("name", name.clone()),
                    ("phone", phone),
                    ("email", String::new()),
                    ("whatsapp", String::new()),
                    ("language", "en".into()),
                    ("appointment_at", local.format("%Y-%m-%d %H:%M").to_string()),
                    ("product", product.as_str().into()),
                    ("express", if express { "ya".into() } else { "tidak".into() }),
                    ("stage", stage.as_str().into()),
                    ("applied_at", applied.to_string()),
                ];
                Row {
                    cells,
                    code: code.to_uppercase(),
                    office,
                    name: name.trim().to_owned(),
                    e164,
                    appointment_utc: local - Duration::hours(offset),
                    stage,
                    product,
                }
            },
        )
}

/// Several rows with distinct codes.
fn rows() -> impl Strategy<Value = Vec<Row>> {
    (1usize..6).prop_flat_map(|count| (0..count).map(row).collect::<Vec<_>>())
}

/// How a file is written: the column order, whether every cell is quoted, the line ending, and
/// whether a column kabar does not read holds a quoted line break.
#[derive(Debug, Clone)]
struct Layout {
    order: Vec<usize>,
    quote_all: bool,
    ending: &'static str,
    note_with_break: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        Just((0..BOOKING_COLUMNS.len()).collect::<Vec<_>>()).prop_shuffle(),
        any::<bool>(),
        proptest::sample::select(vec!["\n", "\r\n", "\r"]),
        any::<bool>(),
    )
        .prop_map(|(order, quote_all, ending, note_with_break)| Layout {
            order,
            quote_all,
            ending,
            note_with_break,
        })
}

fn quote(value: &str, all: bool) -> String {
    if all || value.contains([',', '"', '\n', '\r']) || value != value.trim() {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The file, and the line each row starts on.
fn write(rows: &[Row], layout: &Layout) -> (String, Vec<u64>) {
    let mut header: Vec<&str> = layout.order.iter().map(|&i| BOOKING_COLUMNS[i].name).collect();
    header.push("note");
    let mut text = header.join(",") + layout.ending;
    let mut line = 2;
    let mut lines = Vec::new();
    for row in rows {
        lines.push(line);
        let mut cells: Vec<String> =
            layout.order.iter().map(|&i| quote(&row.cells[i].1, layout.quote_all)).collect();
        let note = if layout.note_with_break { format!("\"see{}below\"", layout.ending) } else { "-".into() };
        line += if layout.note_with_break { 2 } else { 1 };
        cells.push(note);
        text.push_str(&cells.join(","));
        text.push_str(layout.ending);
    }
    (text, lines)
}

/// A wrong value for a column, and a word its message contains.
fn wrong_value() -> impl Strategy<Value = (&'static str, &'static str, &'static str)> {
    proptest::sample::select(vec![
        ("booking_code", "MP 1", "is not a booking code"),
        ("office_code", "XYZ", "unknown office"),
        ("unit_code", "GTO-ULP", "unknown unit"),
        ("name", "Bu\u{0}di", "NUL"),
        ("name", "", "is empty"),
        ("phone", "0812-3456-789O", "the letter 'O'"),
        ("phone", "+60123456789", "allowed_countries"),
        ("phone", "021-5551234", "not a mobile"),
        ("email", "budi@", "not an email address"),
        ("whatsapp", "0812 3456 7890 x", "the letter 'x'"),
        ("language", "fr", "unknown language"),
        ("appointment_at", "9999-06-24 09:00", "from 2000 to 2099"),
        ("appointment_at", "2024-02-30 09:00", "not a date and time"),
        ("product", "diplomatic", "unknown product"),
        ("express", "maybe", "not yes or no"),
        ("stage", "done", "unknown stage"),
        ("applied_at", "2100-01-01", "from 2000 to 2099"),
        ("applied_at", "11/06/2024", "not a date"),
    ])
}

proptest! {
    #![proptest_config(crate::cases(96))]

    #[test]
    fn valid_files_read_back_exactly(rows in rows(), layout in layout()) {
        let (text, _) = write(&rows, &layout);
        let parsed = parse_bookings(text.as_bytes(), "bookings.csv", directory(), &NumberPolicy::default()).unwrap();
        prop_assert!(parsed.report.is_clean(), "{}\n{}", parsed.report, text);
        prop_assert_eq!(parsed.report.ignored_columns.clone(), vec!["note".to_owned()]);
        prop_assert_eq!(parsed.bookings.len(), rows.len());
        for (booking, row) in parsed.bookings.iter().zip(&rows) {
            prop_assert_eq!(booking.code.as_str(), row.code.as_str());
            prop_assert_eq!(booking.office.as_str(), row.office);
            prop_assert_eq!(&booking.holder_name, &row.name);
            prop_assert_eq!(booking.applicant.mobile.e164(), row.e164.as_str());
            prop_assert_eq!(booking.appointment_at.naive_utc(), row.appointment_utc);
            prop_assert_eq!(booking.stage, row.stage);
            prop_assert_eq!(booking.product, row.product);
        }
    }

    #[test]
    fn one_wrong_cell_is_reported_on_its_line_and_column(
        rows in rows(), layout in layout(), pick in any::<prop::sample::Index>(), (column, value, says) in wrong_value()
    ) {
        let mut rows = rows;
        let at = pick.index(rows.len());
        let cell = rows[at].cells.iter_mut().find(|(name, _)| *name == column).unwrap();
        cell.1 = value.to_owned();
        let (text, lines) = write(&rows, &layout);
        let parsed = parse_bookings(text.as_bytes(), "bookings.csv", directory(), &NumberPolicy::default()).unwrap();
        let errors = &parsed.report.errors;
        prop_assert_eq!(errors.len(), 1, "{:?}\n{}", errors, text);
        prop_assert_eq!(errors[0].line, lines[at], "{}", text);
        prop_assert_eq!(errors[0].column.as_deref(), Some(column));
        prop_assert!(errors[0].message.contains(says), "{}", errors[0].message);
        prop_assert_eq!(parsed.bookings.len(), rows.len() - 1);
    }

    #[test]
    fn a_repeated_code_names_the_first_line(rows in rows(), layout in layout(), pick in any::<prop::sample::Index>()) {
        let mut rows = rows;
        let first = pick.index(rows.len());
        let mut again = rows[first].clone();
        again.cells[11].1 = "ready".into();
        rows.push(again);
        let (text, lines) = write(&rows, &layout);
        let parsed = parse_bookings(text.as_bytes(), "bookings.csv", directory(), &NumberPolicy::default()).unwrap();
        let errors = &parsed.report.errors;
        prop_assert_eq!(errors.len(), 1, "{:?}", errors);
        prop_assert_eq!(errors[0].line, *lines.last().unwrap());
        let expected = format!("{} is already on line {};", rows[first].code, lines[first]);
        prop_assert!(errors[0].message.starts_with(&expected), "{}", errors[0].message);
    }

    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), header in any::<bool>()) {
        let mut input = Vec::new();
        if header {
            input.extend_from_slice(BOOKING_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",").as_bytes());
            input.push(b'\n');
        }
        input.extend_from_slice(&bytes);
        let _ = parse_bookings(input.as_slice(), "bookings.csv", directory(), &NumberPolicy::default());
    }

    #[test]
    fn no_row_of_csv_shaped_noise_panics(cells in proptest::collection::vec("[a-zA-Z0-9 ,;\"\r\n\t\u{0}-\u{1f}é😀+-]{0,20}", 13..14)) {
        let header = BOOKING_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",");
        let text = format!("{header}\n{}\n", cells.join(","));
        if let Ok(parsed) = parse_bookings(text.as_bytes(), "bookings.csv", directory(), &NumberPolicy::default()) {
            for error in &parsed.report.errors {
                prop_assert!(error.line >= 2 && error.column.is_some(), "{:?}", error);
            }
        }
    }
}
