//! `POST /api/v1/state-changes`: what `kabar state set` does, for the offices in the caller's
//! scope. Officers change named offices; a region or `all` needs a supervisor. With `dry_run`
//! the change is validated exactly as it would be made, nothing is written, and the answer says
//! who would hear ([`crate::plan::who_would_hear`], the same counts the console shows).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::Authed;
use super::error::ApiError;
use super::extract::ApiJson;
use super::ApiState;
use crate::domain::{OfficeCode, ParseError, Service, ServiceState};
use crate::staff::Role;
use crate::state::{self, StateChange, Target};

/// A change as staff give it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateChangeRequest {
    /// An office code, codes separated by commas, `region:NAME`, or `all` (as `kabar state set`).
    #[schema(example = "PLG")]
    pub offices: String,
    #[schema(example = "printing")]
    pub service: String,
    /// operational, degraded or unavailable.
    #[schema(example = "unavailable")]
    pub state: String,
    /// What happened; required unless the service is operational again.
    #[schema(example = "Gangguan Pusat Data Nasional")]
    pub reason: Option<String>,
    /// Expected restoration: `YYYY-MM-DD HH:MM` in each office's local time, or RFC 3339.
    pub until: Option<String>,
    /// Validate and say what would change; write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// One service of one office, before and after.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    pub office: String,
    pub service: String,
    pub from: String,
    pub to: String,
    /// False when the office already had exactly this state, reason and restoration time.
    pub changed: bool,
    /// The change recorded; absent in a dry run or when nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_id: Option<i64>,
    /// The office's open incident. The planner opens one when it plans the change (after the
    /// settle window), so a first disruption has none yet: `GET /incidents?office=…` finds it then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<i64>,
}

/// Who a dry-run change would reach.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WhoWouldHearView {
    /// Messages: one per applicant and office.
    pub applicants: u64,
    /// The bookings those messages list.
    pub bookings: u64,
    /// Every office of the change.
    pub offices: Vec<OfficeHearingView>,
    /// Messages by channel (whatsapp, sms, email; unreachable: no usable channel, the call list).
    pub by_channel: std::collections::BTreeMap<String, u64>,
    /// Messages by notice kind.
    pub by_kind: std::collections::BTreeMap<String, u64>,
    /// SMS segments, each SMS counted as the longest realistic sample of its kind and language.
    pub sms_segments: u64,
    pub estimated_cost: CostView,
    /// The first message's earliest send: after the settle window, and for WhatsApp and SMS after
    /// the office's quiet hours. Absent when nobody would hear.
    pub first_send_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the planner would plan the change.
    pub planned_at: chrono::DateTime<chrono::Utc>,
}

/// One office's share.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfficeHearingView {
    pub office: String,
    pub applicants: u64,
    pub bookings: u64,
    pub first_send_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The same in the office's zone, e.g. `2024-06-21 07:00 WIB`.
    pub first_send_local: Option<String>,
}

/// An amount in the `[costs]` currency.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CostView {
    pub amount: f64,
    #[schema(example = "IDR")]
    pub currency: String,
}

impl From<crate::plan::WhoWouldHear> for WhoWouldHearView {
    fn from(audience: crate::plan::WhoWouldHear) -> Self {
        WhoWouldHearView {
            applicants: audience.applicants,
            bookings: audience.bookings,
            offices: audience
                .offices
                .into_iter()
                .map(|office| OfficeHearingView {
                    office: office.office.to_string(),
                    applicants: office.applicants,
                    bookings: office.bookings,
                    first_send_at: office.first_send_at,
                    first_send_local: office.first_send_local,
                })
                .collect(),
            by_channel: audience.by_channel,
            by_kind: audience.by_kind,
            sms_segments: audience.sms_segments,
            estimated_cost: CostView {
                amount: audience.estimated_cost.amount,
                currency: audience.estimated_cost.currency,
            },
            first_send_at: audience.first_send_at,
            planned_at: audience.planned_at,
        }
    }
}

