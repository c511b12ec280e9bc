//! The outbox worker: claims due messages with a lease (one short transaction), renders and
//! sends them with bounded concurrency (no transaction open), records each outcome as it
//! arrives, and moves permanent failures to the applicant's next channel.
//!
//! [`Worker::step`] does one batch and is what tests drive; [`Worker::drain`] flows until
//! nothing is due; [`Worker::run`] flows until shut down, beating a heartbeat that renews the
//! leases in hand and divides each provider account's rate among the workers alive (see
//! [`flow`] and [`heartbeat`]).

mod flow;
mod hand;
mod heartbeat;
mod prepare;
mod send;
mod subscriber;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use self::flow::{Idle, Until};
use self::hand::Hand;
use self::heartbeat::Outage;
use self::prepare::Cached;
use super::config::{DeliveryConfig, Providers};
use crate::domain::Channel;
use crate::plan::notice::NoticeConfig;
use crate::receipts::ReceiptsConfig;
use crate::render::Catalogue;
use crate::store::{
    process_may_be_alive, BroadcastRecord, EventFacts, OfficeDirectory, Store, StoreError, WorkerIdentity,
};

/// Errors that stop a worker (a provider's failure never does: it is recorded on the message;
/// nor does a store that is unreachable for a while: the worker waits for it).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a step, a drain or a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    /// Moved to the applicant's next channel after a permanent failure.
    pub fell_back: usize,
    pub failed: usize,
    /// Claimed but given back unsent (shutting down).
    pub released: usize,
}

impl StepReport {
    fn add(&mut self, other: StepReport) {
        self.claimed += other.claimed;
        self.sent += other.sent;
        self.retried += other.retried;
        self.fell_back += other.fell_back;
        self.failed += other.failed;
        self.released += other.released;
    }
}

/// A worker holds no more claims than its share of a rate-limited account sends in this many
/// seconds.
const SHARE_SECONDS: usize = 2;

/// Everything a worker needs, shared by every step.
pub struct Worker {
    store: Store,
    providers: Arc<Providers>,
    catalogue: Arc<Catalogue>,
    notices: NoticeConfig,
    channels: Vec<Channel>,
    config: DeliveryConfig,
    receipts: Option<Arc<ReceiptsConfig>>,
    directory: Mutex<(Instant, Arc<OfficeDirectory>)>,
    events: Cached<EventFacts>,
    broadcasts: Cached<BroadcastRecord>,
    identity: WorkerIdentity,
    /// At most this many claims in hand: the batch size, and no more than the slowest
    /// rate-limited account can send within half a lease.
    window: usize,
    hand: Hand,
    outage: Outage,
    /// This worker's part in the division of rates.
    sharing: Mutex<heartbeat::Sharing>,
    /// The status subscriptions' secret, read on the first subscriber's message.
    subscription_secret: tokio::sync::OnceCell<crate::status::subscriptions::tokens::Secret>,
}

impl Worker {
    /// A worker, registered (so its claims name it) and having taken over the claims of this
    /// host's workers whose process is gone.
    pub async fn new(
        store: Store,
        providers: Arc<Providers>,
        catalogue: Arc<Catalogue>,
        notices: NoticeConfig,
        channels: Vec<Channel>,
        config: DeliveryConfig,
        receipts: Option<Arc<ReceiptsConfig>>,
    ) -> Result<Self, WorkerError> {
        let directory = Arc::new(store.office_directory().await?);
        let identity = WorkerIdentity::of_this_process();
        store.register_worker(&identity, &[], Utc::now().timestamp_millis()).await?;
        store.take_over_dead_workers(&identity, process_may_be_alive, Utc::now()).await?;
        let window = providers
            .rate_limits()
            .iter()
            .filter_map(|(_, limit)| limit.configured())
            .map(|rate| (u64::from(rate.get()) * config.lease_seconds / 2).max(1))
            .min()
            .map_or(config.batch_size, |cap| config.batch_size.min(cap as usize));
        Ok(Worker {
            store,
            providers,
            catalogue,
            notices,
            channels,
            config,
            receipts,
            directory: Mutex::new((Instant::now(), directory)),
            events: Cached::default(),
            broadcasts: Cached::default(),
            identity,
            window,
            hand: Hand::default(),
            outage: Outage::default(),
            sharing: Mutex::default(),
            subscription_secret: tokio::sync::OnceCell::new(),
        })
    }

