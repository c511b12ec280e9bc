//! Manual broadcasts on both engines: preview, send, replay, schedule, cancel, filters, quiet hours.

use chrono::NaiveDate;
use kabar::domain::{Channel, Language, Msisdn, Product, Service, Stage};
use kabar::plan::broadcast::{self, BroadcastContent, BroadcastFilter, BroadcastRequest};
use kabar::plan::notice::{NoticeConfig, StoredPickup};
use kabar::plan::PlannerConfig;
use kabar::render::{Catalogue, Localized, NoticeKind, Rendered};
use kabar::store::Store;

use crate::fixtures::{at, bookings_csv, import_bookings, import_offices};
use crate::harness::TestStore;

/// Tangerang's printed backlog and a few others, on 2024-06-28.
const BOOKINGS: &str = "\
T-R1,TNG,,Sari,0813-3000-0001,,,,2024-06-07 09:00,regular,no,ready,2024-06-07
T-R2,TNG,,Sari,0813-3000-0001,,,,2024-06-07 09:30,epassport,no,ready,2024-06-07
T-R3,TNG,,Budi,0813-3000-0002,,,en,2024-06-10 09:00,regular,no,ready,2024-06-10
T-R4,TNG,,Tono,0813-3000-0003,,,,2024-06-11 09:00,regular,no,ready,2024-06-11
T-P1,TNG,,Wati,0813-3000-0004,,,,2024-06-12 09:00,regular,no,printing,2024-06-12
T-X1,TNG,,Yani,0813-3000-0005,,,,2024-06-03 09:00,regular,no,picked_up,2024-06-03
T-B1,TNG,,Eko,0813-3000-0006,eko@example.com,,,2024-07-01 09:00,epassport,yes,booked,
T-B2,TNG,,Rina,0813-3000-0007,,,,2024-07-03 09:00,regular,no,booked,
P-R1,PLG,,Dewi,0813-3000-0008,,,,2024-06-10 09:00,regular,no,ready,2024-06-10
";

/// Friday 2024-06-28, 10:00 WIB.
pub(crate) const NOW: &str = "2024-06-28T03:00:00Z";

fn mobile(last: u32) -> Msisdn {
    format!("0813-3000-{last:04}").parse().unwrap()
}

/// Budi (2) has left WhatsApp; Tono (3) every channel and has no email.
pub(crate) async fn fixture(db: &TestStore) -> &Store {
    import_offices(&db.store).await;
    let report = import_bookings(&db.store, &bookings_csv(BOOKINGS), true).await;
    assert!(report.is_clean(), "{report}");
    for (who, channel) in [(2, Channel::Whatsapp), (3, Channel::Whatsapp), (3, Channel::Sms)] {
        assert!(db.store.set_opt_out(&mobile(who), channel, true).await.unwrap());
    }
    &db.store
}

pub(crate) fn weekend_pickup(filter: BroadcastFilter) -> BroadcastRequest {
    BroadcastRequest {
        title: "Pengambilan akhir pekan".into(),
        filter,
        content: BroadcastContent::Template {
            kind: NoticeKind::ReadyForPickup,
            pickup: Some(StoredPickup {
                hours_id: "Senin-Jumat 08.00-15.00 WIB".into(),
                hours_en: Some("Monday to Friday 08:00-15:00 WIB".into()),
                extra_id: Some("Sabtu-Minggu 29-30 Juni 08.00-12.00 WIB".into()),
                extra_en: Some("Saturday-Sunday 29-30 June 08:00-12:00 WIB".into()),
            }),
        },
        channels: None,
        send_at: None,
        actor: "seksi-lantaskim".into(),
    }
}

pub(crate) fn ready_at_tangerang() -> BroadcastFilter {
    BroadcastFilter { offices: "TNG".into(), stages: vec![Stage::Ready], ..BroadcastFilter::default() }
}

fn config() -> PlannerConfig {
    PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() }
}

/// (last four digits, channel, booking codes) of each message of a broadcast.
async fn told(store: &Store, id: i64) -> Vec<(String, Option<Channel>, String)> {
    let mut rows: Vec<_> = store
        .broadcast_messages(id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            let e164 = m.mobile.e164().to_owned();
            let codes: Vec<&str> = m.bookings.iter().map(|code| code.as_str()).collect();
            (e164[e164.len() - 4..].to_owned(), m.channel, codes.join("+"))
        })
        .collect();
    rows.sort();
    rows
}

