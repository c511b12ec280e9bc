//! Receipts, opt-out replies and email unsubscribes on both engines.

use chrono::{DateTime, Utc};
use kabar::domain::{Channel, Msisdn, Service, ServiceState};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::receipts::{InboundReply, Receipt, ReceiptStatus};
use kabar::store::{DatabaseUrl, PlannedMessage, ReceiptReport, ReplyOutcome, Store};

use crate::fixtures::{at, bookings_csv, change, import_bookings, import_offices};
use crate::harness::TestStore;

/// Ayu (WhatsApp is her mobile), Bayu (with email), Cici (WhatsApp on another number, 0033),
/// Dedi (email only: opted out of WhatsApp and SMS).
const BOOKINGS: &str = "\
R-A1,PLG,,Ayu,0812-2000-0001,,,,2024-06-21 09:00,regular,no,booked,
R-B1,PLG,,Bayu,0812-2000-0002,bayu@example.com,,,2024-06-21 09:30,regular,no,booked,
R-C1,PLG,,Cici,0812-2000-0003,,0812-2000-0033,,2024-06-21 10:00,regular,no,booked,
R-D1,PLG,,Dedi,0812-2000-0004,dedi@example.com,,,2024-06-21 10:30,regular,no,booked,
";

const NOW: &str = "2024-06-20T03:00:00Z"; // 10:00 WIB

const ORDER: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

fn mobile(last: u32) -> Msisdn {
    format!("0812-2000-{last:04}").parse().unwrap()
}

/// A STOP on `channel` from the mobile ending in `last`, with the provider's message id `id`.
fn stop(channel: Channel, last: u32, id: &str) -> InboundReply {
    let provider = if channel == Channel::Sms { "twilio" } else { "whatsapp" };
    InboundReply {
        channel,
        provider,
        provider_message_id: Some(id.into()),
        from: mobile(last),
        opt_out: true,
    }
}

/// Plans a printing outage at Palembang with `channels` and returns its messages, by mobile.
async fn planned(db: &TestStore, channels: &[Channel]) -> Vec<PlannedMessage> {
    let store = &db.store;
    import_offices(store).await;
    assert!(import_bookings(store, &bookings_csv(BOOKINGS), true).await.is_clean());
    for channel in [Channel::Whatsapp, Channel::Sms] {
        assert!(store.set_opt_out(&mobile(4), channel, true).await.unwrap());
    }
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, NOW).await;
    let config = PlannerConfig { settle_seconds: 0, channels: channels.to_vec(), ..PlannerConfig::default() };
    let events = plan_once(store, &config, at(NOW)).await.unwrap();
    assert_eq!(events.len(), 1);
    let messages = store.planned_messages(events[0].counts.event_id).await.unwrap();
    assert_eq!(messages.len(), 4);
    messages
}

fn id_of(messages: &[PlannedMessage], last: u32) -> i64 {
    messages.iter().find(|m| m.mobile == mobile(last)).unwrap().id
}

/// Runs one statement of test setup or inspection straight on the database, as the dispatcher
/// (being written alongside) will when a provider accepts a message.
async fn sql(db: &TestStore, statement: &str) {
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
            sqlx::query(statement).execute(&pool).await.unwrap();
            pool.close().await;
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            sqlx::query(statement).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// The provider accepted message `id` as `provider_id`.
async fn accepted(db: &TestStore, id: i64, provider: &str, provider_id: &str) {
    sql(
        db,
        &format!(
            "UPDATE messages SET status = 'sent', provider = '{provider}', provider_message_id = '{provider_id}' \
             WHERE id = {id}"
        ),
    )
    .await;
}

/// (channel, status, failure class, failure reason, provider id, sent, delivered, read, failed)
type Row = (
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

async fn row(db: &TestStore, id: i64) -> Row {
    let query = "SELECT channel, status, failure_class, failure_reason, provider_message_id, \
                 sent_at, delivered_at, read_at, failed_at FROM messages WHERE id = $1";
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
            let row = sqlx::query_as(query).bind(id).fetch_one(&pool).await.unwrap();
            pool.close().await;
            row
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            let row = sqlx::query_as(query).bind(id).fetch_one(&pool).await.unwrap();
            pool.close().await;
            row
        }
    }
}

