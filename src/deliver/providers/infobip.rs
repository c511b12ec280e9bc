//! Infobip SMS through the `sms/2/text/advanced` endpoint (the one Infobip's official clients and
//! their tests use).
//!
//! `POST {base_url}/sms/2/text/advanced` with `Authorization: App <api key>` and a JSON body of
//! one message to one destination. kabar's message id travels twice: as the destination's
//! `messageId` (`kabar-<id>`, which Infobip echoes as the message's id and in delivery reports) and
//! as `callbackData`, so a report finds its message either way.
//!
//! How Infobip's answers are classified (`infobip/infobip-api-java-client` `SmsApiTest.java` and
//! `ApiErrorResponsesTest.java`; infobip.com/docs/essentials/api-essentials/response-status-and-error-codes; PROVIDERS.md §3).
//! Infobip answers 200 even for a message it refuses, so the status group decides; kabar branches
//! on `groupId`, never on the names, which are informational:
//!
//! | answer | class | why |
//! |---|---|---|
//! | 200, `status.groupId` 1 PENDING (or 3 DELIVERED) | accepted | |
//! | 200, `groupId` 5 REJECTED or 2 UNDELIVERABLE | permanent, code = `status.id` | Infobip will not deliver to this destination |
//! | … except `status.id` 11, 12, 13, 17, 18, 19 (sender, credits, test-only account, no route) | technical | the account, not the recipient: every message would fail alike |
//! | … and `status.id` 21 `REJECTED_SYSTEM_ERROR` | transient | Infobip: "retry the submission" |
//! | 200, `groupId` 4 EXPIRED | transient | it could not be sent in time; another try may be |
//! | no answer; HTTP 429; 5xx or `GENERAL_ERROR` | transient, `Retry-After` honoured | |
//! | HTTP 401 (`UNAUTHORIZED`), 400 `BAD_REQUEST`, 403 | technical | the key or kabar's request is wrong |
//! | any other 4xx | technical | see [`super`] |

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tracing::instrument;
use url::Url;

use super::http::{self, Reply};
use super::limit::RateLimit;
use super::ProviderError;
use crate::deliver::{Accepted, Destination, Outgoing, SendFailure};
use crate::render::Rendered;

/// The provider's name in `messages.provider` and in logs.
pub const NAME: &str = "infobip";

/// `[delivery.infobip]`: one Infobip account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfobipConfig {
    /// The account's own API host, e.g. `https://xxxxx.api.infobip.com`. Required: there is no
    /// shared default.
    #[serde(deserialize_with = "http::deserialize_url")]
    pub base_url: Url,
    /// Sent as `Authorization: App <api_key>`.
    pub api_key: SecretString,
    /// The sender shown on the phone: an alphanumeric ID such as `IMIGRASI`, or a number.
    pub sender: String,
    /// Where Infobip posts delivery reports (kabar's receipts server). None: no reports pushed.
    #[serde(default, deserialize_with = "http::deserialize_optional_url")]
    pub notify_url: Option<Url>,
    /// Requests per second for this account; unlimited when not set.
    #[serde(default)]
    pub rate_per_second: Option<NonZeroU32>,
    /// How long one request may take, connection to last byte (1 to 300; 10 unless set).
    #[serde(default = "http::default_timeout_seconds")]
    pub timeout_seconds: u64,
}

/// An Infobip account's SMS endpoint, built once and shared by every send.
pub struct Infobip {
    http: reqwest::Client,
    url: Url,
    authorization: HeaderValue,
    sender: String,
    notify_url: Option<Url>,
    limit: RateLimit,
    timeout: Duration,
}

