//! `GET /api/v1/incidents/{id}/messages` and `GET /api/v1/broadcasts/{id}/messages`: the delivery
//! report, one row per message, streamed page by page as the CLI's export reads it (CSV by default
//! or for `Accept: text/csv`, JSON lines for `Accept: application/x-ndjson`), so a national
//! incident's million rows never sit in memory. Phone numbers are masked unless an officer or
//! above asks `?full_phone=true`; that read is itself audited.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Authed;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::incidents::visible_incident;
use super::ApiState;
use crate::domain::OfficeCode;
use crate::plan::broadcast::BroadcastFilter;
use crate::report::{codes, joined_codes, line, EXPORT_COLUMNS};
use crate::staff::Role;
use crate::store::{ExportRow, MessageFilter, Store, StoreError, EXPORT_PAGE};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Whole phone numbers (officers and above; the read is audited). Masked otherwise.
    #[serde(default)]
    full_phone: bool,
}

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// JSON lines when the client asks for them, CSV otherwise.
    fn of(headers: &HeaderMap) -> Format {
        let accept = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or("");
        if accept.contains("application/x-ndjson") {
            Format::JsonLines
        } else {
            Format::Csv
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/x-ndjson",
        }
    }
}

/// What to report and to whom.
struct Report {
    filter: MessageFilter,
    /// Only rows of these offices (a broadcast to offices partly outside the caller's scope);
    /// `None`: every row.
    only: Option<Vec<OfficeCode>>,
    /// The audit target of a full-phone read, e.g. `incident:7`.
    target: String,
    offices: Vec<OfficeCode>,
}

