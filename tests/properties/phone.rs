//! The phone number parser and the number policy.

use kabar::domain::{mask_number, Msisdn, NumberPolicy};
use proptest::prelude::*;

/// Operator prefixes of Indonesian mobiles (Telkomsel, Indosat, XL, Axis, Smartfren, Tri) that
/// take eight more digits.
const PREFIXES: &[&str] = &[
    "811", "812", "813", "821", "822", "852", "853", "814", "815", "816", "855", "856", "857", "858", "817",
    "818", "819", "859", "877", "878", "831", "832", "833", "838", "895", "896", "897", "898", "899", "881",
    "882", "883", "884", "885", "886", "887", "888",
];

/// An Indonesian mobile number (E.164) and one of the ways people write it.
pub fn indonesian_mobile() -> impl Strategy<Value = (String, String)> {
    (proptest::sample::select(PREFIXES), "[0-9]{8}", 0..6usize).prop_map(|(prefix, rest, style)| {
        let e164 = format!("+62{prefix}{rest}");
        let national = format!("0{prefix}{rest}");
        let written = match style {
            0 => national,
            1 => format!("0{prefix}-{}-{}", &rest[..4], &rest[4..]),
            2 => format!("+62 {prefix} {} {}", &rest[..4], &rest[4..]),
            3 => format!("62{prefix}{rest}"),
            4 => format!("(0{prefix}) {}.{}", &rest[..4], &rest[4..]),
            _ => format!("  0{prefix} {rest} "),
        };
        (e164, written)
    })
}

proptest! {
    #![proptest_config(crate::cases(128))]

    #[test]
    fn every_spelling_of_an_indonesian_mobile_is_the_same_number((e164, written) in indonesian_mobile()) {
        let parsed: Msisdn = written.parse().map_err(|e| TestCaseError::fail(format!("{written}: {e}")))?;
        prop_assert_eq!(parsed.e164(), e164.as_str());
        let checked = Msisdn::parse_with(&written, &NumberPolicy::default()).unwrap();
        prop_assert_eq!(&checked, &parsed);
        // The full number never shows in Display or Debug; the last four digits do.
        let shown = format!("{parsed} {parsed:?}");
        prop_assert!(!shown.contains(&e164[3..]), "{}", shown);
        prop_assert!(shown.contains(&e164[e164.len() - 4..]));
    }

    #[test]
    fn any_text_parses_to_a_canonical_number_or_an_error(text in "\\PC{0,40}|[0-9+ ()-]{0,24}") {
        if let Ok(number) = text.parse::<Msisdn>() {
            let e164 = number.e164();
            prop_assert!(e164.starts_with('+') && e164[1..].chars().all(|c| c.is_ascii_digit()), "{}", e164);
            prop_assert!((8..=16).contains(&e164.len()), "{}", e164);
            prop_assert_eq!(e164.parse::<Msisdn>().unwrap(), number.clone(), "E.164 parses to itself");
            prop_assert!(!text.chars().any(char::is_alphabetic), "{:?} has a letter", text);
        }
    }

    #[test]
    fn a_letter_anywhere_is_refused((_, written) in indonesian_mobile(), at in 0..12usize, letter in "[a-zA-Z]") {
        let mut chars: Vec<char> = written.chars().collect();
        let at = at.min(chars.len() - 1);
        chars[at] = letter.chars().next().unwrap();
        let text: String = chars.into_iter().collect();
        let err = text.parse::<Msisdn>().unwrap_err().to_string();
        prop_assert!(err.contains("contains the letter"), "{}: {}", text, err);
        // Errors mask the number too.
        prop_assert!(err.starts_with(&format!("{:?}", mask_number(text.trim()))), "{}", err);
    }

    #[test]
    fn foreign_mobiles_need_their_country((e164, _) in indonesian_mobile(), code in proptest::sample::select(vec!["MY", "SG", "AU", "NL"])) {
        let foreign = match code {
            "MY" => "+60123456789",
            "SG" => "+6581234567",
            "AU" => "+61412345678",
            _ => "+31612345678",
        };
        let err = Msisdn::parse_with(foreign, &NumberPolicy::default()).unwrap_err().to_string();
        prop_assert!(err.contains(&format!("add \"{code}\" to allowed_countries")), "{}", err);
        let policy = NumberPolicy::new(&["ID", code]).unwrap();
        let accepted = Msisdn::parse_with(foreign, &policy).unwrap();
        prop_assert_eq!(accepted.e164(), foreign);
        let home = Msisdn::parse_with(&e164, &policy).unwrap();
        prop_assert_eq!(home.e164(), e164.as_str());
    }
}
