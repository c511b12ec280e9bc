//! Email through an SMTP relay: one lettre transport per configuration, built once, whose pool
//! keeps connections open between messages (a new connection per message costs a TLS handshake
//! and an AUTH each time, and relays throttle clients that reconnect often).
//!
//! STARTTLS and implicit TLS verify the relay's certificate against the built-in web roots, plus
//! the CA certificates of `tls_root_certificate` for a relay signed by an internal CA. Verification
//! is never turned off: a relay kabar cannot verify gets no mail.

use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::{Error as SmtpError, PoolConfig};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::limit::RateLimit;
use super::log::mask_email;
use super::ProviderError;
use crate::deliver::{Accepted, Destination, Outgoing, SendFailure};
use crate::render::{EmailMessage, Rendered};

const PROVIDER: &str = "smtp";

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, refusing to go on without it (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption at all: tests and a relay on the same machine only (port 25).
    Plain,
}

impl Security {
    fn default_port(self) -> u16 {
        match self {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::Plain => 25,
        }
    }
}

/// Settings of the SMTP provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name (also the name its TLS certificate must carry).
    pub host: String,
    /// 587, 465 or 25 by `security` unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    /// A PEM file of CA certificates the relay's certificate may also chain to, besides the
    /// built-in web roots: a relay signed by an internal CA. Only with `starttls` or `tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_root_certificate: Option<PathBuf>,
    /// Given together with `password`, or not at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing)]
    pub password: Option<SecretString>,
    /// The sender with its display name: `Kantor Imigrasi <noreply@imigrasi.go.id>`.
    pub from: String,
    /// The right-hand side of each `Message-ID`; the `from` address's domain unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id_domain: Option<String>,
    /// The longest one send may take, from connecting (or taking a pooled connection) to the
    /// relay's reply to the message.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// At most this many messages a second, if the relay's account has a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_second: Option<NonZeroU32>,
    /// Connections kept open to the relay.
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    /// An idle connection is closed after this long.
    #[serde(default = "default_idle_seconds")]
    pub pool_idle_seconds: u64,
}

fn default_timeout_seconds() -> u64 {
    10
}

fn default_pool_size() -> u32 {
    4
}

fn default_idle_seconds() -> u64 {
    60
}

/// Sends email through the configured relay.
pub struct Smtp {
    builder: AsyncSmtpTransportBuilder,
    /// The transport and its generation: replaced, pool and all, when a send times out.
    transport: RwLock<(u64, AsyncSmtpTransport<Tokio1Executor>)>,
    deadline: Duration,
    from: Mailbox,
    message_id_domain: String,
    limit: RateLimit,
    relay: String,
}

impl fmt::Debug for Smtp {
    // By hand: lettre's transport and builder would print the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp").field("relay", &self.relay).field("from", &self.from).finish_non_exhaustive()
    }
}

