//! Twilio's status callback and inbound SMS webhook over real HTTP.

use kabar::domain::Channel;
use reqwest::StatusCode;

use crate::support::{twilio_signature, Server, TWILIO_TOKEN};

const SMS_FIRST: [Channel; 3] = [Channel::Sms, Channel::Whatsapp, Channel::Email];

/// Posts `params` to `path`, signed over the server's public URL with `token` (no header when
/// `None`).
async fn post(
    server: &Server,
    path: &str,
    params: &[(&str, &str)],
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = server.http.post(server.url(path)).form(params);
    if let Some(token) = token {
        request = request.header("X-Twilio-Signature", twilio_signature(token, &server.url(path), params));
    }
    request.send().await.unwrap()
}

fn callback<'a>(sid: &'a str, status: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", "+6281220000001"),
        ("MessageSid", sid),
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("From", "+14155550100"),
        ("ApiVersion", "2010-04-01"),
    ]
}

#[tokio::test]
async fn status_callbacks_only_move_a_message_forward() {
    let server = Server::start(&SMS_FIRST).await;
    let ayu = server.message(1);
    server.accepted(ayu, "twilio", "SM0001").await;

    let response =
        post(&server, "/twilio/status", &callback("SM0001", "delivered"), Some(TWILIO_TOKEN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.state(ayu).await, ("sms".into(), "delivered".into()));

    // The `sent` callback arrives late; `sending` is not news at all.
    for status in ["sent", "sending"] {
        let response = post(&server, "/twilio/status", &callback("SM0001", status), Some(TWILIO_TOKEN)).await;
        assert_eq!(response.status(), StatusCode::OK, "{status}");
    }
    assert_eq!(server.state(ayu).await, ("sms".into(), "delivered".into()));

    let unknown = post(&server, "/twilio/status", &callback("SM9999", "delivered"), Some(TWILIO_TOKEN)).await;
    assert_eq!(unknown.status(), StatusCode::OK, "Twilio must not retry a receipt kabar cannot use");
    server.stop().await;
}

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_and_change_nothing() {
    let server = Server::start(&SMS_FIRST).await;
    let ayu = server.message(1);
    server.accepted(ayu, "twilio", "SM0001").await;
    let params = callback("SM0001", "delivered");
    let url = server.url("/twilio/status");

    let missing = post(&server, "/twilio/status", &params, None).await;
    let wrong_token = post(&server, "/twilio/status", &params, Some("another-token")).await;
    // Signed for `sent`, posted as `delivered`.
    let tampered = server
        .http
        .post(&url)
        .header("X-Twilio-Signature", twilio_signature(TWILIO_TOKEN, &url, &callback("SM0001", "sent")))
        .form(&params)
        .send()
        .await
        .unwrap();
    // Signed for another URL (the inbound webhook's).
    let other_url = server
        .http
        .post(&url)
        .header("X-Twilio-Signature", twilio_signature(TWILIO_TOKEN, &server.url("/twilio/inbound"), &params))
        .form(&params)
        .send()
        .await
        .unwrap();
    let garbage =
        server.http.post(&url).header("X-Twilio-Signature", "%%%").form(&params).send().await.unwrap();
    for (what, response) in [
        ("missing", missing),
        ("wrong token", wrong_token),
        ("tampered", tampered),
        ("other URL", other_url),
        ("garbage", garbage),
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
    assert_eq!(server.state(ayu).await, ("sms".into(), "sent".into()), "nothing changed");

    // Twilio sometimes signs the URL without its port: accepted as twilio-python does.
    let without_port = url.replace(&format!(":{}", server.base.rsplit(':').next().unwrap()), "");
    assert_ne!(without_port, url);
    let response = server
        .http
        .post(&url)
        .header("X-Twilio-Signature", twilio_signature(TWILIO_TOKEN, &without_port, &params))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.state(ayu).await, ("sms".into(), "delivered".into()));
}

#[tokio::test]
async fn malformed_callbacks_are_400() {
    let server = Server::start(&SMS_FIRST).await;
    let ayu = server.message(1);
    server.accepted(ayu, "twilio", "SM0001").await;
    let no_sid = [("MessageStatus", "delivered"), ("AccountSid", "AC0")];
    let unknown_status = [("MessageSid", "SM0001"), ("MessageStatus", "exploded")];
    for params in [&no_sid[..], &unknown_status[..]] {
        let response = post(&server, "/twilio/status", params, Some(TWILIO_TOKEN)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
    }
    assert_eq!(server.state(ayu).await, ("sms".into(), "sent".into()));
}

#[tokio::test]
async fn an_undeliverable_sms_moves_to_the_next_channel() {
    let server = Server::start(&SMS_FIRST).await;
    let (ayu, bayu) = (server.message(1), server.message(2));
    server.accepted(ayu, "twilio", "SM0001").await;
    server.accepted(bayu, "twilio", "SM0002").await;
    let mut unreachable = callback("SM0001", "undelivered");
    unreachable.push(("ErrorCode", "30003"));
    let mut unknown_error = callback("SM0002", "failed");
    unknown_error.push(("ErrorCode", "30008"));
    for params in [unreachable, unknown_error] {
        assert_eq!(
            post(&server, "/twilio/status", &params, Some(TWILIO_TOKEN)).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(server.state(ayu).await, ("whatsapp".into(), "queued".into()), "30003 is permanent");
    assert_eq!(server.state(bayu).await, ("sms".into(), "failed".into()), "30008 is temporary");
}

#[tokio::test]
async fn stop_and_berhenti_by_sms_opt_out_of_sms() {
    let server = Server::start(&SMS_FIRST).await;
    // Each message an applicant sends has its own MessageSid.
    let inbound = |from: &'static str, body: &'static str| {
        vec![
            ("MessageSid", from.trim_start_matches('+')),
            ("AccountSid", "AC0"),
            ("From", from),
            ("To", "+14155550100"),
            ("Body", body),
            ("NumMedia", "0"),
        ]
    };

    let unsigned = post(&server, "/twilio/inbound", &inbound("+6281220000001", "STOP"), None).await;
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.opted_out(1).await, (false, false, false), "an unsigned STOP changes nothing");

    let response =
        post(&server, "/twilio/inbound", &inbound("+6281220000001", " stop "), Some(TWILIO_TOKEN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/xml");
    assert!(response.text().await.unwrap().contains("<Response></Response>"));
    let response =
        post(&server, "/twilio/inbound", &inbound("+6281220000002", "Berhenti"), Some(TWILIO_TOKEN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response =
        post(&server, "/twilio/inbound", &inbound("+6281220000003", "Terima kasih"), Some(TWILIO_TOKEN))
            .await;
    assert_eq!(response.status(), StatusCode::OK);

    assert_eq!(server.opted_out(1).await, (false, true, false));
    assert_eq!(server.opted_out(2).await, (false, true, false));
    assert_eq!(server.opted_out(3).await, (false, false, false), "not a keyword");
    // Their queued SMS moves on to WhatsApp; Cici's stays.
    assert_eq!(server.state(server.message(1)).await, ("whatsapp".into(), "queued".into()));
    assert_eq!(server.state(server.message(2)).await, ("whatsapp".into(), "queued".into()));
    assert_eq!(server.state(server.message(3)).await, ("sms".into(), "queued".into()));
}
