//! A broadcast's steps through its lifecycle, each in one transaction with its audit row: the
//! record is read, checked (its status, and for an approval that the approver is not the
//! author), and moved on only from the status it was read in, so two people acting at once
//! cannot both succeed.

use chrono::{DateTime, Utc};

use super::{broadcast_record, BroadcastRecord, BroadcastRow, BroadcastStatus, BROADCAST_COLUMNS};
use crate::audit::AuditEntry;
use crate::store::{epoch, on_writer, AuditLog, Store, StoreError, WritePool};

/// Makes a step's audit row from the record before and after, and the messages cancelled.
pub type StepAudit<'a> = dyn Fn(&BroadcastRecord, &BroadcastRecord, u64) -> AuditEntry + Sync + 'a;

/// One step: from one of `from` to `to`, by `by` at `at`.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub id: i64,
    pub from: &'a [BroadcastStatus],
    pub to: BroadcastStatus,
    /// The actor taking the step.
    pub by: &'a str,
    pub at: DateTime<Utc>,
    /// On submitting: the applicants counted.
    pub reach: Option<u64>,
    /// On rejecting: why.
    pub reason: Option<&'a str>,
    /// The step is refused to the broadcast's author (an approval).
    pub not_by_author: bool,
}

/// What came of a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Transitioned {
    /// Taken; for a cancellation, with the messages not yet handed to a provider that were
    /// cancelled.
    Done {
        before: Box<BroadcastRecord>,
        after: Box<BroadcastRecord>,
        cancelled_messages: u64,
    },
    Unknown,
    /// The broadcast is not in a status the step starts from (as it now stands).
    WrongStatus(Box<BroadcastRecord>),
    /// The author asked to take a step someone else must take.
    ByAuthor(Box<BroadcastRecord>),
}

/// What the step records besides the status; every value is bound, never inlined.
fn set_clause(from: BroadcastStatus, to: BroadcastStatus) -> &'static str {
    match (from, to) {
        (BroadcastStatus::Submitted, BroadcastStatus::Scheduled) => "approved_by = $4, approved_at = $5",
        (_, BroadcastStatus::Submitted | BroadcastStatus::Scheduled) => {
            "submitted_by = $4, submitted_at = $5, reach = $6"
        }
        (_, BroadcastStatus::Rejected) => "rejected_by = $4, rejected_at = $5, rejection_reason = $6",
        _ => "cancelled_by = $4, cancelled_at = $5",
    }
}

impl Store {
    /// Takes one lifecycle step and appends the audit row `audit` makes of the record before and
    /// after (and the messages cancelled), in one transaction. A cancellation also cancels the
    /// broadcast's messages not yet handed to a provider (`queued`).
    pub async fn transition_broadcast(
        &self,
        step: &Transition<'_>,
        audit: Option<&StepAudit<'_>>,
    ) -> Result<Transitioned, StoreError> {
        let select = format!("SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = $1");
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<BroadcastRow> =
                sqlx::query_as(&select).bind(step.id).fetch_optional(&mut *tx).await?;
            let Some(before) = row.map(broadcast_record).transpose()? else {
                return Ok(Transitioned::Unknown);
            };
            if !step.from.contains(&before.status) {
                return Ok(Transitioned::WrongStatus(Box::new(before)));
            }
            if step.not_by_author && before.created_by == step.by {
                return Ok(Transitioned::ByAuthor(Box::new(before)));
            }
            let sql = format!(
                "UPDATE broadcasts SET status = $3, {} WHERE id = $1 AND status = $2",
                set_clause(before.status, step.to)
            );
            let mut update = sqlx::query(&sql)
                .bind(step.id)
                .bind(before.status.as_str())
                .bind(step.to.as_str())
                .bind(step.by)
                .bind(epoch(step.at));
            if sql.contains("$6") {
                update = match step.to {
                    BroadcastStatus::Rejected => update.bind(step.reason),
                    _ => update.bind(step.reach.map(|reach| reach.min(i64::MAX as u64) as i64)),
                };
            }
            if update.execute(&mut *tx).await?.rows_affected() == 0 {
                // Moved on since it was read (a worker planned it, someone else acted).
                let row: BroadcastRow = sqlx::query_as(&select).bind(step.id).fetch_one(&mut *tx).await?;
                return Ok(Transitioned::WrongStatus(Box::new(broadcast_record(row)?)));
            }
            let cancelled_messages = if step.to == BroadcastStatus::Cancelled {
                sqlx::query(
                    "UPDATE messages SET status = 'cancelled', failed_at = $2
                     WHERE broadcast_id = $1 AND status = 'queued'",
                )
                .bind(step.id)
                .bind(epoch(step.at))
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                0
            };
            let row: BroadcastRow = sqlx::query_as(&select).bind(step.id).fetch_one(&mut *tx).await?;
            let after = broadcast_record(row)?;
            if let Some(audit) = audit {
                tx.append_audit(audit(&before, &after, cancelled_messages)).await?;
            }
            tx.commit().await?;
            Ok(Transitioned::Done { before: Box::new(before), after: Box::new(after), cancelled_messages })
        })
    }
}
