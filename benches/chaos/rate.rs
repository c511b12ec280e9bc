//! shared-rate: the rate is the provider account's, not each process's. Two, then three `kabar
//! worker` processes on one PostgreSQL database send through one Twilio account whose fake
//! answers 429 to any request beyond the rate in the last second; every process is configured
//! with that same `rate_per_second`. Goal: zero 429s, and together ≥ 0.95 of the rate used.

use std::time::{Duration, Instant};

use crate::fake::{Fake, Outcome, Script};
use crate::ledger::{Db, Ledger};
use crate::pg::{url_text, Fresh};
use crate::procs::{Account, Fleet, Role, Settings};
use crate::report::{thousands, Report};
use crate::{arg, seed, Options};

const SCENARIO: &str = "shared-rate";

pub async fn run(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let rate: u32 = arg("--rate", 100);
    // Long enough that start-up and the last retries weigh little in the utilisation: a worker
    // that joins others already sending waits up to a window (a second) for their sends of the
    // last second to leave it, so 10 s of messages lose up to a tenth by construction.
    let seconds: u64 = arg("--rate-seconds", if options.small { 20 } else { 40 });
    for workers in [2, 3] {
        let dir = tempfile::tempdir()?;
        let fresh = Fresh::create(&options.postgres, &format!("rate{workers}")).await?;
        let outcome =
            one(options, report, dir.path(), &fresh, workers, rate, u64::from(rate) * seconds).await;
        fresh.drop_database().await?;
        if options.keep {
            println!("{SCENARIO}: logs kept in {}", dir.keep().display());
        }
        outcome?;
    }
    Ok(())
}

async fn one(
    options: &Options,
    report: &mut Report,
    dir: &std::path::Path,
    fresh: &Fresh,
    workers: usize,
    rate: u32,
    messages: u64,
) -> anyhow::Result<()> {
    let queued = seed::fill(&fresh.url, messages, options.seed).await?;
    let script = Script { rate_limit: Some(rate), ..Script::default() };
    let fake = Fake::new(script, Script::default(), options.seed);
    let account = Account { rate_per_second: Some(rate), timeout_seconds: 10 };
    let settings = Settings { twilio: Some(account), ..Settings::default() };
    let mut fleet = Fleet::new(dir.to_path_buf(), url_text(&fresh.url), fake.clone(), settings);
    let started = Instant::now();
    for _ in 0..workers {
        fleet.add(Role::Worker).await?;
    }
    let db = Db::open(&fresh.url).await?;
    let patience = options.patience(queued.messages) + Duration::from_secs(queued.messages / u64::from(rate));
    let finished = db.wait_finished(&mut fleet, patience).await?;
    let rows = db.rows().await?;
    db.close().await;
    fleet.stop_all().await;
    let requests = fake.requests();
    let ledger = Ledger::new(&rows, &requests);

    let accepted: Vec<Instant> =
        requests.iter().filter(|request| request.outcome.accepted()).map(|request| request.at).collect();
    let span = match (accepted.first(), accepted.last()) {
        (Some(first), Some(last)) if accepted.len() > 1 => (*last - *first).as_secs_f64(),
        _ => 0.0,
    };
    // n requests span n − 1 intervals of 1/R at full use.
    let utilisation = if span > 0.0 { (accepted.len() - 1) as f64 / (f64::from(rate) * span) } else { 0.0 };
    let limited = ledger.count(Outcome::Limit429);
    let label = format!("{workers} workers");
    report.summary(
        SCENARIO,
        format_args!(
            "{label}, rate {rate}/s, {} SMS: 429s {} (goal 0), utilisation {utilisation:.3} of the rate (goal ≥ \
             0.95; {} accepted in {span:.1} s), {} requests in all; lost {}, duplicates {}; {:.1} s",
            thousands(ledger.planned as u64),
            thousands(limited as u64),
            thousands(ledger.accepted as u64),
            thousands(requests.len() as u64),
            ledger.lost.len(),
            ledger.duplicates.len(),
            started.elapsed().as_secs_f64(),
        ),
    );
    report.detail(
        SCENARIO,
        format_args!(
            "busiest second: {} requests let in; accepted in each second from the first: {}",
            busiest_second(&requests),
            per_second(&accepted).iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
        ),
    );
    report.check(
        SCENARIO,
        format_args!("{label}: delivery finished"),
        finished,
        format_args!("{}", ledger.states()),
    );
    report.check(
        SCENARIO,
        format_args!("{label}: zero 429s"),
        limited == 0,
        format_args!("{limited} answered 429{}", fake.limited()),
    );
    report.check(
        SCENARIO,
        format_args!("{label}: utilisation ≥ 0.95"),
        utilisation >= 0.95,
        format_args!("{utilisation:.3} of {rate}/s"),
    );
    report.check(
        SCENARIO,
        format_args!("{label}: lost = 0, DB agrees"),
        ledger.lost.is_empty() && ledger.agrees() && ledger.duplicates.is_empty(),
        format_args!(
            "{} lost, {} duplicates, {} recorded but never received, {} received but not recorded",
            ledger.lost.len(),
            ledger.duplicates.len(),
            ledger.phantom.len(),
            ledger.unrecorded
        ),
    );
    let deaths = fleet.deaths();
    report.check(
        SCENARIO,
        format_args!("{label}: no process exited"),
        deaths.is_empty(),
        format_args!("{deaths:?}"),
    );
    Ok(())
}

/// The most requests the fake let in (not answered with its rate 429) in any one-second window.
pub fn busiest_second(requests: &[crate::fake::Request]) -> usize {
    let mut times: Vec<Instant> = requests
        .iter()
        .filter(|request| request.outcome != Outcome::Limit429)
        .map(|request| request.at)
        .collect();
    times.sort();
    let (mut end, mut busiest) = (0, 0);
    for (start, at) in times.iter().enumerate() {
        while end < times.len() && times[end] - *at < Duration::from_secs(1) {
            end += 1;
        }
        busiest = busiest.max(end - start);
    }
    busiest
}

/// How many of `times` fall in each whole second from the first, up to a minute.
fn per_second(times: &[Instant]) -> Vec<usize> {
    let Some(first) = times.iter().min() else { return Vec::new() };
    let mut seconds = Vec::new();
    for at in times {
        let second = (*at - *first).as_secs() as usize;
        if second < 60 {
            seconds.resize(seconds.len().max(second + 1), 0);
            seconds[second] += 1;
        }
    }
    seconds
}
