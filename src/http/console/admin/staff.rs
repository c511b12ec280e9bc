//! `/console/admin/staff`: the accounts, adding one, and per account its role and scope, disable
//! or enable, and a new password. Through [`crate::http::api::admin`]'s services: the grant rule
//! (no office outside the admin's own scope) and the audit row are theirs.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{in_wib, notice, require_admin, role_options, FieldErrors};
use crate::domain::Language;
use crate::http::api::admin::{self, NewStaffRequest, StaffPatch};
use crate::http::api::ApiError;
use crate::http::console::error::ConsoleError;
use crate::http::console::form::{Posted, Staff, StaffPost};
use crate::http::console::pages::word;
use crate::http::console::ConsoleState;
use crate::staff::StaffAccount;

#[derive(Debug, Default, Deserialize)]
pub(in crate::http::console) struct Done {
    #[serde(default)]
    pub done: Option<String>,
}

/// The add form as typed (never its passwords), to show it again.
#[derive(Debug, Clone, Default)]
pub(in crate::http::console) struct AddForm {
    pub username: String,
    pub name: String,
    pub role: String,
    pub offices: String,
}

impl AddForm {
    fn from_posted(form: &Posted) -> AddForm {
        AddForm {
            username: form.get("username"),
            name: form.get("name"),
            role: form.get("role"),
            offices: form.get("offices"),
        }
    }
}

fn account_row(language: Language, account: &StaffAccount) -> Value {
    json!({
        "username": account.username.as_str(),
        "name": account.display_name,
        "role": account.role.as_str(),
        "role_name": word(language, "admin_roles", account.role.as_str()),
        "offices": account.scope.to_string(),
        "disabled": account.disabled,
        "last_login": in_wib(account.last_login_at),
        "created": in_wib(Some(account.created_at)),
    })
}

/// The list page's data: every account, and the add form (as typed, with its errors).
pub(in crate::http::console) fn list_data(
    language: Language,
    accounts: &[StaffAccount],
    form: &AddForm,
    errors: &FieldErrors,
    done: Option<&str>,
) -> Value {
    let role = if form.role.is_empty() { "officer" } else { form.role.as_str() };
    json!({
        "accounts": accounts.iter().map(|account| account_row(language, account)).collect::<Vec<_>>(),
        "form": {"username": form.username, "name": form.name, "offices": form.offices},
        "roles": role_options(language, role),
        "errors": errors.to_value(),
        "notice": notice(language, done),
    })
}

async fn list_page(
    state: &ConsoleState,
    staff: &Staff,
    form: &AddForm,
    errors: &FieldErrors,
    done: Option<&str>,
) -> Result<Response, ConsoleError> {
    let accounts = admin::staff_list(&state.api, staff.authed()).await.map_err(staff.deny())?;
    let language = staff.language();
    let data = list_data(language, &accounts, form, errors, done);
    let title = word(language, "admin_staff", "title");
    Ok(staff.frame().page(errors.status(), "admin_staff", &title, data))
}

/// `GET /console/admin/staff`.
pub(in crate::http::console) async fn list(
    State(state): State<ConsoleState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    require_admin(&staff)?;
    list_page(&state, &staff, &AddForm::default(), &FieldErrors::default(), done.done.as_deref()).await
}

/// The two password fields: the same, or a message beside the second.
fn password_twice(form: &Posted, errors: &mut FieldErrors, language: Language) -> String {
    let (password, again) = (form.raw("password"), form.raw("password_again"));
    if password != again {
        errors.add(
            StatusCode::UNPROCESSABLE_ENTITY,
            "password_again",
            word(language, "admin_staff", "mismatch"),
        );
    }
    password
}

/// `POST /console/admin/staff`: adds the account, then back to the list.
pub(in crate::http::console) async fn add(
    State(state): State<ConsoleState>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    require_admin(staff)?;
    let form = AddForm::from_posted(&post.form);
    let mut errors = FieldErrors::default();
    let password = password_twice(&post.form, &mut errors, staff.language());
    if !errors.is_empty() {
        return list_page(&state, staff, &form, &errors, None).await;
    }
    let request = NewStaffRequest {
        username: form.username.clone(),
        display_name: Some(form.name.clone()).filter(|name| !name.is_empty()),
        role: form.role.clone(),
        offices: form.offices.clone(),
        password,
    };
    match admin::add_staff_as(&state.api, staff.authed(), request).await {
        Ok(_) => Ok(Redirect::to("/console/admin/staff?done=added").into_response()),
        Err(err) => {
            let errors = FieldErrors::from_api(err, "username").map_err(staff.deny())?;
            list_page(&state, staff, &form, &errors, None).await
        }
    }
}

