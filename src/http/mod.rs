//! kabar's one HTTP server: every route `kabar serve` answers, on one address (`[http] listen`).
//!
//! | route | for | authenticated by |
//! |---|---|---|
//! | `GET /healthz` | load balancers: the process is up | — |
//! | `GET /readyz` | orchestrators: the database answers and its schema is this build's | — |
//! | `GET /metrics` | Prometheus | `Authorization: Bearer` when `[http] metrics_token` is set |
//! | the receipts routes | providers and email recipients ([`crate::receipts::server`]) | each provider's secret |
//! | `GET /api/v1/openapi.json` | API clients: the OpenAPI 3.1 document | — |
//! | the staff API, `/api/v1/…` ([`api`]) | staff tools, M-Paspor, dashboards | `Authorization: Bearer kbr_…` |
//! | the staff console, `/console/…` ([`console`]) | people at an office | a session cookie (login form) |
//! | the public status pages, `/status/…` ([`status`]) | anyone | — |
//!
//! The receipts routes exist only when `[receipts]` is configured (404 otherwise). Every request
//! gets an `x-request-id` (a proxy's is kept) and a span naming its method, its route pattern
//! (never the path itself, which may hold a secret or a token) and that id.

pub mod api;
pub mod config;
pub mod console;
mod health;
mod metrics;
mod problem;
pub mod status;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use config::HttpConfig;

use crate::config::Config;
use crate::observe::Untrusted;
use crate::receipts::ReceiptsState;
use crate::store::Store;

/// How long `/readyz` and `/metrics` wait for the database before answering without it: a probe
/// must answer quickly even while the pool waits for a server that is gone.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the routes share. Cheap to clone.
#[derive(Clone)]
pub struct HttpState {
    store: Store,
    receipts: Option<ReceiptsState>,
    metrics: PrometheusHandle,
    metrics_token: Option<SecretString>,
    settle_seconds: u64,
    store_timeout: Duration,
    /// The last answers of `/readyz` and of the store part of `/metrics`, so a failure is logged
    /// when it starts and when it ends, not at every probe.
    ready: Arc<AtomicBool>,
    scraped: Arc<AtomicBool>,
    /// The staff API's store, authenticator and settings.
    api: api::ApiState,
    /// `[http] public_url`: the console's own origin and whether its cookie is `Secure`.
    public_url: Option<url::Url>,
    /// The public status pages' live snapshot.
    status: status::StatusState,
    /// `[subscriptions]`: the status pages' email subscriptions.
    subscriptions: crate::status::subscriptions::SubscriptionsConfig,
    /// Wakes this process's worker (a subscription's confirmation mail is due at once).
    worker_wake: Option<Arc<tokio::sync::Notify>>,
}

impl HttpState {
    /// The state of `kabar serve`: receipts routes when `[receipts]` is configured, the metrics
    /// token of `[http]`, the planner's settle time for the planner lag.
    pub fn from_config(store: Store, config: &Config, metrics: PrometheusHandle) -> Self {
        let receipts = config.receipts.clone().map(|receipts| ReceiptsState {
            store: store.clone(),
            config: Arc::new(receipts),
            channels: config.planner.channels.clone(),
        });
        let mut state =
            HttpState::new(store.clone(), metrics).with_settle_seconds(config.planner.settle_seconds);
        state.receipts = receipts;
        state.api = api::ApiState::new(
            store,
            api::ApiSettings {
                staff: config.staff.clone(),
                costs: config.costs.clone(),
                planner: config.planner.clone(),
                notices: config.notices.clone(),
                catalogue: std::sync::Arc::new(match &config.templates.dir {
                    // `kabar serve` has compiled the same overrides before it gets here.
                    Some(dir) => crate::render::Catalogue::with_overrides(dir).unwrap_or_else(|err| {
                        tracing::error!(error = %err, "templates.dir cannot be read; the API previews with the built-in templates");
                        crate::render::Catalogue::builtin()
                    }),
                    None => crate::render::Catalogue::builtin(),
                }),
                numbers: config.import.allowed_countries.clone(),
            },
        );
        state.metrics_token = config.http.metrics_token.clone();
        state.subscriptions = config.subscriptions.clone();
        match config.http.public_url.clone() {
            Some(url) => state.with_public_url(url),
            None => state,
        }
    }

