//! The facts a message is written from: its applicant, its bookings, and what it is about (a
//! notice event or a broadcast). Loaded in batches for the dispatcher and for previews.

use chrono::{DateTime, Utc};

use super::{from_epoch, on_reader, parse_stored, Store, StoreError};
use crate::domain::{BookingCode, Channel, Email, Language, Msisdn, OfficeCode, Product, Service, Stage};
use crate::render::NoticeKind;

/// One booking as a notice lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingFacts {
    pub id: i64,
    pub code: BookingCode,
    pub holder_name: String,
    pub unit: Option<OfficeCode>,
    pub appointment_at: DateTime<Utc>,
    pub product: Product,
    pub express: bool,
    pub stage: Stage,
}

/// Who a message is for and how to reach them.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicantFacts {
    pub id: i64,
    pub name: String,
    pub mobile: Msisdn,
    /// `None`: the mobile number is the WhatsApp number.
    pub whatsapp: Option<Msisdn>,
    pub email: Option<Email>,
    /// Indonesian when the applicant did not say.
    pub language: Language,
    /// The channels the applicant refused (STOP, unsubscribe).
    pub opted_out: Vec<Channel>,
}

/// What a notice event is about, for its messages.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFacts {
    pub id: i64,
    pub office: OfficeCode,
    /// The service that changed; for a status update, the office's longest-standing disruption.
    pub service: Option<Service>,
    pub reason: Option<String>,
    pub expected_at: Option<DateTime<Utc>>,
}

/// A planned message with everything needed to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageFacts {
    pub id: i64,
    pub office: OfficeCode,
    pub applicant: ApplicantFacts,
    pub kind: NoticeKind,
    pub language: Language,
    pub channel: Option<Channel>,
    pub event_id: Option<i64>,
    pub broadcast_id: Option<i64>,
    /// In appointment order.
    pub bookings: Vec<BookingFacts>,
}

/// `1, 2, 3` for an `IN (…)` list: ids are integers the store produced, never free text.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

type ApplicantRow = (i64, String, String, Option<String>, Option<String>, String, bool, bool, bool);

const APPLICANT_COLUMNS: &str = "a.id, a.name, a.mobile, a.whatsapp, a.email, COALESCE(a.language, 'id'), \
     a.whatsapp_opted_out, a.sms_opted_out, a.email_opted_out";

fn applicant_facts(
    (id, name, mobile, whatsapp, email, language, whatsapp_out, sms_out, email_out): ApplicantRow,
) -> Result<ApplicantFacts, StoreError> {
    let refused = [(Channel::Whatsapp, whatsapp_out), (Channel::Sms, sms_out), (Channel::Email, email_out)];
    Ok(ApplicantFacts {
        opted_out: refused.into_iter().filter(|(_, out)| *out).map(|(channel, _)| channel).collect(),
        language: parse_stored("applicants.language", &language)?,
        id,
        name,
        mobile: Msisdn::from_trusted(mobile),
        whatsapp: whatsapp.map(Msisdn::from_trusted),
        email: email.map(|email| parse_stored("applicants.email", &email)).transpose()?,
    })
}

type BookingRow = (i64, i64, String, String, Option<String>, i64, String, bool, String);

const BOOKING_COLUMNS: &str =
    "b.id, b.code, b.holder_name, b.unit_code, b.appointment_at, b.product, b.express, b.stage";

fn booking_facts(
    (_, id, code, holder_name, unit, appointment_at, product, express, stage): BookingRow,
) -> Result<BookingFacts, StoreError> {
    Ok(BookingFacts {
        id,
        code: parse_stored("bookings.code", &code)?,
        holder_name,
        unit: unit.map(|unit| parse_stored("bookings.unit_code", &unit)).transpose()?,
        appointment_at: from_epoch(appointment_at)?,
        product: parse_stored("bookings.product", &product)?,
        express,
        stage: parse_stored("bookings.stage", &stage)?,
    })
}

type MessageRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    bool,
    bool,
    bool,
);

