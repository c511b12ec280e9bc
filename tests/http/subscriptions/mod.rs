//! Email subscriptions to an office's status over real HTTP on both engines, mail through a real
//! SMTP server over TCP: double opt-in, updates through the outbox with one-click unsubscribe
//! (RFC 8058), nothing after leaving; subscribers and applicants never get each other's mail;
//! the form refuses forged origins and tokens and limits requests.

#[allow(dead_code)]
#[path = "../../fakes/smtp.rs"]
mod smtp_server;

use std::sync::Arc;

use chrono::Utc;
use kabar::deliver::providers::smtp::SmtpConfig;
use kabar::deliver::{DeliveryConfig, Providers, Worker};
use kabar::domain::{Channel, Service, ServiceState};
use kabar::http::HttpState;
use kabar::import::{self, ImportOptions};
use kabar::plan::notice::NoticeConfig;
use kabar::plan::{plan_once, PlannerConfig};
use kabar::receipts::ReceiptsConfig;
use kabar::render::Catalogue;
use kabar::state::{set_state, StateChange};
use kabar::status::subscriptions::{plan_updates, SubscriptionsConfig};
use mail_parser::MessageParser;
use reqwest::StatusCode;
use tokio::sync::oneshot;

use self::smtp_server::{ReceivedMail, SmtpServer};
use crate::api_support::OFFICES;
use crate::harness::TestStore;

const READER: &str = "reader@example.com";
const APPLICANT_EMAIL: &str = "ayu.lestari@example.com";

struct Site {
    base: String,
    http: reqwest::Client,
    db: TestStore,
    smtp: SmtpServer,
    worker: Worker,
    planner: PlannerConfig,
    _shutdown: oneshot::Sender<()>,
}

impl Site {
    /// Offices, one applicant at Palembang with an email address and an appointment in two days,
    /// the server with a public URL, a worker sending email through the SMTP server.
    async fn start(db: TestStore, subscriptions: SubscriptionsConfig) -> Site {
        let options = ImportOptions::default();
        let report = import::import_offices_from(&db.store, OFFICES.as_bytes(), "offices.csv", &options)
            .await
            .unwrap();
        assert!(report.is_clean(), "{report}");
        let day =
            (Utc::now() + chrono::Duration::days(2)).with_timezone(&chrono_tz::Asia::Jakarta).date_naive();
        let bookings = format!(
            "booking_code,office_code,unit_code,name,phone,email,whatsapp,language,appointment_at,product,express,stage,applied_at\n\
             PLGX-5501,PLG,,Ayu Lestari,0812-7100-5501,{APPLICANT_EMAIL},,,{day} 09:00,regular,no,booked,\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bookings.csv");
        std::fs::write(&path, bookings).unwrap();
        let imported = import::import_bookings(&db.store, &path, &options).await.unwrap();
        assert!(imported.is_clean(), "{imported}");

        let listener = kabar::http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = HttpState::new(db.store.clone(), kabar::observe::metrics::install())
            .with_public_url(base.parse().unwrap())
            .with_subscriptions(subscriptions);
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(kabar::http::serve(listener, state, async move {
            let _ = stop.await;
        }));

        let smtp = SmtpServer::start().await;
        let smtp_config: SmtpConfig = toml::from_str(&format!(
            "host = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\
             from = \"Kantor Imigrasi <noreply@imigrasi.go.id>\"\nmessage_id_domain = \"kabar.imigrasi.go.id\"\n\
             timeout_seconds = 5\n",
            smtp.port()
        ))
        .unwrap();
        let delivery = DeliveryConfig { smtp: Some(smtp_config), ..DeliveryConfig::default() };
        delivery.validate().unwrap();
        let mut receipts = ReceiptsConfig::new(base.parse().unwrap());
        receipts.unsubscribe_key = Some("a-test-key-of-more-than-thirty-two-characters".into());
        let worker = Worker::new(
            db.store.clone(),
            Arc::new(Providers::from_config(&delivery).unwrap()),
            Arc::new(Catalogue::builtin()),
            NoticeConfig::default(),
            vec![Channel::Email],
            delivery,
            Some(Arc::new(receipts)),
        )
        .await
        .unwrap();
        let planner =
            PlannerConfig { settle_seconds: 0, channels: vec![Channel::Email], ..PlannerConfig::default() };
        Site { base, http: reqwest::Client::new(), db, smtp, worker, planner, _shutdown: shutdown }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The subscribe form's token on the office page.
    async fn form_token(&self, office: &str) -> String {
        let page = self.http.get(self.url(&format!("/status/{office}?lang=en"))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("action=\"/status/{office}/subscribe\"")), "{html}");
        assert!(html.contains("name=\"lang\" value=\"en\""), "the language is kept: {html}");
        let start =
            html.find("name=\"token\" value=\"").expect("a form token") + "name=\"token\" value=\"".len();
        html[start..].split('"').next().unwrap().to_owned()
    }

