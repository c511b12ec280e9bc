//! The call list of an incident: the applicants no channel reached, soonest appointment first,
//! whole numbers for officers and above (masked for viewers), each with a form to record what
//! came of the call. Read and written through the API's services
//! ([`crate::http::api::call_list`]): the same scope checks and the same audit. An applicant with
//! a recorded call leaves "to call" for "called", with the outcome (one not reached may be
//! called again from there).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};

use super::error::ConsoleError;
use super::form::{Staff, StaffPost};
use super::incident::incident_id;
use super::pages::word;
use super::ConsoleState;
use crate::domain::Language;
use crate::http::api::call_list::{call_list_of, record_call, CallEntryView, CallListView, OutcomeRequest};
use crate::http::api::incidents::visible_incident;
use crate::staff::Role;

/// The outcomes a call can have, in the form's order.
const OUTCOMES: [&str; 4] = ["reached", "no_answer", "wrong_number", "voicemail"];

fn row(language: Language, entry: &CallEntryView, index: usize, prefix: &str) -> Value {
    let last = entry.last_call.as_ref().map(|call| {
        json!({
            "outcome": call.outcome,
            "outcome_name": word(language, "calls", &call.outcome),
            "note": call.note,
            "by": call.by,
            "at": call.at_local,
            "reached": call.outcome == "reached",
        })
    });
    json!({
        "row": format!("{prefix}-{index}"),
        "office": entry.office,
        "name": entry.name,
        "mobile": entry.mobile,
        "booking": entry.bookings.first().map(|booking| booking.code.clone()),
        "bookings": entry.bookings.iter().map(|booking| json!({
            "code": booking.code,
            "holder": booking.holder_name,
            "appointment": booking.appointment_local,
        })).collect::<Vec<_>>(),
        "why": entry.missed.last().map(|missed| missed.why.clone()),
        "last": last,
        "callable": last.is_none() || entry.last_call.as_ref().is_some_and(|call| call.outcome != "reached"),
    })
}

/// The call list page's data: "to call" holds who has not been called since the notice they
/// missed; "called" everyone with a recorded call, with its outcome.
pub(super) fn call_list_data(language: Language, list: &CallListView, officer: bool) -> Value {
    let (to_call, called): (Vec<&CallEntryView>, Vec<&CallEntryView>) =
        list.to_call.iter().chain(&list.reached).partition(|entry| entry.last_call.is_none());
    let outcomes: Vec<Value> =
        OUTCOMES.iter().map(|key| json!({"key": key, "name": word(language, "calls", key)})).collect();
    json!({
        "incident_id": list.incident_id,
        "full_phone": list.full_phone,
        "officer": officer,
        "outcomes": outcomes,
        "to_call": to_call.iter().enumerate().map(|(i, entry)| row(language, entry, i, "t")).collect::<Vec<_>>(),
        "called": called.iter().enumerate().map(|(i, entry)| row(language, entry, i, "c")).collect::<Vec<_>>(),
    })
}

/// `GET /console/incidents/{id}/call-list`.
pub(super) async fn page(
    State(state): State<ConsoleState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = incident_id(&id, staff.language())?;
    let authed = staff.authed();
    let list = call_list_of(&state.api, authed, id).await.map_err(staff.deny())?;
    let officer = authed.caller.role >= Role::Officer;
    let language = staff.language();
    let title = format!("{} · {} {id}", word(language, "calls", "title"), word(language, "incidents", "one"));
    Ok(staff.frame().page(StatusCode::OK, "call_list", &title, call_list_data(language, &list, officer)))
}

/// `POST /console/incidents/{id}/call-list` (`booking`, `outcome`, `note`): the call recorded as
/// `POST /api/v1/call-list/{booking_code}/outcomes` records it, then back to the list.
pub(super) async fn record(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    let id = incident_id(&id, staff.language())?;
    // An incident the caller does not see is refused as its list refuses it (404).
    visible_incident(&state.api, staff.authed(), id).await.map_err(staff.deny())?;
    let request = OutcomeRequest {
        outcome: post.form.get("outcome"),
        note: Some(post.form.get("note")).filter(|note| !note.is_empty()),
    };
    record_call(&state.api, staff.authed(), &post.form.get("booking"), &request)
        .await
        .map_err(staff.deny())?;
    Ok(Redirect::to(&format!("/console/incidents/{id}/call-list#called")).into_response())
}
