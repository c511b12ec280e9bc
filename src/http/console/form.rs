//! Who is asking, and whether their form may be believed. [`Staff`] authenticates a console
//! request by its session cookie through the API's own [`Authed`]; [`Posted`] reads a form and
//! refuses it unless its `Origin` (or `Referer`) is this server; [`StaffPost`] is both, and also
//! refuses a form whose CSRF token is not the session's. Every POST handler but the login takes a
//! [`StaffPost`], so no form skips the checks.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{HOST, ORIGIN, REFERER};
use axum::http::request::Parts;
use url::Url;

use super::error::ConsoleError;
use super::pages::{Frame, Viewer};
use super::ConsoleState;
use crate::domain::Language;
use crate::http::api::auth::{cookie, Authed, SessionAuthed};

/// The largest console form: a few fields and a list of office codes.
const FORM_LIMIT: usize = 64 * 1024;

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub(crate) struct Staff {
    pub session: SessionAuthed,
}

impl Staff {
    pub fn authed(&self) -> &Authed {
        &self.session.authed
    }

    pub fn language(&self) -> Language {
        self.session.session.language
    }

    /// The page frame: language, name, role, CSRF token.
    pub fn frame(&self) -> Frame {
        Frame {
            language: self.language(),
            viewer: Some(Viewer {
                name: self.session.session.account.display_name.clone(),
                role: self.session.authed.caller.role,
                csrf: self.session.csrf(),
            }),
        }
    }

    /// Turns the API's refusal into the console's page, in this staff member's language.
    pub fn deny(&self) -> impl FnOnce(crate::http::api::ApiError) -> ConsoleError {
        ConsoleError::api(self.language())
    }
}

impl FromRequestParts<ConsoleState> for Staff {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, ConsoleError> {
        let session = Authed::from_session(parts, &state.api).await?;
        Ok(Staff { session })
    }
}

impl axum::extract::OptionalFromRequestParts<ConsoleState> for Staff {
    type Rejection = std::convert::Infallible;

    /// `None` for a request without a live session (the login page asks this).
    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Authed::from_session(parts, &state.api).await.ok().map(|session| Staff { session }))
    }
}

/// A posted form's fields, in order (a field may repeat: `office=PLG&office=GTO`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Posted {
    fields: Vec<(String, String)>,
}

impl Posted {
    pub fn parse(body: &[u8]) -> Posted {
        Posted { fields: url::form_urlencoded::parse(body).into_owned().collect() }
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    }

    /// The first value of `name` as typed (a password keeps its spaces).
    pub fn raw(&self, name: &str) -> String {
        self.fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(key, value)| key == name && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    }
}

/// Whether the request's `Origin` (or, without one, its `Referer`) is this server: the public URL
/// when configured, else the `Host` the request was sent to. A form without either is refused.
pub(crate) fn same_origin(parts: &Parts, public_url: Option<&Url>) -> bool {
    let header = |name| parts.headers.get(name).and_then(|value| value.to_str().ok());
    let given = match (header(ORIGIN), header(REFERER)) {
        (Some(origin), _) if origin != "null" => Url::parse(origin).ok(),
        (_, Some(referer)) => Url::parse(referer).ok(),
        _ => None,
    };
    let Some(given) = given else { return false };
    match public_url {
        Some(own) => given.origin() == own.origin(),
        None => {
            let host = header(HOST).unwrap_or_default();
            let authority = match given.port() {
                Some(port) => format!("{}:{port}", given.host_str().unwrap_or_default()),
                None => given.host_str().unwrap_or_default().to_owned(),
            };
            matches!(given.scheme(), "http" | "https")
                && !host.is_empty()
                && authority.eq_ignore_ascii_case(host)
        }
    }
}

/// Reads a form body after the origin check, in `language` for the refusal.
async fn read_form(
    request: Request,
    state: &ConsoleState,
    language: Language,
) -> Result<(Parts, Posted), ConsoleError> {
    let (parts, body) = request.into_parts();
    if !same_origin(&parts, state.public_url.as_ref()) {
        return Err(ConsoleError::Csrf(language));
    }
    let request = Request::from_parts(parts.clone(), body);
    let bytes = Bytes::from_request(request, &state.clone()).await.map_err(|rejection| {
        ConsoleError::Api(crate::http::api::ApiError::Malformed(rejection.body_text()), language)
    })?;
    if bytes.len() > FORM_LIMIT {
        return Err(ConsoleError::Api(
            crate::http::api::ApiError::Malformed("the form is too large".into()),
            language,
        ));
    }
    Ok((parts, Posted::parse(&bytes)))
}

/// A form posted without a session (the login), checked for its origin only; with the request's
/// parts, for the cookie and the client address.
pub(crate) struct AnonymousPost {
    pub parts: Parts,
    pub form: Posted,
}

impl FromRequest<ConsoleState> for AnonymousPost {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, ConsoleError> {
        let (parts, form) = read_form(request, state, Language::Id).await?;
        Ok(AnonymousPost { parts, form })
    }
}

/// A form posted by a signed-in staff member: session, origin and CSRF token checked.
pub(crate) struct StaffPost {
    pub staff: Staff,
    pub form: Posted,
    /// The session cookie's value, for a logout.
    pub session_cookie: Option<String>,
}

impl FromRequest<ConsoleState> for StaffPost {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, ConsoleError> {
        let (mut parts, body) = request.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let (parts, form) = read_form(Request::from_parts(parts, body), state, staff.language()).await?;
        if !staff.session.csrf_matches(&form.get("csrf")) {
            return Err(ConsoleError::Csrf(staff.language()));
        }
        let session_cookie = cookie(&parts, crate::http::api::auth::SESSION_COOKIE);
        Ok(StaffPost { staff, form, session_cookie })
    }
}
