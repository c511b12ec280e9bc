//! Preparing a status subscriber's claimed message (a confirmation or an update mail): the same
//! outbox, claim, provider and recording as an applicant's notice, but written from the
//! subscription ([`crate::status::subscriptions`]) instead of an applicant and bookings.

use chrono::{DateTime, Utc};

use super::prepare::Prepared;
use super::send::settled;
use super::Worker;
use crate::deliver::{Destination, Outgoing};
use crate::domain::Channel;
use crate::render::Rendered;
use crate::status::subscriptions::mail::{self, links, About};
use crate::status::subscriptions::tokens::{self, Purpose, Secret};
use crate::status::subscriptions::{KIND_CONFIRM, KIND_UPDATE};
use crate::store::{AttemptOutcome, Claim, OfficeDirectory, StoreError, SubscriberMessageFacts};

impl Worker {
    /// The subscription secret, read once per worker.
    async fn subscription_secret(&self) -> Result<&Secret, StoreError> {
        self.subscription_secret
            .get_or_try_init(|| async {
                let bytes = self.store.server_secret(tokens::SECRET_NAME, Utc::now()).await?;
                Ok::<_, StoreError>(Secret::new(bytes))
            })
            .await
    }

    /// Writes a subscriber's mail, or settles the message at once when it cannot or need not be
    /// sent (the subscriber left; no public URL for the links). Email is the only channel: a
    /// permanent failure has no next channel to fall back to.
    pub(super) async fn prepare_for_subscriber(
        &self,
        claim: Claim,
        message: SubscriberMessageFacts,
        directory: &OfficeDirectory,
        now: DateTime<Utc>,
    ) -> Result<Prepared, StoreError> {
        let fail = |error: &str| {
            Ok(Prepared::Settled(settled(
                claim,
                Channel::Email,
                now,
                AttemptOutcome::Failed { class: "permanent" },
                error,
            )))
        };
        if message.gone {
            return fail("the subscriber unsubscribed");
        }
        let Some(base) = self.receipts.as_deref().map(|receipts| &receipts.public_base_url) else {
            return fail("no public URL ([http] public_url) for the subscription links");
        };
        let Some(office) = directory.office(&message.office) else {
            return fail("the office is not in the office list");
        };
        let secret = self.subscription_secret().await?;
        let unsubscribe = tokens::token(secret, Purpose::Unsubscribe, &message.salt);
        let (Some(page_url), Some(unsubscribe_url)) = (
            links::page(base, office.code.as_str(), message.language),
            links::unsubscribe(base, &unsubscribe, message.language),
        ) else {
            return fail("the public URL cannot carry the subscription links");
        };
        let confirm_url;
        let about = match (message.kind.as_str(), &message.change, message.confirm_expires_at) {
            (KIND_CONFIRM, _, expires_at) => {
                let token = tokens::token(secret, Purpose::Confirm, &message.salt);
                let Some(url) = links::confirm(base, &token, message.language) else {
                    return fail("the public URL cannot carry the subscription links");
                };
                confirm_url = url;
                About::Confirm { confirm_url: &confirm_url, expires_at }
            }
            (KIND_UPDATE, Some(change), _) => About::Update(change),
            _ => return fail("a subscriber's message of an unknown kind"),
        };
        let email = match mail::write(office, message.language, about, &page_url, &unsubscribe_url) {
            Ok(email) => email,
            Err(err) => {
                tracing::error!(message_id = message.id, error = %err, "a subscriber's mail cannot be written");
                return fail(&err.to_string());
            }
        };
        Ok(Prepared::Send {
            claim,
            channel: Channel::Email,
            outgoing: Box::new(Outgoing {
                message_id: message.id,
                to: Destination::Email { address: message.email, name: String::new() },
                content: Rendered::Email(email),
                at: now,
            }),
        })
    }
}
