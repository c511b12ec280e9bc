//! Infobip delivery reports over real HTTP, behind the secret of the `notifyUrl`.

use kabar::domain::Channel;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Server, INFOBIP_SECRET};

const SMS_FIRST: [Channel; 3] = [Channel::Sms, Channel::Whatsapp, Channel::Email];

fn report(message_id: &str, group: u32, status_id: u32, permanent: bool) -> serde_json::Value {
    json!({
        "bulkId": "bulk-1", "messageId": message_id, "to": "6281220000001",
        "sentAt": "2024-06-20T03:00:05.000+0000", "doneAt": "2024-06-20T03:00:09.000+0000", "smsCount": 1,
        "price": {"pricePerMessage": 0.01, "currency": "EUR"},
        "status": {"groupId": group, "groupName": "GROUP", "id": status_id, "name": "NAME", "description": "…"},
        "error": {"groupId": 0, "groupName": "Ok", "id": if permanent { 1 } else { 0 }, "name": "ERROR",
                  "description": "…", "permanent": permanent}
    })
}

async fn post(server: &Server, path: &str, body: &serde_json::Value) -> StatusCode {
    server.http.post(server.url(path)).json(body).send().await.unwrap().status()
}

#[tokio::test]
async fn reports_need_the_secret() {
    let server = Server::start(&SMS_FIRST).await;
    let ayu = server.message(1);
    server.accepted(ayu, "infobip", "ib-0001").await;
    let delivered = json!({"results": [report("ib-0001", 3, 5, false)]});

    for path in ["/infobip/reports", "/infobip/reports/guess", "/infobip/reports/infobip-secret-012345678"] {
        assert_eq!(post(&server, path, &delivered).await, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(server.state(ayu).await, ("sms".into(), "sent".into()), "nothing changed");

    let path = format!("/infobip/reports/{INFOBIP_SECRET}");
    assert_eq!(post(&server, &path, &delivered).await, StatusCode::OK);
    assert_eq!(server.state(ayu).await, ("sms".into(), "delivered".into()));
    // DELIVERED_TO_OPERATOR after DELIVERED_TO_HANDSET, and a report for a message kabar never sent.
    let late = json!({"results": [report("ib-0001", 3, 2, false), report("ib-unknown", 3, 5, false)]});
    assert_eq!(post(&server, &path, &late).await, StatusCode::OK);
    assert_eq!(server.state(ayu).await, ("sms".into(), "delivered".into()));

    let response = server.http.post(server.url(&path)).body("{\"results\": [").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        post(&server, &path, &json!({"results": [{"messageId": "x"}]})).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn permanent_failures_fall_back_and_pending_is_not_news() {
    let server = Server::start(&SMS_FIRST).await;
    let (ayu, bayu, cici) = (server.message(1), server.message(2), server.message(3));
    server.accepted(ayu, "infobip", "ib-0001").await;
    server.accepted(bayu, "infobip", "ib-0002").await;
    server.accepted(cici, "infobip", "ib-0003").await;
    let bucket = json!({"results": [
        report("ib-0001", 5, 6, true),   // REJECTED, permanent
        report("ib-0002", 4, 15, false), // EXPIRED, may work later
        report("ib-0003", 1, 26, false), // PENDING
    ]});
    assert_eq!(post(&server, &format!("/infobip/reports/{INFOBIP_SECRET}"), &bucket).await, StatusCode::OK);
    assert_eq!(server.state(ayu).await, ("whatsapp".into(), "queued".into()));
    assert_eq!(server.state(bayu).await, ("sms".into(), "failed".into()));
    assert_eq!(server.state(cici).await, ("sms".into(), "sent".into()));
}
