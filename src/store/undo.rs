//! Undoing a state change before anyone hears of it.
//!
//! The planner tells applicants of a change only once it has stood for the settle time, and
//! compares what stands then with what applicants were last told. Undoing is therefore a revert:
//! the service goes back to the state, reason and expected restoration it had before the change
//! (the change before it in the history, or operational), recorded as a new change. When the
//! planner looks, nothing differs from what applicants were told, so no notice event is planned
//! and nothing is sent. The check (the change is still the service's current one and younger than
//! the settle time) and the revert happen in one write transaction: a planner that saw the change
//! settled read it after the settle time, when this check refuses.

use chrono::{DateTime, Utc};

use super::{epoch, on_writer, parse_stored, AuditLog, Store, StoreError, WritePool};
use crate::audit::Origin;
use crate::domain::{OfficeCode, Service, ServiceState};

/// What became of a request to undo some changes.
#[derive(Debug, Clone, PartialEq)]
pub enum UndoOutcome {
    /// Every change was reverted: each office and service, and the state it is back in.
    Undone(Vec<(OfficeCode, Service, ServiceState)>),
    /// Nothing was written: this change is no longer its service's current state (changed again
    /// since), or is older than the settle time (applicants may be hearing of it), or is unknown.
    TooLate(i64),
}

type Current = (String, String, String, i64);
type Previous = (String, Option<String>, Option<i64>);

impl Store {
    /// The offices of these changes, for the authorization check before [`Store::undo_changes`].
    pub async fn change_offices(&self, ids: &[i64]) -> Result<Vec<(i64, OfficeCode)>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let office: Option<String> = super::on_reader!(self, pool => {
                sqlx::query_scalar("SELECT office_code FROM service_state_changes WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
            });
            if let Some(office) = office {
                out.push((id, parse_stored("service_state_changes.office_code", &office)?));
            }
        }
        Ok(out)
    }

    /// Reverts each change of `ids` made after `settled_before`, all or none, auditing the undo.
    pub async fn undo_changes(
        &self,
        ids: &[i64],
        settled_before: DateTime<Utc>,
        actor: &str,
        now: DateTime<Utc>,
        origin: &Origin,
    ) -> Result<UndoOutcome, StoreError> {
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut undone: Vec<(OfficeCode, Service, ServiceState, i64)> = Vec::with_capacity(ids.len());
            for &id in ids {
                let current: Option<Current> = sqlx::query_as(
                    "SELECT s.office_code, s.service, s.state, s.changed_at
                     FROM service_states s WHERE s.change_id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((office, service, state, changed_at)) = current else {
                    return Ok(UndoOutcome::TooLate(id));
                };
                if changed_at <= epoch(settled_before) {
                    return Ok(UndoOutcome::TooLate(id));
                }
                let previous: Option<Previous> = sqlx::query_as(
                    "SELECT to_state, reason, expected_at FROM service_state_changes
                     WHERE office_code = $1 AND service = $2 AND id < $3
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(&office)
                .bind(&service)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let (back, reason, expected_at) =
                    previous.unwrap_or_else(|| (ServiceState::Operational.as_str().to_owned(), None, None));
                let change_id: i64 = sqlx::query_scalar(
                    "INSERT INTO service_state_changes
                         (office_code, service, from_state, to_state, reason, expected_at, actor, changed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     RETURNING id",
                )
                .bind(&office)
                .bind(&service)
                .bind(&state)
                .bind(&back)
                .bind(reason.as_deref())
                .bind(expected_at)
                .bind(actor)
                .bind(epoch(now))
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE service_states SET state = $3, reason = $4, expected_at = $5, actor = $6,
                                               changed_at = $7, change_id = $8
                     WHERE office_code = $1 AND service = $2",
                )
                .bind(&office)
                .bind(&service)
                .bind(&back)
                .bind(reason.as_deref())
                .bind(expected_at)
                .bind(actor)
                .bind(epoch(now))
                .bind(change_id)
                .execute(&mut *tx)
                .await?;
                undone.push((
                    parse_stored("service_states.office_code", &office)?,
                    parse_stored("service_states.service", &service)?,
                    parse_stored("service_state_changes.to_state", &back)?,
                    id,
                ));
            }
            if let Some((_, service, _, _)) = undone.first() {
                let entry = origin
                    .entry(now, "state.undo", format!("service:{service}"))
                    .with_offices(undone.iter().map(|(office, ..)| office.clone()))
                    .with_summary(serde_json::json!({
                        "undone": undone.iter().map(|(office, service, back, id)| serde_json::json!({
                            "change": id, "office": office, "service": service, "back_to": back,
                        })).collect::<Vec<_>>(),
                    }));
                tx.append_audit(entry).await?;
            }
            tx.commit().await?;
            Ok(UndoOutcome::Undone(undone.into_iter().map(|(o, s, b, _)| (o, s, b)).collect()))
        })
    }

    /// The current change id of each (office, service): what a console result page offers to
    /// undo. Offices that never changed have none.
    pub async fn current_change_ids(
        &self,
        offices: &[OfficeCode],
        service: Service,
    ) -> Result<Vec<(OfficeCode, i64)>, StoreError> {
        let mut out = Vec::with_capacity(offices.len());
        for office in offices {
            let id: Option<Option<i64>> = super::on_reader!(self, pool => {
                sqlx::query_scalar("SELECT change_id FROM service_states WHERE office_code = $1 AND service = $2")
                    .bind(office.as_str())
                    .bind(service.as_str())
                    .fetch_optional(pool)
                    .await?
            });
            if let Some(Some(id)) = id {
                out.push((office.clone(), id));
            }
        }
        Ok(out)
    }
}
