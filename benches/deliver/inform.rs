//! `--runs inform`: time to inform. The national printing outage over 2,000,000 bookings with the
//! providers' real limits: WhatsApp 1,000 messages/s for the number (`--whatsapp-rate`; a new
//! number starts at Meta's 80, which `--whatsapp-rate 80` simulates), two SMS providers (Twilio and
//! Infobip) at 100/s each, SMTP at 50/s, on the test suite's fakes.
//!
//! Time compression by `--scale S` (100): a population S times smaller at the real rates takes
//! as long as the whole one at S times the rates, so 20,000 bookings stand for 2,000,000 at 100×,
//! and every printed minute is a second of the run times S / 60. (The whole population at 100×
//! the rates would need 125,000 requests a second, far above what the fakes and the worker share
//! of two cores.) As a user sees it: the real binary, `kabar serve` over the seeded SQLite file
//! with the fakes as its providers, and `kabar state set all printing unavailable` in another
//! process; the clock starts before that command, so waking and planning are part of the time.
//!
//! Printed: the minute at which 50%, 90%, 99% and 100% of the notices had reached their provider
//! (one notice per applicant and event, each to one applicant), against the provider-limited
//! minimum: every channel sending at its full rate from the first instant until its notices
//! are out. Goal: ≤ 1.05 × the minimum at every quantile.

use std::process::Stdio;
use std::time::{Duration, Instant};

use kabar::store::{DatabaseUrl, Store};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::arg;
use crate::mix::{shares, tally, Fakes, Population, Rates};
use crate::plot;
use crate::runs::verdict;

const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 1.0];

const KABAR: &str = env!("CARGO_BIN_EXE_kabar");

