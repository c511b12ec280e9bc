//! What every delivery test needs: applicants with a planned outage, the fake providers and a
//! worker wired to them, and a look at the rows the worker wrote.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use kabar::deliver::providers::smtp::SmtpConfig;
use kabar::deliver::{DeliveryConfig, Providers, Worker};
use kabar::domain::{Channel, Msisdn, Service, ServiceState};
use kabar::plan::notice::NoticeConfig;
use kabar::plan::{plan_once, PlannerConfig};
use kabar::receipts::ReceiptsConfig;
use kabar::render::Catalogue;
use kabar::store::{DatabaseUrl, PlannedMessage, Store};
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::fakes::infobip::FakeInfobip;
use crate::fakes::twilio::FakeTwilio;
use crate::fakes::whatsapp::FakeWhatsapp;
use crate::fixtures::{at, bookings_csv, change, import_bookings, import_offices};
use crate::smtp_server::SmtpServer;

/// 10:00 in Palembang (WIB): outside quiet hours, so planned messages are due at once.
pub const NOW: &str = "2024-06-20T03:00:00Z";

pub const ALL_CHANNELS: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

/// Where unsubscribe links (which every email carries) point.
pub const PUBLIC_BASE_URL: &str = "https://kabar.example.go.id/hooks";

pub fn now() -> DateTime<Utc> {
    at(NOW)
}

pub fn seconds(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// Applicant `n`'s booking at Palembang for tomorrow morning: code `P-000n`, mobile
/// `0812-1000-000n`.
pub fn booking(n: u32, name: &str, email: Option<&str>) -> String {
    let email = email.unwrap_or_default();
    format!("P-{n:04},PLG,,{name},0812-1000-{n:04},{email},,,2024-06-21 09:00,regular,no,booked,\n")
}

/// Applicants `1..=count`, each with one booking and no email.
pub fn bookings(count: u32) -> String {
    (1..=count).map(|n| booking(n, &format!("Pemohon {}", letters(n)), None)).collect()
}

/// A name part without digits: 1 → `A`, 27 → `AA`.
fn letters(mut n: u32) -> String {
    let mut name = Vec::new();
    while n > 0 {
        n -= 1;
        name.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    name.reverse();
    String::from_utf8(name).expect("ASCII")
}

pub fn mobile(n: u32) -> Msisdn {
    format!("0812-1000-{n:04}").parse().expect("a valid number")
}

/// The offices and these booking rows.
pub async fn import(store: &Store, rows: &str) {
    import_offices(store).await;
    let report = import_bookings(store, &bookings_csv(rows), true).await;
    assert!(report.is_clean(), "{report}");
}

/// Printing goes down at Palembang; the planner tells every booked applicant (preferring
/// `channels` in order) to come as booked. Returns the planned messages, by mobile number.
pub async fn plan_outage(store: &Store, channels: &[Channel]) -> Vec<PlannedMessage> {
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, NOW).await;
    let config = PlannerConfig { settle_seconds: 0, channels: channels.to_vec(), ..PlannerConfig::default() };
    let events = plan_once(store, &config, now()).await.expect("planning works");
    assert_eq!(events.len(), 1, "one notice event");
    store.planned_messages(events[0].counts.event_id).await.expect("the planned messages")
}

/// Every provider kabar speaks to, each on its own port.
pub struct Fakes {
    pub whatsapp: FakeWhatsapp,
    pub twilio: FakeTwilio,
    pub infobip: FakeInfobip,
    pub smtp: SmtpServer,
}

impl Fakes {
    pub async fn start() -> Self {
        Fakes {
            whatsapp: FakeWhatsapp::start().await,
            twilio: FakeTwilio::start().await,
            infobip: FakeInfobip::start().await,
            smtp: SmtpServer::start().await,
        }
    }

    /// WhatsApp, Twilio (the only SMS provider) and SMTP, with a quick backoff; Infobip joins
    /// where a test adds it.
    pub fn config(&self) -> DeliveryConfig {
        DeliveryConfig {
            batch_size: 50,
            concurrency: 8,
            backoff_seconds: 10,
            backoff_max_seconds: 600,
            whatsapp: Some(self.whatsapp.config()),
            twilio: Some(self.twilio.config()),
            smtp: Some(smtp_config(self.smtp.port())),
            ..DeliveryConfig::default()
        }
    }
}

fn smtp_config(port: u16) -> SmtpConfig {
    toml::from_str(&format!(
        "host = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\n\
         from = \"Kantor Imigrasi <noreply@imigrasi.go.id>\"\nmessage_id_domain = \"kabar.imigrasi.go.id\"\n\
         timeout_seconds = 5\n"
    ))
    .expect("a valid SMTP configuration")
}

/// A worker on `store` with the built-in templates, sending on every channel in the usual order.
pub async fn worker(store: &Store, config: DeliveryConfig) -> Worker {
    config.validate().expect("a valid delivery configuration");
    let providers = Providers::from_config(&config).expect("the providers start");
    let mut receipts = ReceiptsConfig::new(PUBLIC_BASE_URL.parse().expect("a URL"));
    receipts.unsubscribe_key = Some("a-test-key-of-more-than-thirty-two-characters".into());
    Worker::new(
        store.clone(),
        Arc::new(providers),
        Arc::new(Catalogue::builtin()),
        NoticeConfig::default(),
        ALL_CHANNELS.to_vec(),
        config,
        Some(Arc::new(receipts)),
    )
    .await
    .expect("the worker starts")
}

/// A message's row as the worker left it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub channel: Option<String>,
    pub status: String,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub attempts: i64,
    pub failure_class: Option<String>,
    pub not_before: i64,
}

