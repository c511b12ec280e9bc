use std::str::FromStr;

use super::{text_enum, Msisdn, ParseError};

/// An email address, checked with the `email_address` crate (RFC 5322 syntax).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `b***@example.com`: the first character and the domain, for logs and the audit log.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl FromStr for Email {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let trimmed = input.trim();
        email_address::EmailAddress::from_str(trimmed)
            .map(|address| Self(address.as_str().to_owned()))
            .map_err(|err| {
                ParseError::new(format!(
                    "{trimmed:?} is not an email address ({err}); write it as name@example.com, or leave \
                     the cell empty"
                ))
            })
    }
}

text_enum!(
    /// The language an applicant reads their messages in; Bahasa Indonesia unless they chose English.
    Language, "language" {
        Id => "id" | "ind" | "indonesia" | "bahasa indonesia",
        En => "en" | "eng" | "english" | "inggris",
    }
);

text_enum!(
    /// A way to reach an applicant.
    Channel, "channel" {
        Whatsapp => "whatsapp" | "wa",
        Sms => "sms",
        Email => "email" | "e-mail",
    }
);

/// The person behind a phone number. M-Paspor bookings are matched to applicants by mobile number,
/// so a parent who booked for the whole family is one applicant with several bookings.
#[derive(Debug, Clone, PartialEq)]
pub struct Applicant {
    pub name: String,
    pub mobile: Msisdn,
    pub email: Option<Email>,
    /// `None` means the mobile number is also the WhatsApp number.
    pub whatsapp: Option<Msisdn>,
    /// `None` when the source did not say; stored as Indonesian for a new applicant.
    pub language: Option<Language>,
}

impl Applicant {
    pub fn whatsapp_number(&self) -> &Msisdn {
        self.whatsapp.as_ref().unwrap_or(&self.mobile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_and_language() {
        assert!("budi@example.co.id".parse::<Email>().is_ok());
        assert!("budi@".parse::<Email>().is_err());
        let email: Email = "budi.santoso@example.co.id".parse().unwrap();
        assert_eq!(email.masked(), "b***@example.co.id");
        assert_eq!("EN".parse::<Language>().unwrap(), Language::En);
        assert!("fr".parse::<Language>().is_err());
    }
}
