//! The admin pages: staff accounts ([`staff`]), API tokens ([`tokens`]) and the audit log with
//! its verification ([`audit`]). Each handler authorises and writes through the same service
//! functions as the API's admin routes ([`crate::http::api::admin`], [`crate::http::api::audit`]),
//! so an admin grants nothing here that the API would refuse, and every write is audited there.
//!
//! A client's mistake (a bad scope, a taken username, a weak or mismatched password) shows the
//! form again with the message beside its field; a role refusal is the console's 403 page.

pub(super) mod audit;
pub(super) mod staff;
pub(super) mod tokens;

use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::error::ConsoleError;
use super::form::Staff;
use super::pages::{local, word};
use crate::domain::{Language, TimeZone};
use crate::http::api::ApiError;
use crate::staff::Role;

/// The admin routes, in the console's route list.
pub(super) fn routes() -> Vec<super::Route> {
    vec![
        ("GET", "/console/admin/staff", get(staff::list)),
        ("POST", "/console/admin/staff", post(staff::add)),
        ("GET", "/console/admin/staff/{username}", get(staff::account)),
        ("POST", "/console/admin/staff/{username}/access", post(staff::access)),
        ("POST", "/console/admin/staff/{username}/disable", post(staff::disable)),
        ("POST", "/console/admin/staff/{username}/enable", post(staff::enable)),
        ("POST", "/console/admin/staff/{username}/password", post(staff::password)),
        ("GET", "/console/admin/tokens", get(tokens::list)),
        ("POST", "/console/admin/tokens", post(tokens::create)),
        ("POST", "/console/admin/tokens/revoke", post(tokens::revoke)),
        ("GET", "/console/admin/audit", get(audit::log)),
    ]
}

/// Times not about one office (accounts, tokens, rows about several offices) are shown in WIB,
/// and the pages say so.
pub(super) fn wib() -> TimeZone {
    TimeZone(chrono_tz::Asia::Jakarta)
}

pub(super) fn in_wib(instant: Option<DateTime<Utc>>) -> String {
    local(instant, wib())
}

/// The roles as a `<select>`'s options, `selected` chosen.
pub(super) fn role_options(language: Language, selected: &str) -> Vec<Value> {
    [Role::Viewer, Role::Officer, Role::Supervisor, Role::Admin]
        .into_iter()
        .map(|role| {
            json!({
                "key": role.as_str(),
                "name": word(language, "admin_roles", role.as_str()),
                "selected": role.as_str() == selected,
            })
        })
        .collect()
}

/// Messages beside the fields of a form, by field name.
#[derive(Debug, Default)]
pub(super) struct FieldErrors {
    pub status: Option<StatusCode>,
    pub fields: Map<String, Value>,
}

impl FieldErrors {
    pub fn add(&mut self, status: StatusCode, field: &str, message: impl Into<String>) {
        self.status.get_or_insert(status);
        self.fields.entry(field.to_owned()).or_insert_with(|| Value::String(message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or(StatusCode::OK)
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.fields.clone())
    }

    /// A service's refusal as a message beside a field, when it is the client's mistake about a
    /// field of this form (`conflict_field` for a name already taken); anything else (no role,
    /// our failure) stays an error for the console's own page.
    pub fn from_api(err: ApiError, conflict_field: &str) -> Result<FieldErrors, ApiError> {
        let mut errors = FieldErrors::default();
        match err {
            ApiError::Invalid { field, detail } => {
                let field = field.unwrap_or_else(|| conflict_field.to_owned());
                errors.add(StatusCode::UNPROCESSABLE_ENTITY, &field, detail);
            }
            ApiError::Conflict(detail) => errors.add(StatusCode::CONFLICT, conflict_field, detail),
            // Past the admin check only the grant rule refuses: a scope (or role) beyond one's own.
            ApiError::Forbidden(detail) => errors.add(StatusCode::FORBIDDEN, "offices", detail),
            other => return Err(other),
        }
        Ok(errors)
    }
}

/// The admin pages' own check: staff and tokens are for admins (the console's 403 page).
pub(super) fn require_admin(staff: &Staff) -> Result<(), ConsoleError> {
    staff.authed().require(Role::Admin).map_err(staff.deny())
}

/// A short notice after a write that redirected here (`?done=added`), in words of the page.
pub(super) fn notice(language: Language, done: Option<&str>) -> Option<String> {
    let key = done?;
    let known = ["added", "saved", "disabled", "enabled", "password", "revoked"];
    known.contains(&key).then(|| word(language, "admin_done", key))
}
