//! Recording what came of a call from the call list, for the CLI (`kabar messages record-call`)
//! and the API (`POST /call-list/{booking_code}/outcomes`).

use chrono::{DateTime, Utc};

use crate::audit::Origin;
use crate::domain::{check_length, check_plain_text, BookingCode, ParseError};
use crate::store::{CallOutcome, RecordedOutcome, Store, StoreError};

/// The longest note kept with a call.
pub const MAX_NOTE: usize = 500;

/// A call to record, parsed.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub booking: BookingCode,
    pub outcome: CallOutcome,
    pub note: Option<String>,
}

/// Why a call was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("booking code: {0}")]
    Booking(ParseError),
    #[error("outcome: {0}; write reached, no_answer, wrong_number or voicemail")]
    Outcome(ParseError),
    #[error("note: {0}")]
    Note(ParseError),
    #[error("no booking has code {0}")]
    UnknownBooking(BookingCode),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CallRecord {
    pub fn parse(booking: &str, outcome: &str, note: Option<&str>) -> Result<CallRecord, CallError> {
        let booking = booking.parse().map_err(CallError::Booking)?;
        let outcome = outcome.parse().map_err(CallError::Outcome)?;
        let note = note.map(str::trim).filter(|note| !note.is_empty());
        if let Some(note) = note {
            check_plain_text(note).map_err(CallError::Note)?;
            check_length(note, MAX_NOTE).map_err(CallError::Note)?;
        }
        Ok(CallRecord { booking, outcome, note: note.map(str::to_owned) })
    }
}

/// Records the call, audited for `origin` in the same transaction.
pub async fn record(
    store: &Store,
    call: &CallRecord,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<RecordedOutcome, CallError> {
    store
        .record_call_outcome(&call.booking, call.outcome, call.note.as_deref(), origin, now)
        .await?
        .ok_or_else(|| CallError::UnknownBooking(call.booking.clone()))
}
