//! The call list: the applicants no channel reached, for staff to phone.

use std::fmt;

use chrono::{DateTime, Utc};

use super::call_outcomes::{CallOutcome, RecordedOutcome};
use super::{filter_sql, optional, FailureClass, MessageFilter, MessageStatus, ReportError};
use crate::domain::{BookingCode, Channel, Email, Msisdn, OfficeCode};
use crate::render::NoticeKind;
use crate::store::{from_epoch, on_reader, parse_stored, Store, StoreError};

/// An applicant no channel reached, for staff to phone: one entry per applicant and office, however
/// many notices they missed.
#[derive(Debug, Clone, PartialEq)]
pub struct CallListEntry {
    pub office: OfficeCode,
    pub applicant_id: i64,
    pub name: String,
    pub mobile: Msisdn,
    pub email: Option<Email>,
    /// In the order they were planned: the last one is where things stand.
    pub missed: Vec<MissedNotice>,
    /// Every booking the missed notices were about, soonest appointment first.
    pub bookings: Vec<CallBooking>,
    /// The last call recorded about one of the bookings since the first missed notice.
    pub outcome: Option<RecordedOutcome>,
}

impl CallListEntry {
    /// The soonest appointment, which orders the list.
    pub fn first_appointment(&self) -> Option<DateTime<Utc>> {
        self.bookings.first().map(|booking| booking.appointment_at)
    }

    /// Still to call: nobody has reached the applicant since they missed a notice.
    pub fn to_call(&self) -> bool {
        self.outcome.as_ref().is_none_or(|outcome| outcome.outcome != CallOutcome::Reached)
    }
}

/// A notice that reached nobody.
#[derive(Debug, Clone, PartialEq)]
pub struct MissedNotice {
    pub message_id: i64,
    pub kind: NoticeKind,
    pub created_at: DateTime<Utc>,
    pub why: Unreached,
}

/// Why nobody was reached.
#[derive(Debug, Clone, PartialEq)]
pub enum Unreached {
    /// Opted out of every channel, or the only channels left need an email address they lack.
    NoUsableChannel,
    /// Every channel tried failed; this is the last one's failure.
    Failed { channel: Option<Channel>, class: Option<FailureClass>, reason: Option<String> },
}

impl fmt::Display for Unreached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreached::NoUsableChannel => f.write_str("no usable channel"),
            Unreached::Failed { channel, class, reason } => {
                f.write_str(channel.map_or("failed", |channel| channel.as_str()))?;
                if channel.is_some() {
                    f.write_str(" failed")?;
                }
                if let Some(reason) = reason {
                    write!(f, ": {reason}")?;
                }
                if let Some(class) = class {
                    write!(f, " ({class})")?;
                }
                Ok(())
            }
        }
    }
}

/// A booking on the call list.
#[derive(Debug, Clone, PartialEq)]
pub struct CallBooking {
    pub code: BookingCode,
    pub holder_name: String,
    pub appointment_at: DateTime<Utc>,
}

impl Store {
    /// The applicants nobody reached, for staff to phone: every message of the filter that is
    /// `unreachable` (no usable channel) or `failed` (the last channel tried failed), grouped per
    /// applicant and office, by office then soonest appointment. A failed message that a late
    /// receipt shows delivered after all leaves the list. The list is the unreached fraction of
    /// the messages, so it is built in memory.
    pub async fn call_list(&self, filter: &MessageFilter) -> Result<Vec<CallListEntry>, ReportError> {
        self.check_message_filter(filter).await?;
        type Row = (
            i64,
            String,
            i64,
            String,
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            Option<String>,
            Option<String>,
            Option<i64>,
        );
        let (condition, values) = filter_sql(filter, 1);
        let listed = (self.dialect().unnest_ids)("m.booking_ids", "l");
        let sql = format!(
            "SELECT m.id, m.office_code, m.applicant_id, a.name, a.mobile, a.email, m.kind, m.status,
                    m.channel, m.failure_class, m.failure_reason, m.created_at,
                    b.code, b.holder_name, b.appointment_at
             FROM messages m
             JOIN applicants a ON a.id = m.applicant_id
             LEFT JOIN {listed} ON TRUE
             LEFT JOIN bookings b ON b.id = l.value
             WHERE m.status IN ('unreachable', 'failed') AND {condition}
             ORDER BY m.office_code, m.applicant_id, m.id, b.appointment_at, b.code"
        );
        let rows: Vec<Row> = on_reader!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for value in &values {
                query = query.bind(*value);
            }
            query.fetch_all(pool).await.map_err(StoreError::from)?
        });
        let mut entries: Vec<CallListEntry> = Vec::new();
        for row in rows {
            let (message_id, office, applicant_id, name, mobile, email, kind, status) =
                (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
            let office: OfficeCode = parse_stored("messages.office_code", &office)?;
            let same = |entry: &CallListEntry| entry.applicant_id == applicant_id && entry.office == office;
            if !entries.last().is_some_and(same) {
                entries.push(CallListEntry {
                    office: office.clone(),
                    applicant_id,
                    name,
                    mobile: Msisdn::from_trusted(mobile),
                    email: optional("applicants.email", email)?,
                    missed: Vec::new(),
                    bookings: Vec::new(),
                    outcome: None,
                });
            }
            let entry = entries.last_mut().expect("pushed above");
            if entry.missed.last().is_none_or(|missed| missed.message_id != message_id) {
                let status: MessageStatus = parse_stored("messages.status", &status)?;
                let why = match status {
                    MessageStatus::Unreachable => Unreached::NoUsableChannel,
                    _ => Unreached::Failed {
                        channel: optional("messages.channel", row.8)?,
                        class: optional("messages.failure_class", row.9)?,
                        reason: row.10,
                    },
                };
                entry.missed.push(MissedNotice {
                    message_id,
                    kind: parse_stored("messages.kind", &kind)?,
                    created_at: from_epoch(row.11)?,
                    why,
                });
            }
            if let (Some(code), Some(holder_name), Some(appointment_at)) = (row.12, row.13, row.14) {
                let code: BookingCode = parse_stored("bookings.code", &code)?;
                if !entry.bookings.iter().any(|booking| booking.code == code) {
                    entry.bookings.push(CallBooking {
                        code,
                        holder_name,
                        appointment_at: from_epoch(appointment_at)?,
                    });
                }
            }
        }
        let outcomes = self.last_call_outcomes().await?;
        for entry in &mut entries {
            let since = entry.missed.iter().map(|missed| missed.created_at).min();
            entry.outcome = entry
                .bookings
                .iter()
                .filter_map(|booking| outcomes.get(&booking.code))
                .filter(|outcome| since.is_none_or(|since| outcome.recorded_at >= since))
                .max_by_key(|outcome| outcome.id)
                .cloned();
            entry.bookings.sort_by(|a, b| (a.appointment_at, &a.code).cmp(&(b.appointment_at, &b.code)));
        }
        // Soonest appointment first within an office; an entry without bookings goes last.
        entries.sort_by(|a, b| {
            let key = |entry: &CallListEntry| {
                (entry.office.clone(), entry.first_appointment().is_none(), entry.first_appointment())
            };
            key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
        });
        Ok(entries)
    }
}
