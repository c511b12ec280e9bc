//! Indonesian mobile numbers, correct by construction.
//!
//! A number is `+62`, an operator prefix `8xx` and 8 or 9 digits: national significant numbers of
//! 11 or 12 digits, which libphonenumber's Indonesian mobile pattern (`8[1-35-9]\d{7,10}`) accepts
//! for every prefix below. The unit test checks every prefix at both lengths and both extremes, so
//! the generator never has to run the parser per number.

use rand::Rng;

/// An operator and the prefixes its numbers start with (after the trunk `0`).
pub(crate) struct Operator {
    /// Market share in per mille, roughly as of 2024.
    pub share: u32,
    pub prefixes: &'static [&'static str],
}

pub(crate) const OPERATORS: &[Operator] = &[
    // Telkomsel
    Operator { share: 450, prefixes: &["811", "812", "813", "821", "822", "823", "852", "853"] },
    // Indosat
    Operator { share: 180, prefixes: &["814", "815", "816", "855", "856", "857", "858"] },
    // XL
    Operator { share: 150, prefixes: &["817", "818", "819", "859", "877", "878"] },
    // Axis holds 0831-0833 and 0838; 0834-0837 are not allocated.
    Operator { share: 50, prefixes: &["831", "832", "833", "838"] },
    // Tri
    Operator { share: 110, prefixes: &["895", "896", "897", "898", "899"] },
    // Smartfren
    Operator { share: 60, prefixes: &["881", "882", "883", "884", "885", "886", "887", "888", "889"] },
];

/// Subscriber cores are 8 digits; numbers made from distinct cores are distinct.
pub(crate) const CORES: u32 = 100_000_000;

/// Appends `+62`, a weighted operator prefix, the 8-digit `core` and, for some numbers, a ninth
/// digit.
pub(crate) fn mobile(rng: &mut impl Rng, core: u32, out: &mut String) {
    debug_assert!(core < CORES);
    let mut ticket = rng.gen_range(0..1000u32);
    let operator = OPERATORS
        .iter()
        .find(|operator| {
            if ticket < operator.share {
                true
            } else {
                ticket -= operator.share;
                false
            }
        })
        .unwrap_or(&OPERATORS[0]);
    out.push_str("+62");
    out.push_str(operator.prefixes[rng.gen_range(0..operator.prefixes.len())]);
    push_digits(out, core, 8);
    if rng.gen_ratio(15, 100) {
        push_digits(out, rng.gen_range(0..10), 1);
    }
}

/// Appends `value` as exactly `width` decimal digits, zero-padded.
pub(crate) fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        out.push(char::from(b'0' + ((value / divisor) % 10) as u8));
        divisor /= 10;
    }
}

/// Appends an E.164 Indonesian number (`+628…`) in one of the spellings people type, chosen by
/// `style`: `0812-3456-7890`, `081234567890`, `+62 812-3456-7890`, `6281234567890`,
/// `+6281234567890`, `0812 3456 7890`, `+62 812 3456 7890`.
pub(crate) fn spell(e164: &str, style: usize, out: &mut String) {
    let digits = &e164[3..]; // after "+62": 8xx…
    let (head, rest) = digits.split_at(3);
    let (middle, tail) = rest.split_at(4);
    let grouped = |out: &mut String, lead: &str, sep: char| {
        out.push_str(lead);
        out.push_str(head);
        out.push(sep);
        out.push_str(middle);
        out.push(sep);
        out.push_str(tail);
    };
    match style % 7 {
        0 => grouped(out, "0", '-'),
        1 => {
            out.push('0');
            out.push_str(digits);
        }
        2 => grouped(out, "+62 ", '-'),
        3 => {
            out.push_str("62");
            out.push_str(digits);
        }
        4 => out.push_str(e164),
        5 => grouped(out, "0", ' '),
        _ => grouped(out, "+62 ", ' '),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Msisdn;

    #[test]
    fn every_prefix_at_every_length_is_a_valid_mobile_number() {
        assert_eq!(OPERATORS.iter().map(|o| o.share).sum::<u32>(), 1000);
        for operator in OPERATORS {
            for prefix in operator.prefixes {
                for subscriber in ["00000000", "99999999", "000000000", "999999999", "31415926"] {
                    let number = format!("+62{prefix}{subscriber}");
                    let parsed: Msisdn = number.parse().unwrap_or_else(|e| panic!("{number}: {e}"));
                    assert_eq!(parsed.e164(), number);
                }
            }
        }
    }

    #[test]
    fn every_spelling_parses_back_to_the_same_number() {
        for number in ["+6281234567890", "+62895123456789"] {
            for style in 0..7 {
                let mut spelled = String::new();
                spell(number, style, &mut spelled);
                let parsed: Msisdn = spelled.parse().unwrap();
                assert_eq!(parsed.e164(), number, "{spelled}");
            }
        }
        let mut spelled = String::new();
        spell("+6281234567890", 0, &mut spelled);
        assert_eq!(spelled, "0812-3456-7890");
    }

    #[test]
    fn digits_are_zero_padded() {
        let mut out = String::new();
        push_digits(&mut out, 42, 8);
        assert_eq!(out, "00000042");
    }
}
