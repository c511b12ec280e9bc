//! Manual broadcasts: stored with their audience filter, planned office by office with the same
//! set-based statements as notice events, cancelled with every message not yet handed to a
//! provider.

use chrono::{DateTime, NaiveDate, Utc};

use super::plan::sql::{channel_sql, message_columns, rank_sql, MESSAGE_COLUMNS};
use super::{epoch, from_epoch, on_reader, on_writer, parse_stored, Store, StoreError, WritePool};
use crate::domain::{Channel, Language, OfficeCode, Product, Stage};
use crate::plan::Rule;
use crate::render::NoticeKind;

/// Which bookings of one office a broadcast is for; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookingFilter {
    /// Empty: every open stage (not picked up, cancelled or no-show).
    pub stages: Vec<Stage>,
    /// Empty: both products.
    pub products: Vec<Product>,
    pub express: Option<bool>,
    /// Bookings a disruption of any of these services would touch (its audience rules).
    pub services: Vec<&'static [Rule]>,
    /// Appointments from `.0` (inclusive) to `.1` (exclusive).
    pub appointments: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Applications made on these days (inclusive), as M-Paspor records them.
    pub applied_from: Option<NaiveDate>,
    pub applied_to: Option<NaiveDate>,
}

impl BookingFilter {
    /// The filter as SQL over bookings `b`. Every value is inlined from a closed enum, a date or
    /// an integer, never from free text.
    fn sql(&self, now: DateTime<Utc>, horizon_end: DateTime<Utc>) -> String {
        let list = |values: Vec<&'static str>| {
            values.iter().map(|value| format!("'{value}'")).collect::<Vec<_>>().join(", ")
        };
        let mut conditions = Vec::new();
        let stages: Vec<&'static str> = if self.stages.is_empty() {
            Stage::ALL.iter().filter(|stage| !stage.is_closed()).map(|stage| stage.as_str()).collect()
        } else {
            self.stages.iter().map(|stage| stage.as_str()).collect()
        };
        conditions.push(format!("b.stage IN ({})", list(stages)));
        if !self.products.is_empty() {
            conditions.push(format!(
                "b.product IN ({})",
                list(self.products.iter().map(|product| product.as_str()).collect())
            ));
        }
        if let Some(express) = self.express {
            conditions.push(format!("b.express = {}", if express { "TRUE" } else { "FALSE" }));
        }
        if !self.services.is_empty() {
            let (start, end) = (epoch(now).to_string(), epoch(horizon_end).to_string());
            let touched: Vec<String> = self
                .services
                .iter()
                .map(|rules| format!("({}) IS NOT NULL", rank_sql(rules, &start, &end)))
                .collect();
            conditions.push(format!("({})", touched.join(" OR ")));
        }
        if let Some((from, to)) = self.appointments {
            conditions.push(format!(
                "b.appointment_at >= {} AND b.appointment_at < {}",
                epoch(from),
                epoch(to)
            ));
        }
        if let Some(from) = self.applied_from {
            conditions.push(format!("b.applied_on >= '{}'", from.format("%Y-%m-%d")));
        }
        if let Some(to) = self.applied_to {
            conditions.push(format!("b.applied_on <= '{}'", to.format("%Y-%m-%d")));
        }
        conditions.join(" AND ")
    }
}

/// A broadcast as staff create it.
#[derive(Debug, Clone)]
pub struct NewBroadcast {
    pub title: String,
    /// The audience filter as staff gave it, as JSON, for `broadcast show`.
    pub filter_json: String,
    pub kind: NoticeKind,
    pub text_id: Option<String>,
    pub text_en: Option<String>,
    pub sender: Option<String>,
    /// Pickup hours as JSON (`ready_for_pickup`).
    pub pickup_json: Option<String>,
    pub channels: Vec<Channel>,
    pub send_at: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A stored broadcast.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BroadcastRecord {
    pub id: i64,
    pub title: String,
    pub filter_json: String,
    pub kind: NoticeKind,
    pub text_id: Option<String>,
    pub text_en: Option<String>,
    pub sender: Option<String>,
    pub pickup_json: Option<String>,
    pub channels: Vec<Channel>,
    /// `scheduled`, `planned` or `cancelled`.
    pub status: String,
    pub send_at: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub planned_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

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

/// A broadcast's audience at one office, for previews.
#[derive(Debug, Clone, Copy)]
pub struct AudienceQuery<'a> {
    pub office: &'a OfficeCode,
    pub filter: &'a BookingFilter,
    pub channels: &'a [Channel],
    pub now: DateTime<Utc>,
    /// Where the horizon of service rules ends.
    pub horizon_end: DateTime<Utc>,
}

/// The audience of one office by the channel each applicant would get and their language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceGroup {
    /// `None`: no usable channel.
    pub channel: Option<Channel>,
    pub language: Language,
    pub applicants: u64,
    /// The lowest applicant id of the group, for a sample rendering.
    pub sample_applicant: i64,
}

type BroadcastRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

const BROADCAST_COLUMNS: &str = "id, title, filter, kind, text_id, text_en, sender, pickup_hours, channels, \
     status, send_at, created_by, created_at, planned_at, cancelled_at";

fn broadcast_record(row: BroadcastRow) -> Result<BroadcastRecord, StoreError> {
    let (id, title, filter_json, kind, text_id, text_en, sender, pickup_json, channels, status, send_at) =
        (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10);
    Ok(BroadcastRecord {
        id,
        title,
        filter_json,
        kind: parse_stored("broadcasts.kind", &kind)?,
        text_id,
        text_en,
        sender,
        pickup_json,
        channels: channels
            .split(',')
            .map(|channel| parse_stored("broadcasts.channels", channel))
            .collect::<Result<_, _>>()?,
        status,
        send_at: from_epoch(send_at)?,
        created_by: row.11,
        created_at: from_epoch(row.12)?,
        planned_at: row.13.map(from_epoch).transpose()?,
        cancelled_at: row.14.map(from_epoch).transpose()?,
    })
}

impl Store {
    /// Stores a broadcast, scheduled for its `send_at`; the planner plans it when that comes.
    pub async fn create_broadcast(&self, broadcast: &NewBroadcast) -> Result<i64, StoreError> {
        let channels: Vec<&str> = broadcast.channels.iter().map(|channel| channel.as_str()).collect();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO broadcasts (title, filter, kind, text_id, text_en, sender, pickup_hours, channels,
                                         status, send_at, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'scheduled', $9, $10, $11)
                 RETURNING id",
            )
            .bind(&broadcast.title)
            .bind(&broadcast.filter_json)
            .bind(broadcast.kind.as_str())
            .bind(&broadcast.text_id)
            .bind(&broadcast.text_en)
            .bind(&broadcast.sender)
            .bind(&broadcast.pickup_json)
            .bind(channels.join(","))
            .bind(epoch(broadcast.send_at))
            .bind(&broadcast.created_by)
            .bind(epoch(broadcast.created_at))
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn broadcast(&self, id: i64) -> Result<Option<BroadcastRecord>, StoreError> {
        let row: Option<BroadcastRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(broadcast_record).transpose()
    }

