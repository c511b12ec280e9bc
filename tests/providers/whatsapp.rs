//! WhatsApp Cloud API: the template request, the pair limit, and the classification of answers.

use std::sync::Arc;
use std::time::Duration;

use kabar::deliver::providers::http::http_client;
use kabar::deliver::providers::whatsapp::{WhatsappCloud, WhatsappConfig};
use serde_json::json;

use crate::fakes::whatsapp::{self as fake, FakeWhatsapp, ACCESS_TOKEN, API_VERSION, PHONE_NUMBER_ID};
use crate::fakes::Fault;
use crate::support::*;

fn client(config: &WhatsappConfig) -> WhatsappCloud {
    WhatsappCloud::new(config, http_client()).expect("a valid configuration")
}

#[tokio::test]
async fn a_template_message_is_posted_with_a_bearer_token() {
    let fake = FakeWhatsapp::start().await;
    let accepted = client(&fake.config()).send(&whatsapp(9, 1)).await.expect("accepted");

    assert!(accepted.provider_message_id.starts_with("wamid."), "{}", accepted.provider_message_id);
    assert_eq!(accepted.response_code, "200");
    let request = fake.wait_for(1).await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/{API_VERSION}/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(request.header("authorization"), Some(format!("Bearer {ACCESS_TOKEN}").as_str()));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("user-agent"), Some(USER_AGENT));
    assert_eq!(
        request.json(),
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "6281234000001",
            "type": "template",
            "template": {"name": "kabar_appointment_postponed", "language": {"code": "id"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": "Budi Santoso"}, {"type": "text", "text": "Kanim Jakarta Selatan"}]}]},
        })
    );
}

#[tokio::test]
async fn a_template_without_variables_has_no_components() {
    let fake = FakeWhatsapp::start().await;
    let mut message = whatsapp(1, 1);
    if let kabar::render::Rendered::Whatsapp(template) = &mut message.content {
        template.params.clear();
    }
    client(&fake.config()).send(&message).await.expect("accepted");
    let template = &fake.wait_for(1).await.json()["template"];
    assert_eq!(template, &json!({"name": "kabar_appointment_postponed", "language": {"code": "id"}}));
}

#[tokio::test]
async fn configuration_has_defaults_and_is_checked() {
    let config: WhatsappConfig = toml::from_str("phone_number_id = \"1065\"\naccess_token = \"t\"").unwrap();
    assert_eq!(config.base_url.as_str(), "https://graph.facebook.com/");
    assert_eq!((config.api_version.as_str(), config.pair_interval_seconds), ("v21.0", 6));
    let refused = |change: fn(&mut WhatsappConfig)| {
        let mut config = config.clone();
        change(&mut config);
        WhatsappCloud::new(&config, http_client()).unwrap_err().to_string()
    };
    assert!(refused(|c| c.api_version = "21".into()).contains("api_version"));
    assert!(refused(|c| c.phone_number_id = "+62 812".into()).contains("phone_number_id"));
    assert!(refused(|c| c.pair_interval_seconds = 0).contains("pair_interval_seconds"));
}

