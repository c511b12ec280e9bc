//! How fast `kabar::demo` generates bookings: `cargo run --release --example seed_speed [N]`.
//!
//! A benchmark, not a test: it prints figures. N defaults to 2,000,000 bookings over the reference
//! offices plus synthetic ones up to 150.

use std::time::Instant;

use kabar::demo::{bookings, reference_offices, synthetic_offices, write_bookings_csv, SeedOffice, SeedSpec};

fn main() {
    let count: usize =
        std::env::args().nth(1).map(|n| n.parse().expect("N is a number of bookings")).unwrap_or(2_000_000);
    let mut offices = reference_offices().expect("the reference list parses");
    offices.extend(synthetic_offices(150usize.saturating_sub(offices.len()), 1));
    let offices = SeedOffice::from_list(&offices);
    let spec = SeedSpec::new(count, 1, chrono::NaiveDate::from_ymd_opt(2024, 6, 20).unwrap());

    let start = Instant::now();
    for booking in bookings(&spec, &offices) {
        std::hint::black_box(booking);
    }
    report("generate", count, start);

    let start = Instant::now();
    let written =
        write_bookings_csv(bookings(&spec, &offices), &offices, std::io::sink()).expect("writing to a sink");
    report("generate + write CSV", written as usize, start);
}

fn report(what: &str, count: usize, start: Instant) {
    let seconds = start.elapsed().as_secs_f64();
    println!("{what}: {count} bookings in {seconds:.2} s = {:.0} bookings/s", count as f64 / seconds);
}
