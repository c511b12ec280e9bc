//! The WhatsApp Cloud API webhook: the `GET` verification handshake, the `X-Hub-Signature-256`
//! check, and the `statuses[]` and `messages[]` of its change notifications.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{is_opt_out, InboundReply, Receipt, ReceiptStatus, WebhookError};
use crate::domain::{Channel, Msisdn};

pub const PROVIDER: &str = "whatsapp";

/// The header Meta signs every webhook POST with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Whether `header` is `sha256=<hex HMAC-SHA256(app_secret, body)>`, over the raw bytes as
/// received (re-serialised JSON would not match). Compared in constant time.
pub fn verify_signature(app_secret: &SecretString, body: &[u8], header: &str) -> bool {
    let Some(claimed) = header.trim().strip_prefix("sha256=").and_then(|digest| hex::decode(digest).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&claimed).is_ok()
}

/// The verification handshake Meta sends when the webhook is configured:
/// `hub.mode=subscribe&hub.verify_token=<ours>&hub.challenge=<random>`. Returns the challenge to
/// echo when the mode and token are right, else `None` (403).
pub fn handshake<'a>(verify_token: &SecretString, query: &'a [(String, String)]) -> Option<&'a str> {
    let get = |name: &str| query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let token_matches = get("hub.verify_token")
        .is_some_and(|token| bool::from(token.as_bytes().ct_eq(verify_token.expose_secret().as_bytes())));
    if get("hub.mode") == Some("subscribe") && token_matches {
        get("hub.challenge")
    } else {
        None
    }
}

/// What one webhook POST carries that kabar acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    pub receipts: Vec<Receipt>,
    pub replies: Vec<InboundReply>,
    /// Messages from numbers that are not mobiles: kabar never wrote to them.
    pub not_mobile: usize,
}

#[derive(Deserialize)]
struct Envelope {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

/// Other fields (template status updates, account alerts) have other shapes; only `messages` is
/// parsed.
#[derive(Deserialize)]
struct Change {
    field: String,
    value: serde_json::Value,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    statuses: Vec<Status>,
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    timestamp: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: i64,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    /// `wamid.…`: the same on every delivery of the webhook.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    text: Option<Text>,
    /// A tap on a quick-reply button of a template.
    #[serde(default)]
    button: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    #[serde(alias = "body")]
    text: String,
}

/// Error codes after which WhatsApp will not deliver this message to this number: not a WhatsApp
/// user or Terms not accepted (131026), outside the 24-hour window (131047), withheld by Meta's
/// engagement cap (131049), unsupported message type (131051), sender and recipient the same
/// (131021), a test recipient not on the allowed list (131030). The applicant's next channel
/// gets the message; other codes (131000 something went wrong, rate limits) are temporary.
const PERMANENT_ERRORS: &[i64] = &[131021, 131026, 131030, 131047, 131049, 131051];

/// Parses a webhook POST body. Statuses kabar does not track (`played`, and any new one) are
/// skipped rather than refused, so one unfamiliar entry cannot make Meta redeliver a whole batch.
pub fn parse_events(body: &[u8]) -> Result<Events, WebhookError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|err| WebhookError::malformed(format!("JSON: {err}")))?;
    if envelope.object != "whatsapp_business_account" {
        return Err(WebhookError::malformed(format!(
            "object {:?} is not whatsapp_business_account",
            envelope.object
        )));
    }
    let mut events = Events::default();
    for change in envelope.entry.into_iter().flat_map(|entry| entry.changes) {
        if change.field != "messages" {
            continue;
        }
        let value: Value = serde_json::from_value(change.value)
            .map_err(|err| WebhookError::malformed(format!("messages change: {err}")))?;
        for status in value.statuses {
            if let Some(receipt) = receipt(status)? {
                events.receipts.push(receipt);
            }
        }
        for message in value.messages {
            // `from` is the international number without its `+`.
            let Ok(from) = format!("+{}", message.from).parse::<Msisdn>() else {
                events.not_mobile += 1;
                continue;
            };
            let text = message.text.or(message.button).map(|text| text.text).unwrap_or_default();
            events.replies.push(InboundReply {
                channel: Channel::Whatsapp,
                provider: PROVIDER,
                provider_message_id: message.id.filter(|id| !id.is_empty()),
                from,
                opt_out: is_opt_out(&text),
            });
        }
    }
    Ok(events)
}

