//! Email through a real SMTP server: what arrives, and over how many connections.

use std::time::{Duration, Instant};

use kabar::deliver::providers::smtp::{Smtp, SmtpConfig};
use kabar::deliver::providers::ProviderError;
use kabar::deliver::Outgoing;
use kabar::render::Rendered;
use mail_parser::{MessageParser, PartType};

use crate::smtp_server::{ReceivedMail, SmtpServer};
use crate::support::{self, UNSUBSCRIBE_URL};

/// A relay on this machine, written as an operator would in `kabar.toml`.
pub fn config(port: u16, extra: &str) -> SmtpConfig {
    toml::from_str(&format!(
        "host = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\n\
         from = \"Kantor Imigrasi <noreply@imigrasi.go.id>\"\nmessage_id_domain = \"kabar.imigrasi.go.id\"\n\
         timeout_seconds = 5\n{extra}"
    ))
    .expect("a valid SMTP configuration")
}

fn email_text(out: &Outgoing) -> (&str, &str, &str) {
    match &out.content {
        Rendered::Email(email) => (&email.subject, &email.text, &email.html),
        other => panic!("not an email: {other:?}"),
    }
}

fn header_lines(mail: &ReceivedMail) -> String {
    let text = String::from_utf8_lossy(&mail.data);
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_email_arrives_with_its_headers_and_both_parts() {
    let server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "")).unwrap();
    let out = support::email(42);

    let accepted = smtp.send(&out).await.expect("the relay takes it");

    assert_eq!(accepted.response_code, "250");
    let id = &accepted.provider_message_id;
    assert!(id.starts_with("<kabar-42.") && id.ends_with("@kabar.imigrasi.go.id>"), "{id}");
    let mail = server.mail(0).await;
    assert_eq!(mail.from, "noreply@imigrasi.go.id");
    assert_eq!(mail.to, ["budi.santoso@example.com"]);

    let headers = header_lines(&mail);
    // The subject is outside ASCII (an en dash), so it travels RFC 2047-encoded.
    let subject_line = headers.replace("\r\n ", " ");
    let subject_line = subject_line.lines().find(|line| line.starts_with("Subject: ")).expect("a Subject");
    assert!(subject_line.contains("=?utf-8?") && subject_line.is_ascii(), "{subject_line}");
    assert!(headers.contains(&format!("Message-ID: {id}")), "{headers}");
    assert!(headers.contains(&format!("List-Unsubscribe: <{UNSUBSCRIBE_URL}>")), "{headers}");
    assert!(headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{headers}");
    assert!(headers.contains("Content-Type: multipart/alternative;"), "{headers}");

    let (subject, text, html) = email_text(&out);
    let parsed = MessageParser::default().parse(&mail.data).expect("a parsable mail");
    assert_eq!(parsed.subject(), Some(subject));
    assert_eq!(parsed.message_id().map(|bare| format!("<{bare}>")).as_ref(), Some(id));
    let from = parsed.from().and_then(|from| from.first()).expect("a From header");
    assert_eq!((from.name(), from.address()), (Some("Kantor Imigrasi"), Some("noreply@imigrasi.go.id")));
    let to = parsed.to().and_then(|to| to.first()).expect("a To header");
    assert_eq!((to.name(), to.address()), (Some("Budi Santoso"), Some("budi.santoso@example.com")));
    let texts: Vec<String> = parsed
        .parts
        .iter()
        .filter_map(|part| match &part.body {
            PartType::Text(body) => Some(body.replace("\r\n", "\n")),
            _ => None,
        })
        .collect();
    let htmls: Vec<String> = parsed
        .parts
        .iter()
        .filter_map(|part| match &part.body {
            PartType::Html(body) => Some(body.replace("\r\n", "\n")),
            _ => None,
        })
        .collect();
    // The text has a line starting with a dot: stuffed by lettre, unstuffed by the server.
    assert_eq!(texts, [text]);
    assert_eq!(htmls, [html]);
}

#[tokio::test]
async fn without_an_unsubscribe_link_there_are_no_list_headers() {
    let server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "")).unwrap();
    let mut out = support::email(7);
    if let Rendered::Email(email) = &mut out.content {
        email.list_unsubscribe = None;
    }

    smtp.send(&out).await.expect("the relay takes it");

    let headers = header_lines(&server.mail(0).await);
    assert!(!headers.contains("List-Unsubscribe"), "{headers}");
}

#[tokio::test]
async fn one_connection_carries_many_emails() {
    let server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "")).unwrap();

    let mut ids = Vec::new();
    for message_id in 1..=5 {
        ids.push(smtp.send(&support::email(message_id)).await.expect("accepted").provider_message_id);
        // lettre hands a connection back to its pool in a task of its own; on this test's
        // single-threaded runtime that task runs when the test yields. (A worker on several
        // threads recycles in parallel; at worst a burst opens one more connection.)
        tokio::task::yield_now().await;
    }

    server.mail(4).await;
    assert_eq!(server.mails().len(), 5);
    assert_eq!(server.connections(), 1, "the pooled connection is reused");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "every email has its own Message-ID");
}

#[tokio::test]
async fn credentials_are_sent_and_a_refusal_is_technical() {
    let server = SmtpServer::start_with_auth("kabar", "rahasia").await;
    let good = Smtp::new(&config(server.port(), "username = \"kabar\"\npassword = \"rahasia\"")).unwrap();
    good.send(&support::email(1)).await.expect("authenticated and accepted");

    let bad = Smtp::new(&config(server.port(), "username = \"kabar\"\npassword = \"salah\"")).unwrap();
    let failure = bad.send(&support::email(2)).await.expect_err("wrong password");

    assert_eq!(failure.kind, kabar::deliver::FailureKind::Technical, "{failure}");
    assert_eq!(failure.code.as_deref(), Some("535"));
    assert!(!format!("{bad:?}").contains("salah"), "Debug never shows the password");
    assert_eq!(server.mails().len(), 1);
}

#[tokio::test]
async fn the_rate_limit_spaces_sends_out() {
    let server = SmtpServer::start().await;
    let smtp = Smtp::new(&config(server.port(), "rate_per_second = 10")).unwrap();

    let started = Instant::now();
    for message_id in 1..=11 {
        smtp.send(&support::email(message_id)).await.expect("accepted");
    }

    // Eleven sends at ten a second: no second may hold all of them, so the last one leaves at
    // least a second after the first.
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test]
async fn the_configuration_is_checked() {
    let refused = |extra: &str, from: &str| {
        let mut config = config(2525, extra);
        config.from = from.to_owned();
        match Smtp::new(&config) {
            Err(ProviderError::Config { message, .. }) => message,
            other => panic!("{extra:?} {from:?} was accepted: {other:?}"),
        }
    };
    let message = refused("", "no address here");
    assert!(message.contains("smtp.from"), "{message}");
    let message = refused("username = \"kabar\"", "Kantor Imigrasi <noreply@imigrasi.go.id>");
    assert!(message.contains("together"), "{message}");

    let defaults: SmtpConfig =
        toml::from_str("host = \"smtp.example.com\"\nfrom = \"Imigrasi <noreply@imigrasi.go.id>\"").unwrap();
    assert_eq!(defaults.timeout_seconds, 10);
    assert_eq!(defaults.security, kabar::deliver::providers::smtp::Security::Starttls);
    assert_eq!(defaults.port, None);
}
