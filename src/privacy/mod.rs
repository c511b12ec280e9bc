//! Data protection (Indonesia's Personal Data Protection Law, UU 27/2022): keep personal data only
//! as long as it is needed, show a person what kabar holds on them, and erase it on request.
//!
//! What kabar holds on a person: the applicant row (name, mobile, email, WhatsApp number,
//! language, opt-outs), their bookings (holder names, appointments), their messages (linked by
//! applicant id, listing booking ids, with the provider's id and error text), every try's error
//! text, and the numbers that replied STOP. Message bodies are never stored: they are rendered at
//! send time (the `log` provider writes them to its own file, which is the operator's to rotate).
//!
//! The retention policy ([`purge`], daily from `kabar serve` and by `kabar purge`):
//! - a message finished (sent, delivered, read, failed, cancelled, unreachable) more than
//!   `messages_days` ago is anonymised: its applicant link, booking list, provider id and error
//!   texts are wiped; its office, notice, channel, status and times stay, so reports still count
//!   it. Messages of an incident still open stay whole: the restoration notice finds its audience
//!   through them;
//! - replies older than `messages_days` keep only a masked number;
//! - a closed booking (picked up, cancelled, no-show) whose appointment and last change are more
//!   than `bookings_days` ago is removed;
//! - an applicant with no booking left (and nothing being sent) is removed; one who opted out of a
//!   channel keeps only the number and the opt-outs, so a later import never writes to them on a
//!   channel they refused.

mod person;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::Actor;
use crate::domain::{Email, Msisdn, ParseError};
use crate::store::{Store, StoreError};

pub use person::{ErasureReport, PersonBooking, PersonMessage, PersonRecord, PersonReply};

/// `[retention]`: how long personal data is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days after a message finished before it is anonymised (and after a reply before its number
    /// is masked).
    pub messages_days: u32,
    /// Days after a closed booking's appointment and last change before it is removed.
    pub bookings_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { messages_days: 90, bookings_days: 90 }
    }
}

impl RetentionConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (key, days) in [("messages_days", self.messages_days), ("bookings_days", self.bookings_days)] {
            if !(1..=3650).contains(&days) {
                return Err(format!("retention.{key} = {days} is out of range; use 1 to 3650 days"));
            }
        }
        Ok(())
    }

    /// What finished or changed before these instants is old enough to purge at `now`.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> Cutoffs {
        Cutoffs {
            messages: now - Duration::days(i64::from(self.messages_days)),
            bookings: now - Duration::days(i64::from(self.bookings_days)),
        }
    }
}

/// The instants before which the retention policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cutoffs {
    pub messages: DateTime<Utc>,
    pub bookings: DateTime<Utc>,
}

/// What a purge removed, or would remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub dry_run: bool,
    pub cutoffs: Cutoffs,
    /// Messages unlinked from their applicant and bookings, provider id and error wiped.
    pub messages_anonymised: u64,
    /// Tries whose error text was wiped.
    pub attempt_errors_wiped: u64,
    /// Replies whose number was masked.
    pub replies_masked: u64,
    pub bookings_removed: u64,
    pub applicants_removed: u64,
    /// Applicants with no booking left who had opted out: only the number and opt-outs remain.
    pub applicants_reduced_to_opt_outs: u64,
    /// The audit row that records the purge (none for a dry run).
    pub audit_id: Option<i64>,
}

impl std::fmt::Display for PurgeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run { "would be" } else { "were" };
        writeln!(
            f,
            "retention: messages finished before {}, closed bookings before {}",
            self.cutoffs.messages.format("%Y-%m-%d %H:%M UTC"),
            self.cutoffs.bookings.format("%Y-%m-%d %H:%M UTC")
        )?;
        writeln!(f, "  {} messages {verb} anonymised", self.messages_anonymised)?;
        writeln!(f, "  {} attempt error texts {verb} wiped", self.attempt_errors_wiped)?;
        writeln!(f, "  {} reply numbers {verb} masked", self.replies_masked)?;
        writeln!(f, "  {} closed bookings {verb} removed", self.bookings_removed)?;
        writeln!(f, "  {} applicants {verb} removed", self.applicants_removed)?;
        write!(
            f,
            "  {} applicants {verb} reduced to their number and opt-outs",
            self.applicants_reduced_to_opt_outs
        )?;
        match (self.dry_run, self.audit_id) {
            (true, _) => write!(f, "\ndry run: nothing was changed"),
            (false, Some(id)) => write!(f, "\nrecorded as audit row {id}"),
            (false, None) => Ok(()),
        }
    }
}

