//! The receipts server: the routes the providers and email recipients call.
//!
//! | route | who calls it | authenticated by |
//! |---|---|---|
//! | `POST /twilio/status` | Twilio status callbacks (`StatusCallback` of each message) | `X-Twilio-Signature` |
//! | `POST /twilio/inbound` | Twilio, for SMS (or Twilio WhatsApp) sent to kabar's number | `X-Twilio-Signature` |
//! | `GET /whatsapp/webhook` | Meta's verification handshake | `hub.verify_token` |
//! | `POST /whatsapp/webhook` | WhatsApp statuses and inbound messages | `X-Hub-Signature-256` |
//! | `POST /infobip/reports/{secret}` | Infobip delivery reports (`notifyUrl`) | the secret in the path |
//! | `GET /unsubscribe/{token}` | a person clicking an email's unsubscribe link: a form | the signed token |
//! | `POST /unsubscribe/{token}` | RFC 8058 one-click (or that form): unsubscribes | the signed token |
//!
//! A provider's routes answer 404 until its secret is configured. A missing or wrong signature
//! or secret is 401 (403 for an unsubscribe token) and changes nothing; a payload that is not the
//! provider's documented shape is 400; a receipt for a message kabar does not know is 200 and one
//! log line; a database failure is 500, so the provider delivers the webhook again later.
//!
//! Whatever a provider sent is logged through [`Untrusted`], so a crafted id or error text
//! cannot forge a log line. Each receipt, refusal and reply is counted ([`crate::observe::metrics`]).
//!
//! `kabar serve` serves these routes beside its others ([`crate::http`]); [`serve`] runs them
//! alone.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use tracing::{debug, error, info, warn};

use super::{infobip, twilio, unsubscribe, whatsapp, InboundReply, Receipt, ReceiptsConfig, WebhookError};
use crate::domain::Channel;
use crate::observe::{chain, metrics, Untrusted};
use crate::store::{ReplyOutcome, Store, StoreError};

/// What the handlers share.
#[derive(Clone)]
pub struct ReceiptsState {
    pub store: Store,
    pub config: Arc<ReceiptsConfig>,
    /// The applicant's channels, most preferred first: where a message goes after a permanent
    /// failure or an opt-out (the planner's `channels`).
    pub channels: Vec<Channel>,
}

/// Every route of the receipts server.
pub fn router(state: ReceiptsState) -> Router {
    Router::new()
        .route("/twilio/status", post(twilio_status))
        .route("/twilio/inbound", post(twilio_inbound))
        .route("/whatsapp/webhook", get(whatsapp_handshake).post(whatsapp_events))
        .route("/infobip/reports", post(infobip_without_secret))
        .route("/infobip/reports/{secret}", post(infobip_reports))
        .route("/unsubscribe/{token}", get(unsubscribe_form).post(unsubscribe))
        .with_state(state)
}

/// Serves the routes (and `GET /healthz`) on `listener` until `shutdown` completes, then
/// finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ReceiptsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    info!(address = %listener.local_addr()?, "receipts server listening");
    let app = router(state).route("/healthz", get(|| async { "ok" }));
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// A request kabar did not act on, with the provider it claimed to come from for the log line.
struct Refusal {
    provider: &'static str,
    kind: RefusalKind,
}

enum RefusalKind {
    /// The provider's secret is not configured: the route does not exist.
    NotConfigured,
    Webhook(WebhookError),
    Store(StoreError),
}

impl Refusal {
    fn not_configured(provider: &'static str) -> Self {
        Refusal { provider, kind: RefusalKind::NotConfigured }
    }

    fn unauthorized(provider: &'static str, what: &'static str) -> Self {
        Refusal { provider, kind: RefusalKind::Webhook(WebhookError::Unauthorized(what)) }
    }

    fn webhook(provider: &'static str) -> impl FnOnce(WebhookError) -> Self {
        move |err| Refusal { provider, kind: RefusalKind::Webhook(err) }
    }

