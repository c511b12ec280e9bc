//! Incidents as staff follow them: the list, one incident's timeline (the changes it told of,
//! the daily status updates, staff-written updates, the restoration) and the progress of its
//! messages. Staff-written updates are planned in [`updates`].

mod updates;

pub use updates::{NewIncidentUpdate, PostedUpdate};

use chrono::{DateTime, Utc};

use super::{epoch, from_epoch, on_reader, parse_stored, Store, StoreError};
use crate::domain::{Channel, OfficeCode, Service, ServiceState};

/// One office's disruption, from the first service that stopped to the last that came back.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    pub id: i64,
    pub office: OfficeCode,
    pub opened_at: DateTime<Utc>,
    /// `None` while open.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Which incidents a list shows, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    /// `Some(true)`: open only; `Some(false)`: resolved only.
    pub open: Option<bool>,
    pub office: Option<OfficeCode>,
    /// Incidents with a smaller id than this (the cursor of the previous page).
    pub before: Option<i64>,
}

/// What happened in an incident, in time order.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineEntry {
    /// A state change recorded at the office while the incident was open, or one it told of.
    Change {
        at: DateTime<Utc>,
        change_id: i64,
        service: Service,
        from: ServiceState,
        to: ServiceState,
        reason: Option<String>,
        expected_at: Option<DateTime<Utc>>,
        actor: String,
        /// When the planner planned its notices (`None`: not yet, or it told nobody anew).
        planned_at: Option<DateTime<Utc>>,
    },
    /// The evening update to the next day's applicants (the Palembang practice).
    StatusUpdate { at: DateTime<Utc>, slot: String },
    /// A staff-written update.
    StaffUpdate {
        at: DateTime<Utc>,
        update_id: i64,
        broadcast_id: i64,
        text_id: String,
        text_en: Option<String>,
        actor: String,
    },
    /// Every service was told operational again.
    Restored { at: DateTime<Utc> },
}

impl TimelineEntry {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            TimelineEntry::Change { at, .. }
            | TimelineEntry::StatusUpdate { at, .. }
            | TimelineEntry::StaffUpdate { at, .. }
            | TimelineEntry::Restored { at } => *at,
        }
    }
}

/// An incident's messages on one channel (`None`: no usable channel), by where they stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelProgress {
    pub channel: Option<Channel>,
    /// Every message planned, cancelled ones included.
    pub planned: u64,
    /// Queued, never tried, waiting for the end of the quiet hours.
    pub held: u64,
    /// Queued and due (or waiting for a retry).
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    /// Delivered or read.
    pub delivered: u64,
    pub failed: u64,
    pub unreachable: u64,
    pub cancelled: u64,
}

type IncidentRow = (i64, String, i64, Option<i64>);

fn incident(row: IncidentRow) -> Result<IncidentRecord, StoreError> {
    Ok(IncidentRecord {
        id: row.0,
        office: parse_stored("incidents.office_code", &row.1)?,
        opened_at: from_epoch(row.2)?,
        resolved_at: row.3.map(from_epoch).transpose()?,
    })
}

