//! Email over STARTTLS and implicit TLS to a real TLS server, the relay's certificate verified
//! against the CA of `tls_root_certificate`; and what happens when TLS cannot be had.

use std::io::Write;
use std::path::Path;

use kabar::deliver::providers::smtp::{Security, Smtp, SmtpConfig};
use kabar::deliver::providers::ProviderError;
use kabar::deliver::{FailureKind, SendFailure};
use tempfile::NamedTempFile;
use tokio::net::TcpListener;

use crate::smtp::config;
use crate::smtp_server::{Fault, Protection, ServerSecurity, SmtpServer, TestCa};
use crate::support;

/// A relay at `localhost`, the name in the test certificates, protected as `security` says and
/// trusting the CA certificates in `root` besides the built-in ones.
fn tls_config(port: u16, security: Security, root: Option<&Path>, extra: &str) -> SmtpConfig {
    let root = root.map(|path| {
        let path = path.to_str().expect("a UTF-8 temporary path");
        format!("tls_root_certificate = {}\n", toml::Value::from(path))
    });
    let mut config = config(port, &format!("{}{extra}", root.unwrap_or_default()));
    config.host = "localhost".into();
    config.security = security;
    config
}

/// A PEM file holding `text`, removed with the returned handle.
fn pem_file(text: &str) -> NamedTempFile {
    let mut file = NamedTempFile::new().expect("a temporary file");
    file.write_all(text.as_bytes()).expect("write it");
    file
}

fn assert_technical(failure: &SendFailure, words: &str) {
    assert_eq!(failure.kind, FailureKind::Technical, "{failure:?}");
    assert!(failure.reason.contains(words), "{words:?} not in {:?}", failure.reason);
}

#[tokio::test]
async fn starttls_upgrades_before_auth_and_the_pooled_connection_stays_encrypted() {
    let ca = TestCa::new("Kemenimipas test CA");
    let root = pem_file(&ca.certificate_pem());
    // AUTH is offered only after STARTTLS: a client that sent credentials in the clear, or
    // did not upgrade, gets no mail through.
    let server =
        SmtpServer::start_secured_with_auth(ServerSecurity::StartTls(ca.localhost()), "kabar", "rahasia")
            .await;
    let smtp = Smtp::new(&tls_config(
        server.port(),
        Security::Starttls,
        Some(root.path()),
        "username = \"kabar\"\npassword = \"rahasia\"",
    ))
    .unwrap();

    for message_id in 1..=3 {
        smtp.send(&support::email(message_id)).await.expect("accepted over STARTTLS");
        // Lets lettre's task hand the connection back to the pool (see smtp.rs).
        tokio::task::yield_now().await;
    }

    let protections: Vec<Protection> = server.mails().iter().map(|mail| mail.protection).collect();
    assert_eq!(protections, [Protection::StartTls; 3]);
    assert_eq!(server.protections(), [Protection::StartTls], "one upgraded connection carries all three");
}

#[tokio::test]
async fn implicit_tls_carries_mail_and_relay_replies() {
    let ca = TestCa::new("Kemenimipas test CA");
    let root = pem_file(&ca.certificate_pem());
    let server = SmtpServer::start_secured(ServerSecurity::ImplicitTls(ca.localhost())).await;
    let smtp = Smtp::new(&tls_config(server.port(), Security::Tls, Some(root.path()), "")).unwrap();

    server.fail_next(Fault::RcptTemporary);
    let failure = smtp.send(&support::email(1)).await.expect_err("450 inside TLS");
    assert!(matches!(failure.kind, FailureKind::Transient { .. }), "{failure:?}");
    assert_eq!(failure.code.as_deref(), Some("450"));
    smtp.send(&support::email(2)).await.expect("accepted over TLS");

    let mail = server.mail(0).await;
    assert_eq!(mail.protection, Protection::ImplicitTls);
    assert_eq!(mail.to, ["budi.santoso@example.com"]);
    // lettre quits a connection after any error reply, so the retry came over a new one.
    assert_eq!(server.protections(), [Protection::ImplicitTls; 2]);
}

#[tokio::test]
async fn a_relay_certificate_kabar_cannot_verify_gets_no_mail() {
    let ca = TestCa::new("Kemenimipas test CA");
    let root = pem_file(&ca.certificate_pem());
    let impostor = TestCa::new("Someone else's CA");

    for (security, server_security) in [
        (Security::Starttls, ServerSecurity::StartTls(impostor.localhost())),
        (Security::Tls, ServerSecurity::ImplicitTls(impostor.localhost())),
    ] {
        let server = SmtpServer::start_secured(server_security).await;
        let smtp = Smtp::new(&tls_config(server.port(), security, Some(root.path()), "")).unwrap();

        let failure = smtp.send(&support::email(1)).await.expect_err("an untrusted certificate");

        // Retrying would meet the same certificate: an operator has to look.
        assert_technical(&failure, "TLS handshake");
        assert!(failure.reason.contains("UnknownIssuer"), "{security:?}: {}", failure.reason);
        // The client did reach the relay: the handshake, not the connection, failed.
        assert_eq!(server.protections(), [Protection::Plain], "{security:?}");
        assert!(server.mails().is_empty(), "{security:?}");
    }

    // Nor is the test CA trusted without tls_root_certificate: only the built-in roots are.
    let server = SmtpServer::start_secured(ServerSecurity::ImplicitTls(ca.localhost())).await;
    let smtp = Smtp::new(&tls_config(server.port(), Security::Tls, None, "")).unwrap();
    let failure = smtp.send(&support::email(1)).await.expect_err("a certificate from an unknown CA");
    assert_technical(&failure, "UnknownIssuer");
    assert!(server.mails().is_empty());
}

