//! `GET /api/v1/incidents`, `GET /api/v1/incidents/{id}` and `POST /api/v1/incidents/{id}/updates`:
//! the incidents of the caller's offices, each with its timeline and the progress of its
//! messages, and staff-written updates to the applicants its notices were for. An incident of an
//! office outside the caller's scope is answered as one that does not exist.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::Authed;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, DEFAULT_LIMIT, MAX_LIMIT};
use super::ApiState;
use crate::domain::{format_short, OfficeCode, TimeZone};
use crate::plan::update::{post_update, UpdateError, UpdateText};
use crate::staff::Role;
use crate::store::{ChannelProgress, IncidentFilter, IncidentRecord, OfficeDirectory, TimelineEntry};

impl From<UpdateError> for ApiError {
    fn from(err: UpdateError) -> Self {
        let detail = err.to_string();
        match err {
            UpdateError::UnknownIncident(_) => ApiError::NotFound(detail),
            UpdateError::Resolved(_) => ApiError::Conflict(detail),
            UpdateError::Text { field, .. } => ApiError::invalid(field, detail),
            UpdateError::Store(err) => err.into(),
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// true: open incidents only; false: resolved ones only.
    pub(crate) open: Option<bool>,
    /// Only this office's incidents.
    pub(crate) office: Option<String>,
    /// The `next` of the previous page (an incident id; the list is newest first).
    pub(crate) after: Option<i64>,
    /// Incidents per page, 1 to 1000 (default 100).
    pub(crate) limit: Option<usize>,
}

/// An incident: one office's disruption.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    pub id: i64,
    #[schema(example = "PLG")]
    pub office: String,
    pub open: bool,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    /// In the office's zone, e.g. `2024-06-20 10:02 WIB`.
    pub opened_local: String,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolved_local: Option<String>,
}

/// An incident with what happened and where its messages stand.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentView,
    /// Oldest first.
    pub timeline: Vec<TimelineView>,
    /// Its messages (notices and staff updates) by channel; `channel` absent: no usable channel.
    pub progress: Vec<ProgressView>,
}

/// One entry of the timeline; `kind` says which fields it has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineView {
    /// change, status_update, staff_update or restored.
    #[schema(example = "change")]
    pub kind: &'static str,
    pub at: chrono::DateTime<chrono::Utc>,
    pub at_local: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_local: Option<String>,
    /// When the planner planned the change's notices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A status update's local day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_id: Option<i64>,
    /// A staff update's broadcast, whose report is `GET /broadcasts/{id}/messages`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_en: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// An incident's messages on one channel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProgressView {
    /// whatsapp, sms or email; absent for applicants with no usable channel.
    pub channel: Option<String>,
    /// Every message planned.
    pub planned: u64,
    /// Waiting for the end of the office's quiet hours.
    pub held_for_quiet_hours: u64,
    /// Due, or waiting for a retry.
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    /// Delivered or read.
    pub delivered: u64,
    pub failed: u64,
    pub unreachable: u64,
    /// Replaced by a newer notice before they were sent, or cancelled.
    pub cancelled: u64,
}

/// A staff-written update.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// Bahasa Indonesia.
    #[schema(example = "Pencetakan paspor kembali berjalan besok pukul 08.00 WITA.")]
    pub text: String,
    /// English, for applicants who asked for it (Indonesian otherwise).
    pub text_en: Option<String>,
}

/// What posting an update planned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpdatePosted {
    pub update_id: i64,
    /// Its messages' broadcast (`GET /broadcasts/{id}/messages`).
    pub broadcast_id: i64,
    pub messages: u64,
    /// Of those, applicants with no usable channel (the call list).
    pub unreachable: u64,
    /// Of those, held for the office's quiet hours.
    pub deferred: u64,
}

fn zone_of(offices: &OfficeDirectory, code: &OfficeCode) -> TimeZone {
    offices.office(code).map_or_else(|| "Asia/Jakarta".parse().expect("a zone"), |office| office.timezone)
}

