//! `/healthz`, `/readyz`, the address the server binds, and graceful shutdown.

use std::time::Duration;

use kabar::config::{Config, HttpOverrides, Overrides};
use kabar::http::HttpState;
use kabar::store::DatabaseUrl;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::TestStore;
use crate::support::{App, Options};

/// The newest migration of this build, read from the migrations directory (not a number to
/// keep in step by hand).
fn latest_migration() -> i64 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .expect("the migrations directory")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.split('_').next()?.parse().ok())
        .max()
        .expect("at least one migration")
}

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    (status, response.json().await.unwrap())
}

async fn ready_on_a_migrated_database_and_not_with_a_migration_missing(db: TestStore) {
    let engine = match db.url {
        DatabaseUrl::Sqlite(_) => "sqlite",
        DatabaseUrl::Postgres(_) => "postgres",
    };
    let app = App::start(db, Options::default()).await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("x-request-id"), "every answer names its request");
    assert_eq!(health.text().await.unwrap(), "ok");

    let latest = latest_migration();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ready", "engine": engine, "schema_version": latest}));

    // As if this kabar were newer than the database: its latest migration was never applied.
    app.sql(&format!("DELETE FROM _sqlx_migrations WHERE version = {latest}")).await;
    let (status, body) = problem(app.get("/readyz").await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["type"], "urn:kabar:problem:schema-not-current");
    assert_eq!(body["status"], 503);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("migrations {latest} are not applied: run `kabar migrate`")),
        "{detail}"
    );
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK, "alive, though not ready");
    app.stop().await;
}

async fn not_ready_when_the_database_is_gone(db: TestStore) {
    let app = App::start(db, Options::default()).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    match &app.db.url {
        DatabaseUrl::Postgres(url) => {
            // The database itself disappears under the running server.
            let admin =
                sqlx::PgPool::connect(&std::env::var("KABAR_TEST_POSTGRES_URL").unwrap()).await.unwrap();
            let name = url.path().trim_start_matches('/');
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&admin).await.unwrap();
            admin.close().await;
        }
        // A file stays readable to root whatever its mode, and open connections keep reading a
        // deleted file: the store's connections closing is what SQLite can reliably lose.
        DatabaseUrl::Sqlite(_) => app.db.store.close().await,
    }
    let (status, body) = problem(app.get("/readyz").await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["type"], "urn:kabar:problem:database-unreachable");
    assert!(!body["detail"].as_str().unwrap().contains("kabar_test_"), "no driver detail: {body}");
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), StatusCode::OK, "metrics still answer");
    let text = metrics.text().await.unwrap();
    assert!(text.lines().any(|line| line == "kabar_store_up 0"), "{text}");
    assert!(!text.contains("kabar_queue_messages"), "{text}");
    app.stop().await;
}

crate::http_tests!(
    ready_on_a_migrated_database_and_not_with_a_migration_missing,
    not_ready_when_the_database_is_gone,
);

/// Holds PostgreSQL's lock on the migrations table, so `/readyz` waits for it.
struct MigrationsLocked {
    pool: sqlx::PgPool,
    tx: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
}

impl MigrationsLocked {
    async fn take(db: &TestStore) -> Self {
        let DatabaseUrl::Postgres(url) = &db.url else { unreachable!("PostgreSQL only") };
        let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE").execute(&mut *tx).await.unwrap();
        MigrationsLocked { pool, tx: Some(tx) }
    }

    /// Returns once another session waits for the lock (the database's own report, not a clock).
    async fn wait_for_a_waiter(&self) {
        for _ in 0..100_000 {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if waiting > 0 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("no request ever waited for the lock");
    }

    async fn release(mut self) {
        self.tx.take().unwrap().rollback().await.unwrap();
        self.pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_does_not_answer_is_not_ready() {
    let Some(db) = TestStore::postgres().await else { return };
    let app =
        App::start(db, Options { store_timeout: Some(Duration::from_millis(100)), ..Options::default() })
            .await;
    let lock = MigrationsLocked::take(&app.db).await;
    let (status, body) = problem(app.get("/readyz").await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["type"], "urn:kabar:problem:database-unreachable");
    assert!(body["detail"].as_str().unwrap().contains("did not answer"), "{body}");
    lock.release().await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK, "ready again");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_finish_after_shutdown_begins() {
    let Some(db) = TestStore::postgres().await else { return };
    let mut app =
        App::start(db, Options { store_timeout: Some(Duration::from_secs(600)), ..Options::default() }).await;
    let lock = MigrationsLocked::take(&app.db).await;
    let in_flight = tokio::spawn(app.http.get(app.url("/readyz")).send());
    lock.wait_for_a_waiter().await;

    app.begin_shutdown();
    // The server stops accepting: new connections are refused while the request still waits.
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut refused = false;
    for _ in 0..100_000 {
        if tokio::net::TcpStream::connect(&address).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "the listener never closed");
    assert!(!in_flight.is_finished());

    lock.release().await;
    let answer = in_flight.await.unwrap().unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "the request in flight was answered in full");
    app.finished().await;
}

#[tokio::test]
async fn the_listen_flag_binds_the_port_it_is_given_and_receipts_are_absent_unless_configured() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kabar.toml");
    std::fs::write(&file, "[http]\nlisten = \"127.0.0.1:9\"\n").unwrap();
    let overrides = Overrides {
        http: Some(HttpOverrides { listen: Some("127.0.0.1:0".parse().unwrap()) }),
        ..Overrides::default()
    };
    let config = Config::load(Some(&file), &overrides).unwrap();
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:0", "the flag wins over the file");
    assert!(config.receipts.is_none());

    let db = TestStore::sqlite().await;
    let listener = kabar::http::bind(config.http.listen).await.unwrap();
    let address = listener.local_addr().unwrap();
    assert_ne!(address.port(), 0);
    let state = HttpState::from_config(db.store.clone(), &config, kabar::observe::metrics::install());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(kabar::http::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://{address}{path}")).send();
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/readyz").await.unwrap().status(), StatusCode::OK);
    for path in ["/twilio/status", "/whatsapp/webhook", "/infobip/reports/x"] {
        let response = http.post(format!("http://{address}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(get("/unsubscribe/abc").await.unwrap().status(), StatusCode::NOT_FOUND);
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
}
