//! The types of the domain, parsed at the edge.
//!
//! Every value that enters kabar (from a CSV file, the command line, a webhook) is parsed into one
//! of these types once; inside the crate nothing is re-validated. Each parser returns a
//! [`ParseError`] whose message says what was wrong and what is accepted, so the importer can prefix
//! it with the line and column.

mod applicant;
mod booking;
mod indonesian_mobile;
mod office;
mod phone;
mod service;
mod text;
mod time;

pub use applicant::{Applicant, Channel, Email, Language};
pub use booking::{Booking, BookingCode, Product, Stage};
pub use office::{parse_office_class, Contact, Office, OfficeClass, OfficeCode, TimeZone, Unit};
pub use phone::{mask_number, Msisdn, NumberPolicy};
pub use service::{Service, ServiceState};
pub use text::{check_length, check_plain_text, forbidden_char};
pub use time::{
    check_year, format_short, parse_date, parse_flag, parse_local_datetime, TypedTime, DEFAULT_ZONE, YEARS,
};

/// Why a value could not be parsed. The message is complete on its own ("not a valid mobile
/// number: …"); callers add where the value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Implements `FromStr`, `Display`, `as_str` and the list of accepted spellings for a closed set of
/// identifiers stored as lower-case text (services, states, stages, …).
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in catalogue order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The identifier as stored in the database and written in CSV files.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::ParseError;
            fn from_str(input: &str) -> Result<Self, Self::Err> {
                let lowered = input.trim().to_ascii_lowercase();
                match lowered.as_str() {
                    $($text $(| $alias)* => Ok($name::$variant),)+
                    _ => Err($crate::domain::ParseError::new(format!(
                        concat!("unknown ", $what, " {:?}; expected one of: {}"),
                        input.trim(),
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;
