//! The one authorization check of the staff API. Every `/api/v1` handler but the OpenAPI
//! document takes an [`Authed`] (who is calling, from where) and asks it [`Authed::require`] (a
//! role) or [`Authed::require_offices`] (a role for these offices) before touching anything.
//! Machines authenticate with `Authorization: Bearer kbr_…`; the console's session cookie will be
//! read here too, so both reach the data through the same checks.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use super::ApiState;
use crate::audit::Origin;
use crate::domain::OfficeCode;
use crate::staff::{Caller, Role};
use crate::store::OfficeDirectory;

/// An authenticated request: the caller and the origin its audit rows carry.
#[derive(Debug, Clone)]
pub struct Authed {
    pub caller: Caller,
    pub origin: Origin,
}

/// The client's address as the server saw it (a proxy in front of kabar is that client).
pub(super) fn client_address(parts: &Parts) -> Option<IpAddr> {
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
        let request_id =
            parts.headers.get("x-request-id").and_then(|value| value.to_str().ok()).map(str::to_owned);
        let origin = Origin {
            actor: caller.actor.clone(),
            request_id,
            client: client.map(|client| client.to_string()),
        };
        let authed = Authed { caller, origin };
        parts.extensions.insert(authed.clone());
        Ok(authed)
    }
}

impl Authed {
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
