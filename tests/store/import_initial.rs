//! An initial load (issue 17, item 3): a large export into an empty table is one transaction,
//! with the secondary indexes of `bookings` dropped and built again at the end on SQLite. It must
//! leave the same rows and the same indexes as the batch path, keep nothing when the store
//! fails, and still write the valid rows of a file with bad ones.

use kabar::import::{ImportError, ImportOptions};
use kabar::store::DatabaseUrl;

use crate::fixtures::{bookings_csv, import_offices};
use crate::harness::TestStore;

fn rows(count: usize) -> String {
    (1..=count)
        .map(|n| {
            let stage = ["booked", "printing", "ready"][n % 3];
            format!(
                "MP-{n:04},PLG,,Applicant {n},0812-2000-{:04},,,,2024-06-24 09:00,regular,no,{stage},\n",
                n % 7
            )
        })
        .collect()
}

/// Every index on `bookings`, by name and definition, as the engine reports them.
async fn booking_indexes(db: &TestStore) -> Vec<(String, String)> {
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
            let sql = "SELECT name, COALESCE(sql, '') FROM sqlite_master
                       WHERE type = 'index' AND tbl_name = 'bookings' ORDER BY name";
            let indexes = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            indexes
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            let sql = "SELECT indexname::text, indexdef FROM pg_indexes
                       WHERE tablename = 'bookings' ORDER BY indexname";
            let indexes = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            indexes
        }
    }
}

/// An initial load however small the file, in batches of 4.
fn initial_load() -> ImportOptions {
    ImportOptions { initial_load_bytes: 0, batch_size: 4, ..ImportOptions::default() }
}

async fn an_initial_load_writes_every_row_and_keeps_every_index(db: &TestStore) {
    import_offices(&db.store).await;
    let indexes = booking_indexes(db).await;
    assert!(indexes.len() >= 3, "{indexes:?}");
    // Two bad rows among 21: the valid ones are written all the same.
    let bad = "MP-BAD1,NOPE,,Nobody,0812-2999-0001,,,,2024-06-24 09:00,regular,no,booked,\n\
               MP-BAD2,PLG,,Nobody,0812-2999-0002,,,,2024-06-24 09:00,regular,maybe,booked,\n";
    let file = bookings_csv(&format!("{}{bad}", rows(19)));
    let report = kabar::import::import_bookings(&db.store, &file.path, &initial_load()).await.unwrap();
    assert_eq!((report.rows, report.rejected, report.counts.inserted), (21, 2, 19), "{report}");
    assert_eq!(db.store.count_bookings().await.unwrap(), 19);
    assert_eq!(db.store.count_applicants().await.unwrap(), 7);
    assert_eq!(booking_indexes(db).await, indexes, "the same indexes, built again");

    // The table is no longer empty: the same file again goes the batch path and changes nothing.
    let again = kabar::import::import_bookings(&db.store, &file.path, &initial_load()).await.unwrap();
    assert_eq!((again.counts.inserted, again.counts.updated, again.counts.unchanged), (0, 0, 19), "{again}");
    assert_eq!(booking_indexes(db).await, indexes);
}

async fn an_initial_load_keeps_nothing_when_the_store_fails(db: &TestStore) {
    import_offices(&db.store).await;
    let indexes = booking_indexes(db).await;
    crate::import_files::refuse_boom(db).await;
    let boom = "MP-BOOM,PLG,,Boom,0812-2999-0001,,,,2024-06-24 09:00,regular,no,booked,\n";
    let file = bookings_csv(&format!("{}{boom}", rows(9)));
    let err = kabar::import::import_bookings(&db.store, &file.path, &initial_load()).await.unwrap_err();
    assert!(matches!(err, ImportError::Write { first_line: 10, last_line: 11, .. }), "{err}");
    assert_eq!(db.store.count_bookings().await.unwrap(), 0, "one transaction: nothing kept");
    assert_eq!(db.store.count_applicants().await.unwrap(), 0);
    assert_eq!(booking_indexes(db).await, indexes, "the dropped indexes came back with the rollback");
}

crate::store_tests!(
    an_initial_load_writes_every_row_and_keeps_every_index,
    an_initial_load_keeps_nothing_when_the_store_fails,
);
