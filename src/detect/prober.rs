//! The prober of `kabar serve`: probes each system when it is due, keeps its tally in the store,
//! opens proposals on a change of health, and applies the proposals nobody acted on in time. One
//! process probes at a time: it holds the lease row, renewed at every step; when it stops or dies
//! another serve takes over within [`LEASE`]. [`Prober::step`] takes the time as an argument, so
//! tests drive it with their own clock.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::config::{AutoApply, System, Thresholds};
use super::proposals::{self, Decided, ProposalError};
use super::{probe, DetectConfig, NewProposal, ProposalKind, ProposalStatus, Tally, Transition, DETECTOR};
use crate::audit::{Actor, Origin};
use crate::store::{Store, StoreError, WorkerIdentity};

/// How long the lease outlives its holder's last step.
pub const LEASE: Duration = Duration::from_secs(15);
/// The longest the loop sleeps: the lease is renewed well within [`LEASE`].
const MAX_NAP: Duration = Duration::from_secs(5);

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// False when another process holds the lease: this one probed nothing.
    pub leader: bool,
    pub probed: Vec<String>,
    pub proposed: Vec<i64>,
    pub applied: Vec<i64>,
    pub dropped: Vec<i64>,
}

/// Probes the systems of `[detect]`.
pub struct Prober {
    store: Store,
    systems: Vec<System>,
    thresholds: Thresholds,
    auto_apply: AutoApply,
    client: reqwest::Client,
    holder: String,
}

impl Prober {
    /// A prober for `config` (already validated at start-up; checked again here).
    pub fn new(store: Store, config: &DetectConfig) -> Result<Prober, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("kabar-detect/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| format!("detect: cannot build the HTTP client: {err}"))?;
        let identity = WorkerIdentity::of_this_process();
        Ok(Prober {
            store,
            systems: config.checked_systems()?,
            thresholds: config.thresholds()?,
            auto_apply: config.auto_apply()?,
            client,
            holder: identity.id,
        })
    }

    pub fn has_systems(&self) -> bool {
        !self.systems.is_empty()
    }

    /// One round at `now`: renew the lease, probe the due systems (all at once), record what they
    /// saw, open, drop or apply proposals.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<StepReport, ProposalError> {
        let mut report = StepReport::default();
        let lease_end = now + chrono::Duration::from_std(LEASE).expect("the lease fits");
        if !self.store.take_detect_lease(&self.holder, now, lease_end).await? {
            return Ok(report);
        }
        report.leader = true;
        let known: HashMap<String, _> =
            self.store.detect_systems().await?.into_iter().map(|row| (row.name.clone(), row)).collect();
        let due: Vec<&System> = self
            .systems
            .iter()
            .filter(|system| {
                known.get(&system.name).and_then(|row| row.next_at).is_none_or(|next| next <= now)
            })
            .collect();
        let outcomes = futures::future::join_all(
            due.iter().map(|system| probe::run(&system.probe, system.timeout, &self.client)),
        )
        .await;
        let detector = Origin::of(Actor::system(DETECTOR));
        for (system, outcome) in due.into_iter().zip(outcomes) {
            let mut tally = known.get(&system.name).map(|row| row.tally()).unwrap_or_else(Tally::default);
            let transition = tally.record(outcome.ok, &self.thresholds);
            let proposal =
                transition.map(|transition| self.proposal(system, &tally, transition, &outcome, now));
            let next_at = now + chrono::Duration::from_std(system.interval).expect("the interval fits");
            let recorded = self
                .store
                .record_probe(&system.name, &tally, &outcome, transition, proposal.as_ref(), now, next_at)
                .await?;
            crate::observe::metrics::detect_system(&system.name, tally.health);
            if let Some(transition) = transition {
                tracing::warn!(system = %system.name, ?transition, detail = %outcome.detail, "system health changed");
            }
            report.probed.push(system.name.clone());
            report.dropped.extend(recorded.dropped);
            if let Some(id) = recorded.proposed {
                report.proposed.push(id);
                let Some(opened) = self.store.detect_proposal(id).await? else { continue };
                if proposals::already_matches(&self.store, &opened).await? {
                    let note = Some("the states already matched");
                    if self.store.decide_proposal(id, ProposalStatus::Dropped, note, &detector, now).await? {
                        report.dropped.push(id);
                    }
                }
            }
        }
        for due in self.store.due_proposals(now).await? {
            match proposals::apply(&self.store, &due, &detector, now).await {
                Ok(Decided::Applied(changed)) => {
                    tracing::warn!(proposal = due.id, system = %due.system, changed, "applied a proposal nobody decided");
                    report.applied.push(due.id);
                }
                Ok(Decided::Dropped) => report.dropped.push(due.id),
                Ok(_) => {}
                // A proposal the state change refuses (an office removed since) stays open for staff.
                Err(ProposalError::State { id, source }) => {
                    tracing::error!(proposal = id, error = %source, "cannot apply a proposal; it stays open");
                }
                Err(err) => return Err(err),
            }
        }
        Ok(report)
    }

    fn proposal(
        &self,
        system: &System,
        tally: &Tally,
        transition: Transition,
        outcome: &probe::ProbeOutcome,
        now: DateTime<Utc>,
    ) -> NewProposal {
        let (kind, detail) = match transition {
            Transition::WentDown => (
                ProposalKind::Outage,
                format!(
                    "{}: {} ({} failed probes in a row, {} of the last {})",
                    system.name,
                    outcome.detail,
                    tally.failures_in_row,
                    tally.recent.iter().filter(|ok| !**ok).count(),
                    tally.recent.len()
                ),
            ),
            Transition::CameBack => (
                ProposalKind::Recovery,
                format!(
                    "{}: answering again ({}, {} in a row)",
                    system.name, outcome.detail, tally.successes_in_row
                ),
            ),
        };
        NewProposal {
            kind,
            offices: system.offices.clone(),
            services: system.services.clone(),
            reason: system.reason.clone(),
            detail,
            apply_at: match self.auto_apply {
                AutoApply::After(wait) => Some(now + wait),
                AutoApply::Never => None,
            },
        }
    }

    /// The time of the next due probe, at most [`MAX_NAP`] away (the lease is renewed then).
    async fn next_wake(&self, now: DateTime<Utc>) -> Result<Duration, StoreError> {
        let next = self.store.detect_systems().await?.into_iter().filter_map(|row| row.next_at).min();
        let wait = next.map_or(MAX_NAP, |next| (next - now).to_std().unwrap_or(Duration::ZERO));
        Ok(wait.min(MAX_NAP))
    }

    /// Steps until `shutdown`, then gives the lease up. A failed step is logged and retried at the
    /// next wake-up: the database may be back by then.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(systems = self.systems.len(), "prober started");
        loop {
            let now = Utc::now();
            if let Err(err) = self.step(now).await {
                tracing::error!(error = %err, "probe step failed; retrying");
            }
            let nap = self.next_wake(now).await.unwrap_or(MAX_NAP).max(Duration::from_millis(200));
            tokio::select! {
                _ = tokio::time::sleep(nap) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        if let Err(err) = self.store.release_detect_lease(&self.holder).await {
            tracing::warn!(error = %err, "cannot release the prober lease; another serve takes over when it expires");
        }
    }
}
