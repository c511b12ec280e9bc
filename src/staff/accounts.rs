//! The writes on staff accounts and tokens, shared by `kabar staff`/`kabar token` and the API's
//! admin routes. Each checks its input, then writes and audits in one transaction.

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;

use super::secret::{self, check_password};
use super::{Role, Scope, StaffAccount, StaffError, TokenName, TokenRecord, Username};
use crate::audit::Origin;
use crate::domain::{check_length, check_plain_text};
use crate::store::Store;

/// An account to add.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: Username,
    pub display_name: Option<String>,
    pub role: Role,
    pub scope: Scope,
}

/// What to change on an account; `None` keeps the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffChange {
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub disabled: Option<bool>,
    pub display_name: Option<String>,
}

impl StaffChange {
    /// The audit action of this change.
    pub(crate) fn action(&self, password: bool) -> &'static str {
        match self {
            _ if password => "staff.reset_password",
            StaffChange { disabled: Some(true), .. } => "staff.disable",
            StaffChange { disabled: Some(false), .. } => "staff.enable",
            StaffChange { role: Some(_), .. } | StaffChange { scope: Some(_), .. } => "staff.set_role",
            _ => "staff.update",
        }
    }
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: TokenName,
    pub role: Role,
    pub scope: Scope,
    /// How long it lives; `None`: until revoked.
    pub expires_in: Option<Duration>,
}

fn check_display_name(name: &str) -> Result<String, StaffError> {
    let name = name.trim();
    check_plain_text(name).map_err(StaffError::Name)?;
    check_length(name, 200).map_err(StaffError::Name)?;
    Ok(name.to_owned())
}

async fn check_scope(store: &Store, scope: &Scope) -> Result<(), StaffError> {
    if scope.is_all() {
        return Ok(());
    }
    let offices = store.office_directory().await?;
    scope.check(&offices).map_err(StaffError::Scope)
}

async fn hash(password: SecretString) -> Result<String, StaffError> {
    check_password(&password).map_err(StaffError::Password)?;
    tokio::task::spawn_blocking(move || secret::hash_password(&password))
        .await
        .map_err(|err| StaffError::Password(format!("hashing failed: {err}")))
}

/// Adds a staff account with `password`.
pub async fn add_staff(
    store: &Store,
    new: NewStaff,
    password: SecretString,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<StaffAccount, StaffError> {
    let display_name = match &new.display_name {
        Some(name) => check_display_name(name)?,
        None => new.username.to_string(),
    };
    check_scope(store, &new.scope).await?;
    let password_hash = hash(password).await?;
    let account = StaffAccount {
        username: new.username,
        display_name,
        role: new.role,
        scope: new.scope,
        disabled: false,
        created_at: now,
        last_login_at: None,
    };
    if !store.insert_staff(&account, &password_hash, origin).await? {
        return Err(StaffError::StaffExists(account.username));
    }
    Ok(account)
}

/// Changes an account's role, scope, name or disabled flag, and optionally its password.
pub async fn update_staff(
    store: &Store,
    username: &Username,
    mut change: StaffChange,
    password: Option<SecretString>,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<StaffAccount, StaffError> {
    if let Some(scope) = &change.scope {
        check_scope(store, scope).await?;
    }
    if let Some(name) = &change.display_name {
        change.display_name = Some(check_display_name(name)?);
    }
    let password_hash = match password {
        Some(password) => Some(hash(password).await?),
        None => None,
    };
    store
        .update_staff(username, &change, password_hash.as_deref(), now, origin)
        .await?
        .ok_or_else(|| StaffError::UnknownStaff(username.clone()))
}

/// Creates a token; the secret is in the answer only, never stored.
pub async fn create_token(
    store: &Store,
    new: NewToken,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<(TokenRecord, SecretString), StaffError> {
    check_scope(store, &new.scope).await?;
    if new.expires_in.is_some_and(|lasts| lasts <= Duration::zero()) {
        return Err(StaffError::Expires("must be in the future".into()));
    }
    let generated = secret::generate_token();
    let record = TokenRecord {
        id: 0,
        name: new.name,
        prefix: generated.prefix,
        role: new.role,
        scope: new.scope,
        created_by: origin.actor.to_string(),
        created_at: now,
        expires_at: new.expires_in.map(|lasts| now + lasts),
        last_used_at: None,
        revoked_at: None,
    };
    if !store.insert_token(&record, &generated.hash, origin).await? {
        return Err(StaffError::TokenExists(record.name));
    }
    Ok((record, generated.token))
}

/// Revokes a token: the next request with it is refused.
pub async fn revoke_token(
    store: &Store,
    name: &TokenName,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<TokenRecord, StaffError> {
    let (record, revoked) =
        store.revoke_token(name, now, origin).await?.ok_or_else(|| StaffError::UnknownToken(name.clone()))?;
    if !revoked {
        return Err(StaffError::AlreadyRevoked(name.clone()));
    }
    Ok(record)
}

/// `90d`, `12h`, `30m`: how long a token lives.
pub fn parse_lifetime(text: &str) -> Result<Duration, StaffError> {
    let text = text.trim();
    let wrong = || StaffError::Expires(format!("{text:?} is not a duration; write e.g. 90d, 12h or 30m"));
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number.parse().map_err(|_| wrong())?;
    if number <= 0 || number > 3650 * 24 * 60 {
        return Err(wrong());
    }
    match unit {
        "d" => Ok(Duration::days(number)),
        "h" => Ok(Duration::hours(number)),
        "m" => Ok(Duration::minutes(number)),
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_lifetime("12h").unwrap(), Duration::hours(12));
        for wrong in ["", "d", "0d", "-1d", "90", "3w"] {
            assert!(parse_lifetime(wrong).is_err(), "{wrong:?}");
        }
    }
}
