//! Each channel through its provider, and a message moving to the applicant's next channel when
//! one is closed to it.

use kabar::deliver::StepReport;
use kabar::domain::Channel;

use crate::fakes::twilio;
use crate::harness::TestStore;
use crate::store_tests;
use crate::support::{
    booking, import, mobile, now, plan_outage, worker, Fakes, Inspect, ALL_CHANNELS, PUBLIC_BASE_URL,
};

fn report(claimed: usize, sent: usize, fell_back: usize, failed: usize) -> StepReport {
    StepReport { claimed, sent, retried: 0, fell_back, failed, released: 0 }
}

async fn each_channel_is_sent_through_its_provider(db: &TestStore) {
    let store = &db.store;
    let rows =
        [booking(1, "Budi", None), booking(2, "Hadi", None), booking(3, "Joko", Some("joko@example.com"))];
    import(store, &rows.concat()).await;
    // 2 has left WhatsApp; 3 has left WhatsApp and SMS but reads email.
    for (who, channel) in [(2, Channel::Whatsapp), (3, Channel::Whatsapp), (3, Channel::Sms)] {
        assert!(store.set_opt_out(&mobile(who), channel, true).await.unwrap());
    }
    let planned = plan_outage(store, &ALL_CHANNELS).await;
    let channels: Vec<_> = planned.iter().map(|message| message.channel).collect();
    assert_eq!(channels, [Some(Channel::Whatsapp), Some(Channel::Sms), Some(Channel::Email)]);
    let fakes = Fakes::start().await;
    let worker = worker(store, fakes.config()).await;

    assert_eq!(worker.step(now()).await.unwrap(), report(3, 3, 0, 0));

    let whatsapp = fakes.whatsapp.requests();
    assert_eq!(whatsapp.len(), 1);
    let body = whatsapp[0].json();
    assert_eq!(body["to"], "6281210000001", "digits without the plus");
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["name"], "kabar_appointment_unchanged");
    assert_eq!(body["template"]["language"]["code"], "id");
    let params = body["template"]["components"][0]["parameters"].as_array().expect("body parameters");
    assert_eq!(params.len(), 8, "{body}");
    assert_eq!(params[0]["text"], "Budi");
    assert!(params[4]["text"].as_str().unwrap().contains("P-0001"), "{body}");

    let sms = fakes.twilio.requests();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].field("To").as_deref(), Some("+6281210000002"));
    assert_eq!(sms[0].field("From").as_deref(), Some(twilio::FROM));
    assert!(sms[0].field("Body").unwrap().contains("P-0002"));

    let mails = fakes.smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["joko@example.com"]);
    let mail = String::from_utf8_lossy(&mails[0].data);
    assert!(mail.contains(&format!("List-Unsubscribe: <{PUBLIC_BASE_URL}/unsubscribe/")), "{mail}");
    assert_eq!(fakes.infobip.received(), 0, "Infobip is not configured");

    let inspect = Inspect::open(&db.url).await;
    let expected = [("whatsapp", "whatsapp", "200"), ("sms", "twilio", "201"), ("email", "smtp", "250")];
    for (message, (channel, provider, code)) in planned.iter().zip(expected) {
        let row = inspect.message(message.id).await;
        assert_eq!((row.status.as_str(), row.provider.as_deref()), ("sent", Some(provider)), "{row:?}");
        assert_eq!((row.channel.as_deref(), row.attempts, row.failure_class), (Some(channel), 1, None));
        let id = row.provider_message_id.expect("the provider's id");
        let shaped = match provider {
            "whatsapp" => id.starts_with("wamid."),
            "twilio" => id.len() == 34 && id.starts_with("SM"),
            _ => id.starts_with(&format!("<kabar-{}.", message.id)) && id.ends_with("@kabar.imigrasi.go.id>"),
        };
        assert!(shaped, "{provider} id {id}");
        let attempts = inspect.attempts(message.id).await;
        assert_eq!(attempts.len(), 1, "{attempts:?}");
        let attempt = &attempts[0];
        assert_eq!(
            (attempt.channel.as_str(), attempt.provider.as_str(), attempt.outcome.as_str()),
            (channel, provider, "accepted")
        );
        assert_eq!(attempt.response_code.as_deref(), Some(code));
    }
    // The SMTP id is the one in the mail's own Message-ID header.
    let email_id = inspect.message(planned[2].id).await.provider_message_id.unwrap();
    assert!(mail.contains(&format!("Message-ID: {email_id}")), "{mail}");

    assert_eq!(worker.step(now()).await.unwrap(), StepReport::default(), "nothing is left to claim");
    let sent = (fakes.whatsapp.received(), fakes.twilio.received(), fakes.smtp.mails().len());
    assert_eq!(sent, (1, 1, 1), "nothing was sent twice");
}

