//! Twilio: the Messages API request, and the classification of its answers.

use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use kabar::deliver::providers::http::http_client;
use kabar::deliver::providers::twilio::{Twilio, TwilioConfig};
use kabar::deliver::FailureKind;

use crate::fakes::twilio::{self as fake, FakeTwilio, ACCOUNT_SID, AUTH_TOKEN, FROM};
use crate::fakes::Fault;
use crate::support::*;

fn client(config: &TwilioConfig) -> Twilio {
    Twilio::new(config, http_client()).expect("a valid configuration")
}

#[tokio::test]
async fn an_sms_is_posted_as_a_form_with_basic_auth() {
    let fake = FakeTwilio::start().await;
    let mut config = fake.config();
    config.status_callback = Some("https://kabar.example.go.id/receipts/twilio".parse().unwrap());
    let accepted = client(&config).send(&sms(7, 1)).await.expect("accepted");

    let sid = &accepted.provider_message_id;
    assert!(sid.len() == 34 && sid.starts_with("SM"), "{sid}");
    assert_eq!(accepted.response_code, "201");
    let request = fake.wait_for(1).await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"));
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    assert_eq!(request.header("authorization"), Some(format!("Basic {credentials}").as_str()));
    assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(request.header("user-agent"), Some(USER_AGENT));
    let mut form = request.form();
    form.sort();
    let expected = [
        ("Body", SMS_TEXT),
        ("From", FROM),
        ("StatusCallback", "https://kabar.example.go.id/receipts/twilio"),
        ("To", "+6281234000001"),
    ];
    assert_eq!(form, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_messaging_service_replaces_from() {
    let fake = FakeTwilio::start().await;
    let mut config = fake.config();
    config.from = None;
    config.messaging_service_sid = Some("MG0123456789abcdef0123456789abcdef".to_owned());
    client(&config).send(&sms(1, 1)).await.expect("accepted");
    let request = fake.wait_for(1).await;
    assert_eq!(request.field("MessagingServiceSid").as_deref(), Some("MG0123456789abcdef0123456789abcdef"));
    assert_eq!(request.field("From"), None);
    assert_eq!(request.field("StatusCallback"), None);
}

#[tokio::test]
async fn configuration_is_checked_when_the_client_is_built() {
    let fake = FakeTwilio::start().await;
    let refused = |change: fn(&mut TwilioConfig)| {
        let mut config = fake.config();
        change(&mut config);
        Twilio::new(&config, http_client()).unwrap_err().to_string()
    };
    let both = refused(|c| c.messaging_service_sid = Some("MG0123456789abcdef0123456789abcdef".into()));
    assert!(both.contains("exactly one of from and messaging_service_sid"), "{both}");
    assert!(refused(|c| c.from = None).contains("exactly one"));
    assert!(refused(|c| c.account_sid = "AC123".into()).contains("account_sid"));
    assert!(refused(|c| c.status_callback = Some("https://my_host.example/cb".parse().unwrap()))
        .contains("underscore"));
    assert!(refused(|c| c.timeout_seconds = 0).contains("timeout_seconds"));

    let unknown = toml::from_str::<TwilioConfig>("account_sid = \"AC\"\nauth_token = \"x\"\nfromm = \"+1\"");
    assert!(unknown.unwrap_err().to_string().contains("fromm"));
    let defaults: TwilioConfig = toml::from_str("account_sid = \"AC\"\nauth_token = \"x\"").unwrap();
    assert_eq!(defaults.base_url.as_str(), "https://api.twilio.com/");
    assert_eq!(defaults.timeout_seconds, 10);
    assert!(!format!("{defaults:?}").contains("\"x\""), "the token shows in Debug");
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let fake = FakeTwilio::start().await;
    fake.fail_next(Fault::status(500));
    let (failure, retry_after) = transient(client(&fake.config()).send(&sms(1, 1)).await);
    assert_eq!((failure.code.as_deref(), retry_after), (Some("500"), None));
}

#[tokio::test]
async fn too_many_requests_honours_retry_after_in_seconds_and_as_a_date() {
    let fake = FakeTwilio::start().await;
    let twilio = client(&fake.config());
    fake.fail_next(fake::error(429, 20429, "Too Many Requests").retry_after("7"));
    let (failure, retry_after) = transient(twilio.send(&sms(1, 1)).await);
    assert_eq!((failure.code.as_deref(), retry_after), (Some("20429"), Some(Duration::from_secs(7))));

    let in_a_minute = SystemTime::now() + Duration::from_secs(60);
    let date = chrono::DateTime::<chrono::Utc>::from(in_a_minute).format("%a, %d %b %Y %H:%M:%S GMT");
    fake.fail_next(Fault::status(429).retry_after(&date.to_string()));
    let (failure, retry_after) = transient(twilio.send(&sms(2, 1)).await);
    assert_eq!(failure.code.as_deref(), Some("429"));
    let retry_after = retry_after.expect("a Retry-After date");
    assert!((Duration::from_secs(57)..=Duration::from_secs(60)).contains(&retry_after), "{retry_after:?}");
}

#[tokio::test]
async fn an_unsubscribed_recipient_is_an_opt_out() {
    let fake = FakeTwilio::start().await;
    fake.unsubscribe("+6281234000003");
    let twilio = client(&fake.config());
    let failure = failed(twilio.send(&sms(1, 3)).await);
    assert_eq!(failure.kind, FailureKind::Permanent { opted_out: true });
    assert_eq!(failure.code.as_deref(), Some("21610"));
    assert_clean(&failure);
    twilio.send(&sms(2, 4)).await.expect("another number still works");
}

#[tokio::test]
async fn error_codes_are_classified_by_the_table() {
    let fake = FakeTwilio::start().await;
    let twilio = client(&fake.config());
    let table = [
        (400, 21211, "permanent"),
        (400, 21612, "permanent"),
        (400, 21614, "permanent"),
        (400, 30003, "permanent"),
        (400, 30008, "permanent"),
        (400, 21610, "opted_out"),
        (429, 20429, "transient"),
        (401, 20003, "technical"),
        (400, 21408, "technical"),
        (400, 21608, "technical"),
        (400, 21617, "technical"),
        (400, 21606, "technical"), // unknown to kabar: an operator looks
        (503, 20500, "transient"), // unknown, but a 5xx
    ];
    for (n, (status, code, expected)) in (1..).zip(table) {
        // Twilio's own messages quote the number; the reason must not.
        fake.fail_next(fake::error(status, code, "The 'To' number +6281234000001 is not valid."));
        let failure = failed(twilio.send(&sms(n, 1)).await);
        assert_eq!((class(&failure), failure.code.as_deref()), (expected, Some(code.to_string().as_str())));
        assert_clean(&failure);
    }
    assert_eq!(fake.requests().len(), table.len());
}

#[tokio::test]
async fn wrong_credentials_are_technical() {
    let fake = FakeTwilio::start().await;
    let mut config = fake.config();
    config.auth_token = "not-the-token".to_owned().into();
    let failure = failed(client(&config).send(&sms(1, 1)).await);
    assert_eq!((class(&failure), failure.code.as_deref()), ("technical", Some("20003")));
    assert!(!failure.reason.contains("not-the-token"), "{}", failure.reason);
}

#[tokio::test]
async fn a_slow_answer_past_the_timeout_is_transient() {
    let fake = FakeTwilio::start().await;
    let mut config = fake.config();
    config.timeout_seconds = 1;
    fake.fail_next(Fault::Delay(Duration::from_secs(10)));
    let started = Instant::now();
    let (failure, _) = transient(client(&config).send(&sms(1, 1)).await);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(failure.reason.contains("no answer within 1 s"), "{}", failure.reason);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_reset_connection_and_a_refused_one_are_transient() {
    let fake = FakeTwilio::start().await;
    fake.fail_next(Fault::Reset);
    let (failure, retry_after) = transient(client(&fake.config()).send(&sms(1, 1)).await);
    assert_eq!((failure.code, retry_after), (None, None));
    assert!(failure.reason.starts_with("connection failed"), "{}", failure.reason);
    assert_eq!(fake.requests().len(), 1, "the request reached the fake before the reset");

    let mut config = fake.config();
    config.base_url = closed_port().await;
    let (failure, _) = transient(client(&config).send(&sms(2, 1)).await);
    assert!(failure.reason.starts_with("could not connect"), "{}", failure.reason);
}

#[tokio::test]
async fn a_message_for_another_channel_is_a_technical_failure_and_not_sent() {
    let fake = FakeTwilio::start().await;
    let failure = failed(client(&fake.config()).send(&whatsapp(1, 1)).await);
    assert_eq!(class(&failure), "technical");
    assert!(failure.reason.contains("not a WhatsApp template"), "{}", failure.reason);
    assert!(fake.requests().is_empty());
}
