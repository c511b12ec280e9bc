//! The providers kabar speaks to, each in its own wire format, each client built once from the
//! configuration and pooled.

pub mod failover;
pub mod infobip;
pub mod limit;
pub mod log;
pub mod smtp;
pub mod twilio;
pub mod whatsapp;

/// A provider could not be set up from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("provider {provider}: {message}")]
    Config { provider: &'static str, message: String },
    #[error("provider {provider}: {source}")]
    Io {
        provider: &'static str,
        #[source]
        source: std::io::Error,
    },
}
