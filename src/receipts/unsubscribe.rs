//! Email unsubscribe links (RFC 8058 one-click).
//!
//! Every email carries `List-Unsubscribe: <…/unsubscribe/{token}>` and `List-Unsubscribe-Post:
//! List-Unsubscribe=One-Click`. The token is the applicant id and an HMAC-SHA256 of it under
//! `unsubscribe_key`, URL-safe base64, so links cannot be guessed or forged and need no table.
//! A `GET` (a person clicking, or a mail scanner prefetching) only shows a confirmation form; the
//! `POST` (the mailbox provider's one-click, or the form) unsubscribes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use url::Url;

use super::ReceiptsConfig;

/// Signed bytes are prefixed with this, so a MAC made with the key for another purpose can never
/// pass as an unsubscribe token.
const DOMAIN: &[u8] = b"kabar unsubscribe v1\0";
const MAC_LEN: usize = 32;

fn mac(key: &SecretString, applicant_id: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(DOMAIN);
    mac.update(&applicant_id.to_be_bytes());
    mac
}

/// The token of an applicant's unsubscribe link.
pub fn token(key: &SecretString, applicant_id: i64) -> String {
    let mut bytes = applicant_id.to_be_bytes().to_vec();
    bytes.extend_from_slice(&mac(key, applicant_id).finalize().into_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The applicant a token was made for, when it was made with `key`; checked in constant time.
pub fn verify_token(key: &SecretString, token: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    if bytes.len() != 8 + MAC_LEN {
        return None;
    }
    let (id, claimed) = bytes.split_at(8);
    let applicant_id = i64::from_be_bytes(id.try_into().ok()?);
    mac(key, applicant_id).verify_slice(claimed).ok()?;
    Some(applicant_id)
}

/// The one-click unsubscribe link of an applicant, for the email's `List-Unsubscribe` header and
/// footer; `None` when `unsubscribe_key` is not configured (emails then carry no link).
pub fn unsubscribe_url(config: &ReceiptsConfig, applicant_id: i64) -> Option<Url> {
    let key = config.unsubscribe_key.as_ref()?;
    let mut url = config.public_base_url.clone();
    url.path_segments_mut().ok()?.pop_if_empty().extend(["unsubscribe", &token(key, applicant_id)]);
    Some(url)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
         <body style=\"font-family: sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em\">\
         {body}</body></html>\n"
    )
}

/// Shown by `GET`: a form that posts the one-click body back to the same URL.
pub fn confirm_page() -> String {
    page(
        "Berhenti berlangganan email",
        "<h1>Berhenti menerima email?</h1>\
         <p>Anda tidak akan lagi menerima pemberitahuan layanan imigrasi melalui email. \
         Pemberitahuan penting tetap dikirim melalui WhatsApp atau SMS bila tersedia.</p>\
         <p lang=\"en\">Stop receiving immigration service notices by email? Important notices still \
         reach you by WhatsApp or SMS where available.</p>\
         <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Berhenti berlangganan / Unsubscribe</button></form>",
    )
}

/// Shown after the `POST`.
pub fn done_page() -> String {
    page(
        "Berhenti berlangganan email",
        "<h1>Anda telah berhenti berlangganan email.</h1>\
         <p lang=\"en\">You will no longer receive these notices by email.</p>",
    )
}

/// Shown for a link that was not made by kabar (mistyped, cut, or forged).
pub fn invalid_page() -> String {
    page(
        "Tautan tidak valid",
        "<h1>Tautan tidak valid.</h1>\
         <p>Gunakan tautan lengkap dari email Anda. / <span lang=\"en\">Use the full link from your email.</span></p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretString {
        "a-long-random-unsubscribe-key-of-40-chars".into()
    }

    #[test]
    fn tokens_round_trip_and_cannot_be_forged() {
        let token = token(&key(), 42);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        assert_eq!(verify_token(&key(), &token), Some(42));
        assert_eq!(verify_token(&"another-key-another-key-another-key".into(), &token), None);
        // Another applicant's id with this applicant's MAC.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[7] = 43;
        assert_eq!(verify_token(&key(), &URL_SAFE_NO_PAD.encode(&bytes)), None);
        assert_eq!(verify_token(&key(), &token[..token.len() - 2]), None);
        assert_eq!(verify_token(&key(), "!!"), None);
    }

    #[test]
    fn links_start_with_the_public_base_url() {
        let mut config = ReceiptsConfig::new("https://kabar.example.go.id/hooks/".parse().unwrap());
        assert_eq!(unsubscribe_url(&config, 7), None, "no key, no link");
        config.unsubscribe_key = Some(key());
        let url = unsubscribe_url(&config, 7).unwrap();
        assert_eq!(
            url.as_str(),
            format!("https://kabar.example.go.id/hooks/unsubscribe/{}", token(&key(), 7))
        );
    }
}