async fn count(db: &TestStore, query: &str) -> i64 {
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
            let count = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
            pool.close().await;
            count
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            let count = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
            pool.close().await;
            count
        }
    }
}

fn receipt(provider: &'static str, id: &str, status: ReceiptStatus, when: &str) -> Receipt {
    Receipt { provider, provider_message_id: id.to_owned(), status, at: at(when) }
}

fn failed(permanent: bool, code: &str) -> ReceiptStatus {
    ReceiptStatus::Failed { permanent, code: Some(code.into()), reason: format!("test failure {code}") }
}

async fn apply(store: &Store, receipts: &[Receipt]) -> ReceiptReport {
    store.apply_receipts(receipts, &ORDER).await.unwrap()
}

fn report(applied: u64, stale: u64, unknown: u64) -> ReceiptReport {
    ReceiptReport { applied, stale, unknown }
}

fn epoch(when: &str) -> Option<i64> {
    Some(at(when).timestamp())
}

async fn statuses_only_move_forward(db: &TestStore) {
    let messages = planned(db, &ORDER).await;
    let store = &db.store;
    let (ayu, bayu) = (id_of(&messages, 1), id_of(&messages, 2));
    accepted(db, ayu, "whatsapp", "wamid.AYU").await;
    accepted(db, bayu, "whatsapp", "wamid.BAYU").await;
    let (t1, t2, t3) = ("2024-06-20T03:01:00Z", "2024-06-20T03:02:00Z", "2024-06-20T03:03:00Z");

    let delivered = receipt("whatsapp", "wamid.AYU", ReceiptStatus::Delivered, t2);
    assert_eq!(apply(store, std::slice::from_ref(&delivered)).await, report(1, 0, 0));
    // Order is not guaranteed: a late `sent`, the same `delivered` again, then a failure.
    let late = [
        receipt("whatsapp", "wamid.AYU", ReceiptStatus::Sent, t1),
        delivered,
        receipt("whatsapp", "wamid.AYU", failed(false, "131000"), t2),
        receipt("whatsapp", "wamid.AYU", failed(true, "131026"), t2),
    ];
    assert_eq!(apply(store, &late).await, report(0, 4, 0));
    let (channel, status, class, _, _, sent, delivered_at, read, failed_at) = row(db, ayu).await;
    assert_eq!((channel.as_deref(), status.as_str(), class), (Some("whatsapp"), "delivered", None));
    assert_eq!((sent, delivered_at, read, failed_at), (epoch(t2), epoch(t2), None, None));

    assert_eq!(
        apply(store, &[receipt("whatsapp", "wamid.AYU", ReceiptStatus::Read, t3)]).await,
        report(1, 0, 0)
    );
    assert_eq!(
        apply(store, &[receipt("whatsapp", "wamid.AYU", ReceiptStatus::Delivered, t3)]).await,
        report(0, 1, 0)
    );
    let (_, status, _, _, _, _, delivered_at, read, _) = row(db, ayu).await;
    assert_eq!((status.as_str(), delivered_at, read), ("read", epoch(t2), epoch(t3)));

    // Read straight after sent: WhatsApp skipped `delivered`, which is implied.
    let batch = [
        receipt("whatsapp", "wamid.BAYU", ReceiptStatus::Read, t3),
        receipt("whatsapp", "wamid.NOBODY", ReceiptStatus::Delivered, t3),
        receipt("twilio", "wamid.BAYU", ReceiptStatus::Delivered, t3),
    ];
    assert_eq!(apply(store, &batch).await, report(1, 0, 2), "ids are per provider");
    let (_, status, _, _, _, _, delivered_at, read, _) = row(db, bayu).await;
    assert_eq!((status.as_str(), delivered_at, read), ("read", epoch(t3), epoch(t3)));
}

