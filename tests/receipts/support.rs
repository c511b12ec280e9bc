//! The receipts server on 127.0.0.1 port 0 over a real SQLite store with planned messages, and
//! the providers' signatures computed here with hmac, independently of the code under test.

use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use kabar::domain::{Channel, Msisdn, Service, ServiceState};
use kabar::import::{self, ImportOptions};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::receipts::{serve, ReceiptsConfig, ReceiptsState};
use kabar::state::{set_state, StateChange};
use kabar::store::{DatabaseUrl, PlannedMessage, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";
/// The app secret of PROVIDERS.md's second vector, so that request can be replayed as it is.
pub const WHATSAPP_SECRET: &str = "appsecret";
pub const VERIFY_TOKEN: &str = "kabar-verify-token";
pub const INFOBIP_SECRET: &str = "infobip-secret-0123456789";
pub const UNSUBSCRIBE_KEY: &str = "unsubscribe-key-for-tests-0123456789abcdef";

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
";

/// Ayu, Bayu (with email), Cici (WhatsApp on 0033), Dedi (email only).
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

/// A running server, its store, and the messages of one planned event.
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Store,
    pub config: Arc<ReceiptsConfig>,
    pub messages: Vec<PlannedMessage>,
    db_path: String,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Every provider configured; messages planned with `channels` as the applicants' order.
    pub async fn start(channels: &[Channel]) -> Server {
        Self::start_with(channels, true).await
    }

    /// No secret configured: every provider route is absent.
    pub async fn start_unconfigured() -> Server {
        Self::start_with(&[Channel::Whatsapp, Channel::Sms, Channel::Email], false).await
    }

    async fn start_with(channels: &[Channel], secrets: bool) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("kabar.db").display().to_string();
        let store = Store::open(&DatabaseUrl::Sqlite(db_path.clone())).await.unwrap();
        let messages = plan(&store, dir.path(), channels).await;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = ReceiptsConfig::new(base.parse().unwrap());
        if secrets {
            config.twilio_auth_token = Some(TWILIO_TOKEN.into());
            config.whatsapp_app_secret = Some(WHATSAPP_SECRET.into());
            config.whatsapp_verify_token = Some(VERIFY_TOKEN.into());
            config.infobip_secret = Some(INFOBIP_SECRET.into());
            config.unsubscribe_key = Some(UNSUBSCRIBE_KEY.into());
        }
        config.validate().unwrap();
        let config = Arc::new(config);
        let state =
            ReceiptsState { store: store.clone(), config: config.clone(), channels: channels.to_vec() };
        let (shutdown, stop) = oneshot::channel::<()>();
        // The listener is bound before the task starts, so requests can follow at once.
        let served = tokio::spawn(serve(listener, state, async move {
            let _ = stop.await;
        }));
        Server {
            base,
            http: reqwest::Client::new(),
            store,
            config,
            messages,
            db_path,
            shutdown: Some(shutdown),
            served: Some(served),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The planned message of the applicant with this mobile.
    pub fn message(&self, last: u32) -> i64 {
        self.messages.iter().find(|m| m.mobile == mobile(last)).unwrap().id
    }

    async fn pool(&self) -> sqlx::SqlitePool {
        sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db_path)).await.unwrap()
    }

    /// The provider accepted the message as `provider_id`, as the dispatcher records it.
    pub async fn accepted(&self, message: i64, provider: &str, provider_id: &str) {
        let pool = self.pool().await;
        sqlx::query(
            "UPDATE messages SET status = 'sent', provider = ?, provider_message_id = ? WHERE id = ?",
        )
        .bind(provider)
        .bind(provider_id)
        .bind(message)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }

    /// (channel, status) of a message.
    pub async fn state(&self, message: i64) -> (String, String) {
        let pool = self.pool().await;
        let row = sqlx::query_as("SELECT channel, status FROM messages WHERE id = ?")
            .bind(message)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row
    }

    /// (WhatsApp, SMS, email) opt-outs of an applicant.
    pub async fn opted_out(&self, last: u32) -> (bool, bool, bool) {
        let record = self.store.applicant(&mobile(last)).await.unwrap().unwrap();
        (record.whatsapp_opted_out, record.sms_opted_out, record.email_opted_out)
    }

    /// Stops the server and waits for it: graceful shutdown must return cleanly.
    pub async fn stop(mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
        self.served.take().unwrap().await.unwrap().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn plan(store: &Store, dir: &std::path::Path, channels: &[Channel]) -> Vec<PlannedMessage> {
    let options = ImportOptions::default();
    let offices =
        import::import_offices_from(store, OFFICES.as_bytes(), "offices.csv", &options).await.unwrap();
    assert!(offices.is_clean(), "{offices}");
    let path = dir.join("bookings.csv");
    std::fs::write(&path, BOOKINGS).unwrap();
    let bookings = import::import_bookings(store, &path, &options).await.unwrap();
    assert!(bookings.is_clean(), "{bookings}");
    for channel in [Channel::Whatsapp, Channel::Sms] {
        assert!(store.set_opt_out(&mobile(4), channel, true).await.unwrap());
    }
    let now = chrono::DateTime::parse_from_rfc3339("2024-06-20T03:00:00Z").unwrap().to_utc(); // 10:00 WIB
    let change = StateChange {
        target: "PLG".parse().unwrap(),
        service: Service::Printing,
        state: ServiceState::Unavailable,
        reason: Some("Gangguan Pusat Data Nasional".into()),
        until: None,
        actor: "test".into(),
        at: now,
    };
    set_state(store, &change).await.unwrap();
    let config = PlannerConfig { settle_seconds: 0, channels: channels.to_vec(), ..PlannerConfig::default() };
    let events = plan_once(store, &config, now).await.unwrap();
    let messages = store.planned_messages(events[0].counts.event_id).await.unwrap();
    assert_eq!(messages.len(), 4);
    messages
}

/// `X-Twilio-Signature` of `params` posted to `url`, as Twilio computes it.
pub fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `X-Hub-Signature-256` of a body, as Meta computes it.
pub fn whatsapp_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn the_signers_reproduce_the_published_vectors() {
    let params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ];
    assert_eq!(
        twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &params),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
    assert_eq!(
        whatsapp_signature("secret", b"test"),
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    );
}
