//! Two SMS providers behind the worker: when Twilio breaks, its breaker opens and Infobip carries
//! the traffic, and every message still goes out exactly once.

use kabar::deliver::providers::failover::FailoverConfig;
use kabar::deliver::{DeliveryConfig, StepReport};
use kabar::domain::Channel;

use crate::fakes::Fault;
use crate::harness::TestStore;
use crate::store_tests;
use crate::support::{bookings, import, now, plan_outage, worker, Fakes, Inspect};

const APPLICANTS: u32 = 30;

async fn sms_fails_over_to_infobip_when_twilio_breaks(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(APPLICANTS)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    assert_eq!(planned.len(), APPLICANTS as usize);
    let fakes = Fakes::start().await;
    // Twilio answers nothing but errors, however often it is asked.
    fakes.twilio.fail_times(1000, Fault::status(500));
    let breaker_failures = 3;
    let concurrency = 4;
    let config = DeliveryConfig {
        concurrency,
        infobip: Some(fakes.infobip.config()),
        failover: FailoverConfig { breaker_failures, ..FailoverConfig::default() },
        ..fakes.config()
    };
    assert_eq!((config.sms_weights["twilio"], config.sms_weights["infobip"]), (50, 50));
    let worker = worker(store, config).await;

    // Each round sends what is due, then time moves on to the next retry.
    let mut at = now();
    let mut total = StepReport::default();
    for round in 0.. {
        assert!(round < 10, "still not everything sent after {round} rounds: {total:?}");
        let report = worker.drain(at).await.unwrap();
        total.sent += report.sent;
        total.retried += report.retried;
        total.failed += report.failed;
        match store.next_due().await.unwrap() {
            Some(due) => at = due,
            None => break,
        }
    }

    let inspect = Inspect::open(&db.url).await;
    for row in inspect.messages().await {
        assert_eq!((row.status.as_str(), row.provider.as_deref()), ("sent", Some("infobip")), "{row:?}");
    }
    assert_eq!((total.sent, total.failed), (planned.len(), 0));
    // Every request to Twilio failed and was retried; Infobip took each message once.
    let twilio = fakes.twilio.received();
    assert_eq!(total.retried, twilio);
    assert_eq!(fakes.infobip.received(), planned.len());
    let mut recipients: Vec<String> = fakes
        .infobip
        .requests()
        .iter()
        .map(|request| request.json()["messages"][0]["destinations"][0]["to"].as_str().unwrap().to_owned())
        .collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), planned.len(), "no applicant got the SMS twice");
    // The breaker opened after `breaker_failures` failures in a row; only sends already chosen
    // before it opened reached Twilio after that.
    assert!(
        (breaker_failures as usize..breaker_failures as usize + concurrency).contains(&twilio),
        "Twilio was asked {twilio} times"
    );
    assert_eq!(inspect.attempt_count().await, (planned.len() + twilio) as i64);
}

store_tests!(sms_fails_over_to_infobip_when_twilio_breaks);
