//! The planner on both engines: who hears what, once, on which channel, and when.

use kabar::domain::{Channel, Msisdn, Service, ServiceState};
use kabar::plan::{audience_of, plan_once, PlannedEvent, PlannerConfig};
use kabar::render::NoticeKind;
use kabar::store::{EventPlan, PlannedMessage, Store, Trigger};

use crate::fixtures::{at, bookings_csv, change, import_bookings, import_offices, sql, SENT};
use crate::harness::TestStore;

/// Palembang (WIB), Gorontalo (WITA) and Jayapura (WIT) bookings around 2024-06-20.
const BOOKINGS: &str = "\
P-A1,PLG,,Budi,0812-1000-0001,,,,2024-06-21 09:00,regular,no,booked,
P-A2,PLG,,Ani,0812-1000-0001,,,,2024-06-24 10:00,epassport,no,booked,
P-B1,PLG,,Citra,0812-1000-0002,,,en,2024-06-21 10:00,epassport,yes,booked,
P-C1,PLG,,Dodi,0812-1000-0003,,,,2024-06-10 09:00,epassport,no,printing,2024-06-10
P-D1,PLG,,Eka,0812-1000-0004,,,,2024-06-05 09:00,regular,no,ready,2024-06-05
P-E1,PLG,,Fajar,0812-1000-0005,,,,2024-06-21 09:00,regular,no,cancelled,
P-F1,PLG,,Gita,0812-1000-0006,,,,2024-07-30 09:00,regular,no,booked,
P-G1,PLG,,Hadi,0812-1000-0007,hadi@example.com,,,2024-06-21 11:00,regular,no,booked,
P-H1,PLG,,Indah,0812-1000-0008,,,,2024-06-21 11:30,regular,no,booked,
P-I1,PLG,,Joko,0812-1000-0012,joko@example.com,,,2024-06-21 13:00,regular,no,booked,
P-K1,PLG,,Nur,0812-1000-0013,,,,2024-06-19 09:00,regular,no,booked,
G-A1,GTO,,Kartika,0812-1000-0009,,,,2024-06-21 07:30,regular,no,booked,
G-B1,GTO,,Lukman,0812-1000-0010,,,,2024-06-25 09:00,regular,no,booked,
J-A1,JPR,,Maria,0812-1000-0011,,,,2024-06-25 09:00,regular,no,booked,
";

fn mobile(last: u32) -> Msisdn {
    format!("0812-1000-{last:04}").parse().unwrap()
}

/// The store with the fixture, and the opt-outs: 7 has left WhatsApp, 8 every channel (and has
/// no email), 12 WhatsApp and SMS (email remains).
async fn fixture(db: &TestStore) -> &Store {
    import_offices(&db.store).await;
    let report = import_bookings(&db.store, &bookings_csv(BOOKINGS), true).await;
    assert!(report.is_clean(), "{report}");
    for (who, channel) in [
        (7, Channel::Whatsapp),
        (8, Channel::Whatsapp),
        (8, Channel::Sms),
        (12, Channel::Whatsapp),
        (12, Channel::Sms),
    ] {
        assert!(db.store.set_opt_out(&mobile(who), channel, true).await.unwrap());
    }
    &db.store
}

fn settle(seconds: u64) -> PlannerConfig {
    PlannerConfig { settle_seconds: seconds, quiet_margin_minutes: 60, ..PlannerConfig::default() }
}

/// (last four digits of the mobile, kind, channel, booking codes) of each message.
type Summary = Vec<(String, NoticeKind, Option<Channel>, Vec<String>)>;

async fn summary(store: &Store, event: &PlannedEvent) -> Summary {
    let messages: Vec<PlannedMessage> = store.planned_messages(event.counts.event_id).await.unwrap();
    messages
        .into_iter()
        .map(|m| {
            let last = m.mobile.e164()[m.mobile.e164().len() - 4..].to_owned();
            (last, m.kind, m.channel, m.bookings.iter().map(|code| code.as_str().to_owned()).collect())
        })
        .collect()
}

