//! Checking who is calling: a token (machines) or a username and password (people, for the
//! console's login). Failures are rate-limited per token prefix or username and per client
//! address, with GCRA buckets (governor): a key that runs out is locked until its bucket refills,
//! and every attempt meanwhile is answered with the time to wait, without checking anything.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::SecretString;

use super::secret::{token_matches, token_prefix, verify_password};
use super::{Role, Scope, StaffAccount, TokenRecord, Username};
use crate::audit::{Actor, Origin};
use crate::store::{Store, StoreError};

/// How many failed attempts are allowed (`[staff]` in `kabar.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Per username (or token prefix) per minute, as a burst.
    pub failures_per_minute: u32,
    /// Per client address per minute, whatever the username.
    pub client_failures_per_minute: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits { failures_per_minute: 5, client_failures_per_minute: 30 }
    }
}

/// Who a request is from, once authenticated: what the authorization check looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub actor: Actor,
    pub role: Role,
    pub scope: Scope,
    /// `staff` or `token`.
    pub kind: &'static str,
    /// The username or the token's name.
    pub name: String,
}

impl Caller {
    pub fn from_staff(account: &StaffAccount) -> Caller {
        Caller {
            actor: Actor::staff(account.username.as_str()),
            role: account.role,
            scope: account.scope.clone(),
            kind: "staff",
            name: account.username.to_string(),
        }
    }

    pub fn from_token(token: &TokenRecord) -> Caller {
        Caller {
            actor: Actor::token(token.name.as_str()),
            role: token.role,
            scope: token.scope.clone(),
            kind: "token",
            name: token.name.to_string(),
        }
    }
}

/// Why a caller was not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The detail is safe to show the caller.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("too many failed attempts; try again in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One rate-limited key space: a GCRA bucket per key and the keys locked out.
struct Lockouts {
    limiter: DefaultKeyedRateLimiter<String>,
    locked: Mutex<HashMap<String, Instant>>,
}

impl Lockouts {
    fn new(per_minute: u32) -> Lockouts {
        let per_minute = NonZeroU32::new(per_minute.max(1)).expect("at least one");
        Lockouts {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            locked: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` is still locked out.
    fn wait(&self, key: &str) -> Option<Duration> {
        let locked = self.locked.lock().expect("lockouts are never poisoned");
        let until = *locked.get(key)?;
        until.checked_duration_since(Instant::now()).filter(|wait| !wait.is_zero())
    }

    /// Counts a failure of `key`; locks it out when its bucket is empty, and says for how long.
    fn fail(&self, key: &str) -> Option<Duration> {
        let not_until = self.limiter.check_key(&key.to_owned()).err()?;
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut locked = self.locked.lock().expect("lockouts are never poisoned");
        let now = Instant::now();
        locked.retain(|_, until| *until > now);
        locked.insert(key.to_owned(), now + wait);
        if locked.len() > 100_000 {
            // A flood of addresses: forget the oldest half rather than grow without bound.
            locked.clear();
        }
        self.limiter.retain_recent();
        Some(wait)
    }
}

/// Checks tokens and passwords. Cheap to clone; one per server.
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    names: Arc<Lockouts>,
    clients: Arc<Lockouts>,
}

impl Authenticator {
    pub fn new(store: Store, limits: LoginLimits) -> Authenticator {
        Authenticator {
            store,
            names: Arc::new(Lockouts::new(limits.failures_per_minute)),
            clients: Arc::new(Lockouts::new(limits.client_failures_per_minute)),
        }
    }

    fn locked(&self, name: &str, client: Option<IpAddr>) -> Result<(), AuthError> {
        let client_wait = client.and_then(|client| self.clients.wait(&client.to_string()));
        match client_wait.or_else(|| self.names.wait(name)) {
            Some(wait) => Err(AuthError::RateLimited(wait)),
            None => Ok(()),
        }
    }

    fn failed(&self, name: &str, client: Option<IpAddr>, detail: String) -> AuthError {
        let by_name = self.names.fail(name);
        let by_client = client.and_then(|client| self.clients.fail(&client.to_string()));
        match by_name.into_iter().chain(by_client).max() {
            Some(wait) => AuthError::RateLimited(wait),
            None => AuthError::Unauthenticated(detail),
        }
    }

    /// The caller a bearer token stands for.
    pub async fn token(
        &self,
        token: &str,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Caller, AuthError> {
        let Some(prefix) = token_prefix(token) else {
            // Not even shaped like a token: counts against the address only.
            self.locked("", client)?;
            let wait = client.and_then(|client| self.clients.fail(&client.to_string()));
            return Err(match wait {
                Some(wait) => AuthError::RateLimited(wait),
                None => AuthError::Unauthenticated("the bearer token is not a kabar token (kbr_…)".into()),
            });
        };
        let key = format!("token:{prefix}");
        self.locked(&key, client)?;
        let found = self.store.token_by_prefix(prefix).await?;
        let Some((record, hash)) = found.filter(|(_, hash)| token_matches(token, hash)) else {
            return Err(self.failed(&key, client, "the token is not valid".into()));
        };
        drop(hash);
        if let Some(revoked) = record.revoked_at {
            return Err(self.failed(
                &key,
                client,
                format!("token {} was revoked at {}", record.name, revoked.to_rfc3339()),
            ));
        }
        if let Some(expires) = record.expires_at.filter(|expires| *expires <= now) {
            return Err(self.failed(
                &key,
                client,
                format!("token {} expired at {}", record.name, expires.to_rfc3339()),
            ));
        }
        // Bookkeeping only: at most one write a minute per token.
        if record.last_used_at.is_none_or(|used| now - used >= chrono::Duration::seconds(60)) {
            self.store.touch_token(record.id, now).await?;
        }
        Ok(Caller::from_token(&record))
    }

    /// Checks a username and password (the console's login form). An unknown username, a
    /// disabled account and a wrong password take the same time and give the same answer.
    pub async fn login(
        &self,
        username: &str,
        password: SecretString,
        origin: &Origin,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<StaffAccount, AuthError> {
        let wrong = || "the username or password is wrong".to_owned();
        let key = format!("staff:{}", username.trim().to_ascii_lowercase());
        self.locked(&key, client)?;
        let account = match username.parse::<Username>() {
            Ok(username) => self.store.staff_account(&username).await?,
            Err(_) => None,
        };
        let hash = account.as_ref().filter(|(account, _)| !account.disabled).map(|(_, hash)| hash.clone());
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref()))
            .await
            .unwrap_or(false);
        match account {
            Some((account, _)) if verified => {
                self.store.record_login(&account.username, now, origin).await?;
                Ok(account)
            }
            _ => Err(self.failed(&key, client, wrong())),
        }
    }
}
