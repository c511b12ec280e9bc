//! Transient failures: the message waits (backoff, or the provider's `Retry-After`) and is tried
//! again on the same channel, until the attempt budget is spent.

use kabar::deliver::StepReport;
use kabar::domain::Channel;

use crate::fakes::Fault;
use crate::harness::TestStore;
use crate::store_tests;
use crate::support::{booking, import, now, plan_outage, seconds, worker, Fakes, Inspect};

fn retried(claimed: usize) -> StepReport {
    StepReport { claimed, retried: claimed, ..StepReport::default() }
}

fn sent(claimed: usize) -> StepReport {
    StepReport { claimed, sent: claimed, ..StepReport::default() }
}

async fn a_server_error_is_retried_after_the_backoff(db: &TestStore) {
    let store = &db.store;
    import(store, &booking(1, "Budi", None)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    fakes.twilio.fail_next(Fault::status(500));
    let config = fakes.config();
    let backoff = config.backoff_seconds as i64;
    let worker = worker(store, config).await;
    let inspect = Inspect::open(&db.url).await;

    assert_eq!(worker.step(now()).await.unwrap(), retried(1));
    let row = inspect.message(planned[0].id).await;
    assert_eq!(
        (row.status.as_str(), row.failure_class.as_deref(), row.attempts),
        ("queued", Some("temporary"), 1)
    );
    // The first retry waits the backoff, give or take its 20% jitter.
    let wait = row.not_before() - now();
    assert!(wait >= seconds(backoff * 8 / 10) && wait <= seconds(backoff * 12 / 10), "waits {wait}");
    assert_eq!(store.next_due().await.unwrap(), Some(row.not_before()));

    assert_eq!(
        worker.step(row.not_before() - seconds(1)).await.unwrap(),
        StepReport::default(),
        "not yet due"
    );
    assert_eq!(worker.step(row.not_before()).await.unwrap(), sent(1));
    let row = inspect.message(planned[0].id).await;
    assert_eq!((row.status.as_str(), row.provider.as_deref(), row.attempts), ("sent", Some("twilio"), 2));
    assert_eq!(row.failure_class, None, "the temporary failure is cleared once sent");
    let outcomes: Vec<_> =
        inspect.attempts(planned[0].id).await.into_iter().map(|a| (a.outcome, a.response_code)).collect();
    assert_eq!(
        outcomes,
        [("temporary".to_owned(), Some("500".to_owned())), ("accepted".to_owned(), Some("201".to_owned()))]
    );
    assert_eq!(fakes.twilio.received(), 2);
}

async fn retry_after_is_honoured_over_a_shorter_backoff(db: &TestStore) {
    let store = &db.store;
    import(store, &booking(1, "Budi", None)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    fakes.twilio.fail_next(crate::fakes::twilio::error(429, 20429, "Too Many Requests").retry_after("120"));
    let worker = worker(store, fakes.config()).await;
    let inspect = Inspect::open(&db.url).await;

    assert_eq!(worker.step(now()).await.unwrap(), retried(1));
    let row = inspect.message(planned[0].id).await;
    assert_eq!(row.status, "queued");
    assert_eq!(row.not_before(), now() + seconds(120), "Twilio asked for two minutes; the backoff is 10 s");

    assert_eq!(worker.step(now() + seconds(119)).await.unwrap(), StepReport::default());
    assert_eq!(fakes.twilio.received(), 1);
    assert_eq!(worker.step(now() + seconds(120)).await.unwrap(), sent(1));
    let row = inspect.message(planned[0].id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    assert_eq!(inspect.attempts(planned[0].id).await.len(), 2);
}

async fn a_provider_that_keeps_failing_exhausts_the_attempt_budget(db: &TestStore) {
    let store = &db.store;
    import(store, &booking(1, "Budi", None)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    fakes.twilio.fail_times(10, Fault::status(500));
    let config = kabar::deliver::DeliveryConfig { max_attempts: 3, ..fakes.config() };
    let worker = worker(store, config).await;
    let inspect = Inspect::open(&db.url).await;

    let mut at = now();
    let mut waits = Vec::new();
    for _ in 0..2 {
        assert_eq!(worker.step(at).await.unwrap(), retried(1));
        let due = store.next_due().await.unwrap().expect("a retry is due");
        waits.push((due - at).num_seconds());
        at = due;
    }
    let failed = StepReport { claimed: 1, failed: 1, ..StepReport::default() };
    assert_eq!(worker.step(at).await.unwrap(), failed);
    // 10 s then 20 s, each within its 20% jitter.
    assert!((8..=12).contains(&waits[0]) && (16..=24).contains(&waits[1]), "{waits:?}");

    let row = inspect.message(planned[0].id).await;
    assert_eq!(
        (row.status.as_str(), row.failure_class.as_deref(), row.attempts),
        ("failed", Some("technical"), 3)
    );
    assert_eq!(row.channel(), Some(Channel::Sms), "a technical failure does not move to the next channel");
    let outcomes: Vec<_> = inspect.attempts(planned[0].id).await.into_iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, ["temporary", "temporary", "technical"]);
    assert_eq!(fakes.twilio.received(), 3);
    assert_eq!(store.next_due().await.unwrap(), None, "nothing is left to do");
    assert_eq!(worker.step(at + seconds(3600)).await.unwrap(), StepReport::default());
}

store_tests!(
    a_server_error_is_retried_after_the_backoff,
    retry_after_is_honoured_over_a_shorter_backoff,
    a_provider_that_keeps_failing_exhausts_the_attempt_budget,
    the_attempt_budget_starts_afresh_on_the_next_channel,
);

/// `delivery.max_attempts` counts the tries on one channel: a message that fell back from
/// WhatsApp starts SMS with its whole budget (`messages.attempts`, which fences stale claims, keeps
/// counting; `channel_attempts` starts again).
async fn the_attempt_budget_starts_afresh_on_the_next_channel(db: &TestStore) {
    let store = &db.store;
    import(store, &booking(1, "Budi", None)).await;
    let planned = plan_outage(store, &[Channel::Whatsapp, Channel::Sms]).await;
    let fakes = Fakes::start().await;
    fakes.whatsapp.not_on_whatsapp(crate::support::mobile(1).e164().trim_start_matches('+'));
    fakes.twilio.fail_next(Fault::status(500));
    let config = kabar::deliver::DeliveryConfig { max_attempts: 2, ..fakes.config() };
    let worker = worker(store, config).await;

    let fell_back = StepReport { claimed: 1, fell_back: 1, ..StepReport::default() };
    assert_eq!(worker.step(now()).await.unwrap(), fell_back);
    assert_eq!(worker.step(now()).await.unwrap(), retried(1), "the first SMS try of two may be retried");
    let due = store.next_due().await.unwrap().expect("a retry is due");
    assert_eq!(worker.step(due).await.unwrap(), sent(1));
    let row = Inspect::open(&db.url).await.message(planned[0].id).await;
    assert_eq!((row.status.as_str(), row.provider.as_deref()), ("sent", Some("twilio")));
}
