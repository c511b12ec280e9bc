//! Email subscriptions from the public status pages, without an account:
//!
//! | route | what |
//! |---|---|
//! | `POST /status/{office}/subscribe` | the office page's form: records a pending subscriber, queues the confirmation mail |
//! | `GET /status/subscriptions/confirm/{token}` | a button that confirms (a mail scanner fetching the link confirms nothing) |
//! | `POST /status/subscriptions/confirm/{token}` | confirms: updates follow from now on |
//! | `GET /status/subscriptions/unsubscribe/{token}` | a button that unsubscribes |
//! | `POST /status/subscriptions/unsubscribe/{token}` | RFC 8058 one-click unsubscribe, no login |
//!
//! The form has no session to bind a CSRF token to: it carries a token signed with the
//! database's subscription secret (the office and the time it was served), and a browser's
//! `Origin` must be the server's public origin (`Origin: null`, which a page with
//! `Referrer-Policy: no-referrer` sends, falls back to `Sec-Fetch-Site`). Requests are limited
//! per email address and per client address ([`SubscriptionsConfig`]). The answers never say
//! whether an address was subscribed already, and an address is never logged.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use chrono::{Duration, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::lang::{negotiate, StatusQuery};
use super::pages::{not_found_page, render, unavailable, HTML};
use super::respond::uncached;
use super::subscribe_words::words;
use super::view::{frame, Frame};
use super::StatusState;
use crate::domain::{Email, Language, OfficeCode};
use crate::status::subscriptions::tokens::{self, Purpose};
use crate::status::subscriptions::SubscriptionsConfig;
use crate::store::{ConfirmOutcome, NewSubscriber, UnsubscribeOutcome};

/// The subscription routes' state. Cheap to clone.
#[derive(Clone)]
pub struct SubscribeState {
    status: StatusState,
    config: SubscriptionsConfig,
    /// The public origin (`https://host[:port]`) a browser's `Origin` must match; `None` when
    /// `[http] public_url` is not set, and then subscriptions are off (a mail needs absolute
    /// links).
    origin: Option<String>,
    per_address: Arc<DefaultKeyedRateLimiter<String>>,
    per_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Wakes the worker of this process for the confirmation mail.
    wake: Option<Arc<Notify>>,
}

fn per_hour(count: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN))
}

impl SubscribeState {
    pub fn new(
        status: StatusState,
        config: SubscriptionsConfig,
        wake: Option<Arc<Notify>>,
    ) -> SubscribeState {
        let origin = url::Url::parse(status.base())
            .ok()
            .map(|url| url.origin())
            .filter(url::Origin::is_tuple)
            .map(|origin| origin.ascii_serialization());
        SubscribeState {
            per_address: Arc::new(RateLimiter::keyed(per_hour(config.per_address_per_hour))),
            per_client: Arc::new(RateLimiter::keyed(per_hour(config.per_client_per_hour))),
            status,
            config,
            origin,
            wake,
        }
    }
}

/// The subscription routes.
pub fn router(state: SubscribeState) -> Router {
    Router::new()
        .route("/status/{office}/subscribe", post(subscribe))
        .route("/status/subscriptions/confirm/{token}", get(confirm_page).post(confirm))
        .route("/status/subscriptions/unsubscribe/{token}", get(unsubscribe_page).post(unsubscribe))
        .layer(axum::middleware::map_response(super::respond::security_headers))
        .with_state(state)
}

/// The subscribe form on the office page, when subscriptions are on.
#[derive(Serialize)]
pub(super) struct SubscribeForm {
    action: String,
    token: String,
    lang: &'static str,
    title: &'static str,
    text: &'static str,
    email_label: &'static str,
    button: &'static str,
}

/// The form for `office`, signed now; `None` without a public URL.
pub(super) async fn form(
    status: &StatusState,
    office: &OfficeCode,
    language: Language,
) -> Option<SubscribeForm> {
    if status.base().is_empty() {
        return None;
    }
    let secret = status.subscription_secret().await.ok()?;
    let w = words(language);
    Some(SubscribeForm {
        action: format!("/status/{}/subscribe", office.as_str()),
        token: tokens::form_token(&secret, office.as_str(), Utc::now()),
        lang: language.as_str(),
        title: w.form_title,
        text: w.form_text,
        email_label: w.form_email,
        button: w.form_button,
    })
}

