//! A broadcast's life: drafted, submitted, approved (scheduled) or rejected, cancelled; and the
//! CLI's direct send. Every step is audited in the transaction that takes it, with the status
//! before and after.
//!
//! The four-eyes rule: a broadcast reaching more than `approval_threshold` applicants, or more
//! than one office, waits after submission for a second person. That the approver is a
//! supervisor for all its offices is the caller's check (the API's one authorization check);
//! that they are not its author is checked here, in the same transaction as the approval.

use chrono::{DateTime, Utc};

use super::{horizon_end, BroadcastError, BroadcastFilter, BroadcastRequest};
use crate::audit::Origin;
use crate::domain::OfficeCode;
use crate::plan::PlannerConfig;
use crate::store::{
    AudienceQuery, BroadcastRecord, BroadcastStatus, OfficeDirectory, Store, Transition, Transitioned,
};

/// How many a broadcast reaches now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reach {
    /// One per applicant and office, as planned.
    pub applicants: u64,
    pub offices: Vec<OfficeCode>,
}

impl Reach {
    /// Whether a second person must approve before it is scheduled.
    pub fn needs_approval(&self, threshold: u64) -> bool {
        self.applicants > threshold || self.offices.len() > 1
    }
}

/// The offices a stored broadcast is for, as its filter names them now.
pub fn broadcast_offices(
    record: &BroadcastRecord,
    directory: &OfficeDirectory,
) -> Result<Vec<OfficeCode>, BroadcastError> {
    let filter: BroadcastFilter = serde_json::from_str(&record.filter_json)
        .map_err(|err| BroadcastError::Filter(format!("broadcast {}: stored filter: {err}", record.id)))?;
    Ok(filter.offices(directory)?.into_iter().map(|office| office.code.clone()).collect())
}

/// Counts who a stored broadcast reaches now, office by office, writing nothing.
pub async fn reach(
    store: &Store,
    planner: &PlannerConfig,
    record: &BroadcastRecord,
    now: DateTime<Utc>,
) -> Result<Reach, BroadcastError> {
    let filter: BroadcastFilter = serde_json::from_str(&record.filter_json)
        .map_err(|err| BroadcastError::Filter(format!("broadcast {}: stored filter: {err}", record.id)))?;
    let directory = store.office_directory().await?;
    let offices = filter.offices(&directory)?;
    let mut applicants = 0;
    for office in &offices {
        let at_office = filter.at_office(office);
        let audience = AudienceQuery {
            office: &office.code,
            filter: &at_office,
            channels: &record.channels,
            now,
            horizon_end: horizon_end(planner, now),
        };
        applicants +=
            store.audience_groups(&audience).await?.iter().map(|group| group.applicants).sum::<u64>();
    }
    Ok(Reach { applicants, offices: offices.into_iter().map(|office| office.code.clone()).collect() })
}

async fn checked_offices(
    store: &Store,
    request: &BroadcastRequest,
) -> Result<Vec<OfficeCode>, BroadcastError> {
    request.filter.validate()?;
    request.check_text()?;
    let directory = store.office_directory().await?;
    Ok(request.filter.offices(&directory)?.into_iter().map(|office| office.code.clone()).collect())
}

fn summary_of(record: &BroadcastRecord) -> serde_json::Value {
    serde_json::json!({
        "title": record.title,
        "kind": record.kind,
        "status": record.status,
        "send_at": record.send_at,
        "channels": record.channels,
    })
}

