//! pg-restart: one `kabar serve` and one `kabar worker` on a private PostgreSQL cluster, which
//! the harness restarts and stops during delivery: `pg_ctl restart -m fast`, three restarts a few
//! seconds apart, a 10 s stop and a 30 s stop (shorter with `--small`). The processes must stay up
//! and finish the work with nothing lost and duplicates within the bound, and say what happened
//! in a few log lines, not one per message. A process that exits anyway is restarted (as a
//! supervisor would) so the run still ends, and the exit is reported.

use std::time::{Duration, Instant};

use crate::fake::{Fake, Script};
use crate::ledger::{Db, Ledger};
use crate::pg::{url_text, Cluster, Fresh};
use crate::procs::{Account, End, Fleet, Role, Settings};
use crate::report::{seconds, thousands, Report};
use crate::{arg, seed, Options};

const SCENARIO: &str = "pg-restart";

/// Warnings and errors one process may print about one fault: enough for "lost the database",
/// "still retrying" and "back", far fewer than one per message.
const LOG_LINES_PER_FAULT: usize = 10;

#[derive(Debug, Clone, Copy)]
enum Fault {
    Restart,
    Restarts { times: u32, apart: Duration },
    Stop(Duration),
}

impl Fault {
    fn describe(self) -> String {
        match self {
            Fault::Restart => "restart -m fast".into(),
            Fault::Restarts { times, apart } => format!("{times} restarts {} s apart", apart.as_secs()),
            Fault::Stop(pause) => format!("stop {} s", pause.as_secs()),
        }
    }
}

/// What one fault did.
struct Struck {
    fault: Fault,
    at: Instant,
    /// The database accepting connections again.
    back: Instant,
    /// Accepted before the fault: to tell that delivery was still going.
    accepted_before: usize,
}

pub async fn run(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = Cluster::start(dir.path()).await?;
    report.detail(SCENARIO, format_args!("private cluster on 127.0.0.1:{}", cluster.port()));
    let fresh = Fresh::create(&cluster.admin_url(), "restart").await?;
    let outcome = deliver(options, report, dir.path(), &cluster, &fresh).await;
    if outcome.is_err() {
        // The server may be stopped at the moment of the error.
        let _ = cluster.start_server().await;
    }
    let _ = fresh.drop_database().await;
    drop(cluster);
    if options.keep {
        println!("{SCENARIO}: logs kept in {}", dir.keep().display());
    }
    outcome
}

