//! Automatic detection's tables: each system's probe tally, the proposals a detected outage or
//! recovery makes, and the lease that lets one process probe at a time. Proposal decisions append
//! their audit row in the same transaction.

use chrono::{DateTime, Utc};

use super::{epoch, from_epoch, on_reader, on_writer, parse_stored, AuditLog, Store, StoreError, WritePool};
use crate::audit::Origin;
use crate::detect::probe::ProbeOutcome;
use crate::detect::{
    Health, NewProposal, Proposal, ProposalKind, ProposalStatus, SystemHealth, Tally, Transition,
};

const SYSTEM_COLUMNS: &str = "name, health, failures_in_row, successes_in_row, recent, probes, failures, \
     last_at, last_ok, last_detail, last_failure, next_at, changed_at, episode";
const PROPOSAL_COLUMNS: &str = "id, system, episode, kind, offices, services, reason, detail, status, \
     created_at, apply_at, decided_at, decided_by, note";

type SystemRow = (
    String,
    String,
    i64,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<bool>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
);
type ProposalRow = (
    i64,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn system_health(row: SystemRow) -> Result<SystemHealth, StoreError> {
    let (
        name,
        health,
        failures_in_row,
        successes_in_row,
        recent,
        probes,
        failures,
        last_at,
        last_ok,
        last_detail,
        last_failure,
        next_at,
        changed_at,
        episode,
    ) = row;
    let counter =
        |value: i64| u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("detect count {value}")));
    Ok(SystemHealth {
        health: Health::parse(&health)
            .ok_or_else(|| StoreError::Corrupt(format!("detect_systems.health {health:?}")))?,
        name,
        failures_in_row: counter(failures_in_row)?,
        successes_in_row: counter(successes_in_row)?,
        recent,
        probes,
        failures,
        last_at: last_at.map(from_epoch).transpose()?,
        last_ok,
        last_detail,
        last_failure,
        next_at: next_at.map(from_epoch).transpose()?,
        changed_at: changed_at.map(from_epoch).transpose()?,
        episode,
    })
}

fn proposal(row: ProposalRow) -> Result<Proposal, StoreError> {
    let (
        id,
        system,
        episode,
        kind,
        offices,
        services,
        reason,
        detail,
        status,
        created_at,
        apply_at,
        decided_at,
        decided_by,
        note,
    ) = row;
    Ok(Proposal {
        id,
        system,
        episode,
        kind: parse_stored("detect_proposals.kind", &kind)?,
        offices,
        services: services
            .split(',')
            .map(|service| parse_stored("detect_proposals.services", service))
            .collect::<Result<_, _>>()?,
        reason,
        detail,
        status: parse_stored("detect_proposals.status", &status)?,
        created_at: from_epoch(created_at)?,
        apply_at: apply_at.map(from_epoch).transpose()?,
        decided_at: decided_at.map(from_epoch).transpose()?,
        decided_by,
        note,
    })
}

/// What recording a probe did besides the tally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeRecorded {
    /// The proposal it opened.
    pub proposed: Option<i64>,
    /// The outage proposal it dropped because the system came back before anyone applied it.
    pub dropped: Option<i64>,
}

