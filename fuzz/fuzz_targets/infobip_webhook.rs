//! Any body as an Infobip delivery report.
#![no_main]

use kabar::receipts::infobip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = infobip::parse_reports(data, chrono::DateTime::UNIX_EPOCH);
});
