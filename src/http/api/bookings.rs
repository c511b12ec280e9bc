//! The booking sync for M-Paspor: `PUT /api/v1/bookings` (a JSON array of at most 10,000 rows)
//! and `POST /api/v1/bookings/import` (the CSV of `kabar import bookings`). Rows are checked as
//! the import checks a file and written by its statements, so a cancelled or rescheduled booking
//! does to pending messages exactly what a re-import does.
//!
//! Officers and above write bookings of the offices in their scope. Without `?strict=true` a row
//! for an office outside it is a row error like any other (field `office_code`) and the other
//! rows are written; with it nothing is written and the answer is 403 naming those offices. Any
//! other row error answers 422 listing each row and field.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::Authed;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::ApiState;
use crate::domain::{Booking, OfficeCode, ParseError};
use crate::http::problem::Problem;
use crate::import::{self, BookingRows, ImportError, ImportOptions, ImportReport, MAX_SYNC_ROWS};
use crate::staff::Role;

pub const INVALID_ROWS: &str = "urn:kabar:problem:invalid-rows";
pub const TOO_MANY_ROWS: &str = "urn:kabar:problem:too-many-rows";
pub const UNSUPPORTED_MEDIA: &str = "urn:kabar:problem:unsupported-media-type";

/// `?strict=true`: write nothing unless every row is valid.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// Write nothing if any row fails (default false: valid rows are written, bad ones reported).
    #[serde(default)]
    pub strict: bool,
}

/// One booking, keyed by the booking export's column names (the documentation of a row; rows
/// are read as objects so that each bad cell is reported with its row).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SyncRow {
    #[schema(example = "MP-2024-000123")]
    booking_code: String,
    #[schema(example = "PLG")]
    office_code: String,
    unit_code: Option<String>,
    name: String,
    /// 08…, 628… or +628….
    #[schema(example = "0812-3456-7890")]
    phone: String,
    email: Option<String>,
    whatsapp: Option<String>,
    /// id or en.
    language: Option<String>,
    /// `YYYY-MM-DD HH:MM` in the office's local time, or RFC 3339.
    #[schema(example = "2024-06-24 09:00")]
    appointment_at: String,
    /// regular or epassport.
    product: String,
    /// A boolean, or yes/no.
    #[schema(value_type = bool)]
    express: String,
    /// booked, attended, paid, printing, printed, ready, picked_up, cancelled, no_show.
    stage: String,
    /// `YYYY-MM-DD`.
    applied_at: Option<String>,
}

/// What the sync wrote.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncAnswer {
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Columns of the CSV kabar does not read.
    pub ignored_columns: Vec<String>,
}

impl From<ImportError> for ApiError {
    fn from(err: ImportError) -> Self {
        let detail = err.to_string();
        match err {
            ImportError::Store(err) | ImportError::Write { source: err, .. } => err.into(),
            ImportError::NoOffices { .. } => ApiError::Conflict(
                detail.replace("`kabar import offices data/offices.csv`", "`kabar import offices`"),
            ),
            ImportError::Header { .. } | ImportError::Encoding { .. } | ImportError::Read { .. } => {
                ApiError::Invalid { field: None, detail }
            }
            ImportError::Open { .. } => ApiError::Internal(Box::new(err)),
        }
    }
}

/// The answer: 200 with the counts, or 422 listing every row error (`row` is the index in the
/// JSON array from 0; `line` the CSV line).
fn answer(report: ImportReport, json: bool) -> Response {
    if report.rejected == 0 {
        let answer = SyncAnswer {
            rows: report.rows,
            inserted: report.counts.inserted,
            updated: report.counts.updated,
            unchanged: report.counts.unchanged,
            ignored_columns: report.ignored_columns,
        };
        return Json(answer).into_response();
    }
    let errors: Vec<serde_json::Value> = report
        .errors
        .iter()
        .map(|error| {
            let mut value = serde_json::json!({"field": error.column, "detail": error.message});
            value[if json { "row" } else { "line" }] = error.line.into();
            value
        })
        .collect();
    let detail = match report.written {
        true => format!(
            "{} of {} rows have errors and were not written; the other rows were; fix them and send them again",
            report.rejected, report.rows
        ),
        false => format!(
            "{} of {} rows have errors; with strict=true nothing was written: fix them and send all again",
            report.rejected, report.rows
        ),
    };
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, INVALID_ROWS, "Rows with errors", detail)
        .with("errors", errors)
        .with("more_errors", report.more_errors)
        .with("rows", report.rows)
        .with("rejected", report.rejected)
        .with("written", report.written)
        .with("inserted", report.counts.inserted)
        .with("updated", report.counts.updated)
        .with("unchanged", report.counts.unchanged)
        .into_response()
}

