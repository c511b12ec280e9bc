//! Twilio Programmable Messaging: SMS through the Messages resource.
//!
//! `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic
//! `AccountSid:AuthToken` and a form body: `To` (E.164), `From` or `MessagingServiceSid`, `Body`,
//! and `StatusCallback` when configured. Twilio answers 201 with the message resource, whose `sid`
//! (`SM` + 32 hex digits) the status callbacks refer to.
//!
//! How Twilio's answers are classified (codes from twilio.com/docs/errors/{code}; see also
//! `/work/shared/reference/PROVIDERS.md` §1):
//!
//! | answer | class | why |
//! |---|---|---|
//! | 201 with a `sid` | accepted | |
//! | no answer: timeout, refused, reset | transient | Twilio may not have the message; retry |
//! | HTTP 429 or 5xx, whatever the code | transient, `Retry-After` honoured | Twilio busy or broken |
//! | 20429 too many concurrent requests | transient | "never processed and is always safe to retry" |
//! | 21610 unsubscribed recipient | permanent, opted out | the recipient texted STOP |
//! | 21211 invalid `To`, 21612 unreachable, 21614 not a mobile | permanent | the number cannot get SMS |
//! | 30003–30008 (handset, carrier, filtering, unknown) | permanent | recipient problems, normally async |
//! | 20003 or HTTP 401, 21408 region, 21608 trial, 21617 too long | technical | account or kabar's request |
//! | any other 4xx | technical | see [`super`]: unknown refusals go to an operator |

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tracing::instrument;
use url::Url;

use super::http::{self, Reply};
use super::limit::RateLimit;
use super::ProviderError;
use crate::deliver::{Accepted, Destination, FailureKind, Outgoing, SendFailure};
use crate::render::Rendered;

/// The provider's name in `messages.provider` and in logs.
pub const NAME: &str = "twilio";

/// `[delivery.twilio]`: one Twilio account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// `AC` followed by 32 hex digits: in the URL, and the Basic auth user.
    pub account_sid: String,
    /// The account's auth token: the Basic auth password.
    pub auth_token: SecretString,
    /// The sender: a number in E.164 or an alphanumeric sender ID. Exactly one of `from` and
    /// `messaging_service_sid`.
    #[serde(default)]
    pub from: Option<String>,
    /// A Messaging Service (`MG…`) that picks the sender from its pool.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Where Twilio posts status changes (kabar's receipts server). None: no callbacks, or the
    /// Messaging Service's own URL.
    #[serde(default, deserialize_with = "http::deserialize_optional_url")]
    pub status_callback: Option<Url>,
    /// `https://api.twilio.com` unless set (tests point it at a fake).
    #[serde(default = "default_base_url", deserialize_with = "http::deserialize_url")]
    pub base_url: Url,
    /// Requests per second for this account; unlimited when not set.
    #[serde(default)]
    pub rate_per_second: Option<NonZeroU32>,
    /// How long one request may take, connection to last byte (1 to 300; 10 unless set).
    #[serde(default = "http::default_timeout_seconds")]
    pub timeout_seconds: u64,
}

fn default_base_url() -> Url {
    Url::parse("https://api.twilio.com").expect("a valid URL")
}

/// Who the messages come from.
#[derive(Debug)]
enum Sender {
    From(String),
    Service(String),
}

/// A Twilio account's Messages endpoint, built once and shared by every send.
pub struct Twilio {
    http: reqwest::Client,
    url: Url,
    account_sid: String,
    auth_token: SecretString,
    sender: Sender,
    status_callback: Option<Url>,
    limit: RateLimit,
    timeout: Duration,
}

