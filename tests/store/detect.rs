//! Automatic detection on both engines, against a local upstream over real HTTP whose answer the
//! test sets, with the prober stepped on the test's own clock.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use kabar::audit::{Actor, AuditFilter, Origin};
use kabar::detect::proposals::Decided;
use kabar::detect::{self, DetectConfig, Health, Prober, Proposal, ProposalKind, ProposalStatus};
use kabar::domain::{Service, ServiceState};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::store::Store;

use crate::fixtures::{at, bookings_csv, change, import_bookings, import_offices};
use crate::harness::TestStore;

const T0: &str = "2024-06-20T03:00:00Z";
const BOOKINGS: &str = "\
P-A1,PLG,,Budi,0812-1000-0001,,,,2024-06-21 09:00,regular,no,booked,
G-A1,GTO,,Kartika,0812-1000-0009,,,,2024-06-21 08:00,regular,no,booked,
";

/// An upstream health endpoint answering whatever status the test sets.
struct Upstream {
    status: Arc<AtomicU16>,
    url: String,
}

impl Upstream {
    async fn start() -> Upstream {
        let status = Arc::new(AtomicU16::new(200));
        let answer = status.clone();
        let app = axum::Router::new().route(
            "/health",
            axum::routing::get(move || {
                let answer = answer.clone();
                async move { axum::http::StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap() }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/health", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream { status, url }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

fn config(url: &str, auto_apply_after: &str) -> DetectConfig {
    let text = format!(
        r#"
        auto_apply_after = "{auto_apply_after}"
        [[systems]]
        name = "simkim"
        probe = {{ http = "{url}", expect_status = 200 }}
        interval_seconds = 30
        timeout_seconds = 2
        affects = {{ offices = "all", services = ["printing", "pickup"] }}
        "#
    );
    let config: DetectConfig = toml::from_str(&text).unwrap();
    config.validate().unwrap();
    config
}

/// Steps `prober` once per interval from `from`, `steps` times; returns the time after.
async fn steps(prober: &Prober, from: DateTime<Utc>, count: u32) -> DateTime<Utc> {
    let mut now = from;
    for _ in 0..count {
        let report = prober.step(now).await.unwrap();
        assert!(report.leader, "a lone prober holds the lease");
        now += Duration::seconds(30);
    }
    now
}

async fn proposals(store: &Store) -> Vec<Proposal> {
    store.detect_proposals(true).await.unwrap()
}

async fn state_of(store: &Store, office: &str, service: Service) -> ServiceState {
    let code = office.parse().unwrap();
    let board = store.service_board(Some(&code)).await.unwrap();
    board.into_iter().find(|row| row.service == service).map_or(ServiceState::Operational, |row| row.state)
}

async fn audit_actions(store: &Store) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    store
        .audit_records(&AuditFilter::default(), |record| {
            rows.push((record.actor, record.action));
            Ok(())
        })
        .await
        .unwrap();
    rows
}

async fn fixture(db: &TestStore) -> (&Store, Upstream) {
    import_offices(&db.store).await;
    assert!(import_bookings(&db.store, &bookings_csv(BOOKINGS), true).await.is_clean());
    (&db.store, Upstream::start().await)
}

async fn three_failures_propose_and_a_confirmation_applies_and_plans(db: &TestStore) {
    let (store, upstream) = fixture(db).await;
    let prober = Prober::new(store.clone(), &config(&upstream.url, "never")).unwrap();
    upstream.answer(503);
    let now = steps(&prober, at(T0), 2).await;
    assert!(proposals(store).await.is_empty(), "two failures are not an outage");
    let report = prober.step(now).await.unwrap();
    assert_eq!(report.proposed.len(), 1);
    let proposal = &proposals(store).await[0];
    assert_eq!(
        (proposal.kind, proposal.status, proposal.apply_at),
        (ProposalKind::Outage, ProposalStatus::Open, None)
    );
    assert!(proposal.detail.contains("HTTP 503 (expected 200)"), "{}", proposal.detail);
    assert!(proposal.detail.contains("3 failed probes in a row"), "{}", proposal.detail);
    assert_eq!(state_of(store, "PLG", Service::Printing).await, ServiceState::Operational, "only proposed");

    let staff = Origin::of(Actor::staff("budi"));
    let decided = detect::confirm(store, proposal.id, &staff, now).await.unwrap();
    assert_eq!(decided, Decided::Applied(8), "printing and pickup at the four offices");
    for office in ["PLG", "GTO", "JPR", "TNG"] {
        assert_eq!(state_of(store, office, Service::Printing).await, ServiceState::Unavailable, "{office}");
    }
    let board = store.service_board(Some(&"PLG".parse().unwrap())).await.unwrap();
    assert!(board.iter().all(|row| row.reason.as_deref() == Some("Gangguan sistem pusat (simkim)")));
    // The planner runs as for a change made by hand.
    let events = plan_once(store, &PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() }, now)
        .await
        .unwrap();
    assert!(events.iter().map(|event| event.counts.messages).sum::<u64>() >= 2, "{events:?}");
    let actions = audit_actions(store).await;
    assert!(actions.contains(&("system:detector".into(), "proposal.open".into())), "{actions:?}");
    assert!(actions.contains(&("staff:budi".into(), "proposal.apply".into())), "{actions:?}");
    assert!(actions.contains(&("staff:budi".into(), "state.set".into())), "{actions:?}");
    // Confirming twice is refused with what became of it.
    let again = detect::confirm(store, proposal.id, &staff, now).await.unwrap_err();
    assert!(again.to_string().contains("already applied"), "{again}");
    let systems = store.detect_systems().await.unwrap();
    assert_eq!((systems[0].health, systems[0].probes, systems[0].failures), (Health::Down, 3, 3));
}

async fn a_single_failed_probe_or_flapping_proposes_nothing(db: &TestStore) {
    let (store, upstream) = fixture(db).await;
    let prober = Prober::new(store.clone(), &config(&upstream.url, "0")).unwrap();
    let mut now = at(T0);
    for status in [200, 503, 200, 200, 503, 503, 200, 503, 200, 200, 200] {
        upstream.answer(status);
        now = steps(&prober, now, 1).await;
    }
    assert!(proposals(store).await.is_empty());
    assert_eq!(store.detect_systems().await.unwrap()[0].health, Health::Up);
    assert_eq!(state_of(store, "PLG", Service::Printing).await, ServiceState::Operational);
}

async fn nobody_confirms_so_kabar_applies_after_the_wait_and_proposes_the_recovery(db: &TestStore) {
    let (store, upstream) = fixture(db).await;
    let prober = Prober::new(store.clone(), &config(&upstream.url, "30m")).unwrap();
    upstream.answer(500);
    let down_at = steps(&prober, at(T0), 3).await - Duration::seconds(30);
    let outage = proposals(store).await[0].clone();
    assert_eq!(outage.apply_at, Some(down_at + Duration::minutes(30)));
    // A probe before the wait is over applies nothing.
    let report = prober.step(down_at + Duration::minutes(29)).await.unwrap();
    assert!(report.applied.is_empty());
    assert_eq!(state_of(store, "GTO", Service::Pickup).await, ServiceState::Operational);
    let report = prober.step(down_at + Duration::minutes(30)).await.unwrap();
    assert_eq!(report.applied, [outage.id]);
    assert_eq!(state_of(store, "GTO", Service::Pickup).await, ServiceState::Unavailable);
    let applied = store.detect_proposal(outage.id).await.unwrap().unwrap();
    assert_eq!(applied.decided_by.as_deref(), Some("system:detector"));

    upstream.answer(200);
    let back_at = steps(&prober, down_at + Duration::minutes(31), 3).await - Duration::seconds(30);
    let recovery = proposals(store).await.into_iter().find(|p| p.kind == ProposalKind::Recovery).unwrap();
    assert_eq!(recovery.status, ProposalStatus::Open);
    assert!(recovery.detail.contains("answering again"), "{}", recovery.detail);
    prober.step(back_at + Duration::minutes(30)).await.unwrap();
    assert_eq!(state_of(store, "GTO", Service::Pickup).await, ServiceState::Operational);
    assert_eq!(store.detect_proposal(recovery.id).await.unwrap().unwrap().status, ProposalStatus::Applied);
}

async fn a_dismissed_outage_proposes_nothing_until_it_recovers_and_fails_again(db: &TestStore) {
    let (store, upstream) = fixture(db).await;
    let prober_never = Prober::new(store.clone(), &config(&upstream.url, "never")).unwrap();
    upstream.answer(502);
    let now = steps(&prober_never, at(T0), 3).await;
    let outage = proposals(store).await[0].clone();
    let staff = Origin::of(Actor::staff("sari"));
    let decided = detect::dismiss(store, outage.id, Some("planned maintenance"), &staff, now).await.unwrap();
    assert_eq!(decided, Decided::Dismissed);
    let now = steps(&prober_never, now, 5).await;
    assert_eq!(proposals(store).await.len(), 1, "still the same outage");
    upstream.answer(200);
    let now = steps(&prober_never, now, 3).await;
    assert_eq!(proposals(store).await.len(), 1, "a dismissed outage has no recovery to propose");
    assert_eq!(state_of(store, "PLG", Service::Printing).await, ServiceState::Operational);
    upstream.answer(502);
    steps(&prober_never, now, 3).await;
    let all = proposals(store).await;
    assert_eq!(all.len(), 2, "a new outage after a recovery: {all:?}");
    assert_eq!((all[0].episode, all[0].status), (2, ProposalStatus::Open));
    let dismissed = store.detect_proposal(outage.id).await.unwrap().unwrap();
    assert_eq!(dismissed.note.as_deref(), Some("planned maintenance"));
}

async fn a_proposal_the_state_already_matches_is_dropped(db: &TestStore) {
    let (store, upstream) = fixture(db).await;
    for service in [Service::Printing, Service::Pickup] {
        change(store, "all", service, ServiceState::Unavailable, T0).await;
    }
    let prober = Prober::new(store.clone(), &config(&upstream.url, "0")).unwrap();
    upstream.answer(503);
    let report_at = steps(&prober, at(T0), 2).await;
    let report = prober.step(report_at).await.unwrap();
    assert_eq!(report.proposed.len(), 1);
    assert_eq!(report.dropped, report.proposed);
    let proposal = &proposals(store).await[0];
    assert_eq!(
        (proposal.status, proposal.note.as_deref()),
        (ProposalStatus::Dropped, Some("the states already matched"))
    );
    // Staff's own reason stays.
    let board = store.service_board(Some(&"PLG".parse().unwrap())).await.unwrap();
    assert!(board.iter().all(|row| row.reason.as_deref() == Some("Gangguan Pusat Data Nasional")));
}

async fn a_system_back_before_anyone_acted_drops_its_proposal(db: &TestStore) {
    let (store, upstream) = fixture(db).await;
    let prober = Prober::new(store.clone(), &config(&upstream.url, "never")).unwrap();
    upstream.answer(503);
    let now = steps(&prober, at(T0), 3).await;
    upstream.answer(200);
    steps(&prober, now, 3).await;
    let all = proposals(store).await;
    assert_eq!(all.len(), 1, "no recovery for an outage never applied: {all:?}");
    assert_eq!(all[0].status, ProposalStatus::Dropped);
}

async fn two_probers_on_one_database_make_one_proposal(db: &TestStore) {
    let (store, upstream) = fixture(db).await;
    // Two serves: two stores (connection pools) on the same database, each with its prober.
    let other = Store::open(&db.url).await.unwrap();
    let config = config(&upstream.url, "never");
    let (first, second) =
        (Prober::new(store.clone(), &config).unwrap(), Prober::new(other.clone(), &config).unwrap());
    upstream.answer(503);
    let mut now = at(T0);
    let mut last_leader = None;
    for _ in 0..4 {
        let (a, b) = tokio::join!(first.step(now), second.step(now));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.leader != b.leader, "exactly one probes at a time: {a:?} {b:?}");
        last_leader = Some(a.leader);
        now += Duration::seconds(30);
    }
    assert_eq!(proposals(store).await.len(), 1);
    assert_eq!(store.detect_systems().await.unwrap()[0].probes, 4, "each round probed once");
    // The leader stops: the other waits for the lease to run out, then takes over.
    let last = now - Duration::seconds(30);
    let follower = if last_leader == Some(true) { &second } else { &first };
    assert!(!follower.step(last + Duration::seconds(10)).await.unwrap().leader);
    assert!(follower.step(last + Duration::seconds(16)).await.unwrap().leader);
    other.close().await;
}

async fn tcp_and_command_probes_say_what_failed(_db: &TestStore) {
    let client = reqwest::Client::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let up = detect::probe::run(
        &detect::Probe::Tcp { address: address.clone() },
        std::time::Duration::from_secs(2),
        &client,
    )
    .await;
    assert!(up.ok, "{up:?}");
    drop(listener);
    let refused =
        detect::probe::run(&detect::Probe::Tcp { address }, std::time::Duration::from_secs(2), &client).await;
    assert_eq!((refused.ok, refused.detail.as_str()), (false, "connection refused"));
    let command = |program: &str, args: &[&str]| detect::Probe::Command {
        program: program.into(),
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
    };
    let failed =
        detect::probe::run(&command("sh", &["-c", "exit 3"]), std::time::Duration::from_secs(2), &client)
            .await;
    assert_eq!((failed.ok, failed.detail.as_str()), (false, "exit 3"));
    let slow =
        detect::probe::run(&command("sleep", &["5"]), std::time::Duration::from_secs(1), &client).await;
    assert_eq!((slow.ok, slow.detail.as_str()), (false, "timeout after 1 s"));
    assert!(detect::probe::run(&command("true", &[]), std::time::Duration::from_secs(2), &client).await.ok);
}

crate::store_tests!(
    three_failures_propose_and_a_confirmation_applies_and_plans,
    a_single_failed_probe_or_flapping_proposes_nothing,
    nobody_confirms_so_kabar_applies_after_the_wait_and_proposes_the_recovery,
    a_dismissed_outage_proposes_nothing_until_it_recovers_and_fails_again,
    a_proposal_the_state_already_matches_is_dropped,
    a_system_back_before_anyone_acted_drops_its_proposal,
    two_probers_on_one_database_make_one_proposal,
    tcp_and_command_probes_say_what_failed,
);
