//! The staff console at `/console`: server-rendered pages for people, over the same services and
//! the same authorization check as the staff API ([`crate::http::api::auth::Authed`]).
//!
//! | route | page |
//! |---|---|
//! | `GET/POST /console/login`, `POST /console/logout` | login, logout ([`login`]) |
//! | `POST /console/language` | the language toggle, remembered on the account |
//! | `GET /console` | the board: the caller's offices, services, open incidents ([`board`]) |
//! | `GET /console/national` | supervisors: every office in scope by region, filtered |
//! | `GET /console/change`, `POST /console/change/{confirm,edit,apply,undo}` | change a state ([`change`]) |
//! | `POST /console/proposals/{confirm,dismiss}` | supervisors: decide what automatic detection proposes ([`proposals`]) |
//! | `GET /console/assets/console.css`, `GET /console/assets/compose.js` | the stylesheet; the composer's live count |
//! | `GET/POST /console/admin/staff[/{username}[/access,disable,enable,password]]`, `GET/POST /console/admin/tokens`, `POST /console/admin/tokens/revoke`, `GET /console/admin/audit` | admins: staff, tokens; officers+: the audit log and its verification ([`admin`]) |
//! | `GET /console/broadcasts`, `GET /console/broadcasts/{new,ID}`, `POST /console/broadcasts[/preview]`, `POST /console/broadcasts/ID/cancel` | broadcasts: list, composer with preview, draft and submit, progress, cancel ([`broadcasts`]) |
//! | `GET /console/approvals`, `POST /console/broadcasts/ID/{approve,reject}` | supervisors: the approvals inbox ([`approvals`]) |
//! | `GET /console/incidents[?open=…]`, `GET /console/incidents/{id}` | incidents: timeline, progress per channel ([`incident`]) |
//! | `POST /console/incidents/{id}/{updates,restore}`, `GET …/messages.csv` | a staff update, the restoration, the delivery report |
//! | `GET/POST /console/incidents/{id}/call-list` | the call list and its outcomes ([`calls`]) |
//!
//! Every page works without JavaScript; the one script (`/console/assets/compose.js`, the
//! composer's live recipient count) only saves a click. Sessions live in the database
//! ([`crate::staff::session`]); every form carries the session's CSRF token and is refused unless
//! its `Origin` is this server ([`form`]).

mod admin;
mod board;
mod change;
mod error;
mod form;
mod login;
mod pages;
mod proposals;
// Broadcasts (issue 14, pages item 5).
mod approvals;
mod broadcast_form;
mod broadcasts;
// The incident pages and the call list (issue 14, page 4).
mod calls;
mod incident;

use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use url::Url;

use crate::domain::Language;
use crate::http::api::ApiState;

/// What the console's routes share. Cheap to clone.
#[derive(Clone)]
pub struct ConsoleState {
    pub(crate) api: ApiState,
    /// `[http] public_url`: forms must come from its origin, and the cookie is `Secure` when it
    /// is https.
    pub(crate) public_url: Option<Url>,
}

impl ConsoleState {
    pub fn new(api: ApiState, public_url: Option<Url>) -> ConsoleState {
        ConsoleState { api, public_url }
    }

    fn secure_cookie(&self) -> bool {
        self.public_url.as_ref().is_some_and(|url| url.scheme() == "https")
    }

    fn settle_seconds(&self) -> u64 {
        self.api.settings.planner.settle_seconds
    }
}

async fn not_found() -> axum::response::Response {
    error::ConsoleError::Api(crate::http::api::ApiError::NotFound("/console".into()), Language::Id)
        .into_response()
}

type Route = (&'static str, &'static str, MethodRouter<ConsoleState>);

/// Every console route: method, path, handler. The router is built from this list and from the
/// admin pages' ([`admin::routes`]), and [`route_table`] gives it to the console's authorization
/// matrix test, so a route cannot be added without a row there.
fn routes() -> Vec<Route> {
    let mut routes: Vec<Route> = vec![
        ("GET", "/console", get(board::board)),
        ("GET", "/console/", get(board::board)),
        ("GET", "/console/national", get(board::national)),
        ("GET", "/console/login", get(login::form)),
        ("POST", "/console/login", post(login::login)),
        ("POST", "/console/logout", post(login::logout)),
        ("POST", "/console/language", post(login::language)),
        ("GET", "/console/change", get(change::form)),
        ("POST", "/console/change/edit", post(change::edit)),
        ("POST", "/console/change/confirm", post(change::confirm)),
        ("POST", "/console/change/apply", post(change::apply)),
        ("POST", "/console/change/undo", post(change::undo)),
        ("POST", "/console/proposals/confirm", post(proposals::confirm)),
        ("POST", "/console/proposals/dismiss", post(proposals::dismiss)),
        ("GET", "/console/assets/console.css", get(pages::stylesheet)),
        ("GET", "/console/assets/compose.js", get(pages::compose_script)),
        ("GET", "/console/broadcasts", get(broadcasts::list)),
        ("POST", "/console/broadcasts", post(broadcasts::create)),
        ("GET", "/console/broadcasts/new", get(broadcasts::new)),
        ("POST", "/console/broadcasts/preview", post(broadcasts::preview)),
        ("GET", "/console/broadcasts/{id}", get(broadcasts::one)),
        ("POST", "/console/broadcasts/{id}/cancel", post(broadcasts::cancel)),
        ("POST", "/console/broadcasts/{id}/approve", post(approvals::approve)),
        ("POST", "/console/broadcasts/{id}/reject", post(approvals::reject)),
        ("GET", "/console/approvals", get(approvals::inbox)),
        ("GET", "/console/incidents", get(incident::list)),
        ("GET", "/console/incidents/{id}", get(incident::page)),
        ("POST", "/console/incidents/{id}/updates", post(incident::update)),
        ("POST", "/console/incidents/{id}/restore", post(incident::restore)),
        ("GET", "/console/incidents/{id}/messages.csv", get(incident::messages_csv)),
        ("GET", "/console/incidents/{id}/call-list", get(calls::page)),
        ("POST", "/console/incidents/{id}/call-list", post(calls::record)),
    ];
    routes.extend(admin::routes());
    routes
}

/// `(METHOD, path)` of every console route, for the authorization matrix test.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    routes().into_iter().map(|(method, path, _)| (method, path)).collect()
}

/// The `/console` routes.
pub fn router(state: ConsoleState) -> Router {
    let mut router = Router::new();
    for (_, path, handler) in routes() {
        // Two methods of one path are two rows; axum merges them into one route.
        router = router.route(path, handler);
    }
    router
        .route("/console/{*rest}", get(not_found))
        .layer(axum::middleware::map_response(pages::security_headers))
        .with_state(state)
}

#[cfg(test)]
mod tests;
