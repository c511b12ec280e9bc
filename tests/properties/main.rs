//! Properties of every input parser and of the SMS encoder and the renderer, run by `cargo test`
//! with modest case counts (the whole target runs in seconds; `PROPTEST_CASES=5000 cargo test
//! --test properties` runs longer). The same entry points have `cargo fuzz` targets in `fuzz/`;
//! every crash either finds becomes a regression test here (`regressions.rs`).

mod csv_bookings;
mod csv_offices;
mod phone;
mod regressions;
mod render;
mod sms;
mod sms_model;
mod webhooks;

use proptest::test_runner::Config;

/// The case count of a property: `PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default);
    Config { cases, failure_persistence: None, ..Config::default() }
}