impl Smtp {
    /// Builds the pooled transport. Call it inside the tokio runtime: the pool starts a task that
    /// closes idle connections. Nothing is sent until the first message.
    pub fn new(config: &SmtpConfig) -> Result<Self, ProviderError> {
        let invalid = |message: String| ProviderError::Config { provider: PROVIDER, message };
        if config.host.trim().is_empty() {
            return Err(invalid("smtp.host is empty".into()));
        }
        let from: Mailbox = config.from.parse().map_err(|err| {
            invalid(format!("smtp.from {:?} is not a mailbox ({err}); write Name <address>", config.from))
        })?;
        let message_id_domain =
            config.message_id_domain.clone().unwrap_or_else(|| from.email.domain().to_owned());
        if !is_domain(&message_id_domain) {
            return Err(invalid(format!(
                "smtp.message_id_domain {message_id_domain:?} is not a domain name"
            )));
        }
        if config.timeout_seconds == 0 || config.pool_size == 0 {
            return Err(invalid("smtp.timeout_seconds and smtp.pool_size must be at least 1".into()));
        }
        let tls = match config.security {
            Security::Plain if config.tls_root_certificate.is_some() => {
                return Err(invalid(
                    "smtp.tls_root_certificate is set but smtp.security is \"plain\", which uses no TLS; \
                     choose \"starttls\" or \"tls\", or remove it"
                        .into(),
                ));
            }
            Security::Plain => Tls::None,
            Security::Tls => Tls::Wrapper(tls_parameters(config).map_err(invalid)?),
            Security::Starttls => Tls::Required(tls_parameters(config).map_err(invalid)?),
        };
        let port = config.port.unwrap_or(config.security.default_port());
        let pool = PoolConfig::new()
            .max_size(config.pool_size)
            .min_idle(0)
            .idle_timeout(Duration::from_secs(config.pool_idle_seconds));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_seconds)))
            .pool_config(pool);
        match (&config.username, &config.password) {
            (Some(username), Some(password)) => {
                builder = builder
                    .credentials(Credentials::new(username.clone(), password.expose_secret().to_owned()));
            }
            (None, None) => {}
            _ => return Err(invalid("give smtp.username and smtp.password together, or neither".into())),
        }
        Ok(Self {
            transport: RwLock::new((0, builder.clone().build())),
            builder,
            deadline: Duration::from_secs(config.timeout_seconds),
            from,
            message_id_domain,
            limit: RateLimit::per_second(config.rate_per_second),
            relay: format!("{}:{port}", config.host),
        })
    }

    /// Hands one email to the relay. The returned `provider_message_id` is the `Message-ID`
    /// header exactly as sent, angle brackets included (`<kabar-42.1f…@imigrasi.go.id>`): bounces
    /// and replies quote it in `Original-Message-ID`, `In-Reply-To` and `References`.
    ///
    /// Let the future finish rather than drop it (it ends within `timeout_seconds`): lettre would
    /// return the connection of a send dropped mid-conversation to its pool as it is.
    #[instrument(skip_all, fields(message_id = out.message_id))]
    async fn send_with(&self, out: &Outgoing, wait: bool) -> Result<Accepted, SendFailure> {
        let (Rendered::Email(email), Destination::Email { address, name }) = (&out.content, &out.to) else {
            return Err(SendFailure::technical(
                None,
                "kabar bug: the SMTP provider was given something other than an email to an address",
            ));
        };
        let address: Address = address.as_str().parse().map_err(|_| {
            SendFailure::permanent(
                None,
                format!("{} is not an address SMTP can carry", mask_email(address.as_str())),
            )
        })?;
        let name = Some(name.trim()).filter(|name| !name.is_empty()).map(str::to_owned);
        let message_id = format!(
            "<kabar-{}.{:016x}@{}>",
            out.message_id,
            rand::thread_rng().gen::<u64>(),
            self.message_id_domain
        );
        let message = self.message(email, Mailbox::new(name, address), &message_id)?;
        if wait {
            self.limit.wait().await;
        }
        let (generation, transport) = self.transport.read().unwrap_or_else(PoisonError::into_inner).clone();
        // lettre bounds only the connecting with its timeout (lettre issue #1027): a relay that
        // stops answering mid-conversation would hold this send for ever.
        match tokio::time::timeout(self.deadline, transport.send(message)).await {
            Ok(Ok(response)) => {
                tracing::debug!(code = %response.code(), "the relay took the email");
                Ok(Accepted { provider_message_id: message_id, response_code: response.code().to_string() })
            }
            Ok(Err(err)) => Err(classify(&err)),
            Err(_) => {
                self.replace_pool(generation);
                Err(SendFailure::transient(
                    None,
                    format!("the relay did not answer within {} s", self.deadline.as_secs()),
                    None,
                ))
            }
        }
    }

    /// A send cut off by the deadline leaves its connection mid-command, and lettre would put it
    /// back in the pool as it is: the next message could be written into the unfinished one's
    /// DATA. So the pool goes, and the next send starts on a new one. The old pool closes its
    /// connections once the sends still using it are done.
    fn replace_pool(&self, timed_out: u64) {
        let mut current = self.transport.write().unwrap_or_else(PoisonError::into_inner);
        // Several sends timing out together replace it once.
        if current.0 == timed_out {
            *current = (timed_out + 1, self.builder.clone().build());
        }
    }

    fn message(&self, email: &EmailMessage, to: Mailbox, message_id: &str) -> Result<Message, SendFailure> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .message_id(Some(message_id.to_owned()));
        if let Some(unsubscribe) = &email.list_unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    unsubscribe.header.clone(),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    unsubscribe.post.clone(),
                ));
        }
        builder.multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone())).map_err(
            |err| SendFailure::technical(None, format!("kabar bug: the email could not be built: {err}")),
        )
    }
}

/// The relay's TLS settings: its host name as the name its certificate must carry, and the
/// configured CA certificates trusted besides the built-in web roots.
fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(config.host.clone());
    let Some(path) = &config.tls_root_certificate else {
        return builder.build().map_err(|err| format!("TLS for {}: {err}", config.host));
    };
    builder = builder.add_root_certificate(root_certificates(path)?);
    // A certificate's DER is only checked here, as it joins the trusted roots.
    builder.build().map_err(|err| {
        format!(
            "smtp.tls_root_certificate {} holds a certificate that cannot be trusted as a root ({err}); \
             give the relay's CA certificates in PEM",
            path.display()
        )
    })
}

