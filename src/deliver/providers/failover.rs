//! Choosing between several SMS providers, after GOV.UK Notify: traffic is split by configured
//! weights, a provider that starts failing gets less of it, and one that keeps failing is taken out
//! for a while, so an outage at one provider slows no message down for long.
//!
//! - **Weights follow the error rate.** Each provider keeps its recent outcomes (the last
//!   `window` within `window_seconds`); its weight is its configured weight times the share that
//!   succeeded, never below `weight_floor` of it, so it keeps getting a trickle of traffic that
//!   shows when it recovers. Fewer than `min_samples` outcomes count as that many, so one early
//!   failure is not a 100% error rate.
//! - **A circuit breaker per provider.** `breaker_failures` failures in a row open it: the
//!   provider is not chosen for `breaker_cooldown_seconds`. Then it is half-open: the next choice
//!   is one trial message to it; success closes the breaker, failure opens it again.
//! - **Sending never stops.** When every breaker is open, the provider whose breaker opened first
//!   is chosen anyway: a message sent late beats one not sent.
//!
//! Only transient and technical failures count against a provider: a permanent failure (an
//! invalid number) is the recipient's, and the provider that reported it did its job.
//!
//! Each breaker's state is the gauge `kabar_sms_breaker_state{provider}` (0 closed, 1 half-open,
//! 2 open), set whenever it changes.
//!
//! The router owns no client: the worker asks [`SmsRouter::choose`] for an index, sends with that
//! provider and reports with [`SmsRouter::record`]. Time is passed in and the random source can be
//! seeded, so tests replay hours of traffic in milliseconds, the same way every run.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::distributions::{Distribution, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::ProviderError;
use crate::deliver::{Accepted, FailureKind, SendFailure};

/// How the router reacts to failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailoverConfig {
    /// Outcomes remembered per provider.
    pub window: usize,
    /// Outcomes older than this are forgotten.
    pub window_seconds: u64,
    /// The error rate of fewer outcomes than this is taken over this many.
    pub min_samples: usize,
    /// The share of its configured weight a failing provider keeps (0 to 1).
    pub weight_floor: f64,
    /// Failures in a row that open a provider's breaker.
    pub breaker_failures: u32,
    /// How long an open breaker keeps its provider out.
    pub breaker_cooldown_seconds: u64,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        Self {
            window: 50,
            window_seconds: 600,
            min_samples: 10,
            weight_floor: 0.05,
            breaker_failures: 5,
            breaker_cooldown_seconds: 60,
        }
    }
}

impl FailoverConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.window == 0 || self.window_seconds == 0 {
            return Err("failover.window and failover.window_seconds must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.weight_floor) {
            return Err(format!("failover.weight_floor is {}; give a share from 0 to 1", self.weight_floor));
        }
        if self.breaker_failures == 0 || self.breaker_cooldown_seconds == 0 {
            return Err(
                "failover.breaker_failures and failover.breaker_cooldown_seconds must be at least 1".into()
            );
        }
        Ok(())
    }
}

/// One provider the router chooses between, by its position in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// For logs and health reports.
    pub name: String,
    /// Its share of the traffic relative to the others; 0 makes it a standby, chosen only when
    /// every weighted provider's breaker is open.
    pub weight: u32,
}

impl Member {
    pub fn new(name: impl Into<String>, weight: u32) -> Self {
        Self { name: name.into(), weight }
    }
}

/// What a send told about the provider's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    /// Accepted and permanent failures show a working provider; transient and technical ones do not.
    pub fn of(result: &Result<Accepted, SendFailure>) -> Self {
        match result {
            Ok(_) => Outcome::Success,
            Err(failure) => match failure.kind {
                FailureKind::Permanent { .. } => Outcome::Success,
                FailureKind::Transient { .. } | FailureKind::Technical => Outcome::Failure,
            },
        }
    }
}

/// The state of a provider's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaker {
    Closed,
    Open,
    HalfOpen,
}

/// A provider's health, for status pages and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberHealth {
    pub name: String,
    pub weight: u32,
    pub effective_weight: f64,
    pub error_rate: f64,
    pub breaker: Breaker,
}

