//! kill-sqlite and kill-postgres: a broadcast delivered while the harness `kill -9`s the
//! sending processes at random moments and restarts them at once. On SQLite one `kabar serve`;
//! on PostgreSQL one `kabar serve` (the planner, never killed) and two `kabar worker` processes,
//! each kill picking one of the two.

use std::time::{Duration, Instant};

use kabar::store::DatabaseUrl;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fake::{Fake, Script};
use crate::ledger::{Db, Ledger};
use crate::pg::{url_text, Fresh};
use crate::procs::{Fleet, Role, Settings};
use crate::report::{seconds, thousands, Report};
use crate::{seed, Options};

/// One kill and the restart after it.
struct Kill {
    slot: usize,
    killed: u32,
    at: Instant,
    accepted: usize,
    /// Messages in `sending` right after the kill (every process's claims).
    sending: Option<i64>,
    restarted: u32,
}

pub async fn run(options: &Options, report: &mut Report, postgres: bool) -> anyhow::Result<()> {
    let scenario = if postgres { "kill-postgres" } else { "kill-sqlite" };
    let dir = tempfile::tempdir()?;
    let fresh = match postgres {
        true => Some(Fresh::create(&options.postgres, "kill").await?),
        false => None,
    };
    let url = match &fresh {
        Some(fresh) => fresh.url.clone(),
        None => DatabaseUrl::Sqlite(dir.path().join("chaos.db").display().to_string()),
    };
    let outcome = deliver(options, report, scenario, dir.path(), &url, postgres).await;
    if let Some(fresh) = fresh {
        fresh.drop_database().await?;
    }
    if options.keep {
        println!("{scenario}: logs kept in {}", dir.keep().display());
    }
    outcome
}

