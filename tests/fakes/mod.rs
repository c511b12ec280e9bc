//! Fake providers: real HTTP servers on 127.0.0.1 that speak each provider's wire format, check
//! what the real provider checks (credentials, required fields), answer with realistic ids, record
//! every request, and fail on demand.
//!
//! Include from a test binary with `#[path = "../fakes/mod.rs"] mod fakes;`. Each fake derefs to
//! [`FakeServer`], which holds what they share: the recorded requests, waiting for the n-th one, and
//! the queue of scripted [`Fault`]s. Recipient-specific behaviour (an unsubscribed number, a number
//! not on WhatsApp) lives on the fakes themselves, so concurrent sends stay deterministic.

// Each test binary uses a different part of the fakes.
#![allow(dead_code)]

pub mod infobip;
pub mod twilio;
pub mod whatsapp;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long [`FakeServer::wait_for`] waits before failing the test: a guard against a hang, not a
/// synchronisation.
const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// The path, percent-encoded as sent.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived, for rate checks.
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The form body as pairs, in order (repeated keys kept).
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).unwrap_or_default()
    }

    /// The one value of a form field.
    pub fn field(&self, name: &str) -> Option<String> {
        self.form().into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
    }

    /// The JSON body, or `Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What the fake does with the next request instead of (or before) its normal answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answers with this status, headers and body.
    Respond { status: StatusCode, headers: Vec<(HeaderName, HeaderValue)>, body: String },
    /// Answers normally, but only after this long.
    Delay(Duration),
    /// Closes the connection with a TCP reset, without an answer.
    Reset,
}

impl Fault {
    /// A bare status with a plain-text body, as a load balancer in front of the provider sends.
    pub fn status(status: u16) -> Self {
        let status = StatusCode::from_u16(status).expect("a valid HTTP status");
        Fault::Respond { status, headers: Vec::new(), body: status.to_string() }
    }

    /// A JSON body in the provider's own error shape.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Fault::Respond {
            status: StatusCode::from_u16(status).expect("a valid HTTP status"),
            headers: vec![(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body: body.to_string(),
        }
    }

    /// The same answer with a `Retry-After` header (seconds or an HTTP-date).
    pub fn retry_after(self, value: &str) -> Self {
        match self {
            Fault::Respond { status, mut headers, body } => {
                headers.push((axum::http::header::RETRY_AFTER, HeaderValue::from_str(value).expect("ASCII")));
                Fault::Respond { status, headers, body }
            }
            other => other,
        }
    }
}

/// A provider's normal behaviour: its checks and its answer to one request.
pub trait Behaviour: Send + Sync + 'static {
    fn answer(&self, request: &Recorded) -> Response;
}

/// The server a fake runs on, and what it recorded. Stops when dropped.
pub struct FakeServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    received: watch::Sender<usize>,
    faults: Mutex<VecDeque<Fault>>,
    behaviour: Box<dyn Behaviour>,
}

impl FakeServer {
    /// Starts a server on 127.0.0.1, on a port the system picks.
    pub async fn start(behaviour: impl Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            received: watch::channel(0).0,
            faults: Mutex::new(VecDeque::new()),
            behaviour: Box::new(behaviour),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let service = app.into_make_service_with_connect_info::<Connection>();
        let task = tokio::spawn(async move {
            axum::serve(ResettableListener(listener), service).await.expect("fake server runs");
        });
        Self { address, shared, task }
    }

    /// `http://127.0.0.1:<port>`, for a provider's `base_url`.
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.address)).expect("a valid URL")
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// How many requests have arrived, without copying them.
    pub fn received(&self) -> usize {
        *self.shared.received.borrow()
    }

    /// Waits until at least `n` requests have arrived and returns the `n`-th (1-based).
    pub async fn wait_for(&self, n: usize) -> Recorded {
        let mut received = self.shared.received.subscribe();
        tokio::time::timeout(WAIT_LIMIT, received.wait_for(|count| *count >= n))
            .await
            .unwrap_or_else(|_| panic!("request {n} did not arrive within {WAIT_LIMIT:?}"))
            .expect("the fake server is running");
        self.shared.requests.lock().unwrap()[n - 1].clone()
    }

    /// Applies `fault` to the next request that has no fault yet.
    pub fn fail_next(&self, fault: Fault) {
        self.fail_times(1, fault);
    }

    /// Applies `fault` to each of the next `times` requests.
    pub fn fail_times(&self, times: usize, fault: Fault) {
        let mut faults = self.shared.faults.lock().unwrap();
        faults.extend(std::iter::repeat_n(fault, times));
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Recorded { method, path: uri.path().to_owned(), headers, body, at: Instant::now() };
    shared.requests.lock().unwrap().push(request.clone());
    shared.received.send_modify(|count| *count += 1);
    let fault = shared.faults.lock().unwrap().pop_front();
    match fault {
        Some(Fault::Respond { status, headers, body }) => {
            let mut response = (status, body).into_response();
            response.headers_mut().extend(headers);
            return response;
        }
        Some(Fault::Reset) => {
            // The connection fails on hyper's next read or write, before any byte of this answer.
            connection.reset.cancel();
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    shared.behaviour.answer(&request)
}

/// Per-connection information handed to the handler: the switch that resets the connection.
#[derive(Clone)]
struct Connection {
    reset: CancellationToken,
}

impl Connected<IncomingStream<'_, ResettableListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        Connection { reset: stream.io().reset.clone() }
    }
}

/// A TCP listener whose connections can be reset from a handler.
struct ResettableListener(TcpListener);

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = Listener::accept(&mut self.0).await;
        (ResettableStream { stream, reset: CancellationToken::new() }, address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A TCP stream that, once `reset` is cancelled, fails every read and write and sends an RST
/// (`SO_LINGER` 0) when hyper drops it.
struct ResettableStream {
    stream: TcpStream,
    reset: CancellationToken,
}

impl ResettableStream {
    fn check(&self) -> io::Result<()> {
        if self.reset.is_cancelled() {
            self.stream.set_zero_linger()?;
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset by the fake"));
        }
        Ok(())
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// `n` random bytes as lower-case hex, for provider ids.
pub fn random_hex(n: usize) -> String {
    (0..n).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

/// `n` random decimal digits, the first not zero, for Infobip's numeric ids.
pub fn random_digits(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n).map(|i| char::from(b'0' + rng.gen_range(u8::from(i == 0)..10))).collect()
}