fn row(
    last: &str,
    kind: NoticeKind,
    channel: Option<Channel>,
    codes: &[&str],
) -> (String, NoticeKind, Option<Channel>, Vec<String>) {
    (last.to_owned(), kind, channel, codes.iter().map(|code| (*code).to_owned()).collect())
}

const NOW: &str = "2024-06-20T03:00:00Z"; // 10:00 WIB, outside quiet hours everywhere

async fn a_printing_outage_tells_each_affected_applicant_once(db: &TestStore) {
    let store = fixture(db).await;
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, NOW).await;
    let events = plan_once(store, &settle(0), at(NOW)).await.unwrap();
    assert_eq!(events.len(), 1);
    use NoticeKind::{AppointmentUnchanged as Come, IssuanceDelayed as Late};
    assert_eq!(
        summary(store, &events[0]).await,
        [
            row("0001", Come, Some(Channel::Whatsapp), &["P-A1", "P-A2"]),
            row("0002", Come, Some(Channel::Whatsapp), &["P-B1"]),
            row("0003", Late, Some(Channel::Whatsapp), &["P-C1"]),
            row("0007", Come, Some(Channel::Sms), &["P-G1"]),
            row("0008", Come, None, &["P-H1"]),
            row("0012", Come, Some(Channel::Email), &["P-I1"]),
        ],
        "ready (0004), cancelled (0005), beyond the horizon (0006) and already past (0013) hear nothing"
    );
    assert_eq!((events[0].counts.messages, events[0].counts.unreachable), (6, 1));
    assert!(store.open_incident(&"PLG".parse().unwrap()).await.unwrap().is_some());

    // Planning again finds nothing settled; replaying the event itself plans nothing new.
    assert!(plan_once(store, &settle(0), at(NOW)).await.unwrap().is_empty());
    let messages = store.planned_messages(events[0].counts.event_id).await.unwrap();
    let states = store.service_board(None).await.unwrap();
    let replay = kabar::store::SettledChange {
        office: "PLG".parse().unwrap(),
        service: Service::Printing,
        from: ServiceState::Operational,
        to: ServiceState::Unavailable,
        change_id: events[0].change_id.unwrap(),
        expected_at: None,
    };
    let plan = EventPlan {
        audience: audience_of(&replay, &[], at(NOW), chrono::Duration::days(14)),
        trigger: Trigger::Change(replay),
        now: at(NOW),
        quiet_until: None,
        quiet_margin: chrono::Duration::hours(1),
        channels: PlannerConfig::default().channels,
    };
    let again = store.plan_event(&plan).await.unwrap();
    assert_eq!((again.event_id, again.messages), (events[0].counts.event_id, 0));
    assert_eq!(store.planned_messages(events[0].counts.event_id).await.unwrap(), messages);
    assert_eq!(store.service_board(None).await.unwrap(), states);
}

async fn e_passport_and_express_outages_reach_only_their_bookings(db: &TestStore) {
    let store = fixture(db).await;
    change(store, "PLG", Service::Epassport, ServiceState::Unavailable, NOW).await;
    change(store, "PLG", Service::Express, ServiceState::Unavailable, NOW).await;
    let events = plan_once(store, &settle(0), at(NOW)).await.unwrap();
    let by_service =
        |service: &str| events.iter().find(|event| event.service.as_deref() == Some(service)).unwrap();
    use NoticeKind::{AppointmentUnchanged as Come, ExpressSuspended, IssuanceDelayed as Late};
    assert_eq!(
        summary(store, by_service("epassport")).await,
        [
            row("0001", Come, Some(Channel::Whatsapp), &["P-A2"]),
            row("0002", Come, Some(Channel::Whatsapp), &["P-B1"]),
            row("0003", Late, Some(Channel::Whatsapp), &["P-C1"]),
        ],
        "regular passports proceed"
    );
    assert_eq!(
        summary(store, by_service("express")).await,
        [row("0002", ExpressSuspended, Some(Channel::Whatsapp), &["P-B1"])]
    );
}

