//! Preparing claimed messages: their facts loaded, rendered for their channel, or settled at once
//! when they cannot or need not be sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use super::send::settled;
use super::Worker;
use crate::deliver::{Destination, Outgoing};
use crate::domain::Channel;
use crate::plan::notice::{About, Notices};
use crate::receipts::unsubscribe_url;
use crate::render::render;
use crate::store::{
    AttemptOutcome, BroadcastRecord, Claim, EventFacts, MessageFacts, OfficeDirectory, StoreError,
    SubscriberMessageFacts,
};

/// Facts by id, loaded once per worker: a notice event or a broadcast does not change once its
/// messages are planned (a cancelled broadcast's messages are cancelled, never claimed).
pub(super) struct Cached<T>(Mutex<HashMap<i64, Arc<T>>>);

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached(Mutex::new(HashMap::new()))
    }
}

impl<T> Cached<T> {
    async fn get_or_load<F, Fut>(&self, id: i64, load: F) -> Result<Option<Arc<T>>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, StoreError>>,
    {
        if let Some(found) = self.0.lock().expect("the lock is never poisoned").get(&id) {
            return Ok(Some(found.clone()));
        }
        let Some(loaded) = load().await? else { return Ok(None) };
        let loaded = Arc::new(loaded);
        self.0.lock().expect("the lock is never poisoned").insert(id, loaded.clone());
        Ok(Some(loaded))
    }
}

/// A claimed message, ready to send or already settled without sending.
pub(super) enum Prepared {
    Send { claim: Claim, channel: Channel, outgoing: Box<Outgoing> },
    Settled(crate::store::Attempt),
}

