//! The worker registry at work: a restarted worker takes over its dead predecessor's claims at
//! once (and never a live worker's), leases in hand are renewed while a send is slow, a slow
//! provider never causes a second send, and the workers of one database divide an account's rate.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kabar::deliver::{DeliveryConfig, Providers, StepReport, Worker, WorkerError};
use kabar::domain::Channel;
use kabar::store::{Store, WorkerIdentity};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::fakes::Fault;
use crate::harness::TestStore;
use crate::store_tests;
use crate::support::{bookings, import, now, plan_outage, seconds, worker, Fakes, Inspect, ALL_CHANNELS};

/// A guard against a hang, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(120);

/// A worker of this host whose process has exited.
async fn dead_predecessor() -> WorkerIdentity {
    let mut exited = tokio::process::Command::new("true").spawn().expect("run true");
    let pid = i64::from(exited.id().expect("a pid"));
    exited.wait().await.expect("true exits");
    let host = WorkerIdentity::of_this_process().host;
    WorkerIdentity { id: format!("{host}:{pid}:dead"), host, pid, process_start: 0 }
}

async fn a_restarted_worker_takes_over_its_dead_predecessors_claims_at_once(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(4)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    let dead = dead_predecessor().await;
    store.register_worker(&dead, &[], 0).await.unwrap();
    // Claimed for five minutes, then the process died (kill -9) before sending. (The wall
    // clock: the takeover happens when the successor starts.)
    let claimed = store.claim_messages(&dead.id, Utc::now(), seconds(300), 100).await.unwrap();
    assert_eq!(claimed.len(), planned.len());

    let fakes = Fakes::start().await;
    let successor = worker(store, fakes.config()).await;
    let report = successor.drain(Utc::now()).await.unwrap();

    assert_eq!(report.sent, planned.len(), "sent at once, not after the lease: {report:?}");
    assert_eq!(fakes.twilio.received(), planned.len());
}

async fn a_live_workers_claims_are_never_taken_over(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(3)).await;
    plan_outage(store, &[Channel::Sms]).await;
    // This very process: alive.
    let alive = WorkerIdentity { id: "alive".into(), ..WorkerIdentity::of_this_process() };
    store.register_worker(&alive, &[], 0).await.unwrap();
    store.claim_messages(&alive.id, now(), seconds(300), 100).await.unwrap();

    let fakes = Fakes::start().await;
    let other = worker(store, fakes.config()).await;
    let report = other.drain(now()).await.unwrap();

    assert_eq!(report, StepReport::default(), "the live worker's claims wait for their lease");
    assert_eq!(fakes.twilio.received(), 0);
    let after_lease = other.drain(now() + seconds(301)).await.unwrap();
    assert_eq!(after_lease.sent, 3);
}

struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<Result<StepReport, WorkerError>>,
}

fn run(worker: Worker) -> Running {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(Arc::new(Notify::new()), shutdown).await }
    });
    Running { shutdown, task }
}

impl Running {
    async fn stop(self) -> StepReport {
        self.shutdown.cancel();
        tokio::time::timeout(LIMIT, self.task).await.expect("stops").expect("no panic").expect("runs")
    }
}

/// Waits (polling the database, a bounded wait) until `done` holds.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let started = std::time::Instant::now();
    while !done().await {
        assert!(started.elapsed() < LIMIT, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn leases_in_hand_are_renewed_while_sends_are_slow(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(6)).await;
    plan_outage(store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    fakes.twilio.fail_times(10_000, Fault::Delay(Duration::from_secs(3)));
    let config = DeliveryConfig { concurrency: 1, lease_seconds: 30, ..fakes.config() };
    let running = run(worker(store, config).await);
    let inspect = Inspect::open(&db.url).await;
    let claimed_until = |rows: Vec<crate::support::MessageRow>| {
        rows.iter().filter(|row| row.status == "sending").map(|row| row.not_before).min()
    };
    until("messages are claimed", || async { claimed_until(inspect.messages().await).is_some() }).await;
    let first_lease = claimed_until(inspect.messages().await).unwrap();
    // A quarter of the lease later the heartbeat renews every claim still in hand.
    until("the leases are renewed", || async {
        claimed_until(inspect.messages().await).is_some_and(|lease| lease >= first_lease + 5)
    })
    .await;
    let report = running.stop().await;
    assert!(report.released > 0, "the claims not yet sent are given back: {report:?}");
    let statuses: Vec<String> = inspect.messages().await.into_iter().map(|row| row.status).collect();
    assert!(statuses.iter().all(|status| status == "sent" || status == "queued"), "{statuses:?}");
}

store_tests!(
    a_restarted_worker_takes_over_its_dead_predecessors_claims_at_once,
    a_live_workers_claims_are_never_taken_over,
    leases_in_hand_are_renewed_while_sends_are_slow,
    the_workers_of_one_database_divide_an_accounts_rate,
    a_busy_worker_takes_the_share_of_an_idle_one
);

/// The configuration that sent 406 requests for 227 messages: a provider at 2 messages a
/// second, batches of 80, a 30-second lease. Every message goes out exactly once, none is left
/// claimed. (SQLite: the lease logic is the same on both engines; this run takes 45 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_provider_never_causes_a_second_send() {
    const MESSAGES: u32 = 90;
    let db = TestStore::sqlite().await;
    import(&db.store, &bookings(MESSAGES)).await;
    let planned = plan_outage(&db.store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    let mut config = DeliveryConfig { batch_size: 80, lease_seconds: 30, concurrency: 64, ..fakes.config() };
    config.twilio.as_mut().unwrap().rate_per_second = NonZeroU32::new(2);
    let worker = worker(&db.store, config).await;
    assert_eq!(worker.window(), 30, "no more in hand than 2/s sends in half a lease");
    let running = run(worker);
    // Ten at a time: each wait is bounded by the fake's limit, the whole run takes 45 s.
    for received in (10..=planned.len()).step_by(10) {
        fakes.twilio.wait_for(received).await;
    }
    let report = running.stop().await;

    assert_eq!(report.sent, planned.len(), "{report:?}");
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for request in fakes.twilio.requests() {
        *per_recipient.entry(request.field("To").unwrap()).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), planned.len());
    assert!(per_recipient.values().all(|&count| count == 1), "{per_recipient:?}");
    let inspect = Inspect::open(&db.url).await;
    assert!(inspect.messages().await.iter().all(|row| row.status == "sent"));
}

/// Three workers on one database with an SMS account of 10 messages a second: shares of 4, 3
/// and 3; one stops, the other two take 5 each.
async fn the_workers_of_one_database_divide_an_accounts_rate(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(1)).await;
    let fakes = Fakes::start().await;
    let mut config = fakes.config();
    config.twilio.as_mut().unwrap().rate_per_second = NonZeroU32::new(10);
    config.whatsapp = None;
    config.smtp = None;
    let mut workers = Vec::new();
    let mut accounts = Vec::new();
    for _ in 0..3 {
        let providers = Arc::new(Providers::from_config(&config).unwrap());
        accounts.push(providers.clone());
        workers.push(run(worker_with(store, &config, providers).await));
    }
    let shares = |accounts: &[Arc<Providers>]| -> Vec<u32> {
        let mut shares: Vec<u32> =
            accounts.iter().map(|providers| providers.rate_limits()[0].1.share().unwrap()).collect();
        shares.sort();
        shares
    };
    until("the rate is divided in three", || async { shares(&accounts) == [3, 3, 4] }).await;
    workers.remove(0).stop().await;
    accounts.remove(0);
    until("the rate is divided in two", || async { shares(&accounts) == [5, 5] }).await;
    for running in workers {
        running.stop().await;
    }
}