    /// How many claims this worker holds at most.
    pub fn window(&self) -> usize {
        self.window
    }

    /// How many claims this worker holds at most now: the window, and no more than its share of
    /// the slowest rate-limited account sends in [`SHARE_SECONDS`], so that workers sharing an
    /// account hold work in proportion to their shares and finish together.
    fn window_now(&self) -> usize {
        self.providers
            .rate_limits()
            .iter()
            .filter_map(|(_, limit)| limit.share())
            .map(|share| (share as usize * SHARE_SECONDS).max(1))
            .min()
            .map_or(self.window, |cap| self.window.min(cap))
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.config.lease_seconds)
    }

    /// Claims one batch of due messages, sends them and records what happened.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<StepReport, WorkerError> {
        let never = CancellationToken::new();
        let (claimed, prepared) = self.claim(now, self.window).await?;
        if claimed == 0 {
            return Ok(StepReport::default());
        }
        let clock = move || now;
        let done: Vec<_> = stream::iter(prepared)
            .map(|item| self.try_one(&clock, item, &never))
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        let mut report = self.record_done(now, done, &never).await?;
        report.claimed = claimed;
        Ok(report)
    }

    /// Sends until nothing is due at `now` (tests, the demo).
    pub async fn drain(&self, now: DateTime<Utc>) -> Result<StepReport, WorkerError> {
        let never = CancellationToken::new();
        let until = Until { shutdown: &never, abandon: &never, idle: None };
        self.flow(&move || now, until).await
    }

    /// Sends until `shutdown`, sleeping while nothing is due until woken (`wake`, a PostgreSQL
    /// `NOTIFY` from another process) or until the next message falls due. On shutdown nothing
    /// more is claimed, sends not started are given back, and the sends in flight finish and are
    /// recorded within `delivery.shutdown_grace_seconds`.
    pub async fn run(
        &self,
        wake: Arc<Notify>,
        shutdown: CancellationToken,
    ) -> Result<StepReport, WorkerError> {
        let accounts: Vec<String> =
            self.providers.rate_limits().iter().map(|(name, _)| (*name).to_owned()).collect();
        let id = &self.identity.id;
        let joined = self.patiently("joining the workers", &shutdown, || async {
            self.store.set_worker_accounts(id, &accounts).await?;
            self.store.set_worker_busy(id, true).await
        });
        if joined.await?.is_some() {
            self.sharing.lock().expect("the lock is never poisoned").joined(Utc::now().timestamp_millis());
            // Shares are set before the first send.
            self.patiently("the first heartbeat", &shutdown, || self.beat(false, false)).await?;
        }
        let listener =
            self.patiently("listening for work", &shutdown, || self.store.listen_for_work()).await?;
        let abandon = CancellationToken::new();
        let grace = Duration::from_secs(self.config.shutdown_grace_seconds);
        let grace_timer = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
            abandon.cancel();
            std::future::pending::<()>().await;
        };
        let idle = Idle { wake: &wake, listener: listener.flatten() };
        let until = Until { shutdown: &shutdown, abandon: &abandon, idle: Some(idle) };
        let report = tokio::select! {
            report = self.flow(&Utc::now, until) => report,
            () = self.heartbeat() => unreachable!("the heartbeat beats for ever"),
            () = grace_timer => unreachable!("the grace timer never ends"),
        };
        // Its share of every rate goes to the others at their next beat.
        if let Err(err) = self.store.stop_worker(id, Utc::now().timestamp_millis()).await {
            tracing::warn!(error = %heartbeat::chain(&err), "could not mark the worker stopped; the others \
                           notice within seconds");
        }
        report
    }

    async fn record_done(
        &self,
        now: DateTime<Utc>,
        done: Vec<flow::Done>,
        abandon: &CancellationToken,
    ) -> Result<StepReport, WorkerError> {
        let (mut tried, mut untried) = (Vec::new(), Vec::new());
        for item in done {
            match item {
                flow::Done::Tried(attempt) => tried.push(attempt),
                flow::Done::Untried(claim) => untried.push(claim),
            }
        }
        self.record_group(now, &tried, &untried, abandon).await
    }
}
