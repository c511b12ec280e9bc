//! SMS encoding and segment counting (3GPP TS 23.038 and 23.040).
//!
//! Hand-written on purpose: the crates that exist (`gsm7`, `gsm7-alt`) pack or map septets but do
//! not segment, and the segmenting rule is the part that costs money. The tables are small and the
//! rules are pinned by the tests below.
//!
//! - A text made only of the GSM 03.38 default alphabet and its extension table is sent as GSM-7:
//!   one septet per character, two for an extension character (escape + code). One segment holds
//!   160 septets; a concatenated message holds 153 per segment (the header takes the rest).
//! - Anything else forces UCS-2 for the whole message: counted in UTF-16 code units, so a character
//!   outside the BMP (an emoji) costs two. 70 units in one segment, 67 per concatenated segment.
//! - An escape pair or a surrogate pair is never split across two segments: a character that does
//!   not fit whole in the current segment starts the next one.
//!
//! Typographic punctuation that word processors and phones insert (curly quotes, dashes,
//! non-breaking spaces, the ellipsis) is replaced by its GSM equivalent by [`normalise`] before
//! counting, and the normalised text is what is sent: one curly quote would otherwise turn a
//! 2-segment message into a 4-segment UCS-2 one.

use std::borrow::Cow;

/// The GSM 03.38 default alphabet, in code order (0x1B, the escape, is left out: it is never a
/// character of the text).
const DEFAULT_ALPHABET: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: each costs an escape septet plus its own.
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets in one GSM-7 segment, alone or concatenated; UTF-16 units for UCS-2.
const GSM7_SINGLE: usize = 160;
const GSM7_MULTI: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_MULTI: usize = 67;

/// How an SMS is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

/// The one form kabar prints an SMS's cost in: `GSM-7, 2 segments`, `UCS-2, 1 segment`.
pub fn segment_cost(encoding: Encoding, segments: usize) -> String {
    let unit = if segments == 1 { "segment" } else { "segments" };
    format!("{encoding}, {segments} {unit}")
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        })
    }
}

/// The cost of one SMS text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Segmentation {
    pub encoding: Encoding,
    /// Segments the operator bills.
    pub segments: usize,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text.
    pub units: usize,
    /// Characters (Unicode scalar values), as a person counts them.
    pub characters: usize,
}

/// Replaces typographic punctuation by its GSM equivalent. Borrowed when nothing changes.
pub fn normalise(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| replacement(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match replacement(c) {
            Some(with) => out.push_str(with),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn replacement(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '«' | '»' => "\"",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}' => "-",
        '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{2026}' => "...",
        '\u{2022}' => "-",
        // Invisible characters that would only force UCS-2.
        '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => "",
        _ => return None,
    })
}

