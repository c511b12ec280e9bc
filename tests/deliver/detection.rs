//! Automatic detection inside `kabar serve`: two serves on one PostgreSQL probe a system that
//! refuses connections, make one proposal between them, and another process (`kabar probes`,
//! `kabar state proposals`, `kabar state confirm`) sees and applies it.

use std::path::Path;
use std::time::Duration;

use kabar::detect::{Health, ProposalStatus};
use kabar::domain::{Service, ServiceState};

use super::process::{exited, serve, terminate, EXIT_LIMIT};
use crate::harness::TestStore;
use crate::support::{bookings, import};

fn config_file(dir: &Path, refused: &str) -> std::path::PathBuf {
    let path = dir.join("kabar.toml");
    let toml = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n\n[delivery.log]\npath = {:?}\n\n\
         [detect]\nauto_apply_after = \"never\"\n\n\
         [[detect.systems]]\nname = \"simkim\"\nprobe = {{ tcp = {refused:?} }}\ninterval_seconds = 1\n\
         timeout_seconds = 1\naffects = {{ offices = \"region:Sumatera Selatan\", services = [\"printing\"] }}\n\
         reason = \"Gangguan sistem pusat keimigrasian\"\n",
        dir.join("messages.jsonl").display().to_string(),
    );
    std::fs::write(&path, toml).expect("write kabar.toml");
    path
}

async fn kabar(config: &Path, database: &str, args: &[&str]) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_kabar"))
        .args(["--config", &config.display().to_string(), "--database-url", database])
        .args(args)
        .env("KABAR_LOG", "warn")
        .output()
        .await
        .expect("run kabar");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "kabar {args:?}: {}{text}", String::from_utf8_lossy(&output.stderr));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serves_on_one_postgres_propose_once_and_the_cli_confirms() {
    let Some(db) = TestStore::postgres().await else { return };
    import(&db.store, &bookings(2)).await;
    // A port nothing listens on: every probe is refused.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &refused);
    let database = db.url.to_string();
    let (first, second) = (serve(&config, &database), serve(&config, &database));

    // Three probes a second apart make the outage. Opening a proposal moves the shared change
    // signal (migration 0016), so wait on it rather than polling the table.
    let changes = kabar::store::Changes::watch(&db.store, kabar::store::Topic::Status).await.unwrap();
    let mut moved = changes.subscribe();
    let proposal = tokio::time::timeout(EXIT_LIMIT, async {
        loop {
            if let Some(proposal) = db.store.detect_proposals(true).await.unwrap().pop() {
                return proposal;
            }
            moved.changed().await.expect("the change signal's watcher runs");
        }
    })
    .await
    .expect("the serves propose the outage");
    assert!(proposal.detail.contains("connection refused"), "{}", proposal.detail);
    // Two more rounds: still one proposal, and one probe per round between the two serves.
    let probes_then = db.store.detect_systems().await.unwrap()[0].probes;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let system = db.store.detect_systems().await.unwrap().remove(0);
    assert_eq!(db.store.detect_proposals(true).await.unwrap().len(), 1);
    assert!(
        system.probes - probes_then <= 3,
        "one prober at a time: {} probes in 2.5 s",
        system.probes - probes_then
    );
    assert_eq!(system.health, Health::Down);

    let probes = kabar(&config, &database, &["probes"]).await;
    assert!(
        probes.contains("simkim") && probes.contains("down") && probes.contains("connection refused"),
        "{probes}"
    );
    let listed = kabar(&config, &database, &["state", "proposals"]).await;
    assert!(listed.contains("outage") && listed.contains("region:Sumatera Selatan"), "{listed}");
    let confirmed = kabar(&config, &database, &["state", "confirm", &proposal.id.to_string()]).await;
    assert!(confirmed.contains("applied: 1 service states changed"), "{confirmed}");
    let board = db.store.service_board(Some(&"PLG".parse().unwrap())).await.unwrap();
    let printing = board.iter().find(|row| row.service == Service::Printing).expect("PLG printing changed");
    assert_eq!(printing.state, ServiceState::Unavailable);
    assert_eq!(printing.reason.as_deref(), Some("Gangguan sistem pusat keimigrasian"));
    let decided = db.store.detect_proposal(proposal.id).await.unwrap().unwrap();
    assert_eq!(decided.status, ProposalStatus::Applied);
    assert!(decided.decided_by.unwrap().starts_with("cli:"));

    for child in [first, second] {
        terminate(&child);
        let (status, _, stderr) = exited(child).await;
        assert!(status.success(), "exit {status:?}: {stderr}");
    }
}