async fn a_permanent_failure_moves_the_message_to_the_next_channel(db: &TestStore) {
    let store = &db.store;
    let rows =
        [booking(1, "Budi", None), booking(2, "Hadi", Some("hadi@example.com")), booking(3, "Joko", None)];
    import(store, &rows.concat()).await;
    let planned = plan_outage(store, &ALL_CHANNELS).await;
    assert!(planned.iter().all(|message| message.channel == Some(Channel::Whatsapp)));
    let fakes = Fakes::start().await;
    // None of them uses WhatsApp; 2 and 3 have also texted STOP to Twilio.
    for who in 1..=3 {
        fakes.whatsapp.not_on_whatsapp(mobile(who).e164().trim_start_matches('+'));
    }
    fakes.twilio.unsubscribe(mobile(2).e164());
    fakes.twilio.unsubscribe(mobile(3).e164());
    let worker = worker(store, fakes.config()).await;
    let inspect = Inspect::open(&db.url).await;

    assert_eq!(worker.step(now()).await.unwrap(), report(3, 0, 3, 0));
    for message in &planned {
        let row = inspect.message(message.id).await;
        assert_eq!((row.channel(), row.status.as_str()), (Some(Channel::Sms), "queued"), "{row:?}");
        assert_eq!((row.provider.as_deref(), row.provider_message_id.as_deref()), (None, None));
        assert_eq!(row.not_before(), now(), "due at once on the next channel");
    }

    // 1 gets the SMS; 2 and 3 are refused as unsubscribed: 2 moves on to email, 3 has none.
    assert_eq!(worker.step(now()).await.unwrap(), report(3, 1, 1, 1));
    for who in 1..=3 {
        let applicant = store.applicant(&mobile(who)).await.unwrap().unwrap();
        assert_eq!(applicant.sms_opted_out, who != 1, "Twilio's 21610 is recorded as an opt-out");
    }
    assert_eq!(worker.step(now()).await.unwrap(), report(1, 1, 0, 0));
    assert_eq!(worker.step(now()).await.unwrap(), StepReport::default());

    let outcomes = |rows: Vec<crate::support::AttemptRow>| -> Vec<(String, String, Option<String>)> {
        rows.into_iter().map(|row| (row.provider, row.outcome, row.response_code)).collect()
    };
    let tried = |provider: &str, outcome: &str, code: &str| {
        (provider.to_owned(), outcome.to_owned(), Some(code.to_owned()))
    };
    let budi = inspect.message(planned[0].id).await;
    assert_eq!(
        (budi.channel(), budi.status.as_str(), budi.provider.as_deref()),
        (Some(Channel::Sms), "sent", Some("twilio"))
    );
    assert_eq!(
        outcomes(inspect.attempts(planned[0].id).await),
        [tried("whatsapp", "permanent", "131026"), tried("twilio", "accepted", "201")]
    );
    let hadi = inspect.message(planned[1].id).await;
    assert_eq!(
        (hadi.channel(), hadi.status.as_str(), hadi.provider.as_deref()),
        (Some(Channel::Email), "sent", Some("smtp"))
    );
    assert_eq!(
        outcomes(inspect.attempts(planned[1].id).await),
        [
            tried("whatsapp", "permanent", "131026"),
            tried("twilio", "permanent", "21610"),
            tried("smtp", "accepted", "250")
        ]
    );
    let joko = inspect.message(planned[2].id).await;
    assert_eq!(
        (joko.channel(), joko.status.as_str(), joko.failure_class.as_deref()),
        (Some(Channel::Sms), "failed", Some("permanent")),
        "no channel left: on the call list"
    );
    assert_eq!(
        outcomes(inspect.attempts(planned[2].id).await),
        [tried("whatsapp", "permanent", "131026"), tried("twilio", "permanent", "21610")]
    );
    assert_eq!((fakes.whatsapp.received(), fakes.twilio.received(), fakes.smtp.mails().len()), (3, 3, 1));
    assert_eq!(fakes.smtp.mails()[0].to, ["hadi@example.com"]);
}

async fn an_opt_out_after_planning_is_honoured(db: &TestStore) {
    let store = &db.store;
    import(store, &booking(1, "Budi", None)).await;
    let planned = plan_outage(store, &ALL_CHANNELS).await;
    assert_eq!(planned[0].channel, Some(Channel::Whatsapp));
    // Budi answers STOP on WhatsApp before the worker gets to his message.
    assert!(store.set_opt_out(&mobile(1), Channel::Whatsapp, true).await.unwrap());
    let fakes = Fakes::start().await;
    let worker = worker(store, fakes.config()).await;
    let inspect = Inspect::open(&db.url).await;

    assert_eq!(worker.step(now()).await.unwrap(), report(1, 0, 1, 0));
    assert_eq!(fakes.whatsapp.received(), 0, "WhatsApp is not called for an opted-out applicant");
    let row = inspect.message(planned[0].id).await;
    assert_eq!((row.channel(), row.status.as_str()), (Some(Channel::Sms), "queued"));

    assert_eq!(worker.step(now()).await.unwrap(), report(1, 1, 0, 0));
    let request = fakes.twilio.wait_for(1).await;
    assert_eq!(request.field("To").as_deref(), Some(mobile(1).e164()));
    let row = inspect.message(planned[0].id).await;
    assert_eq!((row.status.as_str(), row.provider.as_deref()), ("sent", Some("twilio")));
    let attempts = inspect.attempts(planned[0].id).await;
    let tries: Vec<_> =
        attempts.iter().map(|a| (a.channel.as_str(), a.provider.as_str(), a.outcome.as_str())).collect();
    assert_eq!(tries, [("whatsapp", "kabar", "permanent"), ("sms", "twilio", "accepted")]);
    assert_eq!(fakes.whatsapp.received(), 0);
}

store_tests!(
    each_channel_is_sent_through_its_provider,
    a_permanent_failure_moves_the_message_to_the_next_channel,
    an_opt_out_after_planning_is_honoured,
);
