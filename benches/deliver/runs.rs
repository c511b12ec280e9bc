//! The latency run (state change → first provider request) and the rate run (a provider limit of
//! R messages per second), each on a fresh store with a worker in this process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveTime, Utc};
use kabar::deliver::{DeliveryConfig, Providers, Worker};
use kabar::demo::{self, SeedSpec};
use kabar::domain::{Channel, Service, ServiceState};
use kabar::plan::notice::NoticeConfig;
use kabar::plan::{plan_once, PlannerConfig, QuietHours};
use kabar::render::Catalogue;
use kabar::state::{set_state, StateChange, Target};
use kabar::store::Store;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::common::BenchStore;
use crate::fake::FakeTwilio;
use crate::queue;

/// Long enough for any run on a loaded machine; only a stuck worker waits this long.
const PATIENCE: Duration = Duration::from_secs(300);

async fn worker(store: &Store, delivery: DeliveryConfig) -> Worker {
    let providers = Arc::new(Providers::from_config(&delivery).expect("the providers"));
    let catalogue = Arc::new(Catalogue::builtin());
    let channels = vec![Channel::Sms];
    Worker::new(store.clone(), providers, catalogue, NoticeConfig::default(), channels, delivery, None)
        .await
        .expect("a worker")
}

/// One state change, from before `set_state` to the fake's first request.
struct Sample {
    set_state: Duration,
    planned_after: Duration,
    first_request: Duration,
    messages: u64,
}

/// A worker waits on its `Notify`; each repetition marks printing unavailable at another office
/// (settle time 0), plans, wakes the worker, and times the first request to reach the fake. The
/// next repetition starts once the fake has every message of this one.
pub async fn latency(dir: &std::path::Path, repetitions: usize) {
    let bench = BenchStore::open_named(dir, "latency").await;
    let store = &bench.store;
    // The worker claims at the real time, so the bookings are around today and quiet hours are
    // off: the run must not depend on the hour it is started.
    let offices = demo::load_offices(store, None, 5).await.expect("offices");
    let spec = SeedSpec::new(3_000, 5, Utc::now().date_naive());
    let seeded = demo::seed_bookings(store, &spec, &offices, false).await.expect("seed");
    let planner = PlannerConfig {
        quiet_hours: QuietHours { start: NaiveTime::MIN, end: NaiveTime::MIN },
        ..queue::planner()
    };
    let fake = FakeTwilio::start().await;
    let worker = Arc::new(
        worker(store, DeliveryConfig { twilio: Some(fake.config(None)), ..DeliveryConfig::default() }).await,
    );
    let (wake, shutdown) = (Arc::new(Notify::new()), CancellationToken::new());
    let running = tokio::spawn({
        let (worker, wake, shutdown) = (worker.clone(), wake.clone(), shutdown.clone());
        async move { worker.run(wake, shutdown).await }
    });

    let mut biggest = offices.clone();
    biggest.sort_by_key(|office| std::cmp::Reverse(office.weight));
    let mut samples = Vec::new();
    for office in biggest.iter().take(repetitions * 3) {
        if samples.len() == repetitions {
            break;
        }
        let before = fake.accepted();
        let started = Instant::now();
        let change = StateChange {
            target: Target::Offices(vec![office.code.clone()]),
            service: Service::Printing,
            state: ServiceState::Unavailable,
            reason: Some("Gangguan mesin cetak".into()),
            until: None,
            actor: "bench".into(),
            at: Utc::now(),
        };
        set_state(store, &change).await.expect("the state change");
        let set = started.elapsed();
        let events = plan_once(store, &planner, Utc::now()).await.expect("plan");
        let messages: u64 = events.iter().map(|event| event.counts.messages).sum();
        let planned_after = started.elapsed();
        if messages == 0 {
            continue; // nobody at this office is concerned: nothing to time
        }
        wake.notify_one();
        store.notify_workers().await.expect("notify");
        fake.wait_for(before + 1, PATIENCE).await;
        let first_request = fake.arrival(before) - started;
        fake.wait_for(before + messages as usize, PATIENCE).await;
        samples.push(Sample { set_state: set, planned_after, first_request, messages });
    }
    shutdown.cancel();
    running.await.expect("the worker task").expect("the worker runs");
    assert!(!samples.is_empty(), "no state change planned any message");

    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let mut firsts: Vec<f64> = samples.iter().map(|sample| ms(sample.first_request)).collect();
    firsts.sort_by(f64::total_cmp);
    let median = |values: &[f64]| values[values.len() / 2];
    let mut sets: Vec<f64> = samples.iter().map(|sample| ms(sample.set_state)).collect();
    let mut plans: Vec<f64> =
        samples.iter().map(|sample| ms(sample.planned_after - sample.set_state)).collect();
    let mut wakes: Vec<f64> =
        samples.iter().map(|sample| ms(sample.first_request - sample.planned_after)).collect();
    for values in [&mut sets, &mut plans, &mut wakes] {
        values.sort_by(f64::total_cmp);
    }
    let sizes: Vec<String> = samples.iter().map(|sample| sample.messages.to_string()).collect();
    println!(
        "{}: latency, state change → first provider request ({} changes at single offices, {} bookings; \
         messages per change {}): min {:.1} ms, median {:.1} ms, max {:.1} ms (target ≤ 100 ms: {})",
        bench.engine,
        samples.len(),
        seeded.bookings,
        sizes.join(", "),
        firsts[0],
        median(&firsts),
        firsts[firsts.len() - 1],
        verdict(firsts[firsts.len() - 1] <= 100.0),
    );
    println!(
        "{}:   medians: set_state {:.1} ms, plan_once {:.1} ms, wake → claim → render → first request {:.1} ms",
        bench.engine,
        median(&sets),
        median(&plans),
        median(&wakes)
    );
    drop(fake);
    bench.finish().await;
}

