//! `/metrics`: Prometheus text with the store's gauges, the receipts counters, the SMS breakers,
//! and the optional token.

use std::time::Instant;

use chrono::Utc;
use kabar::deliver::providers::failover::{FailoverConfig, Member, Outcome, SmsRouter};
use kabar::domain::Service;
use prometheus_parse::{LineInfo, Sample, Scrape, Value};
use reqwest::StatusCode;

use crate::harness::TestStore;
use crate::support::{at, change, post_twilio, App, Options, PLANNED_AT, SETTLE_SECONDS};

/// Parses a scrape, refusing any line that is neither a comment nor a sample.
pub fn parse(text: &str) -> Vec<Sample> {
    for line in text.lines() {
        assert!(!matches!(LineInfo::parse(line), LineInfo::Ignored), "not Prometheus text: {line:?}");
    }
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap().samples
}

/// The value of the one sample of `name` with exactly these labels.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|sample| {
            sample.metric == name
                && sample.labels.len() == labels.len()
                && labels.iter().all(|(key, value)| sample.labels.get(key) == Some(value))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name}{labels:?} in {samples:#?}");
    match found[0].value {
        Value::Gauge(value) | Value::Counter(value) | Value::Untyped(value) => value,
        ref other => panic!("{name} is {other:?}"),
    }
}

async fn scrape(app: &App) -> Vec<Sample> {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    parse(&response.text().await.unwrap())
}

async fn the_queue_gauges_count_what_was_planned(db: TestStore) {
    let app = App::start(db, Options::default()).await;
    // Bayu's message was claimed by a worker that stopped: its lease ran out 30 s after planning.
    let planned = at(PLANNED_AT).timestamp();
    app.sql(&format!(
        "UPDATE messages SET status = 'sending', not_before = {} WHERE id = {}",
        planned + 30,
        app.message(2)
    ))
    .await;
    // A change that has settled and that nobody planned.
    let unplanned = "2024-06-20T04:00:00Z";
    change(&app.db.store, Service::Biometrics, unplanned).await;

    let before = Utc::now().timestamp();
    let samples = scrape(&app).await;
    let after = Utc::now().timestamp();
    let queue = |status: &str, channel: &str| {
        value(&samples, "kabar_queue_messages", &[("status", status), ("channel", channel)])
    };
    // Ayu and Cici by WhatsApp, Dedi by email (he refused the others); Bayu's is being sent.
    assert_eq!(queue("queued", "whatsapp"), 2.0);
    assert_eq!(queue("queued", "email"), 1.0);
    assert_eq!(queue("queued", "sms"), 0.0);
    assert_eq!(queue("sending", "whatsapp"), 1.0);
    assert_eq!(queue("sending", "sms"), 0.0);
    assert_eq!(value(&samples, "kabar_queue_due_messages", &[]), 3.0);
    assert_eq!(value(&samples, "kabar_queue_expired_leases", &[]), 1.0);
    assert_eq!(value(&samples, "kabar_store_up", &[]), 1.0);
    let oldest_due = value(&samples, "kabar_queue_oldest_due_seconds", &[]);
    assert!(((before - planned) as f64..=(after - planned) as f64).contains(&oldest_due), "{oldest_due}");
    let lag = value(&samples, "kabar_planner_lag_seconds", &[]);
    let settled = at(unplanned).timestamp() + SETTLE_SECONDS as i64;
    assert!(((before - settled) as f64..=(after - settled) as f64).contains(&lag), "{lag}");

    // Once every message has left and nothing waits to be planned, the gauges are 0, not absent.
    app.sql("UPDATE messages SET status = 'sent'").await;
    app.sql("UPDATE service_states SET notified_state = state").await;
    let samples = scrape(&app).await;
    assert_eq!(queue_of(&samples, "queued", "whatsapp"), 0.0);
    assert_eq!(value(&samples, "kabar_queue_oldest_due_seconds", &[]), 0.0);
    assert_eq!(value(&samples, "kabar_planner_lag_seconds", &[]), 0.0);
    app.stop().await;
}

fn queue_of(samples: &[Sample], status: &str, channel: &str) -> f64 {
    value(samples, "kabar_queue_messages", &[("status", status), ("channel", channel)])
}