async fn a_permanent_failure_moves_the_message_to_the_next_channel(db: &TestStore) {
    let messages = planned(db, &ORDER).await;
    let store = &db.store;
    let (ayu, dedi) = (id_of(&messages, 1), id_of(&messages, 4));
    accepted(db, ayu, "whatsapp", "wamid.AYU").await;
    accepted(db, dedi, "smtp", "<m-dedi@kabar>").await;

    let failure = receipt("whatsapp", "wamid.AYU", failed(true, "131026"), "2024-06-20T03:05:00Z");
    assert_eq!(apply(store, std::slice::from_ref(&failure)).await, report(1, 0, 0));
    let (channel, status, _, _, provider_id, ..) = row(db, ayu).await;
    assert_eq!((channel.as_deref(), status.as_str(), provider_id), (Some("sms"), "queued", None));
    // The WhatsApp id is gone with the channel: the same receipt again finds nothing.
    assert_eq!(apply(store, &[failure]).await, report(0, 0, 1));

    // Email is Dedi's last channel: the message fails for good and he is on the call list.
    let bounce = receipt("smtp", "<m-dedi@kabar>", failed(true, "550"), "2024-06-20T03:06:00Z");
    assert_eq!(apply(store, &[bounce]).await, report(1, 0, 0));
    let (channel, status, class, reason, _, _, _, _, failed_at) = row(db, dedi).await;
    assert_eq!(
        (channel.as_deref(), status.as_str(), class.as_deref(), reason.as_deref(), failed_at),
        (Some("email"), "failed", Some("permanent"), Some("test failure 550"), epoch("2024-06-20T03:06:00Z"))
    );
}

async fn twilio_21610_in_a_receipt_opts_the_number_out_of_sms(db: &TestStore) {
    let sms_first = [Channel::Sms, Channel::Whatsapp, Channel::Email];
    let messages = planned(db, &sms_first).await;
    let store = &db.store;
    let bayu = id_of(&messages, 2);
    accepted(db, bayu, "twilio", "SM0002").await;
    let unsubscribed = receipt("twilio", "SM0002", failed(true, "21610"), "2024-06-20T03:05:00Z");
    assert_eq!(store.apply_receipts(&[unsubscribed], &sms_first).await.unwrap(), report(1, 0, 0));
    let record = store.applicant(&mobile(2)).await.unwrap().unwrap();
    assert!(record.sms_opted_out && !record.whatsapp_opted_out, "kabar remembers what Twilio knows");
    let (channel, status, ..) = row(db, bayu).await;
    assert_eq!((channel.as_deref(), status.as_str()), (Some("whatsapp"), "queued"));
    // Any other permanent code moves the message on without an opt-out.
    let ayu = id_of(&messages, 1);
    accepted(db, ayu, "twilio", "SM0001").await;
    let invalid = receipt("twilio", "SM0001", failed(true, "30003"), "2024-06-20T03:05:00Z");
    assert_eq!(store.apply_receipts(&[invalid], &sms_first).await.unwrap(), report(1, 0, 0));
    assert!(!store.applicant(&mobile(1)).await.unwrap().unwrap().sms_opted_out);
}

async fn a_temporary_failure_is_recorded_and_a_later_delivery_wins(db: &TestStore) {
    let messages = planned(db, &ORDER).await;
    let store = &db.store;
    let ayu = id_of(&messages, 1);
    accepted(db, ayu, "twilio", "SM0001").await;
    let when = "2024-06-20T03:05:00Z";
    assert_eq!(
        apply(store, &[receipt("twilio", "SM0001", failed(false, "30008"), when)]).await,
        report(1, 0, 0)
    );
    let (channel, status, class, reason, _, _, _, _, failed_at) = row(db, ayu).await;
    assert_eq!(
        (channel.as_deref(), status.as_str(), class.as_deref(), reason.as_deref(), failed_at),
        (Some("whatsapp"), "failed", Some("temporary"), Some("test failure 30008"), epoch(when))
    );
    // A `sent` cannot undo the failure; a delivery report can: the message got there after all.
    assert_eq!(
        apply(store, &[receipt("twilio", "SM0001", ReceiptStatus::Sent, when)]).await,
        report(0, 1, 0)
    );
    let later = "2024-06-20T03:09:00Z";
    assert_eq!(
        apply(store, &[receipt("twilio", "SM0001", ReceiptStatus::Delivered, later)]).await,
        report(1, 0, 0)
    );
    let (_, status, class, reason, _, _, delivered_at, _, failed_at) = row(db, ayu).await;
    assert_eq!(
        (status.as_str(), class, reason, delivered_at, failed_at),
        ("delivered", None, None, epoch(later), None)
    );
}

