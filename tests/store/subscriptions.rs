//! Status subscriptions in the store, on both engines: a subscriber is pending until confirmed,
//! hears only of state changes of their office recorded after confirming, once each however often
//! the planner runs, and nothing after unsubscribing; their messages carry no applicant.

use chrono::Duration;
use kabar::domain::{Channel, Language, OfficeCode, Service, ServiceState};
use kabar::store::{
    ConfirmOutcome, FallBack, NewSubscriber, Store, SubscribeOutcome, SubscriberMessageFacts,
    UnsubscribeOutcome,
};

use crate::fixtures::{at, change, import_offices, sql};
use crate::harness::TestStore;

const NOW: &str = "2024-06-20T03:00:00Z";

struct Hashes {
    salt: String,
    confirm: String,
    unsubscribe: String,
}

fn hashes(n: u32) -> Hashes {
    Hashes {
        salt: format!("salt-{n}"),
        confirm: format!("confirm-{n}"),
        unsubscribe: format!("unsubscribe-{n}"),
    }
}

async fn subscribe(store: &Store, office: &str, email: &str, h: &Hashes, now: &str) -> SubscribeOutcome {
    let office: OfficeCode = office.parse().unwrap();
    let email = email.parse().unwrap();
    store
        .subscribe(&NewSubscriber {
            office: &office,
            email: &email,
            language: Language::En,
            salt: &h.salt,
            confirm_hash: &h.confirm,
            unsubscribe_hash: &h.unsubscribe,
            confirm_expires_at: at(now) + Duration::hours(48),
            now: at(now),
            client: Some("192.0.2.7".into()),
            request_id: None,
        })
        .await
        .unwrap()
}

/// Claims what is due and returns the subscribers' facts of it (the applicants' facts of the
/// same ids must be empty: a subscriber is not an applicant); then they count as sent.
async fn claim(db: &TestStore, now: &str) -> Vec<SubscriberMessageFacts> {
    let store = &db.store;
    let claims = store.claim_messages("test-worker", at(now), Duration::seconds(60), 100).await.unwrap();
    let ids: Vec<i64> = claims.iter().map(|claim| claim.id).collect();
    assert!(store.message_facts(&ids).await.unwrap().is_empty(), "no applicant facts for subscribers");
    let facts = store.subscriber_message_facts(&ids).await.unwrap();
    sql(db, "UPDATE messages SET status = 'sent' WHERE status = 'sending'").await;
    facts
}