    /// Every broadcast, newest first.
    pub async fn broadcasts(&self) -> Result<Vec<BroadcastRecord>, StoreError> {
        let rows: Vec<BroadcastRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!("SELECT {BROADCAST_COLUMNS} FROM broadcasts ORDER BY id DESC"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(broadcast_record).collect()
    }

    /// Scheduled broadcasts whose time has come, oldest first.
    pub async fn due_broadcasts(&self, now: DateTime<Utc>) -> Result<Vec<BroadcastRecord>, StoreError> {
        let rows: Vec<BroadcastRow> = on_reader!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {BROADCAST_COLUMNS} FROM broadcasts
                 WHERE status = 'scheduled' AND send_at <= $1 ORDER BY send_at, id"
            ))
            .bind(epoch(now))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(broadcast_record).collect()
    }

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

    /// Cancels a broadcast: a scheduled one is never planned, and its messages not yet handed to
    /// a provider (`queued`) are cancelled. Returns `None` for an unknown id, else how many
    /// messages were cancelled now.
    pub async fn cancel_broadcast(&self, id: i64, now: DateTime<Utc>) -> Result<Option<u64>, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM broadcasts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Ok(None);
            }
            sqlx::query(
                "UPDATE broadcasts SET status = 'cancelled', cancelled_at = $2 WHERE id = $1 AND status <> 'cancelled'",
            )
            .bind(id)
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?;
            let cancelled = sqlx::query(
                "UPDATE messages SET status = 'cancelled', failed_at = $2
                 WHERE broadcast_id = $1 AND status = 'queued'",
            )
            .bind(id)
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(Some(cancelled))
        })
    }

    /// A broadcast's messages counted by status and channel (`None`: no usable channel).
    pub async fn broadcast_message_counts(
        &self,
        id: i64,
    ) -> Result<Vec<(String, Option<Channel>, u64)>, StoreError> {
        let rows: Vec<(String, Option<String>, i64)> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT status, channel, COUNT(*) FROM messages WHERE broadcast_id = $1
                 GROUP BY status, channel ORDER BY status, channel",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(status, channel, count)| {
                let channel =
                    channel.map(|channel| parse_stored("messages.channel", &channel)).transpose()?;
                Ok((status, channel, count as u64))
            })
            .collect()
    }

    /// Who a filter reaches at one office, grouped by the channel each applicant would get and
    /// their language: the counts of a broadcast preview, computed without writing anything.
    pub async fn audience_groups(
        &self,
        audience: &AudienceQuery<'_>,
    ) -> Result<Vec<AudienceGroup>, StoreError> {
        let AudienceQuery { office, filter, channels, now, horizon_end } = *audience;
        let channel = channel_sql(channels);
        let sql = format!(
            "SELECT {channel} AS channel, COALESCE(a.language, 'id') AS language, COUNT(*), MIN(a.id)
             FROM (SELECT DISTINCT b.applicant_id FROM bookings b
                   WHERE b.office_code = $1 AND {filter}) s
             JOIN applicants a ON a.id = s.applicant_id
             GROUP BY 1, 2
             ORDER BY 1, 2",
            filter = filter.sql(now, horizon_end),
        );
        let rows: Vec<(Option<String>, String, i64, i64)> = on_reader!(self, pool => {
            sqlx::query_as(&sql).bind(office.as_str()).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(channel, language, count, sample)| {
                Ok(AudienceGroup {
                    channel: channel.map(|channel| parse_stored("channel", &channel)).transpose()?,
                    language: parse_stored("language", &language)?,
                    applicants: count as u64,
                    sample_applicant: sample,
                })
            })
            .collect()
    }

    /// The applicants of one office a filter reaches on `channel`, in id order after `after`, at
    /// most `limit`, each with the ids of the bookings it matched: previews render them page by
    /// page to count SMS segments.
    pub async fn audience_page(
        &self,
        audience: &AudienceQuery<'_>,
        channel: Channel,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<i64>)>, StoreError> {
        let AudienceQuery { office, filter, channels, now, horizon_end } = *audience;
        let sql = format!(
            "WITH page AS (SELECT DISTINCT b.applicant_id
                           FROM bookings b JOIN applicants a ON a.id = b.applicant_id
                           WHERE b.office_code = $1 AND {filter} AND ({channel_sql}) = $2 AND b.applicant_id > $3
                           ORDER BY b.applicant_id LIMIT $4)
             SELECT b.applicant_id, b.id
             FROM bookings b
             WHERE b.office_code = $1 AND {filter} AND b.applicant_id IN (SELECT applicant_id FROM page)
             ORDER BY b.applicant_id, b.appointment_at, b.id",
            filter = filter.sql(now, horizon_end),
            channel_sql = channel_sql(channels),
        );
        let rows: Vec<(i64, i64)> = on_reader!(self, pool => {
            sqlx::query_as(&sql)
                .bind(office.as_str())
                .bind(channel.as_str())
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        let mut page: Vec<(i64, Vec<i64>)> = Vec::new();
        for (applicant, booking) in rows {
            match page.last_mut() {
                Some((last, bookings)) if *last == applicant => bookings.push(booking),
                _ => page.push((applicant, vec![booking])),
            }
        }
        Ok(page)
    }
}
