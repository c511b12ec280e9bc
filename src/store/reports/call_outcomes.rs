//! What came of the calls staff make from the call list. Each call is a row (who called, when,
//! what came of it, a short note); the last one is where things stand. A `reached` applicant leaves
//! the list of applicants still to call.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::audit::Origin;
use crate::domain::{text_enum, BookingCode, OfficeCode};
use crate::store::{
    epoch, from_epoch, on_reader, on_writer, parse_stored, AuditLog, Store, StoreError, WritePool,
};

text_enum!(
    /// What came of one call.
    CallOutcome, "call outcome" {
        Reached => "reached",
        NoAnswer => "no_answer",
        WrongNumber => "wrong_number",
        Voicemail => "voicemail",
    }
);

/// One recorded call about a booking.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedOutcome {
    pub id: i64,
    pub booking: BookingCode,
    pub office: OfficeCode,
    pub outcome: CallOutcome,
    pub note: Option<String>,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

type OutcomeRow = (i64, String, String, String, Option<String>, String, i64);

fn outcome(row: OutcomeRow) -> Result<RecordedOutcome, StoreError> {
    Ok(RecordedOutcome {
        id: row.0,
        booking: parse_stored("bookings.code", &row.1)?,
        office: parse_stored("call_outcomes.office_code", &row.2)?,
        outcome: parse_stored("call_outcomes.outcome", &row.3)?,
        note: row.4,
        actor: row.5,
        recorded_at: from_epoch(row.6)?,
    })
}

impl Store {
    /// The office of a booking, to check the caller's scope before recording a call about it.
    pub async fn booking_office(&self, code: &BookingCode) -> Result<Option<OfficeCode>, StoreError> {
        let office: Option<String> = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT office_code FROM bookings WHERE code = $1")
                .bind(code.as_str())
                .fetch_optional(pool)
                .await?
        });
        office.map(|office| parse_stored("bookings.office_code", &office)).transpose()
    }

    /// Records a call about a booking with its audit row, in one transaction; `None` when no
    /// booking has the code. The note is kept in the table only: the audit row says that a note
    /// was written, not what it says (it may name the applicant).
    pub async fn record_call_outcome(
        &self,
        code: &BookingCode,
        result: CallOutcome,
        note: Option<&str>,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<Option<RecordedOutcome>, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let booking: Option<(i64, String)> =
                sqlx::query_as("SELECT id, office_code FROM bookings WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((booking_id, office)) = booking else {
                tx.rollback().await?;
                return Ok(None);
            };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO call_outcomes (booking_id, office_code, outcome, note, actor, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id",
            )
            .bind(booking_id)
            .bind(&office)
            .bind(result.as_str())
            .bind(note)
            .bind(origin.actor.as_str())
            .bind(epoch(now))
            .fetch_one(&mut *tx)
            .await?;
            let office: OfficeCode = parse_stored("bookings.office_code", &office)?;
            let entry = origin
                .entry(now, "call.outcome", format!("booking:{booking_id}"))
                .with_offices([office.clone()])
                .with_summary(serde_json::json!({
                    "outcome_id": id,
                    "outcome": result.as_str(),
                    "note": note.is_some(),
                }));
            tx.append_audit(entry).await?;
            tx.commit().await?;
            Ok(Some(RecordedOutcome {
                id,
                booking: code.clone(),
                office,
                outcome: result,
                note: note.map(str::to_owned),
                actor: origin.actor.to_string(),
                recorded_at: now,
            }))
        })
    }

    /// The last recorded call about each booking that has one.
    pub async fn last_call_outcomes(&self) -> Result<HashMap<BookingCode, RecordedOutcome>, StoreError> {
        let rows: Vec<OutcomeRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT o.id, b.code, o.office_code, o.outcome, o.note, o.actor, o.recorded_at
                 FROM call_outcomes o
                 JOIN bookings b ON b.id = o.booking_id
                 WHERE o.id IN (SELECT MAX(id) FROM call_outcomes GROUP BY booking_id)",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(|row| outcome(row).map(|found| (found.booking.clone(), found))).collect()
    }
}
