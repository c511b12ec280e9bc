//! Import benchmark: generates an M-Paspor export of N bookings over ~150 offices with the demo
//! generator, then imports it into a fresh store and imports it again (nothing changes the second
//! time). Prints rows per second and the peak resident memory.
//!
//!     cargo bench --bench import                       # 1,000,000 rows on SQLite
//!     cargo bench --bench import -- --rows 20000       # the CI smoke run
//!     KABAR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench import -- --engine postgres

mod common;

use std::time::Instant;

use common::{arg, peak_rss_mib, BenchStore};
use kabar::demo::{self, SeedSpec};
use kabar::import::{import_bookings, ImportOptions};

#[tokio::main]
async fn main() {
    let rows: usize = arg("--rows", 1_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bench = BenchStore::open(dir.path()).await;
    let store = &bench.store;

    let offices = demo::load_offices(store, Some(arg("--offices", 150)), 7).await.expect("offices");
    let spec = SeedSpec::new(rows, 7, chrono::NaiveDate::from_ymd_opt(2024, 6, 17).expect("a date"));
    let path = dir.path().join("bookings.csv");
    let started = Instant::now();
    let file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create the CSV"));
    demo::write_bookings_csv(demo::bookings(&spec, &offices), &offices, file).expect("write the CSV");
    let size = std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
    println!(
        "generated {rows} rows over {} offices ({:.0} MiB CSV) in {:.1} s; peak RSS so far {:.0} MiB",
        offices.len(),
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let options = ImportOptions::default();
    for pass in ["first import", "re-import"] {
        let started = Instant::now();
        let report = import_bookings(store, &path, &options).await.expect("import");
        let seconds = started.elapsed().as_secs_f64();
        assert!(report.is_clean(), "{report}");
        println!(
            "{} {pass}: {} rows in {:.1} s = {:.0} rows/s ({} new, {} updated, {} unchanged); peak RSS {:.0} MiB",
            bench.engine,
            report.rows,
            seconds,
            report.rows as f64 / seconds,
            report.counts.inserted,
            report.counts.updated,
            report.counts.unchanged,
            peak_rss_mib()
        );
    }
    bench.finish().await;
}
