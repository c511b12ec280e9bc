//! The HTML flavour of the API's refusals: the same [`ApiError`] from the same checks, answered
//! as a page in the staff member's language. No session → `303` to the login page; a role or
//! scope refusal → a 403 page naming the offices; a 5xx's cause is logged, never shown.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::pages::{word, Frame};
use crate::domain::Language;
use crate::http::api::ApiError;
use crate::staff::SessionError;
use crate::store::StoreError;

/// Why a console request got no page of its own.
#[derive(Debug)]
pub(crate) enum ConsoleError {
    /// Not signed in (or the session ended): back to the login page.
    Login { ended: bool },
    /// The form's CSRF token or its origin is wrong.
    Csrf(Language),
    /// Anything the API would refuse, in the caller's language.
    Api(ApiError, Language),
}

impl ConsoleError {
    pub fn api(language: Language) -> impl FnOnce(ApiError) -> ConsoleError {
        move |err| ConsoleError::Api(err, language)
    }
}

impl From<SessionError> for ConsoleError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::Missing => ConsoleError::Login { ended: false },
            SessionError::Idle(_) | SessionError::Expired(_) | SessionError::Disabled => {
                ConsoleError::Login { ended: true }
            }
            SessionError::Store(err) => ConsoleError::Api(err.into(), Language::Id),
        }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(err: StoreError) -> Self {
        ConsoleError::Api(err.into(), Language::Id)
    }
}

fn page(
    language: Language,
    status: StatusCode,
    heading: &str,
    text: String,
    extra: serde_json::Value,
) -> Response {
    let mut data = json!({"heading": heading, "text": text, "back": "/console"});
    if let serde_json::Value::Object(fields) = extra {
        for (key, value) in fields {
            data[key.as_str()] = value;
        }
    }
    Frame::anonymous(language).page(status, "error", heading, data)
}

fn rate_limited(language: Language, wait: Duration) -> Response {
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let heading = word(language, "errors", "rate_limited");
    let mut response = page(
        language,
        StatusCode::TOO_MANY_REQUESTS,
        &heading,
        String::new(),
        json!({"wait": seconds, "back": "/console/login"}),
    );
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (err, language) = match self {
            ConsoleError::Login { ended } => {
                return Redirect::to(if ended { "/console/login?ended=1" } else { "/console/login" })
                    .into_response()
            }
            ConsoleError::Csrf(language) => {
                let heading = word(language, "errors", "forbidden");
                return page(
                    language,
                    StatusCode::FORBIDDEN,
                    &heading,
                    word(language, "errors", "csrf"),
                    json!({}),
                );
            }
            ConsoleError::Api(err, language) => (err, language),
        };
        let forbidden = word(language, "errors", "forbidden");
        match err {
            ApiError::Unauthenticated(_) => ConsoleError::Login { ended: false }.into_response(),
            ApiError::RateLimited(wait) => rate_limited(language, wait),
            ApiError::Forbidden(_) => page(
                language,
                StatusCode::FORBIDDEN,
                &forbidden,
                word(language, "errors", "forbidden_text"),
                json!({}),
            ),
            ApiError::OutOfScope { offices, .. } => {
                let list = offices.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                page(
                    language,
                    StatusCode::FORBIDDEN,
                    &forbidden,
                    word(language, "errors", "forbidden_text"),
                    json!({"offices": list}),
                )
            }
            ApiError::NotFound(detail) => page(
                language,
                StatusCode::NOT_FOUND,
                &word(language, "errors", "not_found"),
                detail,
                json!({}),
            ),
            ApiError::Invalid { detail, .. } | ApiError::Malformed(detail) | ApiError::Conflict(detail) => {
                page(
                    language,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &word(language, "errors", "invalid"),
                    detail,
                    json!({}),
                )
            }
            other @ (ApiError::Unavailable(_)
            | ApiError::Internal(_)
            | ApiError::IdempotencyMismatch
            | ApiError::IdempotencyInProgress) => {
                // The API's answer logs the cause once; the page says only that it happened.
                let status = other.into_response().status();
                page(
                    language,
                    status,
                    &word(language, "errors", "internal"),
                    word(language, "errors", "internal_text"),
                    json!({}),
                )
            }
        }
    }
}
