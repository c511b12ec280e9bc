//! The console's pages: handlebars templates embedded in the binary (HTML auto-escaping on), the
//! words of both languages, the stylesheet, and the frame every page shares (language, the
//! signed-in staff member, the CSRF token of the forms).

use std::sync::LazyLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use handlebars::Handlebars;
use serde_json::{json, Value};

use crate::domain::{format_short, Language, Service, ServiceState, TimeZone};
use crate::staff::Role;

const TEMPLATES: &[(&str, &str)] = &[
    ("head", include_str!("pages/head.hbs")),
    ("foot", include_str!("pages/foot.hbs")),
    ("login", include_str!("pages/login.hbs")),
    ("board", include_str!("pages/board.hbs")),
    ("national", include_str!("pages/national.hbs")),
    ("change", include_str!("pages/change.hbs")),
    ("confirm", include_str!("pages/confirm.hbs")),
    ("result", include_str!("pages/result.hbs")),
    ("error", include_str!("pages/error.hbs")),
    ("admin_nav", include_str!("pages/admin_nav.hbs")),
    ("admin_staff", include_str!("pages/admin_staff.hbs")),
    ("admin_account", include_str!("pages/admin_account.hbs")),
    ("admin_tokens", include_str!("pages/admin_tokens.hbs")),
    ("admin_token_created", include_str!("pages/admin_token_created.hbs")),
    ("admin_audit", include_str!("pages/admin_audit.hbs")),
    ("broadcasts", include_str!("pages/broadcasts.hbs")),
    ("compose", include_str!("pages/compose.hbs")),
    ("broadcast", include_str!("pages/broadcast.hbs")),
    ("approvals", include_str!("pages/approvals.hbs")),
    ("incidents", include_str!("pages/incidents.hbs")),
    ("incident", include_str!("pages/incident.hbs")),
    ("call_row", include_str!("pages/call_row.hbs")),
    ("call_list", include_str!("pages/call_list.hbs")),
];

/// The composer's live recipient count (a progressive enhancement; the page works without it),
/// served at `/console/assets/compose.js`.
pub(super) const COMPOSE_SCRIPT: &str = include_str!("pages/compose.js");

/// The stylesheet, served at `/console/assets/console.css` (no inline style: the CSP allows
/// only the server's own stylesheet).
pub(super) const STYLESHEET: &str = include_str!("pages/console.css");

/// The templates, checked once: a template that does not parse is a build defect, and the
/// render tests fail on it.
static REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut registry = Handlebars::new();
    for (name, text) in TEMPLATES {
        registry.register_template_string(name, text).expect("a console template parses");
    }
    registry
});

static WORDS: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("pages/words.json")).expect("the console's words are JSON")
});

/// The words of the console in `language`.
pub(super) fn words(language: Language) -> &'static Value {
    &WORDS[language.as_str()]
}

/// One word by its path, e.g. `("states", "unavailable")`.
pub(super) fn word(language: Language, group: &str, key: &str) -> String {
    words(language)[group][key].as_str().unwrap_or(key).to_owned()
}

pub(super) fn service_name(language: Language, service: Service) -> String {
    word(language, "services", service.as_str())
}

pub(super) fn state_name(language: Language, state: ServiceState) -> String {
    word(language, "states", state.as_str())
}

/// `2024-06-20 10:00 WIB`: every time shown in the office's zone, with its label.
pub(super) fn local(instant: Option<DateTime<Utc>>, zone: TimeZone) -> String {
    instant.map(|instant| format_short(instant, zone)).unwrap_or_default()
}

/// WIB, WITA or WIT: the zone's abbreviation now.
pub(super) fn zone_label(zone: TimeZone) -> String {
    Utc::now().with_timezone(&zone.0).format("%Z").to_string()
}

/// Who is signed in, as the page header shows them.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub name: String,
    pub role: Role,
    pub csrf: String,
}

/// What every page knows: its language, its title, and who is signed in (none on the login page).
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub language: Language,
    pub viewer: Option<Viewer>,
}

impl Frame {
    pub fn anonymous(language: Language) -> Frame {
        Frame { language, viewer: None }
    }

    /// Renders page `name` with `data` (an object) inside the frame.
    pub fn render(&self, name: &str, title: &str, data: Value) -> Html<String> {
        let other = match self.language {
            Language::Id => Language::En,
            Language::En => Language::Id,
        };
        let mut context = json!({
            "lang": self.language.as_str(),
            "other_lang": other.as_str(),
            "t": words(self.language),
            "title": title,
            "page": name,
        });
        if let Some(viewer) = &self.viewer {
            context["user"] = json!({
                "name": viewer.name,
                "role": viewer.role.as_str(),
                "officer": viewer.role >= Role::Officer,
                "national": viewer.role >= Role::Supervisor,
                "admin": viewer.role >= Role::Admin,
            });
            context["csrf"] = json!(viewer.csrf);
        }
        if let Value::Object(fields) = data {
            for (key, value) in fields {
                context[key.as_str()] = value;
            }
        }
        match REGISTRY.render(name, &context) {
            Ok(html) => Html(html),
            Err(err) => {
                // Every template is rendered by the tests with sample data; this is a defect.
                tracing::error!(page = name, error = %err, "console page failed to render");
                Html(
                    "<!DOCTYPE html><html lang=\"en\"><title>error</title><p>internal error</p></html>"
                        .into(),
                )
            }
        }
    }

    /// The page with a status.
    pub fn page(&self, status: StatusCode, name: &str, title: &str, data: Value) -> Response {
        (status, self.render(name, title, data)).into_response()
    }
}

/// `GET /console/assets/console.css`.
pub(super) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// `GET /console/assets/compose.js`.
pub(super) async fn compose_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        COMPOSE_SCRIPT,
    )
        .into_response()
}

/// Headers of every console answer: a CSP without `unsafe-inline` (no inline script or style
/// exists; the one script is the server's own file, and it may call only this server), no
/// framing, no sniffing, no caching of pages that show personal or internal data.
pub(super) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The offices in scope as a form's checkboxes, those `chosen` checked.
pub(super) fn office_choices(
    offices: &crate::store::OfficeDirectory,
    scope: &crate::staff::Scope,
    chosen: &[String],
) -> Vec<Value> {
    offices
        .offices()
        .filter(|office| scope.covers(office))
        .map(|office| {
            json!({
                "code": office.code.as_str(),
                "name": office.name,
                "zone": zone_label(office.timezone),
                "checked": chosen.iter().any(|code| code.eq_ignore_ascii_case(office.code.as_str())),
            })
        })
        .collect()
}
