//! The shared change signal and the public change history: a state change made through another
//! store handle moves the signal's version and wakes a watcher; the history leaves the actor out.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use kabar::domain::{Service, ServiceState};
use kabar::state::{set_state, StateChange, Target};
use kabar::status::{Overall, Snapshot};
use kabar::store::{Changes, Store, Topic};

use crate::fixtures::import_offices;
use crate::harness::TestStore;

fn change(
    target: &str,
    service: Service,
    state: ServiceState,
    reason: Option<&str>,
    hour: u32,
) -> StateChange {
    StateChange {
        target: target.parse::<Target>().unwrap(),
        service,
        state,
        reason: reason.map(str::to_owned),
        until: None,
        actor: "petugas-plg".into(),
        at: Utc.with_ymd_and_hms(2024, 6, 20, hour, 0, 0).unwrap(),
    }
}

async fn a_change_by_another_handle_moves_the_signal_and_wakes_the_watcher(db: &TestStore) {
    import_offices(&db.store).await;
    let before = db.store.change_version(Topic::Status).await.unwrap();
    assert!(before > 0, "importing offices moves the signal");
    let changes = Changes::watch(&db.store, Topic::Status).await.unwrap();
    let mut versions = changes.subscribe();
    assert_eq!(*versions.borrow(), before);

    let other = Store::open(&db.url).await.unwrap();
    set_state(&other, &change("PLG", Service::Printing, ServiceState::Unavailable, Some("PDN"), 3))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), versions.changed()).await.expect("woken").unwrap();
    assert!(*versions.borrow() > before);
    // The same state again writes nothing and moves nothing.
    let now = db.store.change_version(Topic::Status).await.unwrap();
    set_state(&other, &change("PLG", Service::Printing, ServiceState::Unavailable, Some("PDN"), 3))
        .await
        .unwrap();
    assert_eq!(db.store.change_version(Topic::Status).await.unwrap(), now);
    other.close().await;
}

async fn the_public_history_builds_incidents_without_the_actor(db: &TestStore) {
    import_offices(&db.store).await;
    set_state(&db.store, &change("all", Service::Printing, ServiceState::Unavailable, Some("PDN"), 3))
        .await
        .unwrap();
    set_state(&db.store, &change("GTO", Service::Printing, ServiceState::Operational, None, 5))
        .await
        .unwrap();
    let history = db.store.public_changes().await.unwrap();
    assert_eq!(history.len(), 5);
    assert!(history.windows(2).all(|pair| pair[0].id < pair[1].id), "oldest first");
    assert_eq!(history[4].to, ServiceState::Operational);

    let now = Utc.with_ymd_and_hms(2024, 6, 21, 0, 0, 0).unwrap();
    let snapshot = Snapshot::load(&db.store, now).await.unwrap();
    assert_eq!(snapshot.version, db.store.change_version(Topic::Status).await.unwrap());
    let national: Vec<_> = snapshot.national.iter().filter(|incident| incident.is_open()).collect();
    assert_eq!(national.len(), 1, "{:?}", snapshot.national);
    let gto = snapshot.office(&"GTO".parse().unwrap()).unwrap();
    assert_eq!(gto.overall, Overall::Normal);
    assert_eq!(gto.incidents.len(), 1);
    assert!(!gto.incidents[0].is_open(), "restoration closes the office's incident");
    let plg = snapshot.office(&"PLG".parse().unwrap()).unwrap();
    assert_eq!(plg.overall, Overall::Disrupted);
    assert!(plg.incidents[0].is_open());
    let today = plg
        .services
        .iter()
        .find(|s| s.service == Service::Printing)
        .unwrap()
        .history
        .last()
        .copied()
        .unwrap();
    // 21 June from 00:00 to 07:00 WIB, all of it down.
    assert_eq!((today.worst, today.disrupted_minutes), (ServiceState::Unavailable, 420));
}

crate::store_tests!(
    a_change_by_another_handle_moves_the_signal_and_wakes_the_watcher,
    the_public_history_builds_incidents_without_the_actor,
);
