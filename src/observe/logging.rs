//! The log subscriber: human-readable text (the default) or one JSON object per line for log
//! shippers (`log_format = "json"`, or `KABAR_LOG_FORMAT=json`). Both go to stderr; stdout stays
//! for what a command prints as its result.

use serde::{Deserialize, Serialize};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How each log line is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2024-06-20T03:00:00.123Z  INFO kabar::receipts::server: opt-out by reply provider="twilio" …`
    #[default]
    Text,
    /// `{"timestamp":"…","level":"INFO","fields":{"message":"opt-out by reply",…},"target":"…","span":{…}}`
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// A subscriber that writes `format` lines passing `filter` (a `tracing` filter such as
/// `info,sqlx=warn`; validated with the configuration) to `writer`, without colours. The binary
/// installs one over stderr ([`init`]); tests give it a buffer to read what was logged. A JSON
/// line lists the spans it happened in (`spans`, outermost first: the HTTP request's route and
/// request id, then the handler's).
pub fn subscriber<W>(filter: &str, format: LogFormat, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(filter, format, writer, false)
}

fn build<W>(
    filter: &str,
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(EnvFilter::new(filter)).with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(builder.json().with_current_span(false).with_span_list(true).finish()),
    }
}

/// Installs the process's subscriber over stderr, in colour only on a terminal (a log file or
/// journal gets plain text), and forwards the `log` records of libraries that use that crate.
/// Call once, at start.
pub fn init(filter: &str, format: LogFormat) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let ansi = std::io::stderr().is_terminal();
    if build(filter, format, std::io::stderr, ansi).try_init().is_err() {
        eprintln!("kabar: a log subscriber was already installed; keeping it");
    }
}