pub async fn run(dir: &std::path::Path) {
    let scale: f64 = arg("--scale", 100.0);
    let bookings = (2_000_000.0 / scale).round() as usize;
    // The real binary plans with the wall clock: the bookings are around today.
    let today = chrono::Utc::now().date_naive();
    let population = Population::seed(dir, "inform", bookings, today).await;
    let (store, engine) = (&population.bench.store, population.bench.engine);
    let DatabaseUrl::Sqlite(database) = &population.bench.url else {
        panic!("the time-to-inform run drives the real binary on SQLite only");
    };
    let rates = Rates {
        whatsapp: Some(arg("--whatsapp-rate", 1000)),
        twilio: Some(100),
        infobip: Some(100),
        smtp: Some(50),
    };
    let fakes = Fakes::start().await;
    // Quiet hours out of the way (the bench runs at any hour); the rest as deployed.
    let config = format!(
        "[http]\npublic_url = \"https://kabar.imigrasi.go.id\"\n\n\
         [planner]\nsettle_seconds = 0\nquiet_hours = \"12:00-12:01\"\n\n\
         [receipts]\nunsubscribe_key = \"a-bench-key-of-more-than-thirty-two-characters\"\n\n{}",
        fakes.delivery(&rates, "delivery.")
    );
    std::fs::write(dir.join("kabar.toml"), config).expect("the configuration");
    let mut serve = Command::new(KABAR)
        .args(["--database-url", database, "serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("KABAR_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kabar serve starts");
    let mut lines = BufReader::new(serve.stdout.take().expect("its output")).lines();
    while let Some(line) = lines.next_line().await.expect("its output") {
        if line.contains("listening on") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    // Let the worker and the planner reach their first wait.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let started = Instant::now();
    let status = Command::new(KABAR)
        .args(["--database-url", database, "state", "set", "all", "printing", "unavailable"])
        .args(["--reason", "Gangguan Pusat Data Nasional"])
        .current_dir(dir)
        .env_remove("KABAR_DATABASE_URL")
        .stdout(Stdio::null())
        .status()
        .await
        .expect("kabar state set runs");
    assert!(status.success(), "kabar state set failed");
    let changed_after = started.elapsed().as_secs_f64();
    let (notices, unreachable, queued) = settled(store, &fakes).await;
    let _ = serve.kill().await;

    // When each notice reached its provider: every request is accepted here (no failures).
    let mut arrivals: Vec<Instant> = fakes.whatsapp.requests().iter().map(|request| request.at).collect();
    arrivals.extend(fakes.twilio.requests().iter().map(|request| request.at));
    arrivals.extend(fakes.infobip.requests().iter().map(|request| request.at));
    arrivals.extend(fakes.smtp.mails().iter().map(|mail| mail.at));
    arrivals.sort();
    let reachable = notices - unreachable;
    let minute = |at: Instant| (at - started).as_secs_f64() * scale / 60.0;
    let minimum = Minimum::of(&queued, &rates);
    println!(
        "{engine} inform: {} (standing for {:.0} at {scale}× time compression); `kabar state set all printing \
         unavailable` took {changed_after:.2} s; kabar serve planned {notices} notices, {unreachable} with no \
         usable channel, by channel {}; limits: {rates}",
        population.describe(),
        population.seeded.bookings as f64 * scale,
        shares(&queued),
    );
    let mut quantiles = Vec::new();
    let mut met = true;
    for q in QUANTILES {
        let told = ((q * reachable as f64).ceil() as usize).max(1);
        let Some(at) = arrivals.get(told - 1).copied() else { break };
        let (measured, least) = (minute(at), minimum.seconds(told as u64) * scale / 60.0);
        let ratio = measured / least;
        met &= ratio <= 1.05;
        println!(
            "{engine} inform: {:>3}% told at minute {measured:.1}; the provider-limited minimum {least:.1}; \
             {ratio:.3}× (goal ≤ 1.05: {})",
            q * 100.0,
            verdict(ratio <= 1.05)
        );
        quantiles.push(
            serde_json::json!({"quantile": q, "minute": measured, "minimum_minute": least, "ratio": ratio}),
        );
    }
    let all = arrivals.len() as u64 == reachable;
    println!(
        "time to inform ({}): every quantile within 1.05 × the minimum: {}; every reachable notice sent once: {}",
        engine.to_lowercase(),
        verdict(met),
        verdict(all),
    );
    let figures = serde_json::json!({
        "engine": engine, "scale": scale, "bookings": population.seeded.bookings, "notices": notices,
        "unreachable": unreachable, "rates": rates, "queued": queued, "state_set_seconds": changed_after,
        "quantiles": quantiles, "all_sent_once": all,
    });
    let name = format!("inform-{}-scale-{scale}", engine.to_lowercase());
    let title = format!("kabar time to inform: national outage, {notices} notices at real rates ({engine})");
    let svg = plot::write(&name, &title, figures, &plot::course(&arrivals, started, reachable));
    println!("{engine} inform: figures and chart: {} (and .json)", svg.display());
    population.bench.finish().await;
}

/// Waits until kabar serve has planned the outage and settled every notice (sent, or failed for
/// want of a channel), then returns the notices, those unreachable, and every notice by the
/// channel it was first planned on.
async fn settled(store: &Store, fakes: &Fakes) -> (u64, u64, Vec<(String, u64)>) {
    let patience = Instant::now();
    let mut last = (0, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let counts = store.message_counts().await.expect("count messages");
        let total: u64 = counts.iter().map(|count| count.messages).sum();
        let open: u64 = counts
            .iter()
            .filter(|count| count.status == "queued" || count.status == "sending")
            .map(|count| count.messages)
            .sum();
        let arrived = fakes.whatsapp.received() + fakes.twilio.received() + fakes.infobip.received();
        // Nothing open, and nothing new planned or sent for a whole poll: done.
        if total > 0 && open == 0 && (total, arrived) == last {
            let unreachable =
                counts.iter().filter(|count| count.status != "sent").map(|count| count.messages).sum();
            return (total, unreachable, tally(&counts, |_| true));
        }
        last = (total, arrived);
        assert!(patience.elapsed() < Duration::from_secs(1800), "kabar serve did not settle in 30 minutes");
    }
}

/// The provider-limited minimum: each channel sends at its full rate from the first instant.
struct Minimum {
    /// Notices and requests per second, by channel.
    channels: Vec<(u64, f64)>,
}

impl Minimum {
    fn of(queued: &[(String, u64)], rates: &Rates) -> Minimum {
        let rate = |limit: Option<u32>| limit.map_or(f64::INFINITY, f64::from);
        let channels = queued
            .iter()
            .filter_map(|(channel, notices)| {
                let per_second = match channel.as_str() {
                    "whatsapp" => rate(rates.whatsapp),
                    "sms" => rate(rates.twilio) + rates.infobip.map_or(0.0, f64::from),
                    "email" => rate(rates.smtp),
                    _ => return None, // no usable channel: never sent
                };
                Some((*notices, per_second))
            })
            .collect();
        Minimum { channels }
    }

    /// How many notices are out after `seconds` at best.
    fn told(&self, seconds: f64) -> f64 {
        self.channels.iter().map(|(notices, rate)| (*notices as f64).min(rate * seconds)).sum()
    }

    /// The earliest instant (seconds) at which `told` notices can be out: bisection on the
    /// non-decreasing [`Minimum::told`].
    fn seconds(&self, told: u64) -> f64 {
        let (mut low, mut high) = (0.0, 1.0);
        while self.told(high) < told as f64 {
            high *= 2.0;
        }
        for _ in 0..60 {
            let middle = (low + high) / 2.0;
            if self.told(middle) >= told as f64 {
                high = middle;
            } else {
                low = middle;
            }
        }
        high
    }
}