async fn a_subscriber_hears_of_changes_after_confirming_once_each_until_they_leave(db: &TestStore) {
    let store = &db.store;
    import_offices(store).await;
    let secret = store.server_secret("status_subscriptions", at(NOW)).await.unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(store.server_secret("status_subscriptions", at(NOW)).await.unwrap(), secret, "made once");
    // Before anyone subscribes.
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, "2024-06-20T02:00:00Z").await;

    let h = hashes(1);
    let SubscribeOutcome::ConfirmationQueued { subscriber_id } =
        subscribe(store, "PLG", "reader@example.com", &h, NOW).await
    else {
        panic!("a new address gets a confirmation mail")
    };
    let confirmations = claim(db, NOW).await;
    assert_eq!(confirmations.len(), 1);
    assert_eq!(confirmations[0].kind, "status_confirm");
    assert_eq!(confirmations[0].email.as_str(), "reader@example.com");
    assert_eq!((confirmations[0].salt.as_str(), confirmations[0].language), ("salt-1", Language::En));
    assert_eq!(confirmations[0].confirm_expires_at, at(NOW) + Duration::hours(48));
    assert!(confirmations[0].change.is_none());

    // Pending: nothing planned for them, even for a new change.
    change(store, "PLG", Service::Biometrics, ServiceState::Degraded, "2024-06-20T03:01:00Z").await;
    assert_eq!(store.plan_subscriber_updates(at(NOW), at(NOW)).await.unwrap(), 0);

    assert_eq!(store.confirm_subscriber("confirm-x", at(NOW)).await.unwrap(), ConfirmOutcome::Unknown);
    let late = at(NOW) + Duration::hours(49);
    assert_eq!(store.confirm_subscriber(&h.confirm, late).await.unwrap(), ConfirmOutcome::Expired);
    let office: OfficeCode = "PLG".parse().unwrap();
    assert_eq!(
        store.confirm_subscriber(&h.confirm, at(NOW)).await.unwrap(),
        ConfirmOutcome::Confirmed { subscriber_id, office: office.clone() }
    );
    assert_eq!(
        store.confirm_subscriber(&h.confirm, at(NOW)).await.unwrap(),
        ConfirmOutcome::AlreadyConfirmed { office: office.clone() }
    );
    // Changes recorded before confirming are not news to them.
    let later = "2024-06-20T04:00:00Z";
    assert_eq!(store.plan_subscriber_updates(at(later), at(later)).await.unwrap(), 0);

    // A restoration at their office, and a change elsewhere.
    change(store, "PLG", Service::Printing, ServiceState::Operational, "2024-06-20T05:00:00Z").await;
    change(store, "GTO", Service::Printing, ServiceState::Unavailable, "2024-06-20T05:00:00Z").await;
    let (before, settled) = ("2024-06-20T04:59:00Z", "2024-06-20T05:02:00Z");
    assert_eq!(store.plan_subscriber_updates(at(before), at(settled)).await.unwrap(), 0, "not settled yet");
    assert_eq!(store.plan_subscriber_updates(at(settled), at(settled)).await.unwrap(), 1);
    assert_eq!(store.plan_subscriber_updates(at(settled), at(settled)).await.unwrap(), 0, "planned once");
    let updates = claim(db, settled).await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].kind, "status_update");
    let about = updates[0].change.as_ref().unwrap();
    assert_eq!(
        (about.office.as_str(), about.service, about.to),
        ("PLG", Service::Printing, ServiceState::Operational)
    );
    assert_eq!(about.from, ServiceState::Unavailable);

    // Confirmed already: asking again sends nothing.
    assert_eq!(
        subscribe(store, "PLG", "reader@example.com", &hashes(2), settled).await,
        SubscribeOutcome::AlreadyConfirmed { subscriber_id }
    );
    assert!(claim(db, settled).await.is_empty());

    // One more change is queued, then they leave: it is cancelled, and nothing follows.
    change(store, "PLG", Service::Biometrics, ServiceState::Operational, "2024-06-20T06:00:00Z").await;
    let six = "2024-06-20T06:00:00Z";
    assert_eq!(store.plan_subscriber_updates(at(six), at(six)).await.unwrap(), 1);
    assert_eq!(
        store.unsubscribe_subscriber("unsubscribe-x", at(six)).await.unwrap(),
        UnsubscribeOutcome::Unknown
    );
    assert_eq!(
        store.unsubscribe_subscriber(&h.unsubscribe, at(six)).await.unwrap(),
        UnsubscribeOutcome::Unsubscribed { subscriber_id, office: office.clone(), cancelled: 1 }
    );
    assert_eq!(
        store.unsubscribe_subscriber(&h.unsubscribe, at(six)).await.unwrap(),
        UnsubscribeOutcome::AlreadyGone { office: office.clone() }
    );
    assert!(claim(db, six).await.is_empty(), "the queued update was cancelled");
    change(store, "PLG", Service::Printing, ServiceState::Degraded, "2024-06-20T07:00:00Z").await;
    let seven = "2024-06-20T07:00:00Z";
    assert_eq!(store.plan_subscriber_updates(at(seven), at(seven)).await.unwrap(), 0);

    // Coming back starts over: pending, a new confirmation, the same subscriber.
    let again = hashes(3);
    assert_eq!(
        subscribe(store, "PLG", "reader@example.com", &again, seven).await,
        SubscribeOutcome::ConfirmationQueued { subscriber_id }
    );
    let confirmations = claim(db, seven).await;
    assert_eq!((confirmations.len(), confirmations[0].salt.as_str()), (1, "salt-3"));
    assert_eq!(
        store.confirm_subscriber(&h.confirm, at(seven)).await.unwrap(),
        ConfirmOutcome::Unknown,
        "old link"
    );
}

async fn a_subscribers_mail_that_fails_permanently_fails_without_a_next_channel(db: &TestStore) {
    let store = &db.store;
    import_offices(store).await;
    subscribe(store, "GTO", "nobody@example.com", &hashes(1), NOW).await;
    let claims = store.claim_messages("test-worker", at(NOW), Duration::seconds(60), 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    let order = [Channel::Whatsapp, Channel::Sms, Channel::Email];
    let moved =
        store.fall_back(claims[0].id, Channel::Email, &order, "550 no such mailbox", at(NOW)).await.unwrap();
    assert_eq!(moved, FallBack::Failed);
    assert!(store
        .claim_messages("test-worker", at(NOW) + Duration::hours(1), Duration::seconds(60), 10)
        .await
        .unwrap()
        .is_empty());
}

crate::store_tests!(
    a_subscriber_hears_of_changes_after_confirming_once_each_until_they_leave,
    a_subscribers_mail_that_fails_permanently_fails_without_a_next_channel,
);
