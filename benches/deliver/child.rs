//! Worker processes: the throughput run re-executes this benchmark with `--child`, so each worker
//! is a process of its own, as `kabar worker` would be, and its peak memory is its own (not the
//! seeding's, not the fake's). The parent and a child speak in lines: the child says `ready` once
//! connected, starts on `go`, and ends with a JSON [`Report`].

use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use kabar::deliver::{DeliveryConfig, Providers, Worker};
use kabar::domain::Channel;
use kabar::plan::notice::NoticeConfig;
use kabar::receipts::ReceiptsConfig;
use kabar::render::Catalogue;
use kabar::store::{DatabaseUrl, Store};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::breakdown::{Phases, Replica};
use crate::common::{arg, cpu_seconds, peak_rss_mib};
use crate::fake::twilio_config;

/// The database URL goes through the environment, not the command line, where `ps` would show
/// a password.
const DATABASE_ENV: &str = "KABAR_BENCH_CHILD_DATABASE";
/// The mix run's providers: a `[delivery]` table in TOML (it holds the fakes' credentials).
const DELIVERY_ENV: &str = "KABAR_BENCH_CHILD_DELIVERY";

/// What a worker process did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
    /// From `go` to the last outcome recorded.
    pub seconds: f64,
    /// CPU time (user + system) of the worker process during the run.
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
    /// With `--breakdown`: where the time went, by phase of a step.
    pub phases: Option<Phases>,
}

/// How the parent runs a worker process.
#[derive(Debug, Clone)]
pub struct Options {
    pub batch_size: usize,
    pub concurrency: usize,
    pub breakdown: bool,
}

impl Options {
    pub fn delivery(&self, fake: &url::Url) -> DeliveryConfig {
        let config = DeliveryConfig {
            batch_size: self.batch_size,
            concurrency: self.concurrency,
            twilio: Some(twilio_config(fake, None)),
            ..DeliveryConfig::default()
        };
        config.validate().expect("a valid delivery configuration");
        config
    }
}

/// The parent's handle on a worker process.
pub struct WorkerProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl WorkerProcess {
    /// Starts a worker process on `database`, sending to the fake at `fake`; returns once it is
    /// connected and ready.
    pub async fn start(database: &DatabaseUrl, fake: &url::Url, options: &Options) -> WorkerProcess {
        let mut command = Self::worker_command(database, options);
        command.args(["--fake", fake.as_str()]);
        WorkerProcess::spawn(command).await
    }

    /// Starts a worker process on `database` with the providers of `delivery` (TOML, the
    /// `[delivery]` table) on every channel, most preferred first as the planner has them.
    pub async fn start_with(database: &DatabaseUrl, delivery: &str, options: &Options) -> WorkerProcess {
        let mut command = Self::worker_command(database, options);
        command.env(DELIVERY_ENV, delivery);
        WorkerProcess::spawn(command).await
    }

