//! The planner's queries: settled changes, incidents, notice events and the set-based planning of
//! messages (`INSERT … SELECT`, nothing loaded into memory).

mod count;
mod rows;
pub(super) mod sql;

use chrono::{DateTime, NaiveDate, Utc};

use super::{epoch, on_reader, on_writer, parse_stored, Store, StoreError, WritePool};
use crate::domain::{BookingCode, Channel, Language, Msisdn, OfficeCode, Service, ServiceState};
use crate::plan::Rule;
use crate::render::NoticeKind;
pub use count::HearingGroup;
pub use rows::AudienceRow;
pub use sql::SUPERSEDED;
use sql::{
    plan_bookings_sql, plan_restoration_sql, plan_update_sql, restoration_applicants_sql, supersede_sql,
    EVENT_APPLICANTS,
};

/// A change that has stood for the settle time and differs from what applicants were last told.
#[derive(Debug, Clone, PartialEq)]
pub struct SettledChange {
    pub office: OfficeCode,
    pub service: Service,
    /// What applicants were last told.
    pub from: ServiceState,
    pub to: ServiceState,
    pub change_id: i64,
    pub expected_at: Option<DateTime<Utc>>,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// A settled change of one service.
    Change(SettledChange),
    /// The periodic update of the office's open incident on one local day.
    StatusUpdate { office: OfficeCode, slot: NaiveDate },
}

impl Trigger {
    pub fn office(&self) -> &OfficeCode {
        match self {
            Trigger::Change(change) => &change.office,
            Trigger::StatusUpdate { office, .. } => office,
        }
    }
}

/// An office's open incident.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub id: i64,
    pub office: OfficeCode,
    pub opened_at: DateTime<Utc>,
}

/// Who a planned event's messages go to.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Nobody (a status-page-only service, or a change within the same disruption).
    Nobody,
    /// The bookings the rules match, one message per applicant; rules with `upcoming_only` take
    /// appointments from `window_start` to `window_end`.
    Bookings { rules: &'static [Rule], window_start: DateTime<Utc>, window_end: DateTime<Utc> },
    /// Everyone told of a disruption of this service in the incident, with the bookings they were
    /// told about that are still open and not held up by another service that is still down
    /// (`still_down`: the rules of those services, with appointments up to `window_end`).
    ToldOfDisruption { kind: NoticeKind, still_down: Vec<&'static [Rule]>, window_end: DateTime<Utc> },
    /// An update of a disruption (the state stands, with a new reason or expected restoration):
    /// everyone told of it, with their bookings still open, hears a `status_update` once.
    Update { restoration: NoticeKind },
}

/// Everything needed to plan one event in one transaction.
#[derive(Debug, Clone)]
pub struct EventPlan {
    pub trigger: Trigger,
    pub audience: Audience,
    pub now: DateTime<Utc>,
    /// When the office's quiet hours end, if `now` is inside them.
    pub quiet_until: Option<DateTime<Utc>>,
    /// An appointment sooner than `quiet_until + margin` is told at once.
    pub quiet_margin: chrono::Duration,
    /// The applicant's channels in order of preference.
    pub channels: Vec<Channel>,
}

/// What planning one event wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlannedCounts {
    pub event_id: i64,
    pub incident_id: i64,
    /// Messages planned now (0 when the event had been planned before: a replay, or a status
    /// update for an office whose incident has just closed).
    pub messages: u64,
    /// Of those, applicants with no usable channel, for staff to phone.
    pub unreachable: u64,
    /// Of those, held until the office's quiet hours end.
    pub deferred: u64,
    /// Messages of earlier notices about the same service, not yet sent, that this one replaced
    /// (cancelled, reason `superseded`).
    pub superseded: u64,
}

/// A planned message with the bookings it is about, for previews, reports and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedMessage {
    pub id: i64,
    pub mobile: Msisdn,
    pub kind: NoticeKind,
    pub language: Language,
    /// `None`: no usable channel; the applicant is on the call list.
    pub channel: Option<Channel>,
    pub status: String,
    pub not_before: DateTime<Utc>,
    pub bookings: Vec<BookingCode>,
}

impl Store {
    /// The messages of one event, by mobile number, each with its bookings in code order.
    pub async fn planned_messages(&self, event_id: i64) -> Result<Vec<PlannedMessage>, StoreError> {
        self.messages_where("m.event_id", event_id).await
    }

    /// The messages of one broadcast, by mobile number, each with its bookings in code order.
    pub async fn broadcast_messages(&self, broadcast_id: i64) -> Result<Vec<PlannedMessage>, StoreError> {
        self.messages_where("m.broadcast_id", broadcast_id).await
    }

