//! The worker's pipeline. Three parts run side by side in one task:
//!
//! - the **claimer** keeps up to a window of messages in hand: it claims (one short transaction)
//!   whenever half the window has been recorded, renders what it claimed and queues it;
//! - the **sender** sends the queue with bounded concurrency, each send only while its lease has
//!   time left and after the provider account's rate limit lets it through;
//! - the **recorder** records outcomes as they arrive, in small groups (whatever arrived while
//!   the previous group was written); permanent failures move to the applicant's next channel.
//!
//! A send holds one of `concurrency` permits from before it starts until its outcome is
//! recorded, so the messages whose fate the database does not know (in flight, or sent and not
//! yet recorded) never exceed `concurrency`: that bounds what a crash can send twice. When
//! writing is slower than sending, sending waits for it.
//!
//! On shutdown the claimer stops, sends not yet started are given back untried, the sends in
//! flight finish (within the grace period) and are recorded. A transient store error stops
//! nothing: the part that met it backs off and tries again, outcomes wait in memory meanwhile.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::channel::mpsc as queue;
use futures::StreamExt;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::prepare::Prepared;
use super::send::settled;
use super::{StepReport, Worker, WorkerError};
use crate::observe::metrics::RATE_LIMITER_WAIT_SECONDS;
use crate::store::{Attempt, AttemptOutcome, Claim, FallBack, StoreError};

/// The worker's clock: the wall clock, or a test's fixed instant.
pub(super) type Clock<'a> = &'a (dyn Fn() -> DateTime<Utc> + Sync);

/// Outcomes recorded in one go at most (the store writes them in multi-row statements).
const RECORD_GROUP: usize = 1000;
/// The longest wait between two tries of a failing store.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How a flow ends.
pub(super) struct Until<'a> {
    /// Stop claiming and starting sends.
    pub shutdown: &'a CancellationToken,
    /// The grace period is over: abandon the sends in flight and the outcomes not yet recorded.
    pub abandon: &'a CancellationToken,
    /// Where an idle worker waits for work; `None`: return once nothing is due (tests, demo).
    pub idle: Option<Idle<'a>>,
}

/// What wakes an idle worker besides the next message falling due.
pub(super) struct Idle<'a> {
    pub wake: &'a Notify,
    pub listener: Option<sqlx::postgres::PgListener>,
}

/// What the sender hands the recorder.
pub(super) enum Done {
    Tried(Attempt),
    /// Not sent (shutting down, or the lease ran short): given back.
    Untried(Claim),
}

impl Worker {
    pub(super) async fn flow(&self, clock: Clock<'_>, until: Until<'_>) -> Result<StepReport, WorkerError> {
        // Cancelled on shutdown, or by the recorder when it cannot go on.
        let stop = until.shutdown.child_token();
        let (to_send, queued) = queue::unbounded::<Prepared>();
        let (to_record, outcomes) = mpsc::unbounded_channel::<(Done, OwnedSemaphorePermit)>();
        let (claimed, (), recorded) = tokio::join!(
            self.claimer(clock, until.idle, to_send, &stop),
            self.sender(clock, queued, to_record, &stop, until.abandon),
            self.recorder(clock, outcomes, &stop, until.abandon),
        );
        let mut report = recorded?;
        report.claimed = claimed?;
        Ok(report)
    }

