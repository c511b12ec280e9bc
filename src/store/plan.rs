//! The planner's queries: settled changes, incidents, notice events and the set-based planning of
//! messages (`INSERT … SELECT`, nothing loaded into memory).

use chrono::{DateTime, NaiveDate, Utc};

use super::{epoch, on_reader, on_writer, parse_stored, Store, StoreError, WritePool};
use crate::domain::{BookingCode, Channel, Language, Msisdn, OfficeCode, Service, ServiceState};
use crate::plan::Rule;
use crate::render::NoticeKind;

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
    Bookings {
        rules: &'static [Rule],
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
    },
    /// Everyone told of a disruption of this service in the incident, with the bookings they were
    /// told about that are still open and not held up by another service that is still down
    /// (`still_down`: the rules of those services, with appointments up to `window_end`).
    ToldOfDisruption {
        kind: NoticeKind,
        still_down: Vec<&'static [Rule]>,
        window_end: DateTime<Utc>,
    },
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
}

fn quoted(values: impl IntoIterator<Item = &'static str>) -> String {
    let list: Vec<String> = values
        .into_iter()
        .map(|value| format!("'{value}'"))
        .collect();
    list.join(", ")
}

/// `CASE WHEN <rule 1 matches b> THEN 1 WHEN … END`: the priority of the first rule a booking
/// matches, NULL when none does. Identifiers are inlined from the closed enums; the window's
/// bounds are the placeholders `start` and `end`.
fn rank_sql(rules: &[Rule], start: &str, end: &str) -> String {
    let mut sql = String::from("CASE");
    for (rank, rule) in rules.iter().enumerate() {
        let mut condition = format!(
            "b.stage IN ({})",
            quoted(rule.stages.iter().map(|stage| stage.as_str()))
        );
        if rule.epassport_only {
            condition.push_str(" AND b.product = 'epassport'");
        }
        if rule.express_only {
            condition.push_str(" AND b.express = TRUE");
        }
        if rule.upcoming_only {
            condition.push_str(&format!(
                " AND b.appointment_at >= {start} AND b.appointment_at < {end}"
            ));
        }
        sql.push_str(&format!(" WHEN {condition} THEN {}", rank + 1));
    }
    sql.push_str(" END");
    sql
}

/// `CASE s.rank WHEN 1 THEN 'appointment_unchanged' … END`.
fn kind_sql(rules: &[Rule]) -> String {
    let arms: String = rules
        .iter()
        .enumerate()
        .map(|(rank, rule)| format!(" WHEN {} THEN '{}'", rank + 1, rule.kind.as_str()))
        .collect();
    format!("CASE s.rank{arms} END")
}

/// The applicant's first usable channel in preference order, NULL when none is.
fn channel_sql(channels: &[Channel]) -> String {
    let mut sql = String::from("CASE");
    for channel in channels {
        let usable = match channel {
            Channel::Whatsapp => "NOT a.whatsapp_opted_out",
            Channel::Sms => "NOT a.sms_opted_out",
            Channel::Email => "a.email IS NOT NULL AND NOT a.email_opted_out",
        };
        sql.push_str(&format!(" WHEN {usable} THEN '{}'", channel.as_str()));
    }
    sql.push_str(" END");
    sql
}

/// The columns every planning statement inserts, from a sub-select `s` with `applicant_id`,
/// `next_at` (the applicant's next appointment, if any) and a kind expression.
/// $1 = event id, $2 = now, $4 = end of quiet hours (= now outside them), $5 = the margin.
fn message_columns(kind: &str, channels: &[Channel]) -> String {
    let channel = channel_sql(channels);
    format!(
        "$1, s.applicant_id, {kind}, COALESCE(a.language, 'id'), {channel},
         CASE WHEN ({channel}) IS NULL THEN 'unreachable' ELSE 'queued' END,
         CASE WHEN ({channel}) IN ('whatsapp', 'sms') AND $4 > $2
                   AND (s.next_at IS NULL OR s.next_at >= $4 + $5)
              THEN $4 ELSE $2 END,
         $2"
    )
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

/// The planning settings of the engine behind `pool`.
fn planning_settings_of<P: WritePool>(_: &P) -> &'static [&'static str] {
    P::PLANNING_SETTINGS
}