async fn restoration_tells_exactly_those_told_of_the_disruption(db: &TestStore) {
    let store = fixture(db).await;
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, NOW).await;
    change(store, "PLG", Service::Pickup, ServiceState::Unavailable, NOW).await;
    let down = plan_once(store, &settle(0), at(NOW)).await.unwrap();
    sql(db, SENT).await;
    let pickup = down.iter().find(|event| event.service.as_deref() == Some("pickup")).unwrap();
    assert_eq!(
        summary(store, pickup).await,
        [row("0004", NoticeKind::PickupSuspended, Some(Channel::Whatsapp), &["P-D1"])]
    );

    let later = "2024-06-25T02:00:00Z";
    change(store, "PLG", Service::Printing, ServiceState::Operational, later).await;
    let up = plan_once(store, &settle(0), at(later)).await.unwrap();
    assert_eq!(up.len(), 1);
    let restored: Vec<_> =
        summary(store, &up[0]).await.into_iter().map(|(who, kind, _, codes)| (who, kind, codes)).collect();
    let told: Vec<_> =
        summary(store, down.iter().find(|event| event.service.as_deref() == Some("printing")).unwrap())
            .await
            .into_iter()
            .map(|(who, _, _, codes)| (who, NoticeKind::ServiceRestored, codes))
            .collect();
    assert_eq!(restored, told);
    assert!(store.open_incident(&"PLG".parse().unwrap()).await.unwrap().is_some(), "pickup is still down");

    change(store, "PLG", Service::Pickup, ServiceState::Operational, later).await;
    let open = plan_once(store, &settle(0), at(later)).await.unwrap();
    assert_eq!(
        summary(store, &open[0]).await,
        [row("0004", NoticeKind::ReadyForPickup, Some(Channel::Whatsapp), &["P-D1"])]
    );
    assert!(store.open_incident(&"PLG".parse().unwrap()).await.unwrap().is_none(), "every service is back");
}

async fn a_flap_within_the_settle_time_sends_nothing(db: &TestStore) {
    let store = fixture(db).await;
    let config = settle(120);
    change(store, "PLG", Service::Biometrics, ServiceState::Unavailable, "2024-06-20T03:00:00Z").await;
    assert!(
        plan_once(store, &config, at("2024-06-20T03:01:00Z")).await.unwrap().is_empty(),
        "still settling"
    );
    change(store, "PLG", Service::Biometrics, ServiceState::Operational, "2024-06-20T03:01:30Z").await;
    assert!(
        plan_once(store, &config, at("2024-06-20T03:10:00Z")).await.unwrap().is_empty(),
        "down and up: nothing"
    );

    // Down, degraded, down again within the settle time: one notice.
    change(store, "PLG", Service::Biometrics, ServiceState::Unavailable, "2024-06-20T04:00:00Z").await;
    change(store, "PLG", Service::Biometrics, ServiceState::Degraded, "2024-06-20T04:00:30Z").await;
    change(store, "PLG", Service::Biometrics, ServiceState::Unavailable, "2024-06-20T04:01:00Z").await;
    let events = plan_once(store, &config, at("2024-06-20T04:05:00Z")).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].from.as_deref(), events[0].to.as_deref()),
        (Some("operational"), Some("unavailable"))
    );
    let told = summary(store, &events[0]).await;
    assert!(told.iter().all(|(_, kind, _, _)| *kind == NoticeKind::AppointmentPostponed));
    assert_eq!(told.len(), 5, "the five applicants with an upcoming booked appointment at PLG: {told:?}");
}