    async fn claimer(
        &self,
        clock: Clock<'_>,
        mut idle: Option<Idle<'_>>,
        to_send: queue::UnboundedSender<Prepared>,
        stop: &CancellationToken,
    ) -> Result<usize, WorkerError> {
        let mut claimed = 0;
        while !stop.is_cancelled() {
            let changed = self.hand.changed();
            let in_hand = self.hand.len();
            let window = self.window_now();
            if in_hand > window / 2 {
                tokio::select! {
                    _ = changed => {}
                    _ = stop.cancelled() => {}
                }
                continue;
            }
            let room = window.saturating_sub(in_hand);
            let Some((count, prepared)) = self.claim_patiently(clock, room, stop).await? else {
                break;
            };
            claimed += count;
            for item in prepared {
                // The sender outlives the claimer: the queue is open.
                let _ = to_send.unbounded_send(item);
            }
            if count > 0 {
                continue;
            }
            let Some(idle) = idle.as_mut() else {
                if in_hand == 0 {
                    break; // nothing in hand and nothing due: drained
                }
                tokio::select! {
                    _ = changed => {}
                    _ = stop.cancelled() => {}
                }
                continue;
            };
            // A safety net for writers that cannot notify (another process on SQLite).
            let mut until = Duration::from_secs(30);
            if let Some(Some(due)) =
                self.patiently("looking for due messages", stop, || self.store.next_due()).await?
            {
                until = (due - Utc::now()).to_std().unwrap_or_default().min(until);
            }
            let listener = idle.listener.as_mut();
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = idle.wake.notified() => {}
                _ = changed => {}
                _ = tokio::time::sleep(until) => {}
                _ = async {
                    match listener {
                        Some(listener) => {
                            if listener.recv().await.is_err() {
                                // Reconnects on the next call; meanwhile the timer still runs.
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
        }
        Ok(claimed)
    }

    /// Claims like [`Worker::claim`], waiting out a store that is away. A claim whose commit
    /// reached the database while its answer was lost leaves messages claimed in this worker's
    /// name but not in its hand: after such a failure they are given back.
    async fn claim_patiently(
        &self,
        clock: Clock<'_>,
        room: usize,
        stop: &CancellationToken,
    ) -> Result<Option<(usize, Vec<Prepared>)>, StoreError> {
        let failed = std::sync::atomic::AtomicBool::new(false);
        let claimed = self
            .patiently("claiming messages", stop, || async {
                let result = self.claim(clock(), room).await;
                if result.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                result
            })
            .await?;
        if failed.into_inner() && claimed.is_some() {
            let orphans: Vec<Claim> = self
                .patiently("looking for lost claims", stop, || self.store.claims_of(&self.identity.id))
                .await?
                .unwrap_or_default()
                .into_iter()
                .filter(|claim| !self.hand.holds(claim))
                .collect();
            if !orphans.is_empty() {
                tracing::info!(
                    messages = orphans.len(),
                    "giving back messages claimed while the database was away"
                );
                self.patiently("giving back lost claims", stop, || {
                    self.store.release_claims(&orphans, clock())
                })
                .await?;
            }
        }
        Ok(claimed)
    }

    async fn sender(
        &self,
        clock: Clock<'_>,
        queued: queue::UnboundedReceiver<Prepared>,
        to_record: mpsc::UnboundedSender<(Done, OwnedSemaphorePermit)>,
        stop: &CancellationToken,
        abandon: &CancellationToken,
    ) {
        let unknown = std::sync::Arc::new(Semaphore::new(self.config.concurrency));
        let sends = queued
            .map(|item| {
                let unknown = unknown.clone();
                async move {
                    let permit = unknown.acquire_owned().await.expect("the semaphore is never closed");
                    (self.try_one(clock, item, stop).await, permit)
                }
            })
            .buffer_unordered(self.config.concurrency)
            .for_each(|done| {
                let _ = to_record.send(done);
                std::future::ready(())
            });
        tokio::select! {
            _ = sends => {}
            _ = abandon.cancelled() => {
                tracing::warn!("the grace period is over: the sends still in flight are abandoned; \
                                their messages go out again when their lease ends");
            }
        }
    }

    pub(super) async fn try_one(&self, clock: Clock<'_>, item: Prepared, stop: &CancellationToken) -> Done {
        let (claim, channel, outgoing) = match item {
            Prepared::Settled(attempt) => return Done::Tried(attempt),
            Prepared::Send { claim, channel, outgoing } => (claim, channel, outgoing),
        };
        // Half the lease: more than any provider's timeout, so a send started now ends before
        // another worker could claim the message.
        let margin = self.lease() / 2;
        if stop.is_cancelled() || !self.hand.fresh(&claim, margin) {
            return Done::Untried(claim);
        }
        let Some((index, provider)) = self.providers.pick(channel) else {
            let reason = format!("no {channel} provider is configured");
            return Done::Tried(settled(claim, channel, clock(), AttemptOutcome::FallBack, &reason));
        };
        if let Some(limit) = provider.limit() {
            let waiting = std::time::Instant::now();
            tokio::select! {
                biased;
                _ = stop.cancelled() => return Done::Untried(claim),
                _ = limit.wait() => {}
            }
            metrics::histogram!(RATE_LIMITER_WAIT_SECONDS, "provider" => provider.name())
                .record(waiting.elapsed().as_secs_f64());
            if !self.hand.fresh(&claim, margin) {
                return Done::Untried(claim);
            }
        }
        Done::Tried(self.send(claim, channel, (index, provider), &outgoing, clock()).await)
    }

    async fn recorder(
        &self,
        clock: Clock<'_>,
        mut outcomes: mpsc::UnboundedReceiver<(Done, OwnedSemaphorePermit)>,
        stop: &CancellationToken,
        abandon: &CancellationToken,
    ) -> Result<StepReport, WorkerError> {
        let mut report = StepReport::default();
        let mut failure = None;
        let mut group = Vec::with_capacity(RECORD_GROUP);
        while outcomes.recv_many(&mut group, RECORD_GROUP).await > 0 {
            // The permits go back once the outcomes are written.
            let (done, _permits): (Vec<Done>, Vec<OwnedSemaphorePermit>) =
                std::mem::take(&mut group).into_iter().unzip();
            match self.record_done(clock(), done, abandon).await {
                Ok(recorded) => report.add(recorded),
                // The worker stops, but what is still in flight is recorded where the store
                // lets it: a lost outcome means a second send when the lease ends.
                Err(err) if failure.is_none() => {
                    tracing::error!(error = %super::heartbeat::chain(&err), "outcomes cannot be recorded; the worker stops");
                    stop.cancel();
                    failure = Some(err);
                }
                Err(err) => {
                    tracing::error!(error = %super::heartbeat::chain(&err), "outcomes cannot be recorded")
                }
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(report),
        }
    }

    /// Gives back the untried claims, records the tries and moves permanent failures on; then
    /// all of them leave the hand.
    pub(super) async fn record_group(
        &self,
        now: DateTime<Utc>,
        tried: &[Attempt],
        untried: &[Claim],
        abandon: &CancellationToken,
    ) -> Result<StepReport, WorkerError> {
        let mut report = StepReport::default();
        if !untried.is_empty() {
            self.patiently("giving back unsent messages", abandon, || {
                self.store.release_claims(untried, now)
            })
            .await?;
            report.released += untried.len();
            self.hand.done(untried);
        }
        if tried.is_empty() {
            return Ok(report);
        }
        let claims = || tried.iter().map(|attempt| &attempt.claim);
        let Some(held) =
            self.patiently("recording outcomes", abandon, || self.store.record_attempts(tried, now)).await?
        else {
            tracing::error!(
                messages = tried.len(),
                "the outcomes of sent messages could not be recorded within the grace period; \
                 those messages go out again when their lease ends"
            );
            self.hand.done(claims());
            return Ok(report);
        };
        report.add(self.settle(tried, &held, now, abandon).await?);
        self.hand.done(claims());
        Ok(report)
    }

    /// Counts what the tries whose claim still held did, and moves their permanent failures to
    /// the applicant's next channel.
    pub(super) async fn settle(
        &self,
        tried: &[Attempt],
        held: &[Claim],
        now: DateTime<Utc>,
        abandon: &CancellationToken,
    ) -> Result<StepReport, WorkerError> {
        let held: std::collections::HashSet<i64> = held.iter().map(|claim| claim.id).collect();
        let mut report = StepReport::default();
        for attempt in tried.iter().filter(|attempt| held.contains(&attempt.claim.id)) {
            match &attempt.outcome {
                AttemptOutcome::Accepted { .. } => report.sent += 1,
                AttemptOutcome::Retry { .. } => report.retried += 1,
                AttemptOutcome::Failed { .. } => report.failed += 1,
                AttemptOutcome::FallBack => {
                    let reason = attempt.error.as_deref().unwrap_or("permanent failure");
                    let (id, channel) = (attempt.claim.id, attempt.channel);
                    let moved = self
                        .patiently("moving a message to its next channel", abandon, || {
                            self.store.fall_back(id, channel, &self.channels, reason, now)
                        })
                        .await?;
                    match moved {
                        Some(FallBack::Requeued(_)) => report.fell_back += 1,
                        Some(FallBack::Failed) => report.failed += 1,
                        // A receipt or a reply moved it on meanwhile; or the grace period ended
                        // (the message stays claimed and falls due after its lease).
                        Some(FallBack::Unchanged) | None => {}
                    }
                }
            }
        }
        Ok(report)
    }

    /// Runs a store operation until it succeeds, backing off while the store is unreachable or
    /// busy; `None` when `give_up` is cancelled first. Other errors end the operation.
    pub(super) async fn patiently<T, F, Fut>(
        &self,
        what: &'static str,
        give_up: &CancellationToken,
        mut operation: F,
    ) -> Result<Option<T>, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut wait = Duration::from_millis(100);
        loop {
            match operation().await {
                Ok(value) => {
                    self.outage.over();
                    return Ok(Some(value));
                }
                Err(err) if err.is_transient() => {
                    self.outage.begin(what, &err);
                    tokio::select! {
                        _ = give_up.cancelled() => return Ok(None),
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
                Err(err) => return Err(err),
            }
        }
    }
}
