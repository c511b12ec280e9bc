//! The worker's heartbeat: every second it tells the registry it is alive, renews the leases of
//! the claims in hand (every quarter lease), takes over the claims of dead workers of its host,
//! and sets its share of each provider account's rate from the workers alive.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::Worker;
use crate::store::{process_may_be_alive, StoreError, WorkerRow};

/// How often a running worker beats.
pub(super) const HEARTBEAT: Duration = Duration::from_secs(1);
/// A worker silent this long takes no share of any rate.
const SILENT_AFTER_MS: i64 = 5_000;
/// Dead workers of this host are looked for every this many beats.
const TAKE_OVER_EVERY: u32 = 10;

impl Worker {
    /// Beats until dropped.
    pub(super) async fn heartbeat(&self) {
        let mut ticks = tokio::time::interval(HEARTBEAT);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewed = tokio::time::Instant::now();
        for beat in 0u32.. {
            ticks.tick().await;
            let renew = renewed.elapsed() >= self.lease() / 4;
            match self.beat(renew, beat % TAKE_OVER_EVERY == 0).await {
                Ok(()) => {
                    self.outage.over();
                    if renew {
                        renewed = tokio::time::Instant::now();
                    }
                }
                Err(err) if err.is_transient() => self.outage.begin("the heartbeat", &err),
                Err(err) => tracing::error!(error = %chain(&err), "the worker's heartbeat failed"),
            }
        }
    }

    /// One beat.
    pub(super) async fn beat(&self, renew: bool, take_over: bool) -> Result<(), StoreError> {
        let now_ms = Utc::now().timestamp_millis();
        self.store.worker_heartbeat(&self.identity.id, now_ms).await?;
        if renew && self.hand.len() > 0 {
            let started = tokio::time::Instant::now();
            let lease = chrono::Duration::seconds(self.config.lease_seconds as i64);
            self.store.renew_leases(&self.identity.id, Utc::now() + lease).await?;
            self.hand.renewed(started, self.lease());
        }
        if take_over {
            self.store.take_over_dead_workers(&self.identity, process_may_be_alive, Utc::now()).await?;
        }
        let busy = self.sharing.lock().expect("the lock is never poisoned").beat(self.hand.len() > 0);
        if let Some(busy) = busy {
            self.store.set_worker_busy(&self.identity.id, busy).await?;
            self.sharing.lock().expect("the lock is never poisoned").told(busy, Utc::now().timestamp_millis());
        }
        let live = self.store.live_workers(now_ms - SILENT_AFTER_MS).await?;
        self.share_rates(&live);
        Ok(())
    }

    /// Divides each rate-limited account's rate among the live workers that send through it and
    /// are busy (all of them while none is), in the order of their ids, the remainder to the
    /// first ones, so the shares add up to the rate. While a worker alive has not beaten since
    /// this one joined or became busy, it may not know and still send at its old share: until it
    /// has, this one sends nothing on that account. (A share that grows waits a second more, see
    /// [`crate::deliver::providers::RateLimit::set_share`].)
    fn share_rates(&self, live: &[WorkerRow]) {
        let (joined_ms, me_busy) = {
            let sharing = self.sharing.lock().expect("the lock is never poisoned");
            let Some(joined_ms) = sharing.changed_ms else { return };
            (joined_ms, sharing.busy)
        };
        let mine = |worker: &&WorkerRow| worker.id == self.identity.id;
        for (account, limit) in self.providers.rate_limits() {
            let Some(rate) = limit.configured() else { continue };
            let sharing: Vec<&WorkerRow> =
                live.iter().filter(|worker| worker.accounts.iter().any(|a| a == account)).collect();
            if !sharing.iter().any(mine) {
                continue;
            }
            let busy = |worker: &&&WorkerRow| if mine(worker) { me_busy } else { worker.busy };
            let mut dividing: Vec<&WorkerRow> = sharing.iter().filter(busy).copied().collect();
            if dividing.is_empty() {
                dividing = sharing.clone();
            }
            let unaware =
                sharing.iter().any(|worker| !mine(worker) && worker.heartbeat_at_ms <= joined_ms);
            let (rate, workers) = (rate.get(), dividing.len() as u32);
            let share = match dividing.iter().position(mine) {
                Some(me) if !unaware => rate / workers + u32::from((me as u32) < rate % workers),
                _ => 0,
            };
            if limit.share() != Some(share) {
                tracing::debug!(provider = account, share, rate, workers, "this worker's share of the rate");
                limit.set_share(share);
            }
        }
    }
}

/// A worker's part in the division of rates: when it joined, or last became busy, and whether it
/// is busy (it had messages in hand at this beat or the one before).
#[derive(Debug, Default)]
pub(super) struct Sharing {
    /// When the others were last told something that grows this worker's share (epoch ms);
    /// `None` until it joins.
    changed_ms: Option<i64>,
    busy: bool,
    /// It had messages in hand at the last beat.
    had_work: bool,
}

impl Sharing {
    pub(super) fn joined(&mut self, now_ms: i64) {
        self.changed_ms = Some(now_ms);
    }

    /// This beat's busyness; `Some` when the registry must be told. Idle takes two beats with
    /// nothing in hand: a worker between two claims is not idle.
    fn beat(&mut self, in_hand: bool) -> Option<bool> {
        let busy = in_hand || self.had_work;
        self.had_work = in_hand;
        (self.changed_ms.is_some() && busy != self.busy).then_some(busy)
    }

    /// The registry knows: from `now_ms`, a busy worker may take a share the others must make
    /// room for once they know.
    fn told(&mut self, busy: bool, now_ms: i64) {
        self.busy = busy;
        if busy {
            self.changed_ms = Some(now_ms);
        }
    }
}

/// Whether the store is unreachable, so that an outage is logged once when it begins and once
/// when it ends, not once per message or per try.
#[derive(Default)]
pub(super) struct Outage(Mutex<Option<Instant>>);

impl Outage {
    pub(super) fn begin(&self, what: &str, err: &StoreError) {
        let mut since = self.0.lock().expect("the lock is never poisoned");
        if since.is_none() {
            tracing::warn!(during = what, error = %chain(err), "the database is unavailable; the worker keeps \
                           what it has in hand and tries again");
            *since = Some(Instant::now());
        }
    }

    pub(super) fn over(&self) {
        let mut since = self.0.lock().expect("the lock is never poisoned");
        if let Some(began) = since.take() {
            tracing::warn!(
                after_seconds = began.elapsed().as_secs_f64(),
                "the database answers again; delivery goes on"
            );
        }
    }
}

/// An error with its causes, `: `-separated.
pub(super) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
