//! Any bytes as an office list: refused or read, never a panic.
#![no_main]

use kabar::import::parse_offices;
use kabar::store::OfficeDirectory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_offices(data, "fuzz.csv", &OfficeDirectory::default()) {
        for error in &parsed.report.errors {
            assert!(error.line >= 2 && error.column.is_some(), "{error}");
        }
    }
});
