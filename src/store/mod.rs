//! The store: one set of queries over SQLite (the embedded default) or PostgreSQL (several workers
//! on several machines).
//!
//! SQL is written once, in the dialect both engines share (`$N` parameters, `ON CONFLICT … DO
//! UPDATE`, `IS DISTINCT FROM`, `TRUE`/`FALSE`, epoch-second `BIGINT` timestamps). The
//! [`on_writer!`] and [`on_reader!`] macros expand a query body once per engine, so each engine
//! runs the same text with its own driver types. Dialect differences live only here: how a
//! connection is opened, how a write transaction begins ([`WritePool`]), and which migration
//! directory applies.
//!
//! SQLite never reports `SQLITE_BUSY` to a caller: every writer in a process shares one write
//! connection (writers queue in the pool, not in SQLite), write transactions start with `BEGIN
//! IMMEDIATE` so they take the write lock before reading, and a busy timeout absorbs other
//! processes. Readers use a separate pool and, thanks to WAL, never block the writer.

mod audit;
mod booking_copy;
mod booking_writes;
mod bookings;
mod broadcasts;
mod changes;
mod detect;
mod incidents;
mod notices;
mod observe;
mod offices;
mod outbox;
mod plan;
mod privacy;
mod receipts;
mod reports;
mod sessions;
mod staff;
mod states;
mod status;
mod subscriber_outbox;
mod subscriptions;
mod undo;
mod url;
mod workers;

use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

pub(crate) use audit::AuditLog;
pub use booking_writes::BookingImport;
pub use bookings::{ApplicantRecord, BookingRecord, UpsertCounts};
pub use broadcasts::{
    AudienceGroup, AudienceQuery, BookingFilter, BroadcastCounts, BroadcastOfficePlan, BroadcastRecord,
    BroadcastStatus, NewBroadcast, StepAudit, Transition, Transitioned,
};
pub use changes::{Changes, Topic, CHANGES_CHANNEL, POSTGRES_RECHECK, SQLITE_POLL};
pub use detect::ProbeRecorded;
pub use incidents::{
    ChannelProgress, IncidentFilter, IncidentRecord, NewIncidentUpdate, PostedUpdate, TimelineEntry,
};
pub use notices::{ApplicantFacts, BookingFacts, EventFacts, MessageFacts};
pub use observe::{QueueGauges, SchemaStatus};
pub use offices::OfficeDirectory;
pub use outbox::{Attempt, AttemptOutcome, Claim, FallBack, MessageCount, WAKE_CHANNEL};
pub use plan::{
    Audience, AudienceRow, EventPlan, HearingGroup, OpenIncident, PlannedCounts, PlannedMessage,
    SettledChange, Trigger, SUPERSEDED,
};
pub use receipts::{ReceiptReport, ReplyOutcome};
pub use reports::{
    CallBooking, CallListEntry, CallOutcome, ExportRow, FailureClass, MessageFilter, MessageStatus,
    MissedNotice, QueueStatus, RecordedOutcome, ReportError, Unreached, EXPORT_PAGE,
};
pub use sessions::ConsoleSession;
pub use staff::IdempotentStart;
pub use states::{AppliedChange, BoardRow, StateChangeRecord};
pub use status::PublicChange;
pub use subscriber_outbox::SubscriberMessageFacts;
pub use subscriptions::{ConfirmOutcome, NewSubscriber, SubscribeOutcome, UnsubscribeOutcome};
pub use undo::UndoOutcome;
pub use url::{DatabaseUrl, DatabaseUrlError};
pub use workers::{process_may_be_alive, WorkerIdentity, WorkerRow};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Errors of the store. The source chain keeps the driver's error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply the database migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    #[error("the database holds a value kabar cannot read: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the error says the database is unreachable or busy for now (a restart, a dropped
    /// connection, a lock held by another process) rather than that the request was wrong: the
    /// caller backs off and tries again instead of giving up.
    pub fn is_transient(&self) -> bool {
        let source = match self {
            StoreError::Connect { source, .. } | StoreError::Query(source) => source,
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(source)) => source,
            _ => return false,
        };
        match source {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(err) => {
                let code = err.code();
                let code = code.as_deref().unwrap_or_default();
                if err.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // BUSY and LOCKED, and their extended codes (517 = BUSY_SNAPSHOT, …).
                    return code.parse::<i32>().is_ok_and(|code| matches!(code & 0xff, 5 | 6));
                }
                // PostgreSQL: connection exceptions (08…), shutting down or starting up (57P0…),
                // too many connections, serialization failure, deadlock.
                code.starts_with("08")
                    || code.starts_with("57P0")
                    || matches!(code, "53300" | "40001" | "40P01")
            }
            _ => false,
        }
    }
}

