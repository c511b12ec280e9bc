//! Retention and erasure on both engines: exactly the old finished messages lose their personal
//! data, reports still count them, a dry run changes nothing, and an erased applicant leaves no
//! trace but anonymous counts and a verifiable audit row.

use kabar::audit::{Actor, AuditFilter};
use kabar::domain::{BookingCode, Channel, Msisdn, Service, ServiceState};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::privacy::{self, EraseError, PersonQuery, PurgeReport, RetentionConfig};
use kabar::receipts::{Receipt, ReceiptStatus};
use kabar::store::{Attempt, AttemptOutcome, ExportRow, MessageFilter, MessageStatus, ReplyOutcome, Store};

use crate::audit::{execute, records, scalar};
use crate::fixtures::{at, bookings_csv, change, import_bookings, import_offices};
use crate::harness::TestStore;

/// Palembang: Budi (two bookings, WhatsApp delivered), Citra (fails), Dodi (retrying), Hana
/// (delivered late, recently); closed and old: Fajar (picked up), Gita (cancelled, replied STOP);
/// closed but recent: Ira (no-show). Gorontalo, whose incident stays open: Eka (sent). Budi and
/// Joko share an email.
const BOOKINGS: &str = "\
P-A1,PLG,,Budi,0812-3000-0001,keluarga@example.com,,,2024-06-21 09:00,regular,no,booked,
P-A2,PLG,,Ani,0812-3000-0001,,,,2024-06-24 10:00,epassport,no,booked,
P-B1,PLG,,Citra,0812-3000-0002,,,,2024-06-21 10:00,regular,no,booked,
P-D1,PLG,,Dodi,0812-3000-0003,,,,2024-06-22 08:00,regular,no,booked,
P-H1,PLG,,Hana,0812-3000-0007,,,,2024-06-22 09:00,regular,no,booked,
P-F1,PLG,,Fajar,0812-3000-0005,,,,2024-05-01 09:00,regular,no,picked_up,
P-G1,PLG,,Gita,0812-3000-0006,,,,2024-05-02 09:00,regular,no,cancelled,
P-I1,PLG,,Ira,0812-3000-0008,,,,2024-11-25 09:00,regular,no,no_show,
G-E1,GTO,,Eka,0812-3000-0004,,,,2024-06-21 09:00,regular,no,booked,
G-J1,GTO,,Joko,0812-3000-0009,KELUARGA@example.com,,,2024-06-21 11:00,regular,no,booked,
";

const OUTAGE: &str = "2024-06-20T03:00:00Z";
const RESTORED: &str = "2024-06-25T03:00:00Z";
/// When the retention policy runs: its 90-day cutoff is 2024-09-02.
const PURGE: &str = "2024-12-01T00:00:00Z";
const ORDER: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

fn mobile(last: u32) -> Msisdn {
    format!("0812-3000-{last:04}").parse().unwrap()
}

fn phone(last: u32) -> PersonQuery {
    PersonQuery::Phone(mobile(last))
}

async fn export(store: &Store) -> Vec<ExportRow> {
    let mut rows = Vec::new();
    store
        .export_messages(&MessageFilter::default(), |row| {
            rows.push(row);
            Ok(())
        })
        .await
        .unwrap();
    rows
}