fn view(record: &IncidentRecord, zone: TimeZone) -> IncidentView {
    IncidentView {
        id: record.id,
        office: record.office.to_string(),
        open: record.resolved_at.is_none(),
        opened_at: record.opened_at,
        opened_local: format_short(record.opened_at, zone),
        resolved_at: record.resolved_at,
        resolved_local: record.resolved_at.map(|at| format_short(at, zone)),
    }
}

fn timeline_view(entry: TimelineEntry, zone: TimeZone) -> TimelineView {
    let at = entry.at();
    let mut view = TimelineView {
        kind: "",
        at,
        at_local: format_short(at, zone),
        change_id: None,
        service: None,
        from: None,
        to: None,
        reason: None,
        until: None,
        until_local: None,
        planned_at: None,
        slot: None,
        update_id: None,
        broadcast_id: None,
        text: None,
        text_en: None,
        by: None,
    };
    match entry {
        TimelineEntry::Change {
            change_id,
            service,
            from,
            to,
            reason,
            expected_at,
            actor,
            planned_at,
            ..
        } => {
            view.kind = "change";
            view.change_id = Some(change_id);
            view.service = Some(service.to_string());
            view.from = Some(from.to_string());
            view.to = Some(to.to_string());
            view.reason = reason;
            view.until = expected_at;
            view.until_local = expected_at.map(|until| format_short(until, zone));
            view.planned_at = planned_at;
            view.by = Some(actor);
        }
        TimelineEntry::StatusUpdate { slot, .. } => {
            view.kind = "status_update";
            view.slot = Some(slot);
        }
        TimelineEntry::StaffUpdate { update_id, broadcast_id, text_id, text_en, actor, .. } => {
            view.kind = "staff_update";
            view.update_id = Some(update_id);
            view.broadcast_id = Some(broadcast_id);
            view.text = Some(text_id);
            view.text_en = text_en;
            view.by = Some(actor);
        }
        TimelineEntry::Restored { .. } => view.kind = "restored",
    }
    view
}

fn progress_view(row: ChannelProgress) -> ProgressView {
    ProgressView {
        channel: row.channel.map(|channel| channel.to_string()),
        planned: row.planned,
        held_for_quiet_hours: row.held,
        queued: row.queued,
        sending: row.sending,
        sent: row.sent,
        delivered: row.delivered,
        failed: row.failed,
        unreachable: row.unreachable,
        cancelled: row.cancelled,
    }
}

/// The incident `id` if the caller may see it; otherwise, as for an id that names nothing, 404.
pub(crate) async fn visible_incident(
    state: &ApiState,
    authed: &Authed,
    id: i64,
) -> Result<(IncidentRecord, OfficeDirectory), ApiError> {
    let offices = state.store.office_directory().await?;
    match state.store.incident(id).await? {
        Some(record) if authed.sees(&record.office, &offices) => Ok((record, offices)),
        _ => Err(ApiError::NotFound(format!("there is no incident {id} among your offices"))),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    params(IncidentQuery),
    responses(
        (status = 200, description = "Incidents of the caller's offices, newest first", body = Page<IncidentView>),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "The office is outside the caller's scope", content_type = "application/problem+json"),
        (status = 422, description = "A filter is wrong (named in `field`)", content_type = "application/problem+json"),
    )
)]
pub(super) async fn list(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<IncidentQuery>,
) -> Result<Json<Page<IncidentView>>, ApiError> {
    Ok(Json(incident_list(&state, &authed, &query).await?))
}

