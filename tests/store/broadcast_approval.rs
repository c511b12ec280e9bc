//! The broadcast lifecycle on both engines: a draft is never planned; submitting counts the
//! audience and schedules a small broadcast at once; a big one (or one for several offices) waits
//! for a second person, who cannot be its author; rejected and cancelled ones are never planned;
//! every step is audited with the status before and after.

use kabar::audit::{Actor, Origin};
use kabar::plan::broadcast::{self, BroadcastError, BroadcastFilter};
use kabar::plan::PlannerConfig;
use kabar::store::{BroadcastStatus, Store};

use crate::broadcasts::{fixture, ready_at_tangerang, weekend_pickup, NOW};
use crate::fixtures::at;
use crate::harness::TestStore;

fn config() -> PlannerConfig {
    PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() }
}

fn staff(name: &str) -> Origin {
    Origin::of(Actor::staff(name))
}

async fn audited(store: &Store) -> Vec<(String, String, serde_json::Value)> {
    let mut rows = Vec::new();
    store
        .audit_records(&Default::default(), |record| {
            if record.action.starts_with("broadcast.") {
                rows.push((record.action, record.actor, record.summary));
            }
            Ok(())
        })
        .await
        .unwrap();
    rows
}

async fn a_small_broadcast_is_scheduled_on_submit_a_draft_never_planned(db: &TestStore) {
    let store = fixture(db).await;
    let now = at(NOW);
    let mut request = weekend_pickup(ready_at_tangerang());
    request.actor = "staff:ani".into();
    let id = broadcast::draft(store, &config(), &request, &staff("ani"), now).await.unwrap();
    assert_eq!(store.broadcast(id).await.unwrap().unwrap().status, BroadcastStatus::Draft);
    assert!(broadcast::plan_due(store, &config(), now).await.unwrap().is_empty(), "a draft is not planned");

    let submitted = broadcast::submit(store, &config(), 1_000, id, &staff("ani"), now).await.unwrap();
    assert_eq!(
        submitted.status,
        BroadcastStatus::Scheduled,
        "3 applicants at one office: no approval needed"
    );
    assert_eq!((submitted.reach, submitted.approved_by.as_deref()), (Some(3), None));
    let planned = broadcast::plan_due(store, &config(), now).await.unwrap();
    assert_eq!(planned.iter().map(|done| done.counts.messages).sum::<u64>(), 3);

    let again = broadcast::submit(store, &config(), 1_000, id, &staff("ani"), now).await.unwrap_err();
    assert!(matches!(again, BroadcastError::WrongStatus { status: BroadcastStatus::Planned, .. }), "{again}");
    let rows = audited(store).await;
    let actions: Vec<&str> = rows.iter().map(|(action, _, _)| action.as_str()).collect();
    assert_eq!(actions, ["broadcast.draft", "broadcast.submit"]);
    assert_eq!(rows[1].2["before"]["status"], "draft");
    assert_eq!(rows[1].2["after"]["status"], "scheduled");
    assert_eq!(rows[1].2["reach"], 3);
}

async fn over_the_threshold_a_second_supervisor_approves(db: &TestStore) {
    let store = fixture(db).await;
    let now = at(NOW);
    let mut request = weekend_pickup(ready_at_tangerang());
    request.actor = "staff:ani".into();
    let id = broadcast::draft(store, &config(), &request, &staff("ani"), now).await.unwrap();
    // A threshold of 2: three applicants need a second person.
    let submitted = broadcast::submit(store, &config(), 2, id, &staff("ani"), now).await.unwrap();
    assert_eq!(submitted.status, BroadcastStatus::Submitted);
    assert!(broadcast::plan_due(store, &config(), now).await.unwrap().is_empty(), "not before approval");
    assert_eq!(store.broadcast_message_counts(id).await.unwrap(), vec![]);

    let own = broadcast::approve(store, id, &staff("ani"), now).await.unwrap_err();
    assert!(matches!(own, BroadcastError::OwnBroadcast(got) if got == id), "{own}");
    assert!(own.to_string().contains("four-eyes"), "{own}");
    assert_eq!(store.broadcast(id).await.unwrap().unwrap().status, BroadcastStatus::Submitted);

    let approved = broadcast::approve(store, id, &staff("budi"), now).await.unwrap();
    assert_eq!(approved.status, BroadcastStatus::Scheduled);
    assert_eq!(approved.approved_by.as_deref(), Some("staff:budi"));
    let twice = broadcast::approve(store, id, &staff("citra"), now).await.unwrap_err();
    assert!(matches!(twice, BroadcastError::WrongStatus { .. }), "{twice}");
    let planned = broadcast::plan_due(store, &config(), now).await.unwrap();
    assert_eq!(planned.iter().map(|done| done.counts.messages).sum::<u64>(), 3);

    let rows = audited(store).await;
    let (action, actor, summary) = rows.last().unwrap();
    assert_eq!((action.as_str(), actor.as_str()), ("broadcast.approve", "staff:budi"));
    assert_eq!(
        (summary["before"]["status"].as_str(), summary["after"]["status"].as_str()),
        (Some("submitted"), Some("scheduled"))
    );
    assert_eq!(summary["author"], "staff:ani");
}