async fn quiet_hours_follow_each_office_zone(db: &TestStore) {
    let store = fixture(db).await;
    // 21:30 WIB, 22:30 WITA, 23:30 WIT: quiet everywhere, ending at 07:00 local.
    let night = "2024-06-20T14:30:00Z";
    change(store, "PLG,GTO,JPR", Service::Printing, ServiceState::Unavailable, night).await;
    let events = plan_once(store, &settle(0), at(night)).await.unwrap();
    assert_eq!(events.len(), 3);
    let mut not_before = Vec::new();
    for event in &events {
        for message in store.planned_messages(event.counts.event_id).await.unwrap() {
            let last = message.mobile.e164()[message.mobile.e164().len() - 4..].to_owned();
            not_before.push((last, message.not_before.to_rfc3339()));
        }
    }
    not_before.sort();
    assert_eq!(
        not_before,
        [
            ("0001".to_owned(), "2024-06-21T00:00:00+00:00".to_owned()), // 07:00 WIB
            ("0002".to_owned(), "2024-06-21T00:00:00+00:00".to_owned()),
            ("0003".to_owned(), "2024-06-21T00:00:00+00:00".to_owned()),
            ("0007".to_owned(), "2024-06-21T00:00:00+00:00".to_owned()), // SMS waits too
            ("0008".to_owned(), "2024-06-20T14:30:00+00:00".to_owned()), // nothing to send
            ("0009".to_owned(), "2024-06-20T14:30:00+00:00".to_owned()), // 07:30 WITA appointment: now
            ("0010".to_owned(), "2024-06-20T23:00:00+00:00".to_owned()), // 07:00 WITA
            ("0011".to_owned(), "2024-06-20T22:00:00+00:00".to_owned()), // 07:00 WIT
            ("0012".to_owned(), "2024-06-20T14:30:00+00:00".to_owned()), // email is not held
        ]
    );
    let deferred: u64 = events.iter().map(|event| event.counts.deferred).sum();
    assert_eq!(deferred, 6);
}

async fn opted_out_channels_are_skipped_and_the_unreachable_counted(db: &TestStore) {
    let store = fixture(db).await;
    let config = PlannerConfig { channels: vec![Channel::Sms, Channel::Email], ..settle(0) };
    change(store, "PLG", Service::Biometrics, ServiceState::Unavailable, NOW).await;
    let events = plan_once(store, &config, at(NOW)).await.unwrap();
    let channels: Vec<_> =
        summary(store, &events[0]).await.into_iter().map(|(who, _, channel, _)| (who, channel)).collect();
    assert_eq!(
        channels,
        [
            ("0001".to_owned(), Some(Channel::Sms)),
            ("0002".to_owned(), Some(Channel::Sms)),
            ("0007".to_owned(), Some(Channel::Sms)),
            ("0008".to_owned(), None),
            ("0012".to_owned(), Some(Channel::Email)),
        ]
    );
    assert_eq!(events[0].counts.unreachable, 1);
}

async fn open_incidents_send_a_status_update_the_evening_before(db: &TestStore) {
    let store = fixture(db).await;
    change(store, "PLG", Service::Biometrics, ServiceState::Unavailable, NOW).await;
    plan_once(store, &settle(0), at(NOW)).await.unwrap();
    // 17:30 WIB on the day the incident opened: those applicants were just told.
    assert!(plan_once(store, &settle(0), at("2024-06-20T10:30:00Z")).await.unwrap().is_empty());
    // 16:00 WIB on 06-23: not yet.
    assert!(plan_once(store, &settle(0), at("2024-06-23T09:00:00Z")).await.unwrap().is_empty());
    // 17:05 WIB on 06-23: everyone booked at Palembang for 06-24 hears where things stand.
    let evening = at("2024-06-23T10:05:00Z");
    let events = plan_once(store, &settle(0), evening).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].slot.as_deref(), Some("2024-06-23"));
    assert_eq!(
        summary(store, &events[0]).await,
        [row("0001", NoticeKind::StatusUpdate, Some(Channel::Whatsapp), &["P-A2"])]
    );
    let again = plan_once(store, &settle(0), evening).await.unwrap();
    assert_eq!((again[0].counts.event_id, again[0].counts.messages), (events[0].counts.event_id, 0));

    // Once the office is back, the updates stop.
    change(store, "PLG", Service::Biometrics, ServiceState::Operational, "2024-06-24T01:00:00Z").await;
    plan_once(store, &settle(0), at("2024-06-24T01:00:00Z")).await.unwrap();
    assert!(plan_once(store, &settle(0), at("2024-06-24T10:05:00Z")).await.unwrap().is_empty());
}