/// The incidents the caller sees, newest first, as `GET /incidents` and the console list them.
pub(crate) async fn incident_list(
    state: &ApiState,
    authed: &Authed,
    query: &IncidentQuery,
) -> Result<Page<IncidentView>, ApiError> {
    authed.require(Role::Viewer)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("limit = {limit}; use 1 to {MAX_LIMIT}")));
    }
    let offices = state.store.office_directory().await?;
    let office = match query.office.as_deref() {
        None => None,
        Some(code) => {
            let code: OfficeCode =
                code.parse().map_err(|err: crate::domain::ParseError| ApiError::invalid("office", err.0))?;
            if offices.office(&code).is_none() {
                return Err(ApiError::invalid("office", format!("there is no office {code}")));
            }
            authed.require_offices(Role::Viewer, std::slice::from_ref(&code), &offices)?;
            Some(code)
        }
    };
    let filter = IncidentFilter { open: query.open, office, before: query.after };
    // One more than a page says whether there is a next one.
    let mut found = state.store.incidents(&filter, limit + 1, |code| authed.sees(code, &offices)).await?;
    let next = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|record| record.id.to_string())
    } else {
        None
    };
    let items = found.iter().map(|record| view(record, zone_of(&offices, &record.office))).collect();
    Ok(Page { items, next })
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The incident, its timeline and its messages' progress", body = IncidentDetail),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 404, description = "No such incident among the caller's offices", content_type = "application/problem+json"),
    )
)]
pub(super) async fn one(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<IncidentDetail>, ApiError> {
    Ok(Json(incident_detail(&state, &authed, id).await?))
}

/// The incident with its timeline and progress, if the caller may see it (404 otherwise), as
/// `GET /incidents/{id}` and the console's incident page show it.
pub(crate) async fn incident_detail(
    state: &ApiState,
    authed: &Authed,
    id: i64,
) -> Result<IncidentDetail, ApiError> {
    authed.require(Role::Viewer)?;
    let (record, offices) = visible_incident(state, authed, id).await?;
    let zone = zone_of(&offices, &record.office);
    let timeline = state.store.incident_timeline(&record).await?;
    let progress = state.store.incident_progress(record.id, chrono::Utc::now()).await?;
    Ok(IncidentDetail {
        incident: view(&record, zone),
        timeline: timeline.into_iter().map(|entry| timeline_view(entry, zone)).collect(),
        progress: progress.into_iter().map(progress_view).collect(),
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/updates",
    tag = "incidents",
    request_body = UpdateRequest,
    params(
        ("id" = i64, Path, description = "Incident id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request"),
    ),
    responses(
        (status = 201, description = "The update is planned to the incident's audience", body = UpdatePosted),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Viewers write no updates", content_type = "application/problem+json"),
        (status = 404, description = "No such incident among the caller's offices", content_type = "application/problem+json"),
        (status = 409, description = "The incident is resolved", content_type = "application/problem+json"),
        (status = 422, description = "The text is wrong (named in `field`)", content_type = "application/problem+json"),
    )
)]
pub(super) async fn post_update_route(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateRequest>,
) -> Result<(StatusCode, Json<UpdatePosted>), ApiError> {
    let posted = post_incident_update(&state, &authed, id, request).await?;
    Ok((StatusCode::CREATED, Json(posted)))
}

/// A staff-written update to the incident's audience: 404 for an incident the caller does not
/// see, then officers and above only; planned and audited by [`post_update`].
pub(crate) async fn post_incident_update(
    state: &ApiState,
    authed: &Authed,
    id: i64,
    request: UpdateRequest,
) -> Result<UpdatePosted, ApiError> {
    let (record, _) = visible_incident(state, authed, id).await?;
    authed.require(Role::Officer)?;
    let text = UpdateText { text_id: request.text, text_en: request.text_en };
    let posted = post_update(
        &state.store,
        &state.settings.planner,
        record.id,
        &text,
        &authed.origin,
        chrono::Utc::now(),
    )
    .await?;
    Ok(UpdatePosted {
        update_id: posted.update_id,
        broadcast_id: posted.broadcast_id,
        messages: posted.messages,
        unreachable: posted.unreachable,
        deferred: posted.deferred,
    })
}
