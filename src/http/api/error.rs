//! The one error type of the staff API, answered as RFC 9457 problem details. Every `type` is a
//! stable `urn:kabar:problem:…`; 4xx are the caller's mistakes and say what to do, a 5xx is ours:
//! its cause is logged once here and never returned.

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::OfficeCode;
use crate::http::problem::Problem;
use crate::staff::{AuthError, StaffError};
use crate::state::StateError;
use crate::store::StoreError;

pub const UNAUTHENTICATED: &str = "urn:kabar:problem:unauthenticated";
pub const RATE_LIMITED: &str = "urn:kabar:problem:rate-limited";
pub const FORBIDDEN: &str = "urn:kabar:problem:forbidden";
pub const OUT_OF_SCOPE: &str = "urn:kabar:problem:out-of-scope";
pub const NOT_FOUND: &str = "urn:kabar:problem:not-found";
pub const INVALID: &str = "urn:kabar:problem:invalid-request";
pub const MALFORMED: &str = "urn:kabar:problem:malformed-request";
pub const CONFLICT: &str = "urn:kabar:problem:conflict";
pub const IDEMPOTENCY_MISMATCH: &str = "urn:kabar:problem:idempotency-key-reused";
pub const IDEMPOTENCY_IN_PROGRESS: &str = "urn:kabar:problem:idempotency-key-in-progress";
pub const INTERNAL: &str = "urn:kabar:problem:internal";
pub const UNAVAILABLE: &str = "urn:kabar:problem:unavailable";

/// Why a request was not answered with what it asked for.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("too many failed attempts")]
    RateLimited(Duration),
    /// The caller's role is not enough.
    #[error("{0}")]
    Forbidden(String),
    /// Some offices of the request are outside the caller's scope.
    #[error("{detail}")]
    OutOfScope { detail: String, offices: Vec<OfficeCode> },
    #[error("{0}")]
    NotFound(String),
    /// A value was wrong: `field` names it.
    #[error("{detail}")]
    Invalid { field: Option<String>, detail: String },
    /// The body or query could not be read at all.
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyMismatch,
    #[error("the first request with this Idempotency-Key is still being answered")]
    IdempotencyInProgress,
    /// The database is unreachable for now.
    #[error("the database is unreachable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> ApiError {
        ApiError::Invalid { field: Some(field.to_owned()), detail: detail.into() }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_transient() {
            ApiError::Unavailable(err)
        } else {
            ApiError::Internal(Box::new(err))
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unauthenticated(detail) => ApiError::Unauthenticated(detail),
            AuthError::RateLimited(wait) => ApiError::RateLimited(wait),
            AuthError::Store(err) => err.into(),
        }
    }
}

impl From<StaffError> for ApiError {
    fn from(err: StaffError) -> Self {
        let detail = err.to_string();
        match err {
            StaffError::Store(err) => err.into(),
            StaffError::UnknownStaff(_) | StaffError::UnknownToken(_) => ApiError::NotFound(detail),
            StaffError::StaffExists(_) | StaffError::TokenExists(_) | StaffError::AlreadyRevoked(_) => {
                ApiError::Conflict(detail)
            }
            StaffError::Password(_) => ApiError::invalid("password", detail),
            StaffError::Scope(_) => ApiError::invalid("offices", detail),
            StaffError::Name(_) => ApiError::invalid("name", detail),
            StaffError::Expires(_) => ApiError::invalid("expires", detail),
        }
    }
}

impl From<StateError> for ApiError {
    fn from(err: StateError) -> Self {
        let detail = err.to_string();
        match err {
            StateError::Store(err) => err.into(),
            StateError::UnknownOffice(_) | StateError::EmptyRegion(_) | StateError::NoOffices => {
                ApiError::invalid("offices", detail)
            }
            StateError::NoCheckpoint(..) => ApiError::invalid("service", detail),
            StateError::ReasonRequired(_) => {
                ApiError::invalid("reason", detail.replace("--reason", "reason"))
            }
            StateError::Until(_) | StateError::UntilPast { .. } => {
                ApiError::invalid("until", detail.replace("--until", "until"))
            }
            StateError::Reason(_) => ApiError::invalid("reason", detail),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            // serde's message names the field and what was expected.
            JsonRejection::JsonDataError(err) => ApiError::Invalid { field: None, detail: err.body_text() },
            other => ApiError::Malformed(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Invalid { field: None, detail: rejection.body_text() }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::Malformed(rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = self.to_string();
        let problem = match self {
            ApiError::Unauthenticated(_) => {
                let problem =
                    Problem::new(StatusCode::UNAUTHORIZED, UNAUTHENTICATED, "Not authenticated", detail);
                let mut response = problem.into_response();
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            ApiError::RateLimited(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let problem = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    RATE_LIMITED,
                    "Too many failed attempts",
                    format!("too many failed attempts; try again in {seconds} s"),
                );
                let mut response = problem.into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                return response;
            }
            ApiError::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, FORBIDDEN, "Not allowed", detail),
            ApiError::OutOfScope { offices, .. } => {
                let offices: Vec<String> = offices.iter().map(ToString::to_string).collect();
                Problem::new(StatusCode::FORBIDDEN, OUT_OF_SCOPE, "Offices outside your scope", detail)
                    .with("offices", offices)
            }
            ApiError::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, NOT_FOUND, "Not found", detail),
            ApiError::Invalid { field, .. } => {
                let problem =
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, INVALID, "Invalid request", detail);
                match field {
                    Some(field) => problem.with("field", field),
                    None => problem,
                }
            }
            ApiError::Malformed(_) => {
                Problem::new(StatusCode::BAD_REQUEST, MALFORMED, "Malformed request", detail)
            }
            ApiError::Conflict(_) => Problem::new(StatusCode::CONFLICT, CONFLICT, "Conflict", detail),
            ApiError::IdempotencyMismatch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                IDEMPOTENCY_MISMATCH,
                "Idempotency-Key reused",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            )
            .with("field", "Idempotency-Key"),
            ApiError::IdempotencyInProgress => Problem::new(
                StatusCode::CONFLICT,
                IDEMPOTENCY_IN_PROGRESS,
                "Request in progress",
                "the first request with this Idempotency-Key is still being answered; repeat it in a moment",
            ),
            ApiError::Unavailable(err) => {
                tracing::warn!(error = %crate::observe::chain(&err), "API request failed: database unreachable");
                let problem = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    UNAVAILABLE,
                    "Temporarily unavailable",
                    "the database cannot be reached; try again shortly",
                );
                let mut response = problem.into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return response;
            }
            ApiError::Internal(err) => {
                tracing::error!(error = %crate::observe::chain(err.as_ref()), "API request failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    INTERNAL,
                    "Internal error",
                    "kabar could not answer this request; the cause is in its log",
                )
            }
        };
        problem.into_response()
    }
}