const CLOSED_STAGES: &str = "('picked_up', 'cancelled', 'no_show')";

fn plan_bookings_sql(rules: &[Rule], channels: &[Channel]) -> (String, String) {
    let rank = rank_sql(rules, "$7", "$3");
    let stages: Vec<&'static str> = rules
        .iter()
        .flat_map(|rule| rule.stages.iter().map(|stage| stage.as_str()))
        .collect();
    let stages = quoted(stages);
    // $1 event, $2 now, $3 end of the window, $4 end of quiet hours, $5 margin, $6 office,
    // $7 start of the window.
    let messages = format!(
        "INSERT INTO messages (event_id, applicant_id, kind, language, channel, status, not_before, created_at)
         SELECT {columns}
         FROM (SELECT r.applicant_id, MIN(r.rank) AS rank,
                      MIN(CASE WHEN r.appointment_at >= $2 AND r.appointment_at < $3 THEN r.appointment_at END) AS next_at
               FROM (SELECT b.applicant_id, b.appointment_at, {rank} AS rank
                     FROM bookings b
                     WHERE b.office_code = $6 AND b.stage IN ({stages})) r
               WHERE r.rank IS NOT NULL
               GROUP BY r.applicant_id) s
         JOIN applicants a ON a.id = s.applicant_id
         WHERE TRUE
         ON CONFLICT (event_id, applicant_id) DO NOTHING",
        columns = message_columns(&kind_sql(rules), channels),
    );
    // $1 event, $2 start of the window, $3 end of the window, $4 office. The same index scan as
    // above, each booking joined to its applicant's message by the unique (event, applicant) key.
    let rank = rank_sql(rules, "$2", "$3");
    let bookings = format!(
        "INSERT INTO message_bookings (message_id, booking_id)
         SELECT m.id, b.id
         FROM bookings b
         JOIN messages m ON m.event_id = $1 AND m.applicant_id = b.applicant_id
         WHERE b.office_code = $4 AND b.stage IN ({stages}) AND ({rank}) IS NOT NULL
           AND $3 >= $2 -- always true; keeps both bound values referenced when no rule has a window
         ON CONFLICT DO NOTHING"
    );
    (messages, bookings)
}

/// ` AND NOT (<booking b matches a rule of a service still down>)`, or nothing.
fn not_held_up_sql(still_down: &[&[Rule]], start: &str, end: &str) -> String {
    if still_down.is_empty() {
        return String::new();
    }
    let held: Vec<String> = still_down
        .iter()
        .map(|rules| format!("({}) IS NOT NULL", rank_sql(rules, start, end)))
        .collect();
    format!(" AND NOT ({})", held.join(" OR "))
}