/// Septets a character costs in GSM-7, or `None` when it is not in the alphabet.
fn septets(c: char) -> Option<usize> {
    if DEFAULT_ALPHABET.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The first character of `text` that forces UCS-2, if any (for messages that say why).
pub fn first_non_gsm(text: &str) -> Option<char> {
    text.chars().find(|&c| septets(c).is_none())
}

/// Counts the encoding and segments of `text` as it will be sent (call [`normalise`] first).
pub fn segment(text: &str) -> Segmentation {
    let characters = text.chars().count();
    let (encoding, costs, single, multi): (_, Vec<usize>, _, _) =
        match text.chars().map(septets).collect::<Option<Vec<_>>>() {
            Some(costs) => (Encoding::Gsm7, costs, GSM7_SINGLE, GSM7_MULTI),
            None => (Encoding::Ucs2, text.chars().map(char::len_utf16).collect(), UCS2_SINGLE, UCS2_MULTI),
        };
    let units = costs.iter().sum();
    let segments = if units == 0 {
        // An empty text is still one (empty) message on the air.
        1
    } else if units <= single {
        1
    } else {
        let mut segments = 1;
        let mut used = 0;
        for cost in costs {
            if used + cost > multi {
                segments += 1;
                used = 0;
            }
            used += cost;
        }
        segments
    };
    Segmentation { encoding, segments, units, characters }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gsm(n: usize) -> String {
        "a".repeat(n)
    }

    #[test]
    fn the_alphabet_tables_have_the_sizes_of_the_standard() {
        assert_eq!(DEFAULT_ALPHABET.chars().count(), 127);
        assert_eq!(EXTENSION.chars().count(), 10);
    }

    #[test]
    fn pure_gsm_fits_160_in_one_and_153_per_part() {
        let one = segment("Kanim Palembang: jadwal Anda tetap. Datang sesuai jadwal @ loket 3.");
        assert_eq!((one.encoding, one.segments), (Encoding::Gsm7, 1));
        assert_eq!(segment_cost(one.encoding, one.segments), "GSM-7, 1 segment");
        assert_eq!(segment_cost(Encoding::Ucs2, 3), "UCS-2, 3 segments");
        assert_eq!(segment(&gsm(160)).segments, 1);
        assert_eq!(segment(&gsm(161)).segments, 2);
        assert_eq!(segment(&gsm(306)).segments, 2);
        assert_eq!(segment(&gsm(307)).segments, 3);
        assert_eq!(segment(&gsm(307)).units, 307);
    }

    #[test]
    fn extension_characters_cost_two_septets() {
        let s = segment("Biaya €5 {lunas}");
        assert_eq!(s.encoding, Encoding::Gsm7);
        assert_eq!(s.units, 19);
        assert_eq!(s.characters, 16);
        // 159 plain + one euro = 161 septets: two segments although it is 160 characters.
        let text = format!("{}€", gsm(159));
        assert_eq!(text.chars().count(), 160);
        assert_eq!(segment(&text).segments, 2);
    }

    #[test]
    fn an_escape_pair_is_never_split_at_a_segment_boundary() {
        // 152 + 2 + 152 = 306 septets: two segments if the pair could be split, but the euro
        // does not fit in the first segment's last septet, so it opens the second one, which
        // then overflows into a third.
        let text = format!("{}€{}", gsm(152), gsm(152));
        let s = segment(&text);
        assert_eq!(s.units, 306);
        assert_eq!(s.segments, 3);
        // With one septet less the second segment holds exactly 153.
        assert_eq!(segment(&format!("{}€{}", gsm(152), gsm(151))).segments, 2);
    }

    #[test]
    fn one_character_outside_gsm_forces_ucs2() {
        let s = segment("Kantor Imigrasi — jadwal Anda");
        // The em dash is not GSM; without normalising it the whole text becomes UCS-2.
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!(first_non_gsm("Kantor Imigrasi — jadwal"), Some('—'));
        assert_eq!(segment(&format!("{}ş", gsm(69))).segments, 1);
        assert_eq!(segment(&format!("{}ş", gsm(70))).segments, 2);
    }

    #[test]
    fn ucs2_fits_70_in_one_and_67_per_part() {
        let seventy = format!("{}ğ", gsm(69));
        assert_eq!(segment(&seventy).units, 70);
        assert_eq!(segment(&seventy).segments, 1);
        let seventy_one = format!("{}ğ", gsm(70));
        assert_eq!(segment(&seventy_one).segments, 2);
        assert_eq!(segment(&format!("{}ğ", gsm(133))).segments, 2);
        assert_eq!(segment(&format!("{}ğ", gsm(134))).segments, 3);
    }

    #[test]
    fn emoji_cost_two_units_and_are_never_split() {
        let s = segment("Paspor siap 😀");
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!((s.units, s.characters), (14, 13));
        // 66 + 2 + 66 = 134 = 2 x 67, but the surrogate pair cannot straddle the boundary.
        let text = format!("{}😀{}", gsm(66), gsm(66));
        assert_eq!(segment(&text).segments, 3);
        assert_eq!(segment(&format!("{}😀{}", gsm(65), gsm(66))).segments, 2);
    }

    #[test]
    fn typographic_punctuation_becomes_gsm() {
        let text = "Kanim \u{201C}Soekarno\u{2013}Hatta\u{201D}\u{00A0}\u{2019}24\u{2026}";
        let plain = normalise(text);
        assert_eq!(plain, "Kanim \"Soekarno-Hatta\" '24...");
        assert_eq!(segment(&plain).encoding, Encoding::Gsm7);
        assert!(matches!(normalise("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn empty_text_is_one_segment() {
        assert_eq!(segment("").segments, 1);
    }
}