async fn stop_by_sms_opts_out_and_moves_queued_sms_on(db: &TestStore) {
    let sms_first = [Channel::Sms, Channel::Whatsapp, Channel::Email];
    let messages = planned(db, &sms_first).await;
    let store = &db.store;
    let (ayu, bayu) = (id_of(&messages, 1), id_of(&messages, 2));
    accepted(db, bayu, "twilio", "SM0002").await; // already sent: stays as it is
    let now: DateTime<Utc> = at("2024-06-20T04:00:00Z");

    assert_eq!(
        store.opt_out_by_reply(&stop(Channel::Sms, 1, "in-1"), &sms_first, now).await.unwrap(),
        ReplyOutcome::OptedOut
    );
    assert_eq!(
        store.opt_out_by_reply(&stop(Channel::Sms, 2, "in-2"), &sms_first, now).await.unwrap(),
        ReplyOutcome::OptedOut
    );
    let ayu_record = store.applicant(&mobile(1)).await.unwrap().unwrap();
    assert!(ayu_record.sms_opted_out && !ayu_record.whatsapp_opted_out);
    let (channel, status, ..) = row(db, ayu).await;
    assert_eq!((channel.as_deref(), status.as_str()), (Some("whatsapp"), "queued"), "still reaches Ayu");
    let (channel, status, ..) = row(db, bayu).await;
    assert_eq!((channel.as_deref(), status.as_str()), (Some("sms"), "sent"));
    let (channel, status, ..) = row(db, id_of(&messages, 3)).await;
    assert_eq!((channel.as_deref(), status.as_str()), (Some("sms"), "queued"), "Cici did not reply");

    // A STOP from a number kabar does not know is recorded and changes nothing.
    assert_eq!(
        store.opt_out_by_reply(&stop(Channel::Sms, 99, "in-99"), &sms_first, now).await.unwrap(),
        ReplyOutcome::NoMatch
    );
    let replies =
        count(db, "SELECT COUNT(*) FROM inbound_replies WHERE channel = 'sms' AND action = 'opt_out'").await;
    let unknown =
        count(db, "SELECT COUNT(*) FROM inbound_replies WHERE mobile = '+6281220000099' AND action = 'none'")
            .await;
    assert_eq!((replies, unknown), (2, 1));
}

async fn stop_by_whatsapp_follows_the_whatsapp_number(db: &TestStore) {
    let messages = planned(db, &ORDER).await;
    let store = &db.store;
    let (ayu, cici) = (id_of(&messages, 1), id_of(&messages, 3));
    let now = at("2024-06-20T04:00:00Z");

    // Cici's WhatsApp is 0033: a WhatsApp STOP from her mobile is not hers.
    assert_eq!(
        store.opt_out_by_reply(&stop(Channel::Whatsapp, 3, "in-3"), &ORDER, now).await.unwrap(),
        ReplyOutcome::NoMatch
    );
    assert_eq!(
        store.opt_out_by_reply(&stop(Channel::Whatsapp, 33, "in-33"), &ORDER, now).await.unwrap(),
        ReplyOutcome::OptedOut
    );
    assert_eq!(
        store.opt_out_by_reply(&stop(Channel::Whatsapp, 1, "in-1"), &ORDER, now).await.unwrap(),
        ReplyOutcome::OptedOut
    );
    for (who, id) in [(3, cici), (1, ayu)] {
        let record = store.applicant(&mobile(who)).await.unwrap().unwrap();
        assert!(record.whatsapp_opted_out && !record.sms_opted_out, "{who}");
        let (channel, status, ..) = row(db, id).await;
        assert_eq!((channel.as_deref(), status.as_str()), (Some("sms"), "queued"), "{who}");
    }
    let bayu = store.applicant(&mobile(2)).await.unwrap().unwrap();
    assert!(!bayu.whatsapp_opted_out);
    let whatsapp =
        count(db, "SELECT COUNT(*) FROM inbound_replies WHERE channel = 'whatsapp' AND action = 'opt_out'")
            .await;
    assert_eq!(whatsapp, 2);
}

