//! Twilio: the `X-Twilio-Signature` check, the status callback and the inbound SMS webhook.
//!
//! Both webhooks are form posts signed the same way (twilio-python's `RequestValidator`): the full
//! URL Twilio called, then every parameter sorted by name (a repeated name contributes each of
//! its values, sorted) as name and value with no separator, HMAC-SHA1 keyed with the Auth Token,
//! base64. Twilio adds parameters without notice, so every received parameter is signed over.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use url::{Position, Url};

use super::{is_opt_out, InboundReply, Receipt, ReceiptStatus, WebhookError};
use crate::domain::{Channel, Msisdn};

pub const PROVIDER: &str = "twilio";

/// The header Twilio signs every webhook with.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The form parameters of a webhook, in the order received.
pub type Params = Vec<(String, String)>;

/// Decodes an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> Result<Params, WebhookError> {
    serde_urlencoded::from_bytes(body).map_err(|err| WebhookError::malformed(format!("form body: {err}")))
}

/// The two spellings of the URL Twilio may have signed: without a port and with one (the given
/// port, else the scheme's default). Twilio is inconsistent about the port, so twilio-python
/// accepts either. `path_and_query` is the request's own, exactly as received: re-encoding it
/// could change the signed bytes.
pub fn signed_urls(base: &Url, path_and_query: &str) -> [String; 2] {
    let host = &base[..Position::AfterHost];
    let prefix = base.path().trim_end_matches('/');
    let port = base.port_or_known_default().map(|port| format!(":{port}")).unwrap_or_default();
    [format!("{host}{prefix}{path_and_query}"), format!("{host}{port}{prefix}{path_and_query}")]
}

