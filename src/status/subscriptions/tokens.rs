//! The secrets of subscriptions: the per-subscriber tokens of the confirmation and unsubscribe
//! links, and the signed token of the public subscribe form.
//!
//! A subscriber's tokens are HMAC-SHA256 of their random salt under the database's subscription
//! secret ([`Store::server_secret`](crate::store::Store::server_secret)): the database keeps the
//! salt and the SHA-256 of each token, never a token, and whoever reads the database alone cannot
//! make a working link.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// The name of the secret in `server_secrets`.
pub const SECRET_NAME: &str = "status_subscriptions";

/// The subscription secret: 32 random bytes. `Debug` hides it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    fn mac(&self, parts: &[&str]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(part.as_bytes());
            // A separator no part contains: ("ab", "c") and ("a", "bc") differ.
            mac.update(b"\x1f");
        }
        mac.finalize().into_bytes().into()
    }
}

/// What a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Unsubscribe,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Unsubscribe => "unsubscribe",
        }
    }
}

/// A new random salt (128 bits, hex).
pub fn new_salt() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The token of `purpose` for the subscriber with `salt`: URL-safe, 43 characters.
pub fn token(secret: &Secret, purpose: Purpose, salt: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.mac(&[purpose.as_str(), salt]))
}

/// What the database keeps of a token: its SHA-256, hex.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token as it may appear in a link; anything else is refused before the database is asked.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The subscribe form's token for `office`, made at `now`: `<epoch seconds>.<HMAC>`.
pub fn form_token(secret: &Secret, office: &str, now: DateTime<Utc>) -> String {
    let at = now.timestamp().to_string();
    format!("{at}.{}", hex::encode(&secret.mac(&["form", office, &at])[..16]))
}

/// Whether `token` is a form token for `office` made within `max_age` before `now` (a minute of
/// clock skew between processes allowed the other way).
pub fn form_token_valid(
    secret: &Secret,
    office: &str,
    token: &str,
    now: DateTime<Utc>,
    max_age: Duration,
) -> bool {
    let Some((at, mac)) = token.split_once('.') else { return false };
    let Ok(seconds) = at.parse::<i64>() else { return false };
    let Some(made) = DateTime::from_timestamp(seconds, 0) else { return false };
    if made > now + Duration::minutes(1) || now - made > max_age {
        return false;
    }
    let expected = hex::encode(&secret.mac(&["form", office, at])[..16]);
    bool::from(expected.as_bytes().ct_eq(mac.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new(vec![7; 32])
    }

    #[test]
    fn tokens_differ_by_purpose_and_salt_and_hash_stably() {
        let (a, b) = (new_salt(), new_salt());
        assert_ne!(a, b);
        let confirm = token(&secret(), Purpose::Confirm, &a);
        assert!(well_formed(&confirm), "{confirm}");
        assert_ne!(confirm, token(&secret(), Purpose::Unsubscribe, &a));
        assert_ne!(confirm, token(&secret(), Purpose::Confirm, &b));
        assert_eq!(confirm, token(&secret(), Purpose::Confirm, &a));
        assert_ne!(confirm, token(&Secret::new(vec![8; 32]), Purpose::Confirm, &a));
        assert_eq!(hash(&confirm).len(), 64);
        assert!(!well_formed("../../etc"));
    }

    #[test]
    fn form_tokens_expire_and_are_bound_to_the_office() {
        let now = Utc::now();
        let day = Duration::hours(24);
        let made = form_token(&secret(), "PLG", now);
        assert!(form_token_valid(&secret(), "PLG", &made, now + Duration::hours(23), day));
        assert!(!form_token_valid(&secret(), "PLG", &made, now + Duration::hours(25), day));
        assert!(!form_token_valid(&secret(), "GTO", &made, now, day));
        assert!(!form_token_valid(&Secret::new(vec![1; 32]), "PLG", &made, now, day));
        let (at, mac) = made.split_once('.').unwrap();
        let later = (at.parse::<i64>().unwrap() + 3600).to_string();
        assert!(!form_token_valid(&secret(), "PLG", &format!("{later}.{mac}"), now + day, day));
        assert!(!form_token_valid(&secret(), "PLG", "", now, day));
        assert!(!form_token_valid(&secret(), "PLG", "123", now, day));
    }
}