/// The handle every part of kabar uses to reach the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Db,
}

#[derive(Clone)]
enum Db {
    Sqlite { writer: SqlitePool, reader: SqlitePool },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool that may write: SQLite's single writer or the
/// PostgreSQL pool. The body is compiled once per engine.
macro_rules! on_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { writer: $pool, .. } => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// As [`on_writer!`], with a pool for reads (SQLite's reader pool).
macro_rules! on_reader {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { reader: $pool, .. } => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use {on_reader, on_writer};

/// What differs between the engines when writing, besides how a transaction begins.
#[derive(Clone, Copy)]
pub(crate) struct Dialect {
    /// The placeholder of the `n`-th parameter (1-based) in a statement whose parameters appear in
    /// order, once each. SQLite resolves every `$N` by a linear search of the statement's named
    /// parameters, which makes binding thousands of them quadratic; an anonymous `?` is positional.
    pub placeholder: fn(usize) -> String,
    /// Statements that open a planning transaction. Each planning statement touches a few hundred
    /// applicants of one office; with PostgreSQL's default `random_page_cost` (4, for spinning
    /// disks) it would rather scan every applicant than look those up, once per office.
    pub planning_settings: &'static [&'static str],
    /// Refreshes the query planner's statistics. SQLite samples (a bounded analysis, seconds
    /// faster on millions of rows and as good for kabar's few indexes); PostgreSQL samples anyway.
    pub analyze: &'static str,
    /// Appended to the sub-select that picks messages to claim: PostgreSQL skips rows another
    /// worker is claiming; SQLite has one writer, so there is nothing to skip.
    pub skip_locked: &'static str,
    /// An aggregate collecting an expression's values into a JSON array, as text (`[1,2]`).
    pub id_array: fn(&str) -> String,
    /// A table expression, to follow `CROSS JOIN` (or `LEFT JOIN`, with `ON TRUE`), yielding each
    /// integer of the JSON array text in a column as `alias.value`.
    pub unnest_ids: fn(column: &str, alias: &str) -> String,
}

/// A pool that may write, on either engine.
pub(crate) trait WritePool {
    type Database: sqlx::Database;

    async fn begin_write(&self) -> Result<Transaction<'static, Self::Database>, sqlx::Error>;

    fn dialect(&self) -> Dialect;
}

impl WritePool for SqlitePool {
    type Database = Sqlite;

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        // IMMEDIATE takes the write lock up front, so a transaction that reads before it writes
        // cannot fail half-way with SQLITE_BUSY when another process writes in between.
        self.begin_with("BEGIN IMMEDIATE").await
    }

    fn dialect(&self) -> Dialect {
        Dialect {
            placeholder: |_| "?".to_owned(),
            planning_settings: &[],
            analyze: "PRAGMA analysis_limit = 1000; ANALYZE",
            skip_locked: "",
            id_array: |values| format!("json_group_array({values})"),
            unnest_ids: |column, alias| format!("json_each({column}) AS {alias}"),
        }
    }
}

impl WritePool for PgPool {
    type Database = Postgres;

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }

    fn dialect(&self) -> Dialect {
        Dialect {
            placeholder: |n| format!("${n}"),
            planning_settings: &["SET LOCAL random_page_cost = 1.1"],
            // VACUUM also sets the visibility map, without which the planner's index-only scans
            // of bookings visit the table for every row after a bulk load (twice as slow).
            analyze: "VACUUM (ANALYZE)",
            skip_locked: "FOR UPDATE SKIP LOCKED",
            id_array: |values| format!("CAST(json_agg({values}) AS TEXT)"),
            unnest_ids: |column, alias| {
                format!(
                    "LATERAL (SELECT CAST(value AS BIGINT) AS value
                              FROM json_array_elements_text(CAST({column} AS json))) AS {alias}"
                )
            },
        }
    }
}

