//! The SMS encoder and segment counter against the model in `sms_model.rs`.

use kabar::render::sms::{first_non_gsm, normalise, segment};
use kabar::render::Encoding;
use proptest::prelude::*;

use crate::sms_model::{self, BASIC, EXTENSION};

/// Characters of every kind a message may hold: the basic alphabet, the extension table,
/// typographic punctuation that `normalise` replaces, other BMP letters, and astral ones.
fn sms_char() -> impl Strategy<Value = char> {
    let basic: Vec<char> = BASIC.iter().copied().filter(|&c| c != '\u{1B}').collect();
    let extension: Vec<char> = EXTENSION.iter().map(|&(_, c)| c).collect();
    prop_oneof![
        8 => proptest::sample::select(basic),
        2 => proptest::sample::select(extension),
        1 => proptest::sample::select(vec!['\u{2019}', '\u{201C}', '\u{2013}', '\u{00A0}', '\u{2026}', '\u{200B}']),
        1 => proptest::sample::select(vec!['ş', 'ğ', 'ç', 'á', '中', 'Δ', '\u{2206}', 'ı']),
        1 => proptest::sample::select(vec!['😀', '🇮', '𝄞']),
        1 => any::<char>(),
    ]
}

/// Texts around the segment boundaries (150 to 320 septets) as often as short ones.
fn sms_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(sms_char(), 0..80),
        proptest::collection::vec(sms_char(), 60..80),
        proptest::collection::vec(sms_char(), 130..170),
        proptest::collection::vec(sms_char(), 150..330),
        proptest::collection::vec(proptest::sample::select(vec!['a', '€', '{']), 150..320),
        proptest::collection::vec(proptest::sample::select(vec!['a', 'ş', '😀']), 60..210),
    ]
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(crate::cases(384))]

    #[test]
    fn segments_match_the_standard(text in sms_text()) {
        let counted = segment(&text);
        let (gsm7, units, segments) = sms_model::model(&text);
        prop_assert_eq!(counted.encoding == Encoding::Gsm7, gsm7, "encoding of {:?}", text);
        prop_assert_eq!(counted.units, units, "units of {:?}", text);
        prop_assert_eq!(counted.segments, segments, "segments of {:?}", text);
        prop_assert_eq!(counted.characters, text.chars().count());
        prop_assert_eq!(first_non_gsm(&text).is_none(), gsm7);
    }

    #[test]
    fn normalising_keeps_gsm_text_and_is_idempotent(text in sms_text()) {
        let once = normalise(&text).into_owned();
        prop_assert_eq!(normalise(&once).into_owned(), once.clone());
        if sms_model::gsm7_septets(&text).is_some() {
            prop_assert_eq!(&once, &text, "GSM text is sent as written");
        }
        // Replacing typographic punctuation never turns GSM-encodable text into UCS-2.
        let without_typography: String = text.chars().filter(|c| !"\u{2019}\u{201C}\u{2013}\u{00A0}\u{2026}\u{200B}".contains(*c)).collect();
        if sms_model::gsm7_septets(&without_typography).is_some() {
            prop_assert!(sms_model::gsm7_septets(&once).is_some(), "{:?} -> {:?}", text, once);
        }
    }
}