#[derive(Deserialize)]
struct SubscribeBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    token: String,
    lang: Option<String>,
}

#[derive(Serialize)]
struct Message {
    #[serde(flatten)]
    frame: Frame,
    heading: &'static str,
    text: String,
}

#[derive(Serialize)]
struct Action {
    #[serde(flatten)]
    frame: Frame,
    heading: &'static str,
    text: &'static str,
    action: String,
    button: &'static str,
}

fn message(
    status: StatusCode,
    language: Language,
    path: &str,
    heading: &'static str,
    text: String,
) -> Response {
    let page =
        Message { frame: frame(language, heading.into(), path, "/status/feed.atom".into()), heading, text };
    let mut response = uncached(status, render("message", &page), HTML);
    // An answer to one person's request: never kept by a shared cache.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the request may come from the office page: a browser's `Origin` is the public
/// origin, or (`Origin: null` or none) its `Sec-Fetch-Site` says the same site, or there is
/// neither (not a browser: the signed token decides).
fn same_origin(expected: &str, headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok());
    match origin {
        Some(origin) if origin != "null" => origin.eq_ignore_ascii_case(expected),
        _ => headers
            .get("sec-fetch-site")
            .and_then(|value| value.to_str().ok())
            .is_none_or(|site| site.eq_ignore_ascii_case("same-origin")),
    }
}

async fn subscribe(
    State(state): State<SubscribeState>,
    Path(code): Path<String>,
    Query(query): Query<StatusQuery>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(body): Form<SubscribeBody>,
) -> Response {
    let language = negotiate(body.lang.as_deref().or(query.lang.as_deref()), &headers);
    let w = words(language);
    let Ok(live) = state.status.live().await else { return unavailable(language) };
    let Some(code) = code.parse::<OfficeCode>().ok().filter(|code| live.snapshot.office(code).is_some())
    else {
        return not_found_page(language);
    };
    let path = format!("/status/{}", code.as_str());
    let Some(origin) = state.origin.as_deref() else {
        return message(StatusCode::NOT_FOUND, language, &path, w.off_title, w.off_text.into());
    };
    let Ok(secret) = state.status.subscription_secret().await else { return unavailable(language) };
    let now = Utc::now();
    let max_age = Duration::hours(i64::from(state.config.form_hours));
    if !same_origin(origin, &headers)
        || !tokens::form_token_valid(&secret, code.as_str(), &body.token, now, max_age)
    {
        return message(StatusCode::FORBIDDEN, language, &path, w.refused_title, w.refused_text.into());
    }
    let Ok(email) = body.email.trim().to_lowercase().parse::<Email>() else {
        return message(StatusCode::BAD_REQUEST, language, &path, w.invalid_title, w.invalid_text.into());
    };
    let client = connection.map(|Extension(ConnectInfo(address))| address.ip());
    let limited = client.is_some_and(|ip| state.per_client.check_key(&ip).is_err())
        || state.per_address.check_key(&email.as_str().to_owned()).is_err();
    // The buckets of addresses and clients seen long ago go, so the maps stay small.
    if state.per_address.len() > 10_000 {
        state.per_address.retain_recent();
        state.per_client.retain_recent();
    }
    if limited {
        let mut response =
            message(StatusCode::TOO_MANY_REQUESTS, language, &path, w.limited_title, w.limited_text.into());
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
        return response;
    }
    let (salt, confirm_hash, unsubscribe_hash) = {
        let salt = tokens::new_salt();
        let confirm = tokens::hash(&tokens::token(&secret, Purpose::Confirm, &salt));
        let unsubscribe = tokens::hash(&tokens::token(&secret, Purpose::Unsubscribe, &salt));
        (salt, confirm, unsubscribe)
    };
    let new = NewSubscriber {
        office: &code,
        email: &email,
        language,
        salt: &salt,
        confirm_hash: &confirm_hash,
        unsubscribe_hash: &unsubscribe_hash,
        confirm_expires_at: now + Duration::hours(i64::from(state.config.confirm_hours)),
        now,
        client: client.map(|ip| ip.to_string()),
        request_id: headers.get("x-request-id").and_then(|value| value.to_str().ok()).map(str::to_owned),
    };
    match state.status.store().subscribe(&new).await {
        Ok(_) => {
            if let Some(wake) = &state.wake {
                wake.notify_one();
            }
            if let Err(err) = state.status.store().notify_workers().await {
                tracing::warn!(error = %err, "workers not told of the confirmation mail; it goes with their next round");
            }
            let text = w.sent_text.replace("{hours}", &state.config.confirm_hours.to_string());
            message(StatusCode::OK, language, &path, w.sent_title, text)
        }
        Err(err) => {
            tracing::error!(error = %err, office = %code, "a subscription could not be recorded");
            unavailable(language)
        }
    }
}

