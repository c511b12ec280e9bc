//! `Idempotency-Key` on every `POST`: the first answer is kept 24 hours per caller and key; a
//! repeat of the same request gets it again (with `Idempotent-Replayed: true`) without acting
//! twice, a repeat with another method, path or body is refused (422), and one that arrives while
//! the first is still being answered waits its turn (409). A 5xx is not kept: the request may be
//! tried again.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::auth::Authed;
use super::error::ApiError;
use super::{ApiState, BODY_LIMIT};
use crate::store::IdempotentStart;

const KEY_HEADER: &str = "idempotency-key";
const TTL_SECONDS: i64 = 24 * 60 * 60;
/// Answers larger than this are not kept (none of kabar's POST answers is near it).
const KEPT_ANSWER_LIMIT: usize = 1024 * 1024;

pub(super) async fn idempotent(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(KEY_HEADER) {
        return next.run(request).await;
    }
    match keep(state, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn keep(state: ApiState, request: Request, next: Next) -> Result<Response, Response> {
    let key = request.headers().get(KEY_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let key = key.filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()));
    let Some(key) = key else {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "use 1 to 255 visible ASCII characters, e.g. a UUID",
        )
        .into_response());
    };
    let (mut parts, body) = request.into_parts();
    // Keys are per caller; an unauthenticated request goes on to be refused by its handler.
    let authed = match Authed::from_request_parts(&mut parts, &state).await {
        Ok(authed) => authed,
        Err(err) => return Err(err.into_response()),
    };
    let bytes = to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response())?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path_and_query().map_or("", |path| path.as_str()).as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let hash = hex::encode(hasher.finalize());
    let actor = authed.caller.actor.to_string();
    let start = state
        .store
        .begin_idempotent(&actor, &key, &hash, chrono::Utc::now(), TTL_SECONDS)
        .await
        .map_err(|err| ApiError::from(err).into_response())?;
    match start {
        IdempotentStart::Mismatch => Err(ApiError::IdempotencyMismatch.into_response()),
        IdempotentStart::InProgress => Err(ApiError::IdempotencyInProgress.into_response()),
        IdempotentStart::Replay { status, content_type, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, body).into_response();
            if let Some(value) = content_type.and_then(|value| HeaderValue::from_str(&value).ok()) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        IdempotentStart::New => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let (parts, body) = response.into_parts();
            let Ok(bytes) = to_bytes(body, KEPT_ANSWER_LIMIT).await else {
                let _ = state.store.finish_idempotent(&actor, &key, None).await;
                return Err(ApiError::Internal("an answer too large to keep for its Idempotency-Key".into())
                    .into_response());
            };
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
            let kept = (!parts.status.is_server_error()).then_some((
                parts.status.as_u16(),
                content_type,
                text.as_str(),
            ));
            if let Err(err) = state.store.finish_idempotent(&actor, &key, kept).await {
                // The action is done; only its replay is lost. Say so once, answer anyway.
                tracing::warn!(error = %crate::observe::chain(&err), "cannot keep the answer of an Idempotency-Key");
            }
            Ok(Response::from_parts(parts, Body::from(bytes)))
        }
    }
}