    async fn subscribe(
        &self,
        office: &str,
        email: &str,
        token: &str,
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url(&format!("/status/{office}/subscribe"))).form(&[
            ("email", email),
            ("token", token),
            ("lang", "en"),
        ]);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.unwrap()
    }

    /// A state change at Palembang now, then a planner round (applicants and subscribers) and a
    /// worker run until nothing is due. Returns the subscriber updates planned.
    async fn change(&self, service: Service, state: ServiceState) -> u64 {
        let change = StateChange {
            target: "PLG".parse().unwrap(),
            service,
            state,
            reason: Some("Gangguan jaringan".into()),
            until: None,
            actor: "petugas".into(),
            at: Utc::now(),
        };
        set_state(&self.db.store, &change).await.unwrap();
        let now = Utc::now();
        plan_once(&self.db.store, &self.planner, now).await.unwrap();
        let planned = plan_updates(&self.db.store, &self.planner, now).await.unwrap();
        self.worker.drain(Utc::now()).await.unwrap();
        planned
    }

    fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.smtp.mails().into_iter().filter(|mail| mail.to == [address]).collect()
    }
}

fn headers(mail: &ReceivedMail) -> String {
    let text = String::from_utf8_lossy(&mail.data);
    let end = text.find("\r\n\r\n").unwrap_or(text.len());
    text[..end].replace("\r\n ", " ").replace("\r\n\t", " ")
}

fn body_text(mail: &ReceivedMail) -> String {
    let parsed = MessageParser::default().parse(&mail.data).expect("a parsable mail");
    parsed.body_text(0).expect("a text part").into_owned()
}