fn action_page(
    language: Language,
    heading: &'static str,
    text: &'static str,
    action: String,
    button: &'static str,
) -> Response {
    let page = Action {
        frame: frame(language, heading.into(), &action, "/status/feed.atom".into()),
        heading,
        text,
        action,
        button,
    };
    let mut response = uncached(StatusCode::OK, render("action", &page), HTML);
    // The page is the token's: never kept by a shared cache, never indexed.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

async fn confirm_page(
    Path(token): Path<String>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let language = negotiate(query.lang.as_deref(), &headers);
    let w = words(language);
    let action = format!("/status/subscriptions/confirm/{token}?lang={}", language.as_str());
    action_page(language, w.confirm_title, w.confirm_text, action, w.confirm_button)
}

async fn unsubscribe_page(
    Path(token): Path<String>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let language = negotiate(query.lang.as_deref(), &headers);
    let w = words(language);
    let action = format!("/status/subscriptions/unsubscribe/{token}?lang={}", language.as_str());
    action_page(language, w.unsubscribe_title, w.unsubscribe_text, action, w.unsubscribe_button)
}

async fn confirm(
    State(state): State<SubscribeState>,
    Path(token): Path<String>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let language = negotiate(query.lang.as_deref(), &headers);
    let w = words(language);
    let outcome = if tokens::well_formed(&token) {
        state.status.store().confirm_subscriber(&tokens::hash(&token), Utc::now()).await
    } else {
        Ok(ConfirmOutcome::Unknown)
    };
    match outcome {
        Ok(ConfirmOutcome::Confirmed { office, .. } | ConfirmOutcome::AlreadyConfirmed { office }) => {
            let path = format!("/status/{}", office.as_str());
            message(StatusCode::OK, language, &path, w.confirmed_title, w.confirmed_text.into())
        }
        Ok(ConfirmOutcome::Expired | ConfirmOutcome::Unknown) => {
            message(StatusCode::NOT_FOUND, language, "/status", w.expired_title, w.expired_text.into())
        }
        Err(err) => {
            tracing::error!(error = %err, "a subscription could not be confirmed");
            unavailable(language)
        }
    }
}

async fn unsubscribe(
    State(state): State<SubscribeState>,
    Path(token): Path<String>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let language = negotiate(query.lang.as_deref(), &headers);
    let w = words(language);
    let outcome = if tokens::well_formed(&token) {
        state.status.store().unsubscribe_subscriber(&tokens::hash(&token), Utc::now()).await
    } else {
        Ok(UnsubscribeOutcome::Unknown)
    };
    match outcome {
        Ok(UnsubscribeOutcome::Unsubscribed { office, .. } | UnsubscribeOutcome::AlreadyGone { office }) => {
            let path = format!("/status/{}", office.as_str());
            message(StatusCode::OK, language, &path, w.unsubscribed_title, w.unsubscribed_text.into())
        }
        Ok(UnsubscribeOutcome::Unknown) => {
            message(StatusCode::NOT_FOUND, language, "/status", w.expired_title, w.expired_text.into())
        }
        Err(err) => {
            tracing::error!(error = %err, "a subscriber could not be unsubscribed");
            unavailable(language)
        }
    }
}
