//! The audit log on both engines: append-only by trigger, a hash chain that names the first row
//! altered or removed, one linear chain however many append at once.

use kabar::audit::{Actor, AuditEntry, AuditFilter, AuditProblem, AuditRecord};
use kabar::store::{DatabaseUrl, Store};

use crate::fixtures::at;
use crate::harness::TestStore;

/// Runs one statement on a raw connection of its own, outside kabar (as someone with database
/// access would): the triggers and the hashes are the only guards.
pub async fn execute(db: &TestStore, statement: &str) -> Result<u64, sqlx::Error> {
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await?;
            let done = sqlx::query(statement).execute(&pool).await.map(|done| done.rows_affected());
            pool.close().await;
            done
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await?;
            let done = sqlx::query(statement).execute(&pool).await.map(|done| done.rows_affected());
            pool.close().await;
            done
        }
    }
}

/// One number read on a raw connection.
pub async fn scalar(db: &TestStore, query: &str) -> i64 {
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
            let value = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
            pool.close().await;
            value
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            let value = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
            pool.close().await;
            value
        }
    }
}

async fn drop_trigger(db: &TestStore, name: &str) {
    let statement = match db.url {
        DatabaseUrl::Sqlite(_) => format!("DROP TRIGGER {name}"),
        DatabaseUrl::Postgres(_) => format!("DROP TRIGGER {name} ON audit_log"),
    };
    execute(db, &statement).await.unwrap();
}

pub async fn records(store: &Store, filter: &AuditFilter) -> Vec<AuditRecord> {
    let mut rows = Vec::new();
    store
        .audit_records(filter, |record| {
            rows.push(record);
            Ok(())
        })
        .await
        .unwrap();
    rows
}

/// Three rows: a state change at PLG and GTO by staff, an erasure at GTO from the CLI, a purge.
async fn three_rows(store: &Store) {
    let entries = [
        AuditEntry::new(at("2024-06-20T03:00:00Z"), Actor::staff("ani"), "state.set", "service:printing")
            .with_offices(["PLG".parse().unwrap(), "GTO".parse().unwrap()])
            .with_summary(serde_json::json!({"from": "operational", "to": "unavailable"})),
        AuditEntry::new(
            at("2024-06-21T03:00:00Z"),
            "cli:budi".parse().unwrap(),
            "applicant.erase",
            "applicant:7",
        )
        .with_offices(["GTO".parse().unwrap()])
        .with_summary(serde_json::json!({"mobile": "+62812****0001"})),
        AuditEntry::new(
            at("2024-06-22T03:00:00Z"),
            Actor::system("retention"),
            "retention.purge",
            "retention",
        ),
    ];
    for (expected, entry) in (1..).zip(entries) {
        assert_eq!(store.record_audit(entry).await.unwrap().id, expected);
    }
}

async fn rows_are_chained_and_read_back_by_filter(db: &TestStore) {
    let store = &db.store;
    three_rows(store).await;
    let all = records(store, &AuditFilter::default()).await;
    assert_eq!(all.iter().map(|row| row.id).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0].prev_hash, kabar::audit::GENESIS_HASH);
    assert!(all.windows(2).all(|pair| pair[1].prev_hash == pair[0].hash), "each row links to the one before");
    assert_eq!(all[0].offices, ["GTO", "PLG"], "offices sorted");
    assert_eq!(all[0].summary["to"], "unavailable");
    assert_eq!(all[1].actor, "cli:budi");
    assert_eq!(all[2].at, at("2024-06-22T03:00:00Z"));

    let ids = |rows: Vec<AuditRecord>| rows.into_iter().map(|row| row.id).collect::<Vec<_>>();
    let gto = AuditFilter { office: Some("GTO".parse().unwrap()), ..AuditFilter::default() };
    assert_eq!(ids(records(store, &gto).await), [1, 2]);
    let plg = AuditFilter { office: Some("PLG".parse().unwrap()), ..AuditFilter::default() };
    assert_eq!(ids(records(store, &plg).await), [1]);
    let staff = AuditFilter { actor: Some("staff:".into()), ..AuditFilter::default() };
    assert_eq!(ids(records(store, &staff).await), [1]);
    let budi = AuditFilter { actor: Some("cli:budi".into()), ..AuditFilter::default() };
    assert_eq!(ids(records(store, &budi).await), [2]);
    let since = AuditFilter { since: Some(at("2024-06-21T03:00:00Z")), ..AuditFilter::default() };
    assert_eq!(ids(records(store, &since).await), [2, 3]);
    let nobody = AuditFilter { actor: Some("cli:bud".into()), ..AuditFilter::default() };
    assert!(records(store, &nobody).await.is_empty(), "an actor is matched whole");

    let verdict = store.verify_audit().await.unwrap();
    assert!(verdict.is_intact(), "{verdict:?}");
    assert_eq!((verdict.rows, verdict.head), (3, 3));
}

