//! The machine-readable answers: Atom feeds, the Statuspage-shaped summaries, the badge.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::lang::{negotiate, StatusQuery};
use super::live::Rendered;
use super::pages::{not_found_page, unavailable};
use super::respond::cached;
use super::StatusState;
use crate::domain::OfficeCode;
use crate::status::{badge as badge_svg, feed, summary};

const ATOM: &str = "application/atom+xml; charset=utf-8";
const JSON: &str = "application/json";
const SVG: &str = "image/svg+xml";

fn json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A cached machine answer, with the header that lets widgets on other sites read it.
fn public(rendered: &Rendered, headers: &HeaderMap) -> Response {
    let mut response = cached(StatusCode::OK, rendered, headers);
    response
        .headers_mut()
        .insert(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, axum::http::HeaderValue::from_static("*"));
    response
}

pub(super) async fn national_feed(
    State(state): State<StatusState>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let language = negotiate(query.lang.as_deref(), &headers);
    let Ok(live) = state.live().await else { return unavailable(language) };
    let rendered = live.rendered(&format!("feed:{language}"), |snapshot| {
        let feed = feed::national_feed(snapshot, state.base(), language);
        Rendered::new(feed.to_string(), ATOM, snapshot.updated_at)
    });
    public(&rendered, &headers)
}

pub(super) async fn national_summary(
    State(state): State<StatusState>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let language = negotiate(query.lang.as_deref(), &headers);
    let Ok(live) = state.live().await else { return unavailable(language) };
    let rendered = live.rendered(&format!("summary:{language}"), |snapshot| {
        Rendered::new(
            json(&summary::national_summary(snapshot, state.base(), language)),
            JSON,
            snapshot.updated_at,
        )
    });
    public(&rendered, &headers)
}

/// An office's machine answer: `make` renders it from the office's status.
async fn office_answer(
    state: &StatusState,
    code: &str,
    query: &StatusQuery,
    headers: &HeaderMap,
    what: &str,
    make: impl FnOnce(&crate::status::OfficeStatus, crate::domain::Language, &str) -> Rendered,
) -> Response {
    let language = negotiate(query.lang.as_deref(), headers);
    let Ok(live) = state.live().await else { return unavailable(language) };
    let Some(office) = code.parse::<OfficeCode>().ok().filter(|code| live.snapshot.office(code).is_some())
    else {
        return not_found_page(language);
    };
    let rendered = live.rendered(&format!("{what}:{}:{language}", office.as_str()), |snapshot| {
        let status = snapshot.office(&office).expect("checked above");
        make(status, language, state.base())
    });
    public(&rendered, headers)
}

pub(super) async fn office_feed(
    State(state): State<StatusState>,
    Path(code): Path<String>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    office_answer(&state, &code, &query, &headers, "feed", |office, language, base| {
        let feed = feed::office_feed(office, base, language);
        Rendered::new(feed.to_string(), ATOM, office.updated_at.unwrap_or(chrono::DateTime::UNIX_EPOCH))
    })
    .await
}

pub(super) async fn office_summary(
    State(state): State<StatusState>,
    Path(code): Path<String>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    office_answer(&state, &code, &query, &headers, "summary", |office, language, base| {
        let body = json(&summary::office_summary(office, base, language));
        Rendered::new(body, JSON, office.updated_at.unwrap_or(chrono::DateTime::UNIX_EPOCH))
    })
    .await
}

pub(super) async fn badge(
    State(state): State<StatusState>,
    Path(code): Path<String>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    office_answer(&state, &code, &query, &headers, "badge", |office, language, _| {
        Rendered::new(
            badge_svg::badge(office, language),
            SVG,
            office.updated_at.unwrap_or(chrono::DateTime::UNIX_EPOCH),
        )
    })
    .await
}
