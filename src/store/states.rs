use chrono::{DateTime, Utc};

use super::{epoch, from_epoch, on_reader, on_writer, parse_stored, AuditLog, Store, StoreError, WritePool};
use crate::audit::Origin;
use crate::domain::{OfficeCode, Service, ServiceState};

/// A change of one service at one office, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChangeRecord {
    pub office: OfficeCode,
    pub service: Service,
    pub state: ServiceState,
    pub reason: Option<String>,
    pub expected_at: Option<DateTime<Utc>>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// What recording a change did: `changed` is false when the office already had exactly that state,
/// reason and expected restoration (nothing is written then); `updated` is true when the state
/// stays and only the reason or the expected restoration changed (an update: applicants already
/// told hear the news once).
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedChange {
    pub office: OfficeCode,
    pub service: Service,
    pub from: ServiceState,
    pub to: ServiceState,
    pub changed: bool,
    pub updated: bool,
    /// The expected restoration now recorded.
    pub expected_at: Option<DateTime<Utc>>,
    /// The change recorded (`None` when nothing changed, or in a dry run).
    pub change_id: Option<i64>,
}

/// One line of the state board, or of an office's history.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRow {
    pub office: OfficeCode,
    pub service: Service,
    pub state: ServiceState,
    pub reason: Option<String>,
    pub expected_at: Option<DateTime<Utc>>,
    pub actor: String,
    pub changed_at: DateTime<Utc>,
}

type StateRow = (String, String, String, Option<String>, Option<i64>, String, i64);

fn board_row(
    (office, service, state, reason, expected_at, actor, changed_at): StateRow,
) -> Result<BoardRow, StoreError> {
    Ok(BoardRow {
        office: parse_stored("office_code", &office)?,
        service: parse_stored("service", &service)?,
        state: parse_stored("state", &state)?,
        reason,
        expected_at: expected_at.map(from_epoch).transpose()?,
        actor,
        changed_at: from_epoch(changed_at)?,
    })
}

impl Store {
    /// Records state changes and their history in one transaction.
    pub async fn apply_state_changes(
        &self,
        changes: &[StateChangeRecord],
    ) -> Result<Vec<AppliedChange>, StoreError> {
        self.apply_state_changes_by(changes, None).await
    }

    /// As [`Store::apply_state_changes`], with an audit row for `origin` in the same transaction
    /// when anything changed.
    pub async fn apply_state_changes_by(
        &self,
        changes: &[StateChangeRecord],
        origin: Option<&Origin>,
    ) -> Result<Vec<AppliedChange>, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut applied = Vec::with_capacity(changes.len());
            for change in changes {
                let current: Option<(String, Option<String>, Option<i64>)> = sqlx::query_as(
                    "SELECT state, reason, expected_at FROM service_states WHERE office_code = $1 AND service = $2",
                )
                .bind(change.office.as_str())
                .bind(change.service.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                let expected_at = change.expected_at.map(epoch);
                let from = match &current {
                    Some((state, _, _)) => parse_stored("service_states.state", state)?,
                    None => ServiceState::Operational,
                };
                let unchanged = match &current {
                    Some((_, reason, expected)) => {
                        from == change.state && *reason == change.reason && *expected == expected_at
                    }
                    None => change.state == ServiceState::Operational,
                };
                let mut recorded = None;
                if !unchanged {
                    let change_id: i64 = sqlx::query_scalar(
                        "INSERT INTO service_state_changes
                             (office_code, service, from_state, to_state, reason, expected_at, actor, changed_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         RETURNING id",
                    )
                    .bind(change.office.as_str())
                    .bind(change.service.as_str())
                    .bind(from.as_str())
                    .bind(change.state.as_str())
                    .bind(change.reason.as_deref())
                    .bind(expected_at)
                    .bind(&change.actor)
                    .bind(epoch(change.at))
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO service_states
                             (office_code, service, state, reason, expected_at, actor, changed_at, change_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (office_code, service) DO UPDATE SET
                             state = excluded.state, reason = excluded.reason, expected_at = excluded.expected_at,
                             actor = excluded.actor, changed_at = excluded.changed_at, change_id = excluded.change_id",
                    )
                    .bind(change.office.as_str())
                    .bind(change.service.as_str())
                    .bind(change.state.as_str())
                    .bind(change.reason.as_deref())
                    .bind(expected_at)
                    .bind(&change.actor)
                    .bind(epoch(change.at))
                    .bind(change_id)
                    .execute(&mut *tx)
                    .await?;
                    recorded = Some(change_id);
                }
                applied.push(AppliedChange {
                    office: change.office.clone(),
                    service: change.service,
                    from,
                    to: change.state,
                    changed: !unchanged,
                    updated: !unchanged && current.is_some() && from == change.state,
                    expected_at: change.expected_at,
                    change_id: recorded,
                });
            }
            if let (Some(origin), Some(first)) = (origin, changes.first()) {
                let changed: Vec<&AppliedChange> = applied.iter().filter(|applied| applied.changed).collect();
                if !changed.is_empty() {
                    let entry = origin
                        .entry(first.at, "state.set", format!("service:{}", first.service))
                        .with_offices(changed.iter().map(|applied| applied.office.clone()))
                        .with_summary(serde_json::json!({
                            "service": first.service,
                            "state": first.state,
                            "reason": first.reason,
                            "expected_at": first.expected_at,
                            "changes": changed.iter().map(|applied| serde_json::json!({
                                "office": applied.office, "from": applied.from, "to": applied.to,
                            })).collect::<Vec<_>>(),
                            "unchanged": applied.len() - changed.len(),
                        }));
                    tx.append_audit(entry).await?;
                }
            }
            tx.commit().await?;
            Ok(applied)
        })
    }

    /// The recorded state of every (office, service) that has ever changed, optionally for one
    /// office; a pair that is absent has always been operational.
    pub async fn service_board(&self, office: Option<&OfficeCode>) -> Result<Vec<BoardRow>, StoreError> {
        let rows: Vec<StateRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT office_code, service, state, reason, expected_at, actor, changed_at
                 FROM service_states
                 WHERE $1 IS NULL OR office_code = $1
                 ORDER BY office_code, service",
            )
            .bind(office.map(OfficeCode::as_str))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(board_row).collect()
    }

    /// When the earliest state change recorded after `since` was made: the planner sleeps until
    /// that change has stood for the settle window, not for a whole tick.
    pub async fn first_change_after(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let first: Option<i64> = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT MIN(changed_at) FROM service_states WHERE changed_at > $1")
                .bind(epoch(since))
                .fetch_one(pool)
                .await?
        });
        first.map(from_epoch).transpose()
    }

    /// The most recent changes of one office, newest first.
    pub async fn state_history(&self, office: &OfficeCode, limit: u32) -> Result<Vec<BoardRow>, StoreError> {
        let rows: Vec<StateRow> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT office_code, service, to_state, reason, expected_at, actor, changed_at
                 FROM service_state_changes
                 WHERE office_code = $1
                 ORDER BY id DESC
                 LIMIT $2",
            )
            .bind(office.as_str())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(board_row).collect()
    }
}
