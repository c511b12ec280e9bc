//! What the HTTP providers share: one pooled client, the request/answer round trip with its
//! timeout and body cap, `Retry-After`, and the failures that do not depend on the provider
//! (transport errors, a status the provider did not explain).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

use super::ProviderError;
use crate::deliver::SendFailure;

/// Error bodies are a few hundred bytes; a misbehaving proxy could send megabytes of HTML.
const BODY_CAP: usize = 64 * 1024;

/// The one HTTP client every provider shares: connections to a provider are pooled and reused
/// across sends. Each provider sets its own timeout per request. Redirects are not followed: a
/// provider API never redirects a POST, so a 3xx means a wrong `base_url`, and following it would
/// resend credentials to another host.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("kabar/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        // Only the TLS backend can fail here, and rustls with built-in roots has nothing to load.
        .expect("the HTTP client builds with rustls and its built-in roots")
}

/// A provider's answer, read: its status, its `Retry-After` and at most [`BODY_CAP`] bytes of body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The HTTP status as stored in `SendFailure.code` or `Accepted.response_code`.
    pub fn code(&self) -> String {
        self.status.as_u16().to_string()
    }

    /// The failure for a status whose body said nothing kabar knows: 429 and 5xx are the provider
    /// being busy or broken, so retry; any other status means the request itself was refused,
    /// which only an operator can fix.
    pub fn unexplained(&self, provider: &str) -> SendFailure {
        let reason = format!("{provider} answered HTTP {}", self.status);
        if is_retryable(self.status) {
            SendFailure::transient(Some(self.code()), reason, self.retry_after)
        } else {
            SendFailure::technical(Some(self.code()), reason)
        }
    }
}

/// HTTP statuses worth retrying whatever the body says.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Sends a request and reads the answer within `timeout` (connecting, sending and reading the
/// body all count). A request that got no complete answer is a transient failure: the provider may
/// or may not have taken it, and the providers' own guidance is to retry.
pub(crate) async fn execute(request: RequestBuilder, timeout: Duration) -> Result<Reply, SendFailure> {
    let response = request.timeout(timeout).send().await.map_err(|err| transport_failure(err, timeout))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()));
    let body = read_capped(response).await.map_err(|err| transport_failure(err, timeout))?;
    Ok(Reply { status, retry_after, body })
}

/// Reads the body up to [`BODY_CAP`] and drops the rest (and with it the connection).
async fn read_capped(mut response: Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_CAP - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == BODY_CAP {
            break;
        }
    }
    Ok(body)
}

/// Timeouts, refused connections and connections closed before an answer: transient. A request
/// reqwest could not even build is kabar's own fault.
fn transport_failure(err: reqwest::Error, timeout: Duration) -> SendFailure {
    // The URL holds account ids; the root cause (e.g. "connection reset by peer") is what helps.
    let err = err.without_url();
    let mut cause: &dyn std::error::Error = &err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    if err.is_builder() {
        return SendFailure::technical(None, format!("could not build the request: {cause}"));
    }
    let reason = if err.is_timeout() {
        format!("no answer within {} s", timeout.as_secs())
    } else if err.is_connect() {
        format!("could not connect: {cause}")
    } else {
        format!("connection failed: {cause}")
    };
    SendFailure::transient(None, reason, None)
}

/// `Retry-After` as RFC 9110 §10.2.3 defines it: a number of seconds, or an HTTP-date (IMF-fixdate,
/// or the obsolete RFC 850 and asctime forms every recipient must still accept). A date in the
/// past means now.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(at.timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|date| date.and_utc())
}

