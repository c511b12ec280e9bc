//! The worker's heartbeat: every second (four times a second while other workers share one of
//! its accounts, so that shares follow who is busy quickly) it tells the registry it is alive,
//! renews the leases of the claims in hand (every quarter lease), takes over the claims of dead
//! workers of its host (every ten seconds), and sets its share of each provider account's rate
//! from the workers alive.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::Worker;
use crate::store::{process_may_be_alive, StoreError, WorkerRow};

/// How often a running worker beats while it shares an account with other workers.
const QUICK_BEAT: Duration = Duration::from_millis(250);
/// How often a running worker beats otherwise (in quick beats).
const BEAT_EVERY: u32 = 4;
/// A worker silent this long takes no share of any rate.
const SILENT_AFTER_MS: i64 = 5_000;
/// Dead workers of this host are looked for every this many quick beats (ten seconds).
const TAKE_OVER_EVERY: u32 = 40;
/// A share given up longer ago than this (a window and a margin) has no sends left in any window.
const GIVEN_UP_MS: i64 = 1_100;

impl Worker {
    /// Beats until dropped.
    pub(super) async fn heartbeat(&self) {
        let mut ticks = tokio::time::interval(QUICK_BEAT);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewed = tokio::time::Instant::now();
        for beat in 0u32.. {
            ticks.tick().await;
            let shared = self.sharing.lock().expect("the lock is never poisoned").shared;
            if !shared && beat % BEAT_EVERY != 0 {
                continue;
            }
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
            self.sharing
                .lock()
                .expect("the lock is never poisoned")
                .told(busy, Utc::now().timestamp_millis());
        }
        let live = self.store.live_workers(now_ms - SILENT_AFTER_MS, Some(now_ms - GIVEN_UP_MS)).await?;
        self.share_rates(&live).await
    }

    /// Divides each rate-limited account's rate among the live workers that send through it and
    /// are busy (all of them while none is), in the order of their ids, the remainder to the
    /// first ones, so the shares add up to the rate.
    ///
    /// Two rules keep the sum of what the workers use within the rate while shares move:
    /// - while a worker alive has not beaten since this one joined or became busy, it may not
    ///   know and still use its old share: until it has, this one takes no more than it shows;
    /// - each worker shows the share it may use in the registry (a smaller one after it has
    ///   shrunk, a larger one before it grows), and takes no more than the others' shown shares
    ///   leave. (A share that grows also waits a second more, see
    ///   [`crate::deliver::providers::RateLimit::set_share`].)
    async fn share_rates(&self, live: &[WorkerRow]) -> Result<(), StoreError> {
        let (joined_ms, me_busy, shown_before) = {
            let sharing = self.sharing.lock().expect("the lock is never poisoned");
            let Some(joined_ms) = sharing.changed_ms else { return Ok(()) };
            (joined_ms, sharing.busy, sharing.shown.clone())
        };
        let mine = |worker: &&WorkerRow| worker.id == self.identity.id;
        let (mut shown, mut growing, mut shared) = (Vec::new(), Vec::new(), false);
        let mut shrunk_at_ms: Option<i64> = None;
        let now_ms = Utc::now().timestamp_millis();
        for (account, limit) in self.providers.rate_limits() {
            let Some(rate) = limit.configured() else { continue };
            let on_account: Vec<&WorkerRow> =
                live.iter().filter(|worker| worker.accounts.iter().any(|a| a == account)).collect();
            // The rate others gave up: when the last of them shrank its share or stopped.
            let given_up_ms = on_account
                .iter()
                .filter(|worker| !mine(worker))
                .map(|worker| worker.stopped_at_ms.unwrap_or(worker.shrunk_at_ms))
                .max()
                .unwrap_or(0);
            let sharing: Vec<&WorkerRow> =
                on_account.into_iter().filter(|worker| worker.stopped_at_ms.is_none()).collect();
            if !sharing.iter().any(mine) {
                continue;
            }
            shared |= sharing.len() > 1;
            let busy = |worker: &&&WorkerRow| if mine(worker) { me_busy } else { worker.busy };
            let mut dividing: Vec<&WorkerRow> = sharing.iter().filter(busy).copied().collect();
            if dividing.is_empty() {
                dividing = sharing.clone();
            }
            let unaware = sharing.iter().any(|worker| !mine(worker) && worker.heartbeat_at_ms <= joined_ms);
            let (rate, workers) = (rate.get(), dividing.len() as u32);
            let mut target = match dividing.iter().position(mine) {
                Some(me) => rate / workers + u32::from((me as u32) < rate % workers),
                None => 0,
            };
            if unaware {
                // No more than the registry already shows: keeping that is safe, growing not.
                target = target.min(shown_before.iter().find(|(a, _)| a == account).map_or(0, |(_, s)| *s));
            }
            let others: u32 =
                sharing.iter().filter(|worker| !mine(worker)).map(|worker| worker.share(account)).sum();
            let share = target.min(rate.saturating_sub(others));
            let now = limit.share().unwrap_or(rate);
            if share < now {
                tracing::info!(provider = account, share, rate, workers, "this worker's share of the rate");
                // The sends of the larger share all came before the last one so far.
                if let Some(last) = limit.last_send() {
                    let ago = last.elapsed().as_millis() as i64;
                    shrunk_at_ms = Some(shrunk_at_ms.unwrap_or(0).max(now_ms - ago));
                }
                limit.set_share(share);
            } else if share > now {
                let ago = std::time::Duration::from_millis(now_ms.saturating_sub(given_up_ms).max(0) as u64);
                let given_up =
                    tokio::time::Instant::now().checked_sub(ago).unwrap_or_else(tokio::time::Instant::now);
                growing.push((account, limit, share, rate, workers, given_up));
            }
            shown.push(((*account).to_owned(), share));
        }
        let changed = {
            let mut sharing = self.sharing.lock().expect("the lock is never poisoned");
            sharing.shared = shared;
            sharing.shown != shown || shrunk_at_ms.is_some()
        };
        if changed {
            self.store.set_worker_shares(&self.identity.id, &shown, shrunk_at_ms).await?;
            self.sharing.lock().expect("the lock is never poisoned").shown = shown;
        }
        for (account, limit, share, rate, workers, given_up) in growing {
            tracing::info!(provider = account, share, rate, workers, "this worker's share of the rate");
            limit.set_share_after(share, given_up);
        }
        Ok(())
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
    /// The shares it shows in the registry.
    shown: Vec<(String, u32)>,
    /// Another live worker sends through one of its accounts.
    shared: bool,
}

impl Sharing {
    /// Joined at `now_ms`, busy: a worker is started for work (it is idle two beats later if
    /// it has none).
    pub(super) fn joined(&mut self, now_ms: i64) {
        self.changed_ms = Some(now_ms);
        (self.busy, self.had_work) = (true, true);
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
