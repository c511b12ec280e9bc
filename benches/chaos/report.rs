//! What a scenario found: summary lines with the figures, and assertions that pass or fail.

use std::fmt::Display;

/// One assertion.
pub struct Check {
    pub scenario: String,
    pub what: String,
    pub passed: bool,
    pub detail: String,
}

/// The findings of the whole run, in the order they were made.
#[derive(Default)]
pub struct Report {
    pub summaries: Vec<String>,
    pub checks: Vec<Check>,
}

impl Report {
    /// Prints a figure line of `scenario` now and keeps it for the final summary.
    pub fn summary(&mut self, scenario: &str, line: impl Display) {
        let line = format!("{scenario}: {line}");
        println!("{line}");
        self.summaries.push(line);
    }

    /// Prints a detail line of `scenario` (not repeated in the final summary).
    pub fn detail(&self, scenario: &str, line: impl Display) {
        println!("{scenario}:   {line}");
    }

    pub fn check(&mut self, scenario: &str, what: impl Display, passed: bool, detail: impl Display) {
        let check =
            Check { scenario: scenario.into(), what: what.to_string(), passed, detail: detail.to_string() };
        println!("{scenario}:   {} {} ({})", verdict(passed), check.what, check.detail);
        self.checks.push(check);
    }

    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|check| !check.passed).count()
    }

    /// The final summary: one line per scenario figure, then every assertion.
    pub fn print(&self) {
        println!("\n== summary");
        for line in &self.summaries {
            println!("{line}");
        }
        println!("\n== assertions");
        for check in &self.checks {
            println!("{} {}: {} ({})", verdict(check.passed), check.scenario, check.what, check.detail);
        }
        println!(
            "\n{} of {} assertions passed{}",
            self.checks.len() - self.failed(),
            self.checks.len(),
            if self.failed() == 0 { "" } else { "; FAILED" }
        );
    }
}

pub fn verdict(passed: bool) -> &'static str {
    if passed {
        "PASS"
    } else {
        "FAIL"
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(value: impl Into<u64>) -> String {
    let digits = value.into().to_string();
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Seconds with one decimal, or `-` when there is nothing to time.
pub fn seconds(value: Option<std::time::Duration>) -> String {
    value.map_or_else(|| "-".into(), |value| format!("{:.1} s", value.as_secs_f64()))
}

/// At most `chars` characters of `text`, marked when cut.
pub fn clip(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
