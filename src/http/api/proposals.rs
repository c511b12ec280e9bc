//! `GET /api/v1/proposals`, `POST /api/v1/proposals/{id}/confirm|dismiss`: the state changes
//! automatic detection proposes, for supervisors, through the same services as
//! `kabar state proposals|confirm|dismiss`. A supervisor sees the proposals touching an office in
//! scope and decides those wholly within it.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::Authed;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::ApiState;
use crate::detect::proposals::{self, Decided, ProposalError};
use crate::detect::Proposal;
use crate::staff::Role;

/// A proposal as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalView {
    pub id: i64,
    /// The upstream system whose probes made it.
    #[schema(example = "simkim")]
    pub system: String,
    /// outage or recovery.
    pub kind: String,
    /// open, applied, dismissed or dropped.
    pub status: String,
    /// The target as `kabar state set` takes it.
    pub offices: String,
    pub services: Vec<String>,
    /// What applicants will read.
    pub reason: String,
    /// What the probes saw.
    pub detail: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When kabar applies it itself if nobody decides; absent: never.
    pub apply_at: Option<chrono::DateTime<chrono::Utc>>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
}

impl From<Proposal> for ProposalView {
    fn from(proposal: Proposal) -> Self {
        ProposalView {
            id: proposal.id,
            system: proposal.system,
            kind: proposal.kind.as_str().to_owned(),
            status: proposal.status.as_str().to_owned(),
            offices: proposal.offices,
            services: proposal.services.iter().map(ToString::to_string).collect(),
            reason: proposal.reason,
            detail: proposal.detail,
            created_at: proposal.created_at,
            apply_at: proposal.apply_at,
            decided_at: proposal.decided_at,
            decided_by: proposal.decided_by,
            note: proposal.note,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalsQuery {
    /// Also the applied, dismissed and dropped ones (the latest 200).
    #[serde(default)]
    pub all: bool,
}

/// What a decision did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionAnswer {
    pub id: i64,
    /// applied, dropped (nothing differed) or dismissed.
    pub outcome: String,
    /// Service states changed by applying it.
    pub changed: usize,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    /// Why: kept with the proposal and in the audit log.
    pub note: Option<String>,
}

impl From<ProposalError> for ApiError {
    fn from(err: ProposalError) -> Self {
        let detail = err.to_string();
        match err {
            ProposalError::NotFound(_) => ApiError::NotFound(detail),
            ProposalError::NotOpen { .. } => ApiError::Conflict(detail),
            ProposalError::State { source, .. } => source.into(),
            ProposalError::Offices { .. } => ApiError::Internal(Box::new(err)),
            ProposalError::Store(err) => err.into(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/proposals",
    tag = "detection",
    params(ProposalsQuery),
    responses(
        (status = 200, description = "Proposals touching an office in the caller's scope, newest first", body = Vec<ProposalView>),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "This needs the supervisor role", content_type = "application/problem+json"),
    )
)]
pub(super) async fn list(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<ProposalsQuery>,
) -> Result<Json<Vec<ProposalView>>, ApiError> {
    let seen = visible(&state, &authed, query.all).await?;
    Ok(Json(seen.into_iter().map(ProposalView::from).collect()))
}

/// The proposals a supervisor sees (those touching an office in scope), newest first; the API's
/// list and the console's banner both read this.
pub(crate) async fn visible(state: &ApiState, authed: &Authed, all: bool) -> Result<Vec<Proposal>, ApiError> {
    authed.require(Role::Supervisor)?;
    let offices = state.store.office_directory().await?;
    let mut seen = Vec::new();
    for proposal in state.store.detect_proposals(all).await? {
        let codes = proposals::offices_of(&state.store, &proposal).await?;
        if codes.iter().any(|code| authed.sees(code, &offices)) {
            seen.push(proposal);
        }
    }
    Ok(seen)
}

/// The proposal, if the caller may decide it: 404 when it touches none of the caller's offices
/// (its existence does not leak), 403 naming the offices outside the scope otherwise.
pub(crate) async fn decidable(state: &ApiState, authed: &Authed, id: i64) -> Result<Proposal, ApiError> {
    authed.require(Role::Supervisor)?;
    let missing = || ApiError::NotFound(format!("no proposal {id}"));
    let proposal = state.store.detect_proposal(id).await?.ok_or_else(missing)?;
    let offices = state.store.office_directory().await?;
    let codes = proposals::offices_of(&state.store, &proposal).await?;
    if !codes.iter().any(|code| authed.sees(code, &offices)) {
        return Err(missing());
    }
    authed.require_offices(Role::Supervisor, &codes, &offices)?;
    Ok(proposal)
}

fn answer(id: i64, decided: Decided) -> Result<Json<DecisionAnswer>, ApiError> {
    let (outcome, changed) = match decided {
        Decided::Applied(changed) => ("applied", changed),
        Decided::Dropped => ("dropped", 0),
        Decided::Dismissed => ("dismissed", 0),
        Decided::AlreadyDecided => {
            return Err(ApiError::Conflict(format!(
                "proposal {id} was decided by someone else in the meantime"
            )))
        }
    };
    Ok(Json(DecisionAnswer { id, outcome: outcome.to_owned(), changed }))
}

#[utoipa::path(
    post,
    path = "/api/v1/proposals/{id}/confirm",
    tag = "detection",
    params(("id" = i64, Path, description = "The proposal"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request")),
    responses(
        (status = 200, description = "Applied (or dropped: every state already matched)", body = DecisionAnswer),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor, or offices outside the caller's scope", content_type = "application/problem+json"),
        (status = 404, description = "No such proposal in the caller's offices", content_type = "application/problem+json"),
        (status = 409, description = "The proposal is no longer open", content_type = "application/problem+json"),
    )
)]
pub(super) async fn confirm(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DecisionAnswer>, ApiError> {
    decidable(&state, &authed, id).await?;
    answer(id, proposals::confirm(&state.store, id, &authed.origin, chrono::Utc::now()).await?)
}

#[utoipa::path(
    post,
    path = "/api/v1/proposals/{id}/dismiss",
    tag = "detection",
    request_body = DismissRequest,
    params(("id" = i64, Path, description = "The proposal"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request")),
    responses(
        (status = 200, description = "Dismissed: nothing changes", body = DecisionAnswer),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor, or offices outside the caller's scope", content_type = "application/problem+json"),
        (status = 404, description = "No such proposal in the caller's offices", content_type = "application/problem+json"),
        (status = 409, description = "The proposal is no longer open", content_type = "application/problem+json"),
    )
)]
pub(super) async fn dismiss(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<DismissRequest>,
) -> Result<Json<DecisionAnswer>, ApiError> {
    decidable(&state, &authed, id).await?;
    if let Some(note) = request.note.as_deref() {
        crate::domain::check_plain_text(note).map_err(|err| ApiError::invalid("note", err.0))?;
        crate::domain::check_length(note, 500).map_err(|err| ApiError::invalid("note", err.0))?;
    }
    let now = chrono::Utc::now();
    answer(id, proposals::dismiss(&state.store, id, request.note.as_deref(), &authed.origin, now).await?)
}
