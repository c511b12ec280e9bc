//! Claims hold for their lease: a crashed worker's messages wait for the lease to run out, then go
//! out once; workers claiming side by side on PostgreSQL never send a message twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kabar::deliver::{DeliveryConfig, StepReport};
use kabar::domain::Channel;
use kabar::store::{Attempt, AttemptOutcome, DatabaseUrl, Store};

use crate::fakes::Fault;
use crate::harness::TestStore;
use crate::store_tests;
use crate::support::{bookings, execute, import, now, plan_outage, seconds, worker, Fakes, Inspect};

async fn a_crashed_workers_claims_wait_for_their_lease(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(4)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    let config = fakes.config();
    let lease = seconds(config.lease_seconds as i64);
    let worker = worker(store, config).await;

    // A worker claims everything, then dies before it records anything.
    let crashed = store.claim_messages("a-crashed-worker", now(), lease, 100).await.unwrap();
    assert_eq!(crashed.len(), planned.len());
    assert_eq!(worker.step(now()).await.unwrap(), StepReport::default(), "the claims hold");
    assert_eq!(worker.step(now() + lease - seconds(1)).await.unwrap(), StepReport::default());
    assert_eq!(fakes.twilio.received(), 0);

    let after = now() + lease + seconds(1);
    let report = worker.step(after).await.unwrap();
    assert_eq!((report.claimed, report.sent), (planned.len(), planned.len()));
    assert_eq!(worker.step(after).await.unwrap(), StepReport::default());
    let mut recipients: Vec<String> =
        fakes.twilio.requests().iter().map(|request| request.field("To").unwrap()).collect();
    recipients.sort();
    let expected: Vec<String> = planned.iter().map(|message| message.mobile.e164().to_owned()).collect();
    assert_eq!(recipients, expected, "each message was sent once");

    // The crashed worker wakes up and reports a failure: its claims are stale and change nothing.
    let stale: Vec<Attempt> = crashed
        .iter()
        .map(|claim| Attempt {
            claim: *claim,
            channel: Channel::Sms,
            provider: "twilio".into(),
            started_at: now(),
            duration_ms: 1,
            outcome: AttemptOutcome::Failed { class: "technical" },
            response_code: Some("500".into()),
            error: Some("stale".into()),
        })
        .collect();
    assert_eq!(store.record_attempts(&stale, after).await.unwrap(), []);
    let inspect = Inspect::open(&db.url).await;
    for row in inspect.messages().await {
        assert_eq!((row.status.as_str(), row.provider.as_deref()), ("sent", Some("twilio")), "{row:?}");
        assert_eq!(row.attempts, 2, "the lost claim counts as a try");
        assert_eq!(inspect.attempts(row.id).await.len(), 1, "only the recorded try has a row");
    }
}

/// A worker that stops before sending gives its claims back: due at once, the try not counted.
async fn released_claims_are_due_at_once(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(2)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    let worker = worker(store, fakes.config()).await;

    let claims = store.claim_messages("a-crashed-worker", now(), seconds(300), 100).await.unwrap();
    assert_eq!(claims.len(), planned.len());
    store.release_claims(&claims, now()).await.unwrap();
    let report = worker.step(now()).await.unwrap();
    assert_eq!((report.claimed, report.sent), (planned.len(), planned.len()));
    let inspect = Inspect::open(&db.url).await;
    for row in inspect.messages().await {
        assert_eq!((row.status.as_str(), row.attempts), ("sent", 1), "{row:?}");
    }
    // Released twice (a retried shutdown): the second release finds no claim of its own.
    store.release_claims(&claims, now()).await.unwrap();
    assert!(inspect.messages().await.iter().all(|row| row.status == "sent"));
}

/// A batch larger than one statement's worth of rows, every outcome mixed: each message gets its
/// own new state, each held claim one attempt row, and a stale claim nothing.
async fn a_large_batch_records_every_outcome_once(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(2_100)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    assert_eq!(planned.len(), 2_100);
    let mut claims = store.claim_messages("a-crashed-worker", now(), seconds(300), 5_000).await.unwrap();
    assert_eq!(claims.len(), planned.len());
    let stale = claims[1_500].id;
    claims[1_500].attempt -= 1; // an older claim of the same message: fenced off
    let retry_at = now() + seconds(90);
    let attempts: Vec<Attempt> = claims
        .iter()
        .enumerate()
        .map(|(n, claim)| Attempt {
            claim: *claim,
            channel: Channel::Sms,
            provider: "twilio".into(),
            started_at: now(),
            duration_ms: 3,
            outcome: match n % 4 {
                0 => AttemptOutcome::Accepted { provider_message_id: format!("SM{n:032}") },
                1 => AttemptOutcome::Retry { retry_at },
                2 => AttemptOutcome::Failed { class: "technical" },
                _ => AttemptOutcome::FallBack,
            },
            response_code: Some("201".into()),
            error: (n % 4 != 0).then(|| format!("try {n}")),
        })
        .collect();

    let held = store.record_attempts(&attempts, now()).await.unwrap();
    assert_eq!(held.len(), claims.len() - 1);
    assert!(held.iter().all(|claim| claim.id != stale));

    let inspect = Inspect::open(&db.url).await;
    let rows: HashMap<i64, _> = inspect.messages().await.into_iter().map(|row| (row.id, row)).collect();
    for (n, claim) in claims.iter().enumerate() {
        let row = &rows[&claim.id];
        let found = (row.status.as_str(), row.failure_class.as_deref(), row.provider_message_id.is_some());
        let expected = match n % 4 {
            _ if claim.id == stale => ("sending", None, false),
            0 => ("sent", None, true),
            1 => ("queued", Some("temporary"), false),
            2 => ("failed", Some("technical"), false),
            _ => ("sending", None, false), // kept for fall_back, which moves it on
        };
        assert_eq!(found, expected, "message {n}: {row:?}");
        if n % 4 == 1 {
            assert_eq!(row.not_before(), retry_at);
        }
        if claim.id != stale {
            assert_eq!(row.provider.as_deref(), Some("twilio"));
        }
    }
    assert_eq!(inspect.attempt_count().await, claims.len() as i64 - 1, "one attempt row per held claim");
    assert!(inspect.attempts(stale).await.is_empty());
}

