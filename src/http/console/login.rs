//! Login, logout and the language toggle. The login checks the password with the API's
//! [`crate::staff::Authenticator`] (its rate limits answer 429), opens a new session whatever
//! cookie the browser had (the id rotates), and sets the cookie `HttpOnly`, `SameSite=Lax`,
//! `Path=/console`, and `Secure` when `[http] public_url` is https.

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::error::ConsoleError;
use super::form::{AnonymousPost, Staff, StaffPost};
use super::pages::{word, Frame};
use super::ConsoleState;
use crate::audit::{Actor, Origin};
use crate::domain::Language;
use crate::http::api::auth::{client_address, cookie, SESSION_COOKIE};
use crate::staff::{AuthError, Sessions};

#[derive(Debug, Deserialize)]
pub(super) struct LoginQuery {
    #[serde(default)]
    ended: Option<String>,
    #[serde(default)]
    out: Option<String>,
}

fn session_cookie(state: &ConsoleState, value: String) -> HeaderValue {
    let cookie = Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/console")
        .secure(state.secure_cookie())
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("a session cookie is a valid header")
}

fn cleared_cookie(state: &ConsoleState) -> HeaderValue {
    let mut cookie = Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/console")
        .secure(state.secure_cookie())
        .build();
    cookie.make_removal();
    HeaderValue::from_str(&cookie.to_string()).expect("a removal cookie is a valid header")
}

fn login_page(language: Language, status: StatusCode, data: serde_json::Value) -> Response {
    Frame::anonymous(language).page(status, "login", &word(language, "login", "title"), data)
}

/// `GET /console/login`; a signed-in staff member goes to the board.
pub(super) async fn form(staff: Option<Staff>, Query(query): Query<LoginQuery>) -> Response {
    if staff.is_some() {
        return Redirect::to("/console").into_response();
    }
    let language = Language::Id;
    let notice = if query.ended.is_some() {
        word(language, "login", "ended")
    } else if query.out.is_some() {
        word(language, "login", "logged_out")
    } else {
        String::new()
    };
    login_page(language, StatusCode::OK, json!({"notice": notice}))
}

/// `POST /console/login`.
pub(super) async fn login(
    State(state): State<ConsoleState>,
    posted: AnonymousPost,
) -> Result<Response, ConsoleError> {
    let AnonymousPost { parts, form } = posted;
    let username = form.get("username");
    let password = SecretString::from(form.raw("password"));
    let client = client_address(&parts);
    let request_id =
        parts.headers.get("x-request-id").and_then(|value| value.to_str().ok()).map(str::to_owned);
    let origin = Origin {
        actor: Actor::staff(&username),
        request_id,
        client: client.map(|client| client.to_string()),
    };
    let now = chrono::Utc::now();
    let language = Language::Id;
    let account = match state.api.auth.login(&username, password, &origin, client, now).await {
        Ok(account) => account,
        Err(AuthError::Unauthenticated(_)) => {
            return Ok(login_page(
                language,
                StatusCode::UNAUTHORIZED,
                json!({"error": word(language, "login", "wrong"), "username": username}),
            ))
        }
        Err(err) => return Err(ConsoleError::Api(err.into(), language)),
    };
    let sessions = Sessions::new(state.api.store.clone(), state.api.settings.staff.clone());
    let previous = cookie(&parts, SESSION_COOKIE);
    let id = sessions.open(&account, previous.as_deref(), now).await?;
    let mut response = Redirect::to("/console").into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, id.expose_secret().to_owned()));
    Ok(response)
}

/// `POST /console/logout`: the session row is deleted (audited) and the cookie cleared.
pub(super) async fn logout(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    if let Some(id) = &post.session_cookie {
        let sessions = Sessions::new(state.api.store.clone(), state.api.settings.staff.clone());
        sessions.close(id, chrono::Utc::now(), &post.staff.authed().origin).await?;
    }
    let mut response = Redirect::to("/console/login?out=1").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cleared_cookie(&state));
    Ok(response)
}

/// `POST /console/language`: the other language, remembered on the account (audited).
pub(super) async fn language(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    let language: Language = post.form.get("language").parse().unwrap_or(Language::Id);
    let account = &staff.session.session.account;
    state
        .api
        .store
        .set_staff_language(&account.username, language, chrono::Utc::now(), &staff.authed().origin)
        .await?;
    Ok(Redirect::to("/console").into_response())
}
