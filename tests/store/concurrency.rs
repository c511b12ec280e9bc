//! Many writers at once: SQLite must queue them, never surface SQLITE_BUSY; PostgreSQL must keep
//! every write.

use chrono::Utc;
use kabar::domain::{Service, ServiceState};
use kabar::state::{set_state, StateChange, Target};
use kabar::store::Store;

use crate::fixtures::{bookings_csv, import_bookings, import_offices};
use crate::harness::TestStore;

fn rows(writer: usize, count: usize) -> String {
    (0..count)
        .map(|n| {
            format!(
                "MP-W{writer}-{n:04},PLG,,Pemohon {n},0812{writer:02}{n:06},,,,2024-06-24 09:00,regular,no,booked,\n"
            )
        })
        .collect()
}

async fn concurrent_writers_never_fail(db: &TestStore) {
    import_offices(&db.store).await;
    // A second handle on the same database stands for a second kabar process.
    let other = Store::open(&db.url).await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..6 {
        let store = if writer % 2 == 0 { db.store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let file = bookings_csv(&rows(writer, 60));
            let report = import_bookings(&store, &file, false).await;
            assert!(report.is_clean(), "{report}");
            for round in 0..5 {
                let state =
                    if round % 2 == 0 { ServiceState::Unavailable } else { ServiceState::Operational };
                let change = StateChange {
                    target: Target::All,
                    service: Service::ALL[writer],
                    state,
                    reason: Some(format!("uji {writer}")),
                    until: None,
                    actor: format!("writer-{writer}"),
                    at: Utc::now(),
                };
                set_state(&store, &change).await.expect("no writer sees SQLITE_BUSY");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    other.close().await;
    assert_eq!(db.store.count_bookings().await.unwrap(), 360);
    let board = db.store.service_board(None).await.unwrap();
    assert_eq!(board.len(), 6 * 4);
    assert!(board.iter().all(|row| row.state == ServiceState::Unavailable));
}

crate::store_tests!(concurrent_writers_never_fail);
