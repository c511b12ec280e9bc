//! What became of the messages, for staff: the delivery report (streamed page by page, so a
//! national outage of a million messages never sits in memory), the call list of applicants no
//! channel reached, and the state of the queue.

mod call_list;
mod call_outcomes;
mod queue;

use std::fmt;

use chrono::{DateTime, Utc};

use super::{from_epoch, on_reader, parse_stored, Store, StoreError};
use crate::domain::{text_enum, BookingCode, Channel, Language, Msisdn, OfficeCode};
use crate::render::NoticeKind;

pub use call_list::{CallBooking, CallListEntry, MissedNotice, Unreached};
pub use call_outcomes::{CallOutcome, RecordedOutcome};
pub use queue::QueueStatus;

text_enum!(
    /// Where a message is in its life, in lifecycle order.
    MessageStatus, "message status" {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
        Cancelled => "cancelled",
        Unreachable => "unreachable",
    }
);

text_enum!(
    /// Why a failed message failed: worth another try later, never on that channel, or kabar's
    /// own configuration.
    FailureClass, "failure class" {
        Temporary => "temporary",
        Permanent => "permanent",
        Technical => "technical",
    }
);

/// Which messages a report covers: all of them, an incident's, or a broadcast's (both set: the
/// messages that match both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub incident: Option<i64>,
    pub broadcast: Option<i64>,
}

/// Errors of the reports: an id that names nothing is the user's mistake, said plainly, rather
/// than an empty report that looks like good news.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no incident has id {0}; `kabar plan --json` and an unfiltered export show incident ids")]
    UnknownIncident(i64),
    #[error("no broadcast has id {0}; `kabar broadcast list` shows them")]
    UnknownBroadcast(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the report")]
    Write(#[source] std::io::Error),
}

/// One message of the delivery report.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub message_id: i64,
    /// The incident of the notice event, for a message planned from a state change.
    pub incident_id: Option<i64>,
    pub broadcast_id: Option<i64>,
    pub office: OfficeCode,
    /// In code order.
    pub bookings: Vec<BookingCode>,
    /// Whole: whoever writes it out masks it ([`Msisdn::masked`]) unless the reader may see it.
    /// `None`: the message was anonymised (its applicant erased, or retention reached it).
    pub mobile: Option<Msisdn>,
    /// `None`: no usable channel.
    pub channel: Option<Channel>,
    pub provider: Option<String>,
    pub kind: NoticeKind,
    pub language: Language,
    pub status: MessageStatus,
    pub attempts: u32,
    pub failure_class: Option<FailureClass>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Not sent before: the end of quiet hours, a retry's backoff, or a claim's lease.
    pub not_before: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// Rows per page of the export: enough to keep round trips few, small enough to bound memory.
pub const EXPORT_PAGE: u32 = 5_000;

#[derive(sqlx::FromRow)]
struct StoredRow {
    id: i64,
    incident_id: Option<i64>,
    broadcast_id: Option<i64>,
    office_code: String,
    mobile: Option<String>,
    channel: Option<String>,
    provider: Option<String>,
    kind: String,
    language: String,
    status: String,
    attempts: i32,
    failure_class: Option<String>,
    failure_reason: Option<String>,
    created_at: i64,
    not_before: i64,
    sent_at: Option<i64>,
    delivered_at: Option<i64>,
    read_at: Option<i64>,
    failed_at: Option<i64>,
}

impl StoredRow {
    fn into_export(self) -> Result<ExportRow, StoreError> {
        let instant = |seconds: Option<i64>| seconds.map(from_epoch).transpose();
        Ok(ExportRow {
            message_id: self.id,
            incident_id: self.incident_id,
            broadcast_id: self.broadcast_id,
            office: parse_stored("messages.office_code", &self.office_code)?,
            bookings: Vec::new(),
            mobile: self.mobile.map(Msisdn::from_trusted),
            channel: optional("messages.channel", self.channel)?,
            provider: self.provider,
            kind: parse_stored("messages.kind", &self.kind)?,
            language: parse_stored("messages.language", &self.language)?,
            status: parse_stored("messages.status", &self.status)?,
            attempts: u32::try_from(self.attempts).unwrap_or_default(),
            failure_class: optional("messages.failure_class", self.failure_class)?,
            failure_reason: self.failure_reason,
            created_at: from_epoch(self.created_at)?,
            not_before: from_epoch(self.not_before)?,
            sent_at: instant(self.sent_at)?,
            delivered_at: instant(self.delivered_at)?,
            read_at: instant(self.read_at)?,
            failed_at: instant(self.failed_at)?,
        })
    }
}

pub(super) fn optional<T: std::str::FromStr>(
    column: &str,
    value: Option<String>,
) -> Result<Option<T>, StoreError>
where
    T::Err: fmt::Display,
{
    value.map(|value| parse_stored(column, &value)).transpose()
}

/// The filter as SQL conditions on `messages m`, numbering its parameters from `first`, and the
/// values to bind in that order.
pub(super) fn filter_sql(filter: &MessageFilter, first: usize) -> (String, Vec<i64>) {
    let mut conditions = vec!["TRUE".to_owned()];
    let mut values = Vec::new();
    if let Some(incident) = filter.incident {
        values.push(incident);
        // Its notices, and the staff updates written to their audience.
        let at = first + values.len() - 1;
        conditions.push(format!(
            "(m.event_id IN (SELECT id FROM notice_events WHERE incident_id = ${at})
              OR m.broadcast_id IN (SELECT broadcast_id FROM incident_updates WHERE incident_id = ${at}))"
        ));
    }
    if let Some(broadcast) = filter.broadcast {
        values.push(broadcast);
        conditions.push(format!("m.broadcast_id = ${}", first + values.len() - 1));
    }
    (conditions.join(" AND "), values)
}