#[tokio::test]
async fn a_second_message_to_one_recipient_within_the_pair_interval_is_held_back() {
    let fake = FakeWhatsapp::start().await;
    let whatsapp_cloud = client(&fake.config());
    whatsapp_cloud.send(&whatsapp(1, 1)).await.expect("the first is sent");
    let (failure, retry_after) = transient(whatsapp_cloud.send(&whatsapp(2, 1)).await);
    let retry_after = retry_after.expect("the time left");
    assert!(retry_after > Duration::from_secs(5) && retry_after <= Duration::from_secs(6), "{retry_after:?}");
    assert_eq!(failure.code, None);
    assert_eq!(fake.requests().len(), 1, "the second was not sent to Meta");

    whatsapp_cloud.send(&whatsapp(3, 2)).await.expect("another recipient is not held back");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_never_cause_a_pair_rate_limit_error() {
    let fake = FakeWhatsapp::start().await;
    fake.enforce_pair_interval(Duration::from_secs(6));
    let whatsapp_cloud = Arc::new(client(&fake.config()));
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..40 {
        let whatsapp_cloud = whatsapp_cloud.clone();
        // Four messages to each of ten recipients, all at once.
        sends.spawn(async move { whatsapp_cloud.send(&whatsapp(n, (n % 10) as u32)).await });
    }
    let results = sends.join_all().await;
    let accepted = results.iter().filter(|result| result.is_ok()).count();
    let held_back = results.iter().filter(|r| r.as_ref().is_err_and(|f| f.code.is_none())).count();
    assert_eq!((accepted, held_back), (10, 30), "{results:?}");
    assert_eq!(fake.requests().len(), 10);
}

#[tokio::test]
async fn meta_error_codes_are_classified_by_the_table() {
    let fake = FakeWhatsapp::start().await;
    let whatsapp_cloud = client(&fake.config());
    let table = [
        (400, 131026, "permanent"),
        (400, 131047, "permanent"),
        (400, 131049, "permanent"),
        (500, 131000, "transient"),
        (400, 100, "technical"),
        (400, 131008, "technical"),
        (400, 132000, "technical"),
        (404, 132001, "technical"),
        (401, 190, "technical"),
        (400, 131051, "technical"), // unknown to kabar: an operator looks
        (503, 2, "transient"),      // unknown, but a 5xx
    ];
    for (n, (status, code, expected)) in (1..).zip(table) {
        fake.fail_next(fake::error(status, code, "Recipient 6281234000001 said no"));
        // A new recipient each time: the pair limit would hold back a second message to one.
        let failure = failed(whatsapp_cloud.send(&whatsapp(n, n as u32)).await);
        assert_eq!((class(&failure), failure.code.as_deref()), (expected, Some(code.to_string().as_str())));
        assert_clean(&failure);
    }
    assert_eq!(fake.requests().len(), table.len());
}

#[tokio::test]
async fn rate_limits_are_transient_and_a_pair_limit_waits_the_pair_interval() {
    let fake = FakeWhatsapp::start().await;
    let mut config = fake.config();
    config.pair_interval_seconds = 9;
    let whatsapp_cloud = client(&config);
    fake.fail_next(fake::error(429, 130429, "Rate limit hit").retry_after("4"));
    let (failure, retry_after) = transient(whatsapp_cloud.send(&whatsapp(1, 1)).await);
    assert_eq!((failure.code.as_deref(), retry_after), (Some("130429"), Some(Duration::from_secs(4))));

    fake.fail_next(fake::error(400, 131056, "(Business Account, Consumer Account) pair rate limit hit"));
    let (failure, retry_after) = transient(whatsapp_cloud.send(&whatsapp(2, 2)).await);
    assert_eq!((failure.code.as_deref(), retry_after), (Some("131056"), Some(Duration::from_secs(9))));

    fake.fail_next(Fault::status(429).retry_after("11"));
    let (failure, retry_after) = transient(whatsapp_cloud.send(&whatsapp(3, 3)).await);
    assert_eq!((failure.code.as_deref(), retry_after), (Some("429"), Some(Duration::from_secs(11))));

    fake.fail_next(Fault::status(500));
    let (failure, retry_after) = transient(whatsapp_cloud.send(&whatsapp(4, 4)).await);
    assert_eq!((failure.code.as_deref(), retry_after), (Some("500"), None));
}

#[tokio::test]
async fn a_number_without_whatsapp_is_permanent() {
    let fake = FakeWhatsapp::start().await;
    fake.not_on_whatsapp(&digits(7));
    let failure = failed(client(&fake.config()).send(&whatsapp(1, 7)).await);
    assert_eq!((class(&failure), failure.code.as_deref()), ("permanent", Some("131026")));
}

#[tokio::test]
async fn a_wrong_token_is_technical() {
    let fake = FakeWhatsapp::start().await;
    let mut config = fake.config();
    config.access_token = "EAAG-expired".to_owned().into();
    let failure = failed(client(&config).send(&whatsapp(1, 1)).await);
    assert_eq!((class(&failure), failure.code.as_deref()), ("technical", Some("190")));
    assert!(!failure.reason.contains("EAAG"), "{}", failure.reason);
}

#[tokio::test]
async fn a_slow_answer_and_a_reset_connection_are_transient() {
    let fake = FakeWhatsapp::start().await;
    let mut config = fake.config();
    config.timeout_seconds = 1;
    let whatsapp_cloud = client(&config);
    fake.fail_next(Fault::Delay(Duration::from_secs(10)));
    let (failure, _) = transient(whatsapp_cloud.send(&whatsapp(1, 1)).await);
    assert!(failure.reason.contains("no answer within 1 s"), "{}", failure.reason);

    fake.fail_next(Fault::Reset);
    let (failure, _) = transient(whatsapp_cloud.send(&whatsapp(2, 2)).await);
    assert!(failure.reason.starts_with("connection failed"), "{}", failure.reason);
    assert_eq!(fake.requests().len(), 2);
}
