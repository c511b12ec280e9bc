//! A minimal, fast fake of Twilio's Messages endpoint: every well-formed POST gets 201 with a
//! unique `sid`, and its arrival time is recorded. No rate limit of its own, so what the
//! benchmark measures is kabar.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use kabar::deliver::providers::twilio::TwilioConfig;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "bench-twilio-auth-token";

/// The fake, serving on 127.0.0.1 until dropped.
pub struct FakeTwilio {
    pub base_url: url::Url,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    /// When each accepted request arrived, in arrival order.
    arrivals: Mutex<Vec<Instant>>,
    /// How many were accepted: what waiters watch.
    accepted: watch::Sender<usize>,
    /// Requests kabar should never send (wrong account, credentials or form).
    refused: AtomicU64,
    authorization: String,
}

/// The form fields the fake checks.
#[derive(Deserialize)]
struct Fields {
    #[serde(rename = "To")]
    to: String,
    #[serde(rename = "Body")]
    body: String,
    #[serde(rename = "From")]
    from: Option<String>,
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
        let shared = Arc::new(Shared {
            arrivals: Mutex::new(Vec::new()),
            accepted: watch::Sender::new(0),
            refused: AtomicU64::new(0),
            authorization: format!("Basic {credentials}"),
        });
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create_message))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Twilio");
        let address = listener.local_addr().expect("a local address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fake Twilio serves");
        });
        let base_url = format!("http://{address}").parse().expect("a valid URL");
        FakeTwilio { base_url, shared, server }
    }

    /// An account on this fake, at most `rate_per_second` requests per second when given.
    pub fn config(&self, rate_per_second: Option<u32>) -> TwilioConfig {
        twilio_config(&self.base_url, rate_per_second)
    }

    /// How many requests were accepted so far.
    pub fn accepted(&self) -> usize {
        *self.shared.accepted.borrow()
    }

    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Waits until `count` requests were accepted; panics after `patience`, so a stuck worker
    /// ends the benchmark with a message instead of hanging it.
    pub async fn wait_for(&self, count: usize, patience: Duration) {
        let mut accepted = self.shared.accepted.subscribe();
        let reached = tokio::time::timeout(patience, accepted.wait_for(|seen| *seen >= count)).await;
        if reached.is_err() {
            panic!(
                "the fake Twilio accepted {} of {count} requests within {patience:?} ({} refused)",
                self.accepted(),
                self.refused()
            );
        }
    }

    /// When the `index`-th accepted request (0-based) arrived.
    pub fn arrival(&self, index: usize) -> Instant {
        self.shared.arrivals.lock().expect("never poisoned")[index]
    }

    /// Every arrival so far, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.shared.arrivals.lock().expect("never poisoned").clone()
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The Twilio account of the fake at `base_url` (also built by worker child processes).
pub fn twilio_config(base_url: &url::Url, rate_per_second: Option<u32>) -> TwilioConfig {
    TwilioConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: SecretString::from(AUTH_TOKEN),
        from: Some("KANIM".into()),
        messaging_service_sid: None,
        status_callback: None,
        base_url: base_url.clone(),
        rate_per_second: rate_per_second.and_then(std::num::NonZeroU32::new),
        timeout_seconds: 10,
    }
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    let authorized = headers.get("authorization").is_some_and(|value| value == shared.authorization.as_str());
    let well_formed = fields.to.starts_with('+') && !fields.body.is_empty() && fields.from.is_some();
    if sid != ACCOUNT_SID || !authorized || !well_formed {
        shared.refused.fetch_add(1, Ordering::Relaxed);
        let body = json!({"code": 21211, "message": "refused by the benchmark's fake", "status": 400});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let count = {
        let mut arrivals = shared.arrivals.lock().expect("never poisoned");
        // Taken under the lock, so arrival order is time order.
        arrivals.push(Instant::now());
        arrivals.len()
    };
    shared.accepted.send_if_modified(|seen| {
        let newer = count > *seen;
        if newer {
            *seen = count;
        }
        newer
    });
    let sid = format!("SM{count:032x}");
    (StatusCode::CREATED, Json(json!({"sid": sid, "status": "queued"}))).into_response()
}