async fn one_click_unsubscribe_opts_out_of_email(db: &TestStore) {
    planned(db, &ORDER).await;
    let store = &db.store;
    let bayu = store.applicant(&mobile(2)).await.unwrap().unwrap();
    assert!(store.unsubscribe_email(bayu.id).await.unwrap());
    let bayu = store.applicant(&mobile(2)).await.unwrap().unwrap();
    assert!(bayu.email_opted_out && !bayu.sms_opted_out && !bayu.whatsapp_opted_out);
    assert!(!store.unsubscribe_email(999_999).await.unwrap());
}

async fn a_replayed_stop_is_recorded_once(db: &TestStore) {
    let sms_first = [Channel::Sms, Channel::Whatsapp, Channel::Email];
    let messages = planned(db, &sms_first).await;
    let store = &db.store;
    let now = at("2024-06-20T04:00:00Z");
    let first = store.opt_out_by_reply(&stop(Channel::Sms, 1, "SMreplayed"), &sms_first, now).await.unwrap();
    assert_eq!(first, ReplyOutcome::OptedOut);
    // The provider delivers the same webhook again, later.
    let later = at("2024-06-20T05:00:00Z");
    let again =
        store.opt_out_by_reply(&stop(Channel::Sms, 1, "SMreplayed"), &sms_first, later).await.unwrap();
    assert_eq!(again, ReplyOutcome::Replayed);
    let rows = |query: &'static str| count(db, query);
    assert_eq!(
        rows("SELECT COUNT(*) FROM inbound_replies WHERE provider_message_id = 'SMreplayed'").await,
        1
    );
    let (channel, status, ..) = row(db, id_of(&messages, 1)).await;
    assert_eq!((channel.as_deref(), status.as_str()), (Some("whatsapp"), "queued"), "moved once");

    // The same id from another provider is another message; so is another id from the same number.
    let whatsapp = InboundReply {
        provider: "whatsapp",
        channel: Channel::Whatsapp,
        ..stop(Channel::Sms, 2, "SMreplayed")
    };
    assert_eq!(store.opt_out_by_reply(&whatsapp, &sms_first, later).await.unwrap(), ReplyOutcome::OptedOut);
    assert_eq!(
        store.opt_out_by_reply(&stop(Channel::Sms, 1, "SManother"), &sms_first, later).await.unwrap(),
        ReplyOutcome::OptedOut
    );
    // A reply without an id (an older payload) cannot be told from a replay: each is recorded.
    let anonymous = InboundReply { provider_message_id: None, ..stop(Channel::Sms, 3, "") };
    for _ in 0..2 {
        assert_eq!(
            store.opt_out_by_reply(&anonymous, &sms_first, later).await.unwrap(),
            ReplyOutcome::OptedOut
        );
    }
    assert_eq!(rows("SELECT COUNT(*) FROM inbound_replies").await, 5);
}

crate::store_tests!(
    a_replayed_stop_is_recorded_once,
    statuses_only_move_forward,
    a_permanent_failure_moves_the_message_to_the_next_channel,
    twilio_21610_in_a_receipt_opts_the_number_out_of_sms,
    a_temporary_failure_is_recorded_and_a_later_delivery_wins,
    stop_by_sms_opts_out_and_moves_queued_sms_on,
    stop_by_whatsapp_follows_the_whatsapp_number,
    one_click_unsubscribe_opts_out_of_email,
);
