//! The June 2024 outage, replayed on the real office list: who hears what, step by step, ending
//! with Tangerang's weekend pickup for its printed backlog, sent by staff as a broadcast.

use kabar::domain::{Service, ServiceState, Stage};
use kabar::import::{import_offices_from, ImportOptions};
use kabar::plan::broadcast::{self, BroadcastContent, BroadcastFilter, BroadcastRequest};
use kabar::plan::notice::{NoticeConfig, StoredPickup};
use kabar::plan::{plan_once, PlannedEvent, PlannerConfig};
use kabar::render::{Catalogue, NoticeKind, Rendered};
use kabar::store::Store;

use crate::fixtures::{at, bookings_csv, change, import_bookings, sql, SENT};
use crate::harness::TestStore;

const BOOKINGS: &str = "\
PLG-1,PLG,,Ahmad,0813-2000-0001,,,,2024-06-21 09:00,regular,no,booked,
PLG-2,PLG,,Fatimah,0813-2000-0002,,,,2024-06-21 10:00,epassport,yes,booked,
PLG-3,PLG,,Rahmat,0813-2000-0003,,,,2024-06-22 08:30,epassport,no,booked,
GTO-1,GTO,,Yusuf,0813-2000-0004,,,,2024-06-12 09:00,epassport,no,printing,2024-06-12
GTO-2,GTO,,Lina,0813-2000-0005,,,,2024-06-13 09:00,regular,no,printing,2024-06-13
NNK-1,NNK,,Agus,0813-2000-0006,,,,2024-06-11 09:00,regular,no,ready,2024-06-11
TNG-1,TNG,,Sari,0813-2000-0007,,,,2024-06-07 09:00,regular,no,ready,2024-06-07
TNG-2,TNG,,Wati,0813-2000-0009,,,,2024-06-14 09:00,regular,no,printing,2024-06-14
PSB-1,PSB,,Doni,0813-2000-0008,,,,2024-06-21 09:00,regular,yes,booked,
";

/// Every message of the events, as (booking codes, kind), sorted.
async fn told(store: &Store, events: &[PlannedEvent]) -> Vec<(String, NoticeKind)> {
    let mut told = Vec::new();
    for event in events {
        for message in store.planned_messages(event.counts.event_id).await.unwrap() {
            let codes: Vec<&str> = message.bookings.iter().map(|code| code.as_str()).collect();
            told.push((codes.join("+"), message.kind));
        }
    }
    told.sort();
    told
}

fn expect(rows: &[(&str, NoticeKind)]) -> Vec<(String, NoticeKind)> {
    let mut rows: Vec<_> = rows.iter().map(|(codes, kind)| ((*codes).to_owned(), *kind)).collect();
    rows.sort();
    rows
}

