//! Delivery benchmark: how fast the outbox worker empties a queue of a million SMS into a fake
//! Twilio (claim → render → HTTP → recorded), how soon after a state change the first request
//! leaves, and whether a provider's rate limit is both used and respected. Prints figures; asserts
//! only that every message arrived once and was recorded.
//!
//!     cargo bench --bench deliver                           # 1,000,000 messages on SQLite
//!     cargo bench --bench deliver -- --messages 20000       # the CI smoke run (< 1 min)
//!     KABAR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo bench --bench deliver -- --engine postgres --workers 2
//!
//! Three runs, each on a fresh store (`--runs throughput,latency,rate` picks some):
//! 1. throughput: `--messages N` (1,000,000) queued by staff-text broadcasts to every office, then
//!    `--workers K` (1) worker processes (this benchmark re-executed with `--child`) drain them
//!    into the fake in this process. Prints the time, messages/s and each worker's peak RSS.
//!    `--batch`, `--concurrency` override the delivery defaults; `--breakdown` replaces the worker
//!    with a stopwatch replica of its step, to show where the time goes.
//!    Each round is followed by the **ceiling** (`ceiling.rs`): as many processes POST the same
//!    number of messages to the same fake with kabar's client settings and concurrency, and no
//!    database. `--rounds R` (1) alternates the two R times; the medians, the ratio
//!    (`ceiling ratio (sqlite): 0.83`) and CPU µs per message of each are printed last.
//!    `--no-ceiling` skips it.
//!    `--runs mix` (`mix.rs`) does the same with the demo's mix: notices of the national outage
//!    over WhatsApp, SMS and email through the test suite's fakes, 2% falling back, beside the
//!    best case when both run.
//!    `--runs peer` (`peer.rs`, PostgreSQL): graphile-worker over as many jobs on the same
//!    server, to the same fake, with the same processes and concurrency, beside kabar.
//!    `--runs inform` (`inform.rs`): time to inform, the national outage at the providers' real
//!    limits, against the provider-limited minimum.
//! 2. latency: a worker waiting on its `Notify`; `set_state` (settle time 0) → `plan_once` →
//!    `notify_one`, timed to the fake's first request, `--repeat` (10) times.
//! 3. rate: ~10 × `--rate R` (200) messages through an account limited to R per second: the
//!    sustained rate and the busiest one-second window.

#[path = "deliver/breakdown.rs"]
mod breakdown;
#[path = "deliver/ceiling.rs"]
mod ceiling;
#[path = "deliver/child.rs"]
mod child;
mod common;
#[path = "deliver/compare.rs"]
mod compare;
#[path = "deliver/fake.rs"]
mod fake;
#[path = "deliver/inform.rs"]
mod inform;
#[path = "deliver/mix.rs"]
mod mix;
/// The run's figures as JSON and its course as an SVG chart under target/bench/.
#[path = "deliver/peer.rs"]
mod peer;
#[path = "deliver/plot.rs"]
mod plot;
/// The test suite's provider fakes, for the mix run.
#[path = "../tests/fakes/mod.rs"]
mod provider_fakes;
#[path = "deliver/queue.rs"]
mod queue;
#[path = "deliver/runs.rs"]
mod runs;
#[allow(dead_code)] // the suite's SMTP server: the mix run uses a part of it
#[path = "../tests/fakes/smtp.rs"]
mod smtp_fake;

use std::time::Instant;

use child::{Options, WorkerProcess};
use chrono::{DateTime, Utc};
use common::{arg, cpu_seconds, peak_rss_mib, BenchStore};
use fake::FakeTwilio;
use kabar::deliver::DeliveryConfig;
use runs::verdict;

fn main() {
    if flag("--child") {
        return child::main();
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(parent());
}

/// Whether `name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|arg| arg == name)
}

/// Thursday 2024-06-20, 10:00 WIB: the instant the queued messages are planned and sent at,
/// outside every office's quiet hours.
pub fn now() -> DateTime<Utc> {
    "2024-06-20T03:00:00Z".parse().expect("an instant")
}

