//! The approvals inbox: broadcasts submitted in the supervisor's offices and waiting for a second
//! person, each with approve and reject (a reason is required). The author sees no approve button
//! on their own; a forged approval is refused by the lifecycle service, the rule the API enforces
//! (four eyes), and shown as the console's error page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::broadcasts::{broadcast_data, broadcast_id, to_broadcast};
use super::error::ConsoleError;
use super::form::{Staff, StaffPost};
use super::pages::word;
use super::ConsoleState;
use crate::domain::Language;
use crate::http::api::broadcast_views::BroadcastView;
use crate::http::api::broadcasts as service;
use crate::http::api::ApiError;
use crate::staff::Role;
use crate::store::{BroadcastStatus, OfficeDirectory};

/// The most broadcasts the inbox shows at once.
const INBOX: usize = 100;

/// A reason refused for one broadcast of the inbox.
pub(super) struct Refused {
    pub id: i64,
    pub reason: String,
    pub detail: String,
}

/// The inbox's data: each waiting broadcast, whether it is the viewer's own (no approve button).
pub(super) fn inbox_data(
    language: Language,
    views: &[BroadcastView],
    directory: &OfficeDirectory,
    me: &str,
    refused: Option<&Refused>,
) -> Value {
    let items: Vec<Value> = views
        .iter()
        .map(|view| {
            let mut item = broadcast_data(language, view, directory);
            item["own"] = (view.author == me).into();
            if let Some(refused) = refused.filter(|refused| refused.id == view.id) {
                item["error"] = refused.detail.clone().into();
                item["reason"] = refused.reason.clone().into();
            }
            item
        })
        .collect();
    json!({"waiting": items})
}

async fn inbox_page(
    state: &ConsoleState,
    staff: &Staff,
    refused: Option<&Refused>,
) -> Result<Response, ConsoleError> {
    let authed = staff.authed();
    authed.require(Role::Supervisor).map_err(staff.deny())?;
    let waiting = |record: &crate::store::BroadcastRecord| record.status == BroadcastStatus::Submitted;
    let page = service::list_for(&state.api, authed, None, INBOX, waiting).await.map_err(staff.deny())?;
    let directory = state.api.store.office_directory().await?;
    let language = staff.language();
    let me = authed.caller.actor.to_string();
    let data = inbox_data(language, &page.items, &directory, &me, refused);
    let status = if refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(staff.frame().page(status, "approvals", &word(language, "approvals", "title"), data))
}

/// `GET /console/approvals`.
pub(super) async fn inbox(State(state): State<ConsoleState>, staff: Staff) -> Result<Response, ConsoleError> {
    inbox_page(&state, &staff, None).await
}

/// `POST /console/broadcasts/{id}/approve`: scheduled, then its page; its author is refused.
pub(super) async fn approve(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    let language = staff.language();
    let id = broadcast_id(&id, language)?;
    // A role refusal is the usual page; past it, the only refusal left is the four-eyes rule.
    staff.authed().require(Role::Supervisor).map_err(staff.deny())?;
    match service::approve_for(&state.api, staff.authed(), id).await {
        Ok(_) => Ok(to_broadcast(id)),
        Err(ApiError::Forbidden(_)) => {
            let heading = word(language, "errors", "forbidden");
            let data = json!({
                "heading": heading,
                "text": word(language, "approvals", "own_refused"),
                "back": "/console/approvals",
            });
            Ok(staff.frame().page(StatusCode::FORBIDDEN, "error", &heading, data))
        }
        Err(err) => Err(staff.deny()(err)),
    }
}

/// `POST /console/broadcasts/{id}/reject`: never sent, then its page; without a reason, the
/// inbox again saying so.
pub(super) async fn reject(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    let id = broadcast_id(&id, staff.language())?;
    let reason = post.form.raw("reason");
    match service::reject_for(&state.api, staff.authed(), id, &reason).await {
        Ok(_) => Ok(to_broadcast(id)),
        Err(ApiError::Invalid { detail, .. }) => {
            let refused = Refused { id, reason: reason.trim().to_owned(), detail };
            inbox_page(&state, staff, Some(&refused)).await
        }
        Err(err) => Err(staff.deny()(err)),
    }
}