#[tokio::test]
async fn a_security_setting_that_does_not_match_the_relay_is_technical() {
    let ca = TestCa::new("Kemenimipas test CA");
    let root = pem_file(&ca.certificate_pem());

    // STARTTLS required, and the relay does not offer it: lettre will not go on in the clear.
    let plain = SmtpServer::start().await;
    let smtp = Smtp::new(&tls_config(plain.port(), Security::Starttls, Some(root.path()), "")).unwrap();
    let failure = smtp.send(&support::email(1)).await.expect_err("no STARTTLS offered");
    assert_technical(&failure, "STARTTLS");
    assert_eq!(plain.protections(), [Protection::Plain]);
    assert!(plain.mails().is_empty());

    // TLS from the first byte to a port that greets in plain text.
    let starttls = SmtpServer::start_secured(ServerSecurity::StartTls(ca.localhost())).await;
    let smtp = Smtp::new(&tls_config(starttls.port(), Security::Tls, Some(root.path()), "")).unwrap();
    let failure = smtp.send(&support::email(2)).await.expect_err("a plain-text greeting");
    assert_technical(&failure, "TLS handshake");
    assert_eq!(starttls.protections(), [Protection::Plain]);
    assert!(starttls.mails().is_empty());
}

#[tokio::test]
async fn a_connection_cut_during_the_handshake_is_transient() {
    let ca = TestCa::new("Kemenimipas test CA");
    let root = pem_file(&ca.certificate_pem());
    // A relay that accepts the connection and closes it at once, as one restarting does.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("its address").port();
    let closing = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("the client connects");
        drop(stream);
    });
    let smtp = Smtp::new(&tls_config(port, Security::Tls, Some(root.path()), "")).unwrap();

    let failure = smtp.send(&support::email(1)).await.expect_err("the connection was closed");

    closing.await.expect("the relay closed the connection");
    assert!(matches!(failure.kind, FailureKind::Transient { .. }), "{failure:?}");
}

#[tokio::test]
async fn tls_root_certificate_must_be_a_pem_file_of_certificates() {
    let refused = |config: SmtpConfig| match Smtp::new(&config) {
        Err(ProviderError::Config { message, .. }) => message,
        other => panic!("{:?} was accepted: {other:?}", config.tls_root_certificate),
    };
    let ca = TestCa::new("Kemenimipas test CA");
    let good = pem_file(&ca.certificate_pem());
    Smtp::new(&tls_config(2525, Security::Starttls, Some(good.path()), "")).expect("a CA certificate in PEM");
    let two = pem_file(&format!("{}{}", ca.certificate_pem(), TestCa::new("A second CA").certificate_pem()));
    Smtp::new(&tls_config(2525, Security::Tls, Some(two.path()), "")).expect("two CA certificates in PEM");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("relay-ca.pem");
    let message = refused(tls_config(2525, Security::Starttls, Some(&missing), ""));
    assert!(message.contains("smtp.tls_root_certificate"), "{message}");
    assert!(message.contains(&missing.display().to_string()), "{message}");
    assert!(message.contains("cannot be read"), "{message}");

    // A key, or anything else without a certificate in it, would add no root at all.
    let no_certificate =
        pem_file("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n");
    let message = refused(tls_config(2525, Security::Tls, Some(no_certificate.path()), ""));
    assert!(message.contains("no PEM certificate"), "{message}");
    assert!(message.contains(&no_certificate.path().display().to_string()), "{message}");

    let broken_pem = pem_file("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
    let message = refused(tls_config(2525, Security::Tls, Some(broken_pem.path()), ""));
    assert!(message.contains("not valid PEM"), "{message}");

    // Good base64, but not a certificate inside.
    let not_der = pem_file("-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n");
    let message = refused(tls_config(2525, Security::Tls, Some(not_der.path()), ""));
    assert!(message.contains("cannot be trusted as a root"), "{message}");

    // With no TLS at all, the file would be ignored while the operator thinks it is used.
    let message = refused(tls_config(2525, Security::Plain, Some(good.path()), ""));
    assert!(message.contains("\"plain\""), "{message}");
}

#[test]
fn tls_root_certificate_is_read_and_shown_as_a_path() {
    let config = tls_config(587, Security::Starttls, Some(Path::new("/etc/kabar/relay-ca.pem")), "");
    assert_eq!(config.tls_root_certificate.as_deref(), Some(Path::new("/etc/kabar/relay-ca.pem")));
    let shown = toml::to_string(&config).expect("serializable");
    assert!(shown.contains("tls_root_certificate = \"/etc/kabar/relay-ca.pem\""), "{shown}");

    // A misspelt key is still refused, not ignored.
    let misspelt = "host = \"localhost\"\nfrom = \"Imigrasi <noreply@imigrasi.go.id>\"\n\
                    tls_root_certificates = \"/etc/kabar/relay-ca.pem\"";
    let err = toml::from_str::<SmtpConfig>(misspelt).expect_err("an unknown field");
    assert!(err.to_string().contains("tls_root_certificates"), "{err}");
}
