//! Mobile numbers: parsing what people type, and which countries' numbers an import accepts.

use std::fmt;
use std::str::FromStr;

use phonenumber::country;

use super::ParseError;

/// A mobile number in E.164 form (`+6281234567890`), validated against libphonenumber's metadata
/// with Indonesia as the default region. `Debug` and `Display` mask the middle digits so a number
/// can never reach a log line whole; [`Msisdn::e164`] gives the full number to the code that needs
/// it (the store, a provider request).
///
/// `FromStr` accepts a mobile number of any country (a reply from an applicant's foreign SIM must
/// still be recognised); what an import accepts is narrowed by a [`NumberPolicy`].
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

    /// Parses `input` and checks it against `policy`: the form an import uses.
    pub fn parse_with(input: &str, policy: &NumberPolicy) -> Result<Self, ParseError> {
        let (number, region) = parse_mobile(input)?;
        policy.check(input.trim(), &number, region)?;
        Ok(number)
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

/// What a written phone number may contain besides digits: the separators people type. A `+`
/// only at the start. Letters are refused outright: libphonenumber reads them as keypad letters,
/// so `0812-3456-789O` (a letter O) would become another person's number.
fn check_characters(text: &str) -> Result<(), ParseError> {
    for (at, c) in text.chars().enumerate() {
        let allowed = c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && at == 0);
        if allowed {
            continue;
        }
        let what = if c.is_alphabetic() {
            format!("the letter {c:?}")
        } else {
            format!("the character {c:?} (U+{:04X})", c as u32)
        };
        return Err(ParseError::new(format!(
            "{:?} contains {what} at position {}; a phone number has only digits, spaces, dashes \
             and a leading +: check for O typed for 0 or l for 1",
            mask_number(text),
            at + 1
        )));
    }
    Ok(())
}

/// Parses a mobile number of any country; `None` region when libphonenumber cannot tell.
fn parse_mobile(input: &str) -> Result<(Msisdn, Option<country::Id>), ParseError> {
    use phonenumber::{Mode, Type};
    let trimmed = input.trim();
    check_characters(trimmed)?;
    let invalid = || {
        ParseError::new(format!(
            "{:?} is not a valid mobile number; write it as 0812-3456-7890, 62812… or +62812…",
            mask_number(trimmed)
        ))
    };
    // libphonenumber itself refuses anything longer than 250 characters; the longest real number
    // is 17 digits, so a much shorter bound keeps its work small.
    if trimmed.len() > 40 {
        return Err(invalid());
    }
    if let Some(e164) = super::indonesian_mobile::recognise(trimmed) {
        return Ok((Msisdn(e164), Some(country::Id::ID)));
    }
    let number = phonenumber::parse(Some(country::Id::ID), trimmed).map_err(|_| invalid())?;
    if !number.is_valid() {
        return Err(invalid());
    }
    match number.number_type(&phonenumber::metadata::DATABASE) {
        Type::Mobile | Type::FixedLineOrMobile => {}
        _ => {
            return Err(ParseError::new(format!(
                "{:?} is a valid number but not a mobile one; messages need a mobile number: write the \
                 applicant's mobile (08…)",
                mask_number(trimmed)
            )))
        }
    }
    let region = number.country().id();
    Ok((Msisdn(number.format().mode(Mode::E164).to_string()), region))
}

impl FromStr for Msisdn {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        parse_mobile(input).map(|(number, _)| number)
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

/// The countries whose mobile numbers an import accepts (`[import] allowed_countries`, ISO 3166
/// codes). Indonesian mobiles (+62 8…) by default; Indonesians abroad do register with a foreign
/// SIM, so an operator may add their countries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct NumberPolicy {
    countries: Vec<country::Id>,
}

impl Default for NumberPolicy {
    fn default() -> Self {
        NumberPolicy { countries: vec![country::Id::ID] }
    }
}

impl NumberPolicy {
    /// The policy of these ISO 3166 codes (`"ID"`, `"MY"`, …).
    pub fn new<S: AsRef<str>>(codes: &[S]) -> Result<Self, ParseError> {
        let mut countries = Vec::with_capacity(codes.len());
        for code in codes {
            let code = code.as_ref().trim();
            let id = code.to_ascii_uppercase().parse::<country::Id>().map_err(|_| {
                ParseError::new(format!(
                    "{code:?} is not a country code kabar knows; use ISO 3166 codes such as ID, MY, SG"
                ))
            })?;
            if !countries.contains(&id) {
                countries.push(id);
            }
        }
        if countries.is_empty() {
            return Err(ParseError::new("lists no country; the default is [\"ID\"]"));
        }
        Ok(NumberPolicy { countries })
    }

    /// The codes, as configured.
    pub fn codes(&self) -> Vec<&str> {
        self.countries.iter().map(|id| id.as_ref()).collect()
    }

    fn check(&self, text: &str, number: &Msisdn, region: Option<country::Id>) -> Result<(), ParseError> {
        // Indonesian mobiles are +62 8…; libphonenumber's mobile ranges say so too, this only makes
        // the rule explicit.
        let allowed = region.is_some_and(|region| {
            self.countries.contains(&region)
                && (region != country::Id::ID || number.e164().starts_with("+628"))
        });
        if allowed {
            return Ok(());
        }
        let listed = self.codes().iter().map(|code| format!("{code:?}")).collect::<Vec<_>>().join(", ");
        let (from, add) = match region {
            Some(region) => (format!("a mobile number of {}", region.as_ref()), region.as_ref().to_owned()),
            None => ("a mobile number outside Indonesia".to_owned(), "its country".to_owned()),
        };
        Err(ParseError::new(format!(
            "{:?} is {from}; kabar accepts mobile numbers of {listed} only: to accept it, add {add:?} \
             to allowed_countries in the [import] section of the configuration",
            mask_number(text)
        )))
    }
}

