//! `summary.json` in the shape of Atlassian Statuspage's public API (`/api/v2/summary.json`), so
//! existing aggregators and widgets read kabar unchanged: a page, its components with
//! `operational | degraded_performance | partial_outage | major_outage`, and the unresolved
//! incidents with their updates.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::words::{meaning, overall_label, service_title, state_label};
use super::{Incident, OfficeStatus, Overall, Snapshot};
use crate::domain::{Language, ServiceState};

#[derive(Debug, Serialize)]
pub struct Summary {
    pub page: Page,
    pub status: Status,
    pub components: Vec<Component>,
    pub incidents: Vec<IncidentJson>,
    pub scheduled_maintenances: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct Page {
    pub id: String,
    pub name: String,
    pub url: String,
    pub time_zone: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    /// `none`, `minor`, `major` or `critical`.
    pub indicator: &'static str,
    pub description: String,
}

#[derive(Debug, Serialize)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub position: usize,
    pub page_id: String,
    pub group_id: Option<String>,
    pub group: bool,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    pub start_date: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IncidentJson {
    pub id: String,
    pub name: String,
    /// `identified` while open, `resolved` after.
    pub status: &'static str,
    /// `minor` (degraded) or `major` (unavailable).
    pub impact: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub monitoring_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub shortlink: String,
    pub page_id: String,
    pub incident_updates: Vec<IncidentUpdate>,
}

#[derive(Debug, Serialize)]
pub struct IncidentUpdate {
    pub id: String,
    pub status: &'static str,
    pub body: String,
    pub incident_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub display_at: DateTime<Utc>,
    pub affected_components: Option<Vec<serde_json::Value>>,
    pub deliver_notifications: bool,
}

/// A service's state as a Statuspage component status.
pub fn component_status(state: ServiceState) -> &'static str {
    match state {
        ServiceState::Operational => "operational",
        ServiceState::Degraded => "degraded_performance",
        ServiceState::Unavailable => "major_outage",
    }
}

/// An office as a component of the national page: partial when some service is down.
fn office_component_status(office: &OfficeStatus) -> &'static str {
    match office.overall {
        Overall::Normal => "operational",
        Overall::Unavailable => "major_outage",
        Overall::Disrupted if office.services.iter().any(|s| s.state == ServiceState::Unavailable) => {
            "partial_outage"
        }
        Overall::Disrupted => "degraded_performance",
    }
}

