//! Broadcasts in the console: the list, the composer with its preview (the API's preview
//! service: counts by channel, samples, segments, cost), saving a draft and submitting it, one
//! broadcast with its progress, and cancelling. Every step calls the service the API's route
//! calls ([`crate::http::api::broadcasts`]), with the same role and scope checks; approving and
//! rejecting are in [`super::approvals`].

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};

use super::broadcast_form::{compose_data, preview_data, ComposeForm, FormError};
use super::error::ConsoleError;
use super::form::{Posted, Staff, StaffPost};
use super::pages::{local, word, words};
use super::ConsoleState;
use crate::domain::{Language, OfficeCode, TimeZone, DEFAULT_ZONE};
use crate::http::api::broadcast_views::{BroadcastView, PreviewAnswer};
use crate::http::api::broadcasts as service;
use crate::http::api::ApiError;
use crate::staff::Role;
use crate::store::{BroadcastStatus, OfficeDirectory};

/// Broadcasts on one page of the list.
const PAGE: usize = 50;

/// The broadcast id of a path, or the 404 page.
pub(super) fn broadcast_id(text: &str, language: Language) -> Result<i64, ConsoleError> {
    text.parse()
        .map_err(|_| ConsoleError::Api(ApiError::NotFound(format!("no broadcast has id {text:?}")), language))
}

/// The zone a broadcast's times are shown in: its first office's.
fn zone_of(view: &BroadcastView, directory: &OfficeDirectory) -> TimeZone {
    view.offices
        .iter()
        .filter_map(|code| code.parse::<OfficeCode>().ok())
        .find_map(|code| directory.office(&code).map(|office| office.timezone))
        .unwrap_or(DEFAULT_ZONE)
}

/// After a step: the broadcast's own page.
pub(super) fn to_broadcast(id: i64) -> Response {
    Redirect::to(&format!("/console/broadcasts/{id}")).into_response()
}

/// Messages by status, summed into the columns staff read.
fn progress_row(
    channel: &str,
    statuses: &std::collections::BTreeMap<String, u64>,
    language: Language,
) -> Value {
    let count = |names: &[&str]| names.iter().filter_map(|name| statuses.get(*name)).sum::<u64>();
    let name = words(language)["channels"][if channel == "none" { "unreachable" } else { channel }]
        .as_str()
        .unwrap_or(channel)
        .to_owned();
    json!({
        "channel": channel,
        "name": name,
        "planned": statuses.values().sum::<u64>(),
        "waiting": count(&["queued", "sending"]),
        "sent": count(&["sent"]),
        // Handed to a provider, whether or not a receipt came back yet.
        "done": count(&["sent", "delivered", "read"]),
        "delivered": count(&["delivered", "read"]),
        "failed": count(&["failed"]),
        "cancelled": count(&["cancelled", "unreachable"]),
    })
}

/// One broadcast as the list, the inbox and its own page show it.
pub(super) fn broadcast_data(language: Language, view: &BroadcastView, directory: &OfficeDirectory) -> Value {
    let zone = zone_of(view, directory);
    let progress = view.progress.as_ref().map(|progress| {
        let rows: Vec<Value> = progress
            .by_channel
            .iter()
            .map(|(channel, statuses)| progress_row(channel, statuses, language))
            .collect();
        let total = progress_row("total", &progress.total, language);
        json!({"rows": rows, "total": total, "any": !progress.total.is_empty()})
    });
    json!({
        "id": view.id,
        "title": view.title,
        "status": view.status,
        "status_name": word(language, "bstatus", &view.status),
        "awaiting_approval": view.awaiting_approval,
        "offices": view.offices.join(", "),
        "text": view.text,
        "text_en": view.text_en,
        "kind": word(language, "kinds", &view.kind),
        "send_at": view.send_at_local.join(" · "),
        "author": view.author,
        "created_at": local(Some(view.created_at), zone),
        "reach": view.reach,
        "submitted_by": view.submitted_by,
        "submitted_at": local(view.submitted_at, zone),
        "approved_by": view.approved_by,
        "approved_at": local(view.approved_at, zone),
        "rejected_by": view.rejected_by,
        "rejected_at": local(view.rejected_at, zone),
        "rejection_reason": view.rejection_reason,
        "cancelled_by": view.cancelled_by,
        "cancelled_at": local(view.cancelled_at, zone),
        "planned_at": local(view.planned_at, zone),
        "progress": progress,
    })
}

/// The list page's data.
pub(super) fn list_data(
    language: Language,
    views: &[BroadcastView],
    directory: &OfficeDirectory,
    next: Option<String>,
    supervisor: bool,
) -> Value {
    let items: Vec<Value> = views.iter().map(|view| broadcast_data(language, view, directory)).collect();
    json!({"broadcasts": items, "next": next, "supervisor": supervisor})
}

