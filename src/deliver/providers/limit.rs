//! Per-account rate limits: a GCRA token bucket (governor) with a burst of one, so no second ever
//! holds more than the configured rate, and waiting senders are released evenly.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A provider account's send rate; unlimited when not configured.
#[derive(Debug)]
pub struct RateLimit {
    limiter: Option<DefaultDirectRateLimiter>,
}

impl RateLimit {
    /// At most `per_second` sends in any second; `None` means no limit.
    pub fn per_second(per_second: Option<NonZeroU32>) -> Self {
        let limiter = per_second.map(|rate| {
            // A burst of one: with a burst of B, a window could hold B + R - 1 sends.
            RateLimiter::direct(Quota::per_second(rate).allow_burst(NonZeroU32::MIN))
        });
        Self { limiter }
    }

    /// Waits until the next send is allowed.
    pub async fn wait(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
    }
}