/// Stores a broadcast scheduled for its time (now when none is given), as `kabar broadcast send`
/// does: not held for approval. With an origin it is audited as `broadcast.send`, saying that no
/// second person approved it. Staff preview first; the CLI's `send` previews too and refuses a
/// broadcast whose samples do not render.
pub async fn create_by(
    store: &Store,
    planner: &PlannerConfig,
    request: &BroadcastRequest,
    origin: Option<&Origin>,
    now: DateTime<Utc>,
) -> Result<i64, BroadcastError> {
    let offices = checked_offices(store, request).await?;
    let new = request.record(planner, now);
    let audit = |id: i64| {
        let origin = origin.expect("only called with an origin");
        origin.entry(now, "broadcast.send", format!("broadcast:{id}")).with_offices(offices.clone()).with_summary(
            serde_json::json!({
                "before": null,
                "after": {"title": new.title, "kind": new.kind, "status": BroadcastStatus::Scheduled, "send_at": new.send_at, "channels": new.channels},
                "approved_by": null,
                "note": "sent from the command line: not held for approval, no second person approved it",
            }),
        )
    };
    let audit = origin.map(|_| &audit as &(dyn Fn(i64) -> crate::audit::AuditEntry + Sync));
    Ok(store.create_broadcast(&new, BroadcastStatus::Scheduled, audit).await?)
}

/// [`create_by`] without an audit row, for tests, benchmarks and the demo.
pub async fn create(
    store: &Store,
    planner: &PlannerConfig,
    request: &BroadcastRequest,
    now: DateTime<Utc>,
) -> Result<i64, BroadcastError> {
    create_by(store, planner, request, None, now).await
}

