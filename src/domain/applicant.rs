use std::fmt;
use std::str::FromStr;

use super::{text_enum, ParseError};

/// A mobile number in E.164 form (`+6281234567890`), validated against libphonenumber's metadata
/// with Indonesia as the default region. `Debug` and `Display` mask the middle digits so a number
/// can never reach a log line whole; [`Msisdn::e164`] gives the full number to the code that needs
/// it (the store, a provider request).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(String);

impl Msisdn {
    /// The full number, `+` and digits.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// Wraps a number the store already validated on its way in.
    pub(crate) fn from_trusted(e164: String) -> Self {
        Self(e164)
    }

    /// `+62812****7890`: country and operator prefix, then the last four digits.
    pub fn masked(&self) -> String {
        mask_number(&self.0)
    }
}

/// Masks the middle of any phone-like string: at most the first six and the last four characters
/// stay, and at least four are always hidden, so even a short number is never readable whole.
pub fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head = (chars.len() - 8).min(6);
    let tail = chars.len() - 4;
    let shown: String = chars[..head].iter().collect();
    let last: String = chars[tail..].iter().collect();
    format!("{shown}{}{last}", "*".repeat(tail - head))
}

impl FromStr for Msisdn {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        use phonenumber::{country, Mode, Type};
        let trimmed = input.trim();
        let invalid = || {
            ParseError::new(format!(
                "{:?} is not a valid Indonesian mobile number; write it as 0812-3456-7890, \
                 62812… or +62812…",
                mask_number(trimmed)
            ))
        };
        let number = phonenumber::parse(Some(country::Id::ID), trimmed).map_err(|_| invalid())?;
        if !number.is_valid() {
            return Err(invalid());
        }
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            _ => {
                return Err(ParseError::new(format!(
                    "{:?} is a valid number but not a mobile one; messages need a mobile number",
                    mask_number(trimmed)
                )))
            }
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msisdn({})", self.masked())
    }
}

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
            .map_err(|err| ParseError::new(format!("{trimmed:?} is not an email address ({err})")))
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
    fn indonesian_mobile_numbers_in_every_common_spelling() {
        for spelling in ["0812-3456-7890", "0812 3456 7890", "6281234567890", "+62 812 3456 7890"] {
            let number: Msisdn = spelling.parse().unwrap_or_else(|e| panic!("{spelling}: {e}"));
            assert_eq!(number.e164(), "+6281234567890", "{spelling}");
        }
    }

    #[test]
    fn landlines_and_garbage_are_refused() {
        let err = "021-5551234".parse::<Msisdn>().unwrap_err().to_string();
        assert!(err.contains("not a mobile"), "{err}");
        assert!("12345".parse::<Msisdn>().is_err());
        assert!("call me".parse::<Msisdn>().is_err());
    }

    #[test]
    fn numbers_are_masked_in_display_and_debug() {
        assert_eq!(mask_number("021-5551234"), "021****1234");
        assert_eq!(mask_number("12345678"), "********");
        let number: Msisdn = "081234567890".parse().unwrap();
        assert_eq!(number.to_string(), "+62812****7890");
        assert_eq!(format!("{number:?}"), "Msisdn(+62812****7890)");
    }

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