/// The PEM marker of a certificate: what lettre reads from the file, skipping everything else.
const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// Reads the CA certificates of `smtp.tls_root_certificate`.
fn root_certificates(path: &Path) -> Result<Certificate, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|err| {
        format!(
            "smtp.tls_root_certificate {shown} cannot be read ({err}); \
             give the path of a PEM file with the relay's CA certificates"
        )
    })?;
    // lettre skips what is not a certificate: a key or a DER file would add no root at all, and
    // every handshake would then fail far from the cause.
    if !pem.windows(PEM_CERTIFICATE.len()).any(|window| window == PEM_CERTIFICATE) {
        return Err(format!(
            "smtp.tls_root_certificate {shown} holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\"); \
             give the relay's CA certificates in PEM"
        ));
    }
    Certificate::from_pem(&pem).map_err(|err| {
        format!("smtp.tls_root_certificate {shown} is not valid PEM ({err}); give the relay's CA certificates in PEM")
    })
}

/// SMTP reply codes that mean the relay refused kabar's credentials (RFC 4954): a configuration
/// problem, not the recipient's.
const AUTH_REFUSED: [u16; 4] = [530, 534, 535, 538];

/// 4xx and lost connections are worth another try; 5xx will not change for this recipient;
/// refused credentials, TLS failures and lettre's own refusals (a relay without the STARTTLS that
/// `security = "starttls"` requires) need an operator: retrying would fail the same way until the
/// configuration or the relay changes, and moving the applicant to another channel would hide it.
fn classify(err: &SmtpError) -> SendFailure {
    // The relay's words can quote the recipient's address; never its message. A reply of several
    // lines keeps them on one (escaped), as every reason is logged on one line.
    let reason = crate::observe::untrusted(&mask_emails_in(&err.to_string()));
    if let Some(code) = err.status() {
        let number = u16::from(code);
        let code = Some(number.to_string());
        return if AUTH_REFUSED.contains(&number) {
            SendFailure::technical(code, format!("the relay refused kabar's credentials: {reason}"))
        } else if number < 500 {
            SendFailure::transient(code, format!("the relay deferred the email: {reason}"), None)
        } else {
            SendFailure::permanent(code, format!("the relay refused the email: {reason}"))
        };
    }
    if err.is_timeout() {
        SendFailure::transient(None, format!("the relay did not answer in time: {reason}"), None)
    } else if is_tls_refusal(err) {
        SendFailure::technical(
            None,
            format!(
                "the TLS handshake with the relay failed (its certificate, tls_root_certificate, \
                 or a security setting that does not match the port): {reason}"
            ),
        )
    } else if err.is_tls() || err.is_client() {
        SendFailure::technical(None, format!("SMTP set-up problem: {reason}"))
    } else {
        // Connection refused or reset, a garbled reply, the transport shutting down.
        SendFailure::transient(None, format!("SMTP connection problem: {reason}"), None)
    }
}

/// Whether rustls refused the handshake: a certificate kabar does not trust or that names another
/// host, a peer that does not speak TLS, an alert from the relay. lettre reports those as a
/// connection error like a refused connection, so this looks beneath it; a connection cut during
/// the handshake is an I/O error of its own, and stays transient.
fn is_tls_refusal(err: &SmtpError) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(current) = source {
        // An I/O error's `source` is its inner error's source, not the inner error itself.
        let inner = current.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
        if current.is::<rustls::Error>() || inner.is_some_and(|inner| inner.is::<rustls::Error>()) {
            return true;
        }
        source = current.source();
    }
    false
}

/// Masks the local part of every address-like word in a relay's reply.
fn mask_emails_in(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if !word.contains('@') {
                return word.to_owned();
            }
            let core =
                word.trim_matches(|c: char| matches!(c, '<' | '>' | ':' | ';' | ',' | '(' | ')' | '"'));
            word.replacen(core, &mask_email(core), 1)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A dot-separated host name: letters, digits and hyphens.
fn is_domain(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

impl Smtp {
    /// Sends one message; waits for the account's rate limit first.
    pub async fn send(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        self.send_with(out, true).await
    }

    /// Sends one message at once: the caller has waited for [`Smtp::limit`] itself.
    pub async fn send_now(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        self.send_with(out, false).await
    }

    /// The account's rate limit.
    pub fn limit(&self) -> &RateLimit {
        &self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_relay_replies_are_masked() {
        assert_eq!(
            mask_emails_in("permanent error (550): 5.1.1 <budi.santoso@example.com>: Recipient unknown"),
            "permanent error (550): 5.1.1 <b***@example.com>: Recipient unknown"
        );
    }

    #[test]
    fn message_id_domains() {
        assert!(is_domain("imigrasi.go.id"));
        assert!(!is_domain("imigrasi..go.id"));
        assert!(!is_domain("bad domain"));
    }
}
