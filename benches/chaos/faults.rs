//! provider-faults, in two runs of one `kabar serve` on SQLite:
//! 1. faults: a Twilio account that answers 30% 5xx, 10% time-outs (held past kabar's provider
//!    timeout), 5% connection resets, 5% slow bodies and, every 500 requests, a burst of 20 429s
//!    with `Retry-After: 1`; the account allows R requests in any second and kabar is configured
//!    with that same R. Everything must end sent or failed with a class, within the retry budget,
//!    and kabar must cause no 429 of the account's limit.
//! 2. failover: Twilio and Infobip (weights 50/50), Twilio down from a quarter of the way for a
//!    while: the share each carried before, during and after, and that Twilio's share returns.

use std::time::{Duration, Instant};

use kabar::store::DatabaseUrl;

use crate::fake::{Fake, Outcome, Provider, Request, Script};
use crate::ledger::{Db, Ledger};
use crate::procs::{Account, Fleet, Role, Settings};
use crate::report::{thousands, Report};
use crate::{arg, seed, Options};

const SCENARIO: &str = "provider-faults";

pub async fn run(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    faults(options, report).await?;
    failover(options, report).await
}

/// A fresh SQLite store in `dir` with about `messages` SMS queued.
async fn store(
    options: &Options,
    dir: &std::path::Path,
    messages: u64,
) -> anyhow::Result<(DatabaseUrl, u64)> {
    let url = DatabaseUrl::Sqlite(dir.join("chaos.db").display().to_string());
    let queued = seed::fill(&url, messages, options.seed).await?;
    Ok((url, queued.messages))
}

async fn faults(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    // A rate low enough that kabar is held by it, not by the faults, for most of the run.
    let rate: u32 = arg("--fault-rate", if options.small { 40 } else { 100 });
    let messages: u64 = arg("--fault-messages", if options.small { 600 } else { 5_000 });
    let dir = tempfile::tempdir()?;
    let (url, _) = store(options, dir.path(), messages).await?;
    let timeout = 2;
    let script = Script {
        rate_limit: Some(rate),
        server_errors: 0.30,
        timeouts: 0.10,
        resets: 0.05,
        slow_bodies: 0.05,
        burst_every: 500,
        burst_len: 20,
        hold: Duration::from_secs(timeout + 1),
    };
    let fake = Fake::new(script, Script::default(), options.seed);
    let settings = Settings {
        twilio: Some(Account { rate_per_second: Some(rate), timeout_seconds: timeout }),
        ..Settings::default()
    };
    let max_attempts = settings.max_attempts;
    let mut fleet = Fleet::new(dir.path().to_path_buf(), url_text(&url), fake.clone(), settings);
    let started = Instant::now();
    fleet.add(Role::Serve).await?;
    let db = Db::open(&url).await?;
    let finished = db.wait_finished(&mut fleet, options.patience(messages * 3)).await?;
    let elapsed = started.elapsed();
    let rows = db.rows().await?;
    db.close().await;
    fleet.stop_all().await;
    let requests = fake.requests();
    let ledger = Ledger::new(&rows, &requests);
    let outcomes: Vec<String> =
        ledger.by_outcome.iter().map(|(outcome, count)| format!("{outcome} {count}")).collect();
    report.summary(
        SCENARIO,
        format_args!(
            "faults: {} SMS through a failing account (rate {rate}/s): {}; lost {}, 429s caused by kabar {}, \
             most tries of one message {} (budget {max_attempts}), duplicates {}; {} requests in {:.1} s",
            thousands(ledger.planned as u64),
            ledger.states(),
            ledger.lost.len(),
            ledger.count(Outcome::Limit429),
            ledger.max_channel_attempts,
            ledger.duplicates.len(),
            thousands(requests.len() as u64),
            elapsed.as_secs_f64()
        ),
    );
    report.detail(SCENARIO, format_args!("the fake's answers: {}", outcomes.join(", ")));
    report.detail(
        SCENARIO,
        format_args!(
            "busiest second: {} requests (the account allows {rate})",
            crate::rate::busiest_second(&requests)
        ),
    );
    report.check(
        SCENARIO,
        "faults: delivery finished",
        finished,
        format_args!("in {:.1} s", elapsed.as_secs_f64()),
    );
    report.check(
        SCENARIO,
        "faults: every message sent or failed with a class (lost = 0)",
        ledger.lost.is_empty(),
        format_args!("{} lost; {}", ledger.lost.len(), ledger.states()),
    );
    report.check(
        SCENARIO,
        "faults: within the retry budget",
        ledger.max_channel_attempts <= i64::from(max_attempts),
        format_args!(
            "most tries on one channel {}, max_attempts {max_attempts}",
            ledger.max_channel_attempts
        ),
    );
    report.check(
        SCENARIO,
        "faults: zero 429s caused by kabar's rate",
        ledger.count(Outcome::Limit429) == 0,
        format_args!(
            "{} over the account's {rate}/s ({} scripted burst 429s){}",
            ledger.count(Outcome::Limit429),
            ledger.count(Outcome::Burst429),
            fake.limited()
        ),
    );
    report.check(
        SCENARIO,
        "faults: DB agrees with the fake, no duplicates",
        ledger.agrees() && ledger.duplicates.is_empty(),
        format_args!(
            "{} duplicates, {} recorded but never received, {} received but not recorded",
            ledger.duplicates.len(),
            ledger.phantom.len(),
            ledger.unrecorded
        ),
    );
    deaths(report, "faults", &fleet);
    Ok(())
}

