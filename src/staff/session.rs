//! Console sessions: a random id in the browser's cookie, its SHA-256 in the database, an idle
//! and an absolute timeout (`[staff] session_idle_minutes`, `session_hours`), and a CSRF token
//! derived from the id, so that only the holder of the cookie can know it.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{StaffAccount, StaffConfig};
use crate::store::{ConsoleSession, Store, StoreError};

/// A new session id: 256 random bits, URL-safe, as the cookie holds it.
pub fn new_session_id() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps of a session id.
pub fn session_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The CSRF token of a session: forms carry it in a hidden field, and a POST without it is
/// refused. Derived, so it needs no storage and changes with the session id.
pub fn csrf_token(id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"kabar console csrf\0");
    hasher.update(id.as_bytes());
    hex::encode(hasher.finalize())
}

/// Whether `given` is the CSRF token of session `id` (compared in constant time).
pub fn csrf_matches(id: &str, given: &str) -> bool {
    csrf_token(id).as_bytes().ct_eq(given.as_bytes()).into()
}

/// Why a session does not let a request in.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("not signed in")]
    Missing,
    #[error("the session ended after {0} minutes without activity")]
    Idle(u32),
    #[error("the session ended {0} hours after login")]
    Expired(u32),
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens, checks and closes console sessions.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    config: StaffConfig,
}

impl Sessions {
    pub fn new(store: Store, config: StaffConfig) -> Sessions {
        Sessions { store, config }
    }

    /// A session for `account`, which just logged in; `replaces` (the browser's previous session
    /// id, if any) ends, so the id rotates at login.
    pub async fn open(
        &self,
        account: &StaffAccount,
        replaces: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<SecretString, StoreError> {
        let id = new_session_id();
        let replaces = replaces.map(session_hash);
        self.store
            .open_console_session(
                &session_hash(id.expose_secret()),
                replaces.as_deref(),
                &account.username,
                now,
                now - self.config.session_idle(),
            )
            .await?;
        Ok(id)
    }

    /// The live session with this id. A timed-out one is forgotten and refused.
    pub async fn check(&self, id: &str, now: DateTime<Utc>) -> Result<ConsoleSession, SessionError> {
        let hash = session_hash(id);
        let Some(session) = self.store.console_session(&hash).await? else {
            return Err(SessionError::Missing);
        };
        let refusal = if now - session.created_at >= self.config.session_lifetime() {
            Some(SessionError::Expired(self.config.session_hours))
        } else if now - session.last_seen_at >= self.config.session_idle() {
            Some(SessionError::Idle(self.config.session_idle_minutes))
        } else if session.account.disabled {
            Some(SessionError::Disabled)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.store.close_console_session(&hash, now, None).await?;
            return Err(refusal);
        }
        // Bookkeeping only: at most one write a minute per session.
        if now - session.last_seen_at >= chrono::Duration::seconds(60) {
            self.store.touch_console_session(&hash, now).await?;
        }
        Ok(session)
    }

    /// Ends the session (a logout), audited for `origin`.
    pub async fn close(
        &self,
        id: &str,
        now: DateTime<Utc>,
        origin: &crate::audit::Origin,
    ) -> Result<bool, StoreError> {
        self.store.close_console_session(&session_hash(id), now, Some(origin)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_tokens_derived() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 43);
        let token = csrf_token(a.expose_secret());
        assert!(csrf_matches(a.expose_secret(), &token));
        assert!(!csrf_matches(b.expose_secret(), &token));
        assert!(!csrf_matches(a.expose_secret(), ""));
        assert_ne!(session_hash(a.expose_secret()), token, "the token is not the stored hash");
    }
}