/// Whether `signature` (the header's value) signs `params` posted to `base` + `path_and_query`
/// under `auth_token`. The comparison runs in constant time (hmac's `verify_slice`).
pub fn verify_signature(
    auth_token: &SecretString,
    base: &Url,
    path_and_query: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(claimed) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut signed_params = String::new();
    for (name, value) in sorted {
        signed_params.push_str(name);
        signed_params.push_str(value);
    }
    // Both spellings are always checked, so the time taken does not say which one matched.
    signed_urls(base, path_and_query).iter().fold(false, |valid, url| {
        let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(url.as_bytes());
        mac.update(signed_params.as_bytes());
        valid | mac.verify_slice(&claimed).is_ok()
    })
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// Error codes that mean this number will never receive the message on this channel: invalid,
/// unreachable or not a mobile number (21211, 21612, 21614), unsubscribed (21610, the recipient
/// sent STOP to Twilio), unreachable or unknown handset, blocked, landline, carrier filtering
/// (30003–30007). Anything else (30008 unknown, queue overflow, …) may work on a later try.
const PERMANENT_ERRORS: &[&str] =
    &["21211", "21610", "21612", "21614", "30003", "30004", "30005", "30006", "30007"];

/// A status callback as a receipt; `None` for the statuses that are not news (`queued`,
/// `accepted`, `scheduled`, `sending`, and those of inbound or cancelled messages). Twilio
/// callbacks carry no event time, so the receipt is dated `now`.
pub fn parse_status(
    params: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Option<Receipt>, WebhookError> {
    let sid = param(params, "MessageSid")
        .or_else(|| param(params, "SmsSid"))
        .filter(|sid| !sid.is_empty())
        .ok_or_else(|| WebhookError::malformed("MessageSid is missing"))?;
    let status = param(params, "MessageStatus")
        .or_else(|| param(params, "SmsStatus"))
        .ok_or_else(|| WebhookError::malformed("MessageStatus is missing"))?;
    let status = match status {
        "sent" => ReceiptStatus::Sent,
        "delivered" => ReceiptStatus::Delivered,
        "read" => ReceiptStatus::Read,
        "undelivered" | "failed" => {
            let code = param(params, "ErrorCode").filter(|code| !code.is_empty()).map(str::to_owned);
            let permanent = code.as_deref().is_some_and(|code| PERMANENT_ERRORS.contains(&code));
            let reason = match &code {
                Some(code) => format!("Twilio: {status} (error {code})"),
                None => format!("Twilio: {status} (no error code)"),
            };
            ReceiptStatus::Failed { permanent, code, reason }
        }
        "queued"
        | "accepted"
        | "scheduled"
        | "sending"
        | "receiving"
        | "received"
        | "canceled"
        | "partially_delivered" => return Ok(None),
        other => return Err(WebhookError::malformed(format!("unknown MessageStatus {other:?}"))),
    };
    Ok(Some(Receipt { provider: PROVIDER, provider_message_id: sid.to_owned(), status, at: now }))
}

/// What an inbound message webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// From an Indonesian mobile number; an SMS, or a WhatsApp message when Twilio relays
    /// WhatsApp (`From=whatsapp:+62…`).
    Reply(InboundReply),
    /// From a number that is not a mobile (a short code, a landline): kabar never writes to it.
    NotAMobile,
}

/// An inbound message (`From`, `Body`, …). Only whether the body is an opt-out is kept.
pub fn parse_inbound(params: &[(String, String)]) -> Result<Inbound, WebhookError> {
    let from = param(params, "From").ok_or_else(|| WebhookError::malformed("From is missing"))?;
    let body = param(params, "Body").unwrap_or_default();
    let (channel, number) = match from.strip_prefix("whatsapp:") {
        Some(number) => (Channel::Whatsapp, number),
        None => (Channel::Sms, from),
    };
    let Ok(from) = number.parse::<Msisdn>() else {
        return Ok(Inbound::NotAMobile);
    };
    let provider_message_id = param(params, "MessageSid")
        .or_else(|| param(params, "SmsSid"))
        .filter(|sid| !sid.is_empty())
        .map(str::to_owned);
    Ok(Inbound::Reply(InboundReply {
        channel,
        provider: PROVIDER,
        provider_message_id,
        from,
        opt_out: is_opt_out(body),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn the_published_twilio_python_vector() {
        let token = SecretString::from("12345");
        let base: Url = "https://mycompany.com".parse().unwrap();
        let params = params(&[
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("From", "+12349013030"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
        ]);
        let path = "/myapp.php?foo=1&bar=2";
        assert!(verify_signature(&token, &base, path, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!verify_signature(&token, &base, path, &params, "1/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!verify_signature(
            &token,
            &base,
            "/myapp.php?foo=1&bar=3",
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify_signature(&"54321".into(), &base, path, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!verify_signature(&token, &base, path, &params[1..], "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!verify_signature(&token, &base, path, &params, "not base64!"));
        // Twilio may have signed the same URL with the default port spelt out.
        let mut mac = Hmac::<Sha1>::new_from_slice(b"12345").unwrap();
        mac.update(b"https://mycompany.com:443/myapp.php?foo=1&bar=2");
        mac.update(b"CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212");
        let with_port = STANDARD.encode(mac.finalize().into_bytes());
        assert_ne!(with_port, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify_signature(&token, &base, path, &params, &with_port));
    }

    #[test]
    fn signed_urls_with_and_without_the_port() {
        let base: Url = "https://kabar.example.go.id/hooks/".parse().unwrap();
        assert_eq!(
            signed_urls(&base, "/twilio/status?x=1"),
            [
                "https://kabar.example.go.id/hooks/twilio/status?x=1".to_owned(),
                "https://kabar.example.go.id:443/hooks/twilio/status?x=1".to_owned()
            ]
        );
        let base: Url = "http://127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            signed_urls(&base, "/twilio/inbound"),
            ["http://127.0.0.1/twilio/inbound".to_owned(), "http://127.0.0.1:8080/twilio/inbound".to_owned()]
        );
    }

    #[test]
    fn status_callbacks_become_receipts() {
        let now = Utc::now();
        let status = |pairs: &[(&str, &str)]| parse_status(&params(pairs), now);
        let delivered = status(&[("MessageSid", "SM1"), ("MessageStatus", "delivered")]).unwrap().unwrap();
        assert_eq!(
            (delivered.provider_message_id.as_str(), delivered.status),
            ("SM1", ReceiptStatus::Delivered)
        );
        assert_eq!(status(&[("MessageSid", "SM1"), ("MessageStatus", "sending")]).unwrap(), None);
        let failed = |code: &str| match status(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", code),
        ])
        .unwrap()
        .unwrap()
        .status
        {
            ReceiptStatus::Failed { permanent, code, .. } => (permanent, code),
            other => panic!("{other:?}"),
        };
        assert_eq!(failed("30003"), (true, Some("30003".into())));
        assert_eq!(failed("21610"), (true, Some("21610".into())));
        assert_eq!(failed("30008"), (false, Some("30008".into())));
        assert!(status(&[("MessageStatus", "sent")]).is_err(), "no MessageSid");
        assert!(status(&[("MessageSid", "SM1")]).is_err(), "no status");
        assert!(status(&[("MessageSid", "SM1"), ("MessageStatus", "exploded")]).is_err());
    }

    #[test]
    fn inbound_replies_by_sms_and_whatsapp() {
        let reply = parse_inbound(&params(&[
            ("From", "+6281210000001"),
            ("Body", "Berhenti"),
            ("MessageSid", "SMin1"),
        ]))
        .unwrap();
        let Inbound::Reply(reply) = reply else { panic!("{reply:?}") };
        assert_eq!((reply.channel, reply.opt_out, reply.from.e164()), (Channel::Sms, true, "+6281210000001"));
        assert_eq!(reply.provider_message_id.as_deref(), Some("SMin1"));
        let Inbound::Reply(reply) =
            parse_inbound(&params(&[("From", "whatsapp:+6281210000001"), ("Body", "terima kasih")])).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (reply.channel, reply.opt_out, reply.provider_message_id),
            (Channel::Whatsapp, false, None)
        );
        for short_code_or_landline in ["89898", "+62215150123"] {
            let inbound =
                parse_inbound(&params(&[("From", short_code_or_landline), ("Body", "STOP")])).unwrap();
            assert_eq!(inbound, Inbound::NotAMobile);
        }
        assert!(parse_inbound(&params(&[("Body", "STOP")])).is_err());
    }
}
