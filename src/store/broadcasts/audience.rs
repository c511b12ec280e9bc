//! Who a broadcast would reach, counted and paged without writing anything: the preview's queries.

use chrono::{DateTime, Utc};

use super::BookingFilter;
use crate::domain::{Channel, Language, OfficeCode};
use crate::store::plan::sql::channel_sql;
use crate::store::{on_reader, parse_stored, Store, StoreError};

/// A broadcast's audience at one office, for previews.
#[derive(Debug, Clone, Copy)]
pub struct AudienceQuery<'a> {
    pub office: &'a OfficeCode,
    pub filter: &'a BookingFilter,
    pub channels: &'a [Channel],
    pub now: DateTime<Utc>,
    /// Where the horizon of service rules ends.
    pub horizon_end: DateTime<Utc>,
}

/// The audience of one office by the channel each applicant would get and their language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceGroup {
    /// `None`: no usable channel.
    pub channel: Option<Channel>,
    pub language: Language,
    pub applicants: u64,
    /// The lowest applicant id of the group, for a sample rendering.
    pub sample_applicant: i64,
}

impl Store {
    /// Who a filter reaches at one office, grouped by the channel each applicant would get and
    /// their language: the counts of a broadcast preview, computed without writing anything.
    pub async fn audience_groups(
        &self,
        audience: &AudienceQuery<'_>,
    ) -> Result<Vec<AudienceGroup>, StoreError> {
        let AudienceQuery { office, filter, channels, now, horizon_end } = *audience;
        let channel = channel_sql(channels);
        let sql = format!(
            "SELECT {channel} AS channel, COALESCE(a.language, 'id') AS language, COUNT(*), MIN(a.id)
             FROM (SELECT DISTINCT b.applicant_id FROM bookings b
                   WHERE b.office_code = $1 AND {filter}) s
             JOIN applicants a ON a.id = s.applicant_id
             GROUP BY 1, 2
             ORDER BY 1, 2",
            filter = filter.sql(now, horizon_end),
        );
        let rows: Vec<(Option<String>, String, i64, i64)> = on_reader!(self, pool => {
            sqlx::query_as(&sql).bind(office.as_str()).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(channel, language, count, sample)| {
                Ok(AudienceGroup {
                    channel: channel.map(|channel| parse_stored("channel", &channel)).transpose()?,
                    language: parse_stored("language", &language)?,
                    applicants: count as u64,
                    sample_applicant: sample,
                })
            })
            .collect()
    }

    /// The applicants of one office a filter reaches on `channel`, in id order after `after`, at
    /// most `limit`, each with the ids of the bookings it matched: previews render them page by
    /// page to count SMS segments.
    pub async fn audience_page(
        &self,
        audience: &AudienceQuery<'_>,
        channel: Channel,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<i64>)>, StoreError> {
        let AudienceQuery { office, filter, channels, now, horizon_end } = *audience;
        let sql = format!(
            "WITH page AS (SELECT DISTINCT b.applicant_id
                           FROM bookings b JOIN applicants a ON a.id = b.applicant_id
                           WHERE b.office_code = $1 AND {filter} AND ({channel_sql}) = $2 AND b.applicant_id > $3
                           ORDER BY b.applicant_id LIMIT $4)
             SELECT b.applicant_id, b.id
             FROM bookings b
             WHERE b.office_code = $1 AND {filter} AND b.applicant_id IN (SELECT applicant_id FROM page)
             ORDER BY b.applicant_id, b.appointment_at, b.id",
            filter = filter.sql(now, horizon_end),
            channel_sql = channel_sql(channels),
        );
        let rows: Vec<(i64, i64)> = on_reader!(self, pool => {
            sqlx::query_as(&sql)
                .bind(office.as_str())
                .bind(channel.as_str())
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        let mut page: Vec<(i64, Vec<i64>)> = Vec::new();
        for (applicant, booking) in rows {
            match page.last_mut() {
                Some((last, bookings)) if *last == applicant => bookings.push(booking),
                _ => page.push((applicant, vec![booking])),
            }
        }
        Ok(page)
    }
}
