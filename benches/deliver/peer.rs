//! `--runs peer` (PostgreSQL): a peer queue side by side. graphile-worker (npm, the version
//! pinned in `benches/peer/graphile-worker/package-lock.json`, on the machine's Node) on the same
//! PostgreSQL server, its `send` task POSTing the throughput run's request to the same kind of
//! fake Twilio, for as many jobs as kabar sent, from as many processes as kabar had workers, each
//! with kabar's concurrency. A job is deleted only after its task resolved, that is after the
//! fake's 201 and sid were read, so its durability is kabar's: nothing is acknowledged before
//! the send succeeded. `benches/peer/graphile-worker/peer.mjs` does the enqueueing and the work;
//! `npm ci` installs it the first time.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use serde::Deserialize;
use tokio::process::Command;

use crate::child::WorkerProcess;
use crate::common::arg;
use crate::fake::FakeTwilio;
use crate::runs::verdict;

/// What one `peer.mjs work` process reports.
#[derive(Debug, Deserialize)]
struct Report {
    sent: u64,
    failed: u64,
    cpu_seconds: f64,
    peak_rss_mib: f64,
    version: String,
    settings: serde_json::Value,
}

/// Jobs a second, and CPU µs a job of the worker processes.
pub struct PeerFigures {
    pub per_second: f64,
    pub cpu_micros: f64,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/graphile-worker")
}

/// `npm ci` when the pinned packages are not installed yet.
async fn install() {
    if dir().join("node_modules/graphile-worker/package.json").exists() {
        return;
    }
    println!("peer: installing graphile-worker with npm ci (once)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir())
        .stdout(Stdio::null())
        .status()
        .await
        .expect("npm runs (Node 20 and npm are needed for the peer run)");
    assert!(status.success(), "npm ci in {} failed", dir().display());
}

fn node(command: &str, database: &str) -> Command {
    let mut node = Command::new("node");
    node.arg(dir().join("peer.mjs"))
        .arg(command)
        .env("DATABASE_URL", database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    node
}

/// Runs graphile-worker over `jobs` jobs with `workers` processes of `concurrency` each.
pub async fn run(jobs: u64, workers: usize, concurrency: usize) -> PeerFigures {
    install().await;
    let admin_url = std::env::var("KABAR_BENCH_POSTGRES_URL")
        .expect("the peer run needs PostgreSQL: set KABAR_BENCH_POSTGRES_URL");
    let name = format!("kabar_peer_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&admin_url).await.expect("reach PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create the peer database");
    let mut url = url::Url::parse(&admin_url).expect("a URL");
    url.set_path(&name);
    let database = url.as_str();

    let output = node("enqueue", database)
        .args(["--jobs", &jobs.to_string()])
        .stdin(Stdio::null())
        .output()
        .await
        .expect("node runs");
    assert!(output.status.success(), "peer.mjs enqueue failed: {}", String::from_utf8_lossy(&output.stderr));
    let enqueued: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("peer.mjs enqueue prints its figures");

    let fake = FakeTwilio::start().await;
    let mut processes = Vec::with_capacity(workers);
    for _ in 0..workers {
        let mut work = node("work", database);
        work.args(["--fake", fake.base_url.as_str(), "--concurrency", &concurrency.to_string()]);
        processes.push(WorkerProcess::spawn(work).await);
    }
    let started = Instant::now();
    for process in &mut processes {
        process.go().await;
    }
    let reports: Vec<Report> =
        futures::future::join_all(processes.into_iter().map(WorkerProcess::finish_with::<Report>)).await;
    let seconds = started.elapsed().as_secs_f64();
    let sent: u64 = reports.iter().map(|report| report.sent).sum();
    let cpu: f64 = reports.iter().map(|report| report.cpu_seconds).sum();
    let all = fake.accepted() as u64 == jobs && fake.refused() == 0 && sent == jobs;
    let figures =
        PeerFigures { per_second: sent as f64 / seconds, cpu_micros: cpu * 1e6 / sent.max(1) as f64 };
    println!(
        "PostgreSQL: peer: graphile-worker {} ({} process(es), concurrency {concurrency} each, settings {}): \
         {jobs} jobs enqueued in {:.1} s, sent in {seconds:.1} s = {:.0} jobs/s, CPU {:.0} µs a job, peak RSS {} \
         MiB; {} failed tries; every job sent once: {}",
        reports.first().map_or("?", |report| report.version.as_str()),
        workers,
        reports.first().map_or(serde_json::Value::Null, |report| report.settings.clone()),
        enqueued["seconds"].as_f64().unwrap_or(f64::NAN),
        figures.per_second,
        figures.cpu_micros,
        reports.iter().map(|report| format!("{:.0}", report.peak_rss_mib)).collect::<Vec<_>>().join(", "),
        reports.iter().map(|report| report.failed).sum::<u64>(),
        verdict(all),
    );
    drop(fake);
    admin.close().await;
    let admin = sqlx::PgPool::connect(&admin_url).await.expect("reach PostgreSQL");
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .expect("drop the peer database");
    figures
}

/// How many jobs the peer run gets when kabar's throughput run did not say.
pub fn jobs() -> u64 {
    arg("--messages", 1_000_000)
}
