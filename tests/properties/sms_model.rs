//! An independent model of GSM 03.38 / 3GPP TS 23.038 and 23.040 segmenting, written from the
//! standard's tables (not from kabar's): the basic alphabet by code point, the extension table
//! reached by the escape 0x1B, septet and UTF-16 encodings, and segments cut from the encoded
//! message the way a handset does (an escape or a high surrogate never ends a segment).

/// The basic alphabet, indexed by septet value; 0x1B is the escape (no character).
pub const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    '\u{0394}', '_', '\u{03A6}', '\u{0393}', '\u{039B}', '\u{03A9}', '\u{03A0}', '\u{03A8}', //
    '\u{03A3}', '\u{0398}', '\u{039E}', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: (septet after the escape, character).
pub const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

const ESCAPE: u8 = 0x1B;

/// The septets of `text`, or `None` when a character is in neither table.
pub fn gsm7_septets(text: &str) -> Option<Vec<u8>> {
    let mut septets = Vec::new();
    for c in text.chars() {
        if let Some(code) = BASIC.iter().position(|&b| b == c && c != '\u{1B}') {
            septets.push(code as u8);
        } else if let Some(&(code, _)) = EXTENSION.iter().find(|(_, e)| *e == c) {
            septets.extend([ESCAPE, code]);
        } else {
            return None;
        }
    }
    Some(septets)
}

/// How many segments a message of `units` needs, `single` fitting in one and `multi` per part,
/// where `splits_pair(units, i)` says the unit at `i` must not end a part.
fn cut<T: Copy>(units: &[T], single: usize, multi: usize, must_not_end: impl Fn(T) -> bool) -> usize {
    if units.len() <= single {
        return 1;
    }
    let mut parts = 0;
    let mut rest = units;
    while !rest.is_empty() {
        let mut take = rest.len().min(multi);
        if take < rest.len() && must_not_end(rest[take - 1]) {
            take -= 1;
        }
        rest = &rest[take..];
        parts += 1;
    }
    parts
}

/// (GSM-7?, units, segments) of `text` per the standard.
pub fn model(text: &str) -> (bool, usize, usize) {
    match gsm7_septets(text) {
        Some(septets) => {
            // An escape is never the last septet of a part: its character moves to the next.
            let segments = cut(&septets, 160, 153, |septet| septet == ESCAPE);
            // The escape septet only ever precedes an extension code, so a literal 0x1B in the
            // data cannot be mistaken for one (the basic table has no character there).
            (true, septets.len(), segments)
        }
        None => {
            let units: Vec<u16> = text.encode_utf16().collect();
            let segments = cut(&units, 70, 67, |unit| (0xD800..0xDC00).contains(&unit));
            (false, units.len(), segments)
        }
    }
}