async fn a_preview_counts_renders_samples_and_writes_nothing(db: &TestStore) {
    let store = fixture(db).await;
    let request = weekend_pickup(ready_at_tangerang());
    let catalogue = Catalogue::builtin();
    let preview =
        broadcast::preview(store, &catalogue, &config(), &NoticeConfig::default(), &request, at(NOW))
            .await
            .unwrap();
    assert_eq!(preview.offices, 1);
    assert_eq!(preview.messages, 3, "Sari (two bookings), Budi, Tono");
    assert_eq!(preview.channels.get(&Channel::Whatsapp), Some(&1));
    assert_eq!(preview.channels.get(&Channel::Sms), Some(&1));
    assert_eq!(preview.channels.get(&Channel::Email), None);
    assert_eq!(preview.unreachable, 1, "Tono refused WhatsApp and SMS and has no email");
    let kinds: Vec<(Channel, Language)> = preview.samples.iter().map(|s| (s.channel, s.language)).collect();
    assert_eq!(
        kinds,
        vec![
            (Channel::Whatsapp, Language::Id),
            (Channel::Whatsapp, Language::En),
            (Channel::Sms, Language::Id),
            (Channel::Sms, Language::En)
        ],
        "both languages on every channel used"
    );
    let Rendered::Sms(sms) = &preview.samples[3].rendered else { panic!("an SMS sample") };
    assert!(sms.text.contains("T-R3") && sms.text.contains("29-30 June"), "{}", sms.text);
    assert_eq!(preview.sms_segments, sms.segments as u64, "one SMS recipient");
    let Rendered::Whatsapp(whatsapp) = &preview.samples[0].rendered else { panic!("a WhatsApp sample") };
    assert!(whatsapp.text.contains("T-R1") && whatsapp.text.contains("T-R2"), "both of Sari's passports");
    assert!(whatsapp.text.contains("Sabtu-Minggu 29-30 Juni"), "{}", whatsapp.text);
    assert!(store.broadcasts().await.unwrap().is_empty(), "a preview stores nothing");
}

async fn sending_plans_one_message_per_applicant_once(db: &TestStore) {
    let store = fixture(db).await;
    let now = at(NOW);
    let id = broadcast::create(store, &config(), &weekend_pickup(ready_at_tangerang()), now).await.unwrap();
    let planned = broadcast::plan_due(store, &config(), now).await.unwrap();
    assert_eq!(planned.len(), 1);
    assert_eq!((planned[0].counts.messages, planned[0].counts.unreachable), (3, 1));
    assert_eq!(
        told(store, id).await,
        vec![
            ("0001".into(), Some(Channel::Whatsapp), "T-R1+T-R2".into()),
            ("0002".into(), Some(Channel::Sms), "T-R3".into()),
            ("0003".into(), None, "T-R4".into()),
        ]
    );
    assert!(broadcast::plan_due(store, &config(), now).await.unwrap().is_empty(), "planned once");
    let record = store.broadcast(id).await.unwrap().unwrap();
    assert_eq!((record.status.as_str(), record.planned_at), ("planned", Some(now)));
    assert_eq!(told(store, id).await.len(), 3);
}

async fn a_scheduled_broadcast_waits_and_cancelling_stops_what_is_not_sent(db: &TestStore) {
    let store = fixture(db).await;
    let now = at(NOW);
    let mut later = weekend_pickup(ready_at_tangerang());
    later.send_at = Some(at("2024-06-29T00:00:00Z"));
    let scheduled = broadcast::create(store, &config(), &later, now).await.unwrap();
    assert!(broadcast::plan_due(store, &config(), now).await.unwrap().is_empty(), "not yet");
    assert_eq!(broadcast::cancel(store, scheduled, now).await.unwrap(), 0);
    assert!(broadcast::plan_due(store, &config(), at("2024-06-29T01:00:00Z")).await.unwrap().is_empty());
    assert!(told(store, scheduled).await.is_empty(), "a cancelled broadcast is never planned");

    let sent = broadcast::create(store, &config(), &weekend_pickup(ready_at_tangerang()), now).await.unwrap();
    broadcast::plan_due(store, &config(), now).await.unwrap();
    assert_eq!(broadcast::cancel(store, sent, now).await.unwrap(), 2, "the unreachable one was never queued");
    let counts = store.broadcast_message_counts(sent).await.unwrap();
    assert_eq!(
        counts,
        vec![
            ("cancelled".into(), Some(Channel::Sms), 1),
            ("cancelled".into(), Some(Channel::Whatsapp), 1),
            ("unreachable".into(), None, 1),
        ]
    );
    assert!(matches!(
        broadcast::cancel(store, 999, now).await,
        Err(broadcast::BroadcastError::UnknownBroadcast(999))
    ));
}

