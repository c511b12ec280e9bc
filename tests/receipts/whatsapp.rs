//! The WhatsApp Cloud API webhook over real HTTP.

use kabar::domain::Channel;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{whatsapp_signature, Server, VERIFY_TOKEN, WHATSAPP_SECRET};

const ORDER: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

async fn post(server: &Server, body: &[u8], signature: Option<String>) -> reqwest::Response {
    let mut request = server.http.post(server.url("/whatsapp/webhook")).body(body.to_vec());
    request = request.header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    request.send().await.unwrap()
}

async fn signed(server: &Server, body: &serde_json::Value) -> StatusCode {
    let body = serde_json::to_vec(body).unwrap();
    post(server, &body, Some(whatsapp_signature(WHATSAPP_SECRET, &body))).await.status()
}

/// A change notification with `value`'s statuses or messages.
fn notification(value: serde_json::Value) -> serde_json::Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "15550783881", "phone_number_id": "106540352242922"});
    json!({"object": "whatsapp_business_account",
           "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]})
}

fn status(id: &str, status: &str, timestamp: u32) -> serde_json::Value {
    notification(json!({"statuses": [{"id": id, "status": status, "timestamp": timestamp.to_string(),
                                      "recipient_id": "6281220000001"}]}))
}

#[tokio::test]
async fn the_verification_handshake() {
    let server = Server::start(&ORDER).await;
    let handshake = |token: &str, mode: &str| {
        server
            .http
            .get(server.url("/whatsapp/webhook"))
            .query(&[("hub.mode", mode), ("hub.verify_token", token), ("hub.challenge", "1158201444")])
            .send()
    };
    let ok = handshake(VERIFY_TOKEN, "subscribe").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(handshake("guess", "subscribe").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(handshake(VERIFY_TOKEN, "other").await.unwrap().status(), StatusCode::FORBIDDEN);
    let bare = server.http.get(server.url("/whatsapp/webhook")).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn statuses_move_forward_and_read_implies_delivered() {
    let server = Server::start(&ORDER).await;
    let (ayu, bayu) = (server.message(1), server.message(2));
    server.accepted(ayu, "whatsapp", "wamid.AYU").await;
    server.accepted(bayu, "whatsapp", "wamid.BAYU").await;

    assert_eq!(signed(&server, &status("wamid.AYU", "delivered", 1_718_852_500)).await, StatusCode::OK);
    assert_eq!(signed(&server, &status("wamid.AYU", "sent", 1_718_852_400)).await, StatusCode::OK);
    assert_eq!(
        server.state(ayu).await,
        ("whatsapp".into(), "delivered".into()),
        "a late sent changes nothing"
    );
    assert_eq!(signed(&server, &status("wamid.BAYU", "read", 1_718_852_600)).await, StatusCode::OK);
    assert_eq!(server.state(bayu).await, ("whatsapp".into(), "read".into()));
    assert_eq!(signed(&server, &status("wamid.UNKNOWN", "read", 1_718_852_600)).await, StatusCode::OK);
}

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_and_change_nothing() {
    let server = Server::start(&ORDER).await;
    let ayu = server.message(1);
    server.accepted(ayu, "whatsapp", "wamid.AYU").await;
    let body = serde_json::to_vec(&status("wamid.AYU", "delivered", 1_718_852_500)).unwrap();
    let other = serde_json::to_vec(&status("wamid.AYU", "sent", 1_718_852_500)).unwrap();

    let cases = [
        ("missing", None),
        ("wrong secret", Some(whatsapp_signature("not-the-secret", &body))),
        ("another body", Some(whatsapp_signature(WHATSAPP_SECRET, &other))),
        ("no prefix", Some(whatsapp_signature(WHATSAPP_SECRET, &body).replace("sha256=", ""))),
        ("sha1", Some(whatsapp_signature(WHATSAPP_SECRET, &body).replace("sha256=", "sha1="))),
    ];
    for (what, signature) in cases {
        assert_eq!(post(&server, &body, signature).await.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
    assert_eq!(server.state(ayu).await, ("whatsapp".into(), "sent".into()), "nothing changed");

    // PROVIDERS.md's second vector, byte for byte.
    let vector = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let header = "sha256=09eceea024af6e6343b760cc9bd3ae7c056938dd636e24e92109eb8219500384";
    assert_eq!(post(&server, vector, Some(header.into())).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let server = Server::start(&ORDER).await;
    for body in [&b"{not json"[..], br#"{"object":"page","entry":[]}"#, br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"status":"read"}]}}]}]}"#] {
        let response = post(&server, body, Some(whatsapp_signature(WHATSAPP_SECRET, body))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(body));
    }
}

#[tokio::test]
async fn a_user_not_on_whatsapp_gets_the_message_by_sms() {
    let server = Server::start(&ORDER).await;
    let (ayu, bayu) = (server.message(1), server.message(2));
    server.accepted(ayu, "whatsapp", "wamid.AYU").await;
    server.accepted(bayu, "whatsapp", "wamid.BAYU").await;
    let failed = |id: &str, code: u32| {
        notification(json!({"statuses": [{"id": id, "status": "failed", "timestamp": "1718852500",
            "recipient_id": "6281220000001",
            "errors": [{"code": code, "title": "Message undeliverable", "message": "Message undeliverable",
                        "error_data": {"details": "…"}}]}]}))
    };
    assert_eq!(signed(&server, &failed("wamid.AYU", 131_026)).await, StatusCode::OK);
    assert_eq!(signed(&server, &failed("wamid.BAYU", 131_000)).await, StatusCode::OK);
    assert_eq!(server.state(ayu).await, ("sms".into(), "queued".into()), "131026 is permanent");
    assert_eq!(server.state(bayu).await, ("whatsapp".into(), "failed".into()), "131000 is temporary");
}

#[tokio::test]
async fn stop_by_whatsapp_opts_out_of_whatsapp() {
    let server = Server::start(&ORDER).await;
    let inbound = |from: &str, body: &str| {
        notification(json!({
            "contacts": [{"profile": {"name": "Pemohon"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.IN{from}"), "timestamp": "1718852500", "type": "text",
                          "text": {"body": body}}]}))
    };
    let body = serde_json::to_vec(&inbound("6281220000001", "STOP")).unwrap();
    let forged = post(&server, &body, Some(whatsapp_signature("forger", &body))).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.opted_out(1).await, (false, false, false));

    assert_eq!(signed(&server, &inbound("6281220000001", "Stop")).await, StatusCode::OK);
    // Cici's WhatsApp number is 0033, not her mobile.
    assert_eq!(signed(&server, &inbound("6281220000033", "BERHENTI")).await, StatusCode::OK);
    assert_eq!(signed(&server, &inbound("6281220000002", "kapan paspor saya jadi?")).await, StatusCode::OK);

    assert_eq!(server.opted_out(1).await, (true, false, false));
    assert_eq!(server.opted_out(3).await, (true, false, false));
    assert_eq!(server.opted_out(2).await, (false, false, false));
    assert_eq!(server.state(server.message(1)).await, ("sms".into(), "queued".into()));
    assert_eq!(server.state(server.message(3)).await, ("sms".into(), "queued".into()));
    assert_eq!(server.state(server.message(2)).await, ("whatsapp".into(), "queued".into()));
}
