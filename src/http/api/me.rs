//! `GET /api/v1/me`: who the caller is.

use axum::Json;
use serde::Serialize;

use super::auth::Authed;
use super::error::ApiError;

/// The caller, as the authorization check sees them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// `staff` or `token`.
    #[schema(example = "token")]
    pub kind: String,
    /// The username or the token's name.
    #[schema(example = "m-paspor")]
    pub name: String,
    /// As the audit log names the caller.
    #[schema(example = "token:m-paspor")]
    pub actor: String,
    /// viewer, officer, supervisor or admin.
    #[schema(example = "officer")]
    pub role: String,
    /// Office codes, region:NAME entries, or all.
    #[schema(example = "PLG,GTO")]
    pub offices: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "caller",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
    )
)]
pub(super) async fn me(authed: Authed) -> Result<Json<Me>, ApiError> {
    let caller = authed.caller;
    Ok(Json(Me {
        kind: caller.kind.to_owned(),
        name: caller.name,
        actor: caller.actor.to_string(),
        role: caller.role.to_string(),
        offices: caller.scope.to_string(),
    }))
}
