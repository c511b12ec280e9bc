//! `kabar serve`, `kabar worker` and `kabar demo` (the replay of June 2024).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::DemoRunArgs;
use crate::config::Config;
use crate::deliver::{Providers, Worker};
use crate::demo::{self, SeedSpec};
use crate::plan::{broadcast, plan_once_waking};
use crate::render::Catalogue;
use crate::store::{Changes, DatabaseUrl, Store, StoreError, Topic};

/// Runs the planner loop, a worker and the HTTP server, or only a worker (with health, readiness
/// and metrics on `listen` when given).
pub(super) async fn serve(
    store: &Store,
    config: &Config,
    everything: bool,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        config.delivery.has_providers(),
        "no provider is configured: add [delivery.twilio], [delivery.infobip], [delivery.whatsapp], \
         [delivery.smtp] or, to write messages to a file instead, [delivery.log] path = \"messages.jsonl\" \
         to kabar.toml (see the README)"
    );
    // Before the providers, so the SMS breaker gauges start at 0.
    let metrics = crate::observe::metrics::install();
    // First, so a signal during start-up is a graceful stop too.
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signals(shutdown.clone()));
    let catalogue = Arc::new(match &config.templates.dir {
        Some(dir) => Catalogue::with_overrides(dir)?,
        None => Catalogue::builtin(),
    });
    let providers = Arc::new(Providers::from_config(&config.delivery)?);
    let receipts_config = config.receipts.clone().map(Arc::new);
    let worker = Worker::new(
        store.clone(),
        providers,
        catalogue,
        config.notices.clone(),
        config.planner.channels.clone(),
        config.delivery.clone(),
        receipts_config.clone(),
    )
    .await?;
    let wake = Arc::new(Notify::new());
    // The tasks beside the worker; each returns only at shutdown, or early with an error.
    let mut tasks: tokio::task::JoinSet<anyhow::Result<()>> = tokio::task::JoinSet::new();
    if everything {
        let (planner_store, planner, planner_shutdown, planner_wake) =
            (store.clone(), config.planner.clone(), shutdown.clone(), wake.clone());
        tasks.spawn(
            async move { plan_until(&planner_store, &planner, &planner_shutdown, &planner_wake).await },
        );
        // Retention: personal data of finished messages wiped daily (see `[retention]`).
        let (retention_store, retention, retention_shutdown) =
            (store.clone(), config.retention.clone(), shutdown.clone());
        tasks.spawn(async move {
            crate::privacy::run_daily(retention_store, retention, retention_shutdown).await;
            Ok(())
        });
        // Automatic detection, when [[detect.systems]] are described: one serve probes at a time.
        let prober = crate::detect::Prober::new(store.clone(), &config.detect).map_err(anyhow::Error::msg)?;
        if prober.has_systems() {
            let prober_shutdown = shutdown.clone();
            tasks.spawn(async move {
                prober.run(prober_shutdown).await;
                Ok(())
            });
        }
    }
    if let Some(listen) = listen {
        // One HTTP server for everything: health, readiness, metrics, and for `serve` the receipts
        // routes and the API; a lone worker answers only the first three.
        let listener = crate::http::bind(listen).await?;
        let state = if everything {
            let state = crate::http::HttpState::from_config(store.clone(), config, metrics)
                .with_worker_wake(wake.clone());
            state.warm_audience_index();
            state
        } else {
            let state = crate::http::HttpState::new(store.clone(), metrics)
                .with_settle_seconds(config.planner.settle_seconds);
            match config.http.metrics_token.clone() {
                Some(token) => state.with_metrics_token(token),
                None => state,
            }
        };
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            crate::http::serve(listener, state, async move { shutdown.cancelled().await }).await?;
            Ok(())
        });
    }
    let work = worker.run(wake, shutdown.clone());
    tokio::pin!(work);
    let mut failed = None;
    let delivered = tokio::select! {
        delivered = &mut work => delivered,
        Some(ended) = tasks.join_next() => {
            // A task ends before the worker at shutdown, or with an error: the worker still
            // finishes what it holds either way.
            match ended.map_err(anyhow::Error::from).and_then(|ended| ended) {
                Err(err) => failed = Some(err),
                Ok(()) if !shutdown.is_cancelled() => {
                    failed = Some(anyhow::anyhow!("a task stopped unexpectedly"));
                }
                Ok(()) => {}
            }
            shutdown.cancel();
            work.await
        }
    };
    shutdown.cancel();
    while let Some(done) = tasks.join_next().await {
        if let Err(err) = done.map_err(anyhow::Error::from).and_then(|done| done) {
            failed.get_or_insert(err);
        }
    }
    let delivered = delivered?;
    println!(
        "stopped: {} messages sent, {} retried, {} moved to another channel, {} failed, {} given back unsent",
        delivered.sent, delivered.retried, delivered.fell_back, delivered.failed, delivered.released
    );
    match failed {
        Some(err) => Err(err),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Plans settled state changes and due broadcasts until `shutdown`, waking the workers when it
/// planned something. It wakes on the shared change signal (a state set by the API, the console
/// or a `kabar state set` in another process) and sleeps exactly until the newest change has
/// stood for the settle window, else for `tick_seconds` (due broadcasts, the 17:00 updates). A
/// store that is unreachable for a while is waited for (said once when it goes and once when it
/// is back); any other error ends the loop.
async fn plan_until(
    store: &Store,
    planner: &crate::plan::PlannerConfig,
    shutdown: &CancellationToken,
    wake: &Arc<Notify>,
) -> anyhow::Result<()> {
    let tick = std::time::Duration::from_secs(planner.tick_seconds.max(1));
    let settle = chrono::Duration::seconds(i64::try_from(planner.settle_seconds).unwrap_or(i64::MAX / 2));
    let changes = Changes::watch(store, Topic::Status).await?;
    let mut changed = changes.subscribe();
    let mut unavailable: Option<std::time::Instant> = None;
    let mut backoff = std::time::Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let now = chrono::Utc::now();
        let round = async {
            // Each office's messages go out as soon as they are planned.
            let events = plan_once_waking(store, planner, now, Some(wake.clone())).await?;
            let broadcasts = broadcast::plan_due(store, planner, now).await?;
            let subscribers = crate::status::subscriptions::plan_updates(store, planner, now).await?;
            let planned: u64 = events.iter().map(|event| event.counts.messages).sum::<u64>()
                + broadcasts.iter().map(|done| done.counts.messages).sum::<u64>()
                + subscribers;
            if planned > 0 {
                tracing::info!(
                    events = events.len(),
                    broadcasts = broadcasts.len(),
                    subscriber_updates = subscribers,
                    messages = planned,
                    "planned"
                );
                wake.notify_one();
                store.notify_workers().await?;
            }
            // A change that has not stood for the settle window yet is planned when it has.
            let unsettled = store.first_change_after(now - settle).await?;
            Ok::<_, StoreError>(unsettled.map(|at| (at + settle - now).to_std().unwrap_or_default()))
        };
        let pause = match round.await {
            Ok(unsettled) => {
                if let Some(since) = unavailable.take() {
                    tracing::warn!(
                        after_seconds = since.elapsed().as_secs_f64(),
                        "the planner reaches the database again"
                    );
                }
                backoff = std::time::Duration::from_millis(200);
                // The store keeps whole seconds, as the settled-change query compares them: a
                // few milliseconds past the stored instant plus the settle window it is settled.
                unsettled.map_or(tick, |due| (due + std::time::Duration::from_millis(5)).min(tick))
            }
            Err(err) if err.is_transient() => {
                if unavailable.is_none() {
                    tracing::warn!(error = %err, source = ?std::error::Error::source(&err).map(ToString::to_string),
                                   "the planner cannot reach the database; it tries again");
                    unavailable = Some(std::time::Instant::now());
                }
                backoff = (backoff * 2).min(tick);
                backoff
            }
            Err(err) => return Err(err.into()),
        };
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(pause) => {}
            // A change from any process: plan at once (a settle window of 0) or sleep anew
            // until it has stood long enough.
            _ = async {
                if changed.changed().await.is_err() {
                    // The watcher is gone (it never ends while we hold it): keep to the pause.
                    std::future::pending::<()>().await;
                }
            } => {}
        }
    }
    Ok(())
}

