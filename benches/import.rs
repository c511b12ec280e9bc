//! Import benchmark: generates an M-Paspor export of N bookings over ~150 offices with the demo
//! generator, then imports it into a fresh store and imports it again (nothing changes the second
//! time). Prints rows per second and the peak resident memory.
//!
//!     cargo bench --bench import                       # 1,000,000 rows on SQLite
//!     cargo bench --bench import -- --rows 20000       # the CI smoke run
//!     KABAR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench import -- --engine postgres

use std::time::Instant;

use kabar::demo::{self, SeedSpec};
use kabar::import::{import_bookings, ImportOptions};
use kabar::store::{DatabaseUrl, Store};

struct Args {
    rows: usize,
    offices: usize,
    postgres: bool,
}

fn args() -> Args {
    let mut args = Args {
        rows: 1_000_000,
        offices: 150,
        postgres: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--rows" => args.rows = given.next().and_then(|n| n.parse().ok()).expect("--rows N"),
            "--offices" => {
                args.offices = given
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--offices N")
            }
            "--engine" => args.postgres = given.next().as_deref() == Some("postgres"),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// The peak resident set size of this process so far, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

async fn open_store(postgres: bool, dir: &std::path::Path) -> (Store, Option<(String, String)>) {
    if !postgres {
        let url = DatabaseUrl::Sqlite(dir.join("bench.db").display().to_string());
        return (Store::open(&url).await.expect("open SQLite"), None);
    }
    let admin_url = std::env::var("KABAR_BENCH_POSTGRES_URL")
        .expect("set KABAR_BENCH_POSTGRES_URL for --engine postgres");
    let name = format!("kabar_bench_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("reach PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create the bench database");
    let mut url = url::Url::parse(&admin_url).expect("a URL");
    url.set_path(&name);
    let store = Store::open(&DatabaseUrl::Postgres(url))
        .await
        .expect("open PostgreSQL");
    (store, Some((admin_url, name)))
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, postgres) = open_store(args.postgres, dir.path()).await;
    let engine = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    let offices = demo::load_offices(&store, Some(args.offices), 7)
        .await
        .expect("offices");
    let spec = SeedSpec::new(
        args.rows,
        7,
        chrono::NaiveDate::from_ymd_opt(2024, 6, 17).expect("a date"),
    );
    let path = dir.path().join("bookings.csv");
    let started = Instant::now();
    let file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create the CSV"));
    demo::write_bookings_csv(demo::bookings(&spec, &offices), &offices, file)
        .expect("write the CSV");
    let size = std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
    println!(
        "generated {} rows over {} offices ({:.0} MiB CSV) in {:.1} s; peak RSS so far {:.0} MiB",
        args.rows,
        offices.len(),
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let options = ImportOptions::default();
    for pass in ["first import", "re-import"] {
        let started = Instant::now();
        let report = import_bookings(&store, &path, &options)
            .await
            .expect("import");
        let seconds = started.elapsed().as_secs_f64();
        assert!(report.is_clean(), "{report}");
        println!(
            "{engine} {pass}: {} rows in {:.1} s = {:.0} rows/s ({} new, {} updated, {} unchanged); peak RSS {:.0} MiB",
            report.rows,
            seconds,
            report.rows as f64 / seconds,
            report.counts.inserted,
            report.counts.updated,
            report.counts.unchanged,
            peak_rss_mib()
        );
    }
    store.close().await;
    if let Some((admin_url, name)) = postgres {
        let admin = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("reach PostgreSQL");
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&admin)
            .await
            .expect("drop the bench database");
    }
}
