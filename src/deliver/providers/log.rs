//! A provider that sends nothing: each message becomes one JSON line in a file, for demos and for
//! trying kabar without provider accounts. Destinations are masked as in every log; the notice
//! text is written as rendered, since showing it is the point of the file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::ProviderError;
use crate::deliver::{Accepted, Destination, Outgoing, SendFailure};
use crate::domain::Channel;
use crate::render::{Encoding, Rendered};

const PROVIDER: &str = "log";

/// Settings of the log provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The file lines are appended to; created with its directories if missing.
    pub path: PathBuf,
}

/// Appends messages to a file as JSON lines.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    // One writer at a time, each line in one unbuffered append: concurrent senders never
    // interleave, and a reader following the file only ever sees complete lines. Appending a line
    // to a local file takes microseconds, so it is done inline, as tracing writes its log lines,
    // rather than through tokio's blocking pool (a round trip per line, slower than the write).
    file: Mutex<File>,
}

/// One line of the file.
#[derive(Serialize)]
struct Line<'a> {
    /// When kabar sent it, by the worker's clock (in the demo: the replay's simulated time).
    at: String,
    /// When the line was written, by the wall clock.
    written_at: String,
    message_id: i64,
    provider_message_id: &'a str,
    channel: Channel,
    to: String,
    #[serde(flatten)]
    content: Content<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Sms { text: &'a str, encoding: Encoding, segments: usize },
    Whatsapp { template: &'a str, language: &'a str, params: &'a [String] },
    Email { subject: &'a str, text: &'a str },
}

impl LogFile {
    pub fn new(config: &LogConfig) -> Result<Self, ProviderError> {
        let io = |source| ProviderError::Io { provider: PROVIDER, source };
        if let Some(parent) = config.path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&config.path).map_err(io)?;
        Ok(Self { path: config.path.clone(), file: Mutex::new(file) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the message as one line; the `provider_message_id` is `log-<message_id>`. Fails only
    /// when the file cannot be written.
    pub async fn send(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        let provider_message_id = format!("log-{}", out.message_id);
        let (channel, content) = match &out.content {
            Rendered::Sms(sms) => (
                Channel::Sms,
                Content::Sms { text: &sms.text, encoding: sms.encoding, segments: sms.segments },
            ),
            Rendered::Whatsapp(whatsapp) => (
                Channel::Whatsapp,
                Content::Whatsapp {
                    template: &whatsapp.template,
                    language: &whatsapp.language,
                    params: &whatsapp.params,
                },
            ),
            Rendered::Email(email) => {
                (Channel::Email, Content::Email { subject: &email.subject, text: &email.text })
            }
        };
        let to = match &out.to {
            Destination::Phone(number) => number.masked(),
            Destination::Email { address, .. } => mask_email(address.as_str()),
        };
        let line = Line {
            at: out.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            written_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            message_id: out.message_id,
            provider_message_id: &provider_message_id,
            channel,
            to,
            content,
        };
        let mut bytes = serde_json::to_vec(&line)
            .map_err(|err| SendFailure::technical(None, format!("kabar bug: unserialisable line: {err}")))?;
        bytes.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&bytes).map_err(|err| {
            SendFailure::technical(None, format!("could not write to {}: {err}", self.path.display()))
        })?;
        Ok(Accepted { provider_message_id, response_code: "logged".into() })
    }
}

/// `b***@example.com`: the first character of the local part, and only when it is longer than two
/// characters, so neither the address nor its length can be read back; the domain stays.
pub fn mask_email(address: &str) -> String {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return "***".into();
    };
    let mut chars = local.chars();
    match chars.next() {
        Some(first) if local.chars().count() > 2 => format!("{first}***@{domain}"),
        _ => format!("***@{domain}"),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_email;

    #[test]
    fn emails_are_masked() {
        assert_eq!(mask_email("budi.santoso@example.co.id"), "b***@example.co.id");
        assert_eq!(mask_email("bo@example.com"), "***@example.com");
        assert_eq!(mask_email("not an address"), "***");
    }
}
