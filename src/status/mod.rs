//! The public view of kabar: what works at each office today, for anyone, without a login.
//!
//! A [`Snapshot`] is built from the offices and the history of state changes (never from
//! bookings, applicants, messages or the actor of a change, so it holds no personal data), and
//! the public pages, feeds and JSON are rendered from it alone. [`incidents`] turns the change
//! history into incidents with their timeline, [`history`] into the 90-day bars, [`words`] says
//! what each state means in plain language, [`feed`], [`summary`] and [`badge`] are the
//! machine-readable forms.

pub mod badge;
pub mod feed;
pub mod history;
pub mod incidents;
pub mod subscriptions;
pub mod summary;
pub mod words;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::{Office, OfficeCode, Service, ServiceState};
use crate::store::{OfficeDirectory, PublicChange, Store, StoreError, Topic};

pub use history::{DayRecord, HISTORY_DAYS};
pub use incidents::{Incident, Update};

/// How many entries a feed carries, newest first.
pub const FEED_ENTRIES: usize = 50;

/// An office's state in one phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    Normal,
    /// Some service degraded or unavailable, applicants are still served.
    Disrupted,
    /// Biometrics and interviews are unavailable: the office cannot serve its appointments.
    Unavailable,
}

/// One service of one office now, and its last 90 days.
#[derive(Debug, Clone)]
pub struct ServiceStatus {
    pub service: Service,
    pub state: ServiceState,
    pub reason: Option<String>,
    /// When the current state began; `None` when the service has never changed.
    pub since: Option<DateTime<Utc>>,
    pub expected_at: Option<DateTime<Utc>>,
    /// Oldest first, [`HISTORY_DAYS`] days ending today (office local dates).
    pub history: Vec<DayRecord>,
    /// Automatic detection proposes a change of this service here, not yet confirmed by staff.
    pub detected: Option<crate::detect::ProposalKind>,
}

/// One office now.
#[derive(Debug, Clone)]
pub struct OfficeStatus {
    pub office: Office,
    pub overall: Overall,
    /// The services the office runs, in catalogue order.
    pub services: Vec<ServiceStatus>,
    /// Open incidents first, then those resolved in the last 90 days; newest first.
    pub incidents: Vec<Incident>,
    /// The office's changes, newest first, at most [`FEED_ENTRIES`].
    pub changes: Vec<PublicChange>,
    /// The newest change of the office, if any.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Changes recorded together (one `state set`): one entry in the national feed.
#[derive(Debug, Clone)]
pub struct ChangeGroup {
    /// The first change's id, the group's stable id.
    pub id: i64,
    pub service: Service,
    pub to: ServiceState,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    pub offices: Vec<OfficeCode>,
    /// Every office that runs the service (at least two).
    pub national: bool,
}

/// Everything the public pages show, as of one version of the change signal.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The change signal's version the snapshot was loaded at.
    pub version: i64,
    pub built_at: DateTime<Utc>,
    /// The newest change anywhere (`built_at` when there is none).
    pub updated_at: DateTime<Utc>,
    /// Offices by region, then name.
    pub offices: Vec<OfficeStatus>,
    by_code: HashMap<OfficeCode, usize>,
    /// National incidents, open first, newest first.
    pub national: Vec<Incident>,
    /// The national feed, newest first, at most [`FEED_ENTRIES`].
    pub groups: Vec<ChangeGroup>,
}

impl Snapshot {
    /// Loads the offices and the change history at the change signal's current version.
    pub async fn load(store: &Store, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        // The version first: a change committed after it is read either now or at the next
        // version, never lost.
        let version = store.change_version(Topic::Status).await?;
        let directory = store.office_directory().await?;
        let changes = store.public_changes().await?;
        let mut snapshot = Snapshot::build(version, &directory, &changes, now);
        snapshot.mark_detected(store).await?;
        Ok(snapshot)
    }

