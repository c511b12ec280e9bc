//! The fake SMS providers: one HTTP server that speaks Twilio's Messages API and Infobip's
//! `sms/2/text/advanced`, with a listener of its own per `kabar` process (a *tag*), so every
//! request is known to come from one process life. Each request is recorded with what it carried
//! (the number and text, Infobip's `kabar-<id>`), the id answered (Twilio's `SM…` sid) and what the
//! fake did with it: accepted, or one of the faults a [`Script`] asks for.

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use futures::StreamExt as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::reset::{Connection, ResettableListener};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "chaos-twilio-auth-token";
pub const API_KEY: &str = "chaos-infobip-api-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Twilio,
    Infobip,
}

/// What the fake did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Accepted,
    /// Accepted, the answer's body trickled out slowly (within the provider timeout).
    SlowBody,
    ServerError,
    /// Held past the provider timeout, then answered 503: never taken.
    TimedOut,
    Reset,
    /// A scripted 429 burst, with `Retry-After`.
    Burst429,
    /// More than the account's rate in the last second.
    Limit429,
    /// The provider is down (503 from its load balancer).
    Down,
    /// Wrong credentials or a malformed request: kabar should never send one.
    Refused,
}

impl Outcome {
    pub fn accepted(self) -> bool {
        matches!(self, Outcome::Accepted | Outcome::SlowBody)
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub at: Instant,
    /// The listener it came in on: one `kabar` process life.
    pub tag: u32,
    pub provider: Provider,
    pub outcome: Outcome,
    /// The number and the text, hashed: the same message sent twice has the same key.
    pub key: u64,
    /// The id the fake answered with (Twilio's sid; Infobip echoes kabar's own `kabar-<id>`).
    pub sid: Option<String>,
    /// kabar's message id, when the request carries it (Infobip's `messageId`).
    pub message_id: Option<i64>,
}

/// How one provider account answers. Shares of requests are drawn at random (seeded).
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// 429 for any request beyond this many in the last second (counting every request it let in).
    pub rate_limit: Option<u32>,
    pub server_errors: f64,
    pub timeouts: f64,
    pub resets: f64,
    pub slow_bodies: f64,
    /// Every `burst_every` requests, the next `burst_len` get 429 with `Retry-After: 1`.
    pub burst_every: u64,
    pub burst_len: u64,
    /// How long a time-out holds the request (longer than kabar's provider timeout).
    pub hold: Duration,
}

struct Account {
    script: Script,
    down: AtomicBool,
    window: Mutex<VecDeque<Instant>>,
    counted: AtomicU64,
}

struct Shared {
    requests: Mutex<Vec<Request>>,
    /// For each rate 429: how long before it the request `rate` places earlier arrived.
    limited: Mutex<Vec<Duration>>,
    accepted: watch::Sender<usize>,
    twilio: Account,
    infobip: Account,
    rng: Mutex<ChaCha8Rng>,
    next_sid: AtomicU64,
    twilio_auth: String,
}

