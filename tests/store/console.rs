//! The staff console's store on both engines: sessions kept only as hashes, rotated at login,
//! ended by the idle and the absolute timeout, by a disabled account and by logout (audited); the
//! language remembered per account; a change undone while it settles plans nothing, and an undo
//! after the settle time is refused.

use chrono::Duration;
use kabar::audit::{Actor, Origin};
use kabar::domain::{Language, Service, ServiceState};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::staff::accounts::{self, NewStaff, StaffChange};
use kabar::staff::{Role, SessionError, Sessions, StaffConfig};
use kabar::store::UndoOutcome;
use secrecy::ExposeSecret;

use crate::audit::scalar;
use crate::fixtures::{at, change, import_offices};
use crate::harness::TestStore;

const NOW: &str = "2024-06-20T03:00:00Z";

fn admin() -> Origin {
    Origin::of(Actor::staff("root"))
}

async fn budi(db: &TestStore) -> kabar::staff::StaffAccount {
    import_offices(&db.store).await;
    let new = NewStaff {
        username: "budi".parse().unwrap(),
        display_name: Some("Budi Santoso".into()),
        role: Role::Officer,
        scope: "PLG".parse().unwrap(),
    };
    accounts::add_staff(&db.store, new, "kata sandi yang panjang".into(), &admin(), at(NOW)).await.unwrap()
}

async fn sessions_rotate_time_out_and_end(db: &TestStore) {
    let account = budi(db).await;
    let config = StaffConfig { session_idle_minutes: 30, session_hours: 2, ..StaffConfig::default() };
    let sessions = Sessions::new(db.store.clone(), config);
    let first = sessions.open(&account, None, at(NOW)).await.unwrap();
    let id = first.expose_secret().to_owned();
    assert_eq!(
        scalar(db, &format!("SELECT COUNT(*) FROM console_sessions WHERE id_hash LIKE '%{}%'", &id[..16]))
            .await,
        0,
        "only the hash is stored"
    );
    let session = sessions.check(&id, at(NOW) + Duration::minutes(29)).await.unwrap();
    assert_eq!((session.account.username.as_str(), session.language), ("budi", Language::Id));

    // A new login replaces the browser's old session: the id rotates.
    let second = sessions.open(&account, Some(&id), at(NOW) + Duration::minutes(29)).await.unwrap();
    assert!(matches!(sessions.check(&id, at(NOW) + Duration::minutes(30)).await, Err(SessionError::Missing)));
    let id = second.expose_secret().to_owned();
    // Each request within the idle time keeps it alive, up to the absolute lifetime.
    for minutes in [50, 75, 100, 118] {
        sessions.check(&id, at(NOW) + Duration::minutes(minutes)).await.unwrap();
    }
    let expired = sessions.check(&id, at(NOW) + Duration::minutes(29 + 120)).await.unwrap_err();
    assert!(matches!(expired, SessionError::Expired(2)), "{expired:?}");
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM console_sessions").await,
        0,
        "a timed-out session is forgotten"
    );

    let idle = sessions.open(&account, None, at(NOW)).await.unwrap();
    let refused = sessions.check(idle.expose_secret(), at(NOW) + Duration::minutes(31)).await.unwrap_err();
    assert!(matches!(refused, SessionError::Idle(30)), "{refused:?}");

    // A disabled account's session lets nobody in.
    let live = sessions.open(&account, None, at(NOW)).await.unwrap();
    let disable = StaffChange { disabled: Some(true), ..StaffChange::default() };
    accounts::update_staff(&db.store, &account.username, disable, None, &admin(), at(NOW)).await.unwrap();
    let refused = sessions.check(live.expose_secret(), at(NOW) + Duration::minutes(1)).await.unwrap_err();
    assert!(matches!(refused, SessionError::Disabled), "{refused:?}");
}

async fn logout_and_language_are_audited(db: &TestStore) {
    let account = budi(db).await;
    let sessions = Sessions::new(db.store.clone(), StaffConfig::default());
    let id = sessions.open(&account, None, at(NOW)).await.unwrap();
    let origin = Origin::of(Actor::staff("budi"));
    assert!(db.store.set_staff_language(&account.username, Language::En, at(NOW), &origin).await.unwrap());
    let session = sessions.check(id.expose_secret(), at(NOW)).await.unwrap();
    assert_eq!(session.language, Language::En, "the language is the account's");
    assert!(sessions.close(id.expose_secret(), at(NOW), &origin).await.unwrap());
    assert!(!sessions.close(id.expose_secret(), at(NOW), &origin).await.unwrap(), "already ended");
    assert!(matches!(sessions.check(id.expose_secret(), at(NOW)).await, Err(SessionError::Missing)));
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM audit_log WHERE actor = 'staff:budi' AND action IN ('staff.language', 'staff.logout')")
            .await,
        2
    );
}

async fn an_undo_while_settling_plans_nothing(db: &TestStore) {
    import_offices(&db.store).await;
    let config = PlannerConfig::default();
    let settle = Duration::seconds(i64::try_from(config.settle_seconds).unwrap());
    // Printing was degraded (and planned) before; now it goes down, then is undone.
    change(&db.store, "PLG", Service::Printing, ServiceState::Degraded, "2024-06-20T01:00:00Z").await;
    plan_once(&db.store, &config, at("2024-06-20T02:00:00Z")).await.unwrap();
    let events = scalar(db, "SELECT COUNT(*) FROM notice_events").await;
    change(&db.store, "PLG", Service::Printing, ServiceState::Unavailable, NOW).await;
    let ids = db.store.current_change_ids(&["PLG".parse().unwrap()], Service::Printing).await.unwrap();
    let id = ids[0].1;
    let origin = Origin::of(Actor::staff("budi"));
    let late = db.store.undo_changes(&[id], at(NOW), "staff:budi", at(NOW) + settle, &origin).await.unwrap();
    assert_eq!(late, UndoOutcome::TooLate(id), "settled: applicants may be hearing of it");
    let now = at(NOW) + Duration::seconds(30);
    let undone = db.store.undo_changes(&[id], now - settle, "staff:budi", now, &origin).await.unwrap();
    assert_eq!(
        undone,
        UndoOutcome::Undone(vec![("PLG".parse().unwrap(), Service::Printing, ServiceState::Degraded)])
    );
    let board = db.store.service_board(Some(&"PLG".parse().unwrap())).await.unwrap();
    let printing = board.iter().find(|row| row.service == Service::Printing).unwrap();
    assert_eq!(
        (printing.state, printing.reason.as_deref()),
        (ServiceState::Degraded, Some("Gangguan Pusat Data Nasional")),
        "the previous state, reason and restoration stand again"
    );
    let again = db.store.undo_changes(&[id], now - settle, "staff:budi", now, &origin).await.unwrap();
    assert_eq!(again, UndoOutcome::TooLate(id), "no longer the current change");
    plan_once(&db.store, &config, now + settle * 2).await.unwrap();
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM notice_events").await, events, "nothing new to tell");
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'state.undo'").await, 1);
    let offices = db.store.change_offices(&[id, 999_999]).await.unwrap();
    assert_eq!(offices.len(), 1, "an unknown change has no office");
}

crate::store_tests!(
    sessions_rotate_time_out_and_end,
    logout_and_language_are_audited,
    an_undo_while_settling_plans_nothing,
);