impl MessageRow {
    pub fn channel(&self) -> Option<Channel> {
        self.channel.as_deref().map(|channel| Channel::from_str(channel).expect("a stored channel"))
    }

    pub fn not_before(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.not_before, 0).expect("a stored instant")
    }
}

/// One try of a message.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub channel: String,
    pub provider: String,
    pub outcome: String,
    pub response_code: Option<String>,
}

/// Runs statements on the test's database with a connection of its own, outside the store: test
/// set-up the store has no call for (a fault injected with a trigger).
pub async fn execute(url: &DatabaseUrl, statements: &[&str]) {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let pool = SqlitePool::connect_with(SqliteConnectOptions::new().filename(path))
                .await
                .expect("open the SQLite file");
            for statement in statements {
                sqlx::raw_sql(statement).execute(&pool).await.expect("the set-up statement");
            }
            pool.close().await;
        }
        DatabaseUrl::Postgres(url) => {
            let pool = PgPool::connect(url.as_str()).await.expect("connect to PostgreSQL");
            for statement in statements {
                sqlx::raw_sql(statement).execute(&pool).await.expect("the set-up statement");
            }
            pool.close().await;
        }
    }
}

/// Reads what the store has no query for (a message's provider, attempts, failure class), with
/// its own connection to the test's database.
pub enum Inspect {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

const MESSAGE_COLUMNS: &str = "SELECT id, channel, status, provider, provider_message_id,
    CAST(attempts AS BIGINT) AS attempts, failure_class, not_before FROM messages";

macro_rules! on_pool {
    ($inspect:expr, $pool:ident => $body:expr) => {
        match $inspect {
            Inspect::Sqlite($pool) => $body,
            Inspect::Postgres($pool) => $body,
        }
    };
}

impl Inspect {
    pub async fn open(url: &DatabaseUrl) -> Inspect {
        match url {
            DatabaseUrl::Sqlite(path) => {
                let options = SqliteConnectOptions::new().filename(path).read_only(true);
                Inspect::Sqlite(SqlitePool::connect_with(options).await.expect("open the SQLite file"))
            }
            DatabaseUrl::Postgres(url) => {
                Inspect::Postgres(PgPool::connect(url.as_str()).await.expect("connect to PostgreSQL"))
            }
        }
    }

    pub async fn message(&self, id: i64) -> MessageRow {
        let sql = format!("{MESSAGE_COLUMNS} WHERE id = $1");
        on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_one(pool).await.expect("the message"))
    }

    /// Every message, by id.
    pub async fn messages(&self) -> Vec<MessageRow> {
        let sql = format!("{MESSAGE_COLUMNS} ORDER BY id");
        on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await.expect("the messages"))
    }

    /// The tries of one message, in order.
    pub async fn attempts(&self, message_id: i64) -> Vec<AttemptRow> {
        let sql = "SELECT channel, provider, outcome, response_code FROM message_attempts
                   WHERE message_id = $1 ORDER BY id";
        on_pool!(self, pool => sqlx::query_as(sql).bind(message_id).fetch_all(pool).await.expect("the attempts"))
    }

    /// How many workers have registered.
    pub async fn worker_count(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM workers";
        on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await.expect("a count"))
    }

    /// How many attempt rows there are in all.
    pub async fn attempt_count(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM message_attempts";
        on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await.expect("a count"))
    }
}