/// The fake, serving until dropped.
pub struct Fake {
    shared: Arc<Shared>,
    servers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Fake {
    pub fn new(twilio: Script, infobip: Script, seed: u64) -> Arc<Fake> {
        let account = |script| Account {
            script,
            down: AtomicBool::new(false),
            window: Mutex::new(VecDeque::new()),
            counted: AtomicU64::new(0),
        };
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
        Arc::new(Fake {
            shared: Arc::new(Shared {
                requests: Mutex::new(Vec::new()),
                limited: Mutex::new(Vec::new()),
                accepted: watch::Sender::new(0),
                twilio: account(twilio),
                infobip: account(infobip),
                rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
                next_sid: AtomicU64::new(1),
                twilio_auth: format!("Basic {credentials}"),
            }),
            servers: Mutex::new(Vec::new()),
        })
    }

    /// A new listener for the process life `tag`; its base URL serves both providers.
    pub async fn listen(&self, tag: u32) -> url::Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake");
        let address = listener.local_addr().expect("a local address");
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(twilio))
            .route("/sms/2/text/advanced", post(infobip))
            .with_state((self.shared.clone(), tag));
        let service = app.into_make_service_with_connect_info::<Connection>();
        let server = tokio::spawn(async move {
            axum::serve(ResettableListener(listener), service).await.expect("the fake serves");
        });
        self.servers.lock().expect("never poisoned").push(server);
        format!("http://{address}").parse().expect("a URL")
    }

    /// Takes a provider down (every request 503) or brings it back.
    pub fn set_down(&self, provider: Provider, down: bool) {
        self.shared.account(provider).down.store(down, Ordering::SeqCst);
    }

    /// Accepted requests so far (every copy).
    pub fn accepted(&self) -> usize {
        *self.shared.accepted.borrow()
    }

    /// Waits until `count` requests were accepted, or `limit` passes (false).
    pub async fn wait_accepted(&self, count: usize, limit: Duration) -> bool {
        let mut accepted = self.shared.accepted.subscribe();
        let reached = tokio::time::timeout(limit, accepted.wait_for(|seen| *seen >= count)).await;
        reached.is_ok()
    }

    /// `; the request R places earlier came 0.981–0.995 s before`, for the rate 429s so far:
    /// how far inside the second they were.
    pub fn limited(&self) -> String {
        let spans = self.shared.limited.lock().expect("never poisoned");
        let (Some(least), Some(most)) = (spans.iter().min(), spans.iter().max()) else {
            return String::new();
        };
        format!(
            "; the request R places earlier came {:.3}–{:.3} s before",
            least.as_secs_f64(),
            most.as_secs_f64()
        )
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().expect("never poisoned").clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        for server in self.servers.lock().expect("never poisoned").drain(..) {
            server.abort();
        }
    }
}

impl Shared {
    fn account(&self, provider: Provider) -> &Account {
        match provider {
            Provider::Twilio => &self.twilio,
            Provider::Infobip => &self.infobip,
        }
    }

    /// Decides what to do with a well-formed request that just arrived.
    fn decide(&self, provider: Provider, at: Instant) -> Outcome {
        let account = self.account(provider);
        let script = &account.script;
        if account.down.load(Ordering::SeqCst) {
            return Outcome::Down;
        }
        if let Some(limit) = script.rate_limit {
            let mut window = account.window.lock().expect("never poisoned");
            while window.front().is_some_and(|first| at.duration_since(*first) >= Duration::from_secs(1)) {
                window.pop_front();
            }
            if let (true, Some(first)) = (window.len() >= limit as usize, window.front()) {
                self.limited.lock().expect("never poisoned").push(at.duration_since(*first));
                return Outcome::Limit429;
            }
            window.push_back(at);
        }
        let counted = account.counted.fetch_add(1, Ordering::SeqCst);
        if script.burst_every > 0 && counted % script.burst_every >= script.burst_every - script.burst_len {
            return Outcome::Burst429;
        }
        let draw: f64 = self.rng.lock().expect("never poisoned").gen();
        let faults = [
            (script.server_errors, Outcome::ServerError),
            (script.timeouts, Outcome::TimedOut),
            (script.resets, Outcome::Reset),
            (script.slow_bodies, Outcome::SlowBody),
        ];
        let mut edge = 0.0;
        for (share, outcome) in faults {
            edge += share;
            if draw < edge {
                return outcome;
            }
        }
        Outcome::Accepted
    }

    fn record(&self, request: Request) {
        let accepted = request.outcome.accepted();
        let mut requests = self.requests.lock().expect("never poisoned");
        requests.push(request);
        if accepted {
            self.accepted.send_modify(|count| *count += 1);
        }
    }
}

pub fn key(to: &str, text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    to.trim_start_matches('+').hash(&mut hasher);
    text.hash(&mut hasher);
    hasher.finish()
}

#[derive(Deserialize)]
struct TwilioForm {
    #[serde(rename = "To")]
    to: String,
    #[serde(rename = "Body")]
    body: String,
}

type Tagged = State<(Arc<Shared>, u32)>;

