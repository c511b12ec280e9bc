//! Per-account rate limits: a GCRA token bucket (governor) that spaces sends evenly, and a
//! one-second window over the last `R` sends that makes "no second holds more than `R`" exact.
//!
//! Why both: a bucket with a burst of one never lets a second hold more than `R`, but it cannot
//! make up for a sender woken late (tokio's timer wheel ticks in milliseconds, so at 200/s every
//! 5 ms slot starts up to a millisecond late) and sustained only ~96% of `R`. A burst of `B`
//! absorbs that lateness but lets a window hold `R + B − 1`; the window check takes that back.
//! The window is 5 ms longer than a second: a request held up on its way (a busy core, a slow
//! connection) arrives later than the ones released after it, and the margin keeps the
//! provider's own count of any second within `R` for a delay up to 5 ms more than its
//! neighbours'. It costs 0.5% of the rate (the design's ceiling is 0.995 R; 20 ms cost 2%).
//!
//! The rate is the account's, not the process's: the workers of one database divide it between
//! them (the worker's heartbeat sets each one's share, see `deliver::worker`).

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;
use tokio::time::Instant;

/// A provider account's send rate; unlimited when not configured. Several worker processes on
/// one database divide the account's rate: each runs at the share the registry gives it
/// ([`RateLimit::set_share`]), so together they stay within what the account allows.
#[derive(Debug)]
pub struct RateLimit {
    configured: Option<NonZeroU32>,
    share: Mutex<Share>,
    changed: Notify,
}

#[derive(Debug, Clone)]
enum Share {
    Unlimited,
    /// A share of nothing: another worker holds the whole rate for now. Keeps the sends of the
    /// share before, which still count when it grows again within a window.
    Paused(Arc<VecDeque<Instant>>),
    Limited(Arc<Limit>),
}

#[derive(Debug)]
struct Limit {
    bucket: DefaultDirectRateLimiter,
    /// When each send of the last window was let through, oldest first (all of them, not only
    /// the last `rate`: a share that shrinks and grows again within a second still counts
    /// every send of that second).
    window: Mutex<Window>,
    rate: usize,
}

#[derive(Debug, Default)]
struct Window {
    sent: VecDeque<Instant>,
    /// A new share replaced this one: sends waiting here wait again on the new one.
    retired: bool,
}

/// One second and the margin for requests delayed on their way.
const WINDOW: Duration = Duration::from_millis(1_005);
/// A rate given up by other workers counts as sent at the account's pace up to the moment it was
/// given up, but for this many sends counted as made at that moment: the bursts their buckets
/// allow beyond an even pace (a few sends each).
const BURSTS: u32 = 8;

impl Limit {
    /// At most `rate` sends in any window, counting the sends `history` already let through.
    fn new(rate: NonZeroU32, history: &VecDeque<Instant>) -> Self {
        // About 5 ms of sends (at least 2): enough to catch up a late wake-up, small enough
        // that a provider measuring over shorter intervals sees an even pace.
        let burst = NonZeroU32::new((rate.get() / 200).max(2)).unwrap_or(NonZeroU32::MIN);
        Limit {
            bucket: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            window: Mutex::new(Window { sent: history.clone(), retired: false }),
            rate: rate.get() as usize,
        }
    }

    /// Waits for this share to let a send through: `false` when the share was replaced
    /// meanwhile (nothing counted).
    async fn wait(&self) -> bool {
        self.bucket.until_ready().await;
        loop {
            let free_at = {
                let mut window = self.window.lock().expect("the lock is never poisoned");
                if window.retired {
                    return false;
                }
                let sent = &mut window.sent;
                let now = Instant::now();
                while sent.front().is_some_and(|&oldest| now.duration_since(oldest) >= WINDOW) {
                    sent.pop_front();
                }
                if sent.len() < self.rate {
                    sent.push_back(now);
                    return true;
                }
                // Free when all but `rate - 1` of the sends in the window have left it.
                sent[sent.len() - self.rate] + WINDOW
            };
            tokio::time::sleep_until(free_at).await;
        }
    }
}

