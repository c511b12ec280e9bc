//! `GET /api/v1/offices` and `GET /api/v1/offices/{code}`: the offices in the caller's scope, with
//! every service's state, reason, since and until (in UTC and in the office's own zone).

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::auth::Authed;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, Page, PageQuery};
use super::ApiState;
use crate::domain::{format_short, Office, OfficeCode, Service, ServiceState};
use crate::staff::Role;
use crate::store::BoardRow;

/// An office and the state of each of its services.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfficeView {
    #[schema(example = "PLG")]
    pub code: String,
    pub name: String,
    pub region: String,
    /// IANA zone, e.g. Asia/Jakarta.
    pub timezone: String,
    /// The office runs a border checkpoint (airport or seaport).
    pub tpi: bool,
    pub services: Vec<ServiceView>,
}

/// One service of an office.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceView {
    #[schema(example = "printing")]
    pub service: String,
    /// operational, degraded or unavailable.
    #[schema(example = "unavailable")]
    pub state: String,
    pub reason: Option<String>,
    /// When the service entered this state (RFC 3339, UTC); absent if it never changed.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// The same in the office's zone, e.g. `2024-06-20 10:00 WIB`.
    pub since_local: Option<String>,
    /// Expected restoration (RFC 3339, UTC).
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub until_local: Option<String>,
    /// Who changed it.
    pub by: Option<String>,
}

fn view(office: &Office, rows: &[BoardRow]) -> OfficeView {
    let local = |instant| format_short(instant, office.timezone);
    let services = Service::ALL
        .iter()
        .filter(|service| office.tpi || !service.needs_checkpoint())
        .map(|service| match rows.iter().find(|row| row.office == office.code && row.service == *service) {
            Some(row) => ServiceView {
                service: service.to_string(),
                state: row.state.to_string(),
                reason: row.reason.clone(),
                since: Some(row.changed_at),
                since_local: Some(local(row.changed_at)),
                until: row.expected_at,
                until_local: row.expected_at.map(local),
                by: Some(row.actor.clone()),
            },
            None => ServiceView {
                service: service.to_string(),
                state: ServiceState::Operational.to_string(),
                reason: None,
                since: None,
                since_local: None,
                until: None,
                until_local: None,
                by: None,
            },
        })
        .collect();
    OfficeView {
        code: office.code.to_string(),
        name: office.name.clone(),
        region: office.region.clone(),
        timezone: office.timezone.name().to_owned(),
        tpi: office.tpi,
        services,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/offices",
    tag = "offices",
    params(PageQuery),
    responses(
        (status = 200, description = "The offices in the caller's scope, by code", body = Page<OfficeView>),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
    )
)]
pub(super) async fn list(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<OfficeView>>, ApiError> {
    authed.require(Role::Viewer)?;
    let offices = state.store.office_directory().await?;
    let rows = state.store.service_board(None).await?;
    let visible: Vec<OfficeView> = offices
        .offices()
        .filter(|office| authed.caller.scope.covers(office))
        .map(|office| view(office, &rows))
        .collect();
    Ok(Json(page.page(visible, |office| office.code.clone())?))
}

#[utoipa::path(
    get,
    path = "/api/v1/offices/{code}",
    tag = "offices",
    params(("code" = String, Path, description = "Office code, e.g. PLG")),
    responses(
        (status = 200, description = "The office and its services", body = OfficeView),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "The office is outside the caller's scope", content_type = "application/problem+json"),
        (status = 404, description = "No such office", content_type = "application/problem+json"),
    )
)]
pub(super) async fn one(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<OfficeView>, ApiError> {
    authed.require(Role::Viewer)?;
    let code: OfficeCode =
        code.parse().map_err(|err: crate::domain::ParseError| ApiError::NotFound(err.0))?;
    let offices = state.store.office_directory().await?;
    let Some(office) = offices.office(&code) else {
        return Err(ApiError::NotFound(format!("there is no office {code}")));
    };
    authed.require_offices(Role::Viewer, std::slice::from_ref(&code), &offices)?;
    let rows = state.store.service_board(Some(&code)).await?;
    Ok(Json(view(office, &rows)))
}