/// Offices are reloaded this often, so a worker sees a new office list without a restart.
const DIRECTORY_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl Worker {
    /// Claims up to `limit` due messages for this worker and prepares each. Returns how many
    /// were claimed (every one is in hand, with its lease, until recorded or released).
    pub(super) async fn claim(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<(usize, Vec<Prepared>), StoreError> {
        let lease = Duration::seconds(self.config.lease_seconds as i64);
        let taken_at = tokio::time::Instant::now();
        let claims = self.store.claim_messages(&self.identity.id, now, lease, limit).await?;
        if claims.is_empty() {
            return Ok((0, Vec::new()));
        }
        self.hand.take(&claims, taken_at + self.lease());
        let ids: Vec<i64> = claims.iter().map(|claim| claim.id).collect();
        let prepared = async {
            let facts = self.store.message_facts(&ids).await?;
            let directory = self.directory().await?;
            // A status subscriber's message has no applicant, so no applicant facts: only a batch
            // that holds some (fewer facts than claims) asks for subscribers' facts, and an
            // applicants-only batch costs nothing more than before.
            let mut subscribers: HashMap<i64, SubscriberMessageFacts> = if facts.len() < claims.len() {
                let known: std::collections::HashSet<i64> = facts.iter().map(|facts| facts.id).collect();
                let others: Vec<i64> = ids.iter().copied().filter(|id| !known.contains(id)).collect();
                let found = self.store.subscriber_message_facts(&others).await?;
                found.into_iter().map(|facts| (facts.id, facts)).collect()
            } else {
                HashMap::new()
            };
            let mut facts: HashMap<i64, MessageFacts> =
                facts.into_iter().map(|facts| (facts.id, facts)).collect();
            let mut prepared = Vec::with_capacity(claims.len());
            for claim in &claims {
                // Every claimed id has its facts: messages are never deleted while queued.
                if let Some(message) = facts.remove(&claim.id) {
                    prepared.push(self.prepare(*claim, message, &directory, now).await?);
                } else if let Some(message) = subscribers.remove(&claim.id) {
                    prepared.push(self.prepare_for_subscriber(*claim, message, &directory, now).await?);
                }
            }
            Ok::<_, StoreError>(prepared)
        }
        .await;
        match prepared {
            Ok(prepared) => Ok((claims.len(), prepared)),
            Err(err) => {
                // Claimed but not prepared: given back at once where the store lets us, else
                // they wait for their lease.
                let _ = self.store.release_claims(&claims, now).await;
                self.hand.done(claims.iter());
                Err(err)
            }
        }
    }

    pub(super) async fn directory(&self) -> Result<Arc<OfficeDirectory>, StoreError> {
        {
            let cached = self.directory.lock().expect("the lock is never poisoned");
            if cached.0.elapsed() < DIRECTORY_TTL {
                return Ok(cached.1.clone());
            }
        }
        let fresh = Arc::new(self.store.office_directory().await?);
        *self.directory.lock().expect("the lock is never poisoned") = (Instant::now(), fresh.clone());
        Ok(fresh)
    }

    async fn event(&self, id: i64) -> Result<Option<Arc<EventFacts>>, StoreError> {
        self.events.get_or_load(id, || self.store.event_facts(id)).await
    }

    async fn broadcast(&self, id: i64) -> Result<Option<Arc<BroadcastRecord>>, StoreError> {
        self.broadcasts.get_or_load(id, || self.store.broadcast(id)).await
    }

    /// Renders a claimed message, or settles it at once: a channel refused since planning moves
    /// on; a message that cannot be written fails visibly (a render error is permanent).
    async fn prepare(
        &self,
        claim: Claim,
        mut message: MessageFacts,
        directory: &OfficeDirectory,
        now: DateTime<Utc>,
    ) -> Result<Prepared, StoreError> {
        let Some(channel) = message.channel else {
            return Ok(Prepared::Settled(settled(
                claim,
                Channel::Sms,
                now,
                AttemptOutcome::Failed { class: "permanent" },
                "no usable channel",
            )));
        };
        let settle =
            |outcome, error: String| Prepared::Settled(settled(claim, channel, now, outcome, &error));
        if message.applicant.opted_out.contains(&channel) {
            return Ok(settle(AttemptOutcome::FallBack, format!("the applicant opted out of {channel}")));
        }
        let event;
        let broadcast;
        let about = match (message.event_id, message.broadcast_id) {
            (Some(id), _) => match self.event(id).await? {
                Some(found) => {
                    event = found;
                    About::Event(&event)
                }
                None => {
                    return Ok(settle(
                        AttemptOutcome::Failed { class: "permanent" },
                        format!("notice event {id} is gone"),
                    ))
                }
            },
            (None, Some(id)) => match self.broadcast(id).await? {
                Some(found) => {
                    broadcast = found;
                    About::Broadcast(&broadcast)
                }
                None => {
                    return Ok(settle(
                        AttemptOutcome::Failed { class: "permanent" },
                        format!("broadcast {id} is gone"),
                    ))
                }
            },
            (None, None) => {
                return Ok(settle(
                    AttemptOutcome::Failed { class: "permanent" },
                    "the message has no source".into(),
                ))
            }
        };
        // A booking closed since planning (cancelled, picked up) is not mentioned; a message left
        // with none was cancelled by the import that closed it.
        if message.bookings.iter().any(|booking| !booking.stage.is_closed()) {
            message.bookings.retain(|booking| !booking.stage.is_closed());
        }
        let unsubscribe =
            self.receipts.as_deref().and_then(|receipts| unsubscribe_url(receipts, message.applicant.id));
        let notices = Notices { directory, config: &self.notices };
        let rendered = notices
            .context(&message.office, message.kind, &message.applicant, &message.bookings, about, unsubscribe)
            .map_err(|err| err.to_string())
            .and_then(|context| {
                render(&self.catalogue, message.kind, channel, message.language, &context)
                    .map_err(|err| err.to_string())
            });
        let content = match rendered {
            Ok(content) => content,
            Err(error) => {
                tracing::error!(message_id = message.id, kind = %message.kind, %channel, %error, "a notice cannot be rendered");
                return Ok(settle(AttemptOutcome::Failed { class: "permanent" }, format!("render: {error}")));
            }
        };
        let applicant = &message.applicant;
        let to = match channel {
            Channel::Whatsapp => {
                Destination::Phone(applicant.whatsapp.clone().unwrap_or_else(|| applicant.mobile.clone()))
            }
            Channel::Sms => Destination::Phone(applicant.mobile.clone()),
            Channel::Email => match &applicant.email {
                Some(address) => {
                    Destination::Email { address: address.clone(), name: applicant.name.clone() }
                }
                None => return Ok(settle(AttemptOutcome::FallBack, "no email address".into())),
            },
        };
        Ok(Prepared::Send {
            claim,
            channel,
            outgoing: Box::new(Outgoing { message_id: message.id, to, content, at: now }),
        })
    }
}
