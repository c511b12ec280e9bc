//! The audit log's statements: appending inside the caller's transaction, reading with a filter,
//! and verifying the chain.

use super::{epoch, on_reader, on_writer, Store, StoreError, WritePool};
use crate::audit::verify::Verifier;
use crate::audit::{AuditEntry, AuditFilter, AuditRecord, AuditRow, AuditVerification};

/// Rows per page when reading or verifying the log.
const PAGE: i64 = 1_000;

const COLUMNS: &str = "id, at, actor, action, target, offices, request_id, client, summary, prev_hash, hash";

/// Appends audit rows on an open connection, normally inside the transaction of the change the
/// row records, so the change and its record commit (or roll back) together:
///
/// ```ignore
/// let mut tx = pool.begin_write().await?;
/// // … the change …
/// tx.append_audit(entry).await?;
/// tx.commit().await?;
/// ```
///
/// Appenders take the chain's head in turn: the first statement updates the one `audit_head` row,
/// which PostgreSQL keeps locked until the transaction ends (SQLite has a single writer anyway).
/// Append last, just before committing, so the head is held only briefly.
pub(crate) trait AuditLog {
    async fn append_audit(&mut self, entry: AuditEntry) -> Result<AuditRecord, StoreError>;
}

macro_rules! audit_log_on {
    ($connection:ty) => {
        impl AuditLog for $connection {
            async fn append_audit(&mut self, entry: AuditEntry) -> Result<AuditRecord, StoreError> {
                let (id, prev_hash): (i64, String) =
                    sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                        .fetch_one(&mut *self)
                        .await?;
                let row = entry.into_row(id, prev_hash);
                sqlx::query(
                    "INSERT INTO audit_log (id, at, actor, action, target, offices, request_id, client,
                                            summary, prev_hash, hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(row.id)
                .bind(row.at)
                .bind(&row.actor)
                .bind(&row.action)
                .bind(&row.target)
                .bind(&row.offices)
                .bind(&row.request_id)
                .bind(&row.client)
                .bind(&row.summary)
                .bind(&row.prev_hash)
                .bind(&row.hash)
                .execute(&mut *self)
                .await?;
                sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
                    .bind(&row.hash)
                    .execute(&mut *self)
                    .await?;
                Ok(row.into_record())
            }
        }
    };
}
audit_log_on!(sqlx::SqliteConnection);
audit_log_on!(sqlx::PgConnection);

impl Store {
    /// Appends one row in a transaction of its own: for actions that change nothing else in the
    /// database (a report read with full numbers, a broadcast sent without a second approver).
    pub async fn record_audit(&self, entry: AuditEntry) -> Result<AuditRecord, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let record = tx.append_audit(entry).await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Hands every row the filter covers to `sink`, oldest first, a page at a time; returns how
    /// many.
    pub async fn audit_records<F>(&self, filter: &AuditFilter, mut sink: F) -> Result<u64, StoreError>
    where
        F: FnMut(AuditRecord) -> std::io::Result<()>,
    {
        let mut conditions = vec!["id > $1".to_owned()];
        let mut values: Vec<String> = Vec::new();
        let mut next = 3;
        let mut parameter = |conditions: &mut Vec<String>, condition: &str, value: String| {
            conditions.push(condition.replace('?', &format!("${next}")));
            values.push(value);
            next += 1;
        };
        if let Some(actor) = &filter.actor {
            if actor.ends_with(':') {
                parameter(&mut conditions, "actor LIKE ?", format!("{}%", actor.replace('%', "")));
            } else {
                parameter(&mut conditions, "actor = ?", actor.clone());
            }
        }
        if let Some(office) = &filter.office {
            parameter(&mut conditions, "',' || offices || ',' LIKE ?", format!("%,{office},%"));
        }
        if let Some(since) = filter.since {
            // Bound as text and cast, so every filter value is a string.
            parameter(&mut conditions, "at >= CAST(? AS BIGINT)", epoch(since).to_string());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE {} ORDER BY id LIMIT $2",
            conditions.join(" AND ")
        );
        let mut after = 0_i64;
        let mut written = 0_u64;
        loop {
            let rows: Vec<AuditRow> = on_reader!(self, pool => {
                let mut query = sqlx::query_as(&sql).bind(after).bind(PAGE);
                for value in &values {
                    query = query.bind(value);
                }
                query.fetch_all(pool).await?
            });
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in rows {
                sink(row.into_record()).map_err(|err| StoreError::Corrupt(format!("cannot write: {err}")))?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// Walks the whole chain and reports the first row that was altered, unlinked or removed.
    /// Rows appended while it runs are checked up to the head read at its start.
    pub async fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        let (head, head_hash): (i64, String) = on_reader!(self, pool => {
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(pool).await?
        });
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3");
        let mut verifier = Verifier::new();
        let mut after = 0_i64;
        'pages: loop {
            let rows: Vec<AuditRow> = on_reader!(self, pool => {
                sqlx::query_as(&sql).bind(after).bind(head).bind(PAGE).fetch_all(pool).await?
            });
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in &rows {
                if !verifier.check(row) {
                    break 'pages;
                }
            }
        }
        let beyond: Option<i64> = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT MIN(id) FROM audit_log WHERE id > (SELECT seq FROM audit_head WHERE id = 1)")
                .fetch_one(pool)
                .await?
        });
        Ok(verifier.finish(head, &head_hash, beyond))
    }
}
