//! The retention policy in one transaction.

use chrono::{DateTime, Utc};

use super::{anonymise_sql, mask_replies, wipe_attempts_sql};
use crate::audit::{Actor, AuditEntry};
use crate::privacy::{Cutoffs, PurgeReport};
use crate::store::{epoch, on_writer, AuditLog, Store, StoreError, WritePool};

/// The applicants with no booking left and no message being sent, who are removed (or reduced
/// to their opt-outs). Anti-joins, so both engines read each table once rather than once per
/// applicant.
fn left_without_bookings(extra: &str) -> String {
    format!(
        "SELECT a.id FROM applicants a
         LEFT JOIN bookings b ON b.applicant_id = a.id
         LEFT JOIN (SELECT DISTINCT applicant_id FROM messages WHERE status IN ('queued', 'sending')) p
                ON p.applicant_id = a.id
         WHERE b.id IS NULL AND p.applicant_id IS NULL{extra}"
    )
}

const OPTED_OUT: &str = "(a.whatsapp_opted_out OR a.sms_opted_out OR a.email_opted_out)";

/// Messages to anonymise, $1 being the cutoff: those of applicants about to be removed, and those
/// finished before the cutoff that are not part of an incident still open (its restoration notice
/// finds its audience through them). A message's finish is its last event: read, delivered,
/// failed (or cancelled), sent, or its planning for one that never left (unreachable).
fn expired_messages() -> String {
    format!(
        "(status NOT IN ('queued', 'sending')
          AND COALESCE(read_at, delivered_at, failed_at, sent_at, created_at) < $1
          AND (event_id IS NULL OR event_id NOT IN (
                  SELECT e.id FROM notice_events e JOIN incidents i ON i.id = e.incident_id
                  WHERE i.resolved_at IS NULL)))
         OR applicant_id IN ({})",
        left_without_bookings("")
    )
}

/// Closed bookings past the cutoff ($1).
const EXPIRED_BOOKINGS: &str =
    "stage IN ('picked_up', 'cancelled', 'no_show') AND appointment_at < $1 AND updated_at < $1";

impl Store {
    /// Applies the retention policy (see [`crate::privacy`]) in one transaction with its audit
    /// row; a dry run rolls everything back, audit row included.
    pub async fn apply_retention(
        &self,
        cutoffs: Cutoffs,
        actor: &Actor,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<PurgeReport, StoreError> {
        let (messages_cutoff, bookings_cutoff) = (epoch(cutoffs.messages), epoch(cutoffs.bookings));
        let expired = expired_messages();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // Closed bookings first: their applicants may be left with none. Their call notes go
            // with them.
            sqlx::query(&format!(
                "DELETE FROM call_outcomes WHERE booking_id IN (SELECT id FROM bookings WHERE {EXPIRED_BOOKINGS})"
            ))
            .bind(bookings_cutoff)
            .execute(&mut *tx)
            .await?;
            let bookings_removed = sqlx::query(&format!(
                "DELETE FROM bookings WHERE {EXPIRED_BOOKINGS}"
            ))
            .bind(bookings_cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let attempt_errors_wiped = sqlx::query(&wipe_attempts_sql(&expired))
                .bind(messages_cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let messages_anonymised = sqlx::query(&anonymise_sql(&expired))
                .bind(messages_cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let replies_masked = mask_replies!(tx, "received_at < $1", messages_cutoff);
            let applicants_reduced_to_opt_outs = sqlx::query(&format!(
                "UPDATE applicants SET name = '', email = NULL, whatsapp = NULL, language = NULL, updated_at = $1
                 WHERE id IN ({})
                   AND (name <> '' OR email IS NOT NULL OR whatsapp IS NOT NULL OR language IS NOT NULL)",
                left_without_bookings(&format!(" AND {OPTED_OUT}"))
            ))
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let applicants_removed = sqlx::query(&format!(
                "DELETE FROM applicants WHERE id IN ({})",
                left_without_bookings(&format!(" AND NOT {OPTED_OUT}"))
            ))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let mut report = PurgeReport {
                dry_run,
                cutoffs,
                messages_anonymised,
                attempt_errors_wiped,
                replies_masked,
                bookings_removed,
                applicants_removed,
                applicants_reduced_to_opt_outs,
                audit_id: None,
            };
            let entry = AuditEntry::new(now, actor.clone(), "retention.purge", "retention")
                .with_summary(serde_json::to_value(&report).unwrap_or_default());
            let record = tx.append_audit(entry).await?;
            if dry_run {
                tx.rollback().await?;
            } else {
                tx.commit().await?;
                report.audit_id = Some(record.id);
            }
            Ok(report)
        })
    }
}