async fn sync_rows(
    state: &ApiState,
    authed: &Authed,
    rows: BookingRows<'_>,
    label: &str,
    strict: bool,
) -> Result<ImportReport, ApiError> {
    authed.require(Role::Officer)?;
    let directory = state.store.office_directory().await?;
    let scope = &authed.caller.scope;
    let outside = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let accept = |booking: &Booking| {
        if scope.covers_code(&booking.office, &directory) {
            return Ok(());
        }
        outside.lock().expect("never poisoned").insert(booking.office.clone());
        Err(ParseError::new(format!(
            "{} is outside your offices ({scope}); this row was not written",
            booking.office
        )))
    };
    let options =
        ImportOptions { strict, numbers: state.settings.numbers.clone(), ..ImportOptions::default() };
    let report =
        import::sync_bookings(&state.store, rows, label, &options, Some(&accept), Some(&authed.origin))
            .await?;
    let outside: Vec<OfficeCode> = outside.into_inner().expect("never poisoned").into_iter().collect();
    if strict && !outside.is_empty() {
        // Strict: nothing was written, and the request as a whole was not the caller's to make.
        let list = outside.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        return Err(ApiError::OutOfScope {
            detail: format!(
                "rows for {list}, outside your offices ({scope}); with strict=true nothing was written"
            ),
            offices: outside,
        });
    }
    Ok(report)
}

#[utoipa::path(
    put,
    path = "/api/v1/bookings",
    tag = "bookings",
    request_body = Vec<SyncRow>,
    params(SyncQuery),
    responses(
        (status = 200, description = "Every row was valid and is written (upserted by booking code)", body = SyncAnswer),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Role too low, or (strict) rows for offices outside the caller's scope", content_type = "application/problem+json"),
        (status = 413, description = "More than 10,000 rows", content_type = "application/problem+json"),
        (status = 422, description = "Rows with errors, each with its `row` (index from 0) and `field`; without strict the valid rows were written", content_type = "application/problem+json"),
    )
)]
pub(super) async fn sync(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<SyncQuery>,
    ApiJson(rows): ApiJson<Vec<serde_json::Map<String, serde_json::Value>>>,
) -> Result<Response, ApiError> {
    authed.require(Role::Officer)?;
    if rows.len() > MAX_SYNC_ROWS {
        let detail = format!(
            "{} rows in one request; send at most {MAX_SYNC_ROWS} per request, in several requests",
            rows.len()
        );
        return Ok(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_MANY_ROWS, "Too many rows", detail)
            .with("max_rows", MAX_SYNC_ROWS)
            .into_response());
    }
    let report = sync_rows(&state, &authed, BookingRows::Json(&rows), "bookings", query.strict).await?;
    Ok(answer(report, true))
}

#[utoipa::path(
    post,
    path = "/api/v1/bookings/import",
    tag = "bookings",
    request_body(content = String, content_type = "text/csv", description = "The CSV of `kabar import bookings`, header first"),
    params(
        SyncQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request"),
    ),
    responses(
        (status = 200, description = "Every row was valid and is written (upserted by booking code)", body = SyncAnswer),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
        (status = 403, description = "Role too low, or (strict) rows for offices outside the caller's scope", content_type = "application/problem+json"),
        (status = 415, description = "Not text/csv", content_type = "application/problem+json"),
        (status = 422, description = "The file cannot be read, or rows with errors, each with its `line` and `field`", content_type = "application/problem+json"),
    )
)]
pub(super) async fn import(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<SyncQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authed.require(Role::Officer)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !matches!(essence.as_str(), "text/csv" | "application/csv" | "text/plain") {
        let detail = format!(
            "the body is {:?}; send the booking export with Content-Type: text/csv (JSON rows go to PUT /api/v1/bookings)",
            if content_type.is_empty() { "without a Content-Type" } else { content_type }
        );
        return Ok(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, UNSUPPORTED_MEDIA, "Not CSV", detail)
            .into_response());
    }
    let report = sync_rows(&state, &authed, BookingRows::Csv(&body), "bookings.csv", query.strict).await?;
    Ok(answer(report, false))
}