impl Store {
    /// The dialect of this store's engine, for statements built before a pool is at hand.
    pub(crate) fn dialect(&self) -> Dialect {
        match &self.db {
            Db::Sqlite { writer, .. } => writer.dialect(),
            Db::Postgres(pool) => pool.dialect(),
        }
    }

    /// Opens the database (creating a SQLite file if needed) and applies pending migrations.
    pub async fn open(url: &DatabaseUrl) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database without migrating it.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store, StoreError> {
        let connect_error = |source| StoreError::Connect { url: url.to_string(), source };
        let db = match url {
            DatabaseUrl::Sqlite(path) => {
                let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                    .map_err(connect_error)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
                    .pragma("temp_store", "memory");
                // The writer's page cache holds the pages a large import transaction dirties
                // (64 MiB); readers scan and rely on the OS cache (4 MiB each: four of them at
                // 16 MiB were most of a serve's memory once the audience index had read every
                // booking).
                let writer_options = options.clone().pragma("cache_size", "-65536");
                let reader_options = options.read_only(true).pragma("cache_size", "-4096");
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(120))
                    .connect_with(writer_options)
                    .await
                    .map_err(connect_error)?;
                let reader = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(reader_options)
                    .await
                    .map_err(connect_error)?;
                Db::Sqlite { writer, reader }
            }
            DatabaseUrl::Postgres(pg_url) => {
                let options = PgConnectOptions::from_str(pg_url.as_str()).map_err(connect_error)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(connect_error)?;
                Db::Postgres(pool)
            }
        };
        Ok(Store { db })
    }

    /// Applies every migration of this engine that the database does not have yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Refreshes the query planner's statistics after a bulk load, so the planner's set-based
    /// statements get good plans at once instead of after the next automatic analysis.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            sqlx::raw_sql(pool.dialect().analyze).execute(pool).await?;
        });
        Ok(())
    }

    /// How many notice events may be planned at once: SQLite has one writer; PostgreSQL plans
    /// offices side by side, one per core.
    pub fn planning_concurrency(&self) -> usize {
        match &self.db {
            Db::Sqlite { .. } => 1,
            Db::Postgres(_) => {
                std::thread::available_parallelism().map_or(2, |cores| cores.get().clamp(2, 8))
            }
        }
    }

    /// Closes every connection; pending writes are already committed.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// Seconds since the Unix epoch: how every instant is stored, on both engines.
pub(crate) fn epoch(instant: chrono::DateTime<chrono::Utc>) -> i64 {
    instant.timestamp()
}

pub(crate) fn from_epoch(seconds: i64) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {seconds} is out of range")))
}

/// Parses a value the store wrote itself; a failure means the database was edited by hand.
pub(crate) fn parse_stored<T: FromStr>(column: &str, value: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|err| StoreError::Corrupt(format!("column {column}: {err}")))
}

/// `(p1, p2, …), (…)` for `rows` rows of `columns` parameters each, numbered in order from 1 and
/// spelt by `placeholder`; `template` turns a row's placeholders into its SQL, so a row can also
/// hold expressions.
pub(crate) fn values_list(
    rows: usize,
    columns: usize,
    placeholder: fn(usize) -> String,
    template: impl Fn(&[String]) -> String,
) -> String {
    let mut sql = String::new();
    for row in 0..rows {
        let names: Vec<String> = (1..=columns).map(|c| placeholder(row * columns + c)).collect();
        let _ = write!(sql, "{}({})", if row == 0 { "" } else { ", " }, template(&names));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_number_parameters_row_by_row() {
        let numbered = values_list(2, 2, |n| format!("${n}"), |p| p.join(", "));
        assert_eq!(numbered, "($1, $2), ($3, $4)");
        let positional = values_list(2, 2, |_| "?".into(), |p| format!("{}, lower({})", p[0], p[1]));
        assert_eq!(positional, "(?, lower(?)), (?, lower(?))");
    }
}
