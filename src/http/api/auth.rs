//! The one authorization check of the staff API. Every `/api/v1` handler but the OpenAPI
//! document takes an [`Authed`] (who is calling, from where) and asks it [`Authed::require`] (a
//! role) or [`Authed::require_offices`] (a role for these offices) before touching anything.
//! Machines authenticate with `Authorization: Bearer kbr_…`; people in the staff console with
//! their session cookie ([`Authed::from_session`]). Both become the same [`Caller`] and
//! [`Origin`], and every console handler asks the same `require`/`require_offices`, so the console
//! has no second, weaker path to the data.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use axum::http::header::COOKIE;
use secrecy::{ExposeSecret, SecretString};

use super::error::ApiError;
use super::ApiState;
use crate::audit::Origin;
use crate::domain::OfficeCode;
use crate::staff::{Caller, Role, SessionError, Sessions};
use crate::store::{ConsoleSession, OfficeDirectory};

/// The console's session cookie (`Path=/console`, so it never reaches the API).
pub(crate) const SESSION_COOKIE: &str = "kabar_session";

/// An authenticated request: the caller and the origin its audit rows carry.
#[derive(Debug, Clone)]
pub struct Authed {
    pub caller: Caller,
    pub origin: Origin,
}

/// The client's address as the server saw it (a proxy in front of kabar is that client).
pub(crate) fn client_address(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip())
}

impl FromRequestParts<ApiState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        // The idempotency layer may have authenticated the request already.
        if let Some(authed) = parts.extensions.get::<Authed>() {
            return Ok(authed.clone());
        }
        let client = client_address(parts);
        let header = parts.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok());
        let Some(header) = header else {
            return Err(ApiError::Unauthenticated(
                "no credentials; send Authorization: Bearer kbr_… (create a token with `kabar token create`)"
                    .into(),
            ));
        };
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::Unauthenticated(
                    "the Authorization header is not `Bearer TOKEN`".into(),
                ))
            }
        };
        let caller = state.auth.token(token, client, chrono::Utc::now()).await?;
        let authed = Authed::of(parts, caller);
        parts.extensions.insert(authed.clone());
        Ok(authed)
    }
}

/// A console request's caller and the session it came with.
#[derive(Debug, Clone)]
pub struct SessionAuthed {
    pub authed: Authed,
    pub session: ConsoleSession,
    /// The cookie's session id: the CSRF token is derived from it.
    pub session_id: SecretString,
}

impl SessionAuthed {
    /// The session's CSRF token, for the forms of a page.
    pub fn csrf(&self) -> String {
        crate::staff::session::csrf_token(self.session_id.expose_secret())
    }

    /// Whether a posted form's token is this session's.
    pub fn csrf_matches(&self, given: &str) -> bool {
        crate::staff::session::csrf_matches(self.session_id.expose_secret(), given)
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| axum_extra::extract::cookie::Cookie::parse(pair.trim().to_owned()).ok())
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

impl Authed {
    /// The caller of a request, with the origin its audit rows carry: actor, request id, client.
    fn of(parts: &Parts, caller: Caller) -> Authed {
        let request_id =
            parts.headers.get("x-request-id").and_then(|value| value.to_str().ok()).map(str::to_owned);
        let origin = Origin {
            actor: caller.actor.clone(),
            request_id,
            client: client_address(parts).map(|client| client.to_string()),
        };
        Authed { caller, origin }
    }

    /// The staff member of a console request, from its session cookie: the same [`Caller`] a
    /// token gives, built from the account as it is now (a role or scope changed since login
    /// applies at once; a disabled account is let in no more).
    pub(crate) async fn from_session(parts: &Parts, state: &ApiState) -> Result<SessionAuthed, SessionError> {
        let id = cookie(parts, SESSION_COOKIE).ok_or(SessionError::Missing)?;
        let sessions = Sessions::new(state.store.clone(), state.settings.staff.clone());
        let session = sessions.check(&id, chrono::Utc::now()).await?;
        let authed = Authed::of(parts, Caller::from_staff(&session.account));
        Ok(SessionAuthed { authed, session, session_id: SecretString::from(id) })
    }
    /// Refuses unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.caller.role >= role {
            return Ok(());
        }
        Err(ApiError::Forbidden(format!(
            "this needs the {role} role; {} {} is {}",
            self.caller.kind, self.caller.name, self.caller.role
        )))
    }

    /// Refuses unless the caller's role is at least `role` and every office of `codes` is in
    /// scope; the refusal names the offices outside it.
    pub fn require_offices(
        &self,
        role: Role,
        codes: &[OfficeCode],
        offices: &OfficeDirectory,
    ) -> Result<(), ApiError> {
        self.require(role)?;
        let outside = self.caller.scope.outside(codes, offices);
        if outside.is_empty() {
            return Ok(());
        }
        let list = outside.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        Err(ApiError::OutOfScope {
            detail: format!(
                "{list} {} outside your offices ({}); nothing was changed",
                if outside.len() == 1 { "is" } else { "are" },
                self.caller.scope
            ),
            offices: outside,
        })
    }

    /// Whether the caller may see `code` at all.
    pub fn sees(&self, code: &OfficeCode, offices: &OfficeDirectory) -> bool {
        self.caller.scope.covers_code(code, offices)
    }
}
