//! What the provider tests share: messages to send, and ways to read a result.

use std::time::Duration;

use kabar::deliver::{Accepted, Destination, FailureKind, Outgoing, SendFailure};
use kabar::domain::Msisdn;
use kabar::render::{sms, Rendered, SmsMessage, WhatsappMessage};

/// The text every test SMS carries: checked on the wire, and never in a reason or a log.
pub const SMS_TEXT: &str = "Kanim Jakarta Selatan: layanan paspor Sen 24 Jun ditunda. Info: 021-7511";

/// The `n`-th test number, `+6281234000000 + n` (Telkomsel).
pub fn number(n: u32) -> Msisdn {
    format!("+6281234{n:06}").parse().expect("a valid Indonesian mobile number")
}

/// `number(n)` as the WhatsApp and Infobip APIs write it: digits without `+`.
pub fn digits(n: u32) -> String {
    number(n).e164().trim_start_matches('+').to_owned()
}

pub fn sms(message_id: i64, to: u32) -> Outgoing {
    let cost = sms::segment(SMS_TEXT);
    Outgoing {
        at: chrono::Utc::now(),
        message_id,
        to: Destination::Phone(number(to)),
        content: Rendered::Sms(SmsMessage {
            text: SMS_TEXT.to_owned(),
            encoding: cost.encoding,
            segments: cost.segments,
            units: cost.units,
            characters: cost.characters,
        }),
    }
}

pub fn whatsapp(message_id: i64, to: u32) -> Outgoing {
    let params = vec!["Budi Santoso".to_owned(), "Kanim Jakarta Selatan".to_owned()];
    Outgoing {
        at: chrono::Utc::now(),
        message_id,
        to: Destination::Phone(number(to)),
        content: Rendered::Whatsapp(WhatsappMessage {
            template: "kabar_appointment_postponed".to_owned(),
            language: "id".to_owned(),
            text: format!("Halo {}, layanan di {} ditunda.", params[0], params[1]),
            params,
        }),
    }
}

/// The `retry_after` of a transient failure; fails the test on any other outcome.
#[track_caller]
pub fn transient(result: Result<Accepted, SendFailure>) -> (SendFailure, Option<Duration>) {
    match result {
        Err(failure) => match failure.kind {
            FailureKind::Transient { retry_after } => (failure, retry_after),
            _ => panic!("expected a transient failure, got {failure:?}"),
        },
        Ok(accepted) => panic!("expected a transient failure, got {accepted:?}"),
    }
}

/// The failure of a send that must have failed.
#[track_caller]
pub fn failed(result: Result<Accepted, SendFailure>) -> SendFailure {
    result.expect_err("the send should have failed")
}

/// A failure's kind as a word, for tables of expected classes.
pub fn class(failure: &SendFailure) -> &'static str {
    match failure.kind {
        FailureKind::Transient { .. } => "transient",
        FailureKind::Permanent { opted_out: false } => "permanent",
        FailureKind::Permanent { opted_out: true } => "opted_out",
        FailureKind::Technical => "technical",
    }
}

/// Checks that a reason holds neither the message text nor a whole test number.
#[track_caller]
pub fn assert_clean(failure: &SendFailure) {
    let reason = &failure.reason;
    assert!(!reason.contains("layanan") && !reason.contains("Budi"), "the text leaked: {reason}");
    assert!(!reason.contains("81234"), "a number leaked: {reason}");
}

/// A base URL where nothing listens: a port the system gave out and took back.
pub async fn closed_port() -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    url::Url::parse(&format!("http://{address}")).unwrap()
}

/// The `User-Agent` every provider request carries.
pub const USER_AGENT: &str = concat!("kabar/", env!("CARGO_PKG_VERSION"));
