use chrono::NaiveDate;

use super::{from_epoch, on_reader, on_writer, parse_stored, Store, StoreError, WritePool};
use crate::domain::{Applicant, Booking, BookingCode, Channel, Msisdn};

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpsertCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl UpsertCounts {
    /// From the rows offered, the rows the database reported as written (inserted or changed) and
    /// the growth of the table.
    pub(crate) fn from_affected(offered: u64, affected: u64, inserted: u64) -> Self {
        UpsertCounts {
            inserted,
            updated: affected.saturating_sub(inserted),
            unchanged: offered.saturating_sub(affected),
        }
    }

    pub fn add(&mut self, other: UpsertCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// A stored applicant with its opt-outs.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicantRecord {
    pub id: i64,
    pub applicant: Applicant,
    pub whatsapp_opted_out: bool,
    pub sms_opted_out: bool,
    pub email_opted_out: bool,
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingRecord {
    pub id: i64,
    pub applicant_id: i64,
    pub booking: Booking,
}

impl Store {
    /// How many bookings the store holds.
    pub async fn count_bookings(&self) -> Result<u64, StoreError> {
        let count: i64 = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM bookings").fetch_one(pool).await?
        });
        Ok(count as u64)
    }

    /// How many bookings have a code that does not start with `prefix`.
    pub async fn count_bookings_without_prefix(&self, prefix: &str) -> Result<u64, StoreError> {
        let count: i64 = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM bookings WHERE code NOT LIKE $1")
                .bind(format!("{prefix}%"))
                .fetch_one(pool)
                .await?
        });
        Ok(count as u64)
    }

    /// How many applicants got at least one message (sent or delivered).
    pub async fn count_applicants_reached(&self) -> Result<u64, StoreError> {
        let count: i64 = on_reader!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(DISTINCT applicant_id) FROM messages WHERE status IN ('sent', 'delivered')",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(count as u64)
    }

    /// How many applicants (distinct mobile numbers) the store holds.
    pub async fn count_applicants(&self) -> Result<u64, StoreError> {
        let count: i64 = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM applicants").fetch_one(pool).await?
        });
        Ok(count as u64)
    }

    /// One booking with its applicant, by code.
    pub async fn booking(&self, code: &BookingCode) -> Result<Option<BookingRecord>, StoreError> {
        type Row =
            (i64, i64, String, String, Option<String>, String, i64, String, bool, String, Option<String>);
        let row: Option<Row> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT id, applicant_id, code, office_code, unit_code, holder_name, appointment_at,
                        product, express, stage, applied_on
                 FROM bookings WHERE code = $1",
            )
            .bind(code.as_str())
            .fetch_optional(pool)
            .await?
        });
        let Some((
            id,
            applicant_id,
            code,
            office,
            unit,
            holder_name,
            appointment_at,
            product,
            express,
            stage,
            applied_on,
        )) = row
        else {
            return Ok(None);
        };
        let applicant = self
            .applicant_by_id(applicant_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("booking {code} has no applicant")))?;
        let booking = Booking {
            code: parse_stored("bookings.code", &code)?,
            office: parse_stored("bookings.office_code", &office)?,
            unit: unit.map(|unit| parse_stored("bookings.unit_code", &unit)).transpose()?,
            holder_name,
            applicant: applicant.applicant,
            appointment_at: from_epoch(appointment_at)?,
            product: parse_stored("bookings.product", &product)?,
            express,
            stage: parse_stored("bookings.stage", &stage)?,
            applied_on: applied_on
                .map(|date| parse_stored::<NaiveDate>("bookings.applied_on", &date))
                .transpose()?,
        };
        Ok(Some(BookingRecord { id, applicant_id, booking }))
    }

    /// Opts a mobile number out of (or back into) one channel. Returns false for an unknown number.
    /// Demo data only: some applicants refused WhatsApp before the outage (one in six), and a
    /// few with no email refused SMS too (one in forty), chosen by id so every run is the same.
    /// Returns how many of each.
    pub async fn demo_refusals(&self) -> Result<(u64, u64), StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let whatsapp = sqlx::query("UPDATE applicants SET whatsapp_opted_out = TRUE WHERE id % 6 = 0")
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let every = sqlx::query(
                "UPDATE applicants SET whatsapp_opted_out = TRUE, sms_opted_out = TRUE
                 WHERE id % 40 = 1 AND email IS NULL",
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok((whatsapp + every, every))
        })
    }

    pub async fn set_opt_out(
        &self,
        mobile: &Msisdn,
        channel: Channel,
        opted_out: bool,
    ) -> Result<bool, StoreError> {
        let column = match channel {
            Channel::Whatsapp => "whatsapp_opted_out",
            Channel::Sms => "sms_opted_out",
            Channel::Email => "email_opted_out",
        };
        let sql = format!("UPDATE applicants SET {column} = $1 WHERE mobile = $2");
        let updated = on_writer!(self, pool => {
            sqlx::query(&sql).bind(opted_out).bind(mobile.e164()).execute(pool).await?.rows_affected()
        });
        Ok(updated > 0)
    }

    /// One applicant by mobile number.
    pub async fn applicant(&self, mobile: &Msisdn) -> Result<Option<ApplicantRecord>, StoreError> {
        let id: Option<i64> = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT id FROM applicants WHERE mobile = $1")
                .bind(mobile.e164())
                .fetch_optional(pool)
                .await?
        });
        match id {
            Some(id) => self.applicant_by_id(id).await,
            None => Ok(None),
        }
    }

    async fn applicant_by_id(&self, id: i64) -> Result<Option<ApplicantRecord>, StoreError> {
        type Row = (i64, String, String, Option<String>, Option<String>, Option<String>, bool, bool, bool);
        let row: Option<Row> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT id, mobile, name, email, whatsapp, language,
                        whatsapp_opted_out, sms_opted_out, email_opted_out
                 FROM applicants WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let Some((
            id,
            mobile,
            name,
            email,
            whatsapp,
            language,
            whatsapp_opted_out,
            sms_opted_out,
            email_opted_out,
        )) = row
        else {
            return Ok(None);
        };
        let applicant = Applicant {
            name,
            mobile: Msisdn::from_trusted(mobile),
            email: email.map(|email| parse_stored("applicants.email", &email)).transpose()?,
            whatsapp: whatsapp.map(Msisdn::from_trusted),
            language: language.map(|language| parse_stored("applicants.language", &language)).transpose()?,
        };
        Ok(Some(ApplicantRecord { id, applicant, whatsapp_opted_out, sms_opted_out, email_opted_out }))
    }
}
