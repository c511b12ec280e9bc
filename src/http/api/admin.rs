//! Admin routes: staff accounts (`GET/POST /staff`, `PATCH /staff/{username}`) and tokens
//! (`GET/POST /tokens`, `DELETE /tokens/{name}`), over the same service as `kabar staff` and
//! `kabar token`. An admin grants no role above their own and no office outside their scope.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::auth::Authed;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, PageQuery};
use super::ApiState;
use crate::domain::ParseError;
use crate::staff::accounts::{self, parse_lifetime, NewStaff, NewToken, StaffChange};
use crate::staff::{Role, Scope, StaffAccount, TokenRecord, Username};

/// A staff account (never its password or hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffView {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub offices: String,
    pub disabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<StaffAccount> for StaffView {
    fn from(account: StaffAccount) -> Self {
        StaffView {
            username: account.username.to_string(),
            display_name: account.display_name,
            role: account.role.to_string(),
            offices: account.scope.to_string(),
            disabled: account.disabled,
            created_at: account.created_at,
            last_login_at: account.last_login_at,
        }
    }
}

/// A token (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub name: String,
    /// `kbr_` and the first characters: enough to recognise it.
    pub prefix: String,
    pub role: String,
    pub offices: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<TokenRecord> for TokenView {
    fn from(token: TokenRecord) -> Self {
        TokenView {
            name: token.name.to_string(),
            prefix: token.prefix,
            role: token.role.to_string(),
            offices: token.scope.to_string(),
            created_by: token.created_by,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffRequest {
    pub username: String,
    pub display_name: Option<String>,
    pub role: String,
    /// Office codes, region:NAME entries, or all.
    pub offices: String,
    /// At least 12 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPatch {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub offices: Option<String>,
    pub disabled: Option<bool>,
    /// A new password.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    pub name: String,
    pub role: String,
    pub offices: String,
    /// How long it lives, e.g. `90d`; absent: until revoked.
    pub expires: Option<String>,
}

/// A new token: its secret appears here once and is never shown again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    pub secret: String,
}

fn field<T: std::str::FromStr<Err = ParseError>>(name: &str, text: &str) -> Result<T, ApiError> {
    text.parse().map_err(|err: ParseError| ApiError::invalid(name, err.0))
}

/// What an admin may hand out: no role above their own, no office outside their scope.
async fn may_grant(
    state: &ApiState,
    authed: &Authed,
    role: Option<Role>,
    scope: Option<&Scope>,
) -> Result<(), ApiError> {
    if role.is_some_and(|role| role > authed.caller.role) {
        return Err(ApiError::Forbidden("you cannot grant a role above your own".into()));
    }
    if let Some(scope) = scope {
        let offices = state.store.office_directory().await?;
        if !authed.caller.scope.contains(scope, &offices) {
            return Err(ApiError::Forbidden(format!(
                "you cannot grant offices outside your own ({}): {scope}",
                authed.caller.scope
            )));
        }
    }
    Ok(())
}

/// The staff accounts, for an admin (`GET /staff`, the console's staff page).
pub(crate) async fn staff_list(state: &ApiState, authed: &Authed) -> Result<Vec<StaffAccount>, ApiError> {
    authed.require(Role::Admin)?;
    Ok(state.store.staff_accounts().await?)
}

/// Adds an account as the API and the console do: admin, fields parsed, nothing granted beyond
/// the caller's own role and scope, then the service `kabar staff add` calls.
pub(crate) async fn add_staff_as(
    state: &ApiState,
    authed: &Authed,
    request: NewStaffRequest,
) -> Result<StaffAccount, ApiError> {
    authed.require(Role::Admin)?;
    let new = NewStaff {
        username: field::<Username>("username", &request.username)?,
        display_name: request.display_name,
        role: field::<Role>("role", &request.role)?,
        scope: field::<Scope>("offices", &request.offices)?,
    };
    may_grant(state, authed, Some(new.role), Some(&new.scope)).await?;
    let password = SecretString::from(request.password);
    Ok(accounts::add_staff(&state.store, new, password, &authed.origin, chrono::Utc::now()).await?)
}

/// Changes an account as the API and the console do (`PATCH /staff/{username}`).
pub(crate) async fn update_staff_as(
    state: &ApiState,
    authed: &Authed,
    username: &str,
    patch: StaffPatch,
) -> Result<StaffAccount, ApiError> {
    authed.require(Role::Admin)?;
    let username: Username = username.parse().map_err(|err: ParseError| ApiError::NotFound(err.0))?;
    let change = StaffChange {
        role: patch.role.as_deref().map(|role| field::<Role>("role", role)).transpose()?,
        scope: patch.offices.as_deref().map(|scope| field::<Scope>("offices", scope)).transpose()?,
        disabled: patch.disabled,
        display_name: patch.display_name,
    };
    may_grant(state, authed, change.role, change.scope.as_ref()).await?;
    let password = patch.password.map(SecretString::from);
    let now = chrono::Utc::now();
    Ok(accounts::update_staff(&state.store, &username, change, password, &authed.origin, now).await?)
}

/// The tokens, for an admin (`GET /tokens`, the console's tokens page).
pub(crate) async fn token_list(state: &ApiState, authed: &Authed) -> Result<Vec<TokenRecord>, ApiError> {
    authed.require(Role::Admin)?;
    Ok(state.store.api_tokens().await?)
}

/// Creates a token as the API and the console do; the secret is in the answer only.
pub(crate) async fn create_token_as(
    state: &ApiState,
    authed: &Authed,
    request: NewTokenRequest,
) -> Result<(TokenRecord, SecretString), ApiError> {
    authed.require(Role::Admin)?;
    let new = NewToken {
        name: field::<Username>("name", &request.name)?,
        role: field::<Role>("role", &request.role)?,
        scope: field::<Scope>("offices", &request.offices)?,
        expires_in: request.expires.as_deref().map(parse_lifetime).transpose()?,
    };
    may_grant(state, authed, Some(new.role), Some(&new.scope)).await?;
    Ok(accounts::create_token(&state.store, new, &authed.origin, chrono::Utc::now()).await?)
}

/// Revokes a token as the API and the console do (`DELETE /tokens/{name}`).
pub(crate) async fn revoke_token_as(
    state: &ApiState,
    authed: &Authed,
    name: &str,
) -> Result<TokenRecord, ApiError> {
    authed.require(Role::Admin)?;
    let name: Username = name.parse().map_err(|err: ParseError| ApiError::NotFound(err.0))?;
    Ok(accounts::revoke_token(&state.store, &name, &authed.origin, chrono::Utc::now()).await?)
}

#[utoipa::path(get, path = "/api/v1/staff", tag = "admin", params(PageQuery),
    responses((status = 200, body = Page<StaffView>), (status = 401, content_type = "application/problem+json"), (status = 403, content_type = "application/problem+json")))]
