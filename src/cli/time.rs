//! Times typed on the command line that belong to no office in particular (`plan --at`,
//! `broadcast send --at`, `audit --since`): the forms of [`TypedTime`], one parser for all.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::domain::{format_short, TypedTime, DEFAULT_ZONE};

/// An instant typed for `flag`: an offset is taken as written; a wall-clock time is read in WIB
/// (Asia/Jakarta), and a note on stderr says so (stdout may be JSON).
pub(super) fn typed_instant(flag: &str, text: &str) -> anyhow::Result<DateTime<Utc>> {
    let typed: TypedTime = text.parse().with_context(|| flag.to_owned())?;
    let at = typed.in_zone(DEFAULT_ZONE).with_context(|| flag.to_owned())?;
    if typed.is_local() {
        eprintln!("{}", assumed_note(flag, text, at));
    }
    Ok(at)
}

fn assumed_note(flag: &str, text: &str, at: DateTime<Utc>) -> String {
    format!(
        "{flag} {}: no offset given, read as {} (Asia/Jakarta); write e.g. 2024-06-24T17:00:00+08:00 \
         for WITA or +09:00 for WIT",
        text.trim(),
        format_short(at, DEFAULT_ZONE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_the_assumed_zone() {
        let local = typed_instant("--at", "2024-06-24 17:00").unwrap();
        assert_eq!(local.to_rfc3339(), "2024-06-24T10:00:00+00:00");
        let offset = typed_instant("--at", "2024-06-24T17:00:00+08:00").unwrap();
        assert_eq!(offset.to_rfc3339(), "2024-06-24T09:00:00+00:00");
        assert_eq!(
            assumed_note("--at", "2024-06-24 17:00", local),
            "--at 2024-06-24 17:00: no offset given, read as 2024-06-24 17:00 WIB (Asia/Jakarta); write \
             e.g. 2024-06-24T17:00:00+08:00 for WITA or +09:00 for WIT"
        );
        let err = format!("{:#}", typed_instant("--at", "tomorrow").unwrap_err());
        assert!(
            err.starts_with("--at: \"tomorrow\" is not a date and time; write YYYY-MM-DD HH:MM"),
            "{err}"
        );
    }
}
