//! Any bytes as a booking export: refused or read, never a panic; every row error names a line
//! and a column.
#![no_main]

use std::sync::LazyLock;

use kabar::domain::NumberPolicy;
use kabar::import::{parse_bookings, parse_offices};
use kabar::store::OfficeDirectory;
use libfuzzer_sys::fuzz_target;

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
GTO,Kantor Imigrasi Kelas I TPI Gorontalo,Asia/Makassar,office,,I,Gorontalo,yes
PLG-MPP,ULP Mal Pelayanan Publik Palembang,,unit,PLG,,,
";

static DIRECTORY: LazyLock<OfficeDirectory> = LazyLock::new(|| {
    let parsed = parse_offices(OFFICES.as_bytes(), "offices.csv", &OfficeDirectory::default()).unwrap();
    OfficeDirectory::from_lists(parsed.offices, parsed.units)
});

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_bookings(data, "fuzz.csv", &DIRECTORY, &NumberPolicy::default()) {
        for error in &parsed.report.errors {
            assert!(error.line >= 2 && error.column.is_some(), "{error}");
        }
        assert_eq!(parsed.report.rows, parsed.bookings.len() as u64 + parsed.report.rejected);
    }
});