fn receipt(status: Status) -> Result<Option<Receipt>, WebhookError> {
    let at = status
        .timestamp
        .parse::<i64>()
        .ok()
        .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0))
        .ok_or_else(|| WebhookError::malformed(format!("status timestamp {:?}", status.timestamp)))?;
    let receipt_status = match status.status.as_str() {
        "sent" => ReceiptStatus::Sent,
        "delivered" => ReceiptStatus::Delivered,
        "read" => ReceiptStatus::Read,
        "failed" => {
            let error = status.errors.first();
            let permanent = error.is_some_and(|error| PERMANENT_ERRORS.contains(&error.code));
            let reason = match error {
                Some(StatusError { code, title: Some(title) }) => {
                    format!("WhatsApp: failed (error {code}: {})", crate::observe::Untrusted(title))
                }
                Some(StatusError { code, title: None }) => format!("WhatsApp: failed (error {code})"),
                None => "WhatsApp: failed (no error code)".to_owned(),
            };
            ReceiptStatus::Failed { permanent, code: error.map(|error| error.code.to_string()), reason }
        }
        _ => return Ok(None),
    };
    Ok(Some(Receipt { provider: PROVIDER, provider_message_id: status.id, status: receipt_status, at }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_signature_vectors() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = "sha256=09eceea024af6e6343b760cc9bd3ae7c056938dd636e24e92109eb8219500384";
        assert!(verify_signature(&"appsecret".into(), body, header));
        assert!(verify_signature(
            &"secret".into(),
            b"test",
            "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
        ));
        assert!(!verify_signature(&"appsecret2".into(), body, header));
        assert!(!verify_signature(
            &"appsecret".into(),
            br#"{"object":"whatsapp_business_account","entry":[ ]}"#,
            header
        ));
        assert!(!verify_signature(&"appsecret".into(), body, header.trim_start_matches("sha256=")));
        assert!(!verify_signature(&"appsecret".into(), body, "sha256=zz"));
        assert!(!verify_signature(&"appsecret".into(), body, ""));
    }

    #[test]
    fn the_handshake_echoes_the_challenge_only_for_our_token() {
        let token = SecretString::from("kabar-verify");
        let query = |mode: &str, token: &str| {
            vec![
                ("hub.mode".to_owned(), mode.to_owned()),
                ("hub.verify_token".to_owned(), token.to_owned()),
                ("hub.challenge".to_owned(), "1158201444".to_owned()),
            ]
        };
        assert_eq!(handshake(&token, &query("subscribe", "kabar-verify")), Some("1158201444"));
        assert_eq!(handshake(&token, &query("subscribe", "kabar-verif")), None);
        assert_eq!(handshake(&token, &query("unsubscribe", "kabar-verify")), None);
        assert_eq!(handshake(&token, &[]), None);
    }

    #[test]
    fn statuses_and_messages() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
            {"field":"messages","value":{"messaging_product":"whatsapp",
              "statuses":[
                {"id":"wamid.A","status":"delivered","timestamp":"1718852400","recipient_id":"6281210000001"},
                {"id":"wamid.B","status":"failed","timestamp":"1718852401",
                 "errors":[{"code":131026,"title":"Message undeliverable"}]},
                {"id":"wamid.C","status":"failed","timestamp":"1718852402","errors":[{"code":131000}]},
                {"id":"wamid.D","status":"played","timestamp":"1718852403"}],
              "messages":[
                {"from":"6281210000001","id":"wamid.in1","timestamp":"1718852404","type":"text","text":{"body":" stop "}},
                {"from":"6281210000002","id":"wamid.in2","timestamp":"1718852405","type":"image"},
                {"from":"12345","id":"wamid.in3","timestamp":"1718852406","type":"text","text":{"body":"STOP"}}]}},
            {"field":"message_template_status_update","value":{"event":"APPROVED"}}]}]}"#;
        let events = parse_events(body).unwrap();
        let statuses: Vec<_> =
            events.receipts.iter().map(|r| (r.provider_message_id.as_str(), r.status.clone())).collect();
        assert_eq!(statuses[0], ("wamid.A", ReceiptStatus::Delivered));
        assert_eq!(events.receipts[0].at.timestamp(), 1718852400);
        assert!(
            matches!(&statuses[1].1, ReceiptStatus::Failed { permanent: true, code: Some(code), .. } if code == "131026")
        );
        assert!(matches!(&statuses[2].1, ReceiptStatus::Failed { permanent: false, .. }));
        assert_eq!(statuses.len(), 3, "played is not tracked");
        let replies: Vec<_> = events.replies.iter().map(|r| (r.from.e164(), r.opt_out)).collect();
        assert_eq!(replies, [("+6281210000001", true), ("+6281210000002", false)]);
        assert_eq!(events.replies[0].provider_message_id.as_deref(), Some("wamid.in1"));
        assert_eq!(events.not_mobile, 1);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for body in [
            &b"not json"[..],
            br#"{"entry":[]}"#,
            br#"{"object":"page","entry":[]}"#,
            br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"status":"read"}]}}]}]}"#,
            br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"x","status":"read","timestamp":"soon"}]}}]}]}"#,
        ] {
            assert!(parse_events(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