/// What the change did, or with `dry_run`, would do.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StateChangeAnswer {
    pub dry_run: bool,
    pub changes: Vec<ChangeView>,
    /// Offices whose state changed (or would).
    pub changed: usize,
    /// Offices that already were in this state.
    pub unchanged: usize,
}

/// A dry run's answer: what would change, and who would hear.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DryRunAnswer {
    #[serde(flatten)]
    pub changes: StateChangeAnswer,
    #[serde(flatten)]
    pub audience: WhoWouldHearView,
}

/// The answer of `POST /state-changes`: a dry run's (200) or a recorded change's (201).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StateChangeResponse {
    DryRun(DryRunAnswer),
    Applied(StateChangeAnswer),
}

fn field<T: std::str::FromStr<Err = ParseError>>(name: &str, text: &str) -> Result<T, ApiError> {
    text.parse().map_err(|err: ParseError| ApiError::invalid(name, err.0))
}

#[utoipa::path(
    post,
    path = "/api/v1/state-changes",
    tag = "states",
    request_body = StateChangeRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request")),
    responses(
        (status = 200, description = "Dry run: what would change and who would hear", body = DryRunAnswer),
        (status = 201, description = "The change was recorded", body = StateChangeAnswer),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Role too low, or offices outside the caller's scope (named in `offices`); nothing changed", content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong (named in `field`)", content_type = "application/problem+json"),
    )
)]
pub(super) async fn create(
    State(state): State<ApiState>,
    authed: Authed,
    ApiJson(request): ApiJson<StateChangeRequest>,
) -> Result<(StatusCode, Json<StateChangeResponse>), ApiError> {
    authed.require(Role::Officer)?;
    let target: Target = field("offices", &request.offices)?;
    let change = StateChange {
        target: target.clone(),
        service: field::<Service>("service", &request.service)?,
        state: field::<ServiceState>("state", &request.state)?,
        reason: request.reason,
        until: request.until,
        actor: authed.caller.actor.to_string(),
        at: chrono::Utc::now(),
    };
    if !matches!(target, Target::Offices(_)) {
        authed.require(Role::Supervisor).map_err(|_| {
            ApiError::Forbidden(format!(
                "changing a region or all offices at once needs the supervisor role; {} {} is {}",
                authed.caller.kind, authed.caller.name, authed.caller.role
            ))
        })?;
    }
    let offices = state.store.office_directory().await?;
    let codes: Vec<OfficeCode> = state::resolve_target(&target, change.service, &offices)?;
    authed.require_offices(Role::Officer, &codes, &offices)?;
    let (status, applied, audience) = if request.dry_run {
        let settings = &state.settings;
        let audience = crate::plan::who_would_hear(
            &state.store,
            Some(&state.audience),
            &change,
            &settings.planner,
            &settings.costs,
            change.at,
        )
        .await?;
        let records = state::check_state_change(&state.store, &change).await?;
        let applied = state::preview_change(&state.store, &records).await?;
        (StatusCode::OK, applied, Some(WhoWouldHearView::from(audience)))
    } else {
        (StatusCode::CREATED, state::set_state_by(&state.store, &change, Some(&authed.origin)).await?, None)
    };
    let incidents = state.store.open_incidents().await?;
    let changed = applied.iter().filter(|applied| applied.changed).count();
    let answer = StateChangeAnswer {
        dry_run: request.dry_run,
        unchanged: applied.len() - changed,
        changed,
        changes: applied
            .into_iter()
            .map(|applied| ChangeView {
                service: applied.service.to_string(),
                from: applied.from.to_string(),
                to: applied.to.to_string(),
                changed: applied.changed,
                change_id: applied.change_id,
                incident_id: incidents
                    .iter()
                    .find(|incident| incident.office == applied.office)
                    .map(|incident| incident.id),
                office: applied.office.to_string(),
            })
            .collect(),
    };
    let response = match audience {
        Some(audience) => StateChangeResponse::DryRun(DryRunAnswer { changes: answer, audience }),
        None => StateChangeResponse::Applied(answer),
    };
    Ok((status, Json(response)))
}
