//! Passwords and tokens: how they are made, kept and checked.
//!
//! Passwords: Argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane), stored as
//! the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), so parameters can be raised later and old
//! hashes still verify. Tokens: `kbr_` and 43 random URL-safe characters (256 bits), of which only
//! the SHA-256 is kept; the first [`PREFIX_CHARS`] characters after `kbr_` find the row.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every token starts with, so secret scanners can find a leaked one.
pub const TOKEN_PREFIX: &str = "kbr_";
/// How many characters after `kbr_` are stored in clear to find a token.
pub const PREFIX_CHARS: usize = 8;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password: long enough, not absurdly long, no control characters.
pub fn check_password(password: &SecretString) -> Result<(), String> {
    let text = password.expose_secret();
    let chars = text.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("too short ({chars} characters); use at least {MIN_PASSWORD_CHARS}"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("too long ({chars} characters); use at most {MAX_PASSWORD_CHARS}"));
    }
    if text.chars().any(char::is_control) {
        return Err("contains a control character (a tab or a line break?)".to_owned());
    }
    Ok(())
}

/// The PHC string of a new Argon2id hash of `password`. Takes tens of milliseconds on purpose: run
/// it off the async threads ([`tokio::task::spawn_blocking`]).
pub fn hash_password(password: &SecretString) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .expect("Argon2 hashes any password of checked length")
        .to_string()
}

/// Whether `password` matches the stored `hash`. `None` (no such account) verifies against a
/// fixed hash of the same cost and fails, so an unknown username takes as long as a wrong
/// password.
pub fn verify_password(password: &SecretString, hash: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password(&SecretString::from("not a password of anyone")));
    let (stored, real) = match hash {
        Some(hash) => (hash, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(stored) else {
        // A hash kabar did not write: spend the same time, then refuse.
        let parsed = PasswordHash::new(dummy).expect("the dummy hash parses");
        let _ = argon2().verify_password(password.expose_secret().as_bytes(), &parsed);
        return false;
    };
    let matches = argon2().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok();
    matches && real
}

/// A new token: the secret to show once, its stored prefix, and its SHA-256 (hex).
pub struct GeneratedToken {
    pub token: SecretString,
    pub prefix: String,
    pub hash: String,
}

pub fn generate_token() -> GeneratedToken {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let prefix = token_prefix(&token).expect("a generated token has a prefix").to_owned();
    let hash = token_hash(&token);
    GeneratedToken { token: token.into(), prefix, hash }
}

/// The stored prefix of a presented token (`kbr_` and [`PREFIX_CHARS`] characters), or `None` when
/// it is not shaped like a kabar token.
pub fn token_prefix(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let shaped =
        rest.len() >= 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    shaped.then(|| &token[..TOKEN_PREFIX.len() + PREFIX_CHARS])
}

/// SHA-256 of a token, hex: what is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether a presented token matches a stored hash, in constant time.
pub fn token_matches(token: &str, stored_hash: &str) -> bool {
    token_hash(token).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let password = SecretString::from("correct horse battery");
        let hash = hash_password(&password);
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password(&password, Some(&hash)));
        assert!(!verify_password(&SecretString::from("wrong horse battery"), Some(&hash)));
        assert!(!verify_password(&password, None), "no account: never verifies");
        assert!(!verify_password(&password, Some("not a hash")));
        assert!(check_password(&SecretString::from("short")).is_err());
        assert!(check_password(&SecretString::from("long enough but\ttabbed")).is_err());
    }

    #[test]
    fn tokens_are_prefixed_and_kept_as_hashes() {
        let token = generate_token();
        let text = token.token.expose_secret();
        assert!(text.starts_with("kbr_") && text.len() == 4 + 43, "{text}");
        assert_eq!(token.prefix, &text[..12]);
        assert_eq!(token_prefix(text), Some(token.prefix.as_str()));
        assert!(token_matches(text, &token.hash));
        assert!(!token_matches(&format!("{text}x"), &token.hash));
        assert_eq!(token_prefix("kbr_short"), None);
        assert_eq!(token_prefix("ghp_0123456789012345678901234567890123456789"), None);
    }
}
