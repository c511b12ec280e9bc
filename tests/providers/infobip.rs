//! Infobip: the `sms/2/text/advanced` request, and the classification of its answers.

use std::time::Duration;

use kabar::deliver::providers::http::http_client;
use kabar::deliver::providers::infobip::{Infobip, InfobipConfig};
use serde_json::json;

use crate::fakes::infobip::{self as fake, FakeInfobip, API_KEY, SENDER};
use crate::fakes::Fault;
use crate::support::*;

fn client(config: &InfobipConfig) -> Infobip {
    Infobip::new(config, http_client()).expect("a valid configuration")
}

#[tokio::test]
async fn an_sms_is_posted_as_json_with_kabars_id() {
    let fake = FakeInfobip::start().await;
    let mut config = fake.config();
    config.notify_url = Some("https://kabar.example.go.id/receipts/infobip".parse().unwrap());
    let accepted = client(&config).send(&sms(42, 1)).await.expect("accepted");

    // Infobip echoes the caller's messageId: delivery reports carry it too.
    assert_eq!(accepted.provider_message_id, "kabar-42");
    assert_eq!(accepted.response_code, "200");
    let request = fake.wait_for(1).await;
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/sms/2/text/advanced"));
    assert_eq!(request.header("authorization"), Some(format!("App {API_KEY}").as_str()));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("user-agent"), Some(USER_AGENT));
    assert_eq!(
        request.json(),
        json!({"messages": [{
            "from": SENDER,
            "destinations": [{"to": "6281234000001", "messageId": "kabar-42"}],
            "text": SMS_TEXT,
            "notifyUrl": "https://kabar.example.go.id/receipts/infobip",
            "notifyContentType": "application/json",
            "callbackData": "42",
        }]})
    );
}

#[tokio::test]
async fn without_a_notify_url_no_reports_are_asked_for() {
    let fake = FakeInfobip::start().await;
    client(&fake.config()).send(&sms(1, 1)).await.expect("accepted");
    let message = &fake.wait_for(1).await.json()["messages"][0];
    assert!(message.get("notifyUrl").is_none() && message.get("notifyContentType").is_none(), "{message}");
}

#[tokio::test]
async fn configuration_is_checked() {
    let missing = toml::from_str::<InfobipConfig>("api_key = \"k\"\nsender = \"IMIGRASI\"").unwrap_err();
    assert!(missing.to_string().contains("base_url"), "{missing}");
    let fake = FakeInfobip::start().await;
    let mut config = fake.config();
    config.sender = " ".into();
    assert!(Infobip::new(&config, http_client()).unwrap_err().to_string().contains("sender"));
    let mut config = fake.config();
    config.api_key = "two words".to_owned().into();
    assert!(Infobip::new(&config, http_client()).unwrap_err().to_string().contains("api_key"));
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_transient() {
    let fake = FakeInfobip::start().await;
    let infobip = client(&fake.config());
    fake.fail_next(Fault::status(502));
    let (failure, retry_after) = transient(infobip.send(&sms(1, 1)).await);
    assert_eq!((failure.code.as_deref(), retry_after), (Some("502"), None));

    fake.fail_next(fake::error(500, "GENERAL_ERROR", "Something went wrong. Please contact support."));
    let (failure, _) = transient(infobip.send(&sms(2, 1)).await);
    assert_eq!(failure.code.as_deref(), Some("GENERAL_ERROR"));

    fake.fail_next(fake::error(429, "TOO_MANY_REQUESTS", "Too many requests").retry_after("3"));
    let (failure, retry_after) = transient(infobip.send(&sms(3, 1)).await);
    assert_eq!(
        (failure.code.as_deref(), retry_after),
        (Some("TOO_MANY_REQUESTS"), Some(Duration::from_secs(3)))
    );
}

#[tokio::test]
async fn a_rejected_destination_is_permanent() {
    let fake = FakeInfobip::start().await;
    fake.reject("6281234000005");
    let infobip = client(&fake.config());
    let failure = failed(infobip.send(&sms(1, 5)).await);
    assert_eq!((class(&failure), failure.code.as_deref()), ("permanent", Some("52")));
    assert!(failure.reason.contains("REJECTED_DESTINATION"), "{}", failure.reason);
    assert_clean(&failure);
    infobip.send(&sms(2, 6)).await.expect("another number still works");
}

#[tokio::test]
async fn rejections_about_the_account_are_technical_and_a_system_error_is_retried() {
    let fake = FakeInfobip::start().await;
    let infobip = client(&fake.config());
    let table = [
        (fake::status(5, 12, "REJECTED_NOT_ENOUGH_CREDITS"), "technical", "12"),
        (fake::status(5, 11, "REJECTED_SOURCE"), "technical", "11"),
        (fake::status(5, 21, "REJECTED_SYSTEM_ERROR"), "transient", "21"),
        (fake::status(5, 10, "REJECTED_DND"), "permanent", "10"),
        (fake::status(2, 9, "UNDELIVERABLE_NOT_DELIVERED"), "permanent", "9"),
    ];
    for (n, (fault, expected, code)) in (1..).zip(table) {
        fake.fail_next(fault);
        let failure = failed(infobip.send(&sms(n, 1)).await);
        assert_eq!((class(&failure), failure.code.as_deref()), (expected, Some(code)), "{}", failure.reason);
    }
}

#[tokio::test]
async fn bad_requests_and_wrong_keys_are_technical() {
    let fake = FakeInfobip::start().await;
    let infobip = client(&fake.config());
    fake.fail_next(Fault::json(
        400,
        json!({"requestError": {"serviceException": {"messageId": "BAD_REQUEST", "text": "Bad request",
            "validationErrors": {"messages[0].text": ["invalid text: Kanim Jakarta Selatan: layanan paspor"]}}}}),
    ));
    let failure = failed(infobip.send(&sms(1, 1)).await);
    assert_eq!((class(&failure), failure.code.as_deref()), ("technical", Some("BAD_REQUEST")));
    assert!(failure.reason.contains("messages[0].text"), "{}", failure.reason);
    assert_clean(&failure);

    let mut config = fake.config();
    config.api_key = "wrong-key".to_owned().into();
    let failure = failed(client(&config).send(&sms(2, 1)).await);
    assert_eq!((class(&failure), failure.code.as_deref()), ("technical", Some("UNAUTHORIZED")));
}

#[tokio::test]
async fn a_slow_answer_and_a_reset_connection_are_transient() {
    let fake = FakeInfobip::start().await;
    let mut config = fake.config();
    config.timeout_seconds = 1;
    let infobip = client(&config);
    fake.fail_next(Fault::Delay(Duration::from_secs(10)));
    let (failure, _) = transient(infobip.send(&sms(1, 1)).await);
    assert!(failure.reason.contains("no answer within 1 s"), "{}", failure.reason);

    fake.fail_next(Fault::Reset);
    let (failure, _) = transient(infobip.send(&sms(2, 1)).await);
    assert!(failure.reason.starts_with("connection failed"), "{}", failure.reason);
    assert_eq!(fake.requests().len(), 2);
}
