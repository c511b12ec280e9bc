//! The outbox side of status subscriptions: the update mails the planner queues for confirmed
//! subscribers, and the facts the worker writes a subscriber's mail from.

use chrono::{DateTime, Utc};

use super::{
    epoch, from_epoch, on_reader, on_writer, parse_stored, PublicChange, Store, StoreError, WritePool,
};
use crate::domain::{Email, Language, OfficeCode};
use crate::status::subscriptions::KIND_UPDATE;

/// A subscriber's claimed message with what its mail is written from.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriberMessageFacts {
    pub id: i64,
    pub office: OfficeCode,
    pub kind: String,
    pub language: Language,
    pub email: Email,
    pub salt: String,
    /// The subscriber unsubscribed after this message was claimed.
    pub gone: bool,
    /// For an update: the state change it is about.
    pub change: Option<PublicChange>,
    /// Until when the subscriber's confirmation link works.
    pub confirm_expires_at: DateTime<Utc>,
}

impl Store {
    /// Plans one update per confirmed subscriber per state change of their office recorded after
    /// they confirmed, for the changes settled by `settled_before` not planned yet. Returns the
    /// messages planned. A change once planned is marked (`status_change_mailings`) and not
    /// looked at again; the unique key on (subscriber, change) keeps two planners from planning
    /// a message twice.
    pub async fn plan_subscriber_updates(
        &self,
        settled_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changes: Vec<i64> = sqlx::query_scalar(
                "SELECT c.id FROM service_state_changes c
                 WHERE c.id > (SELECT COALESCE(MIN(after_change_id), 9223372036854775807)
                               FROM status_subscribers WHERE status = 'confirmed')
                   AND c.changed_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM status_change_mailings p WHERE p.change_id = c.id)
                 ORDER BY c.id LIMIT 1000",
            )
            .bind(epoch(settled_before))
            .fetch_all(&mut *tx)
            .await?;
            let mut planned = 0;
            for change in changes {
                // ON CONFLICT needs a WHERE before it in SQLite's INSERT … SELECT.
                let messages = sqlx::query(&format!(
                    "INSERT INTO messages (office_code, subscriber_id, status_change_id, kind, language, channel,
                                           status, not_before, created_at)
                     SELECT s.office_code, s.id, c.id, '{KIND_UPDATE}', s.language, 'email', 'queued', $2, $2
                     FROM service_state_changes c
                     JOIN status_subscribers s ON s.office_code = c.office_code
                     WHERE c.id = $1 AND s.status = 'confirmed' AND s.after_change_id < c.id
                     ON CONFLICT DO NOTHING"
                ))
                .bind(change)
                .bind(epoch(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(
                    "INSERT INTO status_change_mailings (change_id, messages, planned_at) VALUES ($1, $2, $3)
                     ON CONFLICT (change_id) DO NOTHING",
                )
                .bind(change)
                .bind(messages as i64)
                .bind(epoch(now))
                .execute(&mut *tx)
                .await?;
                planned += messages;
            }
            tx.commit().await?;
            Ok(planned)
        })
    }

    /// Subscribers' messages by id (in id order), with what their mails are written from. Ids of
    /// applicants' messages are left out.
    pub async fn subscriber_message_facts(
        &self,
        ids: &[i64],
    ) -> Result<Vec<SubscriberMessageFacts>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            i64,
        );
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT m.id, m.office_code, m.kind, m.language, s.email, s.token_salt, s.status,
                    c.id, c.service, c.from_state, c.to_state, c.reason, c.expected_at, c.changed_at,
                    s.confirm_expires_at
             FROM messages m
             JOIN status_subscribers s ON s.id = m.subscriber_id
             LEFT JOIN service_state_changes c ON c.id = m.status_change_id
             WHERE m.id IN ({list}) ORDER BY m.id"
        );
        let rows: Vec<Row> = on_reader!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter()
            .map(
                |(
                    id,
                    office,
                    kind,
                    language,
                    email,
                    salt,
                    status,
                    change,
                    service,
                    from,
                    to,
                    reason,
                    expected,
                    at,
                    until,
                )| {
                    let office: OfficeCode = parse_stored("messages.office_code", &office)?;
                    let change = match (change, service, from, to, at) {
                        (Some(change_id), Some(service), Some(from), Some(to), Some(at)) => {
                            Some(PublicChange {
                                id: change_id,
                                office: office.clone(),
                                service: parse_stored("service_state_changes.service", &service)?,
                                from: parse_stored("service_state_changes.from_state", &from)?,
                                to: parse_stored("service_state_changes.to_state", &to)?,
                                reason,
                                expected_at: expected.map(from_epoch).transpose()?,
                                at: from_epoch(at)?,
                            })
                        }
                        _ => None,
                    };
                    Ok(SubscriberMessageFacts {
                        id,
                        office,
                        kind,
                        language: parse_stored("messages.language", &language)?,
                        email: parse_stored("status_subscribers.email", &email)?,
                        salt,
                        gone: status == "unsubscribed",
                        change,
                        confirm_expires_at: from_epoch(until)?,
                    })
                },
            )
            .collect()
    }
}