async fn failover(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let rate: u32 = arg("--failover-rate", 50);
    // Phase lengths in seconds: before the outage, the outage, after it.
    let (before, outage, after) = if options.small { (3, 4, 9) } else { (10, 15, 30) };
    let window = if options.small { 3 } else { 8 };
    let messages = u64::from(rate) * 2 * (before + outage + after);
    let dir = tempfile::tempdir()?;
    let (url, planned) = store(options, dir.path(), messages).await?;
    let fake = Fake::new(Script::default(), Script::default(), options.seed);
    let account = Account { rate_per_second: Some(rate), timeout_seconds: 10 };
    let settings = Settings {
        twilio: Some(account),
        infobip: Some(account),
        failover: Some(format!(
            "window = 50\nwindow_seconds = {window}\nmin_samples = 10\nweight_floor = 0.05\n\
             breaker_failures = 5\nbreaker_cooldown_seconds = 2"
        )),
        ..Settings::default()
    };
    let mut fleet = Fleet::new(dir.path().to_path_buf(), url_text(&url), fake.clone(), settings);
    let started = Instant::now();
    fleet.add(Role::Serve).await?;
    let db = Db::open(&url).await?;
    let down_at_count = (planned * before / (before + outage + after)) as usize;
    anyhow::ensure!(
        fake.wait_accepted(down_at_count.max(1), options.patience(messages)).await,
        "delivery did not reach {down_at_count} messages"
    );
    let down = Instant::now();
    fake.set_down(Provider::Twilio, true);
    // The outage lasts this long: a fault's length, not a synchronisation.
    tokio::time::sleep(Duration::from_secs(outage)).await;
    fake.set_down(Provider::Twilio, false);
    let up = Instant::now();
    let finished = db.wait_finished(&mut fleet, options.patience(messages)).await?;
    let end = Instant::now();
    let rows = db.rows().await?;
    db.close().await;
    fleet.stop_all().await;
    let requests = fake.requests();
    let ledger = Ledger::new(&rows, &requests);

    let settled = up + Duration::from_secs(window);
    let phases = [
        ("before", started, down),
        ("during", down, up),
        ("after", up, end),
        ("settled after", settled, end),
    ];
    let mut shares = Vec::new();
    for (name, from, to) in phases {
        let share = Share::of(&requests, from, to);
        shares.push(share);
        report.detail(
            SCENARIO,
            format_args!(
                "failover {name} ({:.1} s): accepted {} (Twilio {:.0}%, Infobip {:.0}%); requests to Twilio {:.0}%",
                to.saturating_duration_since(from).as_secs_f64(),
                share.accepted(),
                100.0 * share.twilio_accepted_share(),
                100.0 * (1.0 - share.twilio_accepted_share()),
                100.0 * share.twilio_request_share()
            ),
        );
    }
    let (during, returned) = (shares[1], shares[3]);
    report.summary(
        SCENARIO,
        format_args!(
            "failover: {} SMS over Twilio + Infobip, Twilio down {outage} s: Twilio carried {:.0}% before, {:.0}% \
             during (requests to it {:.0}%), {:.0}% after ({:.0}% once settled); lost {}, duplicates {}",
            thousands(ledger.planned as u64),
            100.0 * shares[0].twilio_accepted_share(),
            100.0 * during.twilio_accepted_share(),
            100.0 * during.twilio_request_share(),
            100.0 * shares[2].twilio_accepted_share(),
            100.0 * returned.twilio_accepted_share(),
            ledger.lost.len(),
            ledger.duplicates.len()
        ),
    );
    report.check(
        SCENARIO,
        "failover: delivery finished, lost = 0",
        finished && ledger.lost.is_empty(),
        ledger.states(),
    );
    report.check(
        SCENARIO,
        "failover: traffic moves off the dead provider",
        during.twilio_request_share() <= 0.25,
        format_args!(
            "{:.0}% of requests during the outage went to Twilio (≤ 25%)",
            100.0 * during.twilio_request_share()
        ),
    );
    report.check(
        SCENARIO,
        "failover: traffic returns when it recovers",
        returned.accepted() >= 20 && returned.twilio_accepted_share() >= 0.25,
        format_args!(
            "Twilio carried {:.0}% of {} messages from {window} s after recovery (≥ 25%)",
            100.0 * returned.twilio_accepted_share(),
            returned.accepted()
        ),
    );
    report.check(
        SCENARIO,
        "failover: DB agrees with the fake, no duplicates",
        ledger.agrees() && ledger.duplicates.is_empty(),
        format_args!(
            "{} duplicates, {} unrecorded, {} phantom",
            ledger.duplicates.len(),
            ledger.unrecorded,
            ledger.phantom.len()
        ),
    );
    deaths(report, "failover", &fleet);
    Ok(())
}