/// About 10 × `rate` messages through a Twilio account limited to `rate` per second.
pub async fn rate(dir: &std::path::Path, rate: u32) {
    let bench = BenchStore::open_named(dir, "rate").await;
    let store = &bench.store;
    let queued = queue::fill(store, u64::from(rate) * 10, 150, crate::now()).await;
    let fake = FakeTwilio::start().await;
    let delivery = DeliveryConfig { twilio: Some(fake.config(Some(rate))), ..DeliveryConfig::default() };
    let batch_size = delivery.batch_size;
    let worker = worker(store, delivery).await;
    let started = Instant::now();
    let done = worker.drain(crate::now()).await.expect("the worker drains the outbox");
    let seconds = started.elapsed().as_secs_f64();
    let arrivals = fake.arrivals();
    assert_eq!(arrivals.len() as u64, queued.messages, "the fake got every message once");
    assert_eq!(done.sent as u64, queued.messages, "every message is recorded as sent");

    let span = (arrivals[arrivals.len() - 1] - arrivals[0]).as_secs_f64();
    let sustained = arrivals.len() as f64 / span;
    let busiest = busiest_second(&arrivals);
    let gaps: Vec<f64> = arrivals.windows(2).map(|pair| (pair[1] - pair[0]).as_secs_f64()).collect();
    let longest_gap = gaps.iter().copied().fold(0.0, f64::max);
    let slow_gaps = gaps.iter().filter(|gap| **gap > 2.0 / f64::from(rate)).count();
    let rate = f64::from(rate);
    println!(
        "{}: rate run, limit {rate:.0}/s, {} messages sent in {seconds:.2} s: sustained {sustained:.1}/s \
         (messages / (last − first arrival) = {:.3} R; ≥ 0.99 R: {}), busiest 1-second window {busiest} \
         requests (≤ R: {})",
        bench.engine,
        arrivals.len(),
        sustained / rate,
        verdict(sustained >= 0.99 * rate),
        verdict(busiest as f64 <= rate),
    );
    println!(
        "{}:   gaps between requests: longest {:.0} ms (the limit spaces them {:.1} ms apart); {slow_gaps} \
         gaps over twice the spacing; {} steps of up to {batch_size} messages",
        bench.engine,
        longest_gap * 1000.0,
        1000.0 / rate,
        done.claimed.div_ceil(batch_size),
    );
    drop(fake);
    bench.finish().await;
}

/// The most arrivals in any window of one second, `[t, t + 1 s)`.
fn busiest_second(arrivals: &[Instant]) -> usize {
    let mut end = 0;
    let mut busiest = 0;
    for (start, at) in arrivals.iter().enumerate() {
        while end < arrivals.len() && arrivals[end] - *at < Duration::from_secs(1) {
            end += 1;
        }
        busiest = busiest.max(end - start);
    }
    busiest
}

pub fn verdict(met: bool) -> &'static str {
    if met {
        "yes"
    } else {
        "NO"
    }
}