    /// Health, readiness and metrics only; no receipts routes, no metrics token.
    pub fn new(store: Store, metrics: PrometheusHandle) -> Self {
        HttpState {
            api: api::ApiState::new(store.clone(), api::ApiSettings::default()),
            status: status::StatusState::new(store.clone(), None),
            store,
            receipts: None,
            metrics,
            metrics_token: None,
            settle_seconds: crate::plan::PlannerConfig::default().settle_seconds,
            store_timeout: DEFAULT_STORE_TIMEOUT,
            ready: Arc::new(AtomicBool::new(true)),
            scraped: Arc::new(AtomicBool::new(true)),
            public_url: None,
            subscriptions: Default::default(),
            worker_wake: None,
        }
    }

    /// The status pages' email subscriptions with these settings (`[subscriptions]`).
    pub fn with_subscriptions(mut self, config: crate::status::subscriptions::SubscriptionsConfig) -> Self {
        self.subscriptions = config;
        self
    }

    /// The worker of this process, woken when a request queues a message.
    pub fn with_worker_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.worker_wake = Some(wake);
        self
    }

    /// The server's public URL (`[http] public_url`).
    pub fn with_public_url(mut self, url: url::Url) -> Self {
        self.status = status::StatusState::new(self.store.clone(), Some(&url));
        self.public_url = Some(url);
        self
    }

    pub fn with_receipts(mut self, receipts: ReceiptsState) -> Self {
        self.receipts = Some(receipts);
        self
    }

    pub fn with_metrics_token(mut self, token: SecretString) -> Self {
        self.metrics_token = Some(token);
        self
    }

    pub fn with_settle_seconds(mut self, settle_seconds: u64) -> Self {
        self.settle_seconds = settle_seconds;
        self
    }

    /// The staff API with these settings (`[staff]`, `[costs]`, `[planner]`).
    pub fn with_api_settings(mut self, settings: api::ApiSettings) -> Self {
        self.api = api::ApiState::new(self.store.clone(), settings);
        self
    }

    /// Loads the dry runs' audience index ([`crate::plan::AudienceIndex`]) in the background, so
    /// the first national dry run does not wait for it (about 3 s per million bookings on SQLite).
    pub fn warm_audience_index(&self) {
        let (index, store) = (self.api.audience.clone(), self.api.store.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match index.warm(&store).await {
                Ok(bookings) => {
                    tracing::info!(
                        bookings,
                        seconds = started.elapsed().as_secs_f64(),
                        "audience index loaded"
                    )
                }
                Err(err) => {
                    tracing::warn!(error = %err, "audience index not loaded; dry runs load it as they go")
                }
            }
        });
    }

    /// How long a probe waits for the database ([`DEFAULT_STORE_TIMEOUT`] unless set).
    pub fn with_store_timeout(mut self, timeout: Duration) -> Self {
        self.store_timeout = timeout;
        self
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route, with request ids and request spans.
pub fn router(state: HttpState) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .with_state(state.clone())
        .merge(api::router(state.api.clone()))
        .merge(console::router(console::ConsoleState::new(state.api.clone(), state.public_url.clone())))
        .merge(status::router(state.status.clone()))
        .merge(status::subscribe::router(status::subscribe::SubscribeState::new(
            state.status.clone(),
            state.subscriptions.clone(),
            state.worker_wake.clone(),
        )));
    if let Some(receipts) = state.receipts {
        app = app.merge(crate::receipts::router(receipts));
    }
    // The last layer added is the outermost: the id is set, then the span opens with it.
    app.layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                .on_response(DefaultOnResponse::new().level(Level::DEBUG))
                // A handler logs its own failures once; a 503 from /readyz is an answer.
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("(no route)", MatchedPath::as_str);
    let id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok());
    tracing::info_span!(
        "http",
        method = %request.method(),
        route = %route,
        request_id = %Untrusted(id.unwrap_or("-")),
    )
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds the server's address (`[http] listen`, or `--listen`).
pub async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener, HttpError> {
    tokio::net::TcpListener::bind(address).await.map_err(|source| HttpError::Bind { address, source })
}

/// Serves every route on `listener` until `shutdown` completes, then lets the requests in flight
/// finish and returns. Prints `listening on http://ADDRESS` on stdout first (the bound port, when
/// the configured one was 0), and keeps the metrics recorder tidy while it runs.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(%address, receipts = state.receipts.is_some(), "HTTP server listening");
    let handle = state.metrics.clone();
    // Upkeep drains histogram samples between scrapes, so memory stays bounded when nobody scrapes.
    let upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
    // The client's address: the staff API's rate limits and audit rows use it.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    upkeep.abort();
    served
}