async fn the_june_2024_outage(db: &TestStore) {
    let store = &db.store;
    let offices = kabar::demo::reference_offices_csv();
    let report = import_offices_from(store, offices.as_bytes(), "offices.csv", &ImportOptions::default())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(import_bookings(store, &bookings_csv(BOOKINGS), true).await.is_clean());
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    use NoticeKind::*;

    // Thursday 06-20, 10:00 WIB: printing and express stop everywhere; biometrics continue, so
    // nobody is told to stay away.
    let thursday = "2024-06-20T03:00:00Z";
    change(store, "all", Service::Printing, ServiceState::Unavailable, thursday).await;
    change(store, "all", Service::Express, ServiceState::Unavailable, thursday).await;
    let events = plan_once(store, &config, at(thursday)).await.unwrap();
    assert_eq!(
        told(store, &events).await,
        expect(&[
            ("PLG-1", AppointmentUnchanged),
            ("PLG-2", AppointmentUnchanged),
            ("PLG-2", ExpressSuspended),
            ("PLG-3", AppointmentUnchanged),
            ("GTO-1", IssuanceDelayed),
            ("GTO-2", IssuanceDelayed),
            ("TNG-2", IssuanceDelayed),
            ("PSB-1", AppointmentUnchanged),
            ("PSB-1", ExpressSuspended),
        ]),
        "ready passports (Nunukan, Tangerang) are not affected by printing"
    );
    sql(db, SENT).await;

    // Friday 06-21, 17:00 WIB: Palembang's applicants booked for Saturday hear where things stand.
    let friday_evening = "2024-06-21T10:00:00Z";
    let events = plan_once(store, &config, at(friday_evening)).await.unwrap();
    let palembang: Vec<_> = events.iter().filter(|event| event.office == "PLG").cloned().collect();
    assert_eq!(told(store, &palembang).await, expect(&[("PLG-3", StatusUpdate)]));
    sql(db, SENT).await;

    // Tuesday 06-25, 09:00 WITA: Nunukan stops pickup; Gorontalo prints regular passports again
    // while e-passports still cannot be issued.
    let tuesday = "2024-06-25T01:00:00Z";
    change(store, "NNK", Service::Pickup, ServiceState::Unavailable, tuesday).await;
    change(store, "GTO", Service::Epassport, ServiceState::Unavailable, tuesday).await;
    change(store, "GTO", Service::Printing, ServiceState::Operational, tuesday).await;
    let events = plan_once(store, &config, at(tuesday)).await.unwrap();
    let changes: Vec<_> = events.iter().filter(|event| event.change_id.is_some()).cloned().collect();
    assert_eq!(
        told(store, &changes).await,
        expect(&[("NNK-1", PickupSuspended), ("GTO-1", IssuanceDelayed), ("GTO-2", ServiceRestored)]),
        "only Gorontalo's regular applicant hears printing is back"
    );
    sql(db, SENT).await;

    // Monday 07-01, 08:00 WIB: Palembang's express service is back: only the express booking hears.
    let july = "2024-07-01T01:00:00Z";
    change(store, "PLG", Service::Express, ServiceState::Operational, july).await;
    let events = plan_once(store, &config, at(july)).await.unwrap();
    let express: Vec<_> =
        events.iter().filter(|event| event.service.as_deref() == Some("express")).cloned().collect();
    assert_eq!(told(store, &express).await, expect(&[("PLG-2", ServiceRestored)]));

    // Tangerang prints its backlog (the next M-Paspor export shows Wati's passport ready) and staff
    // open pickup on the weekend of 06-29/30: a broadcast to every passport ready at Tangerang.
    let printed = "TNG-2,TNG,,Wati,0813-2000-0009,,,,2024-06-14 09:00,regular,no,ready,2024-06-14\n";
    assert!(import_bookings(store, &bookings_csv(printed), true).await.is_clean());
    let friday = at("2024-06-28T03:00:00Z");
    let request = BroadcastRequest {
        title: "Pengambilan paspor akhir pekan".into(),
        filter: BroadcastFilter {
            offices: "TNG".into(),
            stages: vec![Stage::Ready],
            ..BroadcastFilter::default()
        },
        content: BroadcastContent::Template {
            kind: ReadyForPickup,
            pickup: Some(StoredPickup {
                hours_id: "Senin-Jumat 08.00-15.00 WIB".into(),
                hours_en: None,
                extra_id: Some("Sabtu-Minggu 29-30 Juni 08.00-12.00 WIB".into()),
                extra_en: None,
            }),
        },
        channels: None,
        send_at: None,
        actor: "kanim-tangerang".into(),
    };
    let preview =
        broadcast::preview(store, &Catalogue::builtin(), &config, &NoticeConfig::default(), &request, friday)
            .await
            .unwrap();
    assert_eq!(preview.messages, 2);
    let Rendered::Whatsapp(sample) = &preview.samples[0].rendered else { panic!("a WhatsApp sample") };
    assert!(sample.text.contains("Sabtu-Minggu 29-30 Juni 08.00-12.00 WIB"), "{}", sample.text);
    let id = broadcast::create(store, &config, &request, friday).await.unwrap();
    broadcast::plan_due(store, &config, friday).await.unwrap();
    let mut weekend: Vec<_> = store
        .broadcast_messages(id)
        .await
        .unwrap()
        .into_iter()
        .map(|message| (message.bookings[0].as_str().to_owned(), message.kind))
        .collect();
    weekend.sort();
    assert_eq!(weekend, expect(&[("TNG-1", ReadyForPickup), ("TNG-2", ReadyForPickup)]));
}

crate::store_tests!(the_june_2024_outage);
