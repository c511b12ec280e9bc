//! `GET /api/v1/incidents/{id}/call-list` and `POST /api/v1/call-list/{booking_code}/outcomes`:
//! the applicants no channel reached, soonest appointment first, for staff to phone (whole numbers
//! for officers and above, masked for viewers), and what came of each call.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::Authed;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use super::incidents::visible_incident;
use super::ApiState;
use crate::domain::{format_short, TimeZone};
use crate::report::calls::{self, CallError, CallRecord};
use crate::staff::Role;
use crate::store::{CallListEntry, MessageFilter, RecordedOutcome, ReportError};

impl From<CallError> for ApiError {
    fn from(err: CallError) -> Self {
        let detail = err.to_string();
        match err {
            CallError::Booking(_) | CallError::UnknownBooking(_) => ApiError::NotFound(detail),
            CallError::Outcome(_) => ApiError::invalid("outcome", detail),
            CallError::Note(_) => ApiError::invalid("note", detail),
            CallError::Store(err) => err.into(),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(err: ReportError) -> Self {
        let detail = err.to_string();
        match err {
            ReportError::UnknownIncident(_) | ReportError::UnknownBroadcast(_) => ApiError::NotFound(detail),
            ReportError::Store(err) => err.into(),
            ReportError::Write(err) => ApiError::Internal(Box::new(err)),
        }
    }
}

/// The call list of an incident.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallListView {
    pub incident_id: i64,
    /// Whether `mobile` is whole (officers and above) or masked.
    pub full_phone: bool,
    /// Still to call, soonest appointment first; each with its last call, if any.
    pub to_call: Vec<CallEntryView>,
    /// Reached by phone since they missed a notice.
    pub reached: Vec<CallEntryView>,
}

/// An applicant to phone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallEntryView {
    pub office: String,
    pub name: String,
    /// E.164, or masked (`+62812****7890`) for viewers.
    pub mobile: String,
    /// Soonest appointment first.
    pub bookings: Vec<CallBookingView>,
    /// The notices that reached nobody, oldest first.
    pub missed: Vec<MissedView>,
    pub last_call: Option<OutcomeView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallBookingView {
    pub code: String,
    pub holder_name: String,
    pub appointment_at: chrono::DateTime<chrono::Utc>,
    /// In the office's zone.
    pub appointment_local: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MissedView {
    pub kind: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// no usable channel, or the last channel's failure.
    pub why: String,
}

/// A recorded call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutcomeView {
    pub id: i64,
    pub booking_code: String,
    pub office: String,
    /// reached, no_answer, wrong_number or voicemail.
    pub outcome: String,
    pub note: Option<String>,
    pub by: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub at_local: String,
}

/// What came of a call.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// reached, no_answer, wrong_number or voicemail.
    #[schema(example = "reached")]
    pub outcome: String,
    /// For the next caller (at most 500 characters).
    #[schema(example = "Akan datang Senin pukul 09.00")]
    pub note: Option<String>,
}

fn outcome_view(outcome: &RecordedOutcome, zone: Option<TimeZone>) -> OutcomeView {
    OutcomeView {
        id: outcome.id,
        booking_code: outcome.booking.to_string(),
        office: outcome.office.to_string(),
        outcome: outcome.outcome.to_string(),
        note: outcome.note.clone(),
        by: outcome.actor.clone(),
        at: outcome.recorded_at,
        at_local: zone
            .map_or_else(|| outcome.recorded_at.to_rfc3339(), |zone| format_short(outcome.recorded_at, zone)),
    }
}

