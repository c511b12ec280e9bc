//! How SMTP failures are classified: deferred, refused, lost, or kabar's own fault.

use kabar::deliver::providers::smtp::{Smtp, SmtpConfig};
use kabar::deliver::{FailureKind, SendFailure};
use kabar::render::Rendered;

use crate::smtp::config;
use crate::smtp_server::{Fault, SmtpServer};
use crate::support;

fn assert_transient(failure: &SendFailure, code: Option<&str>) {
    assert!(matches!(failure.kind, FailureKind::Transient { .. }), "{failure:?}");
    assert_eq!(failure.code.as_deref(), code, "{failure:?}");
}

/// The reason goes to the attempt row: never the words of the message, nor the whole address.
fn assert_discreet(failure: &SendFailure) {
    let Rendered::Email(email) = support::email(1).content else { unreachable!() };
    for secret in [email.subject.as_str(), "Layanan paspor", "budi.santoso"] {
        assert!(!failure.reason.contains(secret), "{secret:?} in {:?}", failure.reason);
    }
}

#[tokio::test]
async fn a_busy_mailbox_is_transient() {
    let server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "")).unwrap();
    server.fail_next(Fault::RcptTemporary);

    let failure = smtp.send(&support::email(1)).await.expect_err("450");

    assert_transient(&failure, Some("450"));
    assert_discreet(&failure);
    smtp.send(&support::email(2)).await.expect("the next try goes through");
    assert_eq!(server.mails().len(), 1);
}

#[tokio::test]
async fn an_unknown_mailbox_is_permanent() {
    let server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "")).unwrap();
    server.fail_next(Fault::RcptPermanent);

    let failure = smtp.send(&support::email(1)).await.expect_err("550");

    assert_eq!(failure.kind, FailureKind::Permanent { opted_out: false }, "{failure:?}");
    assert_eq!(failure.code.as_deref(), Some("550"));
    assert!(failure.reason.contains("Mailbox unknown"), "{}", failure.reason);
    assert_discreet(&failure);
    assert!(server.mails().is_empty());
}

#[tokio::test]
async fn a_relay_closing_the_connection_is_transient() {
    let server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "")).unwrap();

    server.fail_next(Fault::ShuttingDown);
    let failure = smtp.send(&support::email(1)).await.expect_err("421");
    assert_transient(&failure, Some("421"));

    server.fail_next(Fault::DropConnection);
    let failure = smtp.send(&support::email(2)).await.expect_err("dropped");
    assert_transient(&failure, None);
    assert_discreet(&failure);

    smtp.send(&support::email(3)).await.expect("a new connection works");
}

#[tokio::test]
async fn a_relay_that_does_not_answer_is_transient() {
    let mut server = SmtpServer::start().await;
    let smtp = Smtp::new(&SmtpConfig { timeout_seconds: 1, ..config(server.port(), "") }).unwrap();
    server.fail_next(Fault::Stall);

    let failure = smtp.send(&support::email(1)).await.expect_err("timed out");

    assert_transient(&failure, None);
    // The stalled connection is not reused: the next email goes over a new one.
    smtp.send(&support::email(2)).await.expect("a new connection works");
    assert_eq!(server.connections(), 2);
    assert_eq!(server.mails().len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_relay_that_went_away_is_transient() {
    let mut server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "")).unwrap();
    smtp.send(&support::email(1)).await.expect("the relay is up");

    server.shutdown().await;
    let failure = smtp.send(&support::email(2)).await.expect_err("the relay is gone");

    assert_transient(&failure, None);
    assert_eq!(server.mails().len(), 1);
}

#[tokio::test]
async fn anything_but_an_email_to_an_address_is_a_kabar_bug() {
    let server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "")).unwrap();
    let mut sms_to_address = support::sms(1, "Paspor Anda siap diambil");
    sms_to_address.to = support::email_to("budi@example.com", "Budi");
    let mut email_to_phone = support::email(2);
    email_to_phone.to = support::whatsapp(2).to;

    for out in [sms_to_address, email_to_phone] {
        let failure = smtp.send(&out).await.expect_err("refused before any connection");
        assert_eq!(failure.kind, FailureKind::Technical, "{failure:?}");
    }
    assert_eq!(server.connections(), 0);
}