fn plan_restoration_sql(channels: &[Channel], still_down: &[&[Rule]]) -> (String, String) {
    // $1 event, $2 now, $3 incident, $4 end of quiet hours, $5 margin, $6 service, $7 kind,
    // $8 end of the window of the services still down (bound only when there are some).
    let held_up = not_held_up_sql(still_down, "$2", "$8");
    let messages = format!(
        "INSERT INTO messages (event_id, applicant_id, kind, language, channel, status, not_before, created_at)
         SELECT {columns}
         FROM (SELECT m.applicant_id, MIN(CASE WHEN b.appointment_at >= $2 THEN b.appointment_at END) AS next_at
               FROM messages m
               JOIN notice_events e ON e.id = m.event_id
               JOIN message_bookings mb ON mb.message_id = m.id
               JOIN bookings b ON b.id = mb.booking_id
               WHERE e.incident_id = $3 AND e.service = $6 AND e.id <> $1 AND m.kind <> $7
                 AND m.status <> 'cancelled' AND b.stage NOT IN {CLOSED_STAGES}{held_up}
               GROUP BY m.applicant_id) s
         JOIN applicants a ON a.id = s.applicant_id
         WHERE TRUE
         ON CONFLICT (event_id, applicant_id) DO NOTHING",
        columns = message_columns("$7", channels),
    );
    // $1 event, $2 incident, $3 service, $4 kind, $5 now, $6 end of the window (when bound).
    let held_up = not_held_up_sql(still_down, "$5", "$6");
    let bookings = format!(
        "INSERT INTO message_bookings (message_id, booking_id)
         SELECT DISTINCT n.id, mb.booking_id
         FROM messages n
         JOIN messages m ON m.applicant_id = n.applicant_id AND m.event_id <> n.event_id
         JOIN notice_events e ON e.id = m.event_id
         JOIN message_bookings mb ON mb.message_id = m.id
         JOIN bookings b ON b.id = mb.booking_id
         WHERE n.event_id = $1 AND e.incident_id = $2 AND e.service = $3 AND m.kind <> $4
           AND m.status <> 'cancelled' AND b.stage NOT IN {CLOSED_STAGES}{held_up}
         ON CONFLICT DO NOTHING"
    );
    (messages, bookings)
}

impl Store {
    /// The messages of one event, by mobile number, each with its bookings in code order.
    pub async fn planned_messages(&self, event_id: i64) -> Result<Vec<PlannedMessage>, StoreError> {
        type Row = (
            i64,
            String,
            String,
            String,
            Option<String>,
            String,
            i64,
            String,
        );
        let rows: Vec<Row> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT m.id, a.mobile, m.kind, m.language, m.channel, m.status, m.not_before, b.code
                 FROM messages m
                 JOIN applicants a ON a.id = m.applicant_id
                 JOIN message_bookings mb ON mb.message_id = m.id
                 JOIN bookings b ON b.id = mb.booking_id
                 WHERE m.event_id = $1
                 ORDER BY a.mobile, b.code",
            )
            .bind(event_id)
            .fetch_all(pool)
            .await?
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
                    channel: channel
                        .map(|channel| parse_stored("messages.channel", &channel))
                        .transpose()?,
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
    pub async fn settled_changes(
        &self,
        settled_before: DateTime<Utc>,
    ) -> Result<Vec<SettledChange>, StoreError> {
        type Row = (String, String, String, String, i64, Option<i64>);
        let rows: Vec<Row> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT office_code, service, notified_state, state, change_id, expected_at
                 FROM service_states
                 WHERE state <> notified_state AND change_id IS NOT NULL AND changed_at <= $1
                 ORDER BY changed_at, office_code, service",
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
            for setting in planning_settings_of(pool) {
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
            match &plan.audience {
                Audience::Nobody => {}
                Audience::Bookings { rules, window_start, window_end } => {
                    let (insert_messages, insert_bookings) = plan_bookings_sql(rules, &plan.channels);
                    messages = sqlx::query(&insert_messages)
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
                    sqlx::query(&insert_bookings)
                        .bind(event_id)
                        .bind(epoch(*window_start))
                        .bind(epoch(*window_end))
                        .bind(office.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                Audience::ToldOfDisruption { kind, still_down, window_end } => {
                    let service = service.unwrap_or_default();
                    let (insert_messages, insert_bookings) = plan_restoration_sql(&plan.channels, still_down);
                    let mut query = sqlx::query(&insert_messages)
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
                    let mut query = sqlx::query(&insert_bookings)
                        .bind(event_id)
                        .bind(incident_id)
                        .bind(service)
                        .bind(kind.as_str());
                    if !still_down.is_empty() {
                        query = query.bind(now).bind(epoch(*window_end));
                    }
                    query.execute(&mut *tx).await?;
                }
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
            })
        })
    }
}

const NOT_OPERATIONAL: &str = "('degraded', 'unavailable')";