async fn deliver(
    options: &Options,
    report: &mut Report,
    dir: &std::path::Path,
    cluster: &Cluster,
    fresh: &Fresh,
) -> anyhow::Result<()> {
    let faults = if options.small {
        vec![
            Fault::Restart,
            Fault::Restarts { times: 3, apart: Duration::from_secs(1) },
            Fault::Stop(Duration::from_secs(3)),
            Fault::Stop(Duration::from_secs(6)),
        ]
    } else {
        vec![
            Fault::Restart,
            Fault::Restarts { times: 3, apart: Duration::from_secs(3) },
            Fault::Stop(Duration::from_secs(10)),
            Fault::Stop(Duration::from_secs(30)),
        ]
    };
    let rate: u32 = arg("--pg-rate", 200);
    // Enough messages at `rate` to outlast the faults and the few seconds between them.
    let busy: u64 = if options.small { 30 } else { 100 };
    let queued = seed::fill(&fresh.url, u64::from(rate) * busy, options.seed).await?;
    let fake = Fake::new(Script::default(), Script::default(), options.seed);
    // Small batches: with the default 500 a process holds seconds of sends at this rate and could
    // cross a short outage without touching the database; at 50 it claims and records several
    // times a second, as it does at full speed.
    let settings = Settings {
        batch_size: 50,
        twilio: Some(Account { rate_per_second: Some(rate), timeout_seconds: 10 }),
        ..Settings::default()
    };
    let bound = settings.concurrency;
    let mut fleet = Fleet::new(dir.to_path_buf(), url_text(&fresh.url), fake.clone(), settings);
    let started = Instant::now();
    fleet.add(Role::Serve).await?;
    fleet.add(Role::Worker).await?;
    let db = Db::open(&fresh.url).await?;
    let patience = options.patience(queued.messages) + Duration::from_secs(queued.messages / u64::from(rate));

    // Between faults: a couple of seconds of normal delivery, restarting any process that died.
    let steady = (rate * 2) as usize;
    let mut struck = Vec::new();
    for fault in faults {
        let target = fake.accepted() + steady;
        while !fake.wait_accepted(target, Duration::from_secs(1)).await {
            fleet.revive().await?;
            anyhow::ensure!(
                started.elapsed() < patience,
                "delivery stalled before the fault {}",
                fault.describe()
            );
        }
        let (at, accepted_before) = (Instant::now(), fake.accepted());
        match fault {
            Fault::Restart => cluster.restart().await?,
            Fault::Restarts { times, apart } => {
                for time in 0..times {
                    if time > 0 {
                        // The fault's own rhythm, not a synchronisation.
                        tokio::time::sleep(apart).await;
                    }
                    cluster.restart().await?;
                }
            }
            Fault::Stop(pause) => {
                cluster.stop().await?;
                tokio::time::sleep(pause).await;
                cluster.start_server().await?;
            }
        }
        let back = Instant::now();
        resumed(&fake, &mut fleet, back, patience.saturating_sub(started.elapsed())).await?;
        struck.push(Struck { fault, at, back, accepted_before });
    }
    let finished = db.wait_finished(&mut fleet, patience.saturating_sub(started.elapsed())).await?;
    let rows = db.rows().await?;
    db.close().await;
    fleet.stop_all().await;
    let end = Instant::now();
    let requests = fake.requests();
    let ledger = Ledger::new(&rows, &requests);

    let accepted: Vec<Instant> = {
        let mut times: Vec<Instant> =
            requests.iter().filter(|request| request.outcome.accepted()).map(|request| request.at).collect();
        times.sort();
        times
    };
    let effects: Vec<Effect> =
        (0..struck.len()).map(|at| Effect::of(&struck, at, end, &fleet, &ledger, &accepted)).collect();
    for (hit, effect) in struck.iter().zip(&effects) {
        let said: Vec<String> = effect.lines.iter().map(|(who, count)| format!("{who}: {count}")).collect();
        report.detail(
            SCENARIO,
            format_args!(
                "{}: database back after {:.1} s; delivery paused {} at most, flowing again {} after the database \
                 was back; exited: {}; warnings and errors: {}; duplicates {}",
                hit.fault.describe(),
                (hit.back - hit.at).as_secs_f64(),
                seconds(Some(effect.pause)),
                seconds(effect.recovery),
                if effect.died.is_empty() { "none".into() } else { effect.died.join(", ") },
                if said.is_empty() { "none".into() } else { said.join(", ") },
                effect.duplicates,
            ),
        );
    }
    let all_alive = effects.iter().all(|effect| effect.died.is_empty());
    let quiet =
        effects.iter().all(|effect| effect.lines.iter().all(|(_, count)| *count <= LOG_LINES_PER_FAULT));
    let within = effects.iter().all(|effect| effect.duplicates <= bound * 2);
    let attributed: usize = effects.iter().map(|effect| effect.duplicates).sum();
    let hit_delivery = struck.iter().all(|hit| hit.accepted_before < ledger.planned);
    let example = fleet.lives.iter().flat_map(|life| life.problems(started, end)).next();
    report.summary(
        SCENARIO,
        format_args!(
            "{} SMS, 1 serve + 1 worker, {} faults: processes exited {}, lost {}, duplicates {} (bound {} per \
             fault), DB agrees: {}; flowing again after each fault {}; warnings and errors printed {}; {:.1} s",
            thousands(ledger.planned as u64),
            struck.len(),
            fleet.deaths().len(),
            ledger.lost.len(),
            ledger.duplicates.len(),
            bound * 2,
            if ledger.agrees() { "yes" } else { "NO" },
            effects.iter().map(|effect| seconds(effect.recovery)).collect::<Vec<_>>().join(", "),
            fleet.lives.iter().map(|life| life.problems(started, end).len()).sum::<usize>(),
            (end - started).as_secs_f64(),
        ),
    );
    if let Some(example) = example {
        report.detail(SCENARIO, format_args!("first warning: {}", crate::report::clip(&example, 200)));
    }
    report.check(
        SCENARIO,
        "every fault struck during delivery",
        hit_delivery,
        "raise --pg-rate or the messages if not",
    );
    report.check(
        SCENARIO,
        "serve and worker stay alive through every fault",
        all_alive,
        format_args!("{} exits", fleet.deaths().len()),
    );
    report.check(SCENARIO, "delivery finished", finished, ledger.states());
    report.check(SCENARIO, "lost = 0", ledger.lost.is_empty(), format_args!("{} lost", ledger.lost.len()));
    report.check(
        SCENARIO,
        "duplicates within the bound",
        within && attributed == ledger.duplicates.len(),
        format_args!(
            "{} in all, {} before the first fault; at most {} per fault (concurrency × processes)",
            ledger.duplicates.len(),
            ledger.duplicates.len() - attributed,
            bound * 2
        ),
    );
    report.check(SCENARIO, "DB agrees with the fake", ledger.agrees(), ledger.disagreement());
    report.check(
        SCENARIO,
        "the outage is said in a few log lines, not per message",
        quiet,
        format_args!("at most {LOG_LINES_PER_FAULT} warnings and errors per process and fault"),
    );
    Ok(())
}

