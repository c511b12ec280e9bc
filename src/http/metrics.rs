//! `GET /metrics`: the process's metrics and the store's gauges, in Prometheus text format.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::health::transition;
use super::problem::Problem;
use super::HttpState;
use crate::observe::metrics::render_store;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(super) async fn metrics(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let valid =
            given.is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.expose_secret().as_bytes())));
        if !valid {
            let mut response = Problem::new(
                StatusCode::UNAUTHORIZED,
                "urn:kabar:problem:unauthorized",
                "Unauthorized",
                "GET /metrics needs Authorization: Bearer with the configured http.metrics_token",
            )
            .into_response();
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    let scraped =
        tokio::time::timeout(state.store_timeout, state.store.queue_gauges(Utc::now(), state.settle_seconds))
            .await;
    let gauges = match scraped {
        Ok(Ok(gauges)) => {
            transition(&state.scraped, true, || tracing::info!("metrics: the store gauges are back"));
            Some(gauges)
        }
        Ok(Err(err)) => {
            transition(
                &state.scraped,
                false,
                || tracing::warn!(error = %crate::observe::chain(&err), "metrics: the store cannot be read; kabar_store_up is 0"),
            );
            None
        }
        Err(_) => {
            transition(
                &state.scraped,
                false,
                || tracing::warn!(timeout = ?state.store_timeout, "metrics: the store does not answer; kabar_store_up is 0"),
            );
            None
        }
    };
    let mut body = state.metrics.render();
    body.push_str(&render_store(gauges.as_ref()));
    ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], body).into_response()
}
