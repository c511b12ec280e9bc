//! The WhatsApp Business Cloud API (Meta's Graph API): approved template messages.
//!
//! `POST {base_url}/{api_version}/{phone_number_id}/messages` with `Authorization: Bearer <token>`
//! and a JSON template message: `to` is the number's digits without `+`, the template's body
//! parameters are texts in order. Meta answers 200 with `messages[0].id` (`wamid.…`), which the
//! status webhooks refer to.
//!
//! **Pair limit.** Meta allows about one message per six seconds from a business number to one
//! user and answers 131056 beyond it. kabar keeps a limiter per recipient (one message per
//! `pair_interval_seconds`) and refuses a send inside the interval itself, with the time left as
//! `retry_after`, without calling Meta. The limiter is per process: workers on several machines
//! can still collide, which is why 131056 is classified too.
//!
//! How Meta's answers are classified (developers.facebook.com/docs/whatsapp/cloud-api/support/
//! error-codes and graph-api/guides/error-handling; PROVIDERS.md §2). Meta says to branch on
//! `error.code`, not the titles:
//!
//! | answer | class | why |
//! |---|---|---|
//! | 200 with `messages[0].id` | accepted | |
//! | no answer; HTTP 429 or 5xx | transient, `Retry-After` honoured | |
//! | 130429 throughput, 4 and 80007 app/account call limits | transient, `Retry-After` honoured | rate limits: back off |
//! | 131056 pair rate limit | transient, `retry_after` = `pair_interval_seconds` | Meta: "delay, retry to the same user" |
//! | 131000 something went wrong | transient | Meta's own failure (HTTP 500) |
//! | 131026 undeliverable, 131047 re-engagement, 131049 withheld for engagement | permanent | this user cannot get it on WhatsApp now: fall back to SMS |
//! | 190 or HTTP 401 token, 100 and 131008 parameters, 132000 and 132001 template | technical | the token, template or kabar's request is wrong |
//! | any other code | by HTTP status: 429 and 5xx transient, else technical | see [`super`] |

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
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
pub const NAME: &str = "whatsapp";

/// `[delivery.whatsapp]`: one WhatsApp business phone number on the Cloud API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappConfig {
    /// `https://graph.facebook.com` unless set (tests point it at a fake).
    #[serde(default = "default_base_url", deserialize_with = "http::deserialize_url")]
    pub base_url: Url,
    /// The Graph API version in the path, `v21.0` unless set.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The business phone number's id at Meta (digits), not the number itself.
    pub phone_number_id: String,
    /// A system user's access token, sent as `Authorization: Bearer …`.
    pub access_token: SecretString,
    /// At most one message to one recipient per this many seconds (Meta's pair limit; 6 unless
    /// set, 1 to 3600).
    #[serde(default = "default_pair_interval_seconds")]
    pub pair_interval_seconds: u64,
    /// Requests per second for this number (Meta's default throughput is about 80); unlimited
    /// when not set.
    #[serde(default)]
    pub rate_per_second: Option<NonZeroU32>,
    /// How long one request may take, connection to last byte (1 to 300; 10 unless set).
    #[serde(default = "http::default_timeout_seconds")]
    pub timeout_seconds: u64,
}

fn default_base_url() -> Url {
    Url::parse("https://graph.facebook.com").expect("a valid URL")
}

fn default_api_version() -> String {
    "v21.0".to_owned()
}

fn default_pair_interval_seconds() -> u64 {
    6
}

/// One business number's messages endpoint, built once and shared by every send.
pub struct WhatsappCloud {
    http: reqwest::Client,
    url: Url,
    authorization: HeaderValue,
    pairs: PairLimit,
    limit: RateLimit,
    timeout: Duration,
}

impl fmt::Debug for WhatsappCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhatsappCloud")
            .field("url", &self.url.as_str())
            .field("pair_interval", &self.pairs.interval)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WhatsappCloud {
    pub fn new(config: &WhatsappConfig, http: reqwest::Client) -> Result<Self, ProviderError> {
        let refuse = |message: String| ProviderError::Config { provider: NAME, message };
        let version = &config.api_version;
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !version
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(a, b)| numeric(a) && numeric(b))
        {
            return Err(refuse(format!(
                "api_version = {version:?} is not a Graph API version such as v21.0"
            )));
        }
        if !numeric(&config.phone_number_id) {
            return Err(refuse(format!(
                "phone_number_id = {:?} is not a phone number id (digits, from the WhatsApp Manager)",
                config.phone_number_id
            )));
        }
        if !(1..=3600).contains(&config.pair_interval_seconds) {
            return Err(refuse(format!(
                "pair_interval_seconds = {} is out of range; use 1 to 3600",
                config.pair_interval_seconds
            )));
        }
        Ok(Self {
            http,
            url: http::endpoint(NAME, &config.base_url, &[version, &config.phone_number_id, "messages"])?,
            authorization: http::authorization(NAME, "access_token", "Bearer", &config.access_token)?,
            pairs: PairLimit::new(Duration::from_secs(config.pair_interval_seconds)),
            limit: RateLimit::per_second(config.rate_per_second),
            timeout: http::request_timeout(NAME, config.timeout_seconds)?,
        })
    }

    /// Sends a template message, unless the recipient had one within the pair interval; then
    /// waits for the number's rate limit.
    #[instrument(skip_all, fields(provider = NAME, message_id = out.message_id))]
    async fn send_with(&self, out: &Outgoing, wait: bool) -> Result<Accepted, SendFailure> {
        let result = self.try_send(out, wait).await;
        super::log_outcome(&result);
        result
    }

    async fn try_send(&self, out: &Outgoing, wait: bool) -> Result<Accepted, SendFailure> {
        let (Destination::Phone(to), Rendered::Whatsapp(message)) = (&out.to, &out.content) else {
            return Err(SendFailure::technical(
                None,
                super::mismatch(NAME, "a WhatsApp template to a phone number", out),
            ));
        };
        let to = to.e164().trim_start_matches('+');
        if let Err(remaining) = self.pairs.check(to) {
            return Err(SendFailure::transient(
                None,
                "the recipient had a WhatsApp message within the pair interval; not sent",
                Some(remaining),
            ));
        }
        let body = SendRequest {
            messaging_product: "whatsapp",
            recipient_type: "individual",
            to,
            kind: "template",
            template: Template {
                name: &message.template,
                language: Language { code: &message.language },
                // A template without variables takes no components: Meta counts parameters.
                components: (!message.params.is_empty())
                    .then(|| Component {
                        kind: "body",
                        parameters: message
                            .params
                            .iter()
                            .map(|text| Parameter { kind: "text", text })
                            .collect(),
                    })
                    .into_iter()
                    .collect(),
            },
        };
        let request =
            self.http.post(self.url.clone()).header(AUTHORIZATION, self.authorization.clone()).json(&body);
        if wait {
            self.limit.wait().await;
        }
        let reply = http::execute(request, self.timeout).await?;
        if !reply.status.is_success() {
            return Err(classify(&reply, self.pairs.interval));
        }
        match serde_json::from_slice::<SendResponse>(&reply.body)
            .ok()
            .and_then(|r| r.messages.into_iter().next())
        {
            Some(sent) => Ok(Accepted { provider_message_id: sent.id, response_code: reply.code() }),
            // Meta may well have taken it: a retry could send it twice, so an operator looks.
            None => Err(SendFailure::technical(
                Some(reply.code()),
                format!("Meta answered HTTP {} without a message id", reply.status),
            )),
        }
    }
}