async fn regular_printing_back_while_e_passports_wait(db: &TestStore) {
    // Gorontalo, 2024-06-25: printing works again for regular passports, e-passports still
    // cannot be issued. Only the regular applicants hear that it is back.
    let store = fixture(db).await;
    let rows = "\
G-C1,GTO,,Nina,0812-1000-0020,,,,2024-06-26 09:00,regular,no,booked,
G-D1,GTO,,Oki,0812-1000-0021,,,,2024-06-26 09:30,epassport,no,booked,
G-E1,GTO,,Putri,0812-1000-0022,,,,2024-06-14 09:00,epassport,no,printing,2024-06-14
";
    assert!(import_bookings(store, &bookings_csv(rows), true).await.is_clean());
    change(store, "all", Service::Printing, ServiceState::Unavailable, NOW).await;
    plan_once(store, &settle(0), at(NOW)).await.unwrap();
    sql(db, SENT).await;

    let back = "2024-06-25T01:00:00Z"; // 09:00 WITA
    change(store, "GTO", Service::Epassport, ServiceState::Unavailable, back).await;
    change(store, "GTO", Service::Printing, ServiceState::Operational, back).await;
    let events = plan_once(store, &settle(0), at(back)).await.unwrap();
    let restored = events.iter().find(|event| event.service.as_deref() == Some("printing")).unwrap();
    let who: Vec<_> =
        summary(store, restored).await.into_iter().map(|(who, kind, _, codes)| (who, kind, codes)).collect();
    assert_eq!(
        who,
        [
            ("0009".to_owned(), NoticeKind::ServiceRestored, vec!["G-A1".to_owned()]),
            ("0010".to_owned(), NoticeKind::ServiceRestored, vec!["G-B1".to_owned()]),
            ("0020".to_owned(), NoticeKind::ServiceRestored, vec!["G-C1".to_owned()]),
        ],
        "everyone told of the printing outage whose booking is open, except the e-passports still waiting"
    );
    let epassport = events.iter().find(|event| event.service.as_deref() == Some("epassport")).unwrap();
    let waiting: Vec<_> =
        summary(store, epassport).await.into_iter().map(|(who, _, _, codes)| (who, codes)).collect();
    assert_eq!(
        waiting,
        [("0021".to_owned(), vec!["G-D1".to_owned()]), ("0022".to_owned(), vec!["G-E1".to_owned()])]
    );
}

fn outage(until: Option<&str>, reason: &str, when: &str) -> kabar::state::StateChange {
    kabar::state::StateChange {
        target: "PLG".parse().unwrap(),
        service: Service::Printing,
        state: ServiceState::Unavailable,
        reason: Some(reason.into()),
        until: until.map(str::to_owned),
        actor: "test".into(),
        at: at(when),
    }
}