async fn several_offices_need_approval_rejected_and_cancelled_ones_are_never_planned(db: &TestStore) {
    let store = fixture(db).await;
    let now = at(NOW);
    let two = BroadcastFilter { offices: "TNG,PLG".into(), ..ready_at_tangerang() };
    let mut request = weekend_pickup(two);
    request.actor = "staff:ani".into();
    let id = broadcast::draft(store, &config(), &request, &staff("ani"), now).await.unwrap();
    let submitted = broadcast::submit(store, &config(), 1_000, id, &staff("ani"), now).await.unwrap();
    assert_eq!(submitted.status, BroadcastStatus::Submitted, "two offices need a second person");
    let empty = broadcast::reject(store, id, "  ", &staff("budi"), now).await.unwrap_err();
    assert!(matches!(empty, BroadcastError::Field { field: "reason", .. }), "{empty}");
    let rejected = broadcast::reject(store, id, "Jam pengambilan salah", &staff("budi"), now).await.unwrap();
    assert_eq!(
        (rejected.status, rejected.rejected_by.as_deref(), rejected.rejection_reason.as_deref()),
        (BroadcastStatus::Rejected, Some("staff:budi"), Some("Jam pengambilan salah"))
    );
    assert!(broadcast::plan_due(store, &config(), now).await.unwrap().is_empty());
    let late = broadcast::approve(store, id, &staff("citra"), now).await.unwrap_err();
    assert!(matches!(late, BroadcastError::WrongStatus { status: BroadcastStatus::Rejected, .. }), "{late}");
    assert!(broadcast::cancel_by(store, id, Some(&staff("ani")), now).await.is_err(), "rejected is final");

    let other = broadcast::draft(store, &config(), &request, &staff("ani"), now).await.unwrap();
    broadcast::submit(store, &config(), 1_000, other, &staff("ani"), now).await.unwrap();
    assert_eq!(broadcast::cancel_by(store, other, Some(&staff("ani")), now).await.unwrap(), 0);
    let cancelled = store.broadcast(other).await.unwrap().unwrap();
    assert_eq!(
        (cancelled.status, cancelled.cancelled_by.as_deref()),
        (BroadcastStatus::Cancelled, Some("staff:ani"))
    );
    assert!(broadcast::approve(store, other, &staff("budi"), now).await.is_err());
    assert!(broadcast::plan_due(store, &config(), now).await.unwrap().is_empty());
    assert!(matches!(
        broadcast::submit(store, &config(), 1_000, 999, &staff("ani"), now).await,
        Err(BroadcastError::UnknownBroadcast(999))
    ));
    let rows = audited(store).await;
    let reject = rows.iter().find(|(action, _, _)| action == "broadcast.reject").unwrap();
    assert_eq!(reject.2["reason"], "Jam pengambilan salah");
    let cancel = rows.iter().find(|(action, _, _)| action == "broadcast.cancel").unwrap();
    assert_eq!(
        (cancel.2["before"]["status"].as_str(), cancel.2["after"]["status"].as_str()),
        (Some("submitted"), Some("cancelled"))
    );
}

async fn the_cli_send_is_scheduled_at_once_and_audited_without_approver(db: &TestStore) {
    let store = fixture(db).await;
    let now = at(NOW);
    let request = weekend_pickup(BroadcastFilter { offices: "all".into(), ..ready_at_tangerang() });
    let id = broadcast::create_by(store, &config(), &request, Some(&Origin::cli()), now).await.unwrap();
    assert_eq!(store.broadcast(id).await.unwrap().unwrap().status, BroadcastStatus::Scheduled);
    let rows = audited(store).await;
    let (action, actor, summary) = &rows[0];
    assert_eq!(action, "broadcast.send");
    assert!(actor.starts_with("cli:"), "{actor}");
    assert_eq!(summary["approved_by"], serde_json::Value::Null);
    assert!(summary["note"].as_str().unwrap().contains("no second person approved it"), "{summary}");
    assert!(!broadcast::plan_due(store, &config(), now).await.unwrap().is_empty());
}

crate::store_tests!(
    a_small_broadcast_is_scheduled_on_submit_a_draft_never_planned,
    over_the_threshold_a_second_supervisor_approves,
    several_offices_need_approval_rejected_and_cancelled_ones_are_never_planned,
    the_cli_send_is_scheduled_at_once_and_audited_without_approver,
);
