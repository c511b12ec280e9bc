//! What kabar tells its operators about itself: log lines ([`logging`]), Prometheus metrics
//! ([`metrics`]), and [`Untrusted`], the wrapper every value that came from outside (a webhook, a
//! provider's answer) wears on its way into a log line.

pub mod logging;
pub mod metrics;

use std::fmt::{self, Write as _};

/// How much of an untrusted value a log line shows: a provider id or error text is far shorter,
/// and a longer one is more likely an attack than a value worth reading in full.
pub const UNTRUSTED_MAX_CHARS: usize = 256;

/// A value kabar did not write itself (a `MessageSid`, a provider's error text, a webhook field),
/// displayed so that it cannot forge log lines: control characters (CR, LF, ESC, …), Unicode line
/// and paragraph separators and bidirectional overrides are written as `\u{…}` escapes (`\r`,
/// `\n` and `\t` as themselves), a backslash as `\\`, so the escaped text reads back unambiguously,
/// and anything past [`UNTRUSTED_MAX_CHARS`] characters is cut with a count of what was left out.
///
/// ```
/// use kabar::observe::Untrusted;
/// assert_eq!(Untrusted("SM1\r\nINFO forged").to_string(), r"SM1\r\nINFO forged");
/// ```
///
/// Log with `%Untrusted(&value)` in a field, or `{}` in a message. (The JSON log format escapes by
/// itself; the text format writes a `%` field's Display as it is, which is why this exists.)
#[derive(Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (shown, (index, c)) in self.0.char_indices().enumerate() {
            if shown == UNTRUSTED_MAX_CHARS {
                let left = self.0[index..].chars().count();
                return write!(f, "…({left} more characters)");
            }
            match c {
                '\\' => f.write_str(r"\\")?,
                '\n' => f.write_str(r"\n")?,
                '\r' => f.write_str(r"\r")?,
                '\t' => f.write_str(r"\t")?,
                c if needs_escape(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Characters that move the cursor, end a line or reorder text in a terminal or log viewer.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// An error and its sources, `a: b: c`, for the one log line of a failure.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// [`Untrusted`] as an owned string, for an error or reason text built from a provider's words.
pub fn untrusted(text: &str) -> String {
    Untrusted(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_start_a_line() {
        let forged = "SM123\r\n2024-06-20T03:00:00Z  INFO kabar: opt-out by reply\u{1b}[2K";
        let shown = untrusted(forged);
        assert!(!shown.contains(['\r', '\n', '\u{1b}']), "{shown}");
        assert_eq!(shown, r"SM123\r\n2024-06-20T03:00:00Z  INFO kabar: opt-out by reply\u{1b}[2K");
        assert_eq!(untrusted("a\\nb"), r"a\\nb", "a literal backslash-n stays distinguishable");
        assert_eq!(untrusted("x\u{2028}y\u{202e}z\u{85}"), r"x\u{2028}y\u{202e}z\u{85}");
        assert_eq!(untrusted("wamid.HBgM NjI4MTI= ünïcödé"), "wamid.HBgM NjI4MTI= ünïcödé");
        assert_eq!(format!("{:?}", Untrusted("a\nb")), r#""a\nb""#);
    }

    #[test]
    fn long_values_are_cut_with_a_count() {
        let long = "é".repeat(UNTRUSTED_MAX_CHARS + 10);
        let shown = untrusted(&long);
        assert!(shown.starts_with(&"é".repeat(UNTRUSTED_MAX_CHARS)));
        assert!(shown.ends_with("…(10 more characters)"), "{shown}");
        assert_eq!(untrusted(&"a".repeat(UNTRUSTED_MAX_CHARS)), "a".repeat(UNTRUSTED_MAX_CHARS));
    }
}
