//! The public status pages, feeds and JSON (`/status/…`), for anyone, without a login.
//!
//! | route | what |
//! |---|---|
//! | `GET /status` | every office by region with its overall state, a search by name or city, national incidents on top |
//! | `GET /status/{office}` | the office's services in plain language, open incidents, the last 90 days |
//! | `GET /status/feed.atom`, `GET /status/{office}/feed.atom` | Atom, one entry per state change |
//! | `GET /status/api/v2/summary.json`, `GET /status/{office}/api/v2/summary.json` | Statuspage's public summary shape |
//! | `GET /status/{office}/badge.svg` | a badge for the office's website |
//! | `GET /status/static/status.css` | the one stylesheet |
//! | `POST /status/{office}/subscribe`, `/status/subscriptions/…` | email subscriptions ([`subscribe`]) |
//!
//! Every answer comes from the in-memory [`Snapshot`] ([`live`]), rebuilt when the shared change
//! signal moves (any process's state change), so a page view never queries the database; a
//! rendered answer is kept, with its gzip form, until the next snapshot. Answers carry an `ETag`
//! and `Last-Modified`, honour `If-None-Match`/`If-Modified-Since` with `304`, may be cached
//! publicly for 30 s, and carry a strict security header set ([`respond`]).

mod lang;
mod live;
mod machine;
mod pages;
mod respond;
pub mod subscribe;
mod subscribe_words;
mod view;
mod words;

use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

pub use lang::negotiate;
pub use live::StatusState;

/// The status routes over `state`.
pub fn router(state: StatusState) -> Router {
    Router::new()
        .route("/status", get(pages::index))
        .route("/status/", get(pages::index))
        .route("/status/static/status.css", get(pages::stylesheet))
        .route("/status/feed.atom", get(machine::national_feed))
        .route("/status/api/v2/summary.json", get(machine::national_summary))
        .route("/status/{office}", get(pages::office))
        .route("/status/{office}/feed.atom", get(machine::office_feed))
        .route("/status/{office}/api/v2/summary.json", get(machine::office_summary))
        .route("/status/{office}/badge.svg", get(machine::badge))
        .layer(axum::middleware::map_response(respond::security_headers))
        // Answers rendered per request (a search, an error) are compressed here; cached answers
        // carry their gzip form already and pass through.
        .layer(CompressionLayer::new())
        .with_state(state)
}
