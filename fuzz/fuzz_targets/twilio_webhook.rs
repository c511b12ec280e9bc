//! Any body as a Twilio status callback or inbound message.
#![no_main]

use kabar::receipts::twilio;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = twilio::parse_form(data) {
        let _ = twilio::parse_status(&params, chrono::DateTime::UNIX_EPOCH);
        let _ = twilio::parse_inbound(&params);
    }
});
