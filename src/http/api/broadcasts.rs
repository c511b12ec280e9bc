//! `/api/v1/broadcasts`: preview, draft, submit, approve, reject, cancel, list, read: what
//! `kabar broadcast` does, through the broadcast services, for the offices in the caller's scope.
//! Officers preview, draft, submit and cancel; supervisors approve and reject, never their own.
//! A broadcast none of whose offices is in scope answers 404: its existence is not the caller's
//! to know. One partly outside the scope is refused (403) naming the offices.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;

use super::auth::Authed;
use super::broadcast_views::{BroadcastBody, BroadcastView, CancelAnswer, PreviewAnswer, RejectBody};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, PageQuery};
use super::ApiState;
use crate::domain::OfficeCode;
use crate::plan::broadcast;
use crate::staff::Role;
use crate::store::{BroadcastRecord, OfficeDirectory};

/// The broadcast `id` with its offices, if the caller may see it (any of its offices in scope).
async fn visible(
    state: &ApiState,
    authed: &Authed,
    id: i64,
) -> Result<(BroadcastRecord, Vec<OfficeCode>, OfficeDirectory), ApiError> {
    let not_found = || ApiError::NotFound(format!("no broadcast has id {id}"));
    let record = state.store.broadcast(id).await?.ok_or_else(not_found)?;
    let directory = state.store.office_directory().await?;
    let offices = broadcast::broadcast_offices(&record, &directory)?;
    if !offices.iter().any(|code| authed.sees(code, &directory)) {
        return Err(not_found());
    }
    Ok((record, offices, directory))
}

/// As [`visible`], for a step that needs `role` for every office of the broadcast.
async fn for_step(
    state: &ApiState,
    authed: &Authed,
    id: i64,
    role: Role,
) -> Result<(BroadcastRecord, Vec<OfficeCode>, OfficeDirectory), ApiError> {
    authed.require(role)?;
    let (record, offices, directory) = visible(state, authed, id).await?;
    authed.require_offices(role, &offices, &directory)?;
    Ok((record, offices, directory))
}

#[utoipa::path(
    post,
    path = "/api/v1/broadcasts/preview",
    tag = "broadcasts",
    request_body = BroadcastBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request")),
    responses(
        (status = 200, description = "Who it would reach, samples in both languages, segments, cost; nothing is written", body = PreviewAnswer),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Role too low, or offices outside the caller's scope", content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong (named in `field`)", content_type = "application/problem+json"),
    )
)]
pub(super) async fn preview(
    State(state): State<ApiState>,
    authed: Authed,
    ApiJson(body): ApiJson<BroadcastBody>,
) -> Result<Json<PreviewAnswer>, ApiError> {
    Ok(Json(preview_for(&state, &authed, body).await?))
}

/// What sending `body` would do, for the caller (officer, every office in scope); nothing is
/// written. The API's preview and the console's composer.
pub(crate) async fn preview_for(
    state: &ApiState,
    authed: &Authed,
    body: BroadcastBody,
) -> Result<PreviewAnswer, ApiError> {
    authed.require(Role::Officer)?;
    let now = Utc::now();
    let directory = state.store.office_directory().await?;
    let request = body.request(authed.caller.actor.to_string(), &directory, now)?;
    let codes = offices_of(&request, &directory)?;
    authed.require_offices(Role::Officer, &codes, &directory)?;
    let settings = &state.settings;
    let preview = broadcast::preview(
        &state.store,
        &settings.catalogue,
        &settings.planner,
        &settings.notices,
        &request,
        now,
    )
    .await?;
    Ok(PreviewAnswer::of(preview, &settings.costs, settings.staff.approval_threshold))
}

fn offices_of(
    request: &broadcast::BroadcastRequest,
    directory: &OfficeDirectory,
) -> Result<Vec<OfficeCode>, ApiError> {
    let offices = request.filter.offices(directory).map_err(broadcast::BroadcastError::from)?;
    Ok(offices.into_iter().map(|office| office.code.clone()).collect())
}

#[utoipa::path(
    post,
    path = "/api/v1/broadcasts",
    tag = "broadcasts",
    request_body = BroadcastBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request")),
    responses(
        (status = 201, description = "The draft; submit it to send", body = BroadcastView),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Role too low, or offices outside the caller's scope", content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong (named in `field`)", content_type = "application/problem+json"),
    )
)]
pub(super) async fn create(
    State(state): State<ApiState>,
    authed: Authed,
    ApiJson(body): ApiJson<BroadcastBody>,
) -> Result<(StatusCode, Json<BroadcastView>), ApiError> {
    Ok((StatusCode::CREATED, Json(create_for(&state, &authed, body).await?)))
}

