//! The board's banner of automatic detection: the open proposals a supervisor sees, each with a
//! confirm and a dismiss form. Both go through the API's own checks
//! ([`crate::http::api::proposals`]) and the services `kabar state confirm|dismiss` call.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde_json::{json, Value};

use super::error::ConsoleError;
use super::form::{Staff, StaffPost};
use super::pages::{local, service_name, word};
use super::ConsoleState;
use crate::detect::{proposals, Proposal, ProposalKind};
use crate::domain::Language;
use crate::http::api::proposals::{decidable, visible};
use crate::http::api::ApiError;
use crate::staff::Role;

/// The banner's data: empty unless the caller is a supervisor and something is open.
pub(super) async fn banner(state: &ConsoleState, staff: &Staff) -> Result<Vec<Value>, ConsoleError> {
    if staff.authed().caller.role < Role::Supervisor {
        return Ok(Vec::new());
    }
    let open = visible(&state.api, staff.authed(), false).await.map_err(staff.deny())?;
    Ok(open.iter().map(|proposal| banner_row(staff.language(), proposal)).collect())
}

/// One proposal as the banner shows it (times in WIB: a proposal spans offices and zones).
pub(super) fn banner_row(language: Language, proposal: &Proposal) -> Value {
    let wib: crate::domain::TimeZone = "Asia/Jakarta".parse().expect("a known zone");
    let kind = match proposal.kind {
        ProposalKind::Outage => "outage",
        ProposalKind::Recovery => "recovery",
    };
    json!({
        "id": proposal.id,
        "system": proposal.system,
        "kind": word(language, "proposals", kind),
        "offices": proposal.offices,
        "services": proposal.services.iter().map(|&service| service_name(language, service)).collect::<Vec<_>>().join(", "),
        "reason": proposal.reason,
        "detail": proposal.detail,
        "opened": local(Some(proposal.created_at), wib),
        "apply_at": proposal.apply_at.map(|at| local(Some(at), wib)),
    })
}

fn proposal_id(post: &StaffPost) -> Result<i64, ConsoleError> {
    post.form.get("proposal").parse().map_err(|_| {
        ConsoleError::Api(ApiError::invalid("proposal", "no proposal named"), post.staff.language())
    })
}

/// `POST /console/proposals/confirm`: applies it now, then back to the board.
pub(super) async fn confirm(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let id = proposal_id(&post)?;
    let staff = &post.staff;
    decidable(&state.api, staff.authed(), id).await.map_err(staff.deny())?;
    proposals::confirm(&state.api.store, id, &staff.authed().origin, Utc::now())
        .await
        .map_err(|err| staff.deny()(err.into()))?;
    Ok(Redirect::to("/console").into_response())
}

/// `POST /console/proposals/dismiss`: nothing changes, then back to the board.
pub(super) async fn dismiss(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let id = proposal_id(&post)?;
    let staff = &post.staff;
    decidable(&state.api, staff.authed(), id).await.map_err(staff.deny())?;
    let note = Some(post.form.get("note")).filter(|note| !note.trim().is_empty());
    if let Some(note) = note.as_deref() {
        let invalid = |err: crate::domain::ParseError| staff.deny()(ApiError::invalid("note", err.0));
        crate::domain::check_plain_text(note).map_err(invalid)?;
        crate::domain::check_length(note, 500).map_err(invalid)?;
    }
    proposals::dismiss(&state.api.store, id, note.as_deref(), &staff.authed().origin, Utc::now())
        .await
        .map_err(|err| staff.deny()(err.into()))?;
    Ok(Redirect::to("/console").into_response())
}
