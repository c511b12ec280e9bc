//! Incidents as the public sees them, derived from the change history alone: an office's incident
//! runs from the first service that stops to the last that comes back, and each change in between
//! is an update of its timeline. A national incident is a service stopped at every office at
//! once (one `state set all`), until it is back everywhere.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::{ChangeGroup, HISTORY_DAYS};
use crate::domain::{OfficeCode, Service, ServiceState};
use crate::store::{OfficeDirectory, PublicChange};

/// One update of an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The change's id (the first of a national change).
    pub id: i64,
    pub service: Service,
    pub to: ServiceState,
    pub reason: Option<String>,
    pub expected_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
    /// How many offices the update concerns (1 for an office's own incident).
    pub offices: usize,
}

/// An office's or the nation's incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Stable: `PLG-17` (office and the id of the change that opened it), or `national-17`.
    pub id: String,
    /// `None` for a national incident.
    pub office: Option<OfficeCode>,
    /// Every service the incident stopped or slowed, in catalogue order.
    pub services: Vec<Service>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Newest first.
    pub updates: Vec<Update>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// The worst state any update of the incident reached, while it was open.
    pub fn worst(&self) -> ServiceState {
        self.updates.iter().map(|update| update.to).max().unwrap_or(ServiceState::Degraded)
    }

    /// When the last update was made.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updates.first().map_or(self.opened_at, |update| update.at)
    }
}

fn update(change: &PublicChange, offices: usize) -> Update {
    Update {
        id: change.id,
        service: change.service,
        to: change.to,
        reason: change.reason.clone(),
        expected_at: change.expected_at,
        at: change.at,
        offices,
    }
}

/// Keeps open incidents and those resolved within the history window, open first, newest first.
fn recent(mut incidents: Vec<Incident>, now: DateTime<Utc>) -> Vec<Incident> {
    let horizon = now - Duration::days(HISTORY_DAYS as i64);
    incidents.retain(|incident| incident.resolved_at.is_none_or(|at| at >= horizon));
    for incident in &mut incidents {
        incident.updates.reverse();
    }
    incidents.sort_by(|a, b| (a.is_open(), a.opened_at).cmp(&(b.is_open(), b.opened_at)).reverse());
    incidents
}

/// The incidents of one office from its changes, oldest first.
pub fn of_office(office: &OfficeCode, changes: &[&PublicChange], now: DateTime<Utc>) -> Vec<Incident> {
    let mut down: BTreeMap<Service, ServiceState> = BTreeMap::new();
    let mut done = Vec::new();
    let mut open: Option<Incident> = None;
    for change in changes {
        if change.to == ServiceState::Operational {
            down.remove(&change.service);
        } else {
            down.insert(change.service, change.to);
        }
        let incident = open.get_or_insert_with(|| Incident {
            id: format!("{}-{}", office.as_str(), change.id),
            office: Some(office.clone()),
            services: Vec::new(),
            opened_at: change.at,
            resolved_at: None,
            updates: Vec::new(),
        });
        incident.updates.push(update(change, 1));
        if change.to != ServiceState::Operational && !incident.services.contains(&change.service) {
            incident.services.push(change.service);
            incident.services.sort();
        }
        if down.is_empty() {
            let mut closed = open.take().expect("just opened");
            if closed.services.is_empty() {
                // A change to operational of a service that was never down opens nothing.
                continue;
            }
            closed.resolved_at = Some(change.at);
            done.push(closed);
        }
    }
    done.extend(open);
    recent(done, now)
}

/// Consecutive changes recorded together (same instant, service, state and reason): one
/// `state set` for several offices. Oldest first.
pub fn groups(directory: &OfficeDirectory, changes: &[PublicChange]) -> Vec<ChangeGroup> {
    let mut groups: Vec<ChangeGroup> = Vec::new();
    for change in changes {
        match groups.last_mut() {
            Some(group)
                if group.at == change.at
                    && group.service == change.service
                    && group.to == change.to
                    && group.reason == change.reason
                    && !group.offices.contains(&change.office) =>
            {
                group.offices.push(change.office.clone())
            }
            _ => groups.push(ChangeGroup {
                id: change.id,
                service: change.service,
                to: change.to,
                reason: change.reason.clone(),
                at: change.at,
                offices: vec![change.office.clone()],
                national: false,
            }),
        }
    }
    let mut runs: HashMap<Service, usize> = HashMap::new();
    for service in Service::ALL {
        runs.insert(*service, directory.offices().filter(|o| o.tpi || !service.needs_checkpoint()).count());
    }
    for group in &mut groups {
        let every = runs.get(&group.service).copied().unwrap_or(0);
        group.national = every >= 2 && group.offices.len() >= every;
    }
    groups
}

/// National incidents: a national change that stops a service opens one (per service); later
/// national changes of that service are its updates; it resolves with a national restoration, or
/// once no office has the service down any more.
pub fn national(groups: &[ChangeGroup], changes: &[PublicChange], now: DateTime<Utc>) -> Vec<Incident> {
    let mut open: BTreeMap<Service, Incident> = BTreeMap::new();
    let mut done = Vec::new();
    let first_change: HashMap<i64, &PublicChange> = changes.iter().map(|c| (c.id, c)).collect();
    for group in groups.iter().filter(|group| group.national) {
        let Some(first) = first_change.get(&group.id) else { continue };
        let restored = group.to == ServiceState::Operational;
        if restored && !open.contains_key(&group.service) {
            continue;
        }
        let incident = open.entry(group.service).or_insert_with(|| Incident {
            id: format!("national-{}", group.id),
            office: None,
            services: vec![group.service],
            opened_at: group.at,
            resolved_at: None,
            updates: Vec::new(),
        });
        incident.updates.push(update(first, group.offices.len()));
        if restored {
            let mut closed = open.remove(&group.service).expect("present");
            closed.resolved_at = Some(group.at);
            done.push(closed);
        }
    }
    // Restored office by office: resolved when the last office's service came back.
    let mut down: BTreeMap<(Service, &OfficeCode), ServiceState> = BTreeMap::new();
    let mut last_change: HashMap<Service, DateTime<Utc>> = HashMap::new();
    for change in changes {
        down.insert((change.service, &change.office), change.to);
        last_change.insert(change.service, change.at);
    }
    let still_down: BTreeSet<Service> = down
        .iter()
        .filter(|(_, state)| **state != ServiceState::Operational)
        .map(|((service, _), _)| *service)
        .collect();
    for (service, mut incident) in open {
        if !still_down.contains(&service) {
            incident.resolved_at = last_change.get(&service).copied();
        }
        done.push(incident);
    }
    recent(done, now)
}
