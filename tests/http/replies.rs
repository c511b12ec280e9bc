//! A STOP the provider delivers twice is one opt-out, answered 200 both times: Twilio and WhatsApp,
//! on both engines.

use reqwest::StatusCode;

use crate::harness::TestStore;
use crate::support::{mobile, post_twilio, whatsapp_signature, App, Options};

async fn a_replayed_stop_records_one_reply(db: TestStore) {
    let app = App::start(db, Options { receipts: true, ..Options::default() }).await;
    let stop = [
        ("MessageSid", "SMstop0001"),
        ("AccountSid", "AC0"),
        ("From", "+6281220000001"),
        ("To", "+14155550100"),
        ("Body", "STOP"),
    ];
    for attempt in ["first", "replayed"] {
        let response = post_twilio(&app, "/twilio/inbound", &stop).await;
        assert_eq!(response.status(), StatusCode::OK, "{attempt}");
        assert!(response.text().await.unwrap().contains("<Response></Response>"), "{attempt}");
    }
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "messages":[{"from":"6281220000002","id":"wamid.stop0002","timestamp":"1718852404","type":"text","text":{"body":"Berhenti"}}]}}]}]}"#;
    for attempt in ["first", "replayed"] {
        let response = app
            .http
            .post(app.url("/whatsapp/webhook"))
            .header("X-Hub-Signature-256", whatsapp_signature(body))
            .header("Content-Type", "application/json")
            .body(&body[..])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{attempt}");
    }
    let rows = |id: &str| format!("SELECT COUNT(*) FROM inbound_replies WHERE provider_message_id = '{id}'");
    assert_eq!(app.count(&rows("SMstop0001")).await, 1);
    assert_eq!(app.count(&rows("wamid.stop0002")).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM inbound_replies").await, 2);
    let ayu = app.db.store.applicant(&mobile(1)).await.unwrap().unwrap();
    assert!(ayu.sms_opted_out && !ayu.whatsapp_opted_out);
    let bayu = app.db.store.applicant(&mobile(2)).await.unwrap().unwrap();
    assert!(bayu.whatsapp_opted_out && !bayu.sms_opted_out);
    // Another STOP from Ayu (a new message id) is recorded: it is not a replay.
    let again = [("MessageSid", "SMstop0003"), ("From", "+6281220000001"), ("Body", "stop")];
    assert_eq!(post_twilio(&app, "/twilio/inbound", &again).await.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM inbound_replies").await, 3);
    app.stop().await;
}

crate::http_tests!(a_replayed_stop_records_one_reply);