async fn twilio(
    State((shared, tag)): Tagged,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    Form(form): Form<TwilioForm>,
) -> Response {
    let at = Instant::now();
    let authorized =
        headers.get(header::AUTHORIZATION).is_some_and(|value| value == shared.twilio_auth.as_str());
    let key = key(&form.to, &form.body);
    let outcome = if authorized { shared.decide(Provider::Twilio, at) } else { Outcome::Refused };
    let sid =
        outcome.accepted().then(|| format!("SM{:032x}", shared.next_sid.fetch_add(1, Ordering::SeqCst)));
    let provider = Provider::Twilio;
    shared.record(Request { at, tag, provider, outcome, key, sid: sid.clone(), message_id: None });
    let error = |status: u16, code: u32, message: &str| json!({"code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors", "status": status});
    match sid {
        Some(sid) => answer(StatusCode::CREATED, json!({"sid": sid, "status": "queued"}), outcome),
        None => {
            fault(&shared, provider, outcome, &connection, || match outcome {
                Outcome::Refused => error(401, 20003, "Authenticate"),
                Outcome::Burst429 | Outcome::Limit429 => error(429, 20429, "Too Many Requests"),
                _ => error(500, 20500, "Internal Server Error"),
            })
            .await
        }
    }
}

async fn infobip(
    State((shared, tag)): Tagged,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == format!("App {API_KEY}").as_bytes());
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let message = &body["messages"][0];
    let to = message["destinations"][0]["to"].as_str().unwrap_or_default();
    let own_id = message["destinations"][0]["messageId"].as_str().unwrap_or_default().to_owned();
    let well_formed = authorized && !to.is_empty() && message["text"].is_string();
    let key = key(to, message["text"].as_str().unwrap_or_default());
    let message_id = own_id.strip_prefix("kabar-").and_then(|id| id.parse().ok());
    let outcome = if well_formed { shared.decide(Provider::Infobip, at) } else { Outcome::Refused };
    let sid = outcome.accepted().then(|| own_id.clone());
    let provider = Provider::Infobip;
    shared.record(Request { at, tag, provider, outcome, key, sid: sid.clone(), message_id });
    let error =
        |id: &str, text: &str| json!({"requestError": {"serviceException": {"messageId": id, "text": text}}});
    match sid {
        Some(sid) => {
            let status = json!({"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED",
                                "description": "Message sent to next instance"});
            let sent = json!({"bulkId": format!("chaos-{sid}"), "messages": [{"to": to, "messageId": sid, "status": status}]});
            answer(StatusCode::OK, sent, outcome)
        }
        None => {
            fault(&shared, provider, outcome, &connection, || match outcome {
                Outcome::Refused => error("UNAUTHORIZED", "Invalid login details"),
                Outcome::Burst429 | Outcome::Limit429 => error("TOO_MANY_REQUESTS", "Too many requests"),
                _ => error("GENERAL_ERROR", "Something went wrong."),
            })
            .await
        }
    }
}

/// An accepted request's answer; a slow one trickles its body out in three parts.
fn answer(status: StatusCode, body: serde_json::Value, outcome: Outcome) -> Response {
    let text = body.to_string();
    let body = if outcome == Outcome::SlowBody {
        let parts: Vec<String> = text
            .as_bytes()
            .chunks(text.len().div_ceil(3))
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect();
        Body::from_stream(futures::stream::iter(parts).then(|part| async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            Ok::<_, std::convert::Infallible>(part)
        }))
    } else {
        Body::from(text)
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The answer to a request the fake did not take.
async fn fault(
    shared: &Shared,
    provider: Provider,
    outcome: Outcome,
    connection: &Connection,
    body: impl FnOnce() -> serde_json::Value,
) -> Response {
    let json = |status: StatusCode, body: serde_json::Value| (status, Json(body)).into_response();
    match outcome {
        Outcome::Reset => {
            connection.reset.cancel();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Outcome::TimedOut => {
            tokio::time::sleep(shared.account(provider).script.hold).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Outcome::Down => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
        Outcome::Burst429 | Outcome::Limit429 => {
            let mut response = json(StatusCode::TOO_MANY_REQUESTS, body());
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            response
        }
        Outcome::Refused => json(StatusCode::UNAUTHORIZED, body()),
        _ => json(StatusCode::INTERNAL_SERVER_ERROR, body()),
    }
}
