//! Writing bookings and their applicants: one batch in one transaction, or (`--strict`) every
//! batch of a file in one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Sqlite, SqliteConnection, Transaction};

use super::{epoch, values_list, Db, Store, StoreError, WritePool};
use crate::domain::{Applicant, Booking, Msisdn};

/// How many rows one multi-row statement carries. Both engines accept far more parameters than
/// this needs (11 per booking); larger statements stop paying off.
const ROWS_PER_STATEMENT: usize = 100;

/// The columns of `applicants` an import writes, in the order of its values.
pub(super) const APPLICANT_COLUMNS: &str = "mobile, name, email, whatsapp, language, created_at, updated_at";

/// What an import does to an applicant already known by mobile number. An empty cell never
/// erases what an earlier row said; the contact's name is the one first seen (each booking keeps
/// its own holder name), unless retention wiped it (an applicant kept only for their opt-outs has
/// an empty name).
pub(super) const ON_APPLICANT_CONFLICT: &str = "ON CONFLICT (mobile) DO UPDATE SET
             name = CASE WHEN applicants.name = '' THEN excluded.name ELSE applicants.name END,
             email = COALESCE(excluded.email, applicants.email),
             whatsapp = COALESCE(excluded.whatsapp, applicants.whatsapp),
             language = COALESCE(excluded.language, applicants.language),
             updated_at = excluded.updated_at
         WHERE applicants.name = ''
            OR COALESCE(excluded.email, applicants.email) IS DISTINCT FROM applicants.email
            OR COALESCE(excluded.whatsapp, applicants.whatsapp) IS DISTINCT FROM applicants.whatsapp
            OR COALESCE(excluded.language, applicants.language) IS DISTINCT FROM applicants.language";

fn upsert_applicants_sql(rows: usize, placeholder: fn(usize) -> String) -> String {
    let values = values_list(rows, 7, placeholder, |p| p.join(", "));
    format!("INSERT INTO applicants ({APPLICANT_COLUMNS}) VALUES {values} {ON_APPLICANT_CONFLICT}")
}

/// The columns of `bookings` an import writes, in the order of its values.
pub(super) const BOOKING_COLUMNS: &str = "code, applicant_id, office_code, unit_code, holder_name, \
     appointment_at, product, express, stage, applied_on, updated_at";

/// What an import does to a booking already known by code: it is rewritten only when a value
/// changed, so `rows_affected` counts the rows inserted or changed.
pub(super) const ON_BOOKING_CONFLICT: &str = "ON CONFLICT (code) DO UPDATE SET
             applicant_id = excluded.applicant_id, office_code = excluded.office_code,
             unit_code = excluded.unit_code, holder_name = excluded.holder_name,
             appointment_at = excluded.appointment_at, product = excluded.product,
             express = excluded.express, stage = excluded.stage, applied_on = excluded.applied_on,
             updated_at = excluded.updated_at
         WHERE bookings.applicant_id IS DISTINCT FROM excluded.applicant_id
            OR bookings.office_code IS DISTINCT FROM excluded.office_code
            OR bookings.unit_code IS DISTINCT FROM excluded.unit_code
            OR bookings.holder_name IS DISTINCT FROM excluded.holder_name
            OR bookings.appointment_at IS DISTINCT FROM excluded.appointment_at
            OR bookings.product IS DISTINCT FROM excluded.product
            OR bookings.express IS DISTINCT FROM excluded.express
            OR bookings.stage IS DISTINCT FROM excluded.stage
            OR bookings.applied_on IS DISTINCT FROM excluded.applied_on";

fn upsert_bookings_sql(rows: usize, placeholder: fn(usize) -> String) -> String {
    let values = values_list(rows, 11, placeholder, |p| {
        format!("{}, (SELECT id FROM applicants WHERE mobile = {}), {}", p[0], p[1], p[2..].join(", "))
    });
    format!("INSERT INTO bookings ({BOOKING_COLUMNS}) VALUES {values} {ON_BOOKING_CONFLICT}")
}

/// The applicants of a batch, one per mobile number, merged the way the upsert merges them.
pub(super) fn distinct_applicants(batch: &[Booking]) -> Vec<Applicant> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    let mut merged: Vec<Applicant> = Vec::with_capacity(batch.len());
    for booking in batch {
        let incoming = &booking.applicant;
        match index.get(incoming.mobile.e164()) {
            Some(&at) => {
                let known = &mut merged[at];
                if incoming.email.is_some() {
                    known.email.clone_from(&incoming.email);
                }
                if incoming.whatsapp.is_some() {
                    known.whatsapp.clone_from(&incoming.whatsapp);
                }
                if incoming.language.is_some() {
                    known.language = incoming.language;
                }
            }
            None => {
                index.insert(incoming.mobile.e164(), merged.len());
                merged.push(incoming.clone());
            }
        }
    }
    merged
}

