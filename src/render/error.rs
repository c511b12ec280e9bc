//! What can go wrong loading or rendering templates.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with one template file: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Problem {
    /// `templates/id/broadcast/sms.hbs` for a built-in file, the path on disk for an override.
    pub file: String,
    /// 1-based, when the problem is at a known line.
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self { file: file.into(), line, message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Loading an override directory or rendering a notice failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read template override {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the template override directory {path} does not exist; create it, or set templates.dir \
         (KABAR_TEMPLATES_DIR) to the directory that holds your overrides"
    )]
    NoOverrideDir { path: PathBuf },
    #[error(
        "{path}: there is no built-in template of that name, so it would never be used; \
         name overrides like the built-in files, e.g. id/appointment_postponed/sms.hbs \
         (run `kabar templates check` to list problems)"
    )]
    UnknownOverride { path: PathBuf },
    /// A template is broken or does not fit the context: a syntax error, a missing variable.
    #[error("{0}")]
    Template(Problem),
    /// Every email carries a one-click unsubscribe link (RFC 8058); "reply STOP" does not work by
    /// email.
    #[error(
        "an email needs an unsubscribe link: set NoticeContext::unsubscribe_url for the email \
         channel"
    )]
    NoUnsubscribeLink,
    /// The message rendered but the channel would refuse it: a WhatsApp parameter that is empty
    /// or spans lines, a WhatsApp body over 1,024 characters. The problem names the template.
    #[error("{0}")]
    Unsendable(Problem),
}