/// A provider's own error text, made safe for the attempt row: runs of seven or more digits
/// (phone numbers, which providers echo back, e.g. Twilio 21211) become `<number>`, the text is
/// cut to `max` characters, and control characters are escaped ([`crate::observe::Untrusted`]).
pub(crate) fn scrub(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.trim_start_matches('+').len() >= 7 {
            out.push_str("<number>");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || (c == '+' && digits.is_empty()) {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect::<String>() + "…";
    }
    // The reason is logged: a CR or LF in a provider's text must not start a forged log line.
    crate::observe::untrusted(&out)
}

/// An `Authorization` header (`App <key>`, `Bearer <token>`) built once, marked sensitive so
/// reqwest and hyper never print it. `field` names the configuration key for the error.
pub(crate) fn authorization(
    provider: &'static str,
    field: &str,
    scheme: &str,
    secret: &SecretString,
) -> Result<HeaderValue, ProviderError> {
    let secret = secret.expose_secret();
    let mut value = HeaderValue::from_str(&format!("{scheme} {secret}"))
        .ok()
        .filter(|_| !secret.is_empty() && secret.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| ProviderError::Config {
            provider,
            message: format!("{field} must be given as the provider shows it, without spaces"),
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `timeout_seconds` when the configuration does not say.
pub(crate) fn default_timeout_seconds() -> u64 {
    10
}

/// Checks `timeout_seconds` and turns it into the per-request timeout.
pub(crate) fn request_timeout(provider: &'static str, seconds: u64) -> Result<Duration, ProviderError> {
    if !(1..=300).contains(&seconds) {
        return Err(ProviderError::Config {
            provider,
            message: format!("timeout_seconds = {seconds} is out of range; use 1 to 300"),
        });
    }
    Ok(Duration::from_secs(seconds))
}

/// `base_url` with path segments appended, e.g. `/2010-04-01/Accounts/AC…/Messages.json`. The
/// segments are percent-encoded, and a path already in `base_url` (a proxy prefix) is kept.
pub(crate) fn endpoint(provider: &'static str, base: &Url, segments: &[&str]) -> Result<Url, ProviderError> {
    let refuse = |message: String| ProviderError::Config { provider, message };
    if !matches!(base.scheme(), "http" | "https") {
        return Err(refuse(format!("base_url = {base} is not an http or https URL")));
    }
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| refuse(format!("base_url = {base} cannot have a path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// Deserialises a [`Url`] from a string (the `url` crate's own serde support is not enabled).
pub(crate) fn deserialize_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    let text = String::deserialize(deserializer)?;
    Url::parse(&text).map_err(|err| serde::de::Error::custom(format!("{text:?} is not a URL ({err})")))
}

/// [`deserialize_url`] for an optional URL.
pub(crate) fn deserialize_optional_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Url>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => Url::parse(&text)
            .map(Some)
            .map_err(|err| serde::de::Error::custom(format!("{text:?} is not a URL ({err})"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_every_http_date_form() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_717); // Sun, 06 Nov 1994 08:48:37 GMT
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        for date in
            ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"]
        {
            assert_eq!(parse_retry_after(date, now), Some(Duration::from_secs(60)), "{date}");
        }
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn scrub_hides_numbers_and_keeps_codes() {
        assert_eq!(
            scrub("The 'To' number +6281234567890 is not a valid phone number.", 200),
            "The 'To' number <number> is not a valid phone number."
        );
        assert_eq!(scrub("(#131026) Message undeliverable", 200), "(#131026) Message undeliverable");
        assert_eq!(scrub("abcdef", 4), "abc…");
        assert_eq!(scrub("bad\r\nINFO forged", 200), "bad\\r\\nINFO forged");
    }

    #[test]
    fn endpoints_keep_a_prefix_and_encode_segments() {
        let base = Url::parse("http://127.0.0.1:8080/proxy/?x=1").unwrap();
        let url = endpoint("test", &base, &["v21.0", "12 3", "messages"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/proxy/v21.0/12%203/messages");
        let bare = Url::parse("https://api.twilio.com").unwrap();
        assert_eq!(endpoint("test", &bare, &["a"]).unwrap().as_str(), "https://api.twilio.com/a");
        assert!(endpoint("test", &Url::parse("mailto:x@example.com").unwrap(), &["a"]).is_err());
    }
}