impl Store {
    /// Applicants by id, in id order.
    pub async fn applicant_facts(&self, ids: &[i64]) -> Result<Vec<ApplicantFacts>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {APPLICANT_COLUMNS} FROM applicants a WHERE a.id IN ({}) ORDER BY a.id",
            id_list(ids)
        );
        let rows: Vec<ApplicantRow> = on_reader!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(applicant_facts).collect()
    }

    /// Bookings by id, in appointment order.
    pub async fn booking_facts(&self, ids: &[i64]) -> Result<Vec<BookingFacts>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT CAST(0 AS BIGINT), {BOOKING_COLUMNS} FROM bookings b WHERE b.id IN ({}) ORDER BY b.appointment_at, b.code",
            id_list(ids)
        );
        let rows: Vec<BookingRow> = on_reader!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(booking_facts).collect()
    }

    /// Messages by id (in id order), each with its applicant and bookings.
    pub async fn message_facts(&self, ids: &[i64]) -> Result<Vec<MessageFacts>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = id_list(ids);
        let messages_sql = format!(
            "SELECT m.id, m.office_code, m.kind, m.language, m.channel, m.event_id, m.broadcast_id,
                    {APPLICANT_COLUMNS}
             FROM messages m JOIN applicants a ON a.id = m.applicant_id
             WHERE m.id IN ({list}) ORDER BY m.id"
        );
        let listed = (self.dialect().unnest_ids)("m.booking_ids", "l");
        let bookings_sql = format!(
            "SELECT m.id, {BOOKING_COLUMNS}
             FROM messages m CROSS JOIN {listed} JOIN bookings b ON b.id = l.value
             WHERE m.id IN ({list})
             ORDER BY m.id, b.appointment_at, b.code"
        );
        // Side by side on two connections: the worker claims its next batch through here while
        // the current one is being sent, and this is the longest part of a claim.
        let (messages, bookings): (Vec<MessageRow>, Vec<BookingRow>) = on_reader!(self, pool => {
            tokio::try_join!(
                sqlx::query_as(&messages_sql).fetch_all(pool),
                sqlx::query_as(&bookings_sql).fetch_all(pool),
            )?
        });
        let mut facts = Vec::with_capacity(messages.len());
        for row in messages {
            let (id, office, kind, language, channel, event_id, broadcast_id) =
                (row.0, row.1, row.2, row.3, row.4, row.5, row.6);
            facts.push(MessageFacts {
                id,
                office: parse_stored("messages.office_code", &office)?,
                applicant: applicant_facts((
                    row.7, row.8, row.9, row.10, row.11, row.12, row.13, row.14, row.15,
                ))?,
                kind: parse_stored("messages.kind", &kind)?,
                language: parse_stored("messages.language", &language)?,
                channel: channel.map(|channel| parse_stored("messages.channel", &channel)).transpose()?,
                event_id,
                broadcast_id,
                bookings: Vec::new(),
            });
        }
        // Both lists are in message id order: one merge pass.
        let mut at = 0;
        for row in bookings {
            let message_id = row.0;
            while at < facts.len() && facts[at].id < message_id {
                at += 1;
            }
            if at < facts.len() && facts[at].id == message_id {
                facts[at].bookings.push(booking_facts(row)?);
            }
        }
        Ok(facts)
    }

    /// What a notice event is about. A status update (no service of its own) is about the
    /// office's longest-standing disruption, with its reason and expected restoration.
    pub async fn event_facts(&self, id: i64) -> Result<Option<EventFacts>, StoreError> {
        type Row = (i64, String, Option<String>, Option<String>, Option<i64>);
        let row: Option<Row> = on_reader!(self, pool => {
            let event: Option<Row> = sqlx::query_as(
                "SELECT e.id, e.office_code, e.service, c.reason, c.expected_at
                 FROM notice_events e LEFT JOIN service_state_changes c ON c.id = e.change_id
                 WHERE e.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            match event {
                Some((id, office, None, _, _)) => {
                    let current: Option<(String, Option<String>, Option<i64>)> = sqlx::query_as(
                        "SELECT service, reason, expected_at FROM service_states
                         WHERE office_code = $1 AND state <> 'operational'
                         ORDER BY changed_at, service LIMIT 1",
                    )
                    .bind(&office)
                    .fetch_optional(pool)
                    .await?;
                    let (service, reason, expected_at) =
                        current.map_or((None, None, None), |(s, r, e)| (Some(s), r, e));
                    Some((id, office, service, reason, expected_at))
                }
                other => other,
            }
        });
        row.map(|(id, office, service, reason, expected_at)| {
            Ok(EventFacts {
                id,
                office: parse_stored("notice_events.office_code", &office)?,
                service: service
                    .map(|service| parse_stored("notice_events.service", &service))
                    .transpose()?,
                reason,
                expected_at: expected_at.map(from_epoch).transpose()?,
            })
        })
        .transpose()
    }
}
