//! The chaos harness: the real `kabar` binary, as child processes, delivering to fake SMS
//! providers over real HTTP in this process while the harness kills processes, breaks the
//! providers and restarts the database. It counts exactly what was lost and what was sent twice
//! (every request the fakes receive is recorded and matched to its message), prints one summary
//! line per scenario and PASS/FAIL per assertion, and exits non-zero when one fails.
//!
//!     cargo bench --bench chaos                               # every scenario, full size
//!     cargo bench --bench chaos -- --small                    # the CI size (a few minutes)
//!     cargo bench --bench chaos -- --scenario kill-sqlite --messages 20000 --kills 5
//!
//! Scenarios (`--scenario a,b,…`; all by default):
//! - kill-sqlite: `--messages N` (100,000) SMS, one `kabar serve`, `kill -9` at `--kills K` (10)
//!   random moments, restarted each time: lost = 0, duplicates per kill ≤ `concurrency`, the DB
//!   agrees with the fake, recovery after each restart.
//! - kill-postgres: the same on a fresh database of the shared server (`KABAR_BENCH_POSTGRES_URL`,
//!   default postgres://postgres@127.0.0.1:5432/postgres), one serve and two workers killed
//!   independently.
//! - provider-faults: a fake answering 30% 5xx, 10% time-outs, resets, slow bodies and 429 bursts,
//!   with an account rate equal to kabar's: everything ends sent or failed with a class within the
//!   retry budget, zero 429s caused by kabar; then Twilio and Infobip with Twilio down mid-run.
//! - shared-rate: 2 and 3 workers on one PostgreSQL against a fake that answers 429 above the
//!   rate: zero 429s and ≥ 0.95 of the rate used.
//! - pg-restart: a private cluster (initdb + pg_ctl as the postgres user, on a free port) restarted
//!   and stopped mid-delivery: the processes stay up and finish, nothing lost, duplicates within
//!   the bound, the outage said in a few log lines.
//!
//! `--seed S` changes the random moments and faults; `--keep` keeps each run's directory (the
//! processes' logs and configuration). Per scenario: `--fault-messages`, `--fault-rate`,
//! `--failover-rate` (provider-faults), `--rate`, `--rate-seconds` (shared-rate), `--pg-rate`
//! (pg-restart).

#[path = "chaos/fake.rs"]
mod fake;
#[path = "chaos/faults.rs"]
mod faults;
#[path = "chaos/kills.rs"]
mod kills;
#[path = "chaos/ledger.rs"]
mod ledger;
#[path = "chaos/pg.rs"]
mod pg;
#[path = "chaos/pg_restart.rs"]
mod pg_restart;
#[path = "chaos/procs.rs"]
mod procs;
#[path = "chaos/rate.rs"]
mod rate;
#[path = "chaos/report.rs"]
mod report;
#[path = "chaos/reset.rs"]
mod reset;
#[path = "chaos/seed.rs"]
mod seed;

use std::process::ExitCode;
use std::time::Duration;

use report::Report;

const SCENARIOS: [&str; 5] = ["kill-sqlite", "kill-postgres", "provider-faults", "shared-rate", "pg-restart"];

/// The command line. `--small` changes the defaults; a value given explicitly wins.
pub struct Options {
    pub scenarios: Vec<String>,
    pub small: bool,
    /// SMS of the kill scenarios.
    pub messages: u64,
    pub kills: usize,
    pub seed: u64,
    /// A server where the harness may create databases (kill-postgres, shared-rate).
    pub postgres: String,
    pub keep: bool,
}

impl Options {
    fn parse() -> Options {
        let small = flag("--small");
        let scenarios: String = arg("--scenario", SCENARIOS.join(","));
        let scenarios: Vec<String> = scenarios.split(',').map(|name| name.trim().to_owned()).collect();
        for name in &scenarios {
            if !SCENARIOS.contains(&name.as_str()) {
                eprintln!("--scenario {name}: unknown; choose from {}", SCENARIOS.join(", "));
                std::process::exit(2);
            }
        }
        Options {
            scenarios,
            small,
            messages: arg("--messages", if small { 2_000 } else { 100_000 }),
            kills: arg("--kills", if small { 3 } else { 10 }),
            seed: arg("--seed", 2024),
            postgres: std::env::var("KABAR_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            keep: flag("--keep"),
        }
    }

    /// How long a delivery of `messages` may take before the run gives up on it: generous (the
    /// machine may be busy), only a stuck run waits this long.
    pub fn patience(&self, messages: u64) -> Duration {
        Duration::from_secs(300 + messages / 100)
    }
}

/// `--name value` from the command line (cargo bench adds `--bench`, which is ignored).
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|arg| arg == name).and_then(|at| args.get(at + 1)) {
        Some(value) => value.parse().unwrap_or_else(|_| {
            eprintln!("{name} {value}: not a valid value");
            std::process::exit(2)
        }),
        None => default,
    }
}

pub fn flag(name: &str) -> bool {
    std::env::args().any(|arg| arg == name)
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let report = runtime.block_on(run(&options));
    report.print();
    if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run(options: &Options) -> Report {
    let mut report = Report::default();
    println!(
        "chaos: {} ({}), kabar binary {}",
        options.scenarios.join(", "),
        if options.small { "small" } else { "full size" },
        procs::KABAR
    );
    for scenario in &options.scenarios {
        println!("\n== {scenario}");
        let outcome = match scenario.as_str() {
            "kill-sqlite" => kills::run(options, &mut report, false).await,
            "kill-postgres" => kills::run(options, &mut report, true).await,
            "provider-faults" => faults::run(options, &mut report).await,
            "shared-rate" => rate::run(options, &mut report).await,
            "pg-restart" => pg_restart::run(options, &mut report).await,
            _ => unreachable!("checked by Options::parse"),
        };
        let ran = outcome.as_ref().map_or_else(|err| format!("{err:#}"), |()| "ran to its end".into());
        if outcome.is_err() {
            report.check(scenario, "the scenario ran to its end", false, ran);
        }
    }
    report
}