/// Applies the retention policy as of `now` in one transaction, recorded by one audit row for
/// `actor` (`system:retention` from `kabar serve`, `cli:<user>` from `kabar purge`). A dry run
/// does the same work and rolls it back, so its counts are exactly what a purge would do.
pub async fn purge(
    store: &Store,
    config: &RetentionConfig,
    actor: &Actor,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PurgeReport, StoreError> {
    store.apply_retention(config.cutoffs(now), actor, now, dry_run).await
}

/// How often `kabar serve` applies the policy, and how soon it tries again after a failure.
const DAILY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
const RETRY: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// The retention task of `kabar serve`: purges as `system:retention` at once, then every 24
/// hours, until `shutdown`. A failed purge (the database away) is logged and tried again in an
/// hour; it never stops the server. Several servers on one PostgreSQL each purge: harmless, as a
/// purge finds nothing the second time.
pub async fn run_daily(store: Store, config: RetentionConfig, shutdown: tokio_util::sync::CancellationToken) {
    let actor = Actor::system("retention");
    loop {
        let wait = match purge(&store, &config, &actor, Utc::now(), false).await {
            Ok(report) => {
                tracing::info!(
                    messages_anonymised = report.messages_anonymised,
                    bookings_removed = report.bookings_removed,
                    applicants_removed = report.applicants_removed,
                    applicants_reduced = report.applicants_reduced_to_opt_outs,
                    replies_masked = report.replies_masked,
                    "retention purge"
                );
                DAILY
            }
            Err(err) => {
                tracing::warn!(error = %err, "retention purge failed; trying again in an hour");
                RETRY
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Who `kabar applicant` is about: a mobile number or an email address, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonQuery {
    Phone(Msisdn),
    Email(Email),
}

impl std::str::FromStr for PersonQuery {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        if input.contains('@') {
            input.parse().map(PersonQuery::Email)
        } else {
            input.parse().map(PersonQuery::Phone)
        }
    }
}

/// Why an erasure did not happen.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("kabar holds nothing on {0}")]
    NotFound(String),
    #[error(
        "{count} applicants have the email {email}, with the numbers {numbers}; erase each by its phone number"
    )]
    Ambiguous { email: String, count: usize, numbers: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything kabar holds on the person: each applicant with that mobile number (one) or that
/// email (possibly several, e.g. a family sharing an address).
pub async fn show(store: &Store, query: &PersonQuery) -> Result<Vec<PersonRecord>, StoreError> {
    store.people(query).await
}

/// Removes the person's personal data and bookings, cancels their pending messages and
/// anonymises the rest (counts and statuses stay for reports), in one transaction with its audit
/// row. An email shared by several applicants is refused: erase each by phone number.
pub async fn erase(
    store: &Store,
    query: &PersonQuery,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ErasureReport, EraseError> {
    let ids = store.applicant_ids(query).await?;
    let typed = match query {
        PersonQuery::Phone(mobile) => mobile.masked(),
        PersonQuery::Email(email) => email.masked(),
    };
    match ids.as_slice() {
        [] => Err(EraseError::NotFound(typed)),
        [(id, _)] => Ok(store.erase_applicant(*id, query, actor, now).await?),
        several => Err(EraseError::Ambiguous {
            email: typed,
            count: several.len(),
            numbers: several.iter().map(|(_, mobile)| mobile.masked()).collect::<Vec<_>>().join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_defaults_and_limits() {
        let config = RetentionConfig::default();
        assert_eq!((config.messages_days, config.bookings_days), (90, 90));
        assert!(config.validate().is_ok());
        let err = RetentionConfig { messages_days: 0, ..config }.validate().unwrap_err();
        assert!(err.contains("retention.messages_days = 0"), "{err}");
        let now = DateTime::from_timestamp(1_718_852_400, 0).unwrap();
        assert_eq!(config.cutoffs(now).messages, now - Duration::days(90));
    }

    #[test]
    fn a_person_is_a_phone_number_or_an_email() {
        assert!(matches!("0812-3456-7890".parse(), Ok(PersonQuery::Phone(_))));
        assert!(matches!("budi@example.com".parse(), Ok(PersonQuery::Email(_))));
        assert!("budi@".parse::<PersonQuery>().is_err());
        let err = "12345".parse::<PersonQuery>().unwrap_err().to_string();
        assert!(err.contains("not a valid mobile number"), "{err}");
    }
}
