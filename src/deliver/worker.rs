//! The outbox worker: claim a batch with a lease (one short transaction), render and send with
//! bounded concurrency (no transaction open), record every outcome in one transaction, move
//! permanent failures to the applicant's next channel. [`Worker::step`] does one round and is
//! what tests drive; [`Worker::run`] and [`Worker::drain`] overlap rounds (one batch sent while
//! the one before is recorded and the next claimed), until shut down or the queue is empty.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::config::{DeliveryConfig, Providers};
use super::providers::failover::Outcome;
use super::{Destination, FailureKind, Outgoing, SendFailure};
use crate::domain::Channel;
use crate::plan::notice::{About, NoticeConfig, Notices};
use crate::receipts::{unsubscribe_url, ReceiptsConfig};
use crate::render::{render, Catalogue};
use crate::store::{
    Attempt, AttemptOutcome, BroadcastRecord, Claim, EventFacts, MessageFacts, OfficeDirectory, Store,
    StoreError,
};

/// Errors that stop a worker (a provider's failure never does: it is recorded on the message).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    /// Moved to the applicant's next channel after a permanent failure.
    pub fell_back: usize,
    pub failed: usize,
}

impl StepReport {
    fn add(&mut self, other: StepReport) {
        self.claimed += other.claimed;
        self.sent += other.sent;
        self.retried += other.retried;
        self.fell_back += other.fell_back;
        self.failed += other.failed;
    }
}

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
}

/// Facts by id, loaded once per worker: a notice event or a broadcast does not change once its
/// messages are planned (a cancelled broadcast's messages are cancelled, never claimed).
struct Cached<T>(Mutex<HashMap<i64, Arc<T>>>);

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached(Mutex::new(HashMap::new()))
    }
}

impl<T> Cached<T> {
    async fn get_or_load<F, Fut>(&self, id: i64, load: F) -> Result<Option<Arc<T>>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, StoreError>>,
    {
        if let Some(found) = self.0.lock().expect("the lock is never poisoned").get(&id) {
            return Ok(Some(found.clone()));
        }
        let Some(loaded) = load().await? else { return Ok(None) };
        let loaded = Arc::new(loaded);
        self.0.lock().expect("the lock is never poisoned").insert(id, loaded.clone());
        Ok(Some(loaded))
    }
}

/// What one claim took: how many messages, each prepared.
#[derive(Default)]
struct Batch {
    claimed: usize,
    prepared: Vec<Prepared>,
}

/// A claimed message, ready to send or already settled without sending.
enum Prepared {
    Send { claim: Claim, channel: Channel, outgoing: Box<Outgoing> },
    Settled(Attempt),
}