/// Requests and accepted copies per provider in a time window.
#[derive(Debug, Clone, Copy, Default)]
struct Share {
    twilio_requests: usize,
    requests: usize,
    twilio_accepted: usize,
    infobip_accepted: usize,
}

impl Share {
    fn of(requests: &[Request], from: Instant, to: Instant) -> Share {
        let mut share = Share::default();
        for request in requests.iter().filter(|request| request.at >= from && request.at < to) {
            let twilio = request.provider == Provider::Twilio;
            share.requests += 1;
            share.twilio_requests += usize::from(twilio);
            if request.outcome.accepted() {
                share.twilio_accepted += usize::from(twilio);
                share.infobip_accepted += usize::from(!twilio);
            }
        }
        share
    }

    fn accepted(&self) -> usize {
        self.twilio_accepted + self.infobip_accepted
    }

    fn twilio_accepted_share(&self) -> f64 {
        self.twilio_accepted as f64 / self.accepted().max(1) as f64
    }

    fn twilio_request_share(&self) -> f64 {
        self.twilio_requests as f64 / self.requests.max(1) as f64
    }
}

fn deaths(report: &mut Report, run: &str, fleet: &Fleet) {
    let deaths = fleet.deaths();
    report.check(
        SCENARIO,
        format_args!("{run}: no process exited"),
        deaths.is_empty(),
        format_args!("{deaths:?}"),
    );
}

fn url_text(url: &DatabaseUrl) -> String {
    crate::pg::url_text(url)
}
