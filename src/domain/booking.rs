use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::{text_enum, Applicant, OfficeCode, ParseError};

/// An M-Paspor booking code: 4 to 40 letters, digits, dashes, slashes or underscores, stored
/// upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct BookingCode(String);

impl BookingCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BookingCode {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let code = input.trim().to_ascii_uppercase();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_');
        if !(4..=40).contains(&code.len()) || !code.chars().all(allowed) {
            return Err(ParseError::new(format!(
                "{:?} is not a booking code; use 4 to 40 letters, digits, '-', '/' or '_'",
                input.trim()
            )));
        }
        Ok(Self(code))
    }
}

impl fmt::Display for BookingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_enum!(
    /// What the applicant applied for; e-passports need their own issuing step.
    Product, "product" {
        Regular => "regular" | "biasa",
        Epassport => "epassport" | "e-passport" | "elektronik",
    }
);

text_enum!(
    /// Where an application stands: booked → attended (biometrics and interview done) → paid →
    /// printing → printed → ready → picked_up; or cancelled / no_show.
    Stage, "stage" {
        Booked => "booked",
        Attended => "attended",
        Paid => "paid",
        Printing => "printing",
        Printed => "printed",
        Ready => "ready",
        PickedUp => "picked_up" | "picked-up",
        Cancelled => "cancelled" | "canceled",
        NoShow => "no_show" | "no-show",
    }
);

impl Stage {
    /// Finished applications never receive a notice.
    pub fn is_closed(self) -> bool {
        matches!(self, Stage::PickedUp | Stage::Cancelled | Stage::NoShow)
    }
}

/// One M-Paspor booking (and the application that grows from it) with its applicant.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub code: BookingCode,
    pub office: OfficeCode,
    pub unit: Option<OfficeCode>,
    /// The person the passport is for, who may not be the holder of the phone (a parent booking for
    /// a child).
    pub holder_name: String,
    pub applicant: Applicant,
    /// Stored in UTC; shown in the office's zone.
    pub appointment_at: DateTime<Utc>,
    pub product: Product,
    pub express: bool,
    pub stage: Stage,
    pub applied_on: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_codes() {
        assert_eq!("abc-123".parse::<BookingCode>().unwrap().as_str(), "ABC-123");
        assert!("AB".parse::<BookingCode>().is_err());
        assert!("ABC 123".parse::<BookingCode>().is_err());
    }

    #[test]
    fn stages_and_products() {
        assert_eq!("Picked-Up".parse::<Stage>().unwrap(), Stage::PickedUp);
        assert!(Stage::NoShow.is_closed() && !Stage::Ready.is_closed());
        assert_eq!("E-Passport".parse::<Product>().unwrap(), Product::Epassport);
        let err = "diplomatic".parse::<Product>().unwrap_err().to_string();
        assert_eq!(err, "unknown product \"diplomatic\"; expected one of: regular, epassport");
    }
}
