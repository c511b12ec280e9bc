//! The `Provider` enum the worker holds, and what a send leaves in the log.

use kabar::deliver::providers::http::http_client;
use kabar::deliver::providers::infobip::Infobip;
use kabar::deliver::providers::twilio::Twilio;
use kabar::deliver::providers::whatsapp::WhatsappCloud;
use kabar::deliver::providers::Provider;
use kabar::domain::Channel;

use crate::fakes::infobip::FakeInfobip;
use crate::fakes::twilio::{self as fake_twilio, FakeTwilio};
use crate::fakes::whatsapp::FakeWhatsapp;
use crate::log_capture::{capture, Captured};
use crate::support::*;

#[tokio::test]
async fn each_provider_has_its_stored_name_and_channel_and_sends_to_its_own_api() {
    let (twilio, infobip, whatsapp_api) =
        (FakeTwilio::start().await, FakeInfobip::start().await, FakeWhatsapp::start().await);
    let http = http_client();
    let providers = [
        Provider::Twilio(Twilio::new(&twilio.config(), http.clone()).unwrap()),
        Provider::Infobip(Infobip::new(&infobip.config(), http.clone()).unwrap()),
        Provider::Whatsapp(WhatsappCloud::new(&whatsapp_api.config(), http).unwrap()),
    ];
    let described: Vec<_> = providers.iter().map(|p| (p.name(), p.channel())).collect();
    assert_eq!(
        described,
        [
            ("twilio", Some(Channel::Sms)),
            ("infobip", Some(Channel::Sms)),
            ("whatsapp", Some(Channel::Whatsapp))
        ]
    );
    for (n, provider) in (1..).zip(&providers) {
        let message = if provider.channel() == Some(Channel::Whatsapp) { whatsapp(n, 1) } else { sms(n, 1) };
        provider.send(&message).await.unwrap_or_else(|f| panic!("{}: {f:?}", provider.name()));
    }
    let received = [twilio.requests().len(), infobip.requests().len(), whatsapp_api.requests().len()];
    assert_eq!(received, [1, 1, 1]);
}

#[tokio::test]
async fn the_log_names_the_outcome_and_code_but_never_the_text_or_number() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("kabar=trace")
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    // A current-thread runtime: the whole send runs on this thread, under this subscriber.
    let _guard = capture(subscriber);

    let fake = FakeTwilio::start().await;
    let twilio = Twilio::new(&fake.config(), http_client()).unwrap();
    twilio.send(&sms(31, 1)).await.expect("accepted");
    fake.fail_next(fake_twilio::error(
        400,
        21211,
        "The 'To' number +6281234000002 is not a valid phone number.",
    ));
    twilio.send(&sms(32, 2)).await.expect_err("refused");

    let log = captured.text();
    assert!(log.contains("provider=\"twilio\"") && log.contains("message_id=31"), "{log}");
    assert!(log.contains("outcome=\"accepted\"") && log.contains("code=201"), "{log}");
    assert!(log.contains("outcome=\"permanent\"") && log.contains("code=\"21211\""), "{log}");
    assert!(!log.contains("81234000"), "a number leaked: {log}");
    assert!(!log.contains("layanan") && !log.contains(fake_twilio::AUTH_TOKEN), "a secret leaked: {log}");
}