fn entry_view(entry: &CallListEntry, zone: Option<TimeZone>, full_phone: bool) -> CallEntryView {
    let local = |at| zone.map_or_else(|| crate::report::rfc3339(at), |zone| format_short(at, zone));
    CallEntryView {
        office: entry.office.to_string(),
        name: entry.name.clone(),
        mobile: if full_phone { entry.mobile.e164().to_owned() } else { entry.mobile.masked() },
        bookings: entry
            .bookings
            .iter()
            .map(|booking| CallBookingView {
                code: booking.code.to_string(),
                holder_name: booking.holder_name.clone(),
                appointment_at: booking.appointment_at,
                appointment_local: local(booking.appointment_at),
            })
            .collect(),
        missed: entry
            .missed
            .iter()
            .map(|missed| MissedView {
                kind: missed.kind.to_string(),
                at: missed.created_at,
                why: missed.why.to_string(),
            })
            .collect(),
        last_call: entry.outcome.as_ref().map(|outcome| outcome_view(outcome, zone)),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/call-list",
    tag = "call list",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "Applicants no channel reached; whole numbers for officers and above", body = CallListView),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 404, description = "No such incident among the caller's offices", content_type = "application/problem+json"),
    )
)]
pub(super) async fn call_list(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CallListView>, ApiError> {
    Ok(Json(call_list_of(&state, &authed, id).await?))
}

/// The incident's call list as the caller may read it (whole numbers for officers and above),
/// 404 for an incident the caller does not see: the API's and the console's call list.
pub(crate) async fn call_list_of(
    state: &ApiState,
    authed: &Authed,
    id: i64,
) -> Result<CallListView, ApiError> {
    authed.require(Role::Viewer)?;
    let (record, offices) = visible_incident(state, authed, id).await?;
    let full_phone = authed.caller.role >= Role::Officer;
    let entries =
        state.store.call_list(&MessageFilter { incident: Some(record.id), broadcast: None }).await?;
    let zone = offices.office(&record.office).map(|office| office.timezone);
    let (mut to_call, mut reached) = (Vec::new(), Vec::new());
    for entry in &entries {
        let view = entry_view(entry, zone, full_phone);
        if entry.to_call() {
            to_call.push(view);
        } else {
            reached.push(view);
        }
    }
    Ok(CallListView { incident_id: record.id, full_phone, to_call, reached })
}

#[utoipa::path(
    post,
    path = "/api/v1/call-list/{booking_code}/outcomes",
    tag = "call list",
    request_body = OutcomeRequest,
    params(
        ("booking_code" = String, Path, description = "The booking the call was about"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request"),
    ),
    responses(
        (status = 201, description = "The call is recorded", body = OutcomeView),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Viewers record no calls", content_type = "application/problem+json"),
        (status = 404, description = "No such booking among the caller's offices", content_type = "application/problem+json"),
        (status = 422, description = "The outcome or note is wrong (named in `field`)", content_type = "application/problem+json"),
    )
)]
pub(super) async fn record_outcome(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(code): ApiPath<String>,
    ApiJson(request): ApiJson<OutcomeRequest>,
) -> Result<(StatusCode, Json<OutcomeView>), ApiError> {
    Ok((StatusCode::CREATED, Json(record_call(&state, &authed, &code, &request).await?)))
}

/// Records a call about booking `code`: 404 for a booking the caller does not see, then
/// officers and above only; audited by [`calls::record`]. The API's and the console's form.
pub(crate) async fn record_call(
    state: &ApiState,
    authed: &Authed,
    code: &str,
    request: &OutcomeRequest,
) -> Result<OutcomeView, ApiError> {
    authed.require(Role::Viewer)?;
    let call = CallRecord::parse(code, &request.outcome, request.note.as_deref())?;
    let offices = state.store.office_directory().await?;
    // A booking of another office is answered as one that does not exist.
    match state.store.booking_office(&call.booking).await? {
        Some(office) if authed.sees(&office, &offices) => {}
        _ => return Err(ApiError::NotFound(format!("no booking {} among your offices", call.booking))),
    }
    authed.require(Role::Officer)?;
    let recorded = calls::record(&state.store, &call, &authed.origin, chrono::Utc::now()).await?;
    let zone = offices.office(&recorded.office).map(|office| office.timezone);
    Ok(outcome_view(&recorded, zone))
}
