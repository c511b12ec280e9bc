//! Email one-click unsubscribe (RFC 8058), unconfigured routes, and the server's lifecycle.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use kabar::domain::Channel;
use kabar::receipts::unsubscribe_url;
use reqwest::StatusCode;

use crate::support::Server;

const ORDER: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

#[tokio::test]
async fn one_click_unsubscribe() {
    let server = Server::start(&ORDER).await;
    let bayu = server.store.applicant(&crate::support::mobile(2)).await.unwrap().unwrap().id;
    let link = unsubscribe_url(&server.config, bayu).unwrap();
    assert!(link.as_str().starts_with(&format!("{}/unsubscribe/", server.base)), "{link}");

    // Opening the link (or a mail scanner prefetching it) only shows the form.
    let page = server.http.get(link.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("method=\"post\"") && html.contains("List-Unsubscribe"), "{html}");
    assert_eq!(server.opted_out(2).await, (false, false, false));

    // What Gmail and others send.
    let response = server
        .http
        .post(link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.opted_out(2).await, (false, false, true));
}

#[tokio::test]
async fn forged_links_are_refused() {
    let server = Server::start(&ORDER).await;
    let bayu = server.store.applicant(&crate::support::mobile(2)).await.unwrap().unwrap().id;
    // Bayu's id signed with a key the server does not have, and a valid link with its id changed.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"guessed-key").unwrap();
    mac.update(&bayu.to_be_bytes());
    let mut forged = bayu.to_be_bytes().to_vec();
    forged.extend_from_slice(&mac.finalize().into_bytes());
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
    let other = unsubscribe_url(&server.config, bayu + 1).unwrap();
    let swapped = other.as_str().rsplit('/').next().unwrap().to_owned();
    let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&swapped).unwrap();
    bytes[..8].copy_from_slice(&bayu.to_be_bytes());
    let swapped = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);

    for token in [forged.as_str(), swapped.as_str(), "x"] {
        let url = server.url(&format!("/unsubscribe/{token}"));
        assert_eq!(server.http.get(&url).send().await.unwrap().status(), StatusCode::FORBIDDEN, "{token}");
        let post = server.http.post(&url).body("List-Unsubscribe=One-Click").send().await.unwrap();
        assert_eq!(post.status(), StatusCode::FORBIDDEN, "{token}");
    }
    assert_eq!(server.opted_out(2).await, (false, false, false));
}

#[tokio::test]
async fn routes_without_a_secret_do_not_exist() {
    let server = Server::start_unconfigured().await;
    assert_eq!(unsubscribe_url(&server.config, 1), None);
    let health = server.http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    for path in
        ["/twilio/status", "/twilio/inbound", "/whatsapp/webhook", "/infobip/reports", "/infobip/reports/x"]
    {
        let response = server.http.post(server.url(path)).body("x").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    for path in ["/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=&hub.challenge=1", "/unsubscribe/x"] {
        let response = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
    server.stop().await;
}