impl RateLimit {
    /// At most `per_second` sends in any second; `None` means no limit.
    pub fn per_second(per_second: Option<NonZeroU32>) -> Self {
        let share = match per_second {
            Some(rate) => Share::Limited(Arc::new(Limit::new(rate, &VecDeque::new()))),
            None => Share::Unlimited,
        };
        Self { configured: per_second, share: Mutex::new(share), changed: Notify::new() }
    }

    /// The account's rate as configured (the whole of it, whatever this worker's share).
    pub fn configured(&self) -> Option<NonZeroU32> {
        self.configured
    }

    /// This worker's share of the account's rate now: `None` when unlimited, `Some(0)` paused.
    pub fn share(&self) -> Option<u32> {
        match &*self.share.lock().expect("the lock is never poisoned") {
            Share::Unlimited => None,
            Share::Paused(_) => Some(0),
            Share::Limited(limit) => Some(limit.rate as u32),
        }
    }

    /// Sends at most `per_second` from now on (0: none until the share grows). The sends of
    /// the last second still count, so a smaller share never lets a window hold more than it.
    /// A larger share grows a second later: the part of the rate it gains was another worker's,
    /// whose sends of the last second this one cannot see, so they are counted as made now.
    /// No effect on an unlimited account.
    pub fn set_share(&self, per_second: u32) {
        self.set_share_after(per_second, Instant::now());
    }

    /// [`RateLimit::set_share`], where the rate a larger share gains was given up at `given_up`
    /// (its sends all came before): they count as made then.
    pub fn set_share_after(&self, per_second: u32, given_up: Instant) {
        let mut share = self.share.lock().expect("the lock is never poisoned");
        let (mut history, was) = match &*share {
            Share::Unlimited => return,
            Share::Limited(limit) if limit.rate == per_second as usize => return,
            Share::Paused(_) if per_second == 0 => return,
            Share::Limited(limit) => {
                let mut window = limit.window.lock().expect("the lock is never poisoned");
                window.retired = true;
                (window.sent.clone(), limit.rate)
            }
            Share::Paused(sent) => (VecDeque::clone(sent), 0),
        };
        let gained = (per_second as usize).saturating_sub(was);
        if gained > 0 && Instant::now().saturating_duration_since(given_up) < WINDOW {
            // The others sent at most the account's rate, evenly paced (their own limiters), so
            // what they sent beyond their new shares leaves the window at that pace: count the
            // gained part as sends at that pace up to `given_up`.
            let pace = Duration::from_secs(1) / self.configured.map_or(per_second, NonZeroU32::get).max(1);
            let mut sent: Vec<Instant> = history.into_iter().collect();
            // Less the bursts their buckets allow (a few sends each): the newest count as at `given_up`.
            let paced = |k: u32| given_up.checked_sub(pace * k.saturating_sub(BURSTS)).unwrap_or(given_up);
            sent.extend((0..gained as u32).map(paced));
            sent.sort_unstable();
            history = sent.into();
        }
        *share = match NonZeroU32::new(per_second) {
            Some(rate) => Share::Limited(Arc::new(Limit::new(rate, &history))),
            None => Share::Paused(Arc::new(history)),
        };
        drop(share);
        self.changed.notify_waiters();
    }

    /// When the last send was let through, if within the last window.
    pub fn last_send(&self) -> Option<Instant> {
        let share = self.share.lock().expect("the lock is never poisoned");
        let Share::Limited(limit) = &*share else { return None };
        let last = *limit.window.lock().expect("the lock is never poisoned").sent.back()?;
        (Instant::now().saturating_duration_since(last) < WINDOW).then_some(last)
    }

