//! Any body as a WhatsApp Cloud API webhook.
#![no_main]

use kabar::receipts::whatsapp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = whatsapp::parse_events(data);
});
