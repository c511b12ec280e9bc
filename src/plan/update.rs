//! Staff-written incident updates: the text staff write ("printing resumes tomorrow; passports
//! applied for since 11 June are printed first") sent to everyone the incident's notices were
//! for, through the outbox with the office's quiet hours, as the `broadcast` notice.

use chrono::{DateTime, Duration, Utc};

use super::broadcast::MAX_TEXT;
use super::PlannerConfig;
use crate::audit::Origin;
use crate::domain::{check_length, check_plain_text, ParseError};
use crate::store::{NewIncidentUpdate, PostedUpdate, Store, StoreError};

/// Why an update was not posted.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("no incident has id {0}")]
    UnknownIncident(i64),
    #[error("incident {0} is resolved; its applicants were told the service is back")]
    Resolved(i64),
    /// `field` is `text` or `text_en`.
    #[error("{field}: {error}")]
    Text { field: &'static str, error: ParseError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The text of an update: Indonesian, with an optional English version.
#[derive(Debug, Clone)]
pub struct UpdateText {
    pub text_id: String,
    pub text_en: Option<String>,
}

fn check(field: &'static str, text: &str) -> Result<(), UpdateError> {
    let text_error = |error| UpdateError::Text { field, error };
    if text.trim().is_empty() {
        return Err(text_error(ParseError::new("is empty; write what applicants should know")));
    }
    // Paragraphs are allowed; no other control character belongs in a message.
    check_plain_text(&text.replace(['\n', '\r', '\t'], " ")).map_err(text_error)?;
    check_length(text, MAX_TEXT).map_err(text_error)
}

/// Posts a staff update to the open incident `incident`, audited for `origin` in the same
/// transaction. Returns what was planned.
pub async fn post_update(
    store: &Store,
    planner: &PlannerConfig,
    incident: i64,
    text: &UpdateText,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<PostedUpdate, UpdateError> {
    check("text", &text.text_id)?;
    if let Some(english) = &text.text_en {
        check("text_en", english)?;
    }
    let record = store.incident(incident).await?.ok_or(UpdateError::UnknownIncident(incident))?;
    if record.resolved_at.is_some() {
        return Err(UpdateError::Resolved(incident));
    }
    let directory = store.office_directory().await?;
    let quiet_until = directory
        .office(&record.office)
        .and_then(|office| planner.quiet_hours_of(&record.office).ends_after(now, office.timezone));
    let update = NewIncidentUpdate {
        incident,
        office: record.office,
        text_id: text.text_id.trim().to_owned(),
        text_en: text.text_en.as_deref().map(str::trim).map(str::to_owned),
        channels: planner.channels.clone(),
        now,
        quiet_until,
        quiet_margin: Duration::minutes(i64::from(planner.quiet_margin_minutes)),
    };
    Ok(store.post_incident_update(&update, origin).await?)
}
