//! The delivery report, the call list and the queue status on both engines.

use kabar::domain::{Channel, Msisdn, Service, ServiceState};
use kabar::plan::broadcast::{self, BroadcastContent, BroadcastFilter, BroadcastRequest};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::receipts::{Receipt, ReceiptStatus};
use kabar::render::{Localized, NoticeKind};
use kabar::store::{
    ExportRow, FailureClass, FallBack, MessageFilter, MessageStatus, ReportError, Store, Unreached,
};

use crate::fixtures::{at, bookings_csv, change, import_bookings, import_offices, sql};
use crate::harness::TestStore;

/// Budi (two bookings), Citra (delivered), Dodi and Gita (every channel refused, no email), Eka
/// (email only, which bounces) at Palembang; Fajar (every channel refused) and Hana at Gorontalo.
const BOOKINGS: &str = "\
C-A1,PLG,,Budi,0812-3000-0001,,,,2024-06-21 09:00,regular,no,booked,
C-A2,PLG,,Ani,0812-3000-0001,,,,2024-06-24 10:00,regular,no,booked,
C-B1,PLG,,Citra,0812-3000-0002,citra@example.com,,,2024-06-21 10:00,regular,no,booked,
C-C1,PLG,,Dodi,0812-3000-0003,,,,2024-06-22 08:00,regular,no,booked,
C-D1,PLG,,Eka,0812-3000-0004,eka@example.com,,,2024-06-21 08:00,regular,no,booked,
C-F1,PLG,,Gita,0812-3000-0006,,,,2024-06-21 07:30,regular,no,booked,
C-E1,GTO,,Fajar,0812-3000-0005,,,,2024-06-21 09:00,regular,no,booked,
C-G1,GTO,,Hana,0812-3000-0007,,,,2024-06-21 10:00,regular,no,booked,
";

const NOW: &str = "2024-06-20T03:00:00Z"; // 10:00 WIB, 11:00 WITA
const BOUNCED: &str = "2024-06-20T03:05:00Z";
const DELIVERED: &str = "2024-06-20T03:06:00Z";
const ORDER: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

fn mobile(last: u32) -> Msisdn {
    format!("0812-3000-{last:04}").parse().unwrap()
}

/// What the fixture planned.
struct Planned {
    plg_incident: i64,
    gto_incident: i64,
    broadcast: i64,
}

/// Printing stops at Palembang and Gorontalo; Gorontalo also sends a broadcast. Citra's WhatsApp
/// is delivered (accepted as the dispatcher will record it, then a real receipt), Eka's email
/// bounces (the real fallback finds no channel left).
async fn fixture(db: &TestStore) -> Planned {
    let store = &db.store;
    import_offices(store).await;
    assert!(import_bookings(store, &bookings_csv(BOOKINGS), true).await.is_clean());
    for who in [3, 5, 6] {
        for channel in ORDER {
            assert!(store.set_opt_out(&mobile(who), channel, true).await.unwrap());
        }
    }
    for channel in [Channel::Whatsapp, Channel::Sms] {
        assert!(store.set_opt_out(&mobile(4), channel, true).await.unwrap());
    }
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, NOW).await;
    change(store, "GTO", Service::Printing, ServiceState::Unavailable, NOW).await;
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let events = plan_once(store, &config, at(NOW)).await.unwrap();
    let incident = |office: &str| events.iter().find(|e| e.office == office).unwrap().counts.incident_id;
    let request = BroadcastRequest {
        title: "Pengumuman Gorontalo".into(),
        filter: BroadcastFilter { offices: "GTO".into(), ..BroadcastFilter::default() },
        content: BroadcastContent::Text { text: Localized::id_only("Pengumuman"), sender: None },
        channels: None,
        send_at: None,
        actor: "test".into(),
    };
    let broadcast = broadcast::create(store, &config, &request, at(NOW)).await.unwrap();
    assert_eq!(broadcast::plan_due(store, &config, at(NOW)).await.unwrap().len(), 1);

    let citra = message_of(store, 2).await;
    sql(db, &format!("UPDATE messages SET status = 'sent', provider = 'whatsapp', provider_message_id = 'wamid.C', sent_at = {} WHERE id = {citra}", at(NOW).timestamp())).await;
    let delivered = Receipt {
        provider: "whatsapp",
        provider_message_id: "wamid.C".into(),
        status: ReceiptStatus::Delivered,
        at: at(DELIVERED),
    };
    assert_eq!(store.apply_receipts(&[delivered], &ORDER).await.unwrap().applied, 1);
    let eka = message_of(store, 4).await;
    let bounced = store.fall_back(eka, Channel::Email, &ORDER, "550 mailbox unknown", at(BOUNCED)).await;
    assert_eq!(bounced.unwrap(), FallBack::Failed);
    Planned { plg_incident: incident("PLG"), gto_incident: incident("GTO"), broadcast }
}

