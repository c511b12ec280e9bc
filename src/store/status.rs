//! What the public status pages read: the current state of every service and the history of
//! changes, without the actor (a staff name is never public).

use chrono::{DateTime, Utc};

use super::{from_epoch, on_reader, parse_stored, Store, StoreError};
use crate::domain::{OfficeCode, Service, ServiceState};

/// One recorded change of one service at one office, as the public may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicChange {
    pub id: i64,
    pub office: OfficeCode,
    pub service: Service,
    pub from: ServiceState,
    pub to: ServiceState,
    pub reason: Option<String>,
    pub expected_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

type ChangeRow = (i64, String, String, String, String, Option<String>, Option<i64>, i64);

impl Store {
    /// Every state change, oldest first. There are few (a national change is one row per office),
    /// and the status snapshot needs them all to know which incidents are open.
    pub async fn public_changes(&self) -> Result<Vec<PublicChange>, StoreError> {
        let rows: Vec<ChangeRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT id, office_code, service, from_state, to_state, reason, expected_at, changed_at
                 FROM service_state_changes
                 ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, office, service, from, to, reason, expected_at, at)| {
                Ok(PublicChange {
                    id,
                    office: parse_stored("office_code", &office)?,
                    service: parse_stored("service", &service)?,
                    from: parse_stored("from_state", &from)?,
                    to: parse_stored("to_state", &to)?,
                    reason,
                    expected_at: expected_at.map(from_epoch).transpose()?,
                    at: from_epoch(at)?,
                })
            })
            .collect()
    }
}
