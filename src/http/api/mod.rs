//! The staff and machine API under `/api/v1`: JSON in and out, RFC 9457 problems for errors,
//! one authorization check ([`auth::Authed`]) on every route, and an OpenAPI 3.1 document
//! generated from the handlers themselves (`GET /api/v1/openapi.json`, no authentication).
//!
//! Each route module is thin: it parses, authorises, calls the service the CLI calls, renders.
//! Routes are registered through utoipa-axum's `routes!`, which takes each handler's path and
//! method from its `#[utoipa::path]`: the router and the document come from one declaration.

pub(crate) mod admin;
pub(crate) mod audit;
pub(crate) mod auth;
// Broadcasts and the booking sync (issue 13 part B).
mod bookings;
pub(crate) mod broadcast_views;
pub(crate) mod broadcasts;
// End of broadcasts and the booking sync.
mod error;
mod extract;
mod idempotency;
mod me;
mod offices;
pub(crate) mod proposals;
mod queue;
mod state_changes;

// Incidents, call list and delivery reports (issue 13).
pub(crate) mod call_list;
pub(crate) mod incidents;
pub(crate) mod reports;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

use crate::domain::NumberPolicy;
use crate::plan::notice::NoticeConfig;
use crate::plan::PlannerConfig;
use crate::render::Catalogue;
use crate::staff::{Authenticator, CostsConfig, StaffConfig};
use crate::store::Store;

/// What the API routes share. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) store: Store,
    pub(crate) auth: Authenticator,
    pub(crate) settings: Arc<ApiSettings>,
    /// Dry runs' audience counts, in memory ([`crate::plan::AudienceIndex`]).
    pub(crate) audience: Arc<crate::plan::AudienceIndex>,
}

/// The configuration the API reads.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub staff: StaffConfig,
    pub costs: CostsConfig,
    pub planner: PlannerConfig,
    /// Broadcasts and the booking sync (issue 13 part B): the wording and templates previews
    /// render with, and whose numbers a synced booking may carry (`[import] allowed_countries`).
    pub notices: NoticeConfig,
    pub catalogue: Arc<Catalogue>,
    pub numbers: NumberPolicy,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            staff: StaffConfig::default(),
            costs: CostsConfig::default(),
            planner: PlannerConfig::default(),
            notices: NoticeConfig::default(),
            catalogue: Arc::new(Catalogue::builtin()),
            numbers: NumberPolicy::default(),
        }
    }
}

impl ApiState {
    pub fn new(store: Store, settings: ApiSettings) -> ApiState {
        let auth = Authenticator::new(store.clone(), settings.staff.limits());
        ApiState { store, auth, settings: Arc::new(settings), audience: Arc::default() }
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "kabar staff API",
        description = "Service states, incidents, broadcasts and booking sync for Indonesia's immigration \
                       offices. Authenticate with `Authorization: Bearer kbr_…` (`kabar token create`). \
                       Errors are RFC 9457 problem details.",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("kbr_…").build(),
            ),
        );
    }
}

/// Every documented route, with its document.
fn documented() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me::me))
        .routes(routes!(offices::list))
        .routes(routes!(offices::one))
        .routes(routes!(state_changes::create))
        .routes(routes!(queue::queue))
        .routes(routes!(audit::list))
        .routes(routes!(admin::list_staff, admin::add_staff))
        .routes(routes!(admin::update_staff))
        .routes(routes!(admin::list_tokens, admin::create_token))
        .routes(routes!(admin::revoke_token))
        // Automatic detection's proposals.
        .routes(routes!(proposals::list))
        .routes(routes!(proposals::confirm))
        .routes(routes!(proposals::dismiss))
        // Broadcasts and the booking sync (issue 13 part B).
        .routes(routes!(broadcasts::preview))
        .routes(routes!(broadcasts::list, broadcasts::create))
        .routes(routes!(broadcasts::one))
        .routes(routes!(broadcasts::submit))
        .routes(routes!(broadcasts::approve))
        .routes(routes!(broadcasts::reject))
        .routes(routes!(broadcasts::cancel))
        .routes(routes!(bookings::sync))
        .routes(routes!(bookings::import))
        // Incidents, call list and delivery reports.
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::one))
        .routes(routes!(incidents::post_update_route))
        .routes(routes!(call_list::call_list))
        .routes(routes!(call_list::record_outcome))
        .routes(routes!(reports::incident_messages))
        .routes(routes!(reports::broadcast_messages))
}

/// The OpenAPI 3.1 document of every `/api/v1` route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().into_openapi()
}

/// The largest request body: a `PUT /bookings` of 10,000 rows fits.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The `/api/v1` routes and the OpenAPI document.
pub fn router(state: ApiState) -> Router {
    let (api, document) = documented().split_for_parts();
    let document = Arc::new(document.to_pretty_json().expect("the OpenAPI document serialises"));
    let api = api
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotent))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state);
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move {
                    ([(header::CONTENT_TYPE, "application/json")], document.as_str().to_owned())
                        .into_response()
                }
            }),
        )
        .merge(api)
        // An unknown `/api/v1/…` path is a problem too, not an empty 404.
        .route("/api/v1/{*rest}", axum::routing::any(unknown_path))
}

async fn unknown_path(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "there is no API route {}; the routes are listed in /api/v1/openapi.json",
        uri.path()
    ))
}