/// Chooses the SMS provider for each message. Safe to share between workers: the state sits behind
/// a mutex held only while choosing or recording, never across a send.
#[derive(Debug)]
pub struct SmsRouter {
    config: FailoverConfig,
    cooldown: Duration,
    window_age: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    slots: Vec<Slot>,
    rng: ChaCha8Rng,
}

#[derive(Debug)]
struct Slot {
    member: Member,
    /// When each recent outcome came, and whether it was a failure; oldest first.
    recent: VecDeque<(Instant, bool)>,
    breaker: BreakerState,
}

#[derive(Debug, Clone, Copy)]
enum BreakerState {
    Closed {
        failures_in_a_row: u32,
    },
    Open {
        since: Instant,
    },
    /// `since` is when it opened; `trial` when the trial message was handed out, if it was.
    HalfOpen {
        since: Instant,
        trial: Option<Instant>,
    },
}

impl SmsRouter {
    /// A router seeded from the operating system.
    pub fn new(members: Vec<Member>, config: FailoverConfig) -> Result<Self, ProviderError> {
        Self::with_rng(members, config, ChaCha8Rng::from_entropy())
    }

    /// A router whose choices are the same on every run, for tests.
    pub fn with_seed(members: Vec<Member>, config: FailoverConfig, seed: u64) -> Result<Self, ProviderError> {
        Self::with_rng(members, config, ChaCha8Rng::seed_from_u64(seed))
    }

    fn with_rng(
        members: Vec<Member>,
        config: FailoverConfig,
        rng: ChaCha8Rng,
    ) -> Result<Self, ProviderError> {
        let invalid = |message: String| ProviderError::Config { provider: "sms failover", message };
        config.validate().map_err(invalid)?;
        if members.iter().all(|member| member.weight == 0) {
            return Err(invalid("give at least one SMS provider a weight above 0".into()));
        }
        let slots = members
            .into_iter()
            .map(|member| Slot {
                member,
                recent: VecDeque::new(),
                breaker: BreakerState::Closed { failures_in_a_row: 0 },
            })
            .collect::<Vec<Slot>>();
        for slot in &slots {
            crate::observe::metrics::sms_breaker(&slot.member.name, Breaker::Closed);
        }
        Ok(Self {
            cooldown: Duration::from_secs(config.breaker_cooldown_seconds),
            window_age: Duration::from_secs(config.window_seconds),
            config,
            state: Mutex::new(State { slots, rng }),
        })
    }

    /// The index of the provider to send the next message with.
    pub fn choose(&self, now: Instant) -> usize {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.advance(&mut state, now);
        let State { slots, rng } = &mut *state;

        // A provider back from its cool-down gets the next message as its trial.
        let trial = slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match slot.breaker {
                BreakerState::HalfOpen { since, trial: None } => Some((since, index)),
                _ => None,
            })
            .min();
        if let Some((since, index)) = trial {
            slots[index].breaker = BreakerState::HalfOpen { since, trial: Some(now) };
            return index;
        }