/// Waits for the fake to accept a message sent after `back`, restarting dead processes meanwhile.
async fn resumed(
    fake: &Fake,
    fleet: &mut Fleet,
    back: Instant,
    limit: Duration,
) -> anyhow::Result<Option<Instant>> {
    let started = Instant::now();
    let mut seen = 0;
    while started.elapsed() < limit {
        let requests = fake.requests();
        if let Some(first) =
            requests[seen..].iter().find(|request| request.outcome.accepted() && request.at >= back)
        {
            return Ok(Some(first.at));
        }
        seen = requests.len();
        let count = fake.accepted();
        if !fake.wait_accepted(count + 1, Duration::from_secs(1)).await {
            fleet.revive().await?;
        }
    }
    Ok(None)
}

/// What one fault did, from its start to the next fault's.
struct Effect {
    /// Processes that exited.
    died: Vec<String>,
    /// Warnings and errors per process life that printed any.
    lines: Vec<(String, usize)>,
    /// Extra copies lost by a process that died in this window, or sent unrecorded in it.
    duplicates: usize,
    /// The longest gap between two accepted messages.
    pause: Duration,
    /// From the database being back to messages flowing again (zero: they never stopped).
    recovery: Option<Duration>,
}

/// A gap this long between two messages is a stall (at the harness's rates a message leaves
/// every 5 to 10 ms).
const STALL: Duration = Duration::from_secs(1);

impl Effect {
    fn of(
        struck: &[Struck],
        at: usize,
        end: Instant,
        fleet: &Fleet,
        ledger: &Ledger,
        accepted: &[Instant],
    ) -> Effect {
        let hit = &struck[at];
        let until = struck.get(at + 1).map_or(end, |next| next.at);
        let inside = |when: Instant| when >= hit.at && when < until;
        let mut died = Vec::new();
        let mut lines = Vec::new();
        for (tag, life) in fleet.lives.iter().enumerate() {
            if let Some((when, End::Exited(status))) = life.ended {
                if inside(when) {
                    died.push(format!("{} life {tag} ({status})", life.role.name()));
                }
            }
            let count = life.problems(hit.at, until).len();
            if count > 0 {
                lines.push((format!("{} life {tag}", life.role.name()), count));
            }
        }
        // A crash loses what the process had sent but not recorded: those count where it died.
        let duplicates = ledger
            .duplicates
            .iter()
            .filter(|extra| match fleet.lives[extra.tag as usize].ended {
                Some((when, End::Exited(_))) => inside(when),
                _ => inside(extra.at),
            })
            .count();
        let from = accepted.partition_point(|when| *when < hit.at).saturating_sub(1);
        let to = accepted.partition_point(|when| *when < until);
        let window = &accepted[from..to];
        let pause = window.windows(2).map(|pair| pair[1] - pair[0]).max().unwrap_or_default();
        let after_back = window.iter().position(|when| *when >= hit.back);
        let recovery = after_back.map(|first| {
            let stall = window[first.max(1)..]
                .iter()
                .zip(&window[first.max(1) - 1..])
                .find(|(later, earlier)| **later - **earlier >= STALL && **later >= hit.back);
            stall.map_or(Duration::ZERO, |(later, _)| *later - hit.back)
        });
        Effect { died, lines, duplicates, pause, recovery }
    }
}
