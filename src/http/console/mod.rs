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
//! | `GET /console/assets/console.css` | the stylesheet |
//! | `GET/POST /console/admin/staff[/{username}[/access,disable,enable,password]]`, `GET/POST /console/admin/tokens`, `POST /console/admin/tokens/revoke`, `GET /console/admin/audit` | admins: staff, tokens; officers+: the audit log and its verification ([`admin`]) |
//! | `GET /console/broadcasts`, `GET /console/broadcasts/{new,ID}`, `POST /console/broadcasts[/preview]`, `POST /console/broadcasts/ID/cancel` | broadcasts: list, composer with preview, draft and submit, progress, cancel ([`broadcasts`]) |
//! | `GET /console/approvals`, `POST /console/broadcasts/ID/{approve,reject}` | supervisors: the approvals inbox ([`approvals`]) |
//! | `GET /console/incidents[?open=…]`, `GET /console/incidents/{id}` | incidents: timeline, progress per channel ([`incident`]) |
//! | `POST /console/incidents/{id}/{updates,restore}`, `GET …/messages.csv` | a staff update, the restoration, the delivery report |
//! | `GET/POST /console/incidents/{id}/call-list` | the call list and its outcomes ([`calls`]) |
//!
//! Every page works without JavaScript (there is none). Sessions live in the database
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
use axum::routing::{get, post};
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

/// The `/console` routes.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/console", get(board::board))
        .route("/console/", get(board::board))
        .route("/console/national", get(board::national))
        .route("/console/login", get(login::form).post(login::login))
        .route("/console/logout", post(login::logout))
        .route("/console/language", post(login::language))
        .route("/console/change", get(change::form))
        .route("/console/change/edit", post(change::edit))
        .route("/console/change/confirm", post(change::confirm))
        .route("/console/change/apply", post(change::apply))
        .route("/console/change/undo", post(change::undo))
        .route("/console/proposals/confirm", post(proposals::confirm))
        .route("/console/proposals/dismiss", post(proposals::dismiss))
        .route("/console/assets/console.css", get(pages::stylesheet))
        .route("/console/broadcasts", get(broadcasts::list).post(broadcasts::create))
        .route("/console/broadcasts/new", get(broadcasts::new))
        .route("/console/broadcasts/preview", post(broadcasts::preview))
        .route("/console/broadcasts/{id}", get(broadcasts::one))
        .route("/console/broadcasts/{id}/cancel", post(broadcasts::cancel))
        .route("/console/broadcasts/{id}/approve", post(approvals::approve))
        .route("/console/broadcasts/{id}/reject", post(approvals::reject))
        .route("/console/approvals", get(approvals::inbox))
        .route("/console/incidents", get(incident::list))
        .route("/console/incidents/{id}", get(incident::page))
        .route("/console/incidents/{id}/updates", post(incident::update))
        .route("/console/incidents/{id}/restore", post(incident::restore))
        .route("/console/incidents/{id}/messages.csv", get(incident::messages_csv))
        .route("/console/incidents/{id}/call-list", get(calls::page).post(calls::record))
        .route("/console/{*rest}", get(not_found))
        .merge(admin::router())
        .layer(axum::middleware::map_response(pages::security_headers))
        .with_state(state)
}

#[cfg(test)]
mod tests;