    /// Marks the services an open proposal of automatic detection is about: the pages say
    /// "detected automatically, being confirmed by staff" until staff (or the wait) decide.
    async fn mark_detected(&mut self, store: &Store) -> Result<(), StoreError> {
        for proposal in store.detect_proposals(false).await? {
            let codes = match crate::detect::proposals::offices_of(store, &proposal).await {
                Ok(codes) => codes,
                Err(crate::detect::ProposalError::Store(err)) => return Err(err),
                // A proposal for offices no longer in the directory shows nowhere.
                Err(_) => continue,
            };
            for code in codes {
                let Some(&at) = self.by_code.get(&code) else { continue };
                for service in &mut self.offices[at].services {
                    if proposal.services.contains(&service.service) {
                        service.detected = Some(proposal.kind);
                    }
                }
            }
        }
        Ok(())
    }

    /// The snapshot of these offices and changes (oldest first) at `now`.
    pub fn build(
        version: i64,
        directory: &OfficeDirectory,
        changes: &[PublicChange],
        now: DateTime<Utc>,
    ) -> Snapshot {
        let mut per_office: HashMap<&OfficeCode, Vec<&PublicChange>> = HashMap::new();
        for change in changes {
            per_office.entry(&change.office).or_default().push(change);
        }
        let mut offices: Vec<OfficeStatus> = directory
            .offices()
            .map(|office| {
                let own = per_office.get(&office.code).map(Vec::as_slice).unwrap_or_default();
                office_status(office, own, now)
            })
            .collect();
        offices.sort_by(|a, b| {
            (a.office.region.as_str(), a.office.name.as_str())
                .cmp(&(b.office.region.as_str(), b.office.name.as_str()))
        });
        let by_code =
            offices.iter().enumerate().map(|(at, status)| (status.office.code.clone(), at)).collect();
        let groups = incidents::groups(directory, changes);
        let national = incidents::national(&groups, changes, now);
        let mut feed: Vec<ChangeGroup> = groups.into_iter().rev().take(FEED_ENTRIES).collect();
        feed.shrink_to_fit();
        Snapshot {
            version,
            built_at: now,
            updated_at: changes.last().map_or(now, |change| change.at),
            offices,
            by_code,
            national,
            groups: feed,
        }
    }

    pub fn office(&self, code: &OfficeCode) -> Option<&OfficeStatus> {
        self.by_code.get(code).map(|at| &self.offices[*at])
    }
}

fn office_status(office: &Office, changes: &[&PublicChange], now: DateTime<Utc>) -> OfficeStatus {
    let services: Vec<ServiceStatus> = Service::ALL
        .iter()
        .filter(|service| office.tpi || !service.needs_checkpoint())
        .map(|service| {
            let own: Vec<&PublicChange> = changes.iter().copied().filter(|c| c.service == *service).collect();
            let last = own.last();
            // A reason and an expected restoration belong to a disruption; once back, neither shows.
            let disruption = last.filter(|c| c.to != ServiceState::Operational);
            ServiceStatus {
                service: *service,
                state: last.map_or(ServiceState::Operational, |c| c.to),
                reason: disruption.and_then(|c| c.reason.clone()),
                since: last.map(|c| c.at),
                expected_at: disruption.and_then(|c| c.expected_at),
                history: history::days(&own, office.timezone, now),
                detected: None,
            }
        })
        .collect();
    let overall = if services.iter().all(|s| s.state == ServiceState::Operational) {
        Overall::Normal
    } else if services
        .iter()
        .any(|s| s.service == Service::Biometrics && s.state == ServiceState::Unavailable)
    {
        Overall::Unavailable
    } else {
        Overall::Disrupted
    };
    OfficeStatus {
        office: office.clone(),
        overall,
        services,
        incidents: incidents::of_office(&office.code, changes, now),
        changes: changes.iter().rev().take(FEED_ENTRIES).map(|c| (*c).clone()).collect(),
        updated_at: changes.last().map(|c| c.at),
    }
}