/// Stores `body` as the caller's draft (officer, every office in scope).
pub(crate) async fn create_for(
    state: &ApiState,
    authed: &Authed,
    body: BroadcastBody,
) -> Result<BroadcastView, ApiError> {
    authed.require(Role::Officer)?;
    if body.title.as_deref().is_none_or(|title| title.trim().is_empty()) {
        return Err(ApiError::invalid("title", "give the broadcast a title staff will recognise"));
    }
    let now = Utc::now();
    let directory = state.store.office_directory().await?;
    let request = body.request(authed.caller.actor.to_string(), &directory, now)?;
    let codes = offices_of(&request, &directory)?;
    authed.require_offices(Role::Officer, &codes, &directory)?;
    let id = broadcast::draft(&state.store, &state.settings.planner, &request, &authed.origin, now).await?;
    let record =
        state.store.broadcast(id).await?.ok_or_else(|| ApiError::NotFound(format!("broadcast {id}")))?;
    Ok(BroadcastView::of(record, &codes, &directory))
}

#[utoipa::path(
    post,
    path = "/api/v1/broadcasts/{id}/submit",
    tag = "broadcasts",
    params(
        ("id" = i64, Path, description = "Broadcast id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request"),
    ),
    responses(
        (status = 200, description = "Scheduled, or (over the approval threshold or for several offices) waiting for approval", body = BroadcastView),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Role too low, or offices outside the caller's scope", content_type = "application/problem+json"),
        (status = 404, description = "No such broadcast in the caller's offices", content_type = "application/problem+json"),
        (status = 409, description = "Not a draft", content_type = "application/problem+json"),
    )
)]
pub(super) async fn submit(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<BroadcastView>, ApiError> {
    Ok(Json(submit_for(&state, &authed, id).await?))
}

/// Submits the draft `id` (officer of all its offices): scheduled, or waiting for approval.
pub(crate) async fn submit_for(
    state: &ApiState,
    authed: &Authed,
    id: i64,
) -> Result<BroadcastView, ApiError> {
    let (_, offices, directory) = for_step(state, authed, id, Role::Officer).await?;
    let threshold = state.settings.staff.approval_threshold;
    let record =
        broadcast::submit(&state.store, &state.settings.planner, threshold, id, &authed.origin, Utc::now())
            .await?;
    Ok(BroadcastView::of(record, &offices, &directory))
}

#[utoipa::path(
    post,
    path = "/api/v1/broadcasts/{id}/approve",
    tag = "broadcasts",
    params(
        ("id" = i64, Path, description = "Broadcast id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request"),
    ),
    responses(
        (status = 200, description = "Approved: scheduled", body = BroadcastView),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor for all its offices, or its author (four-eyes rule)", content_type = "application/problem+json"),
        (status = 404, description = "No such broadcast in the caller's offices", content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for approval", content_type = "application/problem+json"),
    )
)]
pub(super) async fn approve(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<BroadcastView>, ApiError> {
    Ok(Json(approve_for(&state, &authed, id).await?))
}

/// Approves `id` (supervisor of all its offices; never its author, checked by the lifecycle).
pub(crate) async fn approve_for(
    state: &ApiState,
    authed: &Authed,
    id: i64,
) -> Result<BroadcastView, ApiError> {
    let (_, offices, directory) = for_step(state, authed, id, Role::Supervisor).await?;
    let record = broadcast::approve(&state.store, id, &authed.origin, Utc::now()).await?;
    Ok(BroadcastView::of(record, &offices, &directory))
}

#[utoipa::path(
    post,
    path = "/api/v1/broadcasts/{id}/reject",
    tag = "broadcasts",
    request_body = RejectBody,
    params(
        ("id" = i64, Path, description = "Broadcast id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request"),
    ),
    responses(
        (status = 200, description = "Rejected: it is never sent", body = BroadcastView),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor for all its offices", content_type = "application/problem+json"),
        (status = 404, description = "No such broadcast in the caller's offices", content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for approval", content_type = "application/problem+json"),
        (status = 422, description = "No reason given", content_type = "application/problem+json"),
    )
)]
pub(super) async fn reject(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<Json<BroadcastView>, ApiError> {
    Ok(Json(reject_for(&state, &authed, id, &body.reason).await?))
}

/// Rejects `id` with `reason` (supervisor of all its offices).
pub(crate) async fn reject_for(
    state: &ApiState,
    authed: &Authed,
    id: i64,
    reason: &str,
) -> Result<BroadcastView, ApiError> {
    let (_, offices, directory) = for_step(state, authed, id, Role::Supervisor).await?;
    let record = broadcast::reject(&state.store, id, reason, &authed.origin, Utc::now()).await?;
    Ok(BroadcastView::of(record, &offices, &directory))
}

#[utoipa::path(
    post,
    path = "/api/v1/broadcasts/{id}/cancel",
    tag = "broadcasts",
    params(
        ("id" = i64, Path, description = "Broadcast id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request"),
    ),
    responses(
        (status = 200, description = "Cancelled, with the messages not yet handed to a provider", body = CancelAnswer),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Role too low, or offices outside the caller's scope", content_type = "application/problem+json"),
        (status = 404, description = "No such broadcast in the caller's offices", content_type = "application/problem+json"),
        (status = 409, description = "Already rejected or cancelled", content_type = "application/problem+json"),
    )
)]
pub(super) async fn cancel(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CancelAnswer>, ApiError> {
    Ok(Json(cancel_for(&state, &authed, id).await?))
}

/// Cancels `id` (officer of all its offices).
pub(crate) async fn cancel_for(state: &ApiState, authed: &Authed, id: i64) -> Result<CancelAnswer, ApiError> {
    let (_, offices, directory) = for_step(state, authed, id, Role::Officer).await?;
    let messages_cancelled = broadcast::cancel_by(&state.store, id, Some(&authed.origin), Utc::now()).await?;
    let record =
        state.store.broadcast(id).await?.ok_or_else(|| ApiError::NotFound(format!("broadcast {id}")))?;
    Ok(CancelAnswer { broadcast: BroadcastView::of(record, &offices, &directory), messages_cancelled })
}

/// Broadcasts read per page while looking for a page of visible ones.
const SCAN: i64 = 200;

#[utoipa::path(
    get,
    path = "/api/v1/broadcasts",
    tag = "broadcasts",
    params(PageQuery),
    responses(
        (status = 200, description = "Broadcasts for the caller's offices, newest first", body = Page<BroadcastView>),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 422, description = "A bad cursor or limit", content_type = "application/problem+json"),
    )
)]
pub(super) async fn list(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<BroadcastView>>, ApiError> {
    let limit = page.limit()?;
    let before = match &page.after {
        Some(after) => Some(after.parse::<i64>().map_err(|_| {
            ApiError::invalid("after", "not a cursor of this list; pass the `next` of the page before")
        })?),
        None => None,
    };
    Ok(Json(list_for(&state, &authed, before, limit, |_| true).await?))
}

/// Up to `limit` broadcasts the caller sees (any office in scope) with ids below `before`,
/// newest first, keeping those `keep` accepts.
pub(crate) async fn list_for(
    state: &ApiState,
    authed: &Authed,
    mut before: Option<i64>,
    limit: usize,
    keep: impl Fn(&BroadcastRecord) -> bool,
) -> Result<Page<BroadcastView>, ApiError> {
    authed.require(Role::Viewer)?;
    let directory = state.store.office_directory().await?;
    let mut items = Vec::new();
    // Newest first by id; the scope is checked on each, so read on until the page is full.
    'scan: loop {
        let batch = state.store.broadcasts_before(before, SCAN).await?;
        let done = (batch.len() as i64) < SCAN;
        for record in batch {
            before = Some(record.id);
            if !keep(&record) {
                continue;
            }
            let offices = broadcast::broadcast_offices(&record, &directory).unwrap_or_default();
            if offices.iter().any(|code| authed.sees(code, &directory)) {
                if items.len() == limit {
                    break 'scan;
                }
                items.push(BroadcastView::of(record, &offices, &directory));
            }
        }
        if done {
            return Ok(Page { items, next: None });
        }
    }
    let next = items.last().map(|view| view.id.to_string());
    Ok(Page { items, next })
}