impl Store {
    /// Takes or renews the prober's lease for `holder` until `until`; false while another live
    /// holder has it.
    pub async fn take_detect_lease(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let taken = on_writer!(self, pool => {
            sqlx::query(
                "UPDATE detect_lease SET holder = $1, expires_at = $2
                 WHERE id = 1 AND (holder = $1 OR expires_at <= $3)",
            )
            .bind(holder)
            .bind(epoch(until))
            .bind(epoch(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    /// Gives the lease up at shutdown, so another process takes over at once.
    pub async fn release_detect_lease(&self, holder: &str) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            sqlx::query("UPDATE detect_lease SET expires_at = 0 WHERE id = 1 AND holder = $1")
                .bind(holder)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Every probed system, by name.
    pub async fn detect_systems(&self) -> Result<Vec<SystemHealth>, StoreError> {
        let rows: Vec<SystemRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {SYSTEM_COLUMNS} FROM detect_systems ORDER BY name"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(system_health).collect()
    }

    /// Records one probe of `system`: its new `tally` and what it saw. When the probe made the
    /// system go down, `proposal` is opened (once per outage, whichever process records it);
    /// when it came back, the outage's proposal is dropped if still open, and `proposal` (the
    /// recovery) is opened only if the outage was applied. One transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_probe(
        &self,
        system: &str,
        tally: &Tally,
        outcome: &ProbeOutcome,
        transition: Option<Transition>,
        proposal: Option<&NewProposal>,
        now: DateTime<Utc>,
        next_at: DateTime<Utc>,
    ) -> Result<ProbeRecorded, StoreError> {
        let detector = Origin::of(crate::audit::Actor::system(crate::detect::DETECTOR));
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO detect_systems (name, health, failures_in_row, successes_in_row, recent, probes,
                                             failures, last_at, last_ok, last_detail, last_failure, next_at,
                                             changed_at, episode)
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (name) DO UPDATE SET
                     health = excluded.health, failures_in_row = excluded.failures_in_row,
                     successes_in_row = excluded.successes_in_row, recent = excluded.recent,
                     probes = detect_systems.probes + 1,
                     failures = detect_systems.failures + excluded.failures,
                     last_at = excluded.last_at, last_ok = excluded.last_ok,
                     last_detail = excluded.last_detail,
                     last_failure = COALESCE(excluded.last_failure, detect_systems.last_failure),
                     next_at = excluded.next_at,
                     changed_at = COALESCE(excluded.changed_at, detect_systems.changed_at),
                     episode = excluded.episode",
            )
            .bind(system)
            .bind(tally.health.as_str())
            .bind(i64::from(tally.failures_in_row))
            .bind(i64::from(tally.successes_in_row))
            .bind(tally.recent_text())
            .bind(i64::from(!outcome.ok))
            .bind(epoch(now))
            .bind(outcome.ok)
            .bind(&outcome.detail)
            .bind((!outcome.ok).then_some(&outcome.detail))
            .bind(epoch(next_at))
            .bind(transition.map(|_| epoch(now)))
            .bind(tally.episode)
            .execute(&mut *tx)
            .await?;
            let mut recorded = ProbeRecorded::default();
            if transition == Some(Transition::CameBack) {
                let dropped: Option<(i64,)> = sqlx::query_as(
                    "UPDATE detect_proposals
                     SET status = 'dropped', decided_at = $3, decided_by = $4,
                         note = 'the system came back before the outage was applied'
                     WHERE system = $1 AND episode = $2 AND kind = 'outage' AND status = 'open'
                     RETURNING id",
                )
                .bind(system)
                .bind(tally.episode)
                .bind(epoch(now))
                .bind(detector.actor.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                recorded.dropped = dropped.map(|(id,)| id);
            }
            let wanted = match (transition, proposal) {
                (Some(Transition::WentDown), Some(_)) => true,
                (Some(Transition::CameBack), Some(_)) if recorded.dropped.is_none() => {
                    let status: Option<(String,)> = sqlx::query_as(
                        "SELECT status FROM detect_proposals
                         WHERE system = $1 AND episode = $2 AND kind = 'outage'",
                    )
                    .bind(system)
                    .bind(tally.episode)
                    .fetch_optional(&mut *tx)
                    .await?;
                    status.is_some_and(|(status,)| status == ProposalStatus::Applied.as_str())
                }
                _ => false,
            };
            if let Some(new) = proposal.filter(|_| wanted) {
                let services: Vec<&str> = new.services.iter().map(|service| service.as_str()).collect();
                let id: Option<(i64,)> = sqlx::query_as(
                    "INSERT INTO detect_proposals (system, episode, kind, offices, services, reason, detail,
                                                   created_at, apply_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (system, episode, kind) DO NOTHING
                     RETURNING id",
                )
                .bind(system)
                .bind(tally.episode)
                .bind(new.kind.as_str())
                .bind(&new.offices)
                .bind(services.join(","))
                .bind(&new.reason)
                .bind(&new.detail)
                .bind(epoch(now))
                .bind(new.apply_at.map(epoch))
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id,)) = id {
                    let entry = detector
                        .entry(now, "proposal.open", format!("proposal:{id}"))
                        .with_summary(serde_json::json!({
                            "system": system, "kind": new.kind, "offices": new.offices,
                            "services": services, "detail": new.detail,
                        }));
                    tx.append_audit(entry).await?;
                    recorded.proposed = Some(id);
                }
            }
            tx.commit().await?;
            Ok(recorded)
        })
    }

    /// Proposals, newest first; only the open ones unless `all`.
    pub async fn detect_proposals(&self, all: bool) -> Result<Vec<Proposal>, StoreError> {
        let rows: Vec<ProposalRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {PROPOSAL_COLUMNS} FROM detect_proposals
                 WHERE $1 OR status = 'open' ORDER BY id DESC LIMIT 200"
            ))
            .bind(all)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(proposal).collect()
    }

    pub async fn detect_proposal(&self, id: i64) -> Result<Option<Proposal>, StoreError> {
        let row: Option<ProposalRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {PROPOSAL_COLUMNS} FROM detect_proposals WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(proposal).transpose()
    }

    /// Open proposals whose time to be applied without staff has come.
    pub async fn due_proposals(&self, now: DateTime<Utc>) -> Result<Vec<Proposal>, StoreError> {
        let rows: Vec<ProposalRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {PROPOSAL_COLUMNS} FROM detect_proposals
                 WHERE status = 'open' AND apply_at IS NOT NULL AND apply_at <= $1 ORDER BY id"
            ))
            .bind(epoch(now))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(proposal).collect()
    }

    /// Closes an open proposal as `status` with its audit row; false when it was not open (another
    /// process or person decided first).
    pub async fn decide_proposal(
        &self,
        id: i64,
        status: ProposalStatus,
        note: Option<&str>,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let action = match status {
            ProposalStatus::Applied => "proposal.apply",
            ProposalStatus::Dismissed => "proposal.dismiss",
            ProposalStatus::Dropped => "proposal.drop",
            ProposalStatus::Open => {
                return Err(StoreError::Corrupt("a decision cannot reopen a proposal".into()))
            }
        };
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let closed = sqlx::query(
                "UPDATE detect_proposals SET status = $2, decided_at = $3, decided_by = $4, note = $5
                 WHERE id = $1 AND status = 'open'",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(epoch(now))
            .bind(origin.actor.as_str())
            .bind(note)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if closed {
                let entry = origin
                    .entry(now, action, format!("proposal:{id}"))
                    .with_summary(serde_json::json!({"status": status, "note": note}));
                tx.append_audit(entry).await?;
            }
            tx.commit().await?;
            Ok(closed)
        })
    }
}

impl ProposalKind {
    /// The state a proposal of this kind sets.
    pub fn state(self) -> crate::domain::ServiceState {
        match self {
            ProposalKind::Outage => crate::domain::ServiceState::Unavailable,
            ProposalKind::Recovery => crate::domain::ServiceState::Operational,
        }
    }
}
