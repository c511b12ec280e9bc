//! One person: finding them, showing what kabar holds, erasing it.

use chrono::{DateTime, NaiveDate, Utc};

use super::{anonymise_sql, mask_replies, wipe_attempts_sql};
use crate::audit::{Actor, AuditEntry};
use crate::domain::{Channel, Msisdn, OfficeCode};
use crate::privacy::{ErasureReport, PersonBooking, PersonMessage, PersonQuery, PersonRecord, PersonReply};
use crate::store::reports::optional;
use crate::store::{
    epoch, from_epoch, on_reader, on_writer, parse_stored, AuditLog, Store, StoreError, WritePool,
};

/// The applicants a query names: by mobile number (unique), or by email, compared without case
/// (a scan: erasure requests are rare, and an index would cost every import).
fn lookup(query: &PersonQuery) -> (&'static str, String) {
    match query {
        PersonQuery::Phone(mobile) => ("mobile = $1", mobile.e164().to_owned()),
        PersonQuery::Email(email) => ("LOWER(email) = LOWER($1)", email.as_str().to_owned()),
    }
}

type ApplicantRow =
    (i64, String, String, Option<String>, Option<String>, Option<String>, bool, bool, bool, i64, i64);
type BookingRow = (String, String, Option<String>, String, i64, String, bool, String, Option<String>);
type MessageRow = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// An applicant's messages (a scan: messages have no index by applicant, which would cost the
/// planner a second index insert per message; `show` and `erase` are rare).
const MESSAGES_SQL: &str =
    "SELECT m.id, m.office_code, e.incident_id, m.broadcast_id, m.kind, m.language, m.channel, m.status,
            m.failure_class, m.created_at, m.sent_at, m.delivered_at, m.read_at, m.failed_at
     FROM messages m LEFT JOIN notice_events e ON e.id = m.event_id
     WHERE m.applicant_id = $1 ORDER BY m.id";

type ReplyRow = (String, String, String, String, i64);
/// Bookings, messages, (message, booking code) pairs and replies of one applicant.
type Linked = (Vec<BookingRow>, Vec<MessageRow>, Vec<(i64, String)>, Vec<ReplyRow>);