fn write_page(
    rows: &[ExportRow],
    format: Format,
    full_phone: bool,
    only: Option<&[OfficeCode]>,
) -> Result<Vec<u8>, StoreError> {
    let rows = rows.iter().filter(|row| only.is_none_or(|only| only.contains(&row.office)));
    let failed =
        |err: &dyn std::fmt::Display| StoreError::Corrupt(format!("cannot write a report row: {err}"));
    match format {
        Format::Csv => {
            let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
            for row in rows {
                writer
                    .serialize(line(row, joined_codes(row), full_phone, true))
                    .map_err(|err| failed(&err))?;
            }
            writer.into_inner().map_err(|err| failed(&err))
        }
        Format::JsonLines => {
            let mut out = Vec::new();
            for row in rows {
                serde_json::to_writer(&mut out, &line(row, codes(row), full_phone, false))
                    .map_err(|err| failed(&err))?;
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

fn header_row() -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(EXPORT_COLUMNS).expect("writing to memory succeeds");
    Bytes::from(writer.into_inner().expect("writing to memory succeeds"))
}

/// The report as a streamed body: the CSV header, then a page of rows at a time.
fn stream(store: Store, report: Report, format: Format, full_phone: bool) -> Body {
    let pages =
        futures::stream::try_unfold((store, report, i64::MIN), move |(store, report, after)| async move {
            let rows = store.export_page(&report.filter, after, EXPORT_PAGE).await?;
            let Some(last) = rows.last().map(|row| row.message_id) else {
                return Ok::<_, StoreError>(None);
            };
            let bytes = write_page(&rows, format, full_phone, report.only.as_deref())?;
            Ok(Some((Bytes::from(bytes), (store, report, last))))
        });
    let pages = futures::StreamExt::inspect(pages, |page| {
        if let Err(err) = page {
            tracing::error!(error = %crate::observe::chain(err), "a streamed delivery report stopped");
        }
    });
    match format {
        Format::Csv => Body::from_stream(futures::StreamExt::chain(
            futures::stream::once(async { Ok::<_, StoreError>(header_row()) }),
            pages,
        )),
        Format::JsonLines => Body::from_stream(pages),
    }
}

async fn respond(
    state: &ApiState,
    authed: &Authed,
    report: Report,
    query: &ReportQuery,
    format: Format,
) -> Result<Response, ApiError> {
    if query.full_phone {
        authed.require(Role::Officer).map_err(|_| {
            ApiError::Forbidden(format!(
                "whole phone numbers need the officer role; {} {} is {}: leave out full_phone for masked numbers",
                authed.caller.kind, authed.caller.name, authed.caller.role
            ))
        })?;
        let entry = authed
            .origin
            .entry(chrono::Utc::now(), "report.full_phone", report.target.clone())
            .with_offices(report.offices.clone())
            .with_summary(serde_json::json!({
                "format": match format { Format::Csv => "csv", Format::JsonLines => "jsonl" },
            }));
        state.store.record_audit(entry).await?;
    }
    let body = stream(state.store.clone(), report, format, query.full_phone);
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/messages",
    tag = "reports",
    params(("id" = i64, Path, description = "Incident id"), ReportQuery),
    responses(
        (status = 200, description = "One row per message of the incident (its notices and staff updates)", content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Whole numbers need the officer role", content_type = "application/problem+json"),
        (status = 404, description = "No such incident among the caller's offices", content_type = "application/problem+json"),
    )
)]
pub(super) async fn incident_messages(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    incident_report(&state, &authed, id, &query, Format::of(&headers)).await
}

/// The incident's delivery report as CSV, streamed: the console's download, the same report,
/// checks and audit of a full-phone read as `GET /incidents/{id}/messages`.
pub(crate) async fn incident_csv(
    state: &ApiState,
    authed: &Authed,
    id: i64,
    full_phone: bool,
) -> Result<Response, ApiError> {
    incident_report(state, authed, id, &ReportQuery { full_phone }, Format::Csv).await
}

async fn incident_report(
    state: &ApiState,
    authed: &Authed,
    id: i64,
    query: &ReportQuery,
    format: Format,
) -> Result<Response, ApiError> {
    authed.require(Role::Viewer)?;
    let (record, _) = visible_incident(state, authed, id).await?;
    let report = Report {
        filter: MessageFilter { incident: Some(record.id), broadcast: None },
        only: None,
        target: format!("incident:{}", record.id),
        offices: vec![record.office],
    };
    respond(state, authed, report, query, format).await
}

#[utoipa::path(
    get,
    path = "/api/v1/broadcasts/{id}/messages",
    tag = "reports",
    params(("id" = i64, Path, description = "Broadcast id"), ReportQuery),
    responses(
        (status = 200, description = "One row per message of the broadcast at the caller's offices", content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Whole numbers need the officer role", content_type = "application/problem+json"),
        (status = 404, description = "No such broadcast to the caller's offices", content_type = "application/problem+json"),
    )
)]
pub(super) async fn broadcast_messages(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authed.require(Role::Viewer)?;
    let not_found = || ApiError::NotFound(format!("there is no broadcast {id} to your offices"));
    let broadcast = state.store.broadcast(id).await?.ok_or_else(not_found)?;
    let directory = state.store.office_directory().await?;
    let filter: BroadcastFilter = serde_json::from_str(&broadcast.filter_json)
        .map_err(|err| ApiError::Internal(format!("broadcast {id} filter: {err}").into()))?;
    let offices: Vec<OfficeCode> = filter
        .offices(&directory)
        .map_err(|err| ApiError::Internal(format!("broadcast {id}: {err}").into()))?
        .into_iter()
        .map(|office| office.code.clone())
        .collect();
    let visible: Vec<OfficeCode> =
        offices.iter().filter(|code| authed.sees(code, &directory)).cloned().collect();
    if visible.is_empty() {
        return Err(not_found());
    }
    let report = Report {
        filter: MessageFilter { incident: None, broadcast: Some(id) },
        // Rows of the offices outside the caller's scope are left out.
        only: (visible.len() < offices.len()).then(|| visible.clone()),
        target: format!("broadcast:{id}"),
        offices: visible,
    };
    respond(&state, &authed, report, &query, Format::of(&headers)).await
}