async fn the_log_refuses_updates_and_deletes(db: &TestStore) {
    three_rows(&db.store).await;
    let refused = [
        "UPDATE audit_log SET actor = 'staff:mallory' WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 3",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = 2",
    ];
    for statement in refused {
        let err = execute(db, statement).await.expect_err(statement).to_string();
        assert!(err.contains("append-only") || err.contains("audit_head"), "{statement}: {err}");
    }
    if matches!(db.url, DatabaseUrl::Postgres(_)) {
        let err = execute(db, "TRUNCATE audit_log").await.expect_err("truncate").to_string();
        assert!(err.contains("append-only"), "{err}");
    }
    let verdict = db.store.verify_audit().await.unwrap();
    assert!(verdict.is_intact() && verdict.rows == 3, "{verdict:?}");
    assert_eq!(records(&db.store, &AuditFilter::default()).await[1].actor, "cli:budi");
}

async fn verify_names_an_edited_row(db: &TestStore) {
    three_rows(&db.store).await;
    drop_trigger(db, "audit_log_no_update").await;
    let edited = execute(db, "UPDATE audit_log SET summary = '{\"mobile\":\"+62812****9999\"}' WHERE id = 2");
    assert_eq!(edited.await.unwrap(), 1);
    let verdict = db.store.verify_audit().await.unwrap();
    assert_eq!(verdict.problem, Some(AuditProblem::Altered { id: 2 }), "{verdict:?}");
    assert_eq!(verdict.rows, 1, "row 1 still checks");
    assert!(verdict.problem.unwrap().to_string().starts_with("row 2 was altered"));
}

async fn verify_names_a_deleted_row(db: &TestStore) {
    three_rows(&db.store).await;
    drop_trigger(db, "audit_log_no_delete").await;
    assert_eq!(execute(db, "DELETE FROM audit_log WHERE id = 3").await.unwrap(), 1);
    let verdict = db.store.verify_audit().await.unwrap();
    assert_eq!(verdict.problem, Some(AuditProblem::Missing { id: 3 }), "the head still counts row 3");
    assert_eq!(execute(db, "DELETE FROM audit_log WHERE id = 2").await.unwrap(), 1);
    let verdict = db.store.verify_audit().await.unwrap();
    assert_eq!(verdict.problem, Some(AuditProblem::Missing { id: 2 }), "{verdict:?}");
    assert_eq!(verdict.problem.unwrap().to_string(), "row 2 is missing: it was deleted");
}

/// Many appenders at once (PostgreSQL: one connection each) still make one linear chain: every
/// place taken once, every row linked to the one before.
async fn concurrent_appenders_make_one_chain(db: &TestStore) {
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = db.store.clone();
            tokio::spawn(async move {
                for step in 0..10 {
                    let entry = AuditEntry::new(
                        at("2024-06-20T03:00:00Z"),
                        Actor::system(&format!("task{task}")),
                        "test.append",
                        format!("step:{step}"),
                    );
                    store.record_audit(entry).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let rows = records(&db.store, &AuditFilter::default()).await;
    assert_eq!(rows.iter().map(|row| row.id).collect::<Vec<_>>(), (1..=80).collect::<Vec<_>>());
    let verdict = db.store.verify_audit().await.unwrap();
    assert!(verdict.is_intact(), "{verdict:?}");
    assert_eq!(verdict.rows, 80);
}

crate::store_tests!(
    rows_are_chained_and_read_back_by_filter,
    the_log_refuses_updates_and_deletes,
    verify_names_an_edited_row,
    verify_names_a_deleted_row,
    concurrent_appenders_make_one_chain,
);
