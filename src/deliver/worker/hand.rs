//! The claims a worker holds, each with the instant its lease ends as far as the worker knows.
//! A message is sent only while its lease has time left: a worker cut off from the database
//! (which cannot renew) stops sending before another worker may claim the message again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::store::Claim;

#[derive(Default)]
pub(super) struct Hand {
    /// Message id → (the claim's attempt number, when its lease ends).
    leases: Mutex<HashMap<i64, (i64, Instant)>>,
    /// Told whenever claims leave the hand.
    changed: Notify,
}

impl Hand {
    pub(super) fn take(&self, claims: &[Claim], lease_ends: Instant) {
        let mut leases = self.leases.lock().expect("the lock is never poisoned");
        for claim in claims {
            leases.insert(claim.id, (claim.attempt, lease_ends));
        }
    }

    /// The claims recorded or given back leave the hand.
    pub(super) fn done<'a>(&self, claims: impl IntoIterator<Item = &'a Claim>) {
        {
            let mut leases = self.leases.lock().expect("the lock is never poisoned");
            for claim in claims {
                if leases.get(&claim.id).is_some_and(|(attempt, _)| *attempt == claim.attempt) {
                    leases.remove(&claim.id);
                }
            }
        }
        self.changed.notify_waiters();
    }

    pub(super) fn holds(&self, claim: &Claim) -> bool {
        let leases = self.leases.lock().expect("the lock is never poisoned");
        leases.get(&claim.id).is_some_and(|(attempt, _)| *attempt == claim.attempt)
    }

    pub(super) fn len(&self) -> usize {
        self.leases.lock().expect("the lock is never poisoned").len()
    }

    /// Whether the claim is still ours with at least `margin` of its lease left.
    pub(super) fn fresh(&self, claim: &Claim, margin: Duration) -> bool {
        let leases = self.leases.lock().expect("the lock is never poisoned");
        leases.get(&claim.id).is_some_and(|(attempt, ends)| {
            *attempt == claim.attempt && ends.saturating_duration_since(Instant::now()) >= margin
        })
    }

    /// A renewal that started at `started` extended every lease still running then by `lease`;
    /// one that had already ended stays ended (another worker may have claimed the message).
    pub(super) fn renewed(&self, started: Instant, lease: Duration) {
        let mut leases = self.leases.lock().expect("the lock is never poisoned");
        for (_, ends) in leases.values_mut() {
            if *ends >= started {
                *ends = started + lease;
            }
        }
    }

    /// Resolves the next time claims leave the hand; registered at once, so a change between
    /// this call and the await is not missed.
    pub(super) fn changed(&self) -> std::pin::Pin<Box<tokio::sync::futures::Notified<'_>>> {
        let mut notified = Box::pin(self.changed.notified());
        notified.as_mut().enable();
        notified
    }
}