    fn worker_command(database: &DatabaseUrl, options: &Options) -> Command {
        let database = match database {
            DatabaseUrl::Sqlite(path) => path.clone(),
            DatabaseUrl::Postgres(url) => url.as_str().to_owned(),
        };
        let mut command = Command::new(std::env::current_exe().expect("the benchmark's own path"));
        command
            .arg("--child")
            .args(["--batch", &options.batch_size.to_string()])
            .args(["--concurrency", &options.concurrency.to_string()])
            .args(options.breakdown.then_some("--breakdown"))
            .env(DATABASE_ENV, database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Starts a ceiling process (`ceiling.rs`): `messages` POSTs to the fake at `fake`, no
    /// database.
    pub async fn start_ceiling(fake: &url::Url, messages: u64, concurrency: usize) -> WorkerProcess {
        let mut command = Command::new(std::env::current_exe().expect("the benchmark's own path"));
        command
            .args(["--child", "--fake", fake.as_str(), "--ceiling", &messages.to_string()])
            .args(["--concurrency", &concurrency.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        WorkerProcess::spawn(command).await
    }

    /// Starts `command`, which speaks the protocol above; returns once it said `ready`.
    pub async fn spawn(mut command: Command) -> WorkerProcess {
        let mut child = command.spawn().expect("start a worker process");
        let stdin = child.stdin.take().expect("a piped stdin");
        let lines = BufReader::new(child.stdout.take().expect("a piped stdout")).lines();
        let mut process = WorkerProcess { child, stdin, lines };
        let line = process.line().await;
        assert_eq!(line, "ready", "the worker process said {line:?}");
        process
    }

    pub async fn go(&mut self) {
        self.stdin.write_all(b"go\n").await.expect("tell the worker to start");
        self.stdin.flush().await.expect("tell the worker to start");
    }

    /// Waits for the worker to finish and returns what it did.
    pub async fn finish(self) -> Report {
        self.finish_with().await
    }

    /// Waits for the process to finish and returns its last line, parsed as `T`.
    pub async fn finish_with<T: serde::de::DeserializeOwned>(mut self) -> T {
        let line = self.line().await;
        let report =
            serde_json::from_str(&line).unwrap_or_else(|err| panic!("the worker said {line:?}: {err}"));
        let status = self.child.wait().await.expect("the worker process ends");
        assert!(status.success(), "the worker process ended with {status}");
        report
    }

    async fn line(&mut self) -> String {
        match self.lines.next_line().await.expect("read the worker's output") {
            Some(line) => line,
            None => panic!("the worker process ended early: {:?}", self.child.wait().await),
        }
    }
}

/// The child's side: `--child`.
pub fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if std::env::args().any(|arg| arg == "--ceiling") {
        return runtime.block_on(crate::ceiling::run());
    }
    runtime.block_on(run());
}

async fn run() {
    let database: DatabaseUrl =
        std::env::var(DATABASE_ENV).expect("the parent sets the database").parse().expect("a database URL");
    let options = Options {
        batch_size: arg("--batch", 0),
        concurrency: arg("--concurrency", 0),
        breakdown: crate::flag("--breakdown"),
    };
    let store = Store::connect(&database).await.expect("open the database");
    let (config, channels, receipts) = match std::env::var(DELIVERY_ENV) {
        Ok(delivery) => {
            let mut config: DeliveryConfig = toml::from_str(&delivery).expect("the parent's [delivery]");
            (config.batch_size, config.concurrency) = (options.batch_size, options.concurrency);
            config.validate().expect("a valid delivery configuration");
            // An email carries its one-click unsubscribe link, signed with the receipts' key.
            let mut receipts = ReceiptsConfig::new("https://kabar.imigrasi.go.id/".parse().expect("a URL"));
            receipts.unsubscribe_key = Some("a-bench-key-of-more-than-thirty-two-characters".into());
            (config, vec![Channel::Whatsapp, Channel::Sms, Channel::Email], Some(Arc::new(receipts)))
        }
        Err(_) => {
            let fake: url::Url = arg("--fake", String::new()).parse().expect("--fake: a URL");
            (options.delivery(&fake), vec![Channel::Sms], None)
        }
    };
    let providers = Arc::new(Providers::from_config(&config).expect("the providers"));
    let mut replica = options.breakdown.then(|| Replica::new(store.clone(), providers.clone(), &config));
    let worker = Worker::new(
        store.clone(),
        providers,
        Arc::new(Catalogue::builtin()),
        NoticeConfig::default(),
        channels,
        config,
        receipts,
    )
    .await
    .expect("a worker");
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    println!("ready");
    let line = stdin.next_line().await.expect("read from the parent");
    assert_eq!(line.as_deref(), Some("go"), "the parent said {line:?}");

    let now = crate::now();
    let (cpu, started) = (cpu_seconds(), Instant::now());
    let (done, phases) = match replica.as_mut() {
        Some(replica) => {
            let phases = replica.drain(now).await;
            ((phases.messages as usize, phases.messages as usize, 0), Some(phases))
        }
        None => {
            let done = worker.drain(now).await.expect("the worker drains the outbox");
            ((done.claimed, done.sent, done.failed + done.fell_back + done.retried), None)
        }
    };
    let report = Report {
        claimed: done.0,
        sent: done.1,
        failed: done.2,
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds() - cpu,
        peak_rss_mib: peak_rss_mib(),
        phases,
    };
    store.close().await;
    println!("{}", serde_json::to_string(&report).expect("a report"));
}