    fn store(provider: &'static str) -> impl FnOnce(StoreError) -> Self {
        move |err| Refusal { provider, kind: RefusalKind::Store(err) }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let provider = self.provider;
        match self.kind {
            RefusalKind::NotConfigured => StatusCode::NOT_FOUND.into_response(),
            RefusalKind::Webhook(err @ WebhookError::Unauthorized(_)) => {
                metrics::webhook_refused(provider, "unauthorized");
                warn!(provider, "webhook refused: {err}");
                StatusCode::UNAUTHORIZED.into_response()
            }
            RefusalKind::Webhook(err @ WebhookError::Malformed(_)) => {
                metrics::webhook_refused(provider, "malformed");
                // The parsers quote what they could not read: it is the sender's text.
                let text = err.to_string();
                warn!(provider, "webhook refused: {}", Untrusted(&text));
                (StatusCode::BAD_REQUEST, text).into_response()
            }
            RefusalKind::Store(err) => {
                metrics::webhook_refused(provider, "store_error");
                error!(provider, "webhook not applied: {}", chain(&err));
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn apply_receipts(
    state: &ReceiptsState,
    provider: &'static str,
    receipts: &[Receipt],
) -> Result<(), Refusal> {
    for receipt in receipts {
        if let super::ReceiptStatus::Failed { permanent, code, .. } = &receipt.status {
            info!(
                provider,
                id = %Untrusted(&receipt.provider_message_id),
                code = code.as_deref().map(Untrusted).map(tracing::field::display),
                permanent,
                "delivery failed"
            );
        }
    }
    let report =
        state.store.apply_receipts(receipts, &state.channels).await.map_err(Refusal::store(provider))?;
    metrics::receipts(provider, &report);
    if report.unknown > 0 {
        info!(provider, unknown = report.unknown, "receipts for messages kabar does not know; ignored");
    }
    debug!(provider, applied = report.applied, stale = report.stale, "receipts applied");
    Ok(())
}

async fn apply_reply(state: &ReceiptsState, reply: &InboundReply) -> Result<(), Refusal> {
    let (provider, channel) = (reply.provider, reply.channel.as_str());
    if !reply.opt_out {
        metrics::inbound_reply(provider, channel, "ignored");
        debug!(provider, channel, from = %reply.from, "reply ignored");
        return Ok(());
    }
    let outcome = state
        .store
        .opt_out_by_reply(reply, &state.channels, Utc::now())
        .await
        .map_err(Refusal::store(provider))?;
    metrics::inbound_reply(provider, channel, outcome.as_str());
    let id = reply.provider_message_id.as_deref().map(Untrusted).map(tracing::field::display);
    match outcome {
        ReplyOutcome::Replayed => {
            info!(provider, channel, id, "opt-out reply delivered again; already recorded")
        }
        outcome => info!(
            provider,
            channel,
            id,
            from = %reply.from,
            matched = outcome == ReplyOutcome::OptedOut,
            "opt-out by reply"
        ),
    }
    Ok(())
}

/// The form parameters of a Twilio webhook whose signature is right.
fn twilio_params(
    state: &ReceiptsState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<twilio::Params, Refusal> {
    let provider = twilio::PROVIDER;
    let token = state.config.twilio_auth_token.as_ref().ok_or_else(|| Refusal::not_configured(provider))?;
    let signature = header_str(headers, twilio::SIGNATURE_HEADER)
        .ok_or_else(|| Refusal::unauthorized(provider, "X-Twilio-Signature"))?;
    let params = twilio::parse_form(body).map_err(Refusal::webhook(provider))?;
    let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    if !twilio::verify_signature(token, &state.config.public_base_url, path_and_query, &params, signature) {
        return Err(Refusal::unauthorized(provider, "X-Twilio-Signature"));
    }
    Ok(params)
}

#[tracing::instrument(skip_all)]
async fn twilio_status(
    State(state): State<ReceiptsState>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<StatusCode, Refusal> {
    let params = twilio_params(&state, &headers, &uri, &body)?;
    let receipt = twilio::parse_status(&params, Utc::now()).map_err(Refusal::webhook(twilio::PROVIDER))?;
    if let Some(receipt) = receipt {
        apply_receipts(&state, twilio::PROVIDER, &[receipt]).await?;
    }
    Ok(StatusCode::OK)
}

/// Empty TwiML: no automatic answer to the applicant.
const NO_REPLY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

#[tracing::instrument(skip_all)]
async fn twilio_inbound(
    State(state): State<ReceiptsState>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Refusal> {
    let params = twilio_params(&state, &headers, &uri, &body)?;
    match twilio::parse_inbound(&params).map_err(Refusal::webhook(twilio::PROVIDER))? {
        twilio::Inbound::Reply(reply) => apply_reply(&state, &reply).await?,
        twilio::Inbound::NotAMobile => debug!("reply from a number that is not a mobile; ignored"),
    }
    Ok(([(header::CONTENT_TYPE, "text/xml")], NO_REPLY).into_response())
}

#[tracing::instrument(skip_all)]
async fn whatsapp_handshake(
    State(state): State<ReceiptsState>,
    RawQuery(query): RawQuery,
) -> Result<Response, Refusal> {
    let provider = whatsapp::PROVIDER;
    let token =
        state.config.whatsapp_verify_token.as_ref().ok_or_else(|| Refusal::not_configured(provider))?;
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    match whatsapp::handshake(token, &query) {
        Some(challenge) => {
            info!(provider, "webhook verified");
            Ok(([(header::CONTENT_TYPE, "text/plain")], challenge.to_owned()).into_response())
        }
        None => {
            warn!(provider, "webhook verification refused: wrong mode or token");
            Ok(StatusCode::FORBIDDEN.into_response())
        }
    }
}

#[tracing::instrument(skip_all)]
async fn whatsapp_events(
    State(state): State<ReceiptsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Refusal> {
    let provider = whatsapp::PROVIDER;
    let secret =
        state.config.whatsapp_app_secret.as_ref().ok_or_else(|| Refusal::not_configured(provider))?;
    let signed = header_str(&headers, whatsapp::SIGNATURE_HEADER)
        .is_some_and(|signature| whatsapp::verify_signature(secret, &body, signature));
    if !signed {
        return Err(Refusal::unauthorized(provider, "X-Hub-Signature-256"));
    }
    let events = whatsapp::parse_events(&body).map_err(Refusal::webhook(provider))?;
    if !events.receipts.is_empty() {
        apply_receipts(&state, provider, &events.receipts).await?;
    }
    for reply in &events.replies {
        apply_reply(&state, reply).await?;
    }
    if events.not_mobile > 0 {
        debug!(provider, count = events.not_mobile, "messages from numbers that are not mobiles; ignored");
    }
    Ok(StatusCode::OK)
}

#[tracing::instrument(skip_all)]
async fn infobip_without_secret(State(state): State<ReceiptsState>) -> Refusal {
    match state.config.infobip_secret {
        Some(_) => Refusal::unauthorized(infobip::PROVIDER, "secret in the notifyUrl path"),
        None => Refusal::not_configured(infobip::PROVIDER),
    }
}

#[tracing::instrument(skip_all)]
async fn infobip_reports(
    State(state): State<ReceiptsState>,
    Path(given): Path<String>,
    body: Bytes,
) -> Result<StatusCode, Refusal> {
    let provider = infobip::PROVIDER;
    let secret = state.config.infobip_secret.as_ref().ok_or_else(|| Refusal::not_configured(provider))?;
    if !infobip::secret_matches(secret, &given) {
        return Err(Refusal::unauthorized(provider, "secret in the notifyUrl path"));
    }
    let receipts = infobip::parse_reports(&body, Utc::now()).map_err(Refusal::webhook(provider))?;
    if !receipts.is_empty() {
        apply_receipts(&state, provider, &receipts).await?;
    }
    Ok(StatusCode::OK)
}

/// The applicant a link's token names, or the response for a link kabar did not make.
fn unsubscriber(state: &ReceiptsState, token: &str) -> Result<Result<i64, Response>, Refusal> {
    let key = state.config.unsubscribe_key.as_ref().ok_or_else(|| Refusal::not_configured("email"))?;
    Ok(unsubscribe::verify_token(key, token).ok_or_else(|| {
        warn!(provider = "email", "unsubscribe link with an invalid token");
        (StatusCode::FORBIDDEN, Html(unsubscribe::invalid_page())).into_response()
    }))
}

#[tracing::instrument(skip_all)]
async fn unsubscribe_form(
    State(state): State<ReceiptsState>,
    Path(token): Path<String>,
) -> Result<Response, Refusal> {
    Ok(match unsubscriber(&state, &token)? {
        Ok(_) => Html(unsubscribe::confirm_page()).into_response(),
        Err(invalid) => invalid,
    })
}

/// RFC 8058 one-click. The body (`List-Unsubscribe=One-Click`, form-encoded or multipart) is not
/// inspected: the signed token alone authorises, and mailbox providers differ in how they send it.
#[tracing::instrument(skip_all)]
async fn unsubscribe(
    State(state): State<ReceiptsState>,
    Path(token): Path<String>,
) -> Result<Response, Refusal> {
    let applicant_id = match unsubscriber(&state, &token)? {
        Ok(applicant_id) => applicant_id,
        Err(invalid) => return Ok(invalid),
    };
    let known = state.store.unsubscribe_email(applicant_id).await.map_err(Refusal::store("email"))?;
    info!(provider = "email", applicant_id, known, "unsubscribed from email");
    Ok(Html(unsubscribe::done_page()).into_response())
}
