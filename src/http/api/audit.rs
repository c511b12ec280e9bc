//! `GET /api/v1/audit`: the audit log, oldest first. Admins read all of it; officers and
//! supervisors read the rows about their offices. The console's audit page reads through the
//! same [`visible_records`] and [`verify`].

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::auth::Authed;
use super::error::ApiError;
use super::extract::{ApiQuery, Page, DEFAULT_LIMIT, MAX_LIMIT};
use super::ApiState;
use crate::audit::{AuditFilter, AuditRecord, AuditVerification};
use crate::domain::{parse_date, OfficeCode};
use crate::staff::Role;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The `next` of the previous page (a row id).
    after: Option<i64>,
    /// Rows per page, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// Only rows from this instant on: RFC 3339, or a date (from 00:00 UTC).
    since: Option<String>,
    /// Only this actor (staff:budi), or every actor of a kind (staff:).
    actor: Option<String>,
    /// Only rows about this office.
    office: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit rows, oldest first", body = Object),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Viewers do not read the audit log; the office is outside the caller's scope", content_type = "application/problem+json"),
        (status = 422, description = "A filter is wrong (named in `field`)", content_type = "application/problem+json"),
    )
)]
pub(super) async fn list(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditRecord>>, ApiError> {
    authed.require(Role::Officer)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("limit = {limit}; use 1 to {MAX_LIMIT}")));
    }
    let since = query.since.as_deref().map(parse_since).transpose()?;
    let filter = audit_filter(since, query.actor, query.office.as_deref())?;
    let after = query.after.unwrap_or(0);
    let mut rows = Vec::new();
    visible_records(&state, &authed, &filter, |record| {
        if record.id > after && rows.len() <= limit {
            rows.push(record);
        }
    })
    .await?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| row.id.to_string())
    } else {
        None
    };
    Ok(Json(Page { items: rows, next }))
}

/// `since` as the API takes it: RFC 3339, or a date (from 00:00 UTC).
fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    Ok(match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(instant) => instant.to_utc(),
        Err(_) => parse_date(text)
            .map_err(|err| ApiError::invalid("since", err.0))?
            .and_hms_opt(0, 0, 0)
            .map(|start| start.and_utc())
            .unwrap_or_default(),
    })
}

/// The filter of an audit read, its office parsed (the field named when it is wrong).
pub(crate) fn audit_filter(
    since: Option<chrono::DateTime<chrono::Utc>>,
    actor: Option<String>,
    office: Option<&str>,
) -> Result<AuditFilter, ApiError> {
    let office =
        office.map(str::parse::<OfficeCode>).transpose().map_err(|err| ApiError::invalid("office", err.0))?;
    Ok(AuditFilter { since, actor, office })
}

/// Hands `keep` every row of the log that `filter` covers and the caller may read, oldest first:
/// officers and supervisors the rows about their offices (an office filter outside their scope
/// is refused), admins all of them. The API and the console's audit page read through this.
pub(crate) async fn visible_records(
    state: &ApiState,
    authed: &Authed,
    filter: &AuditFilter,
    mut keep: impl FnMut(AuditRecord),
) -> Result<(), ApiError> {
    authed.require(Role::Officer)?;
    let offices = state.store.office_directory().await?;
    let whole_log = authed.caller.role >= Role::Admin;
    if let Some(code) = &filter.office {
        if !whole_log {
            authed.require_offices(Role::Officer, std::slice::from_ref(code), &offices)?;
        }
    }
    state
        .store
        .audit_records(filter, |record| {
            let visible = whole_log
                || record
                    .offices
                    .iter()
                    .any(|code| code.parse::<OfficeCode>().is_ok_and(|code| authed.sees(&code, &offices)));
            if visible {
                keep(record);
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// The verdict on the whole chain, as `kabar audit verify` gives it: for admins, who read the
/// whole log (a verdict names rows of every office).
pub(crate) async fn verify(state: &ApiState, authed: &Authed) -> Result<AuditVerification, ApiError> {
    authed.require(Role::Admin)?;
    Ok(state.store.verify_audit().await?)
}