pub(super) async fn list_staff(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<StaffView>>, ApiError> {
    let accounts: Vec<StaffView> =
        staff_list(&state, &authed).await?.into_iter().map(StaffView::from).collect();
    Ok(Json(page.page(accounts, |account| account.username.clone())?))
}

#[utoipa::path(post, path = "/api/v1/staff", tag = "admin", request_body = NewStaffRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request")),
    responses((status = 201, body = StaffView), (status = 401, content_type = "application/problem+json"), (status = 403, content_type = "application/problem+json"),
        (status = 409, content_type = "application/problem+json"), (status = 422, content_type = "application/problem+json")))]
pub(super) async fn add_staff(
    State(state): State<ApiState>,
    authed: Authed,
    ApiJson(request): ApiJson<NewStaffRequest>,
) -> Result<(StatusCode, Json<StaffView>), ApiError> {
    let account = add_staff_as(&state, &authed, request).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

#[utoipa::path(patch, path = "/api/v1/staff/{username}", tag = "admin", request_body = StaffPatch,
    params(("username" = String, Path)),
    responses((status = 200, body = StaffView), (status = 401, content_type = "application/problem+json"), (status = 403, content_type = "application/problem+json"),
        (status = 404, content_type = "application/problem+json"), (status = 422, content_type = "application/problem+json")))]
pub(super) async fn update_staff(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(username): ApiPath<String>,
    ApiJson(patch): ApiJson<StaffPatch>,
) -> Result<Json<StaffView>, ApiError> {
    Ok(Json(update_staff_as(&state, &authed, &username, patch).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", params(PageQuery),
    responses((status = 200, body = Page<TokenView>), (status = 401, content_type = "application/problem+json"), (status = 403, content_type = "application/problem+json")))]
pub(super) async fn list_tokens(
    State(state): State<ApiState>,
    authed: Authed,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<TokenView>>, ApiError> {
    let tokens: Vec<TokenView> =
        token_list(&state, &authed).await?.into_iter().map(TokenView::from).collect();
    Ok(Json(page.page(tokens, |token| token.name.clone())?))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = NewTokenRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key for this request")),
    responses((status = 201, body = CreatedToken), (status = 401, content_type = "application/problem+json"), (status = 403, content_type = "application/problem+json"),
        (status = 409, content_type = "application/problem+json"), (status = 422, content_type = "application/problem+json")))]
pub(super) async fn create_token(
    State(state): State<ApiState>,
    authed: Authed,
    ApiJson(request): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let (record, secret) = create_token_as(&state, &authed, request).await?;
    let created = CreatedToken { token: record.into(), secret: secret.expose_secret().to_owned() };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{name}", tag = "admin", params(("name" = String, Path)),
    responses((status = 200, body = TokenView), (status = 401, content_type = "application/problem+json"), (status = 403, content_type = "application/problem+json"),
        (status = 404, content_type = "application/problem+json"), (status = 409, content_type = "application/problem+json")))]
pub(super) async fn revoke_token(
    State(state): State<ApiState>,
    authed: Authed,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<TokenView>, ApiError> {
    Ok(Json(revoke_token_as(&state, &authed, &name).await?.into()))
}