/// The bookings of a batch, one per code; a later row for the same code wins, as it would in
/// separate batches.
pub(super) fn distinct_bookings(batch: &[Booking]) -> Vec<&Booking> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    for (at, booking) in batch.iter().enumerate() {
        last.insert(booking.code.as_str(), at);
    }
    batch
        .iter()
        .enumerate()
        .filter(|(at, booking)| last[booking.code.as_str()] == *at)
        .map(|(_, booking)| booking)
        .collect()
}

/// The WhatsApp number as stored: `NULL` when it is the mobile number.
pub(super) fn stored_whatsapp(applicant: &Applicant) -> Option<&str> {
    applicant.whatsapp.as_ref().filter(|number| **number != applicant.mobile).map(Msisdn::e164)
}

/// Writes one batch of bookings and their applicants inside the open SQLite transaction `conn`;
/// returns the booking rows written. (PostgreSQL copies the batch in: `booking_copy`.)
async fn upsert_batch(
    conn: &mut SqliteConnection,
    placeholder: fn(usize) -> String,
    batch: &[Booking],
    at: i64,
) -> Result<u64, StoreError> {
    let applicants = distinct_applicants(batch);
    let bookings = distinct_bookings(batch);
    for chunk in applicants.chunks(ROWS_PER_STATEMENT) {
        let sql = upsert_applicants_sql(chunk.len(), placeholder);
        let mut query = sqlx::query(&sql);
        for applicant in chunk {
            query = query
                .bind(applicant.mobile.e164())
                .bind(&applicant.name)
                .bind(applicant.email.as_ref().map(|email| email.as_str()))
                .bind(stored_whatsapp(applicant))
                .bind(applicant.language.map(|language| language.as_str()))
                .bind(at)
                .bind(at);
        }
        query.execute(&mut *conn).await?;
    }
    let mut written = 0;
    for chunk in bookings.chunks(ROWS_PER_STATEMENT) {
        let sql = upsert_bookings_sql(chunk.len(), placeholder);
        let mut query = sqlx::query(&sql);
        for booking in chunk {
            query = query
                .bind(booking.code.as_str())
                .bind(booking.applicant.mobile.e164())
                .bind(booking.office.as_str())
                .bind(booking.unit.as_ref().map(|unit| unit.as_str()))
                .bind(&booking.holder_name)
                .bind(epoch(booking.appointment_at))
                .bind(booking.product.as_str())
                .bind(booking.express)
                .bind(booking.stage.as_str())
                .bind(booking.applied_on.map(|date| date.to_string()))
                .bind(at);
        }
        written += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(written)
}

/// Closed booking codes per statement that takes their queued messages back.
const STOP_CHUNK: usize = 500;

/// The failure reason of a queued message cancelled because every booking it was about closed.
pub const BOOKING_CLOSED: &str = "booking closed";

/// Cancels the queued messages of the applicants of the closed bookings listed ($2…, $1 now)
/// that list at least one booking and no open one.
fn stop_closed_sql(
    codes: usize,
    placeholder: fn(usize) -> String,
    unnest_ids: fn(&str, &str) -> String,
) -> String {
    let closed = super::plan::sql::CLOSED_STAGES;
    let list = (2..codes + 2).map(placeholder).collect::<Vec<_>>().join(", ");
    let listed = unnest_ids("messages.booking_ids", "l");
    format!(
        "UPDATE messages SET status = 'cancelled', failure_reason = '{BOOKING_CLOSED}', failed_at = {now}
         WHERE status = 'queued'
           AND applicant_id IN (SELECT applicant_id FROM bookings WHERE code IN ({list}))
           AND EXISTS (SELECT 1 FROM {listed})
           AND NOT EXISTS (SELECT 1 FROM {listed} JOIN bookings b ON b.id = l.value
                           WHERE b.stage NOT IN {closed})",
        now = placeholder(1),
    )
}

/// A booking import that writes every batch in one transaction (`kabar import bookings
/// --strict`): nothing is kept unless [`BookingImport::commit`] is reached. Dropping it rolls
/// back. On SQLite it holds the single write connection until then, so other writers wait.
pub struct BookingImport {
    tx: ImportTransaction,
    placeholder: fn(usize) -> String,
    unnest_ids: fn(&str, &str) -> String,
    /// The secondary indexes of `bookings` dropped for an initial load, by name and definition,
    /// built again before the commit.
    suspended: Vec<(String, String)>,
}

enum ImportTransaction {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl BookingImport {
    /// Inserts or updates a batch, as [`Store::upsert_bookings`] does, inside the transaction.
    pub async fn upsert(&mut self, batch: &[Booking], at: DateTime<Utc>) -> Result<u64, StoreError> {
        let written = match &mut self.tx {
            ImportTransaction::Sqlite(tx) => upsert_batch(tx, self.placeholder, batch, epoch(at)).await?,
            ImportTransaction::Postgres(tx) => {
                super::booking_copy::upsert_batch(tx, batch, epoch(at)).await?
            }
        };
        self.stop_closed(batch, at).await?;
        Ok(written)
    }

    /// A booking closed since its notice was planned (cancelled, no-show, picked up) takes back
    /// what is still queued about it, in the same transaction: a queued message none of whose
    /// bookings is open any more is cancelled (`booking closed`); one that still lists an open
    /// booking goes out about that one alone (the worker reads the bookings as they stand when it
    /// sends, which is also how a rescheduled appointment reaches the applicant as it now is).
    /// Returns how many messages were cancelled.
    async fn stop_closed(&mut self, batch: &[Booking], at: DateTime<Utc>) -> Result<u64, StoreError> {
        let closed: Vec<&str> = batch
            .iter()
            .filter(|booking| booking.stage.is_closed())
            .map(|booking| booking.code.as_str())
            .collect();
        let mut cancelled = 0;
        for chunk in closed.chunks(STOP_CHUNK) {
            let sql = stop_closed_sql(chunk.len(), self.placeholder, self.unnest_ids);
            macro_rules! run {
                ($tx:expr) => {{
                    let mut query = sqlx::query(&sql).bind(epoch(at));
                    for code in chunk {
                        query = query.bind(*code);
                    }
                    query.execute(&mut *$tx).await?.rows_affected()
                }};
            }
            cancelled += match &mut self.tx {
                ImportTransaction::Sqlite(tx) => run!(*tx),
                ImportTransaction::Postgres(tx) => run!(*tx),
            };
        }
        Ok(cancelled)
    }

    /// Appends the audit row of the import, to commit with its rows.
    pub async fn audit(&mut self, entry: crate::audit::AuditEntry) -> Result<(), StoreError> {
        use super::AuditLog as _;
        match &mut self.tx {
            ImportTransaction::Sqlite(tx) => tx.append_audit(entry).await?,
            ImportTransaction::Postgres(tx) => tx.append_audit(entry).await?,
        };
        Ok(())
    }

    /// For a first load into an empty table on SQLite: drops the secondary indexes of
    /// `bookings` inside the transaction, so that the rows are appended without keeping them in
    /// step, and [`BookingImport::commit`] builds each again from the sorted rows at once (a
    /// million rows in 30.6 s where batch after batch took 46.6 s, in one benchmark run). Readers
    /// see the indexes throughout: they read the last commit. On PostgreSQL it does nothing, since `DROP INDEX` would lock every reader out of
    /// `bookings` until the commit.
    pub async fn suspend_indexes(&mut self) -> Result<(), StoreError> {
        let ImportTransaction::Sqlite(tx) = &mut self.tx else { return Ok(()) };
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master
             WHERE type = 'index' AND tbl_name = 'bookings' AND sql IS NOT NULL ORDER BY name",
        )
        .fetch_all(&mut **tx)
        .await?;
        for (name, _) in &indexes {
            sqlx::query(&format!("DROP INDEX \"{name}\"")).execute(&mut **tx).await?;
        }
        self.suspended.extend(indexes);
        Ok(())
    }

    pub async fn commit(mut self) -> Result<(), StoreError> {
        if let ImportTransaction::Sqlite(tx) = &mut self.tx {
            for (_, definition) in std::mem::take(&mut self.suspended) {
                sqlx::query(&definition).execute(&mut **tx).await?;
            }
        }
        match self.tx {
            ImportTransaction::Sqlite(tx) => tx.commit().await?,
            ImportTransaction::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.tx {
            ImportTransaction::Sqlite(tx) => tx.rollback().await?,
            ImportTransaction::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

impl Store {
    /// Inserts or updates a batch of bookings and their applicants in one transaction. Returns how
    /// many booking rows were written (inserted or changed); unchanged rows are not touched.
    pub async fn upsert_bookings(&self, batch: &[Booking], at: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut import = self.begin_booking_import().await?;
        let written = import.upsert(batch, at).await?;
        import.commit().await?;
        Ok(written)
    }

    /// Opens a transaction for writing bookings in several batches.
    pub async fn begin_booking_import(&self) -> Result<BookingImport, StoreError> {
        let placeholder = self.dialect().placeholder;
        let tx = match &self.db {
            Db::Sqlite { writer, .. } => ImportTransaction::Sqlite(writer.begin_write().await?),
            Db::Postgres(pool) => ImportTransaction::Postgres(pool.begin_write().await?),
        };
        Ok(BookingImport { tx, placeholder, unnest_ids: self.dialect().unnest_ids, suspended: Vec::new() })
    }
}
