//! What a crash can send twice is bounded by `concurrency`: a send holds its permit until its
//! outcome is written, so while the database cannot take outcomes, sending stops after at most
//! `concurrency` more requests (instead of sending everything in hand unrecorded).

use std::time::Duration;

use kabar::deliver::DeliveryConfig;
use kabar::domain::Channel;
use kabar::store::DatabaseUrl;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, SqliteConnection};

use crate::fakes::Fault;
use crate::harness::TestStore;
use crate::store_tests;
use crate::support::{bookings, import, now, plan_outage, worker, Fakes, Inspect};

const CONCURRENCY: usize = 4;
const MESSAGES: u32 = 60;

/// A connection of the test's own that keeps the worker from writing outcomes while it is held:
/// SQLite's write lock, or on PostgreSQL a lock on `messages` that conflicts with updates.
enum WriteLock {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl WriteLock {
    async fn take(url: &DatabaseUrl) -> WriteLock {
        match url {
            DatabaseUrl::Sqlite(path) => {
                let options = SqliteConnectOptions::new().filename(path);
                let mut connection = options.connect().await.expect("open SQLite");
                sqlx::raw_sql("PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE")
                    .execute(&mut connection)
                    .await
                    .expect("take SQLite's write lock");
                WriteLock::Sqlite(connection)
            }
            DatabaseUrl::Postgres(url) => {
                let mut connection =
                    PgConnection::connect(url.as_str()).await.expect("connect to PostgreSQL");
                sqlx::raw_sql("BEGIN; LOCK TABLE messages IN SHARE MODE")
                    .execute(&mut connection)
                    .await
                    .expect("lock the messages table");
                WriteLock::Postgres(connection)
            }
        }
    }

    async fn release(self) {
        match self {
            WriteLock::Sqlite(mut connection) => {
                sqlx::raw_sql("COMMIT").execute(&mut connection).await.expect("commit");
            }
            WriteLock::Postgres(mut connection) => {
                sqlx::raw_sql("COMMIT").execute(&mut connection).await.expect("commit");
            }
        }
    }
}

async fn sending_waits_while_outcomes_cannot_be_recorded(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(MESSAGES)).await;
    let planned = plan_outage(store, &[Channel::Sms]).await;
    let fakes = Fakes::start().await;
    // Each request takes 100 ms, so the whole run would take 1.5 s at this concurrency.
    fakes.twilio.fail_times(10_000, Fault::Delay(Duration::from_millis(100)));
    let config = DeliveryConfig { concurrency: CONCURRENCY, batch_size: 100, ..fakes.config() };
    let worker = worker(store, config).await;
    let drained = tokio::spawn(async move { worker.drain(now()).await });

    fakes.twilio.wait_for(1).await;
    let lock = WriteLock::take(&db.url).await;
    let before = fakes.twilio.received();
    // Long enough to send everything in hand several times over without backpressure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = fakes.twilio.received() - before;
    lock.release().await;
    let report = tokio::time::timeout(Duration::from_secs(60), drained)
        .await
        .expect("the worker finishes")
        .expect("no panic")
        .expect("the worker runs");

    assert!(
        during <= CONCURRENCY,
        "{during} requests went out while no outcome could be recorded; at most {CONCURRENCY} may"
    );
    assert_eq!(report.sent, planned.len(), "{report:?}");
    assert_eq!(fakes.twilio.received(), planned.len(), "each message once");
    let inspect = Inspect::open(&db.url).await;
    assert!(inspect.messages().await.iter().all(|row| row.status == "sent"));
}

store_tests!(sending_waits_while_outcomes_cannot_be_recorded);
