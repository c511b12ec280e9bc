//! A fake Infobip SMS API: `POST /sms/2/text/advanced` with `Authorization: App <key>` and a JSON
//! body, answering 200 with a bulk id and a status per destination, or Infobip's `requestError`.

use std::collections::HashSet;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{random_digits, Behaviour, FakeServer, Fault, Recorded};
use kabar::deliver::providers::infobip::InfobipConfig;

pub const API_KEY: &str = "fake-infobip-api-key";
pub const SENDER: &str = "IMIGRASI";

/// The fake Infobip account. Derefs to its [`FakeServer`].
pub struct FakeInfobip {
    server: FakeServer,
    rejected: Arc<Mutex<HashSet<String>>>,
}

impl FakeInfobip {
    pub async fn start() -> Self {
        let rejected = Arc::new(Mutex::new(HashSet::new()));
        let server = FakeServer::start(Infobip { rejected: rejected.clone() }).await;
        Self { server, rejected }
    }

    /// A configuration for the fake's account, sending as [`SENDER`].
    pub fn config(&self) -> InfobipConfig {
        let toml = format!("base_url = \"{}\"\napi_key = {API_KEY:?}\nsender = {SENDER:?}", self.base_url());
        toml::from_str(&toml).expect("a valid Infobip configuration")
    }

    /// From now on, messages to `digits` (no `+`) come back REJECTED_DESTINATION (group 5).
    pub fn reject(&self, digits: &str) {
        self.rejected.lock().unwrap().insert(digits.to_owned());
    }
}

impl Deref for FakeInfobip {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

/// Infobip's error body, e.g. `error(500, "GENERAL_ERROR", "Something went wrong.")`.
pub fn error(status: u16, message_id: &str, text: &str) -> Fault {
    Fault::json(status, error_body(message_id, text, json!({})))
}

/// A 200 whose one message has this status, e.g. `status(5, 12, "REJECTED_NOT_ENOUGH_CREDITS")`.
pub fn status(group_id: u32, id: u32, name: &str) -> Fault {
    let group_name =
        ["OK", "PENDING", "UNDELIVERABLE", "DELIVERED", "EXPIRED", "REJECTED"][group_id as usize];
    Fault::json(
        200,
        json!({"bulkId": random_digits(19), "messages": [{
            "to": "6281234567890", "messageId": random_digits(19),
            "status": {"groupId": group_id, "groupName": group_name, "id": id, "name": name,
                       "description": "Scripted by the test"},
        }]}),
    )
}

fn error_body(message_id: &str, text: &str, validation_errors: Value) -> Value {
    let mut exception = json!({"messageId": message_id, "text": text});
    if validation_errors.as_object().is_some_and(|errors| !errors.is_empty()) {
        exception["validationErrors"] = validation_errors;
    }
    json!({"requestError": {"serviceException": exception}})
}

struct Infobip {
    rejected: Arc<Mutex<HashSet<String>>>,
}

impl Behaviour for Infobip {
    fn answer(&self, request: &Recorded) -> Response {
        if request.header("authorization") != Some(&format!("App {API_KEY}")) {
            let body = error_body("UNAUTHORIZED", "Invalid login details", json!({}));
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
        if request.method != "POST" || request.path != "/sms/2/text/advanced" {
            let body = error_body("NOT_FOUND", "Requested URL not found", json!({}));
            return (StatusCode::NOT_FOUND, Json(body)).into_response();
        }
        let body = request.json();
        let mut invalid = serde_json::Map::new();
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        if messages.is_empty() {
            invalid.insert("messages".into(), json!(["must not be empty"]));
        }
        for (m, message) in messages.iter().enumerate() {
            if message["text"].as_str().is_none_or(str::is_empty) {
                invalid.insert(format!("messages[{m}].text"), json!(["must not be blank"]));
            }
            let destinations = message["destinations"].as_array().cloned().unwrap_or_default();
            if destinations.is_empty() {
                invalid.insert(format!("messages[{m}].destinations"), json!(["must not be empty"]));
            }
            for (d, destination) in destinations.iter().enumerate() {
                let to = destination["to"].as_str().unwrap_or("");
                if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) {
                    invalid.insert(
                        format!("messages[{m}].destinations[{d}].to"),
                        json!(["invalid destination"]),
                    );
                }
            }
        }
        if !invalid.is_empty() {
            let body = error_body("BAD_REQUEST", "Bad request", Value::Object(invalid));
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        let rejected = self.rejected.lock().unwrap();
        let sent: Vec<Value> = messages
            .iter()
            .flat_map(|message| message["destinations"].as_array().cloned().unwrap_or_default())
            .map(|destination| {
                let to = destination["to"].as_str().unwrap_or_default().to_owned();
                // Infobip answers with the caller's own messageId when one was given.
                let id = destination["messageId"].as_str().map_or_else(|| random_digits(19), str::to_owned);
                let status = if rejected.contains(&to) {
                    json!({"groupId": 5, "groupName": "REJECTED", "id": 52, "name": "REJECTED_DESTINATION",
                           "description": "Invalid destination address."})
                } else {
                    json!({"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED",
                           "description": "Message sent to next instance"})
                };
                json!({"to": to, "messageId": id, "status": status})
            })
            .collect();
        Json(json!({"bulkId": random_digits(19), "messages": sent})).into_response()
    }
}
