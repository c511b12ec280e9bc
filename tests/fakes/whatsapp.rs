//! A fake WhatsApp Cloud API: `POST /{version}/{phone_number_id}/messages` with a bearer token and
//! a JSON template message, answering 200 with a `wamid.…` or the Graph API error envelope.

use std::collections::{HashMap, HashSet};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};

use super::{Behaviour, FakeServer, Fault, Recorded};
use kabar::deliver::providers::whatsapp::WhatsappConfig;

pub const API_VERSION: &str = "v21.0";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const ACCESS_TOKEN: &str = "fake-whatsapp-access-token";

/// The fake business number. Derefs to its [`FakeServer`].
pub struct FakeWhatsapp {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    not_on_whatsapp: HashSet<String>,
    /// Recipients refused as not on WhatsApp, per thousand, picked by a hash of the number (the
    /// same numbers every run).
    undeliverable_per_mille: u64,
    /// Meta's pair limit, when enforced: one message per interval to one recipient.
    pair_interval: Option<Duration>,
    last_accepted: HashMap<String, Instant>,
}

impl FakeWhatsapp {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let server = FakeServer::start(Whatsapp { state: state.clone() }).await;
        Self { server, state }
    }

    /// A configuration for the fake's number, with the default pair interval.
    pub fn config(&self) -> WhatsappConfig {
        let toml = format!(
            "phone_number_id = {PHONE_NUMBER_ID:?}\naccess_token = {ACCESS_TOKEN:?}\nbase_url = \"{}\"",
            self.base_url()
        );
        toml::from_str(&toml).expect("a valid WhatsApp configuration")
    }

    /// From now on, messages to `digits` (no `+`) fail with 131026, as for a number without
    /// WhatsApp.
    pub fn not_on_whatsapp(&self, digits: &str) {
        self.state.lock().unwrap().not_on_whatsapp.insert(digits.to_owned());
    }

    /// From now on, about `per_mille` of every thousand recipients (always the same numbers) fail
    /// with 131026, as numbers without WhatsApp do.
    pub fn undeliverable_share(&self, per_mille: u64) {
        self.state.lock().unwrap().undeliverable_per_mille = per_mille;
    }

    /// Answers 131056 to a second message to one recipient within `interval`, as Meta does.
    pub fn enforce_pair_interval(&self, interval: Duration) {
        self.state.lock().unwrap().pair_interval = Some(interval);
    }
}

impl Deref for FakeWhatsapp {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

/// The Graph API error envelope, e.g. `error(400, 131026, "Message Undeliverable.")`.
pub fn error(status: u16, code: u32, message: &str) -> Fault {
    Fault::json(status, error_body(code, message))
}

fn error_body(code: u32, message: &str) -> Value {
    let trace: [u8; 16] = rand::random();
    json!({"error": {
        "message": format!("(#{code}) {message}"),
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": message},
        "fbtrace_id": format!("A{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(trace)),
    }})
}

fn refuse(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(error_body(code, message))).into_response()
}

struct Whatsapp {
    state: Arc<Mutex<State>>,
}

impl Behaviour for Whatsapp {
    fn answer(&self, request: &Recorded) -> Response {
        if request.header("authorization") != Some(&format!("Bearer {ACCESS_TOKEN}")) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                190,
                "Invalid OAuth access token - Cannot parse access token",
            );
        }
        if request.method != "POST" || request.path != format!("/{API_VERSION}/{PHONE_NUMBER_ID}/messages") {
            return refuse(StatusCode::BAD_REQUEST, 100, "Unsupported post request.");
        }
        let message = request.json();
        let text = |pointer: &str| message.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty());
        let missing =
            |name: &str| refuse(StatusCode::BAD_REQUEST, 100, &format!("The parameter {name} is required."));
        if text("/messaging_product") != Some("whatsapp") {
            return missing("messaging_product");
        }
        let Some(to) = text("/to") else { return missing("to") };
        if !to.bytes().all(|b| b.is_ascii_digit()) {
            return refuse(StatusCode::BAD_REQUEST, 100, "Invalid parameter: to");
        }
        if text("/type") != Some("template") {
            return missing("type");
        }
        if text("/template/name").is_none() {
            return missing("template['name']");
        }
        if text("/template/language/code").is_none() {
            return missing("template['language']['code']");
        }
        // Components are optional (a template without variables); each given one must be complete.
        let components = message.pointer("/template/components").and_then(Value::as_array);
        let complete = |p: &Value| p["type"] == "text" && p["text"].as_str().is_some_and(|t| !t.is_empty());
        let usable = |c: &Value| {
            c["type"] == "body"
                && c["parameters"].as_array().is_some_and(|p| !p.is_empty() && p.iter().all(complete))
        };
        if components.is_some_and(|components| !components.iter().all(usable)) {
            return refuse(StatusCode::BAD_REQUEST, 131008, "Required parameter is missing");
        }
        let mut state = self.state.lock().unwrap();
        if state.not_on_whatsapp.contains(to) || fnv1a(to) % 1000 < state.undeliverable_per_mille {
            return refuse(StatusCode::BAD_REQUEST, 131026, "Message Undeliverable.");
        }
        if let Some(interval) = state.pair_interval {
            if state.last_accepted.get(to).is_some_and(|last| last.elapsed() < interval) {
                let message = "(Business Account, Consumer Account) pair rate limit hit";
                return refuse(StatusCode::BAD_REQUEST, 131056, message);
            }
        }
        state.last_accepted.insert(to.to_owned(), Instant::now());
        let id: [u8; 30] = rand::random();
        let wamid = format!("wamid.{}", base64::engine::general_purpose::STANDARD.encode(id));
        Json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid, "message_status": "accepted"}],
        }))
        .into_response()
    }
}

/// FNV-1a: a hash that is the same in every process and run.
fn fnv1a(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}
