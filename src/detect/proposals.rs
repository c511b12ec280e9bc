//! What happens to a proposal: staff confirm or dismiss it, or kabar applies it itself once
//! `auto_apply_after` has passed. Applying makes the change exactly as `kabar state set` does (the
//! planner then tells applicants as for a manual change), for the services and offices whose state
//! differs; when none differs the proposal is dropped.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Proposal, ProposalStatus};
use crate::audit::Origin;
use crate::domain::{OfficeCode, Service, ServiceState};
use crate::state::{check_state_change, StateChange, StateError, Target};
use crate::store::{Store, StoreError};

/// Why a proposal could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    #[error("no proposal {0}; `kabar state proposals --all` lists them")]
    NotFound(i64),
    #[error("proposal {id} is already {status}; only an open proposal can be confirmed or dismissed")]
    NotOpen { id: i64, status: &'static str },
    #[error("proposal {id} cannot be applied: {source}")]
    State {
        id: i64,
        #[source]
        source: StateError,
    },
    #[error("proposal {id}: its offices {offices:?} are not a target: {source}")]
    Offices {
        id: i64,
        offices: String,
        #[source]
        source: crate::domain::ParseError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What deciding a proposal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// Applied: this many (office, service) states changed.
    Applied(usize),
    /// Nothing differed: dropped.
    Dropped,
    Dismissed,
    /// Someone else decided it first.
    AlreadyDecided,
}

/// Confirms an open proposal for `origin` (a person): applies it now.
pub async fn confirm(
    store: &Store,
    id: i64,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Decided, ProposalError> {
    let proposal = open_proposal(store, id).await?;
    apply(store, &proposal, origin, now).await
}

/// Dismisses an open proposal: nothing changes, and the same outage proposes nothing again (a new
/// proposal needs the system to come back and fail again).
pub async fn dismiss(
    store: &Store,
    id: i64,
    note: Option<&str>,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Decided, ProposalError> {
    open_proposal(store, id).await?;
    Ok(if store.decide_proposal(id, ProposalStatus::Dismissed, note, origin, now).await? {
        Decided::Dismissed
    } else {
        Decided::AlreadyDecided
    })
}

async fn open_proposal(store: &Store, id: i64) -> Result<Proposal, ProposalError> {
    let proposal = store.detect_proposal(id).await?.ok_or(ProposalError::NotFound(id))?;
    if proposal.status != ProposalStatus::Open {
        return Err(ProposalError::NotOpen { id, status: proposal.status.as_str() });
    }
    Ok(proposal)
}

/// Applies `proposal` as `origin`: the services and offices whose state differs change, in one
/// transaction with their audit rows; then the proposal is closed. Applying twice is harmless:
/// the second finds nothing differing.
pub async fn apply(
    store: &Store,
    proposal: &Proposal,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Decided, ProposalError> {
    let state = proposal.kind.state();
    let target = target_of(proposal)?;
    let current = current_states(store).await?;
    let mut records = Vec::new();
    for &service in &proposal.services {
        let change = StateChange {
            target: target.clone(),
            service,
            state,
            reason: (state != ServiceState::Operational).then(|| proposal.reason.clone()),
            until: None,
            actor: origin.actor.to_string(),
            at: now,
        };
        let checked = check_state_change(store, &change)
            .await
            .map_err(|source| ProposalError::State { id: proposal.id, source })?;
        records.extend(checked.into_iter().filter(|record| {
            let now_state = current.get(&(record.office.clone(), record.service)).copied();
            now_state.unwrap_or(ServiceState::Operational) != record.state
        }));
    }
    if records.is_empty() {
        let note = "the states already matched";
        return Ok(
            if store.decide_proposal(proposal.id, ProposalStatus::Dropped, Some(note), origin, now).await? {
                Decided::Dropped
            } else {
                Decided::AlreadyDecided
            },
        );
    }
    let changed = store.apply_state_changes_by(&records, Some(origin)).await?;
    store.decide_proposal(proposal.id, ProposalStatus::Applied, None, origin, now).await?;
    Ok(Decided::Applied(changed.iter().filter(|applied| applied.changed).count()))
}

/// Whether every state `proposal` would set is already set (nothing to propose).
pub async fn already_matches(store: &Store, proposal: &Proposal) -> Result<bool, ProposalError> {
    let state = proposal.kind.state();
    let offices = store.office_directory().await?;
    let target = target_of(proposal)?;
    let current = current_states(store).await?;
    for &service in &proposal.services {
        let codes = crate::state::resolve_target(&target, service, &offices)
            .map_err(|source| ProposalError::State { id: proposal.id, source })?;
        let differs = codes
            .into_iter()
            .any(|code| current.get(&(code, service)).copied().unwrap_or(ServiceState::Operational) != state);
        if differs {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The offices a proposal would change, over all its services (for scope checks).
pub async fn offices_of(store: &Store, proposal: &Proposal) -> Result<Vec<OfficeCode>, ProposalError> {
    let target = target_of(proposal)?;
    let offices = store.office_directory().await?;
    let mut codes = Vec::new();
    for &service in &proposal.services {
        let resolved = crate::state::resolve_target(&target, service, &offices)
            .map_err(|source| ProposalError::State { id: proposal.id, source })?;
        codes.extend(resolved.into_iter().filter(|code| !codes.contains(code)).collect::<Vec<_>>());
    }
    Ok(codes)
}

fn target_of(proposal: &Proposal) -> Result<Target, ProposalError> {
    proposal.offices.parse::<Target>().map_err(|source| ProposalError::Offices {
        id: proposal.id,
        offices: proposal.offices.clone(),
        source,
    })
}

async fn current_states(store: &Store) -> Result<HashMap<(OfficeCode, Service), ServiceState>, StoreError> {
    Ok(store
        .service_board(None)
        .await?
        .into_iter()
        .map(|row| ((row.office, row.service), row.state))
        .collect())
}