async fn the_same_state_again_is_no_change_and_a_new_time_one_update(db: &TestStore) {
    let store = fixture(db).await;
    let set = |change| async move { kabar::state::set_state(store, &change).await.unwrap() };
    set(outage(None, "Gangguan PDN", NOW)).await;
    let down = plan_once(store, &settle(0), at(NOW)).await.unwrap();
    let told: Vec<_> =
        summary(store, &down[0]).await.into_iter().map(|(who, _, _, codes)| (who, codes)).collect();
    assert_eq!(told.len(), 6);
    sql(db, SENT).await;

    // Identical state, reason and expected restoration: nothing recorded, nothing planned.
    let later = "2024-06-20T05:00:00Z";
    let same = set(outage(None, "Gangguan PDN", later)).await;
    assert!(same.iter().all(|applied| !applied.changed && !applied.updated));
    assert!(plan_once(store, &settle(0), at(later)).await.unwrap().is_empty());

    // A new expected restoration: one update to each applicant told, about the same bookings.
    let news = set(outage(Some("2024-06-24 17:00"), "Gangguan PDN", later)).await;
    assert!(news[0].changed && news[0].updated, "{news:?}");
    let update = plan_once(store, &settle(0), at(later)).await.unwrap();
    assert_eq!(update.len(), 1);
    assert!(update[0].update);
    assert_eq!(update[0].expected_at, Some(at("2024-06-24T10:00:00Z")));
    let heard = summary(store, &update[0]).await;
    assert!(heard.iter().all(|(_, kind, _, _)| *kind == NoticeKind::StatusUpdate), "{heard:?}");
    assert_eq!(heard.into_iter().map(|(who, _, _, codes)| (who, codes)).collect::<Vec<_>>(), told);
    let facts = store.event_facts(update[0].counts.event_id).await.unwrap().unwrap();
    assert_eq!(facts.expected_at, Some(at("2024-06-24T10:00:00Z")), "the message gives the new time");
    assert!(plan_once(store, &settle(0), at(later)).await.unwrap().is_empty(), "once");
    sql(db, SENT).await;

    // A new reason is an update too; the same one again is not.
    let evening = "2024-06-20T09:00:00Z";
    set(outage(Some("2024-06-24 17:00"), "Pemindahan pusat data", evening)).await;
    let reason = plan_once(store, &settle(0), at(evening)).await.unwrap();
    assert_eq!((reason.len(), reason[0].counts.messages), (1, 6));
    sql(db, SENT).await;
    set(outage(Some("2024-06-24 17:00"), "Pemindahan pusat data", evening)).await;
    assert!(plan_once(store, &settle(0), at(evening)).await.unwrap().is_empty());

    // The restoration still reaches each applicant told, once.
    let back = "2024-06-24T10:00:00Z";
    change(store, "PLG", Service::Printing, ServiceState::Operational, back).await;
    let up = plan_once(store, &settle(0), at(back)).await.unwrap();
    let restored: Vec<_> = summary(store, &up[0]).await.into_iter().map(|(who, _, _, _)| who).collect();
    assert_eq!(restored, told.iter().map(|(who, _)| who.clone()).collect::<Vec<_>>());
}

/// (last four digits, status, failure reason) of an event's messages.
async fn statuses(store: &Store, event: &PlannedEvent) -> Vec<(String, String, Option<String>)> {
    let filter = kabar::store::MessageFilter::default();
    let mut rows = Vec::new();
    store
        .export_messages(&filter, |row| {
            rows.push(row);
            Ok(())
        })
        .await
        .unwrap();
    let ids: Vec<i64> =
        store.planned_messages(event.counts.event_id).await.unwrap().iter().map(|m| m.id).collect();
    rows.into_iter()
        .filter(|row| ids.contains(&row.message_id))
        .map(|row| {
            let e164 = row.mobile.unwrap().e164().to_owned();
            (e164[e164.len() - 4..].to_owned(), row.status.to_string(), row.failure_reason)
        })
        .collect()
}

fn superseded(last: &str) -> (String, String, Option<String>) {
    (last.to_owned(), "cancelled".to_owned(), Some("superseded".to_owned()))
}