/// One account's page data: its forms, as typed after a refusal.
pub(in crate::http::console) fn account_data(
    language: Language,
    account: &StaffAccount,
    typed: Option<(&str, &str)>,
    errors: &FieldErrors,
    done: Option<&str>,
) -> Value {
    let (role, offices) = match typed {
        Some((role, offices)) => (role.to_owned(), offices.to_owned()),
        None => (account.role.as_str().to_owned(), account.scope.to_string()),
    };
    json!({
        "account": account_row(language, account),
        "roles": role_options(language, &role),
        "offices": offices,
        "errors": errors.to_value(),
        "notice": notice(language, done),
    })
}

async fn account_page(
    state: &ConsoleState,
    staff: &Staff,
    username: &str,
    typed: Option<(&str, &str)>,
    errors: &FieldErrors,
    done: Option<&str>,
) -> Result<Response, ConsoleError> {
    let accounts = admin::staff_list(&state.api, staff.authed()).await.map_err(staff.deny())?;
    let Some(account) = accounts.iter().find(|account| account.username.as_str() == username) else {
        return Err(staff.deny()(ApiError::NotFound(format!("there is no staff member {username}"))));
    };
    let language = staff.language();
    let data = account_data(language, account, typed, errors, done);
    let title = format!("{} {}", word(language, "admin_account", "title"), account.username);
    Ok(staff.frame().page(errors.status(), "admin_account", &title, data))
}

/// `GET /console/admin/staff/{username}`.
pub(in crate::http::console) async fn account(
    State(state): State<ConsoleState>,
    staff: Staff,
    Path(username): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    require_admin(&staff)?;
    account_page(&state, &staff, &username, None, &FieldErrors::default(), done.done.as_deref()).await
}

/// Applies `patch` to the account, then back to its page with `done`, or its page again with
/// the message beside the field at fault.
async fn change(
    state: &ConsoleState,
    post: &StaffPost,
    username: &str,
    patch: StaffPatch,
    typed: Option<(&str, &str)>,
    done: &str,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    match admin::update_staff_as(&state.api, staff.authed(), username, patch).await {
        Ok(account) => {
            let to = format!("/console/admin/staff/{}?done={done}", account.username);
            Ok(Redirect::to(&to).into_response())
        }
        Err(err) => {
            let errors = FieldErrors::from_api(err, "role").map_err(staff.deny())?;
            account_page(state, staff, username, typed, &errors, None).await
        }
    }
}

fn empty_patch() -> StaffPatch {
    StaffPatch { display_name: None, role: None, offices: None, disabled: None, password: None }
}

/// `POST /console/admin/staff/{username}/access`: role and scope.
pub(in crate::http::console) async fn access(
    State(state): State<ConsoleState>,
    Path(username): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    require_admin(&post.staff)?;
    let (role, offices) = (post.form.get("role"), post.form.get("offices"));
    let patch = StaffPatch { role: Some(role.clone()), offices: Some(offices.clone()), ..empty_patch() };
    change(&state, &post, &username, patch, Some((&role, &offices)), "saved").await
}

/// `POST /console/admin/staff/{username}/disable`: their sessions end at the next request.
pub(in crate::http::console) async fn disable(
    State(state): State<ConsoleState>,
    Path(username): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    require_admin(&post.staff)?;
    change(&state, &post, &username, StaffPatch { disabled: Some(true), ..empty_patch() }, None, "disabled")
        .await
}

/// `POST /console/admin/staff/{username}/enable`.
pub(in crate::http::console) async fn enable(
    State(state): State<ConsoleState>,
    Path(username): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    require_admin(&post.staff)?;
    change(&state, &post, &username, StaffPatch { disabled: Some(false), ..empty_patch() }, None, "enabled")
        .await
}

/// `POST /console/admin/staff/{username}/password`: a new password, typed twice.
pub(in crate::http::console) async fn password(
    State(state): State<ConsoleState>,
    Path(username): Path<String>,
    post: StaffPost,
) -> Result<Response, ConsoleError> {
    let staff = &post.staff;
    require_admin(staff)?;
    let mut errors = FieldErrors::default();
    let password = password_twice(&post.form, &mut errors, staff.language());
    if !errors.is_empty() {
        return account_page(&state, staff, &username, None, &errors, None).await;
    }
    change(
        &state,
        &post,
        &username,
        StaffPatch { password: Some(password), ..empty_patch() },
        None,
        "password",
    )
    .await
}
