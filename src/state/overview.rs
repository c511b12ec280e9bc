//! The offices a staff member sees, each with every service's state and its open incident: what
//! the console's board and national view show. One read of the board and of the open incidents,
//! however many offices.

use chrono::{DateTime, Utc};

use crate::domain::{Office, Service, ServiceState};
use crate::staff::Scope;
use crate::store::{AppliedChange, StateChangeRecord, Store, StoreError};

/// One service of one office as it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStatus {
    pub service: Service,
    pub state: ServiceState,
    pub reason: Option<String>,
    /// `None` for a service that has always been operational.
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// An office in scope, its services (those it runs), and since when an incident is open.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeStatus {
    pub office: Office,
    pub services: Vec<ServiceStatus>,
    pub incident_since: Option<DateTime<Utc>>,
    /// The open incident's id, for its page.
    pub incident_id: Option<i64>,
}

/// Every office `scope` covers, by region then code.
pub async fn overview(store: &Store, scope: &Scope) -> Result<Vec<OfficeStatus>, StoreError> {
    let offices = store.office_directory().await?;
    let board = store.service_board(None).await?;
    let incidents = store.open_incidents().await?;
    let mut out: Vec<OfficeStatus> = offices
        .offices()
        .filter(|office| scope.covers(office))
        .map(|office| OfficeStatus {
            services: Service::ALL
                .iter()
                .filter(|service| office.tpi || !service.needs_checkpoint())
                .map(|&service| {
                    match board.iter().find(|row| row.office == office.code && row.service == service) {
                        Some(row) => ServiceStatus {
                            service,
                            state: row.state,
                            reason: row.reason.clone(),
                            since: Some(row.changed_at),
                            until: row.expected_at,
                        },
                        None => ServiceStatus {
                            service,
                            state: ServiceState::Operational,
                            reason: None,
                            since: None,
                            until: None,
                        },
                    }
                })
                .collect(),
            incident_since: incidents
                .iter()
                .find(|incident| incident.office == office.code)
                .map(|incident| incident.opened_at),
            incident_id: incidents
                .iter()
                .find(|incident| incident.office == office.code)
                .map(|incident| incident.id),
            office: office.clone(),
        })
        .collect();
    out.sort_by(|a, b| (&a.office.region, &a.office.code).cmp(&(&b.office.region, &b.office.code)));
    Ok(out)
}

/// What recording `records` would do, office by office, from the board as it stands: a dry run's
/// answer (the records come from [`super::check_state_change`]).
pub async fn preview_change(
    store: &Store,
    records: &[StateChangeRecord],
) -> Result<Vec<AppliedChange>, StoreError> {
    let board = store.service_board(None).await?;
    Ok(records
        .iter()
        .map(|record| {
            let current =
                board.iter().find(|row| row.office == record.office && row.service == record.service);
            let from = current.map_or(ServiceState::Operational, |row| row.state);
            let same = match current {
                Some(row) => {
                    row.state == record.state
                        && row.reason == record.reason
                        && row.expected_at == record.expected_at
                }
                None => record.state == ServiceState::Operational,
            };
            AppliedChange {
                office: record.office.clone(),
                service: record.service,
                from,
                to: record.state,
                changed: !same,
                updated: !same && from == record.state,
                expected_at: record.expected_at,
                change_id: None,
            }
        })
        .collect())
}