impl TryFrom<Vec<String>> for NumberPolicy {
    type Error = ParseError;
    fn try_from(codes: Vec<String>) -> Result<Self, ParseError> {
        NumberPolicy::new(&codes)
    }
}

impl From<NumberPolicy> for Vec<String> {
    fn from(policy: NumberPolicy) -> Self {
        policy.codes().into_iter().map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`parse_mobile`] decided before the Indonesian fast path.
    fn reference(input: &str) -> Result<(String, Option<country::Id>), String> {
        use phonenumber::{Mode, Type};
        let trimmed = input.trim();
        check_characters(trimmed).map_err(|err| err.to_string())?;
        if trimmed.len() > 40 {
            return Err("invalid".into());
        }
        let number = phonenumber::parse(Some(country::Id::ID), trimmed).map_err(|_| "invalid")?;
        if !number.is_valid() {
            return Err("invalid".into());
        }
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            _ => return Err("not mobile".into()),
        }
        Ok((number.format().mode(Mode::E164).to_string(), number.country().id()))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn the_fast_paths_decide_as_libphonenumber_alone_did(
            prefix in proptest::sample::select(vec![
                "08", "08", "0 8", "(08", "+628", "+62 8", "+62-8", "628", "+62 08", "0", "00", "+62", "62",
                "+1", "+7", "+44", "+61", "+65", "+60", "+966", "",
            ]),
            digits in "[0-9]{3,13}",
            separators in proptest::collection::vec(
                proptest::sample::select(vec!["", "", "", "", " ", "-", ".", "(", ")", "  "]), 13),
        ) {
            let mut input = String::from(prefix);
            for (digit, separator) in digits.chars().zip(separators.iter().chain(std::iter::repeat(&""))) {
                input.push(digit);
                input.push_str(separator);
            }
            let ours = parse_mobile(&input).map(|(number, region)| (number.e164().to_owned(), region));
            match (&ours, reference(&input)) {
                (Ok(ours), Ok(expected)) => proptest::prop_assert_eq!(ours, &expected, "{}", input),
                // libphonenumber's general parser trips over some dashes after a `+` (it refuses
                // `+62812345678-9` outright): the number must be one it accepts written plainly.
                (Ok(ours), Err(_)) => {
                    let plain = reference(&ours.0);
                    proptest::prop_assert_eq!(Ok(ours), plain.as_ref(), "{}", input);
                }
                (Err(ours), Ok(expected)) => proptest::prop_assert!(false, "{input}: {ours} but {expected:?}"),
                (Err(ours), Err(expected)) => {
                    let kind = |text: &str| text.contains("not a mobile") || text == "not mobile";
                    proptest::prop_assert_eq!(kind(&ours.to_string()), kind(&expected), "{}", input);
                }
            }
        }
    }

    #[test]
    fn indonesian_mobile_numbers_in_every_common_spelling() {
        for spelling in ["0812-3456-7890", "0812 3456 7890", "6281234567890", "+62 812 3456 7890"] {
            let number: Msisdn = spelling.parse().unwrap_or_else(|e| panic!("{spelling}: {e}"));
            assert_eq!(number.e164(), "+6281234567890", "{spelling}");
            let checked = Msisdn::parse_with(spelling, &NumberPolicy::default()).unwrap();
            assert_eq!(checked, number);
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
    fn a_letter_is_never_read_as_a_keypad_digit() {
        let err = "0812-3456-789O".parse::<Msisdn>().unwrap_err().to_string();
        assert_eq!(
            err,
            "\"0812-3****789O\" contains the letter 'O' at position 14; a phone number has only digits, \
             spaces, dashes and a leading +: check for O typed for 0 or l for 1"
        );
        assert!("+62 812 3456 7890 ext 1".parse::<Msisdn>().is_err());
        assert!("0812+34567890".parse::<Msisdn>().is_err());
    }

    #[test]
    fn foreign_mobiles_need_their_country_in_the_policy() {
        let malaysian = "+60 12-345 6789";
        assert_eq!(malaysian.parse::<Msisdn>().unwrap().e164(), "+60123456789");
        let err = Msisdn::parse_with(malaysian, &NumberPolicy::default()).unwrap_err().to_string();
        assert!(err.contains("is a mobile number of MY"), "{err}");
        assert!(err.contains("add \"MY\" to allowed_countries in the [import] section"), "{err}");
        let policy = NumberPolicy::new(&["id", "MY"]).unwrap();
        assert_eq!(Msisdn::parse_with(malaysian, &policy).unwrap().e164(), "+60123456789");
        assert!(Msisdn::parse_with("+1 415 555 2671", &policy).is_err());
        assert!(NumberPolicy::new(&["XX"]).is_err());
        assert!(NumberPolicy::new::<&str>(&[]).is_err());
    }

    #[test]
    fn numbers_are_masked_in_display_and_debug() {
        assert_eq!(mask_number("021-5551234"), "021****1234");
        assert_eq!(mask_number("12345678"), "********");
        let number: Msisdn = "081234567890".parse().unwrap();
        assert_eq!(number.to_string(), "+62812****7890");
        assert_eq!(format!("{number:?}"), "Msisdn(+62812****7890)");
    }
}