/// Stores a draft: nothing is planned until it is submitted (and, if it needs it, approved).
pub async fn draft(
    store: &Store,
    planner: &PlannerConfig,
    request: &BroadcastRequest,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<i64, BroadcastError> {
    let offices = checked_offices(store, request).await?;
    let new = request.record(planner, now);
    let audit = |id: i64| {
        origin.entry(now, "broadcast.draft", format!("broadcast:{id}")).with_offices(offices.clone()).with_summary(
            serde_json::json!({
                "before": null,
                "after": {"title": new.title, "kind": new.kind, "status": BroadcastStatus::Draft, "send_at": new.send_at, "channels": new.channels},
            }),
        )
    };
    Ok(store.create_broadcast(&new, BroadcastStatus::Draft, Some(&audit)).await?)
}

/// Takes one step, audited as `action`, mapping the store's refusals to errors that say why.
async fn step(
    store: &Store,
    transition: Transition<'_>,
    origin: Option<&Origin>,
    action: &'static str,
    what: &'static str,
) -> Result<(BroadcastRecord, u64), BroadcastError> {
    let directory = store.office_directory().await?;
    let audit = |before: &BroadcastRecord, after: &BroadcastRecord, cancelled: u64| {
        let origin = origin.expect("only called with an origin");
        let offices = broadcast_offices(after, &directory).unwrap_or_default();
        let mut summary = serde_json::json!({
            "before": summary_of(before),
            "after": summary_of(after),
            "author": after.created_by,
        });
        if let Some(reach) = after.reach {
            summary["reach"] = reach.into();
        }
        if let Some(reason) = &after.rejection_reason {
            summary["reason"] = reason.clone().into();
        }
        if after.status == BroadcastStatus::Cancelled {
            summary["messages_cancelled"] = cancelled.into();
        }
        origin
            .entry(transition.at, action, format!("broadcast:{}", after.id))
            .with_offices(offices)
            .with_summary(summary)
    };
    let audit = origin.map(|_| &audit as &crate::store::StepAudit<'_>);
    match store.transition_broadcast(&transition, audit).await? {
        Transitioned::Done { after, cancelled_messages, .. } => Ok((*after, cancelled_messages)),
        Transitioned::Unknown => Err(BroadcastError::UnknownBroadcast(transition.id)),
        Transitioned::WrongStatus(record) => {
            Err(BroadcastError::WrongStatus { id: record.id, status: record.status, what })
        }
        Transitioned::ByAuthor(record) => Err(BroadcastError::OwnBroadcast(record.id)),
    }
}

/// Submits a draft: it is counted now; one needing approval waits (`submitted`), any other is
/// scheduled at once.
pub async fn submit(
    store: &Store,
    planner: &PlannerConfig,
    approval_threshold: u64,
    id: i64,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<BroadcastRecord, BroadcastError> {
    let record = store.broadcast(id).await?.ok_or(BroadcastError::UnknownBroadcast(id))?;
    let reach = reach(store, planner, &record, now).await?;
    let to = match reach.needs_approval(approval_threshold) {
        true => BroadcastStatus::Submitted,
        false => BroadcastStatus::Scheduled,
    };
    let by = origin.actor.to_string();
    let transition = Transition {
        id,
        from: &[BroadcastStatus::Draft],
        to,
        by: &by,
        at: now,
        reach: Some(reach.applicants),
        reason: None,
        not_by_author: false,
    };
    Ok(step(store, transition, Some(origin), "broadcast.submit", "only a draft can be submitted").await?.0)
}

/// Approves a submitted broadcast: it is scheduled. Refused to its author.
pub async fn approve(
    store: &Store,
    id: i64,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<BroadcastRecord, BroadcastError> {
    let by = origin.actor.to_string();
    let transition = Transition {
        id,
        from: &[BroadcastStatus::Submitted],
        to: BroadcastStatus::Scheduled,
        by: &by,
        at: now,
        reach: None,
        reason: None,
        not_by_author: true,
    };
    let what = "only a submitted broadcast waiting for approval can be approved";
    Ok(step(store, transition, Some(origin), "broadcast.approve", what).await?.0)
}

/// The longest reason for a rejection.
pub const MAX_REASON: usize = 500;

/// Rejects a submitted broadcast, saying why; it is never planned.
pub async fn reject(
    store: &Store,
    id: i64,
    reason: &str,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<BroadcastRecord, BroadcastError> {
    let reason = reason.trim();
    let field = |message: String| BroadcastError::Field { field: "reason", message };
    if reason.is_empty() {
        return Err(field("say why it is rejected, so its author can change it".into()));
    }
    crate::domain::check_plain_text(&reason.replace(['\n', '\r', '\t'], " "))
        .and_then(|()| crate::domain::check_length(reason, MAX_REASON))
        .map_err(|err| field(format!("reason: {err}")))?;
    let by = origin.actor.to_string();
    let transition = Transition {
        id,
        from: &[BroadcastStatus::Submitted],
        to: BroadcastStatus::Rejected,
        by: &by,
        at: now,
        reach: None,
        reason: Some(reason),
        not_by_author: false,
    };
    let what = "only a submitted broadcast waiting for approval can be rejected";
    Ok(step(store, transition, Some(origin), "broadcast.reject", what).await?.0)
}

/// Cancels a broadcast that is not yet rejected or cancelled: a draft or scheduled one is never
/// planned, and a planned one's messages not yet handed to a provider are cancelled. Returns how
/// many messages were cancelled.
pub async fn cancel_by(
    store: &Store,
    id: i64,
    origin: Option<&Origin>,
    now: DateTime<Utc>,
) -> Result<u64, BroadcastError> {
    let by = origin.map_or_else(|| "unknown".to_owned(), |origin| origin.actor.to_string());
    let transition = Transition {
        id,
        from: &[
            BroadcastStatus::Draft,
            BroadcastStatus::Submitted,
            BroadcastStatus::Scheduled,
            BroadcastStatus::Planned,
        ],
        to: BroadcastStatus::Cancelled,
        by: &by,
        at: now,
        reach: None,
        reason: None,
        not_by_author: false,
    };
    let what = "a rejected or cancelled broadcast cannot be cancelled";
    Ok(step(store, transition, origin, "broadcast.cancel", what).await?.1)
}

/// [`cancel_by`] without an audit row.
pub async fn cancel(store: &Store, id: i64, now: DateTime<Utc>) -> Result<u64, BroadcastError> {
    cancel_by(store, id, None, now).await
}