/// The outage of 20 June at both offices, with what the dispatcher and the receipts made of
/// it; Palembang's printing back on 25 June (its incident resolves), Gorontalo's still down.
/// Returns the message ids of the outage by applicant.
async fn fixture(db: &TestStore) -> std::collections::HashMap<u32, i64> {
    let store = &db.store;
    import_offices(store).await;
    assert!(import_bookings(store, &bookings_csv(BOOKINGS), true).await.is_clean());
    // As if imported in spring and unchanged since.
    execute(db, &format!("UPDATE bookings SET updated_at = {}", at("2024-06-01T00:00:00Z").timestamp()))
        .await
        .unwrap();
    assert_eq!(
        store.opt_out_by_reply(&stop(6), &ORDER, at("2024-05-03T00:00:00Z")).await.unwrap(),
        ReplyOutcome::OptedOut
    );
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, OUTAGE).await;
    change(store, "GTO", Service::Printing, ServiceState::Unavailable, OUTAGE).await;
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    plan_once(store, &config, at(OUTAGE)).await.unwrap();
    let outage: std::collections::HashMap<u32, i64> = export(store)
        .await
        .iter()
        .map(|row| {
            let e164 = row.mobile.as_ref().unwrap().e164().to_owned();
            (e164[e164.len() - 4..].parse().unwrap(), row.message_id)
        })
        .collect();
    assert_eq!(outage.len(), 6, "Budi, Citra, Dodi, Hana, Eka, Joko: {outage:?}");

    // The dispatcher's tries: accepted, a technical failure whose error names the number, a retry.
    let claims =
        store.claim_messages("test-worker", at(OUTAGE), chrono::Duration::seconds(60), 100).await.unwrap();
    let attempts: Vec<Attempt> = claims
        .iter()
        .map(|claim| {
            let who = outage.iter().find(|(_, id)| **id == claim.id).map(|(who, _)| *who).unwrap();
            let (outcome, error) = match who {
                2 => (
                    AttemptOutcome::Failed { class: "technical" },
                    Some("rejected +6281230000002".to_owned()),
                ),
                3 => (
                    AttemptOutcome::Retry { retry_at: at("2024-06-20T04:00:00Z") },
                    Some("timeout".to_owned()),
                ),
                _ => (AttemptOutcome::Accepted { provider_message_id: format!("wamid.{who}") }, None),
            };
            Attempt {
                claim: *claim,
                channel: Channel::Whatsapp,
                provider: "whatsapp".into(),
                started_at: at(OUTAGE),
                duration_ms: 120,
                outcome,
                response_code: None,
                error,
            }
        })
        .collect();
    assert_eq!(store.record_attempts(&attempts, at(OUTAGE)).await.unwrap().len(), 6);
    let delivered = |who: u32, when: &str| Receipt {
        provider: "whatsapp",
        provider_message_id: format!("wamid.{who}"),
        status: ReceiptStatus::Delivered,
        at: at(when),
    };
    let receipts = [delivered(1, "2024-06-20T03:01:00Z"), delivered(7, "2024-11-20T00:00:00Z")];
    assert_eq!(store.apply_receipts(&receipts, &ORDER).await.unwrap().applied, 2);
    // Budi replies STOP to SMS recently; Gita's STOP of May is old.
    store.opt_out_by_reply(&stop(1), &ORDER, at("2024-11-25T00:00:00Z")).await.unwrap();

    change(store, "PLG", Service::Printing, ServiceState::Operational, RESTORED).await;
    plan_once(store, &config, at(RESTORED)).await.unwrap();
    outage
}

fn by_id(rows: &[ExportRow], id: i64) -> &ExportRow {
    rows.iter().find(|row| row.message_id == id).unwrap()
}

