//! Planning benchmark: seeds N bookings (default 2,000,000) over ~150 offices, declares the
//! national printing outage of 2024-06-20, and times the planner turning it into messages (one
//! event per office, each planned in the database). Prints the time, the messages planned and the
//! peak resident memory, and writes the figures to
//! `target/bench/plan-<engine>-<bookings>-history-<per mille>.json`.
//!
//!     cargo bench --bench plan                          # 2,000,000 bookings on SQLite
//!     cargo bench --bench plan -- --history 0           # only live bookings: the worst case
//!     cargo bench --bench plan -- --bookings 20000      # the CI smoke run
//!
//! By default 60% of the bookings are finished history (picked up, no-shows, cancellations from
//! the half year before), as in a long M-Paspor export; `--history 0` makes every booking live
//! (a booking in the next three weeks or an application in process), which roughly doubles the
//! messages.
//!     KABAR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench plan -- --engine postgres

mod common;

use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use common::{arg, peak_rss_mib, reset_peak_rss, rss_mib, write_figures, BenchStore};
use kabar::demo::{self, SeedSpec};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::state::set_state;

#[tokio::main]
async fn main() {
    let bookings: usize = arg("--bookings", 2_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bench = BenchStore::open(dir.path()).await;
    let store = &bench.store;

    let started = Instant::now();
    let offices = demo::load_offices(store, Some(arg("--offices", 150)), 11).await.expect("offices");
    let history: u32 = arg("--history", 600);
    let mut spec = SeedSpec::new(bookings, 11, NaiveDate::from_ymd_opt(2024, 6, 17).expect("a date"));
    spec.history_per_mille = history;
    let seeded = demo::seed_bookings(store, &spec, &offices, false).await.expect("seed");
    let seed_seconds = started.elapsed().as_secs_f64();
    println!(
        "{}: seeded {} bookings ({}‰ finished history; {} applicants) over {} offices in {:.1} s",
        bench.engine, seeded.bookings, history, seeded.applicants, seeded.offices, seed_seconds
    );

    // Thursday 2024-06-20, 10:00 WIB: printing stops everywhere.
    let now: DateTime<Utc> = "2024-06-20T03:00:00Z".parse().expect("an instant");
    let outage = common::national_printing_outage(now);
    set_state(store, &outage).await.expect("the outage");
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let before = rss_mib();
    reset_peak_rss();
    let started = Instant::now();
    let events = plan_once(store, &config, now).await.expect("plan");
    let seconds = started.elapsed().as_secs_f64();
    let messages: u64 = events.iter().map(|event| event.counts.messages).sum();
    let unreachable: u64 = events.iter().map(|event| event.counts.unreachable).sum();
    let peak = peak_rss_mib();
    println!(
        "{}: national printing outage planned in {seconds:.2} s: {} events, {messages} messages \
         ({unreachable} with no usable channel) = {:.0} messages/s; RSS {before:.0} MiB before \
         planning, peak {:.0} MiB while planning",
        bench.engine,
        events.len(),
        messages as f64 / seconds,
        peak
    );
    let started = Instant::now();
    let replay = plan_once(store, &config, now).await.expect("plan again");
    let replay_seconds = started.elapsed().as_secs_f64();
    println!("{}: planning again: {} events in {replay_seconds:.3} s", bench.engine, replay.len());
    let figures = serde_json::json!({
        "engine": bench.engine,
        "bookings": seeded.bookings,
        "history_per_mille": history,
        "applicants": seeded.applicants,
        "offices": seeded.offices,
        "seed_seconds": seed_seconds,
        "plan_seconds": seconds,
        "events": events.len(),
        "messages": messages,
        "unreachable": unreachable,
        "messages_per_second": messages as f64 / seconds,
        "rss_before_mib": before,
        "peak_rss_mib": peak,
        "replan_events": replay.len(),
        "replan_seconds": replay_seconds,
    });
    let written = write_figures(
        &format!("plan-{}-{bookings}-history-{history}", bench.engine.to_lowercase()),
        &figures,
    );
    println!("figures: {}", written.display());
    bench.finish().await;
}
