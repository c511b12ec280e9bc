//! Who an event would reach, counted without writing: the planner's own audience statements
//! (the same sub-selects, the same channel and quiet-hours expressions), grouped instead of
//! inserted, so a dry run and the planning that follows cannot disagree.

use chrono::{DateTime, Utc};

use super::sql::{
    bookings_audience_sql, channel_sql, kind_sql, not_before_sql, told_sql, update_kind_sql, TOLD,
};
use super::{Audience, EventPlan};
use crate::domain::{Channel, Language};
use crate::render::NoticeKind;
use crate::store::{epoch, from_epoch, on_reader, parse_stored, Dialect, Store, StoreError};

/// The applicants of one event that share a notice kind, a channel and a language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HearingGroup {
    pub kind: NoticeKind,
    /// `None`: no usable channel (the call list).
    pub channel: Option<Channel>,
    pub language: Language,
    /// One message each.
    pub applicants: u64,
    /// The bookings their messages would list.
    pub bookings: u64,
    /// The earliest a message of the group may be sent (quiet hours hold WhatsApp and SMS);
    /// `None` without a channel (nothing is sent).
    pub first_send_at: Option<DateTime<Utc>>,
}

/// Groups the rows of an audience sub-select `s` (with `applicant_id`, `bookings`, `next_at`) by
/// kind, channel and language; `filter` keeps the rows the planner would keep.
fn count_sql(audience: &str, kind: &str, channels: &[Channel], filter: &str) -> String {
    let channel = channel_sql(channels);
    format!(
        "SELECT g.kind, g.channel, g.language, COUNT(*), CAST(COALESCE(SUM(g.bookings), 0) AS BIGINT),
                MIN(CASE WHEN g.channel IS NOT NULL THEN g.not_before END)
         FROM (SELECT {kind} AS kind, {channel} AS channel, COALESCE(a.language, 'id') AS language,
                      s.bookings AS bookings, {not_before} AS not_before
               FROM ({audience}) s
               JOIN applicants a ON a.id = s.applicant_id
               WHERE {filter}) g
         GROUP BY g.kind, g.channel, g.language
         ORDER BY g.kind, g.channel, g.language",
        not_before = not_before_sql(&channel),
    )
}

/// The statement that counts `plan`'s audience, and whether it reads the incident ($3).
fn audience_count_sql(dialect: Dialect, plan: &EventPlan) -> Option<(String, bool)> {
    match &plan.audience {
        Audience::Nobody => None,
        // $1 unused (no event yet), $2 now, $3 end of the window, $4 end of quiet hours,
        // $5 margin, $6 office, $7 start of the window: as planning binds them.
        Audience::Bookings { rules, .. } => Some((
            count_sql(
                &bookings_audience_sql(dialect, rules, false),
                &kind_sql(rules),
                &plan.channels,
                "TRUE",
            ),
            false,
        )),
        // Who never heard of the disruption (every notice still held) is superseded and hears
        // no restoration.
        Audience::ToldOfDisruption { still_down, .. } => Some((
            count_sql(&told_sql(dialect, still_down, &TOLD), "$7", &plan.channels, "s.heard = 1"),
            true,
        )),
        Audience::Update { .. } => Some((
            count_sql(&told_sql(dialect, &[], &TOLD), &update_kind_sql(), &plan.channels, "TRUE"),
            true,
        )),
    }
}

type CountRow = (String, Option<String>, String, i64, i64, Option<i64>);

impl Store {
    /// Who planning `plan` now would write messages for, by kind, channel and language; nothing
    /// is written. `incident` is the office's open incident (a restoration or an update reaches
    /// those its notices told; without one, nobody).
    pub async fn count_event_audience(
        &self,
        plan: &EventPlan,
        incident: Option<i64>,
    ) -> Result<Vec<HearingGroup>, StoreError> {
        let Some((sql, told)) = audience_count_sql(self.dialect(), plan) else {
            return Ok(Vec::new());
        };
        let now = epoch(plan.now);
        let quiet_until = plan.quiet_until.map_or(now, epoch);
        let margin = plan.quiet_margin.num_seconds();
        let office = plan.trigger.office().as_str();
        let service = match &plan.trigger {
            super::Trigger::Change(change) => change.service.as_str(),
            super::Trigger::StatusUpdate { .. } => "",
        };
        enum Value<'a> {
            Int(i64),
            Text(&'a str),
        }
        let values = match (&plan.audience, told, incident) {
            (_, true, None) => return Ok(Vec::new()),
            (Audience::Bookings { window_start, window_end, .. }, _, _) => vec![
                Value::Int(0),
                Value::Int(now),
                Value::Int(epoch(*window_end)),
                Value::Int(quiet_until),
                Value::Int(margin),
                Value::Text(office),
                Value::Int(epoch(*window_start)),
            ],
            (audience, _, incident) => {
                let Some(incident) = incident else { return Ok(Vec::new()) };
                let (kind, window_end) = match audience {
                    Audience::ToldOfDisruption { kind, still_down, window_end } => {
                        (*kind, (!still_down.is_empty()).then_some(*window_end))
                    }
                    Audience::Update { restoration } => (*restoration, None),
                    _ => return Ok(Vec::new()),
                };
                let mut values = vec![
                    Value::Int(0),
                    Value::Int(now),
                    Value::Int(incident),
                    Value::Int(quiet_until),
                    Value::Int(margin),
                    Value::Text(service),
                    Value::Text(kind.as_str()),
                ];
                values.extend(window_end.map(|end| Value::Int(epoch(end))));
                values
            }
        };
        let settings = self.dialect().planning_settings;
        let rows: Vec<CountRow> = on_reader!(self, pool => {
            // The planner's settings, so the count takes the plan the planning will.
            let mut tx = pool.begin().await?;
            for setting in settings {
                sqlx::query(setting).execute(&mut *tx).await?;
            }
            let mut query = sqlx::query_as(&sql);
            for value in &values {
                query = match value {
                    Value::Int(value) => query.bind(*value),
                    Value::Text(value) => query.bind(*value),
                };
            }
            let rows = query.fetch_all(&mut *tx).await?;
            tx.rollback().await?;
            rows
        });
        rows.into_iter()
            .map(|(kind, channel, language, applicants, bookings, first)| {
                Ok(HearingGroup {
                    kind: parse_stored("messages.kind", &kind)?,
                    channel: channel.map(|channel| parse_stored("messages.channel", &channel)).transpose()?,
                    language: parse_stored("messages.language", &language)?,
                    applicants: applicants as u64,
                    bookings: bookings as u64,
                    first_send_at: first.map(from_epoch).transpose()?,
                })
            })
            .collect()
    }
}

impl Store {
    /// What applicants were last told of `service`, by office (an office absent was told nothing:
    /// operational).
    pub async fn notified_states(
        &self,
        service: crate::domain::Service,
    ) -> Result<std::collections::HashMap<crate::domain::OfficeCode, crate::domain::ServiceState>, StoreError>
    {
        let rows: Vec<(String, String)> = on_reader!(self, pool => {
            sqlx::query_as("SELECT office_code, notified_state FROM service_states WHERE service = $1")
                .bind(service.as_str())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(office, state)| {
                Ok((
                    parse_stored("service_states.office_code", &office)?,
                    parse_stored("service_states.notified_state", &state)?,
                ))
            })
            .collect()
    }
}
