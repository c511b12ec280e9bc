//! Staff accounts and machine tokens: who may use the staff API (and later the console), with
//! which role, for which offices.
//!
//! A [`Role`] includes the ones before it: `viewer` reads, `officer` changes service states and
//! drafts broadcasts for the offices in scope, `supervisor` approves broadcasts and changes a
//! region or `all` at once, `admin` manages staff and tokens and reads the whole audit log. A
//! [`Scope`] is written as `kabar state set` writes its target (`PLG`, `PLG,GTO`,
//! `region:Sumatera Selatan`, `all`) and parsed by the same parser.
//!
//! Passwords are hashed with Argon2id ([`secret`]); tokens are `kbr_` and random characters, kept
//! only as a SHA-256 hash. Every write goes through [`accounts`], which audits it in the same
//! transaction; [`Authenticator`] checks passwords and tokens with rate-limited failures.

pub mod accounts;
mod auth;
mod config;
mod scope;
pub mod secret;
pub mod session;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

pub use accounts::{parse_lifetime, NewStaff, NewToken, StaffChange};
pub use auth::{AuthError, Authenticator, Caller, LoginLimits};
pub use config::{CostsConfig, StaffConfig};
pub use scope::Scope;
pub use session::{SessionError, Sessions};

use crate::domain::{text_enum, ParseError};

text_enum! {
    /// What a caller may do; each role includes the ones before it.
    Role, "role" {
        Viewer => "viewer",
        Officer => "officer",
        Supervisor => "supervisor",
        Admin => "admin",
    }
}

/// A staff member's login name: 1 to 64 lower-case letters, digits, `.`, `_` or `-`, starting
/// with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Username(String);

impl Username {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Username {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let name = input.trim().to_ascii_lowercase();
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !(1..=64).contains(&name.len()) || !starts_well || !name.chars().all(allowed) {
            return Err(ParseError(format!(
                "{:?} is not a username; use 1 to 64 letters, digits, '.', '_' or '-', starting with a \
                 letter or digit, e.g. budi.santoso",
                input.trim()
            )));
        }
        Ok(Username(name))
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token's name, as `kabar token revoke` takes it: the same rules as a [`Username`].
pub type TokenName = Username;

/// A staff account as stored, without its password hash.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StaffAccount {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// An API token as stored, without its hash.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenRecord {
    #[serde(skip)]
    pub id: i64,
    pub name: TokenName,
    /// `kbr_` and the first characters of the token: enough to recognise it, not to use it.
    pub prefix: String,
    pub role: Role,
    pub scope: Scope,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Whether the token is usable at `now`: not revoked, not expired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expires| now < expires)
    }
}

/// Why a staff or token command was refused; nothing is written then.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("there is no staff member {0}; see `kabar staff list`")]
    UnknownStaff(Username),
    #[error("staff member {0} already exists; change them with `kabar staff set-role` or `reset-password`")]
    StaffExists(Username),
    #[error("there is no token named {0}; see `kabar token list`")]
    UnknownToken(TokenName),
    #[error("a token named {0} already exists; choose another name or revoke it first")]
    TokenExists(TokenName),
    #[error("token {0} is already revoked")]
    AlreadyRevoked(TokenName),
    #[error("password: {0}")]
    Password(String),
    #[error("offices: {0}")]
    Scope(String),
    #[error("name: {0}")]
    Name(ParseError),
    #[error("expires: {0}")]
    Expires(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_before() {
        assert!(
            Role::Viewer < Role::Officer
                && Role::Officer < Role::Supervisor
                && Role::Supervisor < Role::Admin
        );
        assert_eq!("Supervisor".parse::<Role>().unwrap(), Role::Supervisor);
        assert!("root"
            .parse::<Role>()
            .unwrap_err()
            .to_string()
            .contains("viewer, officer, supervisor, admin"));
    }

    #[test]
    fn usernames() {
        assert_eq!("Budi.Santoso".parse::<Username>().unwrap().as_str(), "budi.santoso");
        for wrong in ["", ".budi", "budi santoso", "budi@imigrasi", &"a".repeat(65)] {
            assert!(wrong.parse::<Username>().is_err(), "{wrong:?}");
        }
    }
}
