//! The board (the caller's offices, every service, open incidents) and, for supervisors, the
//! national view (every office in scope by region, filtered by service and state). Both read
//! [`crate::state::overview`], limited to the caller's scope.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ConsoleError;
use super::form::Staff;
use super::pages::{local, service_name, state_name, word, zone_label};
use super::ConsoleState;
use crate::domain::{Language, Service, ServiceState};
use crate::staff::Role;
use crate::state::{overview, OfficeStatus, ServiceStatus};

fn service_row(language: Language, status: &ServiceStatus, zone: crate::domain::TimeZone) -> Value {
    json!({
        "key": status.service.as_str(),
        "name": service_name(language, status.service),
        "state": status.state.as_str(),
        "state_name": state_name(language, status.state),
        "reason": status.reason,
        "since": local(status.since, zone),
        "until": local(status.until, zone),
    })
}

/// The board's data for these offices.
pub(super) fn board_data(language: Language, offices: &[OfficeStatus]) -> Value {
    let offices: Vec<Value> = offices
        .iter()
        .map(|status| {
            let zone = status.office.timezone;
            json!({
                "code": status.office.code.as_str(),
                "name": status.office.name,
                "region": status.office.region,
                "zone": format!("{} ({})", zone_label(zone), zone.name()),
                "incident": status.incident_since.map(|since| local(Some(since), zone)),
                "incident_id": status.incident_id,
                "services": status.services.iter().map(|s| service_row(language, s, zone)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"offices": offices})
}

/// `GET /console`.
pub(super) async fn board(State(state): State<ConsoleState>, staff: Staff) -> Result<Response, ConsoleError> {
    staff.authed().require(Role::Viewer).map_err(staff.deny())?;
    let offices = overview(&state.api.store, &staff.authed().caller.scope).await?;
    let language = staff.language();
    let title = word(language, "board", "title");
    let mut data = board_data(language, &offices);
    data["proposals"] = Value::Array(super::proposals::banner(&state, &staff).await?);
    Ok(staff.frame().page(StatusCode::OK, "board", &title, data))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NationalQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    state: String,
}

/// The national view's data: one row per (office, service) that passes the filter, by region.
/// Without a filter, only services that are not operational are listed (the whole country is
/// otherwise 1,250 rows of "Normal").
pub(super) fn national_data(
    language: Language,
    offices: &[OfficeStatus],
    service: Option<Service>,
    state: Option<ServiceState>,
) -> Value {
    let mut regions: Vec<(String, Vec<Value>)> = Vec::new();
    let mut shown = std::collections::BTreeSet::new();
    for status in offices {
        let zone = status.office.timezone;
        for row in &status.services {
            let passes = service.is_none_or(|service| row.service == service)
                && match state {
                    Some(state) => row.state == state,
                    None => row.state != ServiceState::Operational || service.is_some(),
                };
            if !passes {
                continue;
            }
            shown.insert(status.office.code.clone());
            let mut value = service_row(language, row, zone);
            value["code"] = json!(status.office.code.as_str());
            value["zone"] = json!(zone_label(zone));
            match regions.last_mut() {
                Some((region, rows)) if *region == status.office.region => rows.push(value),
                _ => regions.push((status.office.region.clone(), vec![value])),
            }
        }
    }
    let options = |selected: Option<&str>, keys: Vec<(&'static str, String)>| {
        keys.into_iter()
            .map(|(key, name)| json!({"key": key, "name": name, "selected": selected == Some(key)}))
            .collect::<Vec<_>>()
    };
    json!({
        "regions": regions.into_iter().map(|(name, rows)| json!({"name": name, "rows": rows})).collect::<Vec<_>>(),
        "shown": shown.len(),
        "services": options(
            service.map(Service::as_str),
            Service::ALL.iter().map(|&s| (s.as_str(), service_name(language, s))).collect(),
        ),
        "states": options(
            state.map(ServiceState::as_str),
            [ServiceState::Operational, ServiceState::Degraded, ServiceState::Unavailable]
                .into_iter()
                .map(|s| (s.as_str(), state_name(language, s)))
                .collect(),
        ),
    })
}

/// `GET /console/national?service=…&state=…` (supervisors).
pub(super) async fn national(
    State(state): State<ConsoleState>,
    staff: Staff,
    Query(query): Query<NationalQuery>,
) -> Result<Response, ConsoleError> {
    staff.authed().require(Role::Supervisor).map_err(staff.deny())?;
    let invalid = |field: &str, err: crate::domain::ParseError| {
        ConsoleError::Api(crate::http::api::ApiError::invalid(field, err.0), staff.language())
    };
    let service = Some(query.service.trim()).filter(|s| !s.is_empty()).map(str::parse::<Service>).transpose();
    let service = service.map_err(|err| invalid("service", err))?;
    let wanted =
        Some(query.state.trim()).filter(|s| !s.is_empty()).map(str::parse::<ServiceState>).transpose();
    let wanted = wanted.map_err(|err| invalid("state", err))?;
    let offices = overview(&state.api.store, &staff.authed().caller.scope).await?;
    let language = staff.language();
    let title = word(language, "national", "title");
    Ok(staff.frame().page(
        StatusCode::OK,
        "national",
        &title,
        national_data(language, &offices, service, wanted),
    ))
}
