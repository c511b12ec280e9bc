//! Booking sync benchmark: `PUT /api/v1/bookings` over real HTTP (a server on port 0, a token
//! for all offices), N bookings from the demo generator over ~150 offices sent 10,000 per
//! request, one request at a time as M-Paspor would. Prints rows per second for the first sync
//! (every row new) and a second one (nothing changes), and the latency of a request, and writes
//! the figures to `target/bench/api_sync-<engine>-<rows>.json`.
//!
//!     cargo bench --bench api_sync                       # 200,000 rows on SQLite
//!     cargo bench --bench api_sync -- --rows 20000       # the CI smoke run
//!     KABAR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench api_sync -- --engine postgres

mod common;

use std::time::{Duration, Instant};

use common::{arg, peak_rss_mib, write_figures, BenchStore};
use kabar::audit::Origin;
use kabar::demo::{self, SeedSpec};
use kabar::http::HttpState;
use kabar::import::MAX_SYNC_ROWS;
use kabar::staff::accounts::{self, NewToken};
use kabar::staff::Role;
use secrecy::ExposeSecret;

/// The generator's CSV as the JSON objects M-Paspor would send (column name → cell).
fn json_rows(csv: &[u8]) -> Vec<serde_json::Value> {
    let mut reader = csv::Reader::from_reader(csv);
    let header: Vec<String> = reader.headers().expect("a header").iter().map(str::to_owned).collect();
    reader
        .records()
        .map(|record| {
            let record = record.expect("a CSV row");
            let object: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(record.iter())
                .filter(|(_, cell)| !cell.is_empty())
                .map(|(name, cell)| (name.clone(), serde_json::Value::String(cell.to_owned())))
                .collect();
            serde_json::Value::Object(object)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let rows: usize = arg("--rows", 200_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bench = BenchStore::open(dir.path()).await;
    let store = &bench.store;

    let offices = demo::load_offices(store, Some(arg("--offices", 150)), 7).await.expect("offices");
    let spec = SeedSpec::new(rows, 7, chrono::NaiveDate::from_ymd_opt(2024, 6, 17).expect("a date"));
    let mut csv = Vec::new();
    demo::write_bookings_csv(demo::bookings(&spec, &offices), &offices, &mut csv).expect("write the CSV");
    let rows = json_rows(&csv);
    let bodies: Vec<Vec<u8>> =
        rows.chunks(MAX_SYNC_ROWS).map(|chunk| serde_json::to_vec(chunk).expect("JSON")).collect();
    let json_bytes = bodies.iter().map(Vec::len).sum::<usize>();
    println!(
        "generated {} rows over {} offices, {} requests of at most {MAX_SYNC_ROWS} ({:.1} MiB of JSON)",
        rows.len(),
        offices.len(),
        bodies.len(),
        json_bytes as f64 / 1048576.0
    );

    let token = NewToken {
        name: "mpaspor".parse().expect("a name"),
        role: Role::Officer,
        scope: "all".parse().expect("a scope"),
        expires_in: None,
    };
    let (_, secret) =
        accounts::create_token(store, token, &Origin::cli(), chrono::Utc::now()).await.expect("a token");
    let listener = kabar::http::bind("127.0.0.1:0".parse().expect("an address")).await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let state = HttpState::new(store.clone(), kabar::observe::metrics::install());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kabar::http::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    let mut passes = Vec::new();
    for pass in ["first sync", "second sync (unchanged)"] {
        let mut latencies = Vec::with_capacity(bodies.len());
        let (mut inserted, mut unchanged) = (0, 0);
        let started = Instant::now();
        for body in &bodies {
            let sent = Instant::now();
            let response = client
                .put(format!("{base}/api/v1/bookings"))
                .bearer_auth(secret.expose_secret())
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("the server answers");
            let status = response.status();
            let answer: serde_json::Value = response.json().await.expect("a JSON answer");
            assert_eq!(status, 200, "{answer}");
            latencies.push(sent.elapsed());
            inserted += answer["inserted"].as_u64().unwrap_or(0);
            unchanged += answer["unchanged"].as_u64().unwrap_or(0);
        }
        let seconds = started.elapsed().as_secs_f64();
        latencies.sort();
        let peak = peak_rss_mib();
        println!(
            "{} PUT /api/v1/bookings {pass}: {} rows in {seconds:.1} s = {:.0} rows/s ({inserted} new, {unchanged} \
             unchanged); per request of {MAX_SYNC_ROWS}: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms; peak RSS {:.0} MiB",
            bench.engine,
            rows.len(),
            rows.len() as f64 / seconds,
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.95),
            percentile(&latencies, 1.0),
            peak
        );
        passes.push(serde_json::json!({
            "rows": rows.len(),
            "seconds": seconds,
            "rows_per_second": rows.len() as f64 / seconds,
            "inserted": inserted,
            "unchanged": unchanged,
            "p50_ms": percentile(&latencies, 0.50),
            "p95_ms": percentile(&latencies, 0.95),
            "max_ms": percentile(&latencies, 1.0),
            "peak_rss_mib": peak,
        }));
    }
    let figures = serde_json::json!({
        "engine": bench.engine,
        "rows": rows.len(),
        "offices": offices.len(),
        "requests": bodies.len(),
        "rows_per_request": MAX_SYNC_ROWS,
        "json_bytes": json_bytes,
        "first_sync": passes[0],
        "second_sync": passes[1],
    });
    let written =
        write_figures(&format!("api_sync-{}-{}", bench.engine.to_lowercase(), spec.bookings), &figures);
    println!("figures: {}", written.display());
    let _ = stop.send(());
    let _ = server.await;
    bench.finish().await;
}
