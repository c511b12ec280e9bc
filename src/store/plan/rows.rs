//! What the staff API's audience index ([`crate::plan::AudienceIndex`]) copies into memory: each
//! office's open bookings with the reach of their applicant, and the per-office version that says
//! whether a copy is still current (`booking_versions`, bumped by triggers in the transaction of
//! every write that changes either; migration 0018).

use std::collections::HashMap;

use super::sql::CLOSED_STAGES;
use crate::domain::{OfficeCode, Stage};
use crate::store::{on_reader, parse_stored, Store, StoreError};

/// One open booking as an audience count needs it: 16 bytes, so a million fit in 16 MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudienceRow {
    /// The applicant's id (an index declines offices whose ids do not fit 32 bits).
    pub applicant: u32,
    pub appointment_at: i64,
    pub stage: Stage,
    /// [`AudienceRow::EPASSPORT`], [`AudienceRow::EXPRESS`] and the applicant's reach.
    pub flags: u8,
}

impl AudienceRow {
    /// The applicant has not opted out of WhatsApp.
    pub const WHATSAPP: u8 = 1;
    /// The applicant has not opted out of SMS.
    pub const SMS: u8 = 2;
    /// The applicant has an email address and has not opted out of email.
    pub const EMAIL: u8 = 4;
    /// The applicant reads English (otherwise Indonesian, also when unstated).
    pub const ENGLISH: u8 = 8;
    /// An e-passport application.
    pub const EPASSPORT: u8 = 16;
    /// With the express (same-day) option.
    pub const EXPRESS: u8 = 32;

    pub fn has(self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The flags of [`AudienceRow`], computed in the database (the same expressions on both engines).
const FLAGS_SQL: &str = "CAST((CASE WHEN a.whatsapp_opted_out THEN 0 ELSE 1 END)
    + (CASE WHEN a.sms_opted_out THEN 0 ELSE 2 END)
    + (CASE WHEN a.email IS NOT NULL AND NOT a.email_opted_out THEN 4 ELSE 0 END)
    + (CASE WHEN a.language = 'en' THEN 8 ELSE 0 END)
    + (CASE WHEN b.product = 'epassport' THEN 16 ELSE 0 END)
    + (CASE WHEN b.express THEN 32 ELSE 0 END) AS BIGINT)";

impl Store {
    /// Every office's booking version (see the module documentation).
    pub async fn booking_versions(&self) -> Result<HashMap<OfficeCode, i64>, StoreError> {
        let rows: Vec<(String, i64)> = on_reader!(self, pool => {
            sqlx::query_as("SELECT office_code, version FROM booking_versions").fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(office, version)| Ok((parse_stored("booking_versions.office_code", &office)?, version)))
            .collect()
    }

    /// One office's booking version and its open bookings, ordered by applicant; `None` when an
    /// applicant id does not fit an [`AudienceRow`]. The version is read first, so the rows are
    /// at least as new as it says.
    pub async fn audience_rows(
        &self,
        office: &OfficeCode,
    ) -> Result<Option<(i64, Vec<AudienceRow>)>, StoreError> {
        let sql = format!(
            "SELECT b.applicant_id, b.appointment_at, b.stage, {FLAGS_SQL}
             FROM bookings b JOIN applicants a ON a.id = b.applicant_id
             WHERE b.office_code = $1 AND b.stage NOT IN {CLOSED_STAGES}
             ORDER BY b.applicant_id"
        );
        type Row = (i64, i64, String, i64);
        let settings = self.dialect().planning_settings;
        let (version, rows): (Option<i64>, Vec<Row>) = on_reader!(self, pool => {
            let version = sqlx::query_scalar("SELECT version FROM booking_versions WHERE office_code = $1")
                .bind(office.as_str())
                .fetch_optional(pool)
                .await?;
            // The planner's settings: on PostgreSQL, index lookups of the office's applicants
            // rather than a scan of every applicant for each office.
            let mut tx = pool.begin().await?;
            for setting in settings {
                sqlx::query(setting).execute(&mut *tx).await?;
            }
            let rows = sqlx::query_as(&sql).bind(office.as_str()).fetch_all(&mut *tx).await?;
            tx.rollback().await?;
            (version, rows)
        });
        let Some(version) = version else { return Ok(None) };
        let mut copied = Vec::with_capacity(rows.len());
        for (applicant, appointment_at, stage, flags) in rows {
            let Ok(applicant) = u32::try_from(applicant) else { return Ok(None) };
            copied.push(AudienceRow {
                applicant,
                appointment_at,
                stage: parse_stored("bookings.stage", &stage)?,
                flags: u8::try_from(flags)
                    .map_err(|_| StoreError::Corrupt(format!("reach flags {flags}")))?,
            });
        }
        Ok(Some((version, copied)))
    }
}
