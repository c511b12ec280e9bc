//! A fake Twilio Messages API: `POST /2010-04-01/Accounts/{sid}/Messages.json` with HTTP Basic
//! auth and a form body, answering 201 with a message resource or Twilio's error JSON.

use std::collections::HashSet;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};

use super::{random_hex, Behaviour, FakeServer, Fault, Recorded};
use kabar::deliver::providers::twilio::TwilioConfig;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "fake-twilio-auth-token";
pub const FROM: &str = "+15005550006";

/// The fake Twilio account. Derefs to its [`FakeServer`].
pub struct FakeTwilio {
    server: FakeServer,
    unsubscribed: Arc<Mutex<HashSet<String>>>,
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let unsubscribed = Arc::new(Mutex::new(HashSet::new()));
        let server = FakeServer::start(Twilio { unsubscribed: unsubscribed.clone() }).await;
        Self { server, unsubscribed }
    }

    /// A configuration for the fake's account, sending from [`FROM`].
    pub fn config(&self) -> TwilioConfig {
        let toml = format!(
            "account_sid = {ACCOUNT_SID:?}\nauth_token = {AUTH_TOKEN:?}\nfrom = {FROM:?}\nbase_url = \"{}\"",
            self.base_url()
        );
        toml::from_str(&toml).expect("a valid Twilio configuration")
    }

    /// From now on, messages to `e164` fail with 21610, as after the recipient texted STOP.
    pub fn unsubscribe(&self, e164: &str) {
        self.unsubscribed.lock().unwrap().insert(e164.to_owned());
    }
}

impl Deref for FakeTwilio {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

/// Twilio's error body, e.g. `error(400, 21610, "Attempt to send to unsubscribed recipient")`.
pub fn error(status: u16, code: u32, message: &str) -> Fault {
    Fault::json(status, error_body(status, code, message))
}

fn error_body(status: u16, code: u32, message: &str) -> Value {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
}

fn refuse(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(error_body(status.as_u16(), code, message))).into_response()
}

struct Twilio {
    unsubscribed: Arc<Mutex<HashSet<String>>>,
}

impl Behaviour for Twilio {
    fn answer(&self, request: &Recorded) -> Response {
        let path = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json");
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
        if request.header("authorization") != Some(&format!("Basic {credentials}")) {
            let mut body = error_body(401, 20003, "Authenticate");
            body["detail"] = json!("Your AccountSid or AuthToken was incorrect.");
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
        if request.method != "POST" || request.path != path {
            return refuse(StatusCode::NOT_FOUND, 20404, "The requested resource was not found");
        }
        let form = request.form();
        let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        let Some(to) = field("To").filter(|to| !to.is_empty()) else {
            return refuse(StatusCode::BAD_REQUEST, 21604, "A 'To' phone number is required.");
        };
        let digits = to.strip_prefix('+').unwrap_or("");
        if !(2..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            let message = format!("The 'To' number {to} is not a valid phone number.");
            return refuse(StatusCode::BAD_REQUEST, 21211, &message);
        }
        let (from, service) = (field("From"), field("MessagingServiceSid"));
        if from.is_none() && service.is_none() {
            return refuse(StatusCode::BAD_REQUEST, 21603, "A 'From' phone number is required.");
        }
        let Some(body) = field("Body").filter(|body| !body.is_empty()) else {
            return refuse(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
        };
        if body.chars().count() > 1600 {
            let message = "The concatenated message body exceeds the 1600 character limit.";
            return refuse(StatusCode::BAD_REQUEST, 21617, message);
        }
        if self.unsubscribed.lock().unwrap().contains(to) {
            return refuse(StatusCode::BAD_REQUEST, 21610, "Attempt to send to unsubscribed recipient");
        }
        let sid = format!("SM{}", random_hex(16));
        let now = chrono::Utc::now().to_rfc2822();
        let resource = json!({
            "sid": sid, "date_created": now, "date_updated": now, "date_sent": null,
            "account_sid": ACCOUNT_SID, "to": to, "from": from, "messaging_service_sid": service,
            "body": body, "status": if service.is_some() { "accepted" } else { "queued" },
            "num_segments": "1", "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01",
            "price": null, "price_unit": "USD", "error_code": null, "error_message": null,
            "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
            "subresource_uris": {"media": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json")},
        });
        (StatusCode::CREATED, Json(resource)).into_response()
    }
}