/// What a reader of `mail` sees: its headers and decoded parts, without what is random in every
/// mail (the Message-ID, the MIME boundary, the tokens in the links), which could spell any digits.
fn without_random_parts(mail: &ReceivedMail) -> String {
    let parsed = MessageParser::default().parse(&mail.data).expect("a parsable mail");
    let mut seen: Vec<String> = headers(mail)
        .lines()
        .filter(|line| {
            let name = line.split(':').next().unwrap_or_default().to_ascii_lowercase();
            name != "message-id" && name != "content-type"
        })
        .map(str::to_owned)
        .collect();
    seen.extend(parsed.body_text(0).map(|text| text.into_owned()));
    seen.extend(parsed.body_html(0).map(|html| html.into_owned()));
    seen.join("\n")
        .split_whitespace()
        .filter(|word| !word.contains("/status/subscriptions/"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first link in `text` under `prefix`.
fn link(text: &str, prefix: &str) -> String {
    let start = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

async fn a_subscriber_confirms_hears_of_a_change_and_leaves_with_one_click(db: TestStore) {
    let site = Site::start(db, SubscriptionsConfig::default()).await;
    let token = site.form_token("PLG").await;
    let answer = site.subscribe("PLG", "Reader@Example.com", &token, Some(&site.base)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let page = answer.text().await.unwrap();
    assert!(page.contains("Check your email"), "{page}");
    assert!(!page.to_lowercase().contains(READER), "the answer does not repeat the address");

    // The confirmation mail goes through the outbox and the SMTP server.
    site.worker.drain(Utc::now()).await.unwrap();
    let confirmation = site.smtp.mail(0).await;
    assert_eq!(confirmation.to, [READER]);
    let confirmation_headers = headers(&confirmation);
    assert!(
        confirmation_headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{confirmation_headers}"
    );
    let text = body_text(&confirmation);
    assert!(text.contains("Kantor Imigrasi Kelas I TPI Palembang"), "{text}");
    assert!(text.contains("WIB"), "the link's expiry in the office's zone: {text}");
    let confirm = link(&text, &site.url("/status/subscriptions/confirm/"));

    // Not confirmed yet: a change is told to the applicant, not to the subscriber.
    assert_eq!(site.change(Service::Printing, ServiceState::Unavailable).await, 0);
    assert_eq!(site.mails_to(READER).len(), 1, "nothing but the confirmation before confirming");
    let applicant = site.mails_to(APPLICANT_EMAIL);
    assert_eq!(applicant.len(), 1, "the applicant's notice: {:?}", site.smtp.mails());

    // Opening the link (as a mail scanner would) only shows a button; pressing it confirms.
    let opened = site.http.get(&confirm).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::OK);
    assert_eq!(opened.headers()["cache-control"], "no-store");
    assert!(opened.text().await.unwrap().contains("<form method=\"post\""));
    let confirmed = site.http.post(&confirm).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert!(confirmed.text().await.unwrap().contains("Subscription active"));

    // The restoration reaches both, each their own mail.
    assert_eq!(site.change(Service::Printing, ServiceState::Operational).await, 1);
    let to_reader = site.mails_to(READER);
    assert_eq!(to_reader.len(), 2);
    let update = &to_reader[1];
    let update_headers = headers(update);
    let unsubscribe_prefix = format!("List-Unsubscribe: <{}", site.url("/status/subscriptions/unsubscribe/"));
    assert!(update_headers.contains(&unsubscribe_prefix), "{update_headers}");
    assert!(update_headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{update_headers}");
    let text = body_text(update);
    assert!(text.contains("Passport printing") || text.contains("printing"), "{text}");
    assert!(text.contains("WIB"), "{text}");
    let readable = without_random_parts(update);
    for personal in ["Ayu", "Lestari", APPLICANT_EMAIL, "PLGX-5501", "5501", "petugas"] {
        assert!(!readable.contains(personal), "{personal} in a subscriber's mail: {readable}");
    }
    assert_eq!(site.mails_to(APPLICANT_EMAIL).len(), 2, "the applicant's restoration notice");
    for mail in site.mails_to(APPLICANT_EMAIL) {
        assert!(!headers(&mail).contains("/status/subscriptions/"), "no subscriber mail to the applicant");
    }
    assert_eq!(site.smtp.mails().len(), 4, "no other mail: {:?}", site.smtp.mails());

    // One click: the header's URL, POSTed as RFC 8058 says, without any login. A GET first
    // changes nothing.
    let start = update_headers.find(&unsubscribe_prefix).unwrap() + "List-Unsubscribe: <".len();
    let unsubscribe = update_headers[start..].split('>').next().unwrap().to_owned();
    assert_eq!(site.http.get(&unsubscribe).send().await.unwrap().status(), StatusCode::OK);
    let left = site
        .http
        .post(&unsubscribe)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), StatusCode::OK);
    assert!(left.text().await.unwrap().contains("unsubscribed"));

    // The next change: the applicant hears, the former subscriber does not.
    assert_eq!(site.change(Service::Printing, ServiceState::Unavailable).await, 0);
    assert_eq!(site.mails_to(READER).len(), 2, "nothing after unsubscribing");
    assert_eq!(site.mails_to(APPLICANT_EMAIL).len(), 3);

    // The address is in no public answer and in no audit row; the audit log has the three steps.
    for path in
        ["/status/PLG", "/status/PLG?lang=en", "/status/PLG/feed.atom", "/status/PLG/api/v2/summary.json"]
    {
        let body = site.http.get(site.url(path)).send().await.unwrap().text().await.unwrap();
        assert!(!body.to_lowercase().contains("reader@"), "{path}");
    }
    let mut audit = Vec::new();
    site.db
        .store
        .audit_records(&Default::default(), |row| {
            audit.push(row);
            Ok(())
        })
        .await
        .unwrap();
    let steps: Vec<&str> = audit
        .iter()
        .map(|row| row.action.as_str())
        .filter(|action| action.starts_with("subscription."))
        .collect();
    assert_eq!(steps, ["subscription.request", "subscription.confirm", "subscription.unsubscribe"]);
    assert!(!format!("{audit:?}").contains("reader@"), "no address in the audit log");
}

async fn the_form_refuses_forgeries_and_limits_requests(db: TestStore) {
    let config = SubscriptionsConfig {
        per_address_per_hour: 2,
        per_client_per_hour: 5,
        ..SubscriptionsConfig::default()
    };
    let site = Site::start(db, config).await;
    let token = site.form_token("PLG").await;
    let other_office = site.form_token("GTO").await;

    // Forgeries: another site's origin, a token made up or for another office, none at all, a
    // cross-site request with an opaque origin. None of them counts against the limits.
    for (token, origin, fetch_site) in [
        (token.as_str(), Some("https://evil.example"), None),
        ("1700000000.00000000000000000000000000000000", Some(site.base.as_str()), None),
        (other_office.as_str(), Some(site.base.as_str()), None),
        ("", Some(site.base.as_str()), None),
        (token.as_str(), Some("null"), Some("cross-site")),
    ] {
        let mut request = site.http.post(site.url("/status/PLG/subscribe")).form(&[
            ("email", READER),
            ("token", token),
            ("lang", "en"),
        ]);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(fetch_site) = fetch_site {
            request = request.header("Sec-Fetch-Site", fetch_site);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{token:?} from {origin:?}");
        assert!(refused.text().await.unwrap().contains("Reload the office page"));
    }
    assert_eq!(
        site.subscribe("PLG", "not an address", &token, Some(&site.base)).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(site.subscribe("XXX", READER, &token, Some(&site.base)).await.status(), StatusCode::NOT_FOUND);

    // A browser's same-origin post whose Origin is opaque (the page's no-referrer policy makes
    // it `null`) passes on its Sec-Fetch-Site.
    let same_site = site
        .http
        .post(site.url("/status/GTO/subscribe"))
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("email", "e@example.com"), ("token", other_office.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), StatusCode::OK);

    // Two per address per hour, five per client (one used above): the third for one address
    // and the sixth from this client are refused with 429 and say when to come back.
    let mut statuses = Vec::new();
    for email in [READER, READER, READER, "b@example.com", "c@example.com"] {
        let answer = site.subscribe("PLG", email, &token, Some(&site.base)).await;
        let status = answer.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(answer.headers()["retry-after"], "3600");
            assert!(answer.text().await.unwrap().contains("Too many requests"));
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 200, 429]);

    // What was accepted queued one confirmation each, nothing else.
    site.worker.drain(Utc::now()).await.unwrap();
    let mut to: Vec<String> = site.smtp.mails().into_iter().flat_map(|mail| mail.to).collect();
    to.sort();
    assert_eq!(to, ["b@example.com", "e@example.com", READER, READER]);
}

crate::http_tests!(
    a_subscriber_confirms_hears_of_a_change_and_leaves_with_one_click,
    the_form_refuses_forgeries_and_limits_requests,
);