impl fmt::Debug for Infobip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Infobip")
            .field("url", &self.url.as_str())
            .field("sender", &self.sender)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Infobip {
    pub fn new(config: &InfobipConfig, http: reqwest::Client) -> Result<Self, ProviderError> {
        if config.sender.trim().is_empty() {
            return Err(ProviderError::Config {
                provider: NAME,
                message: "sender must not be empty".to_owned(),
            });
        }
        Ok(Self {
            http,
            url: http::endpoint(NAME, &config.base_url, &["sms", "2", "text", "advanced"])?,
            authorization: http::authorization(NAME, "api_key", "App", &config.api_key)?,
            sender: config.sender.trim().to_owned(),
            notify_url: config.notify_url.clone(),
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
        let own_id = format!("kabar-{}", out.message_id);
        let callback_data = out.message_id.to_string();
        let body = SendRequest {
            messages: [Message {
                from: &self.sender,
                destinations: [Recipient { to: to.e164().trim_start_matches('+'), message_id: &own_id }],
                text: &sms.text,
                notify_url: self.notify_url.as_ref().map(Url::as_str),
                notify_content_type: self.notify_url.as_ref().map(|_| "application/json"),
                callback_data: &callback_data,
            }],
        };
        let request =
            self.http.post(self.url.clone()).header(AUTHORIZATION, self.authorization.clone()).json(&body);
        if wait {
            self.limit.wait().await;
        }
        let reply = http::execute(request, self.timeout).await?;
        if !reply.status.is_success() {
            return Err(classify_error(&reply));
        }
        let Some(sent) = serde_json::from_slice::<SendResponse>(&reply.body)
            .ok()
            .and_then(|r| r.messages.into_iter().next())
        else {
            // Infobip may well have queued it: a retry could send it twice, so an operator looks.
            return Err(SendFailure::technical(
                Some(reply.code()),
                format!("Infobip answered HTTP {} without a message status", reply.status),
            ));
        };
        classify_status(sent, &reply)
    }
}

#[derive(Serialize)]
struct SendRequest<'a> {
    messages: [Message<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    from: &'a str,
    destinations: [Recipient<'a>; 1],
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_content_type: Option<&'a str>,
    callback_data: &'a str,
}

/// One entry of `destinations`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Recipient<'a> {
    to: &'a str,
    message_id: &'a str,
}

#[derive(Deserialize)]
struct SendResponse {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SentMessage {
    message_id: String,
    status: Status,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    group_id: u32,
    id: Option<u32>,
    #[serde(default)]
    name: String,
}

/// A 200's message status, by group (table in the module docs).
fn classify_status(sent: SentMessage, reply: &Reply) -> Result<Accepted, SendFailure> {
    let status = sent.status;
    let code = Some(status.id.map_or_else(|| format!("group {}", status.group_id), |id| id.to_string()));
    let name = http::scrub(&status.name, 60);
    match status.group_id {
        1 | 3 => Ok(Accepted { provider_message_id: sent.message_id, response_code: reply.code() }),
        5 if matches!(status.id, Some(11 | 12 | 13 | 17 | 18 | 19)) => {
            Err(SendFailure::technical(code, format!("Infobip refused the account's message: {name}")))
        }
        5 if status.id == Some(21) => Err(SendFailure::transient(code, format!("Infobip: {name}"), None)),
        2 | 5 => Err(SendFailure::permanent(code, format!("Infobip refused the destination: {name}"))),
        4 => Err(SendFailure::transient(code, format!("Infobip let the message expire: {name}"), None)),
        group => Err(SendFailure::technical(
            code,
            format!("Infobip status group {group} unknown to kabar: {name}"),
        )),
    }
}

/// Infobip's error body: `{"requestError":{"serviceException":{"messageId":…,"text":…,…}}}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    request_error: RequestError,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestError {
    service_exception: ServiceException,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceException {
    message_id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    validation_errors: BTreeMap<String, serde_json::Value>,
}

/// Classifies a non-2xx answer by HTTP status, naming Infobip's `messageId` as the code.
fn classify_error(reply: &Reply) -> SendFailure {
    let Ok(ErrorBody { request_error: RequestError { service_exception: error } }) =
        serde_json::from_slice(&reply.body)
    else {
        return reply.unexplained("Infobip");
    };
    let mut reason = format!(
        "Infobip {} (HTTP {}): {}",
        crate::observe::Untrusted(&error.message_id),
        reply.status,
        http::scrub(&error.text, 120)
    );
    if !error.validation_errors.is_empty() {
        // The field names say what kabar sent wrong; the values could quote the message.
        let fields: Vec<&str> = error.validation_errors.keys().map(String::as_str).collect();
        reason.push_str(&format!(" (fields: {})", http::scrub(&fields.join(", "), 120)));
    }
    let code = Some(error.message_id.clone());
    if http::is_retryable(reply.status) || error.message_id == "GENERAL_ERROR" {
        SendFailure::transient(code, reason, reply.retry_after)
    } else {
        SendFailure::technical(code, reason)
    }
}

impl Infobip {
    /// Sends one message; waits for the account's rate limit first.
    pub async fn send(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        self.send_with(out, true).await
    }

    /// Sends one message at once: the caller has waited for [`Infobip::limit`] itself.
    pub async fn send_now(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        self.send_with(out, false).await
    }

    /// The account's rate limit.
    pub fn limit(&self) -> &RateLimit {
        &self.limit
    }
}
