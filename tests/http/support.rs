//! kabar's one HTTP server on 127.0.0.1 port 0 over a fresh store of either engine, with four
//! applicants' messages planned, and the providers' signatures computed here with hmac,
//! independently of the code under test.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use kabar::domain::{Channel, Msisdn, Service, ServiceState};
use kabar::http::HttpState;
use kabar::import::{self, ImportOptions};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::receipts::{ReceiptsConfig, ReceiptsState};
use kabar::state::{set_state, StateChange};
use kabar::store::{DatabaseUrl, PlannedMessage, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::harness::TestStore;

pub const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";
pub const WHATSAPP_SECRET: &str = "whatsapp-app-secret-for-tests";

/// When the messages were planned: 10:00 WIB, outside quiet hours, so every message is due.
pub const PLANNED_AT: &str = "2024-06-20T03:00:00Z";
/// The settle time the server computes the planner lag with.
pub const SETTLE_SECONDS: u64 = 120;

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
";

/// Ayu, Bayu (with email), Cici (WhatsApp on 0033), Dedi (email only, opted out of the others).
const BOOKINGS: &str = "\
booking_code,office_code,unit_code,name,phone,email,whatsapp,language,appointment_at,product,express,stage,applied_at
R-A1,PLG,,Ayu,0812-2000-0001,,,,2024-06-21 09:00,regular,no,booked,
R-B1,PLG,,Bayu,0812-2000-0002,bayu@example.com,,,2024-06-21 09:30,regular,no,booked,
R-C1,PLG,,Cici,0812-2000-0003,,0812-2000-0033,,2024-06-21 10:00,regular,no,booked,
R-D1,PLG,,Dedi,0812-2000-0004,dedi@example.com,,,2024-06-21 10:30,regular,no,booked,
";

pub fn mobile(last: u32) -> Msisdn {
    format!("0812-2000-{last:04}").parse().unwrap()
}

pub fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// How the server is set up.
#[derive(Default)]
pub struct Options {
    /// `[receipts]` with the Twilio and WhatsApp secrets.
    pub receipts: bool,
    pub metrics_token: Option<&'static str>,
    pub store_timeout: Option<Duration>,
}

/// A running server, its store, and the planned messages.
pub struct App {
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestStore,
    pub messages: Vec<PlannedMessage>,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<std::io::Result<()>>>,
}

impl App {
    pub async fn start(db: TestStore, options: Options) -> App {
        let messages = plan(&db.store, &[Channel::Whatsapp, Channel::Sms, Channel::Email]).await;
        let listener = kabar::http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut state = HttpState::new(db.store.clone(), kabar::observe::metrics::install())
            .with_settle_seconds(SETTLE_SECONDS);
        if options.receipts {
            let mut config = ReceiptsConfig::new(base.parse().unwrap());
            config.twilio_auth_token = Some(TWILIO_TOKEN.into());
            config.whatsapp_app_secret = Some(WHATSAPP_SECRET.into());
            config.validate().unwrap();
            state = state.with_receipts(ReceiptsState {
                store: db.store.clone(),
                config: Arc::new(config),
                channels: vec![Channel::Sms, Channel::Whatsapp, Channel::Email],
            });
        }
        if let Some(token) = options.metrics_token {
            state = state.with_metrics_token(token.into());
        }
        if let Some(timeout) = options.store_timeout {
            state = state.with_store_timeout(timeout);
        }
        let (shutdown, stop) = oneshot::channel::<()>();
        // The listener is bound before the task starts, so requests can follow at once.
        let served = tokio::spawn(kabar::http::serve(listener, state, async move {
            let _ = stop.await;
        }));
        App {
            base,
            http: reqwest::Client::new(),
            db,
            messages,
            shutdown: Some(shutdown),
            served: Some(served),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// The planned message of the applicant with this mobile.
    pub fn message(&self, last: u32) -> i64 {
        self.messages.iter().find(|m| m.mobile == mobile(last)).unwrap().id
    }

    /// Runs a statement through a connection of its own (`$N` parameters: both engines).
    pub async fn sql(&self, statement: &str) {
        match &self.db.url {
            DatabaseUrl::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap();
                pool.close().await;
            }
            DatabaseUrl::Postgres(url) => {
                let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    pub async fn count(&self, query: &str) -> i64 {
        match &self.db.url {
            DatabaseUrl::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
                let count = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
                pool.close().await;
                count
            }
            DatabaseUrl::Postgres(url) => {
                let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
                let count = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
                pool.close().await;
                count
            }
        }
    }

    /// Asks the server to stop; `finished` then waits for it.
    pub fn begin_shutdown(&mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
    }

    /// Waits for the server after [`App::begin_shutdown`]: graceful shutdown must return cleanly.
    pub async fn finished(&mut self) {
        self.served.take().unwrap().await.unwrap().unwrap();
    }

    pub async fn stop(mut self) {
        self.begin_shutdown();
        self.finished().await;
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Imports the office and the four applicants, records a printing outage at [`PLANNED_AT`] and
/// plans it with `channels`.
async fn plan(store: &Store, channels: &[Channel]) -> Vec<PlannedMessage> {
    let options = ImportOptions::default();
    let offices =
        import::import_offices_from(store, OFFICES.as_bytes(), "offices.csv", &options).await.unwrap();
    assert!(offices.is_clean(), "{offices}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bookings.csv");
    std::fs::write(&path, BOOKINGS).unwrap();
    let bookings = import::import_bookings(store, &path, &options).await.unwrap();
    assert!(bookings.is_clean(), "{bookings}");
    for channel in [Channel::Whatsapp, Channel::Sms] {
        assert!(store.set_opt_out(&mobile(4), channel, true).await.unwrap());
    }
    change(store, Service::Printing, PLANNED_AT).await;
    let config = PlannerConfig { settle_seconds: 0, channels: channels.to_vec(), ..PlannerConfig::default() };
    let events = plan_once(store, &config, at(PLANNED_AT)).await.unwrap();
    let messages = store.planned_messages(events[0].counts.event_id).await.unwrap();
    assert_eq!(messages.len(), 4);
    messages
}

/// Makes `service` unavailable at Palembang at `when` (not planned).
pub async fn change(store: &Store, service: Service, when: &str) {
    let change = StateChange {
        target: "PLG".parse().unwrap(),
        service,
        state: ServiceState::Unavailable,
        reason: Some("Gangguan Pusat Data Nasional".into()),
        until: None,
        actor: "test".into(),
        at: at(when),
    };
    set_state(store, &change).await.unwrap();
}

/// `X-Twilio-Signature` of `params` posted to `url`, as Twilio computes it.
pub fn twilio_signature(url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TWILIO_TOKEN.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `X-Hub-Signature-256` of a body, as Meta computes it.
pub fn whatsapp_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WHATSAPP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts `params` to a Twilio webhook `path`, signed.
pub async fn post_twilio(app: &App, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("X-Twilio-Signature", twilio_signature(&app.url(path), params))
        .form(params)
        .send()
        .await
        .unwrap()
}

/// Declares each listed `async fn(TestStore)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! http_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::TestStore::sqlite().await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::harness::TestStore::postgres().await else {
                        eprintln!("KABAR_TEST_POSTGRES_URL is not set: PostgreSQL half skipped");
                        return;
                    };
                    super::$name(db).await;
                }
            )+
        }
    };
}