        let closed: Vec<usize> = (0..slots.len())
            .filter(|&index| matches!(slots[index].breaker, BreakerState::Closed { .. }))
            .collect();
        if closed.is_empty() {
            // Every breaker open or on trial: the one that opened first.
            return (0..slots.len())
                .filter_map(|index| Some((slots[index].opened_at()?, index)))
                .min()
                .map_or(0, |(_, index)| index);
        }
        let weights: Vec<f64> = closed.iter().map(|&index| self.effective_weight(&slots[index])).collect();
        match WeightedIndex::new(&weights) {
            Ok(distribution) => closed[distribution.sample(rng)],
            // Only standbys left (all weights 0): any of them.
            Err(_) => closed[rng.gen_range(0..closed.len())],
        }
    }

    /// Reports how a send through provider `index` went.
    ///
    /// # Panics
    /// If `index` is not one [`SmsRouter::choose`] can return.
    pub fn record(&self, index: usize, outcome: Outcome, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.advance(&mut state, now);
        let failed = outcome == Outcome::Failure;
        let slot = &mut state.slots[index];
        slot.recent.push_back((now, failed));
        while slot.recent.len() > self.config.window {
            slot.recent.pop_front();
        }
        let name = &slot.member.name;
        let before = slot.breaker.kind();
        slot.breaker = match (slot.breaker, failed) {
            (BreakerState::Closed { .. }, false) => BreakerState::Closed { failures_in_a_row: 0 },
            (BreakerState::Closed { failures_in_a_row }, true) => {
                let failures_in_a_row = failures_in_a_row + 1;
                if failures_in_a_row >= self.config.breaker_failures {
                    tracing::warn!(provider = %name, failures_in_a_row, cooldown_seconds = self.cooldown.as_secs(),
                        "SMS provider keeps failing: taken out of rotation");
                    BreakerState::Open { since: now }
                } else {
                    BreakerState::Closed { failures_in_a_row }
                }
            }
            // Late outcomes of messages handed out before it opened, or sent because every
            // provider was out: the trial after the cool-down decides, not these.
            (open @ BreakerState::Open { .. }, _) => open,
            (BreakerState::HalfOpen { .. }, false) => {
                tracing::info!(provider = %name, "SMS provider recovered: back in rotation");
                BreakerState::Closed { failures_in_a_row: 0 }
            }
            (BreakerState::HalfOpen { .. }, true) => {
                tracing::warn!(provider = %name, "SMS provider failed its trial: out for another cool-down");
                BreakerState::Open { since: now }
            }
        };
        slot.publish_if_changed(before);
    }

    /// Every provider's weight, error rate and breaker, in configuration order.
    pub fn health(&self, now: Instant) -> Vec<MemberHealth> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.advance(&mut state, now);
        state
            .slots
            .iter()
            .map(|slot| MemberHealth {
                name: slot.member.name.clone(),
                weight: slot.member.weight,
                effective_weight: self.effective_weight(slot),
                error_rate: self.error_rate(slot),
                breaker: slot.breaker.kind(),
            })
            .collect()
    }

    /// Forgets old outcomes and moves breakers whose cool-down is over to half-open.
    fn advance(&self, state: &mut State, now: Instant) {
        for slot in &mut state.slots {
            let before = slot.breaker.kind();
            while slot
                .recent
                .front()
                .is_some_and(|&(at, _)| now.saturating_duration_since(at) > self.window_age)
            {
                slot.recent.pop_front();
            }
            slot.breaker = match slot.breaker {
                BreakerState::Open { since } if now.saturating_duration_since(since) >= self.cooldown => {
                    BreakerState::HalfOpen { since, trial: None }
                }
                // A trial whose outcome never came (the worker stopped mid-send) is handed out again.
                BreakerState::HalfOpen { since, trial: Some(started) }
                    if now.saturating_duration_since(started) >= self.cooldown =>
                {
                    BreakerState::HalfOpen { since, trial: None }
                }
                unchanged => unchanged,
            };
            slot.publish_if_changed(before);
        }
    }

    fn error_rate(&self, slot: &Slot) -> f64 {
        let failures = slot.recent.iter().filter(|&&(_, failed)| failed).count();
        failures as f64 / slot.recent.len().max(self.config.min_samples).max(1) as f64
    }

    fn effective_weight(&self, slot: &Slot) -> f64 {
        let share = (1.0 - self.error_rate(slot)).max(self.config.weight_floor);
        f64::from(slot.member.weight) * share
    }
}

impl BreakerState {
    fn kind(&self) -> Breaker {
        match self {
            BreakerState::Closed { .. } => Breaker::Closed,
            BreakerState::Open { .. } => Breaker::Open,
            BreakerState::HalfOpen { .. } => Breaker::HalfOpen,
        }
    }
}

impl Slot {
    /// Sets the breaker gauge when the breaker moved from `before`.
    fn publish_if_changed(&self, before: Breaker) {
        let now = self.breaker.kind();
        if now != before {
            crate::observe::metrics::sms_breaker(&self.member.name, now);
        }
    }

    /// When the breaker opened, unless it is closed.
    fn opened_at(&self) -> Option<Instant> {
        match self.breaker {
            BreakerState::Closed { .. } => None,
            BreakerState::Open { since } | BreakerState::HalfOpen { since, .. } => Some(since),
        }
    }
}