/// The id of the (only) incident message of an applicant.
async fn message_of(store: &Store, last: u32) -> i64 {
    let mut found = Vec::new();
    store
        .export_messages(&MessageFilter::default(), |row| {
            if row.mobile == Some(mobile(last)) && row.incident_id.is_some() {
                found.push(row.message_id);
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    found[0]
}

async fn export(store: &Store, filter: MessageFilter, page: u32) -> Result<Vec<ExportRow>, ReportError> {
    let mut rows = Vec::new();
    let written = store
        .export_messages_paged(&filter, page, |row| {
            rows.push(row);
            Ok(())
        })
        .await?;
    assert_eq!(written, rows.len() as u64);
    Ok(rows)
}

/// Runs one statement straight on the database, as the dispatcher (written alongside) will.
fn codes(row: &ExportRow) -> Vec<&str> {
    row.bookings.iter().map(|code| code.as_str()).collect()
}

async fn the_export_has_every_message_with_its_bookings_and_outcome(db: &TestStore) {
    let planned = fixture(db).await;
    let store = &db.store;
    let rows = export(store, MessageFilter::default(), 5_000).await.unwrap();
    assert_eq!(rows.len(), 9, "5 at Palembang, 2 at Gorontalo, 2 of the broadcast");
    assert!(rows.windows(2).all(|pair| pair[0].message_id < pair[1].message_id), "in id order");
    let of = |last: u32, broadcast: bool| {
        rows.iter()
            .find(|row| row.mobile == Some(mobile(last)) && row.broadcast_id.is_some() == broadcast)
            .unwrap()
    };

    let budi = of(1, false);
    assert_eq!(codes(budi), ["C-A1", "C-A2"]);
    assert_eq!(
        budi.mobile.as_ref().unwrap().e164(),
        "+6281230000001",
        "the store hands over the whole number"
    );
    assert_eq!((budi.incident_id, budi.broadcast_id), (Some(planned.plg_incident), None));
    assert_eq!(budi.office.as_str(), "PLG");
    assert_eq!(
        (budi.channel, budi.status, budi.kind),
        (Some(Channel::Whatsapp), MessageStatus::Queued, NoticeKind::AppointmentUnchanged)
    );
    assert_eq!(
        (budi.created_at, budi.not_before, budi.sent_at, budi.failed_at),
        (at(NOW), at(NOW), None, None)
    );
    assert_eq!((budi.provider.as_deref(), budi.attempts, budi.failure_class), (None, 0, None));

    let citra = of(2, false);
    assert_eq!((citra.status, citra.provider.as_deref()), (MessageStatus::Delivered, Some("whatsapp")));
    assert_eq!(
        (citra.sent_at, citra.delivered_at, citra.read_at),
        (Some(at(NOW)), Some(at(DELIVERED)), None)
    );

    let eka = of(4, false);
    assert_eq!((eka.channel, eka.status), (Some(Channel::Email), MessageStatus::Failed));
    assert_eq!(eka.failure_class, Some(FailureClass::Permanent));
    assert_eq!(
        (eka.failure_reason.as_deref(), eka.failed_at),
        (Some("550 mailbox unknown"), Some(at(BOUNCED)))
    );

    let dodi = of(3, false);
    assert_eq!((dodi.channel, dodi.status, codes(dodi)), (None, MessageStatus::Unreachable, vec!["C-C1"]));
    let fajar = of(5, true);
    assert_eq!((fajar.broadcast_id, fajar.incident_id), (Some(planned.broadcast), None));
    assert_eq!((fajar.kind, fajar.status), (NoticeKind::Broadcast, MessageStatus::Unreachable));

    // Pages of any size, even a partial last one, give the same rows: none lost, none twice.
    for page in [1, 2, 4] {
        assert_eq!(export(store, MessageFilter::default(), page).await.unwrap(), rows, "pages of {page}");
    }
}

async fn the_export_filters_by_incident_or_broadcast_and_refuses_unknown_ids(db: &TestStore) {
    let planned = fixture(db).await;
    let store = &db.store;
    let incident = MessageFilter { incident: Some(planned.gto_incident), broadcast: None };
    let rows = export(store, incident, 1).await.unwrap();
    let who: Vec<(String, Option<i64>)> =
        rows.iter().map(|row| (row.mobile.as_ref().unwrap().masked(), row.incident_id)).collect();
    assert_eq!(
        who,
        [
            ("+62812****0005".to_owned(), Some(planned.gto_incident)),
            ("+62812****0007".to_owned(), Some(planned.gto_incident))
        ]
    );
    let broadcast = MessageFilter { incident: None, broadcast: Some(planned.broadcast) };
    let rows = export(store, broadcast, 5_000).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.broadcast_id == Some(planned.broadcast) && codes(row).len() == 1));
    assert_eq!(
        export(store, MessageFilter { incident: Some(planned.plg_incident), broadcast: None }, 5_000)
            .await
            .unwrap()
            .len(),
        5
    );

    let unknown = |incident, broadcast| MessageFilter { incident, broadcast };
    assert!(matches!(
        export(store, unknown(Some(999), None), 10).await,
        Err(ReportError::UnknownIncident(999))
    ));
    assert!(matches!(
        export(store, unknown(None, Some(999)), 10).await,
        Err(ReportError::UnknownBroadcast(999))
    ));
    let err = store.call_list(&unknown(None, Some(998))).await.unwrap_err();
    assert_eq!(err.to_string(), "no broadcast has id 998; `kabar broadcast list` shows them");

    // A sink that fails stops the export at once.
    let mut seen = 0;
    let stopped = store
        .export_messages_paged(&MessageFilter::default(), 2, |_| {
            seen += 1;
            if seen == 3 {
                Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed"))
            } else {
                Ok(())
            }
        })
        .await;
    assert!(matches!(stopped, Err(ReportError::Write(err)) if err.kind() == std::io::ErrorKind::BrokenPipe));
    assert_eq!(seen, 3);
}

async fn the_call_list_names_everyone_nobody_reached_soonest_first(db: &TestStore) {
    let planned = fixture(db).await;
    let store = &db.store;
    let list = store.call_list(&MessageFilter::default()).await.unwrap();
    let summary: Vec<(&str, &str, String, Vec<NoticeKind>)> = list
        .iter()
        .map(|entry| {
            let kinds = entry.missed.iter().map(|missed| missed.kind).collect();
            (entry.office.as_str(), entry.name.as_str(), entry.mobile.e164().to_owned(), kinds)
        })
        .collect();
    use NoticeKind::{AppointmentUnchanged as Come, Broadcast};
    assert_eq!(
        summary,
        [
            ("GTO", "Fajar", "+6281230000005".to_owned(), vec![Come, Broadcast]),
            ("PLG", "Gita", "+6281230000006".to_owned(), vec![Come]),
            ("PLG", "Eka", "+6281230000004".to_owned(), vec![Come]),
            ("PLG", "Dodi", "+6281230000003".to_owned(), vec![Come]),
        ],
        "by office, then soonest appointment (07:30, 08:00, the next day); Fajar once for both notices"
    );
    let eka = &list[2];
    assert_eq!(eka.email.as_ref().map(|email| email.as_str()), Some("eka@example.com"));
    assert_eq!(
        eka.missed[0].why,
        Unreached::Failed {
            channel: Some(Channel::Email),
            class: Some(FailureClass::Permanent),
            reason: Some("550 mailbox unknown".into())
        }
    );
    assert_eq!(eka.missed[0].why.to_string(), "email failed: 550 mailbox unknown (permanent)");
    assert_eq!(list[3].missed[0].why, Unreached::NoUsableChannel);
    assert_eq!(list[3].missed[0].why.to_string(), "no usable channel");
    let booking = &list[3].bookings[0];
    assert_eq!(
        (booking.code.as_str(), booking.holder_name.as_str(), booking.appointment_at),
        ("C-C1", "Dodi", at("2024-06-22T01:00:00Z"))
    );
    assert_eq!(list[0].bookings.len(), 1, "Fajar's booking once, though two notices were about it");

    let broadcast =
        store.call_list(&MessageFilter { incident: None, broadcast: Some(planned.broadcast) }).await.unwrap();
    assert_eq!(broadcast.len(), 1);
    assert_eq!((broadcast[0].name.as_str(), broadcast[0].missed.len()), ("Fajar", 1));
    let palembang = store
        .call_list(&MessageFilter { incident: Some(planned.plg_incident), broadcast: None })
        .await
        .unwrap();
    let names: Vec<&str> = palembang.iter().map(|entry| entry.name.as_str()).collect();
    assert_eq!(names, ["Gita", "Eka", "Dodi"]);
}

async fn the_queue_status_counts_what_is_due_waiting_and_being_sent(db: &TestStore) {
    let empty = db.store.queue_status(at(NOW)).await.unwrap();
    assert_eq!((empty.depth(), empty.sending, empty.oldest_due_age, empty.next_due_at), (0, 0, None, None));
    assert_eq!(empty.by_status.len(), MessageStatus::ALL.len());
    assert!(empty.by_status.iter().all(|(_, count)| *count == 0) && empty.by_channel_status.is_empty());

    fixture(db).await;
    let store = &db.store;
    // A worker claimed Budi's message with a five-minute lease.
    let budi = message_of(store, 1).await;
    let lease = at("2024-06-20T03:05:00Z").timestamp();
    sql(db, &format!("UPDATE messages SET status = 'sending', not_before = {lease} WHERE id = {budi}")).await;

    let before = store.queue_status(at("2024-06-20T02:59:00Z")).await.unwrap();
    use MessageStatus::*;
    assert_eq!(
        before.by_status,
        [
            (Queued, 2),
            (Sending, 1),
            (Sent, 0),
            (Delivered, 1),
            (Read, 0),
            (Failed, 1),
            (Cancelled, 0),
            (Unreachable, 4)
        ]
    );
    assert_eq!(
        before.by_channel_status,
        [
            (Some(Channel::Whatsapp), Queued, 2),
            (Some(Channel::Whatsapp), Sending, 1),
            (Some(Channel::Whatsapp), Delivered, 1),
            (Some(Channel::Email), Failed, 1),
            (None, Unreachable, 4),
        ]
    );
    assert_eq!((before.due_now, before.waiting, before.next_due_at), (0, 2, Some(at(NOW))), "not yet due");
    assert_eq!((before.oldest_due_age, before.sending, before.expired_leases), (None, 1, 0));

    let later = store.queue_status(at("2024-06-20T03:10:00Z")).await.unwrap();
    assert_eq!((later.due_now, later.waiting, later.next_due_at, later.depth()), (2, 0, None, 2));
    assert_eq!(later.oldest_due_age, Some(chrono::Duration::minutes(10)), "due since 03:00");
    assert_eq!((later.sending, later.expired_leases), (1, 1), "the lease ran out at 03:05");
}

crate::store_tests!(
    the_export_has_every_message_with_its_bookings_and_outcome,
    the_export_filters_by_incident_or_broadcast_and_refuses_unknown_ids,
    the_call_list_names_everyone_nobody_reached_soonest_first,
    the_queue_status_counts_what_is_due_waiting_and_being_sent,
);
