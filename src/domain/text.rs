//! Free text from outside (names, addresses, reasons): what kabar refuses in it.

use super::ParseError;

/// Characters no name, address or code ever needs, which only a damaged export, a copy from a
/// binary file or a deliberate trick puts there: control characters (NUL, line breaks, tabs,
/// escape, the C1 range), line and paragraph separators, byte-order marks, and the
/// bidirectional overrides that make a text display in another order than it is stored. PostgreSQL
/// refuses a NUL outright; the others break an SMS, a WhatsApp parameter or a log line.
pub fn forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}')
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks `text` has no [`forbidden_char`]; the error names the first and where it is.
pub fn check_plain_text(text: &str) -> Result<(), ParseError> {
    let Some((at, c)) = text.chars().enumerate().find(|(_, c)| forbidden_char(*c)) else {
        return Ok(());
    };
    let what = match c {
        '\0' => "a NUL byte (U+0000)".to_owned(),
        '\n' | '\r' | '\u{2028}' | '\u{2029}' => format!("a line break (U+{:04X})", c as u32),
        '\t' => "a tab (U+0009)".to_owned(),
        '\u{FEFF}' => "a byte-order mark (U+FEFF)".to_owned(),
        _ if c.is_control() => format!("the control character U+{:04X}", c as u32),
        _ => format!("the invisible formatting character U+{:04X}", c as u32),
    };
    Err(ParseError::new(format!(
        "contains {what} at position {}; remove it (a value must be plain text on one line)",
        at + 1
    )))
}

/// Checks `text` has at most `max` characters.
pub fn check_length(text: &str, max: usize) -> Result<(), ParseError> {
    // Bytes bound characters from above: most texts need no count.
    if text.len() <= max {
        return Ok(());
    }
    let count = text.chars().count();
    if count <= max {
        return Ok(());
    }
    Err(ParseError::new(format!("is {count} characters long; at most {max} are allowed: shorten it")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_are_named() {
        assert!(check_plain_text("Budi Santoso, S.Kom. — Jl. Merdeka No. 1").is_ok());
        let nul = check_plain_text("Bu\0di").unwrap_err().to_string();
        assert_eq!(
            nul,
            "contains a NUL byte (U+0000) at position 3; remove it (a value must be plain text on one line)"
        );
        assert!(check_plain_text("Budi\nSantoso").unwrap_err().to_string().contains("a line break (U+000A)"));
        assert!(check_plain_text("x\u{1b}[31m").unwrap_err().to_string().contains("U+001B"));
        assert!(check_plain_text("abc\u{202E}fed").unwrap_err().to_string().contains("U+202E"));
        assert!(check_plain_text("\u{85}").is_err(), "C1 next line");
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(check_length("ééé", 3).is_ok());
        assert_eq!(
            check_length("abcd", 3).unwrap_err().to_string(),
            "is 4 characters long; at most 3 are allowed: shorten it"
        );
    }
}
