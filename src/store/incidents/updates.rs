//! A staff-written incident update, planned in one transaction to the applicants the incident's
//! notices were for.

use chrono::{DateTime, Utc};

use crate::audit::Origin;
use crate::domain::{Channel, OfficeCode};
use crate::render::NoticeKind;
use crate::store::plan::sql::{message_columns, MESSAGE_COLUMNS};
use crate::store::{epoch, on_writer, AuditLog, Dialect, Store, StoreError, WritePool};

/// A staff-written update to plan: the text of the `broadcast` notice.
#[derive(Debug, Clone)]
pub struct NewIncidentUpdate {
    pub incident: i64,
    pub office: OfficeCode,
    pub text_id: String,
    pub text_en: Option<String>,
    pub channels: Vec<Channel>,
    pub now: DateTime<Utc>,
    /// When the office's quiet hours end, if `now` is inside them.
    pub quiet_until: Option<DateTime<Utc>>,
    pub quiet_margin: chrono::Duration,
}

/// What posting an update planned.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PostedUpdate {
    pub update_id: i64,
    pub broadcast_id: i64,
    pub messages: u64,
    pub unreachable: u64,
    pub deferred: u64,
}

const CLOSED_STAGES: &str = "('picked_up', 'cancelled', 'no_show')";

/// The applicants an incident's notices were for (not the superseded ones), with their bookings
/// still open: the audience of a staff update. $2 now, $3 incident.
fn incident_audience_sql(dialect: Dialect) -> String {
    let told = (dialect.unnest_ids)("m.booking_ids", "t");
    let booking_ids = (dialect.id_array)("DISTINCT b.id");
    format!(
        "SELECT m.applicant_id, {booking_ids} AS booking_ids,
                MIN(CASE WHEN b.appointment_at >= $2 THEN b.appointment_at END) AS next_at
         FROM messages m
         CROSS JOIN {told}
         JOIN bookings b ON b.id = t.value
         WHERE m.event_id IN (SELECT id FROM notice_events WHERE incident_id = $3)
           AND m.status <> 'cancelled' AND b.stage NOT IN {CLOSED_STAGES}
         GROUP BY m.applicant_id"
    )
}

impl Store {
    /// Plans a staff-written update to the incident's audience in one transaction: a broadcast
    /// record (planned at once, so the dispatcher renders the text as any broadcast), the update,
    /// one message per applicant its notices were for, and the audit row.
    pub async fn post_incident_update(
        &self,
        update: &NewIncidentUpdate,
        origin: &Origin,
    ) -> Result<PostedUpdate, StoreError> {
        let now = epoch(update.now);
        let quiet_until = update.quiet_until.map_or(now, epoch);
        let channels: Vec<&str> = update.channels.iter().map(|channel| channel.as_str()).collect();
        let filter = serde_json::json!({ "offices": update.office.as_str() }).to_string();
        let title = format!("Pembaruan insiden #{}", update.incident);
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let broadcast_id: i64 = sqlx::query_scalar(
                "INSERT INTO broadcasts (title, filter, kind, text_id, text_en, channels, status, send_at,
                                         created_by, created_at, planned_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'planned', $7, $8, $7, $7)
                 RETURNING id",
            )
            .bind(&title)
            .bind(&filter)
            .bind(NoticeKind::Broadcast.as_str())
            .bind(&update.text_id)
            .bind(update.text_en.as_deref())
            .bind(channels.join(","))
            .bind(now)
            .bind(origin.actor.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let update_id: i64 = sqlx::query_scalar(
                "INSERT INTO incident_updates (incident_id, broadcast_id, text_id, text_en, actor, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id",
            )
            .bind(update.incident)
            .bind(broadcast_id)
            .bind(&update.text_id)
            .bind(update.text_en.as_deref())
            .bind(origin.actor.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            // $1 broadcast, $2 now, $3 incident, $4 end of quiet hours, $5 margin, $6 office.
            let insert = format!(
                "INSERT INTO messages (broadcast_id, {MESSAGE_COLUMNS})
                 SELECT {columns}
                 FROM ({audience}) s
                 JOIN applicants a ON a.id = s.applicant_id",
                columns = message_columns(&format!("'{}'", NoticeKind::Broadcast.as_str()), "$6", &update.channels),
                audience = incident_audience_sql(pool.dialect()),
            );
            let messages = sqlx::query(&insert)
                .bind(broadcast_id)
                .bind(now)
                .bind(update.incident)
                .bind(quiet_until)
                .bind(update.quiet_margin.num_seconds())
                .bind(update.office.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let (unreachable, deferred): (i64, i64) = sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN status = 'unreachable' THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN not_before > $2 THEN 1 ELSE 0 END), 0)
                 FROM messages WHERE broadcast_id = $1",
            )
            .bind(broadcast_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let posted = PostedUpdate {
                update_id,
                broadcast_id,
                messages,
                unreachable: unreachable as u64,
                deferred: deferred as u64,
            };
            let entry = origin
                .entry(update.now, "incident.update", format!("incident:{}", update.incident))
                .with_offices([update.office.clone()])
                .with_summary(serde_json::json!({
                    "update_id": update_id,
                    "broadcast_id": broadcast_id,
                    "messages": posted.messages,
                    "unreachable": posted.unreachable,
                    "deferred": posted.deferred,
                }));
            tx.append_audit(entry).await?;
            tx.commit().await?;
            Ok(posted)
        })
    }
}