/// The first SIGTERM or Ctrl-C shuts down gracefully; a second one ends the process at once.
/// Nothing is corrupted either way: every write is a transaction, and a message whose send was
/// cut off keeps its claim until the lease ends (or a restarted worker takes it over).
async fn stop_on_signals(shutdown: CancellationToken) {
    wait_for_signal().await;
    tracing::warn!("shutting down: no new claims; the sends in flight finish and are recorded (a second signal stops at once)");
    shutdown.cancel();
    wait_for_signal().await;
    eprintln!(
        "kabar: second signal, stopping at once; messages cut off in flight go out again after their lease"
    );
    std::process::exit(130);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// `kabar demo`: a fresh demo database, the June 2024 outage replayed on it, every message written
/// to a log file, and a summary.
pub(super) async fn run_demo(args: DemoRunArgs) -> anyhow::Result<ExitCode> {
    for stale in [
        args.db.clone(),
        args.db.with_extension("db-wal"),
        args.db.with_extension("db-shm"),
        args.messages.clone(),
    ] {
        match std::fs::remove_file(&stale) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("cannot remove the previous {}", stale.display()))
            }
            _ => {}
        }
    }
    let store = Store::open(&DatabaseUrl::Sqlite(args.db.display().to_string())).await?;
    let terminal = std::io::stderr().is_terminal();
    println!(
        "1/3 demo data: the reference offices and {} bookings around 17 June 2024 (seed {})",
        args.bookings, args.seed
    );
    let offices = demo::load_offices(&store, None, args.seed).await?;
    let today = NaiveDate::from_ymd_opt(2024, 6, 17).expect("a valid date");
    let seeded =
        demo::seed_bookings(&store, &SeedSpec::new(args.bookings, args.seed, today), &offices, terminal)
            .await?;
    println!(
        "    {} bookings of {} applicants at {} offices",
        seeded.bookings, seeded.applicants, seeded.offices
    );
    let refused = store.demo_refusals().await?;
    println!(
        "    {} applicants have refused WhatsApp, {} of them every channel they have (so the replay \
         shows SMS and the call list too)",
        refused.0, refused.1
    );
    println!("2/3 the June 2024 outage, step by step, each message delivered to {}", args.messages.display());
    let steps = demo::june_2024();
    let bar = indicatif::ProgressBar::new(steps.len() as u64);
    if terminal {
        bar.set_style(
            indicatif::ProgressStyle::with_template("    [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template"),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let summary = demo::replay(&store, &steps, &args.messages, |step, delivered| {
        bar.inc(1);
        let line = format!("    {}\n      → {} messages delivered", step.what, delivered.sent);
        if terminal {
            bar.println(line);
        } else {
            println!("{line}");
        }
    })
    .await?;
    bar.finish_and_clear();
    println!("3/3 summary");
    print_summary(&summary);
    store.close().await;
    let kabar = this_command();
    println!(
        "\nNext: look at the messages (`head -3 {messages}`), the state board \
         (`{kabar} --database-url {db} state show`) and the call list \
         (`{kabar} --database-url {db} messages call-list`). To run kabar for real, write a kabar.toml \
         with your providers and `[receipts]`, import offices and bookings, and start `{kabar} serve`; \
         staff then change states with `{kabar} state set` (see the README).",
        messages = args.messages.display(),
        db = args.db.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// How to run kabar again as it was run now: `cargo run --release --` when cargo built and ran it
/// (a newcomer's `cargo run --release -- demo` leaves no `kabar` on the PATH), else its own path.
fn this_command() -> String {
    let Ok(exe) = std::env::current_exe() else { return "kabar".into() };
    let profile = exe.parent().and_then(|dir| Some((dir.file_name()?.to_str()?, dir.parent()?)));
    match profile {
        Some(("release", target)) if target.file_name().is_some_and(|name| name == "target") => {
            "cargo run --release --".into()
        }
        Some(("debug", target)) if target.file_name().is_some_and(|name| name == "target") => {
            "cargo run --".into()
        }
        _ => exe.display().to_string(),
    }
}

fn print_summary(summary: &demo::ReplaySummary) {
    use std::collections::BTreeMap;
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_channel: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for count in &summary.messages {
        *by_kind.entry(&count.kind).or_default() += count.messages;
        *by_channel.entry(count.channel.as_deref().unwrap_or("no usable channel")).or_default() +=
            count.messages;
        *by_status.entry(&count.status).or_default() += count.messages;
    }
    let total: u64 = by_status.values().sum();
    println!(
        "    {} applicants reached with at least one message, of {} applicants in the database; {total} messages",
        summary.reached, summary.applicants
    );
    let line = |title: &str, map: &BTreeMap<&str, u64>| {
        let parts: Vec<String> = map.iter().map(|(name, count)| format!("{name} {count}")).collect();
        println!("    {title}: {}", parts.join(", "));
    };
    line("by channel", &by_channel);
    line("by notice", &by_kind);
    line("by status", &by_status);
    let unreachable = by_status.get("unreachable").copied().unwrap_or(0);
    println!(
        "    delivery: {} sent, {} moved to another channel, {} failed; {unreachable} applicants with no \
         usable channel are on the call list for staff to phone",
        summary.delivered.sent, summary.delivered.fell_back, summary.delivered.failed
    );
}