async fn filters_narrow_the_audience(db: &TestStore) {
    let store = fixture(db).await;
    let now = at(NOW);
    let cases: Vec<(BroadcastFilter, Vec<&str>)> = vec![
        (
            BroadcastFilter { offices: "TNG".into(), ..BroadcastFilter::default() },
            vec!["T-B1", "T-B2", "T-P1", "T-R1+T-R2", "T-R3", "T-R4"],
        ),
        (
            BroadcastFilter {
                offices: "TNG,PLG".into(),
                stages: vec![Stage::Ready],
                ..BroadcastFilter::default()
            },
            vec!["P-R1", "T-R1+T-R2", "T-R3", "T-R4"],
        ),
        (
            BroadcastFilter {
                offices: "all".into(),
                products: vec![Product::Epassport],
                ..BroadcastFilter::default()
            },
            vec!["T-B1", "T-R2"],
        ),
        (
            BroadcastFilter {
                offices: "region:Banten".into(),
                express: Some(true),
                ..BroadcastFilter::default()
            },
            vec!["T-B1"],
        ),
        (
            BroadcastFilter {
                offices: "TNG".into(),
                appointment_from: NaiveDate::from_ymd_opt(2024, 7, 3),
                appointment_to: NaiveDate::from_ymd_opt(2024, 7, 3),
                ..BroadcastFilter::default()
            },
            vec!["T-B2"],
        ),
        (
            BroadcastFilter {
                offices: "TNG".into(),
                applied_from: NaiveDate::from_ymd_opt(2024, 6, 10),
                applied_to: NaiveDate::from_ymd_opt(2024, 6, 11),
                ..BroadcastFilter::default()
            },
            vec!["T-R3", "T-R4"],
        ),
        // Those an e-passport outage concerns: e-passport applications in process and booked
        // within the horizon.
        (
            BroadcastFilter {
                offices: "TNG".into(),
                services: vec![Service::Epassport],
                ..BroadcastFilter::default()
            },
            vec!["T-B1"],
        ),
    ];
    for (filter, expected) in cases {
        let request = BroadcastRequest {
            content: BroadcastContent::Text { text: Localized::id_only("Pengumuman"), sender: None },
            ..weekend_pickup(filter.clone())
        };
        let id = broadcast::create(store, &config(), &request, now).await.unwrap();
        broadcast::plan_due(store, &config(), now).await.unwrap();
        let mut codes: Vec<String> = told(store, id).await.into_iter().map(|(_, _, codes)| codes).collect();
        codes.sort();
        assert_eq!(codes, expected, "{filter:?}");
    }
    let unknown = BroadcastFilter { offices: "XYZ".into(), ..BroadcastFilter::default() };
    let err = broadcast::create(store, &config(), &weekend_pickup(unknown), now).await.unwrap_err();
    assert_eq!(err.to_string(), "unknown office XYZ; see `kabar state show` for the office codes");
}

async fn a_broadcast_at_night_waits_for_the_morning(db: &TestStore) {
    let store = fixture(db).await;
    // 22:00 WIB: WhatsApp and SMS wait until 07:00; the unreachable row is not held.
    let night = at("2024-06-28T15:00:00Z");
    let id = broadcast::create(store, &config(), &weekend_pickup(ready_at_tangerang()), night).await.unwrap();
    let planned = broadcast::plan_due(store, &config(), night).await.unwrap();
    assert_eq!(planned[0].counts.deferred, 2);
    for message in store.broadcast_messages(id).await.unwrap() {
        let expected = if message.channel.is_some() { at("2024-06-29T00:00:00Z") } else { night };
        assert_eq!(message.not_before, expected, "{:?}", message.channel);
    }
}

async fn staff_text_with_control_characters_or_too_long_is_refused(db: &TestStore) {
    let store = fixture(db).await;
    let now = at("2024-06-28T03:00:00Z");
    let text = |id: &str, sender: Option<&str>| BroadcastRequest {
        content: BroadcastContent::Text { text: Localized::id_only(id), sender: sender.map(str::to_owned) },
        ..weekend_pickup(BroadcastFilter { offices: "TNG".into(), ..BroadcastFilter::default() })
    };
    let refused = |request: BroadcastRequest| async move {
        broadcast::create(store, &config(), &request, now).await.unwrap_err().to_string()
    };
    assert_eq!(
        refused(text("Loket buka\u{1b}[31m Sabtu", None)).await,
        "--text: contains the control character U+001B at position 11; remove it (a value must be plain text on one line)"
    );
    assert_eq!(
        refused(text(&"a".repeat(701), None)).await,
        "--text: is 701 characters long; at most 700 are allowed: shorten it"
    );
    assert!(refused(text("Loket buka Sabtu", Some("Seksi\0Lantaskim")))
        .await
        .starts_with("--sender: contains a NUL"));
    // Paragraphs are fine.
    broadcast::create(store, &config(), &text("Loket buka Sabtu.\n\nBawa bukti bayar.", None), now)
        .await
        .unwrap();
}

crate::store_tests!(
    staff_text_with_control_characters_or_too_long_is_refused,
    a_preview_counts_renders_samples_and_writes_nothing,
    sending_plans_one_message_per_applicant_once,
    a_scheduled_broadcast_waits_and_cancelling_stops_what_is_not_sent,
    filters_narrow_the_audience,
    a_broadcast_at_night_waits_for_the_morning,
);