impl fmt::Debug for Twilio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Twilio")
            .field("url", &self.url.as_str())
            .field("sender", &self.sender)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Twilio {
    pub fn new(config: &TwilioConfig, http: reqwest::Client) -> Result<Self, ProviderError> {
        let refuse = |message: String| ProviderError::Config { provider: NAME, message };
        let sid = &config.account_sid;
        if !(sid.len() == 34 && sid.starts_with("AC") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(refuse(format!(
                "account_sid = {sid:?} is not an account SID (AC and 32 hex digits)"
            )));
        }
        let sender = match (&config.from, &config.messaging_service_sid) {
            (Some(from), None) if !from.trim().is_empty() => Sender::From(from.trim().to_owned()),
            (None, Some(service)) if service.starts_with("MG") => Sender::Service(service.clone()),
            (None, Some(service)) => {
                return Err(refuse(format!("messaging_service_sid = {service:?} does not start with MG")))
            }
            _ => return Err(refuse("set exactly one of from and messaging_service_sid".to_owned())),
        };
        if let Some(callback) = &config.status_callback {
            // Twilio refuses callback hosts with underscores (PROVIDERS.md §1).
            if !matches!(callback.scheme(), "http" | "https")
                || callback.host_str().unwrap_or("_").contains('_')
            {
                return Err(refuse(format!(
                    "status_callback = {callback} must be an http(s) URL whose host has no underscore"
                )));
            }
        }
        Ok(Self {
            http,
            url: http::endpoint(NAME, &config.base_url, &["2010-04-01", "Accounts", sid, "Messages.json"])?,
            account_sid: sid.clone(),
            auth_token: config.auth_token.clone(),
            sender,
            status_callback: config.status_callback.clone(),
            limit: RateLimit::per_second(config.rate_per_second),
            timeout: http::request_timeout(NAME, config.timeout_seconds)?,
        })
    }

    /// Sends an SMS; waits for the account's rate limit first.
    #[instrument(skip_all, fields(provider = NAME, message_id = out.message_id))]
    async fn send_with(&self, out: &Outgoing, wait: bool) -> Result<Accepted, SendFailure> {
        let result = self.try_send(out, wait).await;
        super::log_outcome(&result);
        result
    }

    async fn try_send(&self, out: &Outgoing, wait: bool) -> Result<Accepted, SendFailure> {
        let (Destination::Phone(to), Rendered::Sms(sms)) = (&out.to, &out.content) else {
            return Err(SendFailure::technical(None, super::mismatch(NAME, "an SMS to a phone number", out)));
        };
        let mut form = vec![("To", to.e164()), ("Body", sms.text.as_str())];
        form.push(match &self.sender {
            Sender::From(from) => ("From", from.as_str()),
            Sender::Service(sid) => ("MessagingServiceSid", sid.as_str()),
        });
        if let Some(callback) = &self.status_callback {
            form.push(("StatusCallback", callback.as_str()));
        }
        let request = self
            .http
            .post(self.url.clone())
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form);
        if wait {
            self.limit.wait().await;
        }
        let reply = http::execute(request, self.timeout).await?;
        if !reply.status.is_success() {
            return Err(classify(&reply));
        }
        match serde_json::from_slice::<Created>(&reply.body) {
            Ok(created) => Ok(Accepted { provider_message_id: created.sid, response_code: reply.code() }),
            // Twilio may well have queued it: a retry could send it twice, so an operator looks.
            Err(_) => Err(SendFailure::technical(
                Some(reply.code()),
                format!("Twilio answered HTTP {} without a message sid", reply.status),
            )),
        }
    }
}

/// The part of the message resource kabar keeps.
#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// Twilio's error body: `{"code":21610,"message":…,"more_info":…,"status":400}`.
#[derive(Deserialize)]
struct ErrorBody {
    code: Option<u32>,
    #[serde(default)]
    message: String,
}

/// Classifies a non-2xx answer by Twilio's error code, then by HTTP status (table in the module docs).
fn classify(reply: &Reply) -> SendFailure {
    let Some((code, message)) =
        serde_json::from_slice::<ErrorBody>(&reply.body).ok().and_then(|e| Some((e.code?, e.message)))
    else {
        return reply.unexplained("Twilio");
    };
    let known = |text: &str| format!("Twilio {code}: {text}");
    let permanent = |text: &str| SendFailure::permanent(Some(code.to_string()), known(text));
    let technical = |text: &str| SendFailure::technical(Some(code.to_string()), known(text));
    match code {
        20429 => SendFailure::transient(
            Some(code.to_string()),
            known("too many concurrent requests"),
            reply.retry_after,
        ),
        21610 => SendFailure {
            kind: FailureKind::Permanent { opted_out: true },
            code: Some(code.to_string()),
            reason: known("the recipient unsubscribed (replied STOP)"),
        },
        21211 => permanent("not a valid phone number"),
        21612 => permanent("Twilio cannot route to this number"),
        21614 => permanent("not a mobile number"),
        30003..=30008 => permanent("the handset or its carrier cannot receive the message"),
        20003 => technical("authentication failed; check account_sid and auth_token"),
        21408 => technical("sending to this region is not enabled on the account"),
        21608 => technical("a trial account can only send to verified numbers"),
        21617 => technical("the body is longer than 1600 characters"),
        _ if reply.status == reqwest::StatusCode::UNAUTHORIZED => technical("authentication failed"),
        _ => {
            let reason = format!("Twilio {code} (HTTP {}): {}", reply.status, http::scrub(&message, 160));
            if http::is_retryable(reply.status) {
                SendFailure::transient(Some(code.to_string()), reason, reply.retry_after)
            } else {
                SendFailure::technical(Some(code.to_string()), reason)
            }
        }
    }
}

impl Twilio {
    /// Sends one message; waits for the account's rate limit first.
    pub async fn send(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        self.send_with(out, true).await
    }

    /// Sends one message at once: the caller has waited for [`Twilio::limit`] itself.
    pub async fn send_now(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        self.send_with(out, false).await
    }

    /// The account's rate limit.
    pub fn limit(&self) -> &RateLimit {
        &self.limit
    }
}
