//! Who a broadcast is for, as staff give it: read by the broadcast services (which resolve its
//! offices and turn it into SQL per office) and by the notices (which name its one service).

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

use super::rules;
use crate::domain::{Office, Product, Service, ServiceState, Stage};
use crate::state::Target;
use crate::store::{BookingFilter, OfficeDirectory};

/// A filter that names no office kabar knows, or whose conditions contradict each other.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("unknown office {0}; see `kabar state show` for the office codes")]
    UnknownOffice(String),
    #[error("no office is in region {0:?}")]
    EmptyRegion(String),
    /// `field` names the filter's field at fault.
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
}

/// Who a broadcast is for, as staff give it. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BroadcastFilter {
    /// `all`, `region:NAME`, or office codes (`TNG,CGK`).
    pub offices: String,
    /// Applicants a disruption of one of these services would concern.
    pub services: Vec<Service>,
    /// Empty: every open stage.
    pub stages: Vec<Stage>,
    pub products: Vec<Product>,
    pub express: Option<bool>,
    /// Appointment days, inclusive, in each office's own time zone.
    pub appointment_from: Option<NaiveDate>,
    pub appointment_to: Option<NaiveDate>,
    /// Application days, inclusive.
    pub applied_from: Option<NaiveDate>,
    pub applied_to: Option<NaiveDate>,
}

impl BroadcastFilter {
    /// Checks what the types cannot: ranges run forwards, the content fits the filter.
    pub fn validate(&self) -> Result<(), FilterError> {
        let backwards = |from: Option<NaiveDate>, to: Option<NaiveDate>| matches!((from, to), (Some(f), Some(t)) if f > t);
        if backwards(self.appointment_from, self.appointment_to) {
            return Err(FilterError::Invalid {
                field: "appointment_from",
                message: "--appointment-from is after --appointment-to".into(),
            });
        }
        if backwards(self.applied_from, self.applied_to) {
            return Err(FilterError::Invalid {
                field: "applied_from",
                message: "--applied-from is after --applied-to".into(),
            });
        }
        Ok(())
    }

    /// The offices the filter names, in code order.
    pub fn offices<'a>(&self, directory: &'a OfficeDirectory) -> Result<Vec<&'a Office>, FilterError> {
        let target: Target =
            self.offices.parse().map_err(|err: crate::domain::ParseError| FilterError::Invalid {
                field: "offices",
                message: format!("--offices: {err}; write all, region:NAME or codes like TNG,CGK"),
            })?;
        match target {
            Target::All => Ok(directory.offices().collect()),
            Target::Region(region) => {
                let offices: Vec<&Office> = directory
                    .offices()
                    .filter(|office| office.region.eq_ignore_ascii_case(&region))
                    .collect();
                if offices.is_empty() {
                    return Err(FilterError::EmptyRegion(region));
                }
                Ok(offices)
            }
            Target::Offices(codes) => codes
                .iter()
                .map(|code| {
                    directory.office(code).ok_or_else(|| FilterError::UnknownOffice(code.to_string()))
                })
                .collect(),
        }
    }

    /// The filter at one office, with appointment days turned into instants in its zone.
    pub(crate) fn at_office(&self, office: &Office) -> BookingFilter {
        let midnight = |day: NaiveDate| {
            office
                .timezone
                .0
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .earliest()
                .map(|instant| instant.with_timezone(&Utc))
        };
        let from = self.appointment_from.and_then(midnight);
        let to = self.appointment_to.and_then(|day| day.succ_opt()).and_then(midnight);
        let appointments = match (from, to) {
            (None, None) => None,
            (from, to) => {
                Some((from.unwrap_or(DateTime::<Utc>::MIN_UTC), to.unwrap_or(DateTime::<Utc>::MAX_UTC)))
            }
        };
        BookingFilter {
            stages: self.stages.clone(),
            products: self.products.clone(),
            express: self.express,
            services: self
                .services
                .iter()
                .map(|service| rules(*service, ServiceState::Unavailable))
                .collect(),
            appointments,
            applied_from: self.applied_from,
            applied_to: self.applied_to,
        }
    }
}