crate::http_tests!(the_queue_gauges_count_what_was_planned);

#[tokio::test]
async fn the_metrics_token_guards_metrics_only() {
    let app = App::start(
        TestStore::sqlite().await,
        Options { metrics_token: Some("s3cret-metrics-token"), ..Options::default() },
    )
    .await;
    let url = app.url("/metrics");
    let missing = app.http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(missing.headers()["content-type"], "application/problem+json");
    for wrong in ["Bearer s3cret-metrics-toke", "Bearer ", "s3cret-metrics-token", "Basic czNjcmV0"] {
        let response = app.http.get(&url).header("Authorization", wrong).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
    let right = app.http.get(&url).bearer_auth("s3cret-metrics-token").send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("kabar_queue_messages"));
    for open in ["/healthz", "/readyz"] {
        assert_eq!(app.get(open).await.status(), StatusCode::OK, "{open} needs no token");
    }
    app.stop().await;
}

/// The only test that posts Twilio receipts that apply, so the counter's rise is this test's.
#[tokio::test]
async fn receipts_are_counted_by_provider_and_result() {
    let app = App::start(TestStore::sqlite().await, Options { receipts: true, ..Options::default() }).await;
    app.sql(&format!(
        "UPDATE messages SET status = 'sent', provider = 'twilio', provider_message_id = 'SMcounted' WHERE id = {}",
        app.message(1)
    ))
    .await;
    let applied = |samples: &[Sample]| {
        samples
            .iter()
            .find(|s| {
                s.metric == "kabar_receipts_total"
                    && s.labels.get("provider") == Some("twilio")
                    && s.labels.get("result") == Some("applied")
            })
            .map_or(0.0, |s| match s.value {
                Value::Counter(value) => value,
                ref other => panic!("{other:?}"),
            })
    };
    let before = applied(&scrape(&app).await);
    let delivered = [("MessageSid", "SMcounted"), ("MessageStatus", "delivered")];
    assert_eq!(post_twilio(&app, "/twilio/status", &delivered).await.status(), StatusCode::OK);
    let unsigned = app.http.post(app.url("/twilio/status")).form(&delivered).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let samples = scrape(&app).await;
    assert_eq!(applied(&samples) - before, 1.0);
    let refused = value(
        &samples,
        "kabar_webhooks_refused_total",
        &[("provider", "twilio"), ("reason", "unauthorized")],
    );
    assert!(refused >= 1.0, "{refused}");
    app.stop().await;
}

#[tokio::test]
async fn each_sms_breaker_is_a_gauge() {
    let app = App::start(TestStore::sqlite().await, Options::default()).await;
    // Provider names of this test only: the recorder is the process's.
    let members = vec![Member::new("gauge-test-primary", 1), Member::new("gauge-test-standby", 1)];
    let config = FailoverConfig { breaker_failures: 2, ..FailoverConfig::default() };
    let router = SmsRouter::with_seed(members, config, 7).unwrap();
    let breaker = |samples: &[Sample], provider: &str| {
        value(samples, "kabar_sms_breaker_state", &[("provider", provider)])
    };
    let samples = scrape(&app).await;
    assert_eq!(breaker(&samples, "gauge-test-primary"), 0.0, "closed");
    let now = Instant::now();
    router.record(0, Outcome::Failure, now);
    router.record(0, Outcome::Failure, now);
    let samples = scrape(&app).await;
    assert_eq!(breaker(&samples, "gauge-test-primary"), 2.0, "open");
    assert_eq!(breaker(&samples, "gauge-test-standby"), 0.0);
    // After the cool-down the next choice is the primary's trial: half-open.
    let later = now + std::time::Duration::from_secs(FailoverConfig::default().breaker_cooldown_seconds);
    assert_eq!(router.choose(later), 0);
    assert_eq!(breaker(&scrape(&app).await, "gauge-test-primary"), 1.0, "half-open");
    router.record(0, Outcome::Success, later);
    assert_eq!(breaker(&scrape(&app).await, "gauge-test-primary"), 0.0, "closed again");
    app.stop().await;
}
