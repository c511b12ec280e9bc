//! The incident pages: the list of the caller's incidents, and one incident with its timeline,
//! the progress of its messages per channel, a form for a staff update to the same audience, the
//! restoration (the service operational again, as `kabar state set … operational` makes it) and
//! the delivery report as CSV. Every read and write goes through the API's own services
//! ([`crate::http::api::incidents`], [`crate::http::api::reports`]): the same scope checks (an
//! incident of another office is one that does not exist, 404) and the same audit.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ConsoleError;
use super::form::{Staff, StaffPost};
use super::pages::{word, words};
use super::ConsoleState;
use crate::domain::{Language, OfficeCode, Service, ServiceState};
use crate::http::api::incidents::{
    incident_detail, incident_list, post_incident_update, visible_incident, IncidentDetail, IncidentQuery,
    IncidentView, ProgressView, TimelineView, UpdateRequest,
};
use crate::http::api::reports::incident_csv;
use crate::http::api::ApiError;
use crate::staff::Role;
use crate::state::{self, StateChange, Target};
use crate::store::OfficeDirectory;

/// The incident id of a path; anything else names no incident (the console's 404 page).
pub(super) fn incident_id(raw: &str, language: Language) -> Result<i64, ConsoleError> {
    raw.parse()
        .map_err(|_| ConsoleError::Api(ApiError::NotFound(format!("there is no incident {raw}")), language))
}

/// How many incidents of each kind (open, closed) the list shows.
const LISTED: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    /// `false`: closed incidents only; `true`: open only; absent: open first, closed below.
    open: Option<bool>,
    #[serde(default)]
    office: String,
}

fn list_row(view: &IncidentView, offices: &OfficeDirectory) -> Value {
    let code: Option<OfficeCode> = view.office.parse().ok();
    let name = code.as_ref().and_then(|code| offices.office(code)).map(|office| office.name.clone());
    json!({
        "id": view.id,
        "office": view.office,
        "office_name": name.unwrap_or_default(),
        "opened": view.opened_local,
        "resolved": view.resolved_local,
    })
}

/// The list page's data.
pub(super) fn list_data(open: &[IncidentView], closed: &[IncidentView], offices: &OfficeDirectory) -> Value {
    json!({
        "open_incidents": open.iter().map(|view| list_row(view, offices)).collect::<Vec<_>>(),
        "closed_incidents": closed.iter().map(|view| list_row(view, offices)).collect::<Vec<_>>(),
    })
}

/// `GET /console/incidents[?open=false][&office=PLG]`: open incidents in scope, newest first,
/// closed ones below.
pub(super) async fn list(
    State(state): State<ConsoleState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let authed = staff.authed();
    let office = Some(query.office.trim().to_owned()).filter(|office| !office.is_empty());
    let page = |open: bool| IncidentQuery {
        open: Some(open),
        office: office.clone(),
        after: None,
        limit: Some(LISTED),
    };
    let open = match query.open {
        Some(false) => Vec::new(),
        _ => incident_list(&state.api, authed, &page(true)).await.map_err(staff.deny())?.items,
    };
    let closed = match query.open {
        Some(true) => Vec::new(),
        _ => incident_list(&state.api, authed, &page(false)).await.map_err(staff.deny())?.items,
    };
    let offices = state.api.store.office_directory().await?;
    let language = staff.language();
    let mut data = list_data(&open, &closed, &offices);
    data["show_open"] = json!(query.open != Some(false));
    data["show_closed"] = json!(query.open != Some(true));
    Ok(staff.frame().page(StatusCode::OK, "incidents", &word(language, "incidents", "title"), data))
}

fn timeline_row(language: Language, entry: &TimelineView) -> Value {
    let named = |group: &str, key: &Option<String>| {
        key.as_deref().map(|key| words(language)[group][key].as_str().unwrap_or(key).to_owned())
    };
    json!({
        "kind": entry.kind,
        "kind_name": word(language, "incidents", &format!("entry_{}", entry.kind)),
        "at": entry.at_local,
        "service": named("services", &entry.service),
        "from": named("states", &entry.from),
        "to": named("states", &entry.to),
        "to_key": entry.to,
        "reason": entry.reason,
        "until": entry.until_local,
        "slot": entry.slot,
        "text": entry.text,
        "text_en": entry.text_en,
        "by": entry.by,
    })
}

fn progress_row(language: Language, row: &ProgressView) -> Value {
    let key = row.channel.as_deref().unwrap_or("unreachable");
    // Done: handed to the provider (sent) or further (delivered); cancelled ones are not due.
    let due = row.planned.saturating_sub(row.cancelled);
    let done = row.sent + row.delivered;
    json!({
        "key": key,
        "name": word(language, "channels", key),
        "planned": row.planned,
        "held": row.held_for_quiet_hours,
        "sending": row.queued + row.sending,
        "sent": row.sent,
        "delivered": row.delivered,
        "failed": row.failed,
        "unreachable": row.unreachable,
        "cancelled": row.cancelled,
        "done": done,
        "due": due,
        "complete": row.channel.is_some() && due > 0 && done == due,
        "bar": row.channel.is_some() && due > 0,
    })
}

/// What the incident page needs besides the incident itself.
pub(super) struct PageExtras {
    pub office_name: String,
    /// The services of the office that are not operational (each a restoration button).
    pub down: Vec<Service>,
    /// An officer or above within scope: the update form and the restoration.
    pub officer: bool,
    /// The notice after a form (`update`, `restored`).
    pub done: Option<String>,
    /// A refused update, and the text as typed.
    pub error: Option<String>,
    pub text: String,
    pub text_en: String,
}