fn indicator(statuses: &[&'static str]) -> &'static str {
    if statuses.iter().all(|status| *status == "operational") {
        "none"
    } else if statuses.contains(&"major_outage") {
        "major"
    } else {
        "minor"
    }
}

fn incident_json(
    incident: &Incident,
    name: String,
    page_id: &str,
    link: &str,
    language: Language,
) -> IncidentJson {
    let updates = incident
        .updates
        .iter()
        .map(|update| {
            let status = if update.to == ServiceState::Operational && incident.resolved_at == Some(update.at)
            {
                "resolved"
            } else {
                "identified"
            };
            let mut body = format!(
                "{}: {}. {}",
                service_title(update.service, language),
                state_label(update.to, language),
                meaning(update.service, update.to, language)
            );
            if let Some(reason) = &update.reason {
                body.push(' ');
                body.push_str(reason);
            }
            IncidentUpdate {
                id: format!("{}-{}", incident.id, update.id),
                status,
                body,
                incident_id: incident.id.clone(),
                created_at: update.at,
                updated_at: update.at,
                display_at: update.at,
                affected_components: None,
                deliver_notifications: true,
            }
        })
        .collect();
    IncidentJson {
        id: incident.id.clone(),
        name,
        status: if incident.is_open() { "identified" } else { "resolved" },
        impact: if incident.worst() == ServiceState::Unavailable { "major" } else { "minor" },
        created_at: incident.opened_at,
        updated_at: incident.updated_at(),
        started_at: incident.opened_at,
        monitoring_at: None,
        resolved_at: incident.resolved_at,
        shortlink: link.to_owned(),
        page_id: page_id.to_owned(),
        incident_updates: updates,
    }
}

fn incident_name(incident: &Incident, office: Option<&str>, language: Language) -> String {
    let services: Vec<&str> = incident.services.iter().map(|s| service_title(*s, language)).collect();
    let place = match (office, language) {
        (Some(name), _) => name.to_owned(),
        (None, Language::Id) => "Nasional".to_owned(),
        (None, Language::En) => "Nationwide".to_owned(),
    };
    format!("{place}: {}", services.join(", "))
}

/// The summary of one office: its services as components.
pub fn office_summary(office: &OfficeStatus, base: &str, language: Language) -> Summary {
    let page_id = format!("kabar-{}", office.office.code.as_str());
    let link = format!("{base}/status/{}", office.office.code.as_str());
    let components: Vec<Component> = office
        .services
        .iter()
        .enumerate()
        .map(|(position, service)| Component {
            id: format!("{}-{}", office.office.code.as_str(), service.service.as_str()),
            name: service_title(service.service, language).to_owned(),
            status: component_status(service.state),
            description: Some(meaning(service.service, service.state, language).to_owned()),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: service.since.unwrap_or(DateTime::UNIX_EPOCH),
            position: position + 1,
            page_id: page_id.clone(),
            group_id: None,
            group: false,
            showcase: false,
            only_show_if_degraded: false,
            start_date: None,
        })
        .collect();
    let statuses: Vec<&'static str> = components.iter().map(|c| c.status).collect();
    let incidents = office
        .incidents
        .iter()
        .filter(|incident| incident.is_open())
        .map(|incident| {
            let name = incident_name(incident, Some(&office.office.name), language);
            incident_json(incident, name, &page_id, &link, language)
        })
        .collect();
    Summary {
        page: Page {
            id: page_id.clone(),
            name: office.office.name.clone(),
            url: link.clone(),
            time_zone: office.office.timezone.name().to_owned(),
            updated_at: office.updated_at.unwrap_or(DateTime::UNIX_EPOCH),
        },
        status: Status {
            indicator: indicator(&statuses),
            description: overall_label(office.overall, language).to_owned(),
        },
        components,
        incidents,
        scheduled_maintenances: Vec::new(),
    }
}

/// The national summary: each office a component; the open national and office incidents.
pub fn national_summary(snapshot: &Snapshot, base: &str, language: Language) -> Summary {
    let page_id = "kabar".to_owned();
    let link = format!("{base}/status");
    let components: Vec<Component> = snapshot
        .offices
        .iter()
        .enumerate()
        .map(|(position, office)| Component {
            id: office.office.code.as_str().to_owned(),
            name: office.office.name.clone(),
            status: office_component_status(office),
            description: Some(overall_label(office.overall, language).to_owned()),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: office.updated_at.unwrap_or(DateTime::UNIX_EPOCH),
            position: position + 1,
            page_id: page_id.clone(),
            group_id: None,
            group: false,
            showcase: false,
            only_show_if_degraded: false,
            start_date: None,
        })
        .collect();
    let statuses: Vec<&'static str> = components.iter().map(|c| c.status).collect();
    let mut incidents: Vec<IncidentJson> = snapshot
        .national
        .iter()
        .filter(|incident| incident.is_open())
        .map(|incident| {
            incident_json(incident, incident_name(incident, None, language), &page_id, &link, language)
        })
        .collect();
    for office in &snapshot.offices {
        let office_link = format!("{link}/{}", office.office.code.as_str());
        incidents.extend(office.incidents.iter().filter(|incident| incident.is_open()).map(|incident| {
            let name = incident_name(incident, Some(&office.office.name), language);
            incident_json(incident, name, &page_id, &office_link, language)
        }));
    }
    let description = match (indicator(&statuses), language) {
        ("none", Language::Id) => "Semua layanan normal",
        ("none", Language::En) => "All services normal",
        (_, Language::Id) => "Sebagian layanan terganggu",
        (_, Language::En) => "Some services disrupted",
    };
    Summary {
        page: Page {
            id: page_id,
            name: match language {
                Language::Id => "Status layanan kantor imigrasi".into(),
                Language::En => "Immigration office service status".into(),
            },
            url: link,
            time_zone: "Asia/Jakarta".into(),
            updated_at: snapshot.updated_at,
        },
        status: Status { indicator: indicator(&statuses), description: description.into() },
        components,
        incidents,
        scheduled_maintenances: Vec::new(),
    }
}