impl Store {
    /// The ids and mobile numbers of the applicants a query names, in id order.
    pub async fn applicant_ids(&self, query: &PersonQuery) -> Result<Vec<(i64, Msisdn)>, StoreError> {
        let (condition, value) = lookup(query);
        let sql = format!("SELECT id, mobile FROM applicants WHERE {condition} ORDER BY id");
        let rows: Vec<(i64, String)> =
            on_reader!(self, pool => sqlx::query_as(&sql).bind(&value).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(id, mobile)| (id, Msisdn::from_trusted(mobile))).collect())
    }

    /// Everything kabar holds on the applicants a query names.
    pub async fn people(&self, query: &PersonQuery) -> Result<Vec<PersonRecord>, StoreError> {
        let (condition, value) = lookup(query);
        let sql = format!(
            "SELECT id, mobile, name, email, whatsapp, language, whatsapp_opted_out, sms_opted_out,
                    email_opted_out, created_at, updated_at
             FROM applicants WHERE {condition} ORDER BY id"
        );
        let rows: Vec<ApplicantRow> =
            on_reader!(self, pool => sqlx::query_as(&sql).bind(&value).fetch_all(pool).await?);
        let mut people = Vec::with_capacity(rows.len());
        for row in rows {
            people.push(self.person(row).await?);
        }
        Ok(people)
    }

    async fn person(&self, row: ApplicantRow) -> Result<PersonRecord, StoreError> {
        let (id, mobile, name, email, whatsapp, language, wa_out, sms_out, email_out, created_at, updated_at) =
            row;
        let mobile = Msisdn::from_trusted(mobile);
        let whatsapp = whatsapp.map(Msisdn::from_trusted);
        let listed = (self.dialect().unnest_ids)("m.booking_ids", "l");
        let codes_sql = format!(
            "SELECT m.id, b.code FROM messages m CROSS JOIN {listed} JOIN bookings b ON b.id = l.value
             WHERE m.applicant_id = $1 ORDER BY m.id, b.code"
        );
        let whatsapp_number = whatsapp.as_ref().unwrap_or(&mobile).e164().to_owned();
        let (bookings, messages, codes, replies): Linked = on_reader!(self, pool => {
            let bookings = sqlx::query_as(
                "SELECT code, office_code, unit_code, holder_name, appointment_at, product, express, stage, applied_on
                 FROM bookings WHERE applicant_id = $1 ORDER BY appointment_at, code",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            let messages = sqlx::query_as(MESSAGES_SQL).bind(id).fetch_all(pool).await?;
            let codes = sqlx::query_as(&codes_sql).bind(id).fetch_all(pool).await?;
            let replies = sqlx::query_as(
                "SELECT channel, provider, mobile, action, received_at FROM inbound_replies
                 WHERE mobile = $1 OR mobile = $2 ORDER BY received_at, id",
            )
            .bind(mobile.e164())
            .bind(&whatsapp_number)
            .fetch_all(pool)
            .await?;
            (bookings, messages, codes, replies)
        });
        let mut opted_out = Vec::new();
        for (channel, out) in
            [(Channel::Whatsapp, wa_out), (Channel::Sms, sms_out), (Channel::Email, email_out)]
        {
            if out {
                opted_out.push(channel);
            }
        }
        let instant = |seconds: Option<i64>| seconds.map(from_epoch).transpose();
        let mut person_messages = Vec::with_capacity(messages.len());
        for row in messages {
            let bookings = codes
                .iter()
                .filter(|(message, _)| *message == row.0)
                .map(|(_, code)| parse_stored("bookings.code", code))
                .collect::<Result<_, _>>()?;
            person_messages.push(PersonMessage {
                id: row.0,
                office: parse_stored("messages.office_code", &row.1)?,
                incident_id: row.2,
                broadcast_id: row.3,
                kind: row.4,
                language: parse_stored("messages.language", &row.5)?,
                channel: optional("messages.channel", row.6)?,
                status: parse_stored("messages.status", &row.7)?,
                failure_class: optional("messages.failure_class", row.8)?,
                bookings,
                created_at: from_epoch(row.9)?,
                sent_at: instant(row.10)?,
                delivered_at: instant(row.11)?,
                read_at: instant(row.12)?,
                failed_at: instant(row.13)?,
            });
        }
        Ok(PersonRecord {
            applicant_id: id,
            name,
            mobile,
            email: optional("applicants.email", email)?,
            whatsapp,
            language: optional("applicants.language", language)?,
            opted_out,
            created_at: from_epoch(created_at)?,
            updated_at: from_epoch(updated_at)?,
            bookings: bookings.into_iter().map(person_booking).collect::<Result<_, _>>()?,
            messages: person_messages,
            replies: replies
                .into_iter()
                .map(|(channel, provider, number, action, received_at)| {
                    Ok(PersonReply {
                        channel: parse_stored("inbound_replies.channel", &channel)?,
                        provider,
                        number,
                        action,
                        received_at: from_epoch(received_at)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }

    /// Erases one applicant in one transaction with its audit row: pending messages cancelled
    /// (claimed ones too, so no worker is left holding a message whose applicant is gone), every
    /// message anonymised, replies from their numbers masked, bookings and the applicant removed.
    /// The audit row holds the applicant id, counts, the offices and masked contact details.
    pub async fn erase_applicant(
        &self,
        id: i64,
        query: &PersonQuery,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ErasureReport, StoreError> {
        let mine = format!("applicant_id = {id}");
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let found: Option<(String, Option<String>)> =
                sqlx::query_as("SELECT mobile, whatsapp FROM applicants WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((mobile, whatsapp)) = found else {
                return Err(StoreError::Corrupt(format!("applicant {id} vanished during erasure")));
            };
            let whatsapp = whatsapp.unwrap_or_else(|| mobile.clone());
            let offices: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT office_code FROM bookings WHERE applicant_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
            let messages_in_flight = sqlx::query(
                "UPDATE messages SET status = 'cancelled', failed_at = $2 WHERE applicant_id = $1 AND status = 'sending'",
            )
            .bind(id)
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let queued = sqlx::query(
                "UPDATE messages SET status = 'cancelled', failed_at = $2 WHERE applicant_id = $1 AND status = 'queued'",
            )
            .bind(id)
            .bind(epoch(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let attempt_errors_wiped = sqlx::query(&wipe_attempts_sql(&mine)).execute(&mut *tx).await?.rows_affected();
            let messages_anonymised = sqlx::query(&anonymise_sql(&mine)).execute(&mut *tx).await?.rows_affected();
            let replies_masked = mask_replies!(tx, "mobile = $1 OR mobile = $2", &mobile, &whatsapp);
            // Call notes may name the applicant: they go with the bookings.
            sqlx::query("DELETE FROM call_outcomes WHERE booking_id IN (SELECT id FROM bookings WHERE applicant_id = $1)")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let bookings_removed = sqlx::query("DELETE FROM bookings WHERE applicant_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM applicants WHERE id = $1").bind(id).execute(&mut *tx).await?;
            let mut report = ErasureReport {
                applicant_id: id,
                mobile: crate::domain::mask_number(&mobile),
                bookings_removed,
                messages_cancelled: queued + messages_in_flight,
                messages_in_flight,
                messages_anonymised,
                attempt_errors_wiped,
                replies_masked,
                audit_id: 0,
            };
            let mut summary = serde_json::to_value(&report).unwrap_or_default();
            if let (PersonQuery::Email(email), Some(object)) = (query, summary.as_object_mut()) {
                object.insert("email".into(), email.masked().into());
            }
            if let Some(object) = summary.as_object_mut() {
                object.remove("audit_id");
            }
            let offices = offices
                .iter()
                .map(|code| parse_stored::<OfficeCode>("bookings.office_code", code))
                .collect::<Result<Vec<_>, _>>()?;
            let entry = AuditEntry::new(now, actor.clone(), "applicant.erase", format!("applicant:{id}"))
                .with_offices(offices)
                .with_summary(summary);
            report.audit_id = tx.append_audit(entry).await?.id;
            tx.commit().await?;
            Ok(report)
        })
    }
}

fn person_booking(row: BookingRow) -> Result<PersonBooking, StoreError> {
    let (code, office, unit, holder_name, appointment_at, product, express, stage, applied_on) = row;
    Ok(PersonBooking {
        code: parse_stored("bookings.code", &code)?,
        office: parse_stored("bookings.office_code", &office)?,
        unit: optional("bookings.unit_code", unit)?,
        holder_name,
        appointment_at: from_epoch(appointment_at)?,
        product: parse_stored("bookings.product", &product)?,
        express,
        stage: parse_stored("bookings.stage", &stage)?,
        applied_on: applied_on
            .map(|date| parse_stored::<NaiveDate>("bookings.applied_on", &date))
            .transpose()?,
    })
}