/// One message per interval to each recipient: a keyed GCRA limiter with a burst of one.
struct PairLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    interval: Duration,
    checks: AtomicU64,
}

impl PairLimit {
    fn new(interval: Duration) -> Self {
        let quota = Quota::with_period(interval).expect("the interval was checked to be at least 1 s");
        Self { limiter: RateLimiter::keyed(quota), interval, checks: AtomicU64::new(0) }
    }

    /// Takes the recipient's slot, or says how long until it frees up.
    fn check(&self, to: &str) -> Result<(), Duration> {
        // Forget recipients whose interval has passed now and then, so the map stays as small as
        // the last interval's recipients rather than growing with every number ever messaged.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&to.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }
}

#[derive(Serialize)]
struct SendRequest<'a> {
    messaging_product: &'a str,
    recipient_type: &'a str,
    to: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    template: Template<'a>,
}

#[derive(Serialize)]
struct Template<'a> {
    name: &'a str,
    language: Language<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Component<'a>>,
}

#[derive(Serialize)]
struct Language<'a> {
    code: &'a str,
}

#[derive(Serialize)]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    parameters: Vec<Parameter<'a>>,
}

#[derive(Serialize)]
struct Parameter<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    text: &'a str,
}

#[derive(Deserialize)]
struct SendResponse {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

/// The Graph API error envelope: `{"error":{"message":…,"type":…,"code":131026,…}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    code: u32,
    #[serde(default)]
    message: String,
}

/// Classifies a non-2xx answer by Graph error code, then by HTTP status (table in the module docs).
fn classify(reply: &Reply, pair_interval: Duration) -> SendFailure {
    let Ok(ErrorBody { error }) = serde_json::from_slice(&reply.body) else {
        return reply.unexplained("Meta");
    };
    let code = error.code;
    let known = |text: &str| format!("WhatsApp {code}: {text}");
    let some_code = Some(code.to_string());
    match code {
        130429 | 4 | 80007 => SendFailure::transient(some_code, known("rate limit hit"), reply.retry_after),
        131056 => SendFailure::transient(some_code, known("pair rate limit hit"), Some(pair_interval)),
        131000 => SendFailure::transient(some_code, known("something went wrong at Meta"), reply.retry_after),
        131026 => {
            SendFailure::permanent(some_code, known("undeliverable: not a WhatsApp user, or cannot receive"))
        }
        131047 => SendFailure::permanent(some_code, known("more than 24 hours since the user last replied")),
        131049 => SendFailure::permanent(some_code, known("withheld by Meta to keep engagement healthy")),
        190 => SendFailure::technical(some_code, known("the access token is invalid or expired")),
        100 | 131008 => SendFailure::technical(some_code, known("a parameter is invalid or missing")),
        132000 => SendFailure::technical(some_code, known("the template's parameter count does not match")),
        132001 => SendFailure::technical(some_code, known("the template does not exist in this language")),
        _ => {
            let reason =
                format!("WhatsApp {code} (HTTP {}): {}", reply.status, http::scrub(&error.message, 160));
            if http::is_retryable(reply.status) {
                SendFailure::transient(some_code, reason, reply.retry_after)
            } else {
                SendFailure::technical(some_code, reason)
            }
        }
    }
}

impl WhatsappCloud {
    /// Sends one message; waits for the account's rate limit first.
    pub async fn send(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        self.send_with(out, true).await
    }

    /// Sends one message at once: the caller has waited for [`WhatsappCloud::limit`] itself.
    pub async fn send_now(&self, out: &Outgoing) -> Result<Accepted, SendFailure> {
        self.send_with(out, false).await
    }

    /// The account's rate limit.
    pub fn limit(&self) -> &RateLimit {
        &self.limit
    }
}
