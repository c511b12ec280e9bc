//! Any text as a phone number: an E.164 mobile that parses to itself, or an error; never a
//! panic, never a number read from letters.
#![no_main]

use kabar::domain::{Msisdn, NumberPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(number) = text.parse::<Msisdn>() {
        assert!(!text.chars().any(char::is_alphabetic), "{text:?}");
        let again: Msisdn = number.e164().parse().expect("E.164 parses");
        assert_eq!(again, number);
        let _ = Msisdn::parse_with(&text, &NumberPolicy::default());
    }
});