async fn purge_wipes_exactly_the_old_finished_messages(db: &TestStore) {
    let outage = fixture(db).await;
    let store = &db.store;
    let before = export(store).await;
    let counts_before = store.message_counts().await.unwrap();
    let config = RetentionConfig::default();
    let actor = Actor::system("retention");
    let report = privacy::purge(store, &config, &actor, at(PURGE), false).await.unwrap();
    let expected = PurgeReport {
        dry_run: false,
        cutoffs: config.cutoffs(at(PURGE)),
        messages_anonymised: 2,
        attempt_errors_wiped: 1,
        replies_masked: 1,
        bookings_removed: 2,
        applicants_removed: 1,
        applicants_reduced_to_opt_outs: 1,
        audit_id: Some(1),
    };
    assert_eq!(
        report, expected,
        "Budi's and Citra's outage messages; Citra's error; Gita's reply; Fajar, Gita"
    );

    let after = export(store).await;
    assert_eq!(after.len(), before.len(), "the report still has every message");
    assert_eq!(store.message_counts().await.unwrap(), counts_before, "counts by kind, channel and status");
    for (who, status) in [(1, MessageStatus::Delivered), (2, MessageStatus::Failed)] {
        let row = by_id(&after, outage[&who]);
        assert_eq!((row.mobile.as_ref(), row.bookings.len(), row.status), (None, 0, status), "{who}");
        assert_eq!(row.failure_reason, None, "{who}");
    }
    let left = "SELECT COUNT(*) FROM messages WHERE applicant_id < 0 AND (provider_message_id IS NOT NULL OR booking_ids <> '[]')";
    assert_eq!(scalar(db, left).await, 0, "no provider id or booking list left on them");
    let errors = "SELECT COUNT(*) FROM message_attempts WHERE error IS NOT NULL";
    assert_eq!(scalar(db, errors).await, 1, "Dodi's retry keeps its error until it finishes");
    for row in after.iter().filter(|row| ![outage[&1], outage[&2]].contains(&row.message_id)) {
        assert_eq!(row, by_id(&before, row.message_id), "message {} untouched", row.message_id);
    }
    assert_eq!(by_id(&after, outage[&3]).status, MessageStatus::Queued, "Dodi's retry is not finished");
    assert_eq!(by_id(&after, outage[&7]).delivered_at, Some(at("2024-11-20T00:00:00Z")), "Hana's is recent");
    assert!(by_id(&after, outage[&4]).mobile.is_some(), "Gorontalo's incident is still open");

    // Budi keeps everything that is not an old finished message.
    let budi = privacy::show(store, &phone(1)).await.unwrap().remove(0);
    assert_eq!((budi.name.as_str(), budi.bookings.len()), ("Budi", 2));
    assert!(budi.messages.iter().all(|message| message.id != outage[&1]), "the old message is unlinked");
    assert_eq!(budi.replies.len(), 1, "his recent STOP");
    // Fajar is gone; Gita is only her number and her refusal of SMS.
    assert!(store.applicant(&mobile(5)).await.unwrap().is_none());
    let gita = store.applicant(&mobile(6)).await.unwrap().expect("kept for her opt-out");
    assert!(gita.sms_opted_out && gita.applicant.name.is_empty() && gita.applicant.email.is_none());
    for (code, kept) in [("P-F1", false), ("P-G1", false), ("P-I1", true), ("P-A1", true)] {
        let found = store.booking(&code.parse::<BookingCode>().unwrap()).await.unwrap();
        assert_eq!(found.is_some(), kept, "{code}");
    }

    let audit = records(store, &AuditFilter::default()).await;
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].actor.as_str(), audit[0].action.as_str()), ("system:retention", "retention.purge"));
    assert_eq!(audit[0].summary["messages_anonymised"], 2);
    assert!(store.verify_audit().await.unwrap().is_intact());

    let again = privacy::purge(store, &config, &actor, at(PURGE), false).await.unwrap();
    let nothing = PurgeReport {
        messages_anonymised: 0,
        attempt_errors_wiped: 0,
        replies_masked: 0,
        bookings_removed: 0,
        applicants_removed: 0,
        applicants_reduced_to_opt_outs: 0,
        audit_id: Some(2),
        ..expected
    };
    assert_eq!(again, nothing, "a second run finds nothing left to do");

    // Gita books again: her name comes back with the import, and so does her refusal of SMS.
    let rebooked = bookings_csv("P-G2,PLG,,Gita,0812-3000-0006,,,,2024-12-10 09:00,regular,no,booked,\n");
    assert!(import_bookings(store, &rebooked, true).await.is_clean());
    let gita = store.applicant(&mobile(6)).await.unwrap().unwrap();
    assert!(gita.sms_opted_out && gita.applicant.name == "Gita");
}

async fn a_dry_run_changes_nothing(db: &TestStore) {
    fixture(db).await;
    let store = &db.store;
    let before = (
        export(store).await,
        privacy::show(store, &phone(6)).await.unwrap(),
        store.count_bookings().await.unwrap(),
    );
    let config = RetentionConfig::default();
    let actor = Actor::cli();
    let dry = privacy::purge(store, &config, &actor, at(PURGE), true).await.unwrap();
    let after = (
        export(store).await,
        privacy::show(store, &phone(6)).await.unwrap(),
        store.count_bookings().await.unwrap(),
    );
    assert_eq!(before, after, "nothing changed");
    assert!(records(store, &AuditFilter::default()).await.is_empty(), "not even the audit log");
    assert_eq!(dry.audit_id, None);
    let real = privacy::purge(store, &config, &actor, at(PURGE), false).await.unwrap();
    assert_eq!(
        PurgeReport { dry_run: true, audit_id: None, ..real },
        dry,
        "the dry run counts what the purge does"
    );
}