async fn parent() {
    let runs: String = arg("--runs", "throughput,latency,rate".to_owned());
    let defaults = DeliveryConfig::default();
    let options = Options {
        batch_size: arg("--batch", defaults.batch_size),
        concurrency: arg("--concurrency", defaults.concurrency),
        breakdown: flag("--breakdown"),
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut best = None;
    if runs.contains("throughput") {
        let (messages, workers) = (arg("--messages", 1_000_000), arg("--workers", 1));
        let mut rounds = Vec::new();
        for _ in 0..arg("--rounds", 1usize).max(1) {
            // A fresh store per round: the fake's message ids start again at 1.
            let round = tempfile::tempdir_in(dir.path()).expect("a temporary directory");
            let kabar = throughput(round.path(), messages, workers, &options).await;
            let ceiling = if flag("--no-ceiling") {
                None
            } else {
                Some(compare::ceiling(&kabar.engine, kabar.messages, workers, options.concurrency).await)
            };
            rounds.push((kabar, ceiling));
        }
        compare::print(&rounds, workers);
        // The median round, beside the mix.
        rounds.sort_by(|a, b| a.0.per_second.total_cmp(&b.0.per_second));
        best = Some(rounds.swap_remove(rounds.len() / 2).0);
    }
    if runs.contains("mix") {
        let round = tempfile::tempdir_in(dir.path()).expect("a temporary directory");
        let mix = mix::run(round.path(), &options).await;
        if let Some(best) = &best {
            println!(
                "realistic mix ({}): {:.0} messages/s at {:.0} µs of worker CPU per message; best case {:.0} \
                 messages/s at {:.0} µs ({:.2}×)",
                best.engine.to_lowercase(),
                mix.per_second,
                mix.cpu_micros,
                best.per_second,
                best.cpu_micros,
                mix.per_second / best.per_second
            );
        }
    }
    if runs.contains("peer") {
        let workers = arg("--workers", 1);
        let jobs = best.as_ref().map_or_else(peer::jobs, |best| best.messages);
        let peer = peer::run(jobs, workers, options.concurrency).await;
        match &best {
            Some(best) if best.engine == "PostgreSQL" => println!(
                "peer ratio (postgres, {workers} worker(s)): kabar {:.0} messages/s ({:.0} µs CPU a message) / \
                 graphile-worker {:.0} jobs/s ({:.0} µs) = {:.2}× (goal ≥ 1.0: {})",
                best.per_second,
                best.cpu_micros,
                peer.per_second,
                peer.cpu_micros,
                best.per_second / peer.per_second,
                verdict(best.per_second >= peer.per_second)
            ),
            _ => println!("peer: run with --engine postgres --runs throughput,peer to see kabar beside it"),
        }
    }
    if runs.contains("inform") {
        let round = tempfile::tempdir_in(dir.path()).expect("a temporary directory");
        inform::run(round.path()).await;
    }
    if runs.contains("latency") {
        runs::latency(dir.path(), arg("--repeat", 10)).await;
    }
    if runs.contains("rate") {
        runs::rate(dir.path(), arg("--rate", 200)).await;
    }
}

async fn throughput(
    dir: &std::path::Path,
    messages: u64,
    workers: usize,
    options: &Options,
) -> compare::Figures {
    let bench = BenchStore::open(dir).await;
    let store = &bench.store;
    let engine = bench.engine;
    let queued = queue::fill(store, messages, arg("--offices", 150), now()).await;
    println!(
        "{engine}: queued {} messages ({} broadcasts to every office; {} bookings, {} applicants, {} offices; \
         {} with no usable channel): seeded in {:.1} s, planned in {:.1} s",
        queued.messages,
        queued.broadcasts,
        queued.bookings,
        queued.applicants,
        queued.offices,
        queued.unreachable,
        queued.seed_seconds,
        queued.plan_seconds
    );

    let fake = FakeTwilio::start().await;
    let mut processes = Vec::with_capacity(workers);
    for _ in 0..workers {
        processes.push(WorkerProcess::start(&bench.url, &fake.base_url, options).await);
    }
    let (machine, fake_cpu) = (MachineCpu::now(), cpu_seconds());
    let started = Instant::now();
    for process in &mut processes {
        process.go().await;
    }
    let reports = futures::future::join_all(processes.into_iter().map(WorkerProcess::finish)).await;
    let seconds = started.elapsed().as_secs_f64();
    let (busy_cores, fake_cpu) = (machine.busy_cores(), cpu_seconds() - fake_cpu);

    let sent: usize = reports.iter().map(|report| report.sent).sum();
    let recorded: u64 = store
        .message_counts()
        .await
        .expect("count messages")
        .iter()
        .filter(|count| count.status == "sent")
        .map(|count| count.messages)
        .sum();
    let arrivals = fake.arrivals();
    let all = recorded == queued.messages && arrivals.len() as u64 == queued.messages && fake.refused() == 0;
    let mode = if options.breakdown { "the stopwatch replica of the worker" } else { "Worker::drain" };
    println!(
        "{engine}: delivered {sent} messages with {workers} worker process(es) ({mode}; batch {}, \
         concurrency {}) in {seconds:.1} s = {:.0} messages/s (target ≥ 10,000: {}); all {} received once \
         and recorded as sent: {}",
        options.batch_size,
        options.concurrency,
        sent as f64 / seconds,
        verdict(sent as f64 / seconds >= 10_000.0),
        queued.messages,
        verdict(all),
    );
    if let (Some(first), Some(last)) = (arrivals.first(), arrivals.last()) {
        println!(
            "{engine}:   fake: first request {:.0} ms after go, last {:.1} s; {:.0} requests/s in between",
            (*first - started).as_secs_f64() * 1000.0,
            (*last - started).as_secs_f64(),
            arrivals.len().saturating_sub(1) as f64 / (*last - *first).as_secs_f64()
        );
    }
    for (number, report) in reports.iter().enumerate() {
        println!(
            "{engine}:   worker {}: {} sent in {:.1} s, CPU {:.1} s ({:.0} µs per message), peak RSS {:.0} MiB \
             (target ≤ 150: {})",
            number + 1,
            report.sent,
            report.seconds,
            report.cpu_seconds,
            report.cpu_seconds * 1e6 / report.sent.max(1) as f64,
            report.peak_rss_mib,
            verdict(report.peak_rss_mib <= 150.0)
        );
        if let Some(phases) = &report.phases {
            let per = |seconds: f64| seconds * 1e6 / phases.messages.max(1) as f64;
            let parts: Vec<String> = phases
                .all()
                .iter()
                .map(|(name, phase)| {
                    format!(
                        "{name} {:.0} µs ({:.0}%; CPU {:.0} µs, waiting for a core {:.0} µs)",
                        per(phase.wall),
                        100.0 * phase.wall / phases.total(),
                        per(phase.cpu),
                        per(phase.waited)
                    )
                })
                .collect();
            println!(
                "{engine}:     {} steps; per message: {}; mean request {:.2} ms",
                phases.steps,
                parts.join(", "),
                phases.request_seconds * 1000.0 / phases.messages.max(1) as f64
            );
        }
    }
    println!(
        "{engine}:   CPU during the run: the fake (this process) {fake_cpu:.1} s, the machine {busy_cores:.2} of {} \
         cores busy; this process's peak RSS (seeding, planning, the fake) {:.0} MiB",
        std::thread::available_parallelism().map_or(0, |cores| cores.get()),
        peak_rss_mib()
    );
    let name = format!("deliver-{}-{workers}-workers", engine.to_lowercase());
    let figures = serde_json::json!({
        "engine": engine, "workers": workers, "messages": queued.messages, "seconds": seconds,
        "messages_per_second": sent as f64 / seconds, "all_received_once": all,
        "batch_size": options.batch_size, "concurrency": options.concurrency,
        "worker_cpu_us_per_message": reports.iter().map(|report| report.cpu_seconds * 1e6 / report.sent.max(1) as f64).collect::<Vec<_>>(),
        "worker_peak_rss_mib": reports.iter().map(|report| report.peak_rss_mib).collect::<Vec<_>>(),
    });
    let title = format!("kabar deliver: {} SMS, {engine}, {workers} worker(s)", queued.messages);
    let svg = plot::write(&name, &title, figures, &plot::course(&arrivals, started, queued.messages));
    println!("{engine}:   figures and chart: {} (and .json)", svg.display());
    drop(fake);
    bench.finish().await;
    compare::Figures::of(engine.to_string(), &reports, seconds)
}

/// The machine's CPU counters (`/proc/stat`), to tell whether a run was short of CPU: the
/// database server, the fake and whatever else runs here share the cores with the workers.
struct MachineCpu {
    busy: u64,
    total: u64,
}

impl MachineCpu {
    fn now() -> MachineCpu {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|value| value.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
        let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
        let total: u64 = ticks.iter().take(8).sum();
        MachineCpu { busy: total - idle, total }
    }

    /// How many cores were busy on average since `self`.
    fn busy_cores(&self) -> f64 {
        let later = MachineCpu::now();
        let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get()) as f64;
        (later.busy - self.busy) as f64 / (later.total - self.total).max(1) as f64 * cores
    }
}
