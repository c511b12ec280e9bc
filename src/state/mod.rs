//! Service state changes: staff (or later an automatic check) mark a service of one office, a
//! list, a region or every office as operational, degraded or unavailable. Each change is kept
//! with its actor, time, reason and expected restoration.

mod board;
mod overview;

use std::str::FromStr;

use chrono::{DateTime, Utc};

pub use board::board_table;
pub use overview::{overview, preview_change, OfficeStatus, ServiceStatus};

use crate::audit::Origin;
use crate::domain::{
    check_length, check_plain_text, format_short, parse_local_datetime, OfficeCode, ParseError, Service,
    ServiceState,
};
use crate::store::{AppliedChange, OfficeDirectory, StateChangeRecord, Store, StoreError};

/// Which offices a change is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every office: a national outage, as on 2024-06-20.
    All,
    /// The offices of one region (province).
    Region(String),
    /// Named offices.
    Offices(Vec<OfficeCode>),
}

impl FromStr for Target {
    type Err = ParseError;
    /// `all`, `region:Sumatera Selatan`, or office codes separated by commas (`PLG,GTO`).
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        if text.eq_ignore_ascii_case("all") {
            return Ok(Target::All);
        }
        if let Some(region) = text.strip_prefix("region:") {
            return Ok(Target::Region(region.trim().to_owned()));
        }
        text.split(',').map(str::parse).collect::<Result<Vec<_>, _>>().map(Target::Offices)
    }
}

/// A change as staff give it.
#[derive(Debug, Clone)]
pub struct StateChange {
    pub target: Target,
    pub service: Service,
    pub state: ServiceState,
    pub reason: Option<String>,
    /// Expected restoration: `YYYY-MM-DD HH:MM` in each office's own zone, or an RFC 3339 instant.
    pub until: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// Why a change was refused; nothing is written then.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("unknown office {0}; see `kabar state show` for the office codes, or import it with `kabar import offices`")]
    UnknownOffice(OfficeCode),
    #[error("no office is in region {0:?}; regions are written as in the office list, e.g. region:Sumatera Selatan")]
    EmptyRegion(String),
    #[error("no offices in the database; import them first with `kabar import offices data/offices.csv`")]
    NoOffices,
    #[error("office {0} has no border checkpoint (it is not a TPI office), so it has no {1} service")]
    NoCheckpoint(OfficeCode, Service),
    #[error("a reason is required when a service becomes {0}; say what happened with --reason")]
    ReasonRequired(ServiceState),
    #[error("--until: {0}")]
    Until(ParseError),
    #[error("--reason: {0}")]
    Reason(ParseError),
    #[error(
        "--until {until} is not in the future: it is {now} at {office} now; give the time the \
         service is expected back, or leave --until out if nobody knows yet"
    )]
    UntilPast { office: OfficeCode, until: String, now: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The offices a target names, checked against the directory.
pub fn resolve_target(
    target: &Target,
    service: Service,
    offices: &OfficeDirectory,
) -> Result<Vec<OfficeCode>, StateError> {
    if offices.is_empty() {
        return Err(StateError::NoOffices);
    }
    // Broad targets quietly skip offices without the service; a named office must have it.
    let has_service = |tpi: bool| tpi || !service.needs_checkpoint();
    match target {
        Target::All => Ok(offices.offices().filter(|o| has_service(o.tpi)).map(|o| o.code.clone()).collect()),
        Target::Region(region) => {
            let in_region: Vec<_> =
                offices.offices().filter(|o| o.region.eq_ignore_ascii_case(region)).collect();
            if in_region.is_empty() {
                return Err(StateError::EmptyRegion(region.clone()));
            }
            Ok(in_region.into_iter().filter(|o| has_service(o.tpi)).map(|o| o.code.clone()).collect())
        }
        Target::Offices(codes) => codes
            .iter()
            .map(|code| match offices.office(code) {
                None => Err(StateError::UnknownOffice(code.clone())),
                Some(office) if !has_service(office.tpi) => {
                    Err(StateError::NoCheckpoint(code.clone(), service))
                }
                Some(_) => Ok(code.clone()),
            })
            .collect(),
    }
}

/// The longest reason kabar accepts: it is printed in SMS and WhatsApp messages.
pub const MAX_REASON: usize = 200;

/// Validates a change and records it for every office it targets, in one transaction.
pub async fn set_state(store: &Store, change: &StateChange) -> Result<Vec<AppliedChange>, StateError> {
    set_state_by(store, change, None).await
}

/// As [`set_state`], appending an audit row for `origin` in the same transaction (the CLI, the
/// API).
pub async fn set_state_by(
    store: &Store,
    change: &StateChange,
    origin: Option<&Origin>,
) -> Result<Vec<AppliedChange>, StateError> {
    let records = check_state_change(store, change).await?;
    Ok(store.apply_state_changes_by(&records, origin).await?)
}

/// Validates a change exactly as [`set_state`] does and returns what it would record, writing
/// nothing (a dry run).
pub async fn check_state_change(
    store: &Store,
    change: &StateChange,
) -> Result<Vec<StateChangeRecord>, StateError> {
    let reason = change.reason.as_deref().map(str::trim).filter(|reason| !reason.is_empty());
    if reason.is_none() && change.state != ServiceState::Operational {
        return Err(StateError::ReasonRequired(change.state));
    }
    if let Some(reason) = reason {
        // Applicants read the reason in every message; the board and the API show it.
        check_plain_text(reason).map_err(StateError::Reason)?;
        check_length(reason, MAX_REASON).map_err(StateError::Reason)?;
    }
    let offices = store.office_directory().await?;
    let codes = resolve_target(&change.target, change.service, &offices)?;
    let mut records = Vec::with_capacity(codes.len());
    for code in codes {
        let zone = offices
            .office(&code)
            .map(|office| office.timezone)
            .ok_or_else(|| StateError::UnknownOffice(code.clone()))?;
        let expected_at = change
            .until
            .as_deref()
            .map(|until| parse_local_datetime(until, zone))
            .transpose()
            .map_err(StateError::Until)?;
        // Applicants would be told the service returns at a time that has passed.
        if let Some(expected) = expected_at.filter(|expected| *expected <= change.at) {
            return Err(StateError::UntilPast {
                office: code,
                until: format_short(expected, zone),
                now: format_short(change.at, zone),
            });
        }
        records.push(StateChangeRecord {
            office: code,
            service: change.service,
            state: change.state,
            reason: reason.map(str::to_owned),
            expected_at,
            actor: change.actor.clone(),
            at: change.at,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!("ALL".parse::<Target>().unwrap(), Target::All);
        assert_eq!(
            "region:Sumatera Selatan".parse::<Target>().unwrap(),
            Target::Region("Sumatera Selatan".into())
        );
        let Target::Offices(codes) = "plg,GTO".parse::<Target>().unwrap() else { panic!("not a list") };
        assert_eq!(codes.iter().map(OfficeCode::as_str).collect::<Vec<_>>(), ["PLG", "GTO"]);
        assert!("PLG,,GTO".parse::<Target>().is_err());
    }
}