    /// Waits until the next send is allowed, and counts it as sent. A send waiting when the
    /// share changes waits again on the new share (never on the old one: with `concurrency`
    /// sends waiting, the old share would let them all out at the old pace). Cancel-safe:
    /// dropped while waiting, nothing is counted that was not let through.
    pub async fn wait(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let share = self.share.lock().expect("the lock is never poisoned").clone();
            match share {
                Share::Unlimited => return,
                Share::Paused(_) => changed.await,
                Share::Limited(limit) => {
                    tokio::select! {
                        let_through = limit.wait() => if let_through { return },
                        () = changed => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window holds the line where the bucket's burst would allow more: no send is let
    /// through within a second of the send `rate` places before it (the instants are the
    /// limiter's own, so a slow machine cannot blur them), and the pace stays near the rate.
    #[tokio::test]
    async fn no_window_of_one_second_holds_more_than_the_rate() {
        let rate = 20;
        let limit = RateLimit::per_second(NonZeroU32::new(rate));
        let Share::Limited(inner) = limit.share.lock().unwrap().clone() else { panic!("limited") };
        let started = Instant::now();
        let mut released = Vec::new();
        for _ in 0..50 {
            limit.wait().await;
            released.push(*inner.window.lock().unwrap().sent.back().unwrap());
        }
        for sends in released.windows(rate as usize + 1) {
            assert!(sends[rate as usize] - sends[0] >= WINDOW, "{:?}", sends[rate as usize] - sends[0]);
        }
        // 50 sends at 20/s take about 2.4 s; a limiter that lost its pace would take far longer.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(2_000) && elapsed <= Duration::from_secs(5), "{elapsed:?}");
    }

    /// A share that grows (here from nothing, as when a worker joins) waits for the sends the
    /// others made with the rate it gains to leave the window: up to the moment they gave it up,
    /// at the account's pace (20/s: one each 50 ms), the last `BURSTS` of them at that moment.
    #[tokio::test]
    async fn a_grown_share_waits_for_the_last_second_of_the_others() {
        let limit = RateLimit::per_second(NonZeroU32::new(20));
        limit.set_share(0);
        let grown = Instant::now();
        limit.set_share(10);
        limit.wait().await;
        // The oldest of the ten counted sends: 10 - 1 - BURSTS = 1 pace before the growth.
        let first_allowed = WINDOW - Duration::from_millis(50);
        assert!(
            grown.elapsed() >= first_allowed,
            "the first send came {:?} after the share grew",
            grown.elapsed()
        );
        let resumed = Instant::now();
        for _ in 1..10 {
            limit.wait().await;
        }
        assert!(
            resumed.elapsed() < Duration::from_secs(1),
            "the grown share is used: {:?}",
            resumed.elapsed()
        );
    }

    /// Sends already waiting when the share shrinks wait on the new share: many of them (one
    /// per concurrent send) must not go on at the old pace.
    #[tokio::test]
    async fn waiting_sends_keep_to_a_share_that_shrinks() {
        let limit = Arc::new(RateLimit::per_second(NonZeroU32::new(40)));
        let released = Arc::new(Mutex::new(Vec::new()));
        let mut senders = Vec::new();
        for _ in 0..16 {
            let (limit, released) = (limit.clone(), released.clone());
            senders.push(tokio::spawn(async move {
                loop {
                    limit.wait().await;
                    released.lock().unwrap().push(Instant::now());
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let shrunk = Instant::now();
        limit.set_share(5);
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        for sender in senders {
            sender.abort();
        }
        let after = released.lock().unwrap().iter().filter(|&&at| at > shrunk).count();
        assert!(after <= 5, "{after} sends in the second after the share shrank to 5");
    }

    /// A share paused and grown again within a second still counts its own sends of that second.
    #[tokio::test]
    async fn a_paused_share_remembers_its_sends() {
        let limit = RateLimit::per_second(NonZeroU32::new(10));
        let first = Instant::now();
        for _ in 0..10 {
            limit.wait().await;
        }
        limit.set_share(0);
        // Given up long ago by the others: only this worker's own sends hold it back.
        let long_ago = Instant::now().checked_sub(Duration::from_secs(5)).unwrap();
        limit.set_share_after(10, long_ago);
        limit.wait().await;
        assert!(first.elapsed() >= WINDOW, "an eleventh send {:?} after the first", first.elapsed());
    }
}