/// Offices are reloaded this often, so a worker sees a new office list without a restart.
const DIRECTORY_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl Worker {
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
        })
    }

    /// Claims one batch of due messages, sends them and records what happened.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<StepReport, WorkerError> {
        let batch = self.claim(now).await?;
        if batch.claimed == 0 {
            return Ok(StepReport::default());
        }
        let attempts = self.send_all(batch.prepared, now).await;
        self.record(batch.claimed, &attempts, now).await
    }

    /// Steps until nothing is due at `now` (tests, the demo), batches overlapping as in
    /// [`Worker::run`].
    pub async fn drain(&self, now: DateTime<Utc>) -> Result<StepReport, WorkerError> {
        let mut total = StepReport::default();
        loop {
            // A batch claimed while the one before was recorded can miss the messages that
            // recording moved to their next channel: flow again until a flow claims nothing.
            let report = self.flow(&|| now, None).await?;
            total.add(report);
            if report.claimed == 0 {
                return Ok(total);
            }
        }
    }

    /// Claims, sends and records batches until one claims nothing or `stop` is cancelled. The
    /// three overlap: while one batch is being sent, the one before is recorded and the next is
    /// claimed and rendered, so the providers never wait for the database.
    async fn flow(
        &self,
        clock: &(dyn Fn() -> DateTime<Utc> + Sync),
        stop: Option<&CancellationToken>,
    ) -> Result<StepReport, WorkerError> {
        let mut total = StepReport::default();
        let mut sending = self.claim(clock()).await?;
        let mut sent: Option<(usize, Vec<Attempt>)> = None;
        while sending.claimed > 0 || sent.is_some() {
            let now = clock();
            let claimed = sending.claimed;
            let claim_next = claimed > 0 && !stop.is_some_and(CancellationToken::is_cancelled);
            let (recorded, attempts, next) = tokio::join!(
                async {
                    match sent.take() {
                        Some((claimed, attempts)) => self.record(claimed, &attempts, now).await,
                        None => Ok(StepReport::default()),
                    }
                },
                self.send_all(std::mem::take(&mut sending.prepared), now),
                async {
                    if claim_next {
                        self.claim(now).await
                    } else {
                        Ok(Batch::default())
                    }
                },
            );
            if claimed > 0 {
                sent = Some((claimed, attempts));
            }
            match recorded.and_then(|report| Ok((report, next?))) {
                Ok((report, batch)) => {
                    total.add(report);
                    sending = batch;
                }
                Err(err) => {
                    // The store failed; still try to record what was just sent, since a lost
                    // outcome means the message goes out again when its lease ends. A batch
                    // claimed but not sent simply falls due again.
                    if let Some((claimed, attempts)) = sent.take() {
                        if let Err(also) = self.record(claimed, &attempts, clock()).await {
                            tracing::error!(error = %also, messages = attempts.len(), "sent messages could not be recorded; they will be sent again when their lease ends");
                        }
                    }
                    return Err(err);
                }
            }
        }
        Ok(total)
    }

    /// Claims due messages and prepares each: rendered and ready to send, or settled at once.
    async fn claim(&self, now: DateTime<Utc>) -> Result<Batch, WorkerError> {
        let lease = Duration::seconds(self.config.lease_seconds as i64);
        let claims = self.store.claim_messages(now, lease, self.config.batch_size).await?;
        if claims.is_empty() {
            return Ok(Batch::default());
        }
        let ids: Vec<i64> = claims.iter().map(|claim| claim.id).collect();
        let facts = self.store.message_facts(&ids).await?;
        let directory = self.directory().await?;
        let mut prepared = Vec::with_capacity(facts.len());
        let mut facts: HashMap<i64, MessageFacts> =
            facts.into_iter().map(|facts| (facts.id, facts)).collect();
        for claim in &claims {
            // Every claimed id has its facts: messages are never deleted while queued.
            if let Some(message) = facts.remove(&claim.id) {
                prepared.push(self.prepare(*claim, message, &directory, now).await?);
            }
        }
        Ok(Batch { claimed: claims.len(), prepared })
    }

    /// Sends a batch with bounded concurrency; no transaction is open meanwhile.
    async fn send_all(&self, prepared: Vec<Prepared>, now: DateTime<Utc>) -> Vec<Attempt> {
        stream::iter(prepared)
            .map(|item| async move {
                match item {
                    Prepared::Settled(attempt) => attempt,
                    Prepared::Send { claim, channel, outgoing } => {
                        self.send(claim, channel, &outgoing, now).await
                    }
                }
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await
    }

    /// Records a batch's outcomes in one transaction, then moves permanent failures to the
    /// applicant's next channel.
    async fn record(
        &self,
        claimed: usize,
        attempts: &[Attempt],
        now: DateTime<Utc>,
    ) -> Result<StepReport, WorkerError> {
        let held = self.store.record_attempts(attempts, now).await?;
        let held: HashSet<i64> = held.iter().map(|claim| claim.id).collect();
        let mut report = StepReport { claimed, ..StepReport::default() };
        for attempt in attempts {
            if !held.contains(&attempt.claim.id) {
                continue;
            }
            match &attempt.outcome {
                AttemptOutcome::Accepted { .. } => report.sent += 1,
                AttemptOutcome::Retry { .. } => report.retried += 1,
                AttemptOutcome::Failed { .. } => report.failed += 1,
                AttemptOutcome::FallBack => {
                    let reason = attempt.error.as_deref().unwrap_or("permanent failure");
                    let moved = self
                        .store
                        .fall_back(attempt.claim.id, attempt.channel, &self.channels, reason, now)
                        .await?;
                    match moved {
                        crate::store::FallBack::Requeued(_) => report.fell_back += 1,
                        crate::store::FallBack::Failed => report.failed += 1,
                        // A receipt or a reply moved it on meanwhile.
                        crate::store::FallBack::Unchanged => {}
                    }
                }
            }
        }
        Ok(report)
    }

    /// Flows until `shutdown`; between flows, sleeps until woken (`wake`, a PostgreSQL `NOTIFY`
    /// from another process) or until the next message falls due. On shutdown nothing more is
    /// claimed; the batches in hand are sent (within the providers' timeouts) and recorded.
    pub async fn run(
        &self,
        wake: Arc<Notify>,
        shutdown: CancellationToken,
    ) -> Result<StepReport, WorkerError> {
        let mut listener = self.store.listen_for_work().await?;
        let mut total = StepReport::default();
        while !shutdown.is_cancelled() {
            // Registered before looking at the queue, so a wake-up in between is not lost.
            let woken = wake.notified();
            let report = self.flow(&Utc::now, Some(&shutdown)).await?;
            total.add(report);
            if report.claimed > 0 {
                continue;
            }
            // A safety net for writers that cannot notify (another process on SQLite).
            let idle = std::time::Duration::from_secs(30);
            let until = match self.store.next_due().await? {
                Some(due) => (due - Utc::now()).to_std().unwrap_or_default().min(idle),
                None => idle,
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = woken => {}
                _ = tokio::time::sleep(until) => {}
                _ = async {
                    match listener.as_mut() {
                        Some(listener) => { let _ = listener.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
        }
        Ok(total)
    }

    async fn directory(&self) -> Result<Arc<OfficeDirectory>, StoreError> {
        {
            let cached = self.directory.lock().expect("the lock is never poisoned");
            if cached.0.elapsed() < DIRECTORY_TTL {
                return Ok(cached.1.clone());
            }
        }
        let fresh = Arc::new(self.store.office_directory().await?);
        *self.directory.lock().expect("the lock is never poisoned") = (Instant::now(), fresh.clone());
        Ok(fresh)
    }

    async fn event(&self, id: i64) -> Result<Option<Arc<EventFacts>>, StoreError> {
        self.events.get_or_load(id, || self.store.event_facts(id)).await
    }

    async fn broadcast(&self, id: i64) -> Result<Option<Arc<BroadcastRecord>>, StoreError> {
        self.broadcasts.get_or_load(id, || self.store.broadcast(id)).await
    }

    /// Renders a claimed message, or settles it at once: a channel refused since planning moves
    /// on; a message that cannot be written fails visibly (a render error is permanent).
    async fn prepare(
        &self,
        claim: Claim,
        message: MessageFacts,
        directory: &OfficeDirectory,
        now: DateTime<Utc>,
    ) -> Result<Prepared, StoreError> {
        let Some(channel) = message.channel else {
            return Ok(Prepared::Settled(settled(
                claim,
                Channel::Sms,
                now,
                AttemptOutcome::Failed { class: "permanent" },
                "no usable channel",
            )));
        };
        let settle =
            |outcome, error: String| Prepared::Settled(settled(claim, channel, now, outcome, &error));
        if message.applicant.opted_out.contains(&channel) {
            return Ok(settle(AttemptOutcome::FallBack, format!("the applicant opted out of {channel}")));
        }
        let event;
        let broadcast;
        let about = match (message.event_id, message.broadcast_id) {
            (Some(id), _) => match self.event(id).await? {
                Some(found) => {
                    event = found;
                    About::Event(&event)
                }
                None => {
                    return Ok(settle(
                        AttemptOutcome::Failed { class: "permanent" },
                        format!("notice event {id} is gone"),
                    ))
                }
            },
            (None, Some(id)) => match self.broadcast(id).await? {
                Some(found) => {
                    broadcast = found;
                    About::Broadcast(&broadcast)
                }
                None => {
                    return Ok(settle(
                        AttemptOutcome::Failed { class: "permanent" },
                        format!("broadcast {id} is gone"),
                    ))
                }
            },
            (None, None) => {
                return Ok(settle(
                    AttemptOutcome::Failed { class: "permanent" },
                    "the message has no source".into(),
                ))
            }
        };
        let unsubscribe =
            self.receipts.as_deref().and_then(|receipts| unsubscribe_url(receipts, message.applicant.id));
        let notices = Notices { directory, config: &self.notices };
        let rendered = notices
            .context(&message.office, message.kind, &message.applicant, &message.bookings, about, unsubscribe)
            .map_err(|err| err.to_string())
            .and_then(|context| {
                render(&self.catalogue, message.kind, channel, message.language, &context)
                    .map_err(|err| err.to_string())
            });
        let content = match rendered {
            Ok(content) => content,
            Err(error) => {
                tracing::error!(message_id = message.id, kind = %message.kind, %channel, %error, "a notice cannot be rendered");
                return Ok(settle(AttemptOutcome::Failed { class: "permanent" }, format!("render: {error}")));
            }
        };
        let applicant = &message.applicant;
        let to = match channel {
            Channel::Whatsapp => {
                Destination::Phone(applicant.whatsapp.clone().unwrap_or_else(|| applicant.mobile.clone()))
            }
            Channel::Sms => Destination::Phone(applicant.mobile.clone()),
            Channel::Email => match &applicant.email {
                Some(address) => {
                    Destination::Email { address: address.clone(), name: applicant.name.clone() }
                }
                None => return Ok(settle(AttemptOutcome::FallBack, "no email address".into())),
            },
        };
        Ok(Prepared::Send {
            claim,
            channel,
            outgoing: Box::new(Outgoing { message_id: message.id, to, content }),
        })
    }

    /// One try on the channel's provider, classified into what the message does next.
    async fn send(&self, claim: Claim, channel: Channel, outgoing: &Outgoing, now: DateTime<Utc>) -> Attempt {
        let Some((index, provider)) = self.providers.pick(channel) else {
            return settled(
                claim,
                channel,
                now,
                AttemptOutcome::FallBack,
                &format!("no {channel} provider is configured"),
            );
        };
        let started = Instant::now();
        let result = provider.send(outgoing).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        self.providers.record(channel, index, Outcome::of(&result));
        let mut attempt = Attempt {
            claim,
            channel,
            provider: provider.name().to_owned(),
            started_at: now,
            duration_ms,
            outcome: AttemptOutcome::Failed { class: "technical" },
            response_code: None,
            error: None,
        };
        match result {
            Ok(accepted) => {
                attempt.response_code = Some(accepted.response_code);
                attempt.outcome =
                    AttemptOutcome::Accepted { provider_message_id: accepted.provider_message_id };
            }
            Err(SendFailure { kind, code, reason }) => {
                attempt.response_code = code;
                attempt.error = Some(reason.clone());
                attempt.outcome = match kind {
                    FailureKind::Transient { retry_after } => match self.retry(claim, retry_after, now) {
                        Some(retry_at) => AttemptOutcome::Retry { retry_at },
                        None => {
                            attempt.error =
                                Some(format!("gave up after {} attempts: {reason}", claim.channel_attempt));
                            AttemptOutcome::Failed { class: "technical" }
                        }
                    },
                    FailureKind::Permanent { opted_out } => {
                        if let (true, Destination::Phone(number)) = (opted_out, &outgoing.to) {
                            // The provider knows the recipient unsubscribed (Twilio 21610).
                            if let Err(err) = self.store.set_opt_out(number, channel, true).await {
                                tracing::warn!(%number, error = %err, "could not record an opt-out");
                            }
                        }
                        AttemptOutcome::FallBack
                    }
                    FailureKind::Technical => {
                        tracing::error!(message_id = claim.id, provider = provider.name(), %reason, "the provider refused kabar's request");
                        AttemptOutcome::Failed { class: "technical" }
                    }
                };
            }
        }
        attempt
    }

    /// Exponential backoff with ±20% jitter, at least the provider's `Retry-After`; past the
    /// attempt budget the message fails as `technical`.
    fn retry(
        &self,
        claim: Claim,
        retry_after: Option<std::time::Duration>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if claim.channel_attempt >= i64::from(self.config.max_attempts) {
            return None;
        }
        let exponent = u32::try_from(claim.channel_attempt.saturating_sub(1)).unwrap_or(u32::MAX).min(20);
        let base =
            self.config.backoff_seconds.saturating_mul(1u64 << exponent).min(self.config.backoff_max_seconds);
        let jittered = base as f64 * rand::thread_rng().gen_range(0.8..1.2);
        let wait = jittered.max(retry_after.map_or(0.0, |after| after.as_secs_f64()));
        let retry_at = now + Duration::milliseconds((wait * 1000.0) as i64);
        let deadline = claim.created_at + Duration::hours(i64::from(self.config.max_age_hours));
        (retry_at <= deadline).then_some(retry_at)
    }
}

fn settled(
    claim: Claim,
    channel: Channel,
    now: DateTime<Utc>,
    outcome: AttemptOutcome,
    error: &str,
) -> Attempt {
    Attempt {
        claim,
        channel,
        provider: "kabar".into(),
        started_at: now,
        duration_ms: 0,
        outcome,
        response_code: None,
        error: Some(error.to_owned()),
    }
}