/// Recording fails for good (not a store that is briefly away): the worker stops claiming and
/// says so; whatever else was sent is still recorded, so no applicant gets it twice when its
/// lease ends, and what was never claimed stays queued.
async fn a_store_failure_mid_flow_still_records_what_was_sent(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(6)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    let mut ids: Vec<i64> = planned.iter().map(|message| message.id).collect();
    ids.sort();
    // Due one second apart in id order, so batches of two are claimed in id order; recording
    // the first message's try fails.
    let first = ids[0];
    let stagger = format!("UPDATE messages SET not_before = not_before - 100 + id - {first}");
    let trigger: Vec<String> = match &db.url {
        DatabaseUrl::Sqlite(_) => vec![format!(
            "CREATE TRIGGER injected_fault BEFORE INSERT ON message_attempts
             WHEN NEW.message_id = {first} BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        )],
        DatabaseUrl::Postgres(_) => vec![
            format!(
                "CREATE FUNCTION injected_fault() RETURNS trigger AS $$
                 BEGIN IF NEW.message_id = {first} THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END
                 $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER injected_fault BEFORE INSERT ON message_attempts
             FOR EACH ROW EXECUTE FUNCTION injected_fault()"
                .into(),
        ],
    };
    let mut statements = vec![stagger.as_str()];
    statements.extend(trigger.iter().map(String::as_str));
    execute(&db.url, &statements).await;
    let fakes = Fakes::start().await;
    let worker = worker(store, DeliveryConfig { batch_size: 2, concurrency: 2, ..fakes.config() }).await;

    let failed = worker.drain(now()).await;

    assert!(failed.is_err(), "the injected fault stops the worker: {failed:?}");
    // The first's outcome could not be recorded (nor any other in its group); every other
    // message sent was recorded as it arrived; the worker stopped claiming, so the rest stay
    // queued, and nothing went out that the database does not account for.
    let inspect = Inspect::open(&db.url).await;
    let statuses: Vec<String> = inspect.messages().await.into_iter().map(|row| row.status).collect();
    assert_eq!(statuses[0], "sending", "{statuses:?}");
    let count = |wanted: &str| statuses.iter().filter(|status| *status == wanted).count();
    assert_eq!(count("sent") + count("sending") + count("queued"), statuses.len(), "{statuses:?}");
    assert_eq!(fakes.twilio.received(), count("sent") + count("sending"), "{statuses:?}");
    assert!(count("sending") <= 2, "no more unrecorded than in flight: {statuses:?}");
    assert_eq!(
        inspect.attempt_count().await,
        count("sent") as i64,
        "an attempt row for each outcome recorded"
    );
}

store_tests!(
    a_store_failure_mid_flow_still_records_what_was_sent,
    a_crashed_workers_claims_wait_for_their_lease,
    released_claims_are_due_at_once,
    a_large_batch_records_every_outcome_once
);

const SIDE_BY_SIDE: u32 = 40;

/// PostgreSQL only: SQLite has one writer per database, so two workers there take turns anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_postgres_send_each_message_once() {
    let Some(db) = TestStore::postgres().await else {
        eprintln!("KABAR_TEST_POSTGRES_URL is not set: two workers on PostgreSQL skipped");
        return;
    };
    import(&db.store, &bookings(SIDE_BY_SIDE)).await;
    let planned = plan_outage(&db.store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    // Slow answers keep each worker's batch in flight while the other claims.
    fakes.twilio.fail_times(planned.len(), Fault::Delay(Duration::from_millis(20)));
    let config = DeliveryConfig { batch_size: 5, concurrency: 5, ..fakes.config() };
    let first = Arc::new(worker(&db.store, config.clone()).await);
    let other_store = Store::open(&db.url).await.expect("a second handle on the database");
    let second = Arc::new(worker(&other_store, config).await);

    let drains = [first, second].map(|worker| tokio::spawn(async move { worker.drain(now()).await }));
    let mut reports = Vec::new();
    for drain in drains {
        reports.push(drain.await.expect("the worker does not panic").expect("the worker runs"));
    }

    let sent: usize = reports.iter().map(|report| report.sent).sum();
    let claimed: usize = reports.iter().map(|report| report.claimed).sum();
    assert_eq!((sent, claimed), (planned.len(), planned.len()), "{reports:?}");
    assert!(reports.iter().all(|report| report.sent > 0), "both workers took a share: {reports:?}");
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for request in fakes.twilio.requests() {
        *per_recipient.entry(request.field("To").unwrap()).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), planned.len());
    assert!(per_recipient.values().all(|&count| count == 1), "a message went out twice: {per_recipient:?}");
    let inspect = Inspect::open(&db.url).await;
    for row in inspect.messages().await {
        assert_eq!((row.status.as_str(), row.attempts), ("sent", 1), "{row:?}");
    }
    other_store.close().await;
}