    async fn messages_where(&self, column: &str, id: i64) -> Result<Vec<PlannedMessage>, StoreError> {
        type Row = (i64, String, String, String, Option<String>, String, i64, String);
        let listed = (self.dialect().unnest_ids)("m.booking_ids", "l");
        let sql = format!(
            "SELECT m.id, a.mobile, m.kind, m.language, m.channel, m.status, m.not_before, b.code
             FROM messages m
             JOIN applicants a ON a.id = m.applicant_id
             CROSS JOIN {listed}
             JOIN bookings b ON b.id = l.value
             WHERE {column} = $1
             ORDER BY a.mobile, m.id, b.code"
        );
        let rows: Vec<Row> = on_reader!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_all(pool).await?
        });
        let mut messages: Vec<PlannedMessage> = Vec::new();
        for (id, mobile, kind, language, channel, status, not_before, code) in rows {
            let code = parse_stored("bookings.code", &code)?;
            match messages.last_mut() {
                Some(last) if last.id == id => last.bookings.push(code),
                _ => messages.push(PlannedMessage {
                    id,
                    mobile: Msisdn::from_trusted(mobile),
                    kind: parse_stored("messages.kind", &kind)?,
                    language: parse_stored("messages.language", &language)?,
                    channel: channel.map(|channel| parse_stored("messages.channel", &channel)).transpose()?,
                    status,
                    not_before: super::from_epoch(not_before)?,
                    bookings: vec![code],
                }),
            }
        }
        Ok(messages)
    }

    /// Every open incident, by office.
    pub async fn open_incidents(&self) -> Result<Vec<OpenIncident>, StoreError> {
        let rows: Vec<(i64, String, i64)> = on_reader!(self, pool => {
            sqlx::query_as("SELECT id, office_code, opened_at FROM incidents WHERE resolved_at IS NULL ORDER BY office_code")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(id, office, opened_at)| {
                Ok(OpenIncident {
                    id,
                    office: parse_stored("incidents.office_code", &office)?,
                    opened_at: super::from_epoch(opened_at)?,
                })
            })
            .collect()
    }

    /// Whether the office has an open incident.
    pub async fn open_incident(&self, office: &OfficeCode) -> Result<Option<i64>, StoreError> {
        Ok(on_reader!(self, pool => {
            sqlx::query_scalar("SELECT id FROM incidents WHERE office_code = $1 AND resolved_at IS NULL")
                .bind(office.as_str())
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Changes that have stood since `settled_before` and differ from what applicants were last
    /// told, oldest first. A flap (down and up again within the settle time) is not among them.
    /// An update (the state applicants were told stands, with a new reason or expected
    /// restoration) is one too, with `from == to`: the last change an event was planned for is
    /// what applicants were told.
    pub async fn settled_changes(
        &self,
        settled_before: DateTime<Utc>,
    ) -> Result<Vec<SettledChange>, StoreError> {
        type Row = (String, String, String, String, i64, Option<i64>);
        let rows: Vec<Row> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT s.office_code, s.service, s.notified_state, s.state, s.change_id, s.expected_at
                 FROM service_states s
                 LEFT JOIN service_state_changes told ON told.id = (
                     SELECT MAX(e.change_id) FROM notice_events e
                     WHERE e.office_code = s.office_code AND e.service = s.service)
                 WHERE s.change_id IS NOT NULL AND s.changed_at <= $1
                   AND (s.state <> s.notified_state
                        OR (s.state <> 'operational' AND told.id <> s.change_id
                            AND NOT (COALESCE(told.reason, '') = COALESCE(s.reason, '')
                                     AND COALESCE(told.expected_at, -1) = COALESCE(s.expected_at, -1))))
                 ORDER BY s.changed_at, s.office_code, s.service",
            )
            .bind(epoch(settled_before))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(office, service, from, to, change_id, expected_at)| {
                Ok(SettledChange {
                    office: parse_stored("service_states.office_code", &office)?,
                    service: parse_stored("service_states.service", &service)?,
                    from: parse_stored("service_states.notified_state", &from)?,
                    to: parse_stored("service_states.state", &to)?,
                    change_id,
                    expected_at: expected_at.map(super::from_epoch).transpose()?,
                })
            })
            .collect()
    }

    /// Plans one settled change in one transaction: joins or opens the office's incident, records
    /// the event (found again by its unique key on a replay), plans one message per applicant of
    /// the audience (the unique key (event, applicant) makes a replay plan nothing), marks the
    /// change as told, and resolves the incident when every service is told operational.
    pub async fn plan_event(&self, plan: &EventPlan) -> Result<PlannedCounts, StoreError> {
        let office = plan.trigger.office();
        let now = epoch(plan.now);
        let quiet_until = plan.quiet_until.map_or(now, epoch);
        let margin = plan.quiet_margin.num_seconds();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for setting in pool.dialect().planning_settings {
                sqlx::query(setting).execute(&mut *tx).await?;
            }
            if let Trigger::Change(_) = plan.trigger {
                sqlx::query(
                    "INSERT INTO incidents (office_code, opened_at) VALUES ($1, $2)
                     ON CONFLICT (office_code) WHERE resolved_at IS NULL DO NOTHING",
                )
                .bind(office.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let incident_id: Option<i64> =
                sqlx::query_scalar("SELECT id FROM incidents WHERE office_code = $1 AND resolved_at IS NULL")
                    .bind(office.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            // A status update for an incident that closed meanwhile has nobody to tell.
            let Some(incident_id) = incident_id else {
                tx.commit().await?;
                return Ok(PlannedCounts::default());
            };
            let (service, from, to, change_id, slot) = match &plan.trigger {
                Trigger::Change(change) => (
                    Some(change.service.as_str()),
                    Some(change.from.as_str()),
                    Some(change.to.as_str()),
                    Some(change.change_id),
                    None,
                ),
                Trigger::StatusUpdate { slot, .. } => (None, None, None, None, Some(slot.to_string())),
            };
            let conflict = if slot.is_some() { "(office_code, slot)" } else { "(office_code, service, change_id)" };
            sqlx::query(&format!(
                "INSERT INTO notice_events
                     (incident_id, office_code, service, from_state, to_state, change_id, slot, planned_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT {conflict} DO NOTHING"
            ))
            .bind(incident_id)
            .bind(office.as_str())
            .bind(service)
            .bind(from)
            .bind(to)
            .bind(change_id)
            .bind(slot.as_deref())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let (event_id, incident_id): (i64, i64) = sqlx::query_as(
                "SELECT id, incident_id FROM notice_events
                 WHERE office_code = $1
                   AND ((change_id = $2 AND service = $3) OR slot = $4)",
            )
            .bind(office.as_str())
            .bind(change_id)
            .bind(service)
            .bind(slot.as_deref())
            .fetch_one(&mut *tx)
            .await?;

            let mut messages = 0;
            let mut superseded = 0;
            match &plan.audience {
                Audience::Nobody => {}
                Audience::Bookings { rules, window_start, window_end } => {
                    let insert = plan_bookings_sql(pool.dialect(), rules, &plan.channels);
                    messages = sqlx::query(&insert)
                        .bind(event_id)
                        .bind(now)
                        .bind(epoch(*window_end))
                        .bind(quiet_until)
                        .bind(margin)
                        .bind(office.as_str())
                        .bind(epoch(*window_start))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                Audience::ToldOfDisruption { kind, still_down, window_end } => {
                    let service = service.unwrap_or_default();
                    // First the held notices of those told: one that never left is superseded,
                    // and who heard nothing of the disruption hears no restoration either.
                    let cancel_sql = supersede_sql(&restoration_applicants_sql(pool.dialect(), still_down));
                    let mut cancel = sqlx::query(&cancel_sql)
                        .bind(event_id)
                        .bind(now)
                        .bind(office.as_str())
                        .bind(service)
                        .bind(incident_id)
                        .bind(kind.as_str());
                    if !still_down.is_empty() {
                        cancel = cancel.bind(epoch(*window_end));
                    }
                    superseded = cancel.execute(&mut *tx).await?.rows_affected();
                    let insert = plan_restoration_sql(pool.dialect(), &plan.channels, still_down);
                    let mut query = sqlx::query(&insert)
                        .bind(event_id)
                        .bind(now)
                        .bind(incident_id)
                        .bind(quiet_until)
                        .bind(margin)
                        .bind(service)
                        .bind(kind.as_str());
                    if !still_down.is_empty() {
                        query = query.bind(epoch(*window_end));
                    }
                    messages = query.execute(&mut *tx).await?.rows_affected();
                }
                Audience::Update { restoration } => {
                    messages = sqlx::query(&plan_update_sql(pool.dialect(), &plan.channels))
                        .bind(event_id)
                        .bind(now)
                        .bind(incident_id)
                        .bind(quiet_until)
                        .bind(margin)
                        .bind(service.unwrap_or_default())
                        .bind(restoration.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
            }
            // A newer notice replaces the held ones about the same service for its applicants.
            if let (Some(service), Audience::Bookings { .. } | Audience::Update { .. }) = (service, &plan.audience) {
                superseded = sqlx::query(&supersede_sql(EVENT_APPLICANTS))
                    .bind(event_id)
                    .bind(now)
                    .bind(office.as_str())
                    .bind(service)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }

            if let Trigger::Change(change) = &plan.trigger {
                // Only the change planned here is marked told; a newer one waits for its own turn.
                sqlx::query(
                    "UPDATE service_states SET notified_state = state
                     WHERE office_code = $1 AND service = $2 AND change_id = $3",
                )
                .bind(office.as_str())
                .bind(change.service.as_str())
                .bind(change.change_id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(&format!(
                "UPDATE incidents SET resolved_at = $1
                 WHERE id = $2 AND NOT EXISTS (
                     SELECT 1 FROM service_states
                     WHERE office_code = $3 AND notified_state IN {NOT_OPERATIONAL})"
            ))
            .bind(now)
            .bind(incident_id)
            .bind(office.as_str())
            .execute(&mut *tx)
            .await?;
            let (unreachable, deferred): (i64, i64) = sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN status = 'unreachable' THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN not_before > $2 THEN 1 ELSE 0 END), 0)
                 FROM messages WHERE event_id = $1",
            )
            .bind(event_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(PlannedCounts {
                event_id,
                incident_id,
                messages,
                unreachable: unreachable as u64,
                deferred: deferred as u64,
                superseded,
            })
        })
    }
}

const NOT_OPERATIONAL: &str = "('degraded', 'unavailable')";