impl Store {
    /// Fails when the filter names an incident or broadcast that does not exist.
    pub async fn check_message_filter(&self, filter: &MessageFilter) -> Result<(), ReportError> {
        let exists = |table: &'static str, id: i64| async move {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
            let found: i64 =
                on_reader!(self, pool => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await?);
            Ok::<bool, StoreError>(found > 0)
        };
        if let Some(id) = filter.incident {
            if !exists("incidents", id).await? {
                return Err(ReportError::UnknownIncident(id));
            }
        }
        if let Some(id) = filter.broadcast {
            if !exists("broadcasts", id).await? {
                return Err(ReportError::UnknownBroadcast(id));
            }
        }
        Ok(())
    }

    /// The delivery report: hands every message the filter covers to `sink`, in id order, and
    /// returns how many. Pages of [`EXPORT_PAGE`] messages are read by id (keyset pagination), so
    /// memory stays bounded, and no connection or transaction is held while `sink` writes: a slow
    /// reader of the report never holds back the workers. Statuses that change during a long export
    /// are reported as they were when their page was read.
    pub async fn export_messages<F>(&self, filter: &MessageFilter, sink: F) -> Result<u64, ReportError>
    where
        F: FnMut(ExportRow) -> std::io::Result<()>,
    {
        self.export_messages_paged(filter, EXPORT_PAGE, sink).await
    }

    /// [`Store::export_messages`] with pages of `page` messages.
    pub async fn export_messages_paged<F>(
        &self,
        filter: &MessageFilter,
        page: u32,
        mut sink: F,
    ) -> Result<u64, ReportError>
    where
        F: FnMut(ExportRow) -> std::io::Result<()>,
    {
        self.check_message_filter(filter).await?;
        let mut after = i64::MIN;
        let mut written = 0_u64;
        loop {
            let rows = self.export_page(filter, after, page).await?;
            let Some(last) = rows.last() else { break };
            after = last.message_id;
            for row in rows {
                sink(row).map_err(ReportError::Write)?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// One page of the delivery report: up to `page` messages of the filter with an id above
    /// `after`, in id order, with their booking codes. A streamed report reads page after page
    /// ([`Store::export_messages_paged`] does so for a sink); the filter is not checked here.
    pub async fn export_page(
        &self,
        filter: &MessageFilter,
        after: i64,
        page: u32,
    ) -> Result<Vec<ExportRow>, StoreError> {
        let (condition, values) = filter_sql(filter, 3);
        let messages_sql = format!(
            "SELECT m.id, COALESCE(e.incident_id, u.incident_id) AS incident_id, m.broadcast_id,
                    m.office_code, a.mobile, m.channel, m.provider,
                    m.kind, m.language, m.status, m.attempts, m.failure_class, m.failure_reason,
                    m.created_at, m.not_before, m.sent_at, m.delivered_at, m.read_at, m.failed_at
             FROM messages m
             LEFT JOIN applicants a ON a.id = m.applicant_id
             LEFT JOIN notice_events e ON e.id = m.event_id
             LEFT JOIN incident_updates u ON u.broadcast_id = m.broadcast_id
             WHERE m.id > $1 AND {condition}
             ORDER BY m.id
             LIMIT $2"
        );
        let stored: Vec<StoredRow> = on_reader!(self, pool => {
            let mut query = sqlx::query_as(&messages_sql).bind(after).bind(i64::from(page.max(1)));
            for value in &values {
                query = query.bind(*value);
            }
            query.fetch_all(pool).await?
        });
        let mut rows =
            stored.into_iter().map(StoredRow::into_export).collect::<Result<Vec<_>, StoreError>>()?;
        self.attach_booking_codes(&mut rows).await?;
        Ok(rows)
    }

    /// Fills in the booking codes of a page of messages in id order.
    async fn attach_booking_codes(&self, rows: &mut [ExportRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        // Ids the store produced, never free text.
        let ids = rows.iter().map(|row| row.message_id.to_string()).collect::<Vec<_>>().join(", ");
        let listed = (self.dialect().unnest_ids)("m.booking_ids", "l");
        let sql = format!(
            "SELECT m.id, b.code FROM messages m CROSS JOIN {listed} JOIN bookings b ON b.id = l.value
             WHERE m.id IN ({ids}) ORDER BY m.id, b.code"
        );
        let codes: Vec<(i64, String)> = on_reader!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        // Both lists are in message id order: one merge pass.
        let mut at = 0;
        for (message_id, code) in codes {
            while at < rows.len() && rows[at].message_id < message_id {
                at += 1;
            }
            if at < rows.len() && rows[at].message_id == message_id {
                rows[at].bookings.push(parse_stored("bookings.code", &code)?);
            }
        }
        Ok(())
    }
}