async fn deliver(
    options: &Options,
    report: &mut Report,
    scenario: &str,
    dir: &std::path::Path,
    url: &DatabaseUrl,
    postgres: bool,
) -> anyhow::Result<()> {
    let queued = seed::fill(url, options.messages, options.seed).await?;
    report.detail(
        scenario,
        format_args!(
            "queued {} SMS ({} bookings; {} applicants with no usable channel) in {:.1} s",
            thousands(queued.messages),
            thousands(queued.bookings),
            queued.unreachable,
            queued.seconds
        ),
    );
    let fake = Fake::new(Script::default(), Script::default(), options.seed);
    let settings = Settings::default();
    let mut fleet = Fleet::new(dir.to_path_buf(), url_text(url), fake.clone(), settings.clone());
    let started = Instant::now();
    let victims = if postgres {
        fleet.add(Role::Serve).await?;
        vec![fleet.add(Role::Worker).await?, fleet.add(Role::Worker).await?]
    } else {
        vec![fleet.add(Role::Serve).await?]
    };
    let db = Db::open(url).await?;

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut moments: Vec<usize> =
        (0..options.kills).map(|_| (rng.gen_range(0.05..0.95) * queued.messages as f64) as usize).collect();
    moments.sort_unstable();
    let mut kills = Vec::new();
    let patience = options.patience(queued.messages);
    for moment in moments {
        // Wait for the moment, restarting anything that died meanwhile.
        while !fake.wait_accepted(moment, Duration::from_secs(1)).await {
            fleet.revive().await?;
            anyhow::ensure!(started.elapsed() < patience, "delivery stalled before kill {}", kills.len() + 1);
        }
        let slot = victims[rng.gen_range(0..victims.len())];
        let Some(killed) = fleet.current(slot) else { continue };
        let at = fleet.kill(slot).await.expect("a running process");
        let accepted = fake.accepted();
        let sending = db.sending().await.ok();
        let restarted = fleet.start(slot).await?;
        kills.push(Kill { slot, killed, at, accepted, sending, restarted });
    }
    let finished = db.wait_finished(&mut fleet, patience).await?;
    let elapsed = started.elapsed();
    let rows = db.rows().await?;
    db.close().await;
    fleet.stop_all().await;
    let requests = fake.requests();
    let ledger = Ledger::new(&rows, &requests);

    let duplicates = ledger.duplicates_by_tag();
    let killed: Vec<u32> = kills.iter().map(|kill| kill.killed).collect();
    let per_kill: Vec<usize> = killed.iter().map(|tag| duplicates.get(tag).map_or(0, Vec::len)).collect();
    // How long after the kill the last message it had sent unrecorded went out again.
    let redone: Vec<Option<Duration>> = kills
        .iter()
        .map(|kill| {
            let extras = duplicates.get(&kill.killed)?;
            extras.iter().map(|extra| extra.recorded_at.saturating_duration_since(kill.at)).max()
        })
        .collect();
    let without_kill: usize =
        duplicates.iter().filter(|(tag, _)| !killed.contains(tag)).map(|(_, extras)| extras.len()).sum();
    let max_per_kill = per_kill.iter().copied().max().unwrap_or(0);
    let bound = settings.concurrency;
    let first_request =
        |tag: u32| requests.iter().find(|request| request.tag == tag).map(|request| request.at);
    let recoveries: Vec<Option<Duration>> = kills
        .iter()
        .map(|kill| first_request(kill.restarted).map(|at| at - fleet.lives[kill.restarted as usize].started))
        .collect();
    let mut timed: Vec<Duration> = recoveries.iter().flatten().copied().collect();
    timed.sort();
    let slowest_redo = redone.iter().flatten().max().copied();
    let roles = fleet.roles();

    for (number, ((kill, recovery), redone)) in kills.iter().zip(&recoveries).zip(&redone).enumerate() {
        report.detail(
            scenario,
            format_args!(
                "kill {} of {} (life {}) at {:.1} s after {} accepted: {} in sending, {} duplicates (sent \
                 again up to {} after the kill); restarted as life {}: first request after {}",
                number + 1,
                roles[kill.slot].name(),
                kill.killed,
                (kill.at - started).as_secs_f64(),
                thousands(kill.accepted as u64),
                kill.sending.map_or_else(|| "?".into(), |sending| sending.to_string()),
                per_kill[number],
                seconds(*redone),
                kill.restarted,
                seconds(*recovery),
            ),
        );
    }
    let deaths = fleet.deaths();
    for (tag, status) in &deaths {
        report.detail(scenario, format_args!("life {tag} exited by itself ({status}); last lines:"));
        for line in fleet.tail(*tag, 5) {
            report.detail(scenario, format_args!("    {line}"));
        }
    }
    let processes = if postgres { "1 serve + 2 workers" } else { "1 serve" };
    report.summary(
        scenario,
        format_args!(
            "{} SMS, {processes}, {} kills: lost {}, duplicates {} (per kill max {max_per_kill}, bound \
             {bound}; {without_kill} not after a kill), DB agrees with the fake: {}; first request after \
             restart median {}, max {}; a kill's unrecorded sends redone within {}; {}; {} requests accepted in {:.1} s",
            thousands(ledger.planned as u64),
            kills.len(),
            ledger.lost.len(),
            thousands(ledger.duplicates.len() as u64),
            if ledger.agrees() { "yes" } else { "NO" },
            seconds(timed.get(timed.len() / 2).copied()),
            seconds(timed.last().copied()),
            seconds(slowest_redo),
            ledger.states(),
            thousands(ledger.accepted as u64),
            elapsed.as_secs_f64(),
        ),
    );
    report.check(
        scenario,
        "delivery finished",
        finished,
        format_args!("within {:.0} s", patience.as_secs_f64()),
    );
    report.check(
        scenario,
        "lost = 0",
        ledger.lost.is_empty(),
        format_args!(
            "{} of {} planned messages not sent or failed with a class",
            ledger.lost.len(),
            ledger.planned
        ),
    );
    report.check(
        scenario,
        "duplicates per kill ≤ concurrency",
        max_per_kill <= bound,
        format_args!("max {max_per_kill}, bound {bound}; per kill {per_kill:?}"),
    );
    report.check(
        scenario,
        "no duplicates without a kill",
        without_kill == 0,
        format_args!("{without_kill} extra copies sent by processes that were not killed"),
    );
    report.check(
        scenario,
        "DB status agrees with what the fake received",
        ledger.agrees(),
        format_args!(
            "{} recorded sent but never received, {} received but not recorded as sent",
            ledger.phantom.len(),
            ledger.unrecorded
        ),
    );
    report.check(
        scenario,
        "no process exited by itself",
        deaths.is_empty(),
        format_args!("{} exits", deaths.len()),
    );
    Ok(())
}
