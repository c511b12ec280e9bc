//! The HTML pages: `/status`, `/status/{office}`, the 404 and 503 pages, and the stylesheet.
//! Server-rendered by handlebars with HTML escaping, from templates built into the binary.

use std::sync::LazyLock;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use handlebars::Handlebars;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::lang::{negotiate, StatusQuery};
use super::live::Rendered;
use super::respond::{cached, uncached};
use super::view::{self, frame, words};
use super::StatusState;
use crate::domain::{Language, OfficeCode};

pub(super) const HTML: &str = "text/html; charset=utf-8";
const STYLESHEET: &str = include_str!("pages/status.css");

/// The stylesheet's URL, versioned by its content so it can be cached for a year.
pub(super) static STYLESHEET_PATH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET.as_bytes());
    format!("/status/static/status.css?v={}", hex::encode(&digest[..6]))
});

/// The longest search kabar reads; a longer query is cut.
const MAX_QUERY: usize = 100;

static TEMPLATES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut templates = Handlebars::new();
    // A template that names a missing value is a bug a test must see, not an empty string.
    templates.set_strict_mode(true);
    // Every value goes into text or a double-quoted attribute: these five characters are all
    // that must be escaped there (the default also escapes `=`, which spoils readable URLs).
    templates.register_escape_fn(escape_html);
    for (name, text) in [
        ("layout", include_str!("pages/layout.hbs")),
        ("index", include_str!("pages/index.hbs")),
        ("office", include_str!("pages/office.hbs")),
        ("message", include_str!("pages/message.hbs")),
        ("action", include_str!("pages/action.hbs")),
    ] {
        templates.register_template_string(name, text).expect("the status templates parse");
    }
    templates
});

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

pub(super) fn render(name: &str, view: &impl Serialize) -> String {
    TEMPLATES.render(name, view).unwrap_or_else(|err| {
        tracing::error!(error = %err, template = name, "status page not rendered");
        String::new()
    })
}

/// The office page with its subscribe form (`None` when subscriptions are off).
#[derive(Serialize)]
struct WithForm<T> {
    #[serde(flatten)]
    page: T,
    subscribe: Option<super::subscribe::SubscribeForm>,
}

#[derive(Serialize)]
struct Message {
    #[serde(flatten)]
    frame: view::Frame,
    heading: &'static str,
    text: &'static str,
}

/// The 404 page in `language`: an unknown office.
pub(super) fn not_found_page(language: Language) -> Response {
    let t = words(language);
    let page = Message {
        frame: frame(language, t.not_found_title.into(), "/status", "/status/feed.atom".into()),
        heading: t.not_found_title,
        text: t.not_found_text,
    };
    uncached(StatusCode::NOT_FOUND, render("message", &page), HTML)
}

/// The 503 page: no snapshot could be loaded yet (the database is unreachable at start).
pub(super) fn unavailable(language: Language) -> Response {
    let t = words(language);
    let page = Message {
        frame: frame(language, t.unavailable_title.into(), "/status", "/status/feed.atom".into()),
        heading: t.unavailable_title,
        text: t.unavailable_text,
    };
    let mut response = uncached(StatusCode::SERVICE_UNAVAILABLE, render("message", &page), HTML);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

pub(super) async fn index(
    State(state): State<StatusState>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let language = negotiate(query.lang.as_deref(), &headers);
    let Ok(live) = state.live().await else { return unavailable(language) };
    let search: String = query.q.as_deref().unwrap_or_default().trim().chars().take(MAX_QUERY).collect();
    if !search.is_empty() {
        return uncached(
            StatusCode::OK,
            render("index", &view::index(&live.snapshot, language, &search)),
            HTML,
        );
    }
    let rendered = live.rendered(&format!("index:{language}"), |snapshot| {
        Rendered::new(render("index", &view::index(snapshot, language, "")), HTML, snapshot.updated_at)
    });
    cached(StatusCode::OK, &rendered, &headers)
}

pub(super) async fn office(
    State(state): State<StatusState>,
    Path(code): Path<String>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let language = negotiate(query.lang.as_deref(), &headers);
    let Ok(live) = state.live().await else { return unavailable(language) };
    let Some(code) = code.parse::<OfficeCode>().ok().filter(|code| live.snapshot.office(code).is_some())
    else {
        return not_found_page(language);
    };
    // Signed per request (an HMAC): the rendering below is kept for the snapshot's life.
    let subscribe = super::subscribe::form(&state, &code, language).await;
    let rendered = live.rendered(&format!("office:{}:{language}", code.as_str()), |snapshot| {
        let status = snapshot.office(&code).expect("checked above");
        // The page changes at the office's midnight too (the history moves a day).
        let today = chrono::Utc::now().with_timezone(&status.office.timezone.0).date_naive();
        let midnight = today
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(status.office.timezone.0).earliest())
            .map(|t| t.to_utc());
        let modified = status.updated_at.into_iter().chain(midnight).max().unwrap_or(snapshot.built_at);
        let page = WithForm { page: view::office(status, language), subscribe };
        Rendered::new(render("office", &page), HTML, modified)
    });
    cached(StatusCode::OK, &rendered, &headers)
}

pub(super) async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    // The URL carries the content's hash: a new stylesheet has a new URL.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}