/// Two workers sharing an account of 10 a second, 5 each while idle; when one has work in
/// hand and the other has none, the busy one takes the whole rate, and gives it back after.
async fn a_busy_worker_takes_the_share_of_an_idle_one(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(30)).await;
    let fakes = Fakes::start().await;
    let mut config = fakes.config();
    config.twilio.as_mut().unwrap().rate_per_second = NonZeroU32::new(10);
    (config.whatsapp, config.smtp) = (None, None);
    let mut accounts = Vec::new();
    let mut workers = Vec::new();
    let busy_wake = Arc::new(Notify::new());
    for wake in [busy_wake.clone(), Arc::new(Notify::new())] {
        let providers = Arc::new(Providers::from_config(&config).unwrap());
        accounts.push(providers.clone());
        let worker = worker_with(store, &config, providers).await;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { worker.run(wake, shutdown).await }
        });
        workers.push(Running { shutdown, task });
    }
    let shares = || -> Vec<u32> {
        accounts.iter().map(|providers| providers.rate_limits()[0].1.share().unwrap()).collect()
    };
    until("idle workers divide the rate", || async { shares() == [5, 5] }).await;

    let planned = plan_outage(store, &[Channel::Sms]).await;
    // Only the first worker hears of the work (the other sleeps until its 30 s safety net).
    busy_wake.notify_one();
    until("the busy worker takes the whole rate", || async { shares() == [10, 0] }).await;
    until("everything is sent", || async { fakes.twilio.received() == planned.len() }).await;
    until("the rate is divided again", || async { shares() == [5, 5] }).await;
    let mut sent = 0;
    for running in workers {
        sent += running.stop().await.sent;
    }
    assert_eq!(sent, planned.len());
    assert_eq!(fakes.twilio.received(), planned.len(), "each message once");
}

async fn worker_with(store: &Store, config: &DeliveryConfig, providers: Arc<Providers>) -> Worker {
    Worker::new(
        store.clone(),
        providers,
        Arc::new(kabar::render::Catalogue::builtin()),
        kabar::plan::notice::NoticeConfig::default(),
        ALL_CHANNELS.to_vec(),
        config.clone(),
        None,
    )
    .await
    .expect("the worker starts")
}

/// PostgreSQL only: every connection of the workers is cut, several times, mid-delivery (what a
/// database restart does to them). The worker backs off and carries on: nothing is lost and
/// nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_mid_delivery_lose_and_repeat_nothing() {
    let Some(db) = TestStore::postgres().await else {
        eprintln!("KABAR_TEST_POSTGRES_URL is not set: cut connections skipped");
        return;
    };
    const MESSAGES: u32 = 60;
    import(&db.store, &bookings(MESSAGES)).await;
    let planned = plan_outage(&db.store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    fakes.twilio.fail_times(10_000, Fault::Delay(Duration::from_millis(40)));
    let config = DeliveryConfig { batch_size: 10, concurrency: 4, ..fakes.config() };
    let running = run(worker(&db.store, config).await);
    let admin_url = std::env::var("KABAR_TEST_POSTGRES_URL").unwrap();
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let name = db.url.to_string().rsplit('/').next().unwrap().to_owned();
    for cut in 1..=4 {
        fakes.twilio.wait_for(cut * 10).await;
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&name)
            .execute(&admin)
            .await
            .unwrap();
    }
    fakes.twilio.wait_for(planned.len()).await;
    let inspect = Inspect::open(&db.url).await;
    until("every outcome is recorded", || async {
        inspect.messages().await.iter().all(|row| row.status == "sent")
    })
    .await;
    running.stop().await;
    admin.close().await;

    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for request in fakes.twilio.requests() {
        *per_recipient.entry(request.field("To").unwrap()).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), planned.len());
    let twice: Vec<_> = per_recipient.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
}
