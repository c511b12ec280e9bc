//! What a provider sends cannot forge log lines: a signed Twilio callback whose `MessageSid`
//! holds CR/LF is logged on one line, in the text format and in the JSON format.

use kabar::observe::logging::{subscriber, LogFormat};
use kabar::observe::Untrusted;
use reqwest::StatusCode;

use crate::harness::TestStore;
use crate::log_capture::{capture, Captured};
use crate::support::{post_twilio, App, Options};

/// A log line's worth of text, as a forger would write it, after the id.
const FORGED: &str = "SM1\r\n2024-06-20T03:00:00.000000Z  INFO kabar::receipts::server: opt-out by reply provider=\"twilio\" matched=true";

/// Posts a failed status callback and a STOP (twice), each with [`FORGED`] as its `MessageSid`,
/// and returns what was logged. The test runtime is single-threaded, so the server's tasks run
/// on this thread, under this thread's subscriber.
async fn log_of_forged_webhooks(format: LogFormat) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let _guard = capture(subscriber("info", format, move || writer.clone()));
    let app = App::start(TestStore::sqlite().await, Options { receipts: true, ..Options::default() }).await;
    let status = [("MessageSid", FORGED), ("MessageStatus", "undelivered"), ("ErrorCode", "30008\nX")];
    assert_eq!(post_twilio(&app, "/twilio/status", &status).await.status(), StatusCode::OK);
    let stop = [("MessageSid", FORGED), ("From", "+6281220000001"), ("Body", "STOP")];
    for _ in 0..2 {
        assert_eq!(post_twilio(&app, "/twilio/inbound", &stop).await.status(), StatusCode::OK);
    }
    app.stop().await;
    captured.text()
}

#[tokio::test]
async fn a_message_sid_with_cr_lf_stays_on_its_line() {
    let text = log_of_forged_webhooks(LogFormat::Text).await;
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines {
        assert!(!line.starts_with("2024-06-20T03:00:00.000000Z"), "a forged line:\n{text}");
    }
    let escaped = Untrusted(FORGED).to_string();
    assert!(escaped.contains(r"SM1\r\n2024-06-20T03:00:00.000000Z"), "{escaped}");
    let failed: Vec<&&str> = lines.iter().filter(|line| line.contains("delivery failed")).collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert!(failed[0].contains(&format!("id={escaped}")) && failed[0].contains(r"code=30008\nX"), "{text}");
    // The request span names the route, never the path it was called with.
    assert!(failed[0].contains("route=/twilio/status"), "{text}");
    let replies: Vec<&&str> = lines.iter().filter(|line| line.contains("route=/twilio/inbound")).collect();
    assert_eq!(replies.len(), 2, "{text}");
    assert!(replies[0].contains("opt-out by reply") && replies[0].contains("from=+62812****0001"), "{text}");
    assert!(replies[1].contains("delivered again; already recorded"), "{text}");
    assert!(!text.contains("+6281220000001"), "no full number in the log:\n{text}");
}

#[tokio::test]
async fn json_lines_keep_the_value_escaped_and_parse() {
    let text = log_of_forged_webhooks(LogFormat::Json).await;
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let failed: Vec<_> =
        events.iter().filter(|event| event["fields"]["message"] == "delivery failed").collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert_eq!(failed[0]["fields"]["id"], Untrusted(FORGED).to_string());
    assert_eq!(failed[0]["level"], "INFO");
    assert_eq!(failed[0]["spans"][0]["route"], "/twilio/status");
    assert!(failed[0]["spans"][0]["request_id"].as_str().is_some_and(|id| id.len() == 36), "{text}");
}