impl Store {
    /// Incidents, newest first, at most `limit`; `visible` keeps those the caller may see.
    pub async fn incidents(
        &self,
        filter: &IncidentFilter,
        limit: usize,
        visible: impl Fn(&OfficeCode) -> bool,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        let open = match filter.open {
            None => "",
            Some(true) => " AND resolved_at IS NULL",
            Some(false) => " AND resolved_at IS NOT NULL",
        };
        let sql = format!(
            "SELECT id, office_code, opened_at, resolved_at FROM incidents
             WHERE id < $1 AND ($2 = '' OR office_code = $2){open}
             ORDER BY id DESC"
        );
        let office = filter.office.as_ref().map_or("", OfficeCode::as_str);
        // Incidents are few (one per office per disruption): scope is applied as they are read.
        let rows: Vec<IncidentRow> = on_reader!(self, pool => {
            sqlx::query_as(&sql).bind(filter.before.unwrap_or(i64::MAX)).bind(office).fetch_all(pool).await?
        });
        let mut found = Vec::new();
        for row in rows {
            let record = incident(row)?;
            if visible(&record.office) {
                found.push(record);
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// One incident by id.
    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        let row: Option<IncidentRow> = on_reader!(self, pool => {
            sqlx::query_as("SELECT id, office_code, opened_at, resolved_at FROM incidents WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(incident).transpose()
    }

    /// The incident's timeline, oldest first.
    pub async fn incident_timeline(&self, record: &IncidentRecord) -> Result<Vec<TimelineEntry>, StoreError> {
        type ChangeRow = (i64, String, String, String, Option<String>, Option<i64>, String, i64, Option<i64>);
        let changes: Vec<ChangeRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.service, c.from_state, c.to_state, c.reason, c.expected_at, c.actor,
                        c.changed_at, e.planned_at
                 FROM service_state_changes c
                 LEFT JOIN notice_events e ON e.change_id = c.id AND e.incident_id = $1
                 WHERE c.office_code = $2
                   AND (e.id IS NOT NULL OR (c.changed_at >= $3 AND c.changed_at <= $4))
                 ORDER BY c.changed_at, c.id",
            )
            .bind(record.id)
            .bind(record.office.as_str())
            .bind(epoch(record.opened_at))
            .bind(record.resolved_at.map_or(i64::MAX, epoch))
            .fetch_all(pool)
            .await?
        });
        let slots: Vec<(String, i64)> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT slot, planned_at FROM notice_events WHERE incident_id = $1 AND slot IS NOT NULL ORDER BY id",
            )
            .bind(record.id)
            .fetch_all(pool)
            .await?
        });
        type UpdateRow = (i64, i64, String, Option<String>, String, i64);
        let updates: Vec<UpdateRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT id, broadcast_id, text_id, text_en, actor, created_at FROM incident_updates
                 WHERE incident_id = $1 ORDER BY id",
            )
            .bind(record.id)
            .fetch_all(pool)
            .await?
        });
        let mut timeline = Vec::new();
        for (change_id, service, from, to, reason, expected_at, actor, at, planned_at) in changes {
            timeline.push(TimelineEntry::Change {
                at: from_epoch(at)?,
                change_id,
                service: parse_stored("service_state_changes.service", &service)?,
                from: parse_stored("service_state_changes.from_state", &from)?,
                to: parse_stored("service_state_changes.to_state", &to)?,
                reason,
                expected_at: expected_at.map(from_epoch).transpose()?,
                actor,
                planned_at: planned_at.map(from_epoch).transpose()?,
            });
        }
        for (slot, at) in slots {
            timeline.push(TimelineEntry::StatusUpdate { at: from_epoch(at)?, slot });
        }
        for (update_id, broadcast_id, text_id, text_en, actor, at) in updates {
            timeline.push(TimelineEntry::StaffUpdate {
                at: from_epoch(at)?,
                update_id,
                broadcast_id,
                text_id,
                text_en,
                actor,
            });
        }
        if let Some(at) = record.resolved_at {
            timeline.push(TimelineEntry::Restored { at });
        }
        // Stable: entries of the same second keep the order above (a change before its update).
        timeline.sort_by_key(TimelineEntry::at);
        Ok(timeline)
    }

    /// The incident's messages (its notices and its staff updates) by channel and where they
    /// stand at `now`.
    pub async fn incident_progress(
        &self,
        incident: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<ChannelProgress>, StoreError> {
        let rows: Vec<(Option<String>, String, i64, i64)> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT m.channel, m.status,
                        CAST(CASE WHEN m.status = 'queued' AND m.attempts = 0 AND m.not_before > $2 THEN 1 ELSE 0 END AS BIGINT),
                        COUNT(*)
                 FROM messages m
                 WHERE m.event_id IN (SELECT id FROM notice_events WHERE incident_id = $1)
                    OR m.broadcast_id IN (SELECT broadcast_id FROM incident_updates WHERE incident_id = $1)
                 GROUP BY 1, 2, 3",
            )
            .bind(incident)
            .bind(epoch(now))
            .fetch_all(pool)
            .await?
        });
        let mut progress: Vec<ChannelProgress> = Vec::new();
        for (channel, status, held, count) in rows {
            let channel: Option<Channel> =
                channel.map(|channel| parse_stored("messages.channel", &channel)).transpose()?;
            let at = match progress.iter().position(|row| row.channel == channel) {
                Some(at) => at,
                None => {
                    progress.push(ChannelProgress { channel, ..ChannelProgress::default() });
                    progress.len() - 1
                }
            };
            let row = &mut progress[at];
            let count = count as u64;
            row.planned += count;
            let slot = match status.as_str() {
                "queued" if held == 1 => &mut row.held,
                "queued" => &mut row.queued,
                "sending" => &mut row.sending,
                "sent" => &mut row.sent,
                "delivered" | "read" => &mut row.delivered,
                "failed" => &mut row.failed,
                "unreachable" => &mut row.unreachable,
                _ => &mut row.cancelled,
            };
            *slot += count;
        }
        progress.sort_by_key(|row| (row.channel.is_none(), row.channel));
        Ok(progress)
    }
}
