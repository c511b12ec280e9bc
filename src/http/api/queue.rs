//! `GET /api/v1/queue`: the queue at a glance, as `kabar status --json` prints it (counts only,
//! no office or applicant).

use axum::extract::State;
use axum::Json;

use super::auth::Authed;
use super::error::ApiError;
use super::ApiState;
use crate::staff::Role;

#[utoipa::path(
    get,
    path = "/api/v1/queue",
    tag = "delivery",
    responses(
        (status = 200, description = "Messages by status and channel, what is due, what waits (as `kabar status --json`)", body = Object),
        (status = 401, description = "No or invalid credentials", content_type = "application/problem+json"),
    )
)]
pub(super) async fn queue(
    State(state): State<ApiState>,
    authed: Authed,
) -> Result<Json<serde_json::Value>, ApiError> {
    authed.require(Role::Viewer)?;
    let status = state.store.queue_status(chrono::Utc::now()).await?;
    Ok(Json(status.to_json()))
}
