//! `GET /readyz`: whether this process can do its work: the database answers and holds exactly
//! the migrations of this build (an orchestrator sends no traffic to a kabar that would fail on
//! its first query, or that runs against a schema an older or newer kabar left).

use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::problem::Problem;
use super::HttpState;
use crate::store::SchemaStatus;

pub(super) const DATABASE_UNREACHABLE: &str = "urn:kabar:problem:database-unreachable";
pub(super) const SCHEMA_NOT_CURRENT: &str = "urn:kabar:problem:schema-not-current";

pub(super) async fn readyz(State(state): State<HttpState>) -> Response {
    let checked = tokio::time::timeout(state.store_timeout, state.store.schema_status()).await;
    let answer = match checked {
        Ok(Ok(schema)) if schema.is_current() => {
            transition(&state.ready, true, || tracing::info!("ready again: the database answers"));
            return Json(serde_json::json!({
                "status": "ready",
                "engine": schema.engine,
                "schema_version": schema.expected,
            }))
            .into_response();
        }
        Ok(Ok(schema)) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            SCHEMA_NOT_CURRENT,
            "Database schema is not this kabar's",
            schema_detail(&schema),
        ),
        Ok(Err(err)) => {
            transition(
                &state.ready,
                false,
                || tracing::warn!(error = %crate::observe::chain(&err), "not ready: the database cannot be read"),
            );
            return unreachable("the database cannot be reached or read").into_response();
        }
        Err(_) => {
            transition(
                &state.ready,
                false,
                || tracing::warn!(timeout = ?state.store_timeout, "not ready: the database does not answer"),
            );
            return unreachable(format!("the database did not answer within {:?}", state.store_timeout))
                .into_response();
        }
    };
    transition(&state.ready, false, || tracing::warn!(detail = %answer.detail, "not ready"));
    answer.into_response()
}

fn unreachable(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, DATABASE_UNREACHABLE, "Database unreachable", detail)
}

fn schema_detail(schema: &SchemaStatus) -> String {
    let list = |versions: &[i64]| versions.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let mut parts = Vec::new();
    if !schema.pending.is_empty() {
        parts.push(format!("migrations {} are not applied: run `kabar migrate`", list(&schema.pending)));
    }
    if !schema.changed.is_empty() {
        parts.push(format!(
            "migrations {} were applied with other contents than this build's",
            list(&schema.changed)
        ));
    }
    format!(
        "the {} database is at migration {}, this kabar expects {}; {}",
        schema.engine,
        schema.applied.map_or("none".to_owned(), |v| v.to_string()),
        schema.expected,
        parts.join("; ")
    )
}

/// Runs `log` when the flag changes to `now`: a failure is logged once when it starts.
pub(super) fn transition(flag: &AtomicBool, now: bool, log: impl FnOnce()) {
    if flag.swap(now, Ordering::Relaxed) != now {
        log();
    }
}
