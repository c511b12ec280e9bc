//! One try of one message on its channel's provider, classified into what the message does next.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::Worker;
use crate::deliver::providers::failover::Outcome;
use crate::deliver::providers::Provider;
use crate::deliver::{Destination, FailureKind, Outgoing, SendFailure};
use crate::domain::Channel;
use crate::observe::metrics::{SENDS_TOTAL, SEND_DURATION_SECONDS};
use crate::store::{Attempt, AttemptOutcome, Claim};

impl Worker {
    /// Hands the message to `provider` (whose rate limit the caller has waited for) and turns the
    /// answer into the attempt to record.
    pub(super) async fn send(
        &self,
        claim: Claim,
        channel: Channel,
        (index, provider): (usize, &Provider),
        outgoing: &Outgoing,
        now: DateTime<Utc>,
    ) -> Attempt {
        let started = Instant::now();
        let result = provider.send_now(outgoing).await;
        let elapsed = started.elapsed();
        self.providers.record(channel, index, Outcome::of(&result));
        let mut attempt = Attempt {
            claim,
            channel,
            provider: provider.name().to_owned(),
            started_at: now,
            duration_ms: elapsed.as_millis() as i64,
            outcome: AttemptOutcome::Failed { class: "technical" },
            response_code: None,
            error: None,
        };
        let outcome = match result {
            Ok(accepted) => {
                attempt.response_code = Some(accepted.response_code);
                attempt.outcome =
                    AttemptOutcome::Accepted { provider_message_id: accepted.provider_message_id };
                "accepted"
            }
            Err(SendFailure { kind, code, reason }) => {
                attempt.response_code = code;
                attempt.error = Some(reason.clone());
                let (outcome, label) = match kind {
                    FailureKind::Transient { retry_after } => match self.retry(claim, retry_after, now) {
                        Some(retry_at) => (AttemptOutcome::Retry { retry_at }, "transient"),
                        None => {
                            attempt.error =
                                Some(format!("gave up after {} attempts: {reason}", claim.channel_attempt));
                            (AttemptOutcome::Failed { class: "technical" }, "transient")
                        }
                    },
                    FailureKind::Permanent { opted_out } => {
                        if let (true, Destination::Phone(number)) = (opted_out, &outgoing.to) {
                            // The provider knows the recipient unsubscribed (Twilio 21610).
                            if let Err(err) = self.store.set_opt_out(number, channel, true).await {
                                tracing::warn!(%number, error = %err, "could not record an opt-out");
                            }
                        }
                        (AttemptOutcome::FallBack, "permanent")
                    }
                    FailureKind::Technical => {
                        // `?`: the reason quotes the provider, whose text may hold line breaks.
                        tracing::error!(message_id = claim.id, provider = provider.name(), reason = ?reason, "the provider refused kabar's request");
                        (AttemptOutcome::Failed { class: "technical" }, "technical")
                    }
                };
                attempt.outcome = outcome;
                label
            }
        };
        let labels = [("provider", provider.name()), ("channel", channel.as_str()), ("outcome", outcome)];
        metrics::counter!(SENDS_TOTAL, &labels).increment(1);
        metrics::histogram!(SEND_DURATION_SECONDS, "provider" => provider.name())
            .record(elapsed.as_secs_f64());
        attempt
    }

    /// Exponential backoff with ±20% jitter, at least the provider's `Retry-After`; past the
    /// attempt budget the message fails as `technical`.
    fn retry(
        &self,
        claim: Claim,
        retry_after: Option<std::time::Duration>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if claim.channel_attempt >= i64::from(self.config.max_attempts) {
            return None;
        }
        let exponent = u32::try_from(claim.channel_attempt.saturating_sub(1)).unwrap_or(u32::MAX).min(20);
        let base =
            self.config.backoff_seconds.saturating_mul(1u64 << exponent).min(self.config.backoff_max_seconds);
        let jittered = base as f64 * rand::thread_rng().gen_range(0.8..1.2);
        let wait = jittered.max(retry_after.map_or(0.0, |after| after.as_secs_f64()));
        let retry_at = now + Duration::milliseconds((wait * 1000.0) as i64);
        let deadline = claim.created_at + Duration::hours(i64::from(self.config.max_age_hours));
        (retry_at <= deadline).then_some(retry_at)
    }
}

/// An attempt kabar settles itself, without asking a provider.
pub(super) fn settled(
    claim: Claim,
    channel: Channel,
    now: DateTime<Utc>,
    outcome: AttemptOutcome,
    error: &str,
) -> Attempt {
    Attempt {
        claim,
        channel,
        provider: "kabar".into(),
        started_at: now,
        duration_ms: 0,
        outcome,
        response_code: None,
        error: Some(error.to_owned()),
    }
}