#[utoipa::path(
    get,
    path = "/api/v1/broadcasts/{id}",
    tag = "broadcasts",
    params(("id" = i64, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "The broadcast, its approval and its delivery progress by channel", body = BroadcastView),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 404, description = "No such broadcast in the caller's offices", content_type = "application/problem+json"),
    )
)]
pub(super) async fn one(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<BroadcastView>, ApiError> {
    Ok(Json(one_for(&state, &authed, id).await?))
}

/// The broadcast `id` with its delivery progress, if the caller sees any of its offices.
pub(crate) async fn one_for(state: &ApiState, authed: &Authed, id: i64) -> Result<BroadcastView, ApiError> {
    authed.require(Role::Viewer)?;
    let (record, offices, directory) = visible(state, authed, id).await?;
    let mut view = BroadcastView::of(record, &offices, &directory);
    with_progress(state, std::slice::from_mut(&mut view)).await?;
    Ok(view)
}

/// Adds each broadcast's delivery progress to views the caller may already see.
pub(crate) async fn with_progress(state: &ApiState, views: &mut [BroadcastView]) -> Result<(), ApiError> {
    for view in views {
        let counts = state.store.broadcast_message_counts(view.id).await?;
        view.progress = Some(super::broadcast_views::Progress::of(counts));
    }
    Ok(())
}