async fn a_notice_held_for_quiet_hours_is_superseded_by_the_next_one(db: &TestStore) {
    // Printing goes down at 22:00 WIB: WhatsApp and SMS wait for 07:00; the email leaves at once.
    let store = fixture(db).await;
    let night = "2024-06-20T15:00:00Z";
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, night).await;
    let down = plan_once(store, &settle(0), at(night)).await.unwrap();
    assert_eq!(down[0].counts.deferred, 4);
    sql(db, "UPDATE messages SET status = 'sent' WHERE channel = 'email'").await;

    // 23:00 WIB, a new expected time: the held notices are replaced by the same notices written
    // from the update (the applicant has heard nothing yet); the one who heard gets the update.
    let late = "2024-06-20T16:00:00Z";
    let mut update = outage(Some("2024-06-21 08:00"), "Gangguan Pusat Data Nasional", late);
    update.state = ServiceState::Unavailable;
    kabar::state::set_state(store, &update).await.unwrap();
    let updated = plan_once(store, &settle(0), at(late)).await.unwrap();
    assert_eq!((updated[0].counts.messages, updated[0].counts.superseded), (6, 4));
    use NoticeKind::{AppointmentUnchanged as Come, IssuanceDelayed as Late, StatusUpdate};
    let kinds: Vec<_> =
        summary(store, &updated[0]).await.into_iter().map(|(who, kind, _, _)| (who, kind)).collect();
    let expected = [
        ("0001", Come),
        ("0002", Come),
        ("0003", Late),
        ("0007", Come),
        ("0008", StatusUpdate),
        ("0012", StatusUpdate),
    ];
    assert_eq!(kinds, expected.map(|(who, kind)| (who.to_owned(), kind)));
    let first = statuses(store, &down[0]).await;
    assert_eq!(
        first,
        [
            superseded("0001"),
            superseded("0002"),
            superseded("0003"),
            superseded("0007"),
            ("0008".to_owned(), "unreachable".to_owned(), None),
            ("0012".to_owned(), "sent".to_owned(), None),
        ],
        "the delivery report says why"
    );

    // Back at 05:00 WIB, before anything held went out: the held notices are cancelled and only
    // those who heard of the outage hear it is over.
    let dawn = "2024-06-20T22:00:00Z";
    change(store, "PLG", Service::Printing, ServiceState::Operational, dawn).await;
    let up = plan_once(store, &settle(0), at(dawn)).await.unwrap();
    assert_eq!(up[0].counts.superseded, 5, "four held notices and the email update not yet sent");
    let restored: Vec<_> =
        summary(store, &up[0]).await.into_iter().map(|(who, kind, _, _)| (who, kind)).collect();
    assert_eq!(
        restored,
        [("0008".to_owned(), NoticeKind::ServiceRestored), ("0012".to_owned(), NoticeKind::ServiceRestored)]
    );
    let second = statuses(store, &updated[0]).await;
    assert!(second.iter().filter(|(who, _, _)| who != "0008").all(|row| row.1 == "cancelled"), "{second:?}");
}

async fn a_held_update_is_superseded_by_a_newer_update(db: &TestStore) {
    let store = fixture(db).await;
    change(store, "PLG", Service::Printing, ServiceState::Unavailable, NOW).await;
    plan_once(store, &settle(0), at(NOW)).await.unwrap();
    sql(db, "UPDATE messages SET status = 'sent' WHERE status = 'queued'").await;

    let night = "2024-06-20T15:00:00Z"; // 22:00 WIB
    kabar::state::set_state(store, &outage(Some("2024-06-24 17:00"), "Gangguan PDN", night)).await.unwrap();
    let first = plan_once(store, &settle(0), at(night)).await.unwrap();
    assert_eq!((first[0].counts.messages, first[0].counts.deferred), (6, 4));
    let later = "2024-06-20T16:00:00Z";
    kabar::state::set_state(store, &outage(Some("2024-06-25 17:00"), "Gangguan PDN", later)).await.unwrap();
    let second = plan_once(store, &settle(0), at(later)).await.unwrap();
    assert_eq!((second[0].counts.messages, second[0].counts.superseded), (6, 5));
    assert!(summary(store, &second[0]).await.iter().all(|(_, kind, _, _)| *kind == NoticeKind::StatusUpdate));
    let statuses = statuses(store, &first[0]).await;
    assert_eq!(
        statuses.iter().filter(|row| row.2.as_deref() == Some("superseded")).count(),
        5,
        "{statuses:?}"
    );
}

crate::store_tests!(
    a_notice_held_for_quiet_hours_is_superseded_by_the_next_one,
    a_held_update_is_superseded_by_a_newer_update,
    the_same_state_again_is_no_change_and_a_new_time_one_update,
    regular_printing_back_while_e_passports_wait,
    open_incidents_send_a_status_update_the_evening_before,
    a_printing_outage_tells_each_affected_applicant_once,
    e_passport_and_express_outages_reach_only_their_bookings,
    restoration_tells_exactly_those_told_of_the_disruption,
    a_flap_within_the_settle_time_sends_nothing,
    quiet_hours_follow_each_office_zone,
    opted_out_channels_are_skipped_and_the_unreachable_counted,
);
