//! Planning a scheduled broadcast: one set-based statement per office, as for notice events.

use chrono::{DateTime, Utc};

use super::BookingFilter;
use crate::domain::{Channel, OfficeCode};
use crate::render::NoticeKind;
use crate::store::plan::sql::{message_columns, MESSAGE_COLUMNS};
use crate::store::{epoch, on_writer, Store, StoreError, WritePool};

/// Everything needed to plan a broadcast's messages at one office, in one transaction.
#[derive(Debug, Clone)]
pub struct BroadcastOfficePlan {
    pub broadcast_id: i64,
    pub office: OfficeCode,
    pub kind: NoticeKind,
    pub filter: BookingFilter,
    pub now: DateTime<Utc>,
    /// Where the horizon of service rules (and of "next appointment" for quiet hours) ends.
    pub horizon_end: DateTime<Utc>,
    pub quiet_until: Option<DateTime<Utc>>,
    pub quiet_margin: chrono::Duration,
    pub channels: Vec<Channel>,
}

/// What planning one office of a broadcast wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BroadcastCounts {
    pub messages: u64,
    pub unreachable: u64,
    pub deferred: u64,
}

impl Store {
    /// Plans a broadcast's messages at one office: one per applicant with a booking the filter
    /// matches, listing those bookings. Nothing is planned once the broadcast is cancelled, and a
    /// replay plans nothing new (unique key (broadcast, office, applicant)).
    pub async fn plan_broadcast_office(
        &self,
        plan: &BroadcastOfficePlan,
    ) -> Result<BroadcastCounts, StoreError> {
        let now = epoch(plan.now);
        let filter = plan.filter.sql(plan.now, plan.horizon_end);
        // $1 broadcast, $2 now, $3 horizon end, $4 end of quiet hours, $5 margin, $6 office, $7 kind.
        let booking_ids = (self.dialect().id_array)("b.id");
        let insert_messages = format!(
            "INSERT INTO messages (broadcast_id, {MESSAGE_COLUMNS})
             SELECT {columns}
             FROM (SELECT b.applicant_id, {booking_ids} AS booking_ids,
                          MIN(CASE WHEN b.appointment_at >= $2 AND b.appointment_at < $3 THEN b.appointment_at END) AS next_at
                   FROM bookings b
                   WHERE b.office_code = $6 AND {filter}
                   GROUP BY b.applicant_id) s
             JOIN applicants a ON a.id = s.applicant_id
             WHERE TRUE
             ON CONFLICT (broadcast_id, office_code, applicant_id) WHERE broadcast_id IS NOT NULL DO NOTHING",
            columns = message_columns("$7", "$6", &plan.channels),
        );
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // Touching the row takes its lock on PostgreSQL: a concurrent cancel waits for this
            // office, or this office sees the cancel.
            let scheduled = sqlx::query(
                "UPDATE broadcasts SET planned_at = planned_at WHERE id = $1 AND status = 'scheduled'",
            )
            .bind(plan.broadcast_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if scheduled == 0 {
                return Ok(BroadcastCounts::default());
            }
            let messages = sqlx::query(&insert_messages)
                .bind(plan.broadcast_id)
                .bind(now)
                .bind(epoch(plan.horizon_end))
                .bind(plan.quiet_until.map_or(now, epoch))
                .bind(plan.quiet_margin.num_seconds())
                .bind(plan.office.as_str())
                .bind(plan.kind.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let (unreachable, deferred): (i64, i64) = sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN status = 'unreachable' THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN not_before > $3 THEN 1 ELSE 0 END), 0)
                 FROM messages WHERE broadcast_id = $1 AND office_code = $2",
            )
            .bind(plan.broadcast_id)
            .bind(plan.office.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(BroadcastCounts { messages, unreachable: unreachable as u64, deferred: deferred as u64 })
        })
    }

    /// Marks a broadcast planned once every office is; a cancelled one stays cancelled.
    pub async fn finish_broadcast(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let updated = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let updated = sqlx::query(
                "UPDATE broadcasts SET status = 'planned', planned_at = $2 WHERE id = $1 AND status = 'scheduled'",
            )
            .bind(id)
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            updated
        });
        Ok(updated == 1)
    }
}