/// The incident page's data.
pub(super) fn incident_data(language: Language, detail: &IncidentDetail, extras: &PageExtras) -> Value {
    let incident = &detail.incident;
    let open = incident.open;
    json!({
        "incident": {
            "id": incident.id,
            "office": incident.office,
            "office_name": extras.office_name,
            "open": open,
            "opened": incident.opened_local,
            "resolved": incident.resolved_local,
        },
        "timeline": detail.timeline.iter().map(|entry| timeline_row(language, entry)).collect::<Vec<_>>(),
        "progress": detail.progress.iter().map(|row| progress_row(language, row)).collect::<Vec<_>>(),
        "can_write": extras.officer && open,
        "officer": extras.officer,
        "restore": extras.down.iter().map(|&service| json!({
            "key": service.as_str(),
            "name": word(language, "services", service.as_str()),
        })).collect::<Vec<_>>(),
        "done": extras.done.as_deref().map(|done| word(language, "incidents", &format!("done_{done}"))),
        "error": extras.error,
        "text": extras.text,
        "text_en": extras.text_en,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    #[serde(default)]
    done: String,
}

/// Renders the incident page; `error` and the typed text after a refused update.
async fn render(
    state: &ConsoleState,
    staff: &Staff,
    id: i64,
    done: Option<String>,
    refused: Option<(String, String, String)>,
) -> Result<Response, ConsoleError> {
    let authed = staff.authed();
    let detail = incident_detail(&state.api, authed, id).await.map_err(staff.deny())?;
    let (record, offices) = visible_incident(&state.api, authed, id).await.map_err(staff.deny())?;
    let officer =
        authed.require_offices(Role::Officer, std::slice::from_ref(&record.office), &offices).is_ok();
    let board = state.api.store.service_board(Some(&record.office)).await?;
    let down =
        board.iter().filter(|row| row.state != ServiceState::Operational).map(|row| row.service).collect();
    let (status, error, text, text_en) = match refused {
        Some((error, text, text_en)) => (StatusCode::UNPROCESSABLE_ENTITY, Some(error), text, text_en),
        None => (StatusCode::OK, None, String::new(), String::new()),
    };
    let extras = PageExtras {
        office_name: offices.office(&record.office).map(|office| office.name.clone()).unwrap_or_default(),
        down,
        officer,
        done,
        error,
        text,
        text_en,
    };
    let language = staff.language();
    let title = format!("{} {} · {}", word(language, "incidents", "one"), id, record.office);
    Ok(staff.frame().page(status, "incident", &title, incident_data(language, &detail, &extras)))
}

/// `GET /console/incidents/{id}`.
pub(super) async fn page(
    State(state): State<ConsoleState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ConsoleError> {
    let id = incident_id(&id, staff.language())?;
    let done = ["update", "restored"].into_iter().find(|done| *done == query.done).map(str::to_owned);
    render(&state, &staff, id, done, None).await
}

/// `POST /console/incidents/{id}/updates`: a staff update to the incident's audience, as
/// `POST /api/v1/incidents/{id}/updates` posts it.
pub(super) async fn update(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let id = incident_id(&id, post.staff.language())?;
    let staff = &post.staff;
    let text = post.form.get("text");
    let text_en = post.form.get("text_en");
    let request =
        UpdateRequest { text: text.clone(), text_en: Some(text_en.clone()).filter(|text| !text.is_empty()) };
    match post_incident_update(&state.api, staff.authed(), id, request).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/incidents/{id}?done=update")).into_response()),
        // A wrong text is shown beside the form, as typed; a refusal is a page of its own.
        Err(ApiError::Invalid { detail, .. }) => {
            render(&state, staff, id, None, Some((detail, text, text_en))).await
        }
        Err(err) => Err(staff.deny()(err)),
    }
}

/// `POST /console/incidents/{id}/restore` (`service=…`): the service operational again at the
/// incident's office, made as `kabar state set` and `POST /api/v1/state-changes` make it
/// (officer within scope, audited); the planner sends the restoration notice.
pub(super) async fn restore(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let id = incident_id(&id, post.staff.language())?;
    let staff = &post.staff;
    let authed = staff.authed();
    let (record, offices) = visible_incident(&state.api, authed, id).await.map_err(staff.deny())?;
    authed
        .require_offices(Role::Officer, std::slice::from_ref(&record.office), &offices)
        .map_err(staff.deny())?;
    if record.resolved_at.is_some() {
        return Err(staff.deny()(ApiError::Conflict(format!("incident {id} is closed"))));
    }
    let service: Service = post
        .form
        .get("service")
        .parse()
        .map_err(|err: crate::domain::ParseError| staff.deny()(ApiError::invalid("service", err.0)))?;
    let change = StateChange {
        target: Target::Offices(vec![record.office.clone()]),
        service,
        state: ServiceState::Operational,
        reason: None,
        until: None,
        actor: authed.caller.actor.to_string(),
        at: Utc::now(),
    };
    state::set_state_by(&state.api.store, &change, Some(&authed.origin))
        .await
        .map_err(|err| staff.deny()(err.into()))?;
    Ok(Redirect::to(&format!("/console/incidents/{id}?done=restored")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CsvQuery {
    #[serde(default)]
    full_phone: bool,
}

/// `GET /console/incidents/{id}/messages.csv[?full_phone=true]`: the API's streamed delivery
/// report, masked unless an officer asks (that read audited as the API audits it).
pub(super) async fn messages_csv(
    State(state): State<ConsoleState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<CsvQuery>,
) -> Result<Response, ConsoleError> {
    let id = incident_id(&id, staff.language())?;
    let mut response =
        incident_csv(&state.api, staff.authed(), id, query.full_phone).await.map_err(staff.deny())?;
    let name = format!("attachment; filename=\"incident-{id}-messages.csv\"");
    if let Ok(value) = HeaderValue::from_str(&name) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
