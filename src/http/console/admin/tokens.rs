//! `/console/admin/tokens`: the API tokens, creating one (its secret shown once, on the answer
//! page only: the console answers `Cache-Control: no-store`), and revoking one. Through
//! [`crate::http::api::admin`]'s services, as `POST /api/v1/tokens` and `DELETE /api/v1/tokens/…`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::staff::Done;
use super::{in_wib, notice, require_admin, role_options, FieldErrors};
use crate::domain::Language;
use crate::http::api::admin::{self, NewTokenRequest};
use crate::http::console::error::ConsoleError;
use crate::http::console::form::{Posted, Staff, StaffPost};
use crate::http::console::pages::word;
use crate::http::console::ConsoleState;
use crate::staff::TokenRecord;

/// The create form as typed.
#[derive(Debug, Clone)]
pub(in crate::http::console) struct TokenForm {
    pub name: String,
    pub role: String,
    pub offices: String,
    pub expires: String,
}

impl Default for TokenForm {
    fn default() -> Self {
        TokenForm {
            name: String::new(),
            role: "viewer".into(),
            offices: String::new(),
            expires: "90d".into(),
        }
    }
}

impl TokenForm {
    fn from_posted(form: &Posted) -> TokenForm {
        TokenForm {
            name: form.get("name"),
            role: form.get("role"),
            offices: form.get("offices"),
            expires: form.get("expires"),
        }
    }
}

fn token_row(language: Language, token: &TokenRecord) -> Value {
    let now = Utc::now();
    let status = if token.revoked_at.is_some() {
        "revoked"
    } else if token.is_active(now) {
        "active"
    } else {
        "expired"
    };
    json!({
        "name": token.name.as_str(),
        "prefix": token.prefix,
        "role_name": word(language, "admin_roles", token.role.as_str()),
        "offices": token.scope.to_string(),
        "created_by": token.created_by,
        "created": in_wib(Some(token.created_at)),
        "expires": in_wib(token.expires_at),
        "last_used": in_wib(token.last_used_at),
        "revoked": in_wib(token.revoked_at),
        "status": status,
        "status_name": word(language, "admin_tokens", status),
        "active": status == "active",
    })
}

/// The list page's data: every token (never a secret), and the create form.
pub(in crate::http::console) fn list_data(
    language: Language,
    tokens: &[TokenRecord],
    form: &TokenForm,
    errors: &FieldErrors,
    done: Option<&str>,
) -> Value {
    json!({
        "tokens": tokens.iter().map(|token| token_row(language, token)).collect::<Vec<_>>(),
        "form": {"name": form.name, "offices": form.offices, "expires": form.expires},
        "roles": role_options(language, &form.role),
        "errors": errors.to_value(),
        "notice": notice(language, done),
    })
}

async fn list_page(
    state: &ConsoleState,
    staff: &Staff,
    form: &TokenForm,
    errors: &FieldErrors,
    done: Option<&str>,
) -> Result<Response, ConsoleError> {
    let tokens = admin::token_list(&state.api, staff.authed()).await.map_err(staff.deny())?;
    let language = staff.language();
    let data = list_data(language, &tokens, form, errors, done);
    let title = word(language, "admin_tokens", "title");
    Ok(staff.frame().page(errors.status(), "admin_tokens", &title, data))
}

/// `GET /console/admin/tokens`.
pub(in crate::http::console) async fn list(
    State(state): State<ConsoleState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    require_admin(&staff)?;
    list_page(&state, &staff, &TokenForm::default(), &FieldErrors::default(), done.done.as_deref()).await
}

/// The answer page's data: the token and its secret, this once.
pub(in crate::http::console) fn created_data(
    language: Language,
    token: &TokenRecord,
    secret: &SecretString,
) -> Value {
    json!({"token": token_row(language, token), "secret": secret.expose_secret()})
}

/// `POST /console/admin/tokens`: creates it and shows the secret once.
pub(in crate::http::console) async fn create(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    require_admin(staff)?;
    let form = TokenForm::from_posted(&post.form);
    let request = NewTokenRequest {
        name: form.name.clone(),
        role: form.role.clone(),
        offices: form.offices.clone(),
        expires: Some(form.expires.clone()).filter(|expires| !expires.is_empty()),
    };
    match admin::create_token_as(&state.api, staff.authed(), request).await {
        Ok((token, secret)) => {
            let language = staff.language();
            let title = word(language, "admin_created", "title");
            let data = created_data(language, &token, &secret);
            Ok(staff.frame().page(StatusCode::OK, "admin_token_created", &title, data))
        }
        Err(err) => {
            let errors = FieldErrors::from_api(err, "name").map_err(staff.deny())?;
            list_page(&state, staff, &form, &errors, None).await
        }
    }
}

/// `POST /console/admin/tokens/revoke`: the next request with the token is refused.
pub(in crate::http::console) async fn revoke(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    require_admin(staff)?;
    let name = post.form.get("name");
    admin::revoke_token_as(&state.api, staff.authed(), &name).await.map_err(staff.deny())?;
    Ok(Redirect::to("/console/admin/tokens?done=revoked").into_response())
}