async fn erase_removes_the_person_and_keeps_anonymous_counts(db: &TestStore) {
    let outage = fixture(db).await;
    let store = &db.store;
    let shown = privacy::show(store, &phone(1)).await.unwrap();
    assert_eq!(shown.len(), 1);
    let budi = &shown[0];
    assert_eq!(budi.bookings.iter().map(|b| b.code.as_str()).collect::<Vec<_>>(), ["P-A1", "P-A2"]);
    assert_eq!(budi.opted_out, [Channel::Sms]);
    assert_eq!(budi.replies.len(), 1);
    let statuses: Vec<MessageStatus> = budi.messages.iter().map(|message| message.status).collect();
    assert_eq!(statuses[0], MessageStatus::Delivered, "{statuses:?}");
    let pending = statuses.iter().filter(|status| **status == MessageStatus::Queued).count();
    assert!(pending >= 1, "the restoration notice waits: {statuses:?}");
    let citra_before = privacy::show(store, &phone(2)).await.unwrap();
    let rows_before = export(store).await.len();

    let report = privacy::erase(store, &phone(1), &Actor::cli(), at(PURGE)).await.unwrap();
    assert_eq!((report.bookings_removed, report.messages_cancelled as usize), (2, pending));
    assert_eq!((report.messages_anonymised as usize, report.replies_masked), (budi.messages.len(), 1));
    assert_eq!(report.mobile, "+62812****0001");

    assert!(privacy::show(store, &phone(1)).await.unwrap().is_empty());
    assert!(store.applicant(&mobile(1)).await.unwrap().is_none());
    assert!(store.booking(&"P-A2".parse().unwrap()).await.unwrap().is_none());
    let rows = export(store).await;
    assert_eq!(rows.len(), rows_before, "his messages still count");
    let his: Vec<&ExportRow> =
        rows.iter().filter(|row| budi.messages.iter().any(|m| m.id == row.message_id)).collect();
    assert!(his.iter().all(|row| row.mobile.is_none() && row.bookings.is_empty()));
    assert_eq!(by_id(&rows, outage[&1]).status, MessageStatus::Delivered, "statuses stay");
    assert_eq!(his.iter().filter(|row| row.status == MessageStatus::Cancelled).count(), pending);
    assert_eq!(privacy::show(store, &phone(2)).await.unwrap(), citra_before, "others untouched");

    let audit = records(store, &AuditFilter::default()).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].target.clone()),
        ("applicant.erase", format!("applicant:{}", budi.applicant_id))
    );
    assert_eq!(audit[0].offices, ["PLG"]);
    let text = serde_json::to_string(&audit).unwrap();
    assert!(
        !text.contains("+6281230000001") && !text.contains("Budi") && !text.contains("keluarga"),
        "{text}"
    );
    assert!(store.verify_audit().await.unwrap().is_intact(), "erasure leaves the chain intact");
}

async fn erasure_needs_one_person(db: &TestStore) {
    fixture(db).await;
    let store = &db.store;
    // Joko's address differs only in case; the email names both him and Budi.
    let shared = PersonQuery::Email("keluarga@example.com".parse().unwrap());
    assert_eq!(privacy::show(store, &shared).await.unwrap().len(), 2);
    let err = privacy::erase(store, &shared, &Actor::cli(), at(PURGE)).await.unwrap_err();
    assert!(matches!(err, EraseError::Ambiguous { count: 2, .. }), "{err}");
    assert!(err.to_string().contains("+62812****0001, +62812****0009"), "{err}");
    let err = privacy::erase(store, &phone(99), &Actor::cli(), at(PURGE)).await.unwrap_err();
    assert!(matches!(err, EraseError::NotFound(_)), "{err}");
    assert_eq!(store.count_applicants().await.unwrap(), 9, "nothing erased");
    assert!(records(store, &AuditFilter::default()).await.is_empty());
}

/// A message a worker holds when its applicant is erased is cancelled too, so no worker keeps
/// claiming a message whose applicant is gone.
async fn erase_cancels_a_claimed_message(db: &TestStore) {
    fixture(db).await;
    let store = &db.store;
    let claimed =
        store.claim_messages("test-worker", at(RESTORED), chrono::Duration::seconds(60), 100).await.unwrap();
    assert!(!claimed.is_empty());
    let report = privacy::erase(store, &phone(1), &Actor::cli(), at(RESTORED)).await.unwrap();
    assert!(report.messages_in_flight >= 1, "{report:?}");
    let status = store.queue_status(at(RESTORED)).await.unwrap();
    let sending = claimed.len() as u64 - report.messages_in_flight;
    assert_eq!(status.sending, sending, "the others are still being sent");
}

/// `kabar serve`'s task purges at once, as `system:retention`, and stops with the server.
async fn the_daily_task_purges_at_start(db: &TestStore) {
    fixture(db).await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    shutdown.cancel();
    privacy::run_daily(db.store.clone(), RetentionConfig::default(), shutdown).await;
    let audit = records(&db.store, &AuditFilter::default()).await;
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].actor.as_str(), audit[0].action.as_str()), ("system:retention", "retention.purge"));
    assert!(db.store.applicant(&mobile(5)).await.unwrap().is_none(), "Fajar's booking closed in May 2024");
}

crate::store_tests!(
    the_daily_task_purges_at_start,
    purge_wipes_exactly_the_old_finished_messages,
    a_dry_run_changes_nothing,
    erase_removes_the_person_and_keeps_anonymous_counts,
    erasure_needs_one_person,
    erase_cancels_a_claimed_message,
);

/// A STOP by SMS from applicant `n`'s mobile.
fn stop(n: u32) -> kabar::receipts::InboundReply {
    kabar::receipts::InboundReply {
        channel: Channel::Sms,
        provider: "twilio",
        provider_message_id: Some(format!("SM-stop-{n}")),
        from: mobile(n),
        opt_out: true,
    }
}