/// `GET /console/broadcasts[?after=ID]`: the broadcasts in scope, newest first.
pub(super) async fn list(
    State(state): State<ConsoleState>,
    staff: Staff,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let language = staff.language();
    let query = Posted::parse(query.unwrap_or_default().as_bytes());
    let before = match query.get("after").as_str() {
        "" => None,
        after => Some(after.parse::<i64>().map_err(|_| {
            ConsoleError::Api(ApiError::invalid("after", "not a page of this list"), language)
        })?),
    };
    let authed = staff.authed();
    let mut page =
        service::list_for(&state.api, authed, before, PAGE, |_| true).await.map_err(staff.deny())?;
    service::with_progress(&state.api, &mut page.items).await.map_err(staff.deny())?;
    let directory = state.api.store.office_directory().await?;
    let supervisor = authed.caller.role >= Role::Supervisor;
    let data = list_data(language, &page.items, &directory, page.next, supervisor);
    Ok(staff.frame().page(StatusCode::OK, "broadcasts", &word(language, "broadcasts", "title"), data))
}

/// The composer, as filled, with the preview or the form's problem.
async fn compose_page(
    state: &ConsoleState,
    staff: &Staff,
    form: &ComposeForm,
    outcome: Result<Option<&PreviewAnswer>, &FormError>,
) -> Result<Response, ConsoleError> {
    let language = staff.language();
    let directory = state.api.store.office_directory().await?;
    let (status, error, preview) = match outcome {
        Ok(preview) => (StatusCode::OK, None, preview),
        Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, Some(error), None),
    };
    let mut data = compose_data(language, &directory, &staff.authed().caller.scope, form, error);
    data["preview"] = preview.map(|preview| preview_data(language, preview)).into();
    Ok(staff.frame().page(status, "compose", &word(language, "compose", "title"), data))
}

/// `GET /console/broadcasts/new`: the composer.
pub(super) async fn new(State(state): State<ConsoleState>, staff: Staff) -> Result<Response, ConsoleError> {
    staff.authed().require(Role::Officer).map_err(staff.deny())?;
    let form = ComposeForm { when: "now".into(), ..ComposeForm::default() };
    compose_page(&state, &staff, &form, Ok(None)).await
}

/// A refusal of the services: the form's own problem is shown on the form, any other (role,
/// scope, our failure) is a page of its own.
async fn again(
    state: &ConsoleState,
    staff: &Staff,
    form: &ComposeForm,
    err: ApiError,
) -> Result<Response, ConsoleError> {
    match FormError::of(&err) {
        Some(error) => compose_page(state, staff, form, Err(&error)).await,
        None => Err(staff.deny()(err)),
    }
}

/// `POST /console/broadcasts/preview`: the composer again with who it would reach, the samples
/// and the cost, from the API's preview; nothing is written.
pub(super) async fn preview(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    staff.authed().require(Role::Officer).map_err(staff.deny())?;
    let form = ComposeForm::from_posted(&post.form);
    match async { service::preview_for(&state.api, staff.authed(), form.body()?).await }.await {
        Ok(answer) => compose_page(&state, staff, &form, Ok(Some(&answer))).await,
        Err(err) => again(&state, staff, &form, err).await,
    }
}

/// `POST /console/broadcasts`: saves the draft and submits it (scheduled, or waiting for
/// approval), then its page.
pub(super) async fn create(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    staff.authed().require(Role::Officer).map_err(staff.deny())?;
    let form = ComposeForm::from_posted(&post.form);
    let draft = match async { service::create_for(&state.api, staff.authed(), form.body()?).await }.await {
        Ok(draft) => draft,
        Err(err) => return again(&state, staff, &form, err).await,
    };
    service::submit_for(&state.api, staff.authed(), draft.id).await.map_err(staff.deny())?;
    Ok(to_broadcast(draft.id))
}

/// `GET /console/broadcasts/{id}`: the broadcast, who decided what, its progress by channel.
pub(super) async fn one(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    staff: Staff,
) -> Result<Response, ConsoleError> {
    let language = staff.language();
    let id = broadcast_id(&id, language)?;
    let authed = staff.authed();
    let view = service::one_for(&state.api, authed, id).await.map_err(staff.deny())?;
    let directory = state.api.store.office_directory().await?;
    let codes: Vec<OfficeCode> = view.offices.iter().filter_map(|code| code.parse().ok()).collect();
    let cancellable = matches!(
        view.status.parse::<BroadcastStatus>(),
        Ok(BroadcastStatus::Draft
            | BroadcastStatus::Submitted
            | BroadcastStatus::Scheduled
            | BroadcastStatus::Planned)
    ) && authed.require_offices(Role::Officer, &codes, &directory).is_ok();
    let supervisor = authed.caller.role >= Role::Supervisor;
    let mut data = json!({"broadcast": broadcast_data(language, &view, &directory)});
    data["cancellable"] = cancellable.into();
    data["to_inbox"] = (view.awaiting_approval && supervisor).into();
    Ok(staff.frame().page(StatusCode::OK, "broadcast", &view.title, data))
}

/// `POST /console/broadcasts/{id}/cancel`: cancelled through the API's service, then its page.
pub(super) async fn cancel(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    let id = broadcast_id(&id, staff.language())?;
    service::cancel_for(&state.api, staff.authed(), id).await.map_err(staff.deny())?;
    Ok(to_broadcast(id))
}
