//! `kabar serve` as an operator runs it: the real binary as a child process, sending to the fake
//! Twilio. SIGTERM mid-delivery stops it cleanly (exit 0, nothing claimed left behind), and after
//! a restart every applicant has had the message exactly once.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use kabar::domain::Channel;
use kabar::store::DatabaseUrl;
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

use crate::fakes::twilio::FakeTwilio;
use crate::fakes::Fault;
use crate::harness::TestStore;
use crate::support::{bookings, import, plan_outage, Inspect};

/// A guard against a hang, not a synchronisation: a clean stop takes well under a second here.
pub(crate) const EXIT_LIMIT: Duration = Duration::from_secs(30);

fn config_file(dir: &Path, twilio: &FakeTwilio) -> std::path::PathBuf {
    let path = dir.join("kabar.toml");
    let config = twilio.config();
    let toml = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n\n[delivery]\nbatch_size = 50\nconcurrency = 4\nshutdown_grace_seconds = 20\n\n\
         [delivery.twilio]\naccount_sid = {:?}\nauth_token = {:?}\nfrom = {:?}\nbase_url = {:?}\n",
        config.account_sid,
        secrecy::ExposeSecret::expose_secret(&config.auth_token),
        config.from.as_deref().expect("the fake's sender"),
        config.base_url.as_str(),
    );
    std::fs::write(&path, toml).expect("write kabar.toml");
    path
}

pub(crate) fn serve(config: &Path, database: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kabar"))
        .args(["--config", &config.display().to_string(), "--database-url", database, "serve"])
        .env("KABAR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start kabar serve")
}

pub(crate) fn terminate(child: &Child) {
    let pid = child.id().expect("the child runs").to_string();
    let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(status.success(), "kill -TERM {pid}");
}

/// Waits for the child to exit; returns its status and what it printed.
pub(crate) async fn exited(child: Child) -> (std::process::ExitStatus, String, String) {
    let output = tokio::time::timeout(EXIT_LIMIT, child.wait_with_output())
        .await
        .expect("kabar serve exits after SIGTERM")
        .expect("the child's output");
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (output.status, text(output.stdout), text(output.stderr))
}

fn sqlite_path(db: &TestStore) -> String {
    match &db.url {
        DatabaseUrl::Sqlite(path) => path.clone(),
        DatabaseUrl::Postgres(_) => unreachable!("these tests use SQLite"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_delivery_exits_cleanly_and_a_restart_sends_each_message_once() {
    const APPLICANTS: u32 = 60;
    let db = TestStore::sqlite().await;
    import(&db.store, &bookings(APPLICANTS)).await;
    let planned = plan_outage(&db.store, &[Channel::Sms]).await;
    let twilio = FakeTwilio::start().await;
    // Slow answers: four sends in flight at once, about sixteen a second.
    twilio.fail_times(10_000, Fault::Delay(Duration::from_millis(250)));
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &twilio);
    let database = sqlite_path(&db);

    let first = serve(&config, &database);
    twilio.wait_for(10).await;
    terminate(&first);
    let (status, stdout, stderr) = exited(first).await;
    assert!(status.success(), "exit {status:?}\nstdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("stopped:"), "the summary is printed: {stdout}");
    let after_stop = twilio.received();
    assert!(after_stop < planned.len(), "stopped mid-delivery ({after_stop} of {})", planned.len());
    let inspect = Inspect::open(&db.url).await;
    let statuses: Vec<String> = inspect.messages().await.into_iter().map(|row| row.status).collect();
    assert!(
        statuses.iter().all(|status| status == "sent" || status == "queued"),
        "every outcome recorded, every unsent claim given back: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|status| *status == "sent").count(), after_stop);

    let second = serve(&config, &database);
    twilio.wait_for(planned.len()).await;
    // The last outcomes are recorded as they arrive; SIGTERM waits for them.
    terminate(&second);
    let (status, stdout, stderr) = exited(second).await;
    assert!(status.success(), "exit {status:?}\nstdout: {stdout}\nstderr: {stderr}");

    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for request in twilio.requests() {
        *per_recipient.entry(request.field("To").unwrap()).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), planned.len(), "every applicant was sent the message");
    let twice: Vec<_> = per_recipient.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    for row in inspect.messages().await {
        assert_eq!(row.status, "sent", "{row:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_serve_exits_cleanly_on_sigterm() {
    let db = TestStore::sqlite().await;
    import(&db.store, &bookings(1)).await;
    let twilio = FakeTwilio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &twilio);
    let mut child = serve(&config, &sqlite_path(&db));
    // Started once the worker has registered (before that a signal would end an unready
    // process, which is also a clean exit but not the case under test).
    let inspect = Inspect::open(&db.url).await;
    loop {
        if inspect.worker_count().await > 0 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("kabar serve ended by itself: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    terminate(&child);
    let (status, stdout, stderr) = exited(child).await;
    assert!(status.success(), "exit {status:?}\nstdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("stopped: 0 messages sent"), "{stdout}");
    assert_eq!(twilio.received(), 0);
}

/// SQLite: staff commands run against a database a live `kabar serve` is writing to (recording
/// outcomes as they arrive) do not fail with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_commands_beside_a_live_serve_never_find_the_database_locked() {
    const APPLICANTS: u32 = 200;
    let db = TestStore::sqlite().await;
    import(&db.store, &bookings(APPLICANTS)).await;
    let planned = plan_outage(&db.store, &[Channel::Sms]).await;
    let twilio = FakeTwilio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &twilio);
    let database = sqlite_path(&db);
    let running = serve(&config, &database);
    twilio.wait_for(20).await;

    // While it sends: a booking import of a thousand rows, and a state change.
    let more: String = (5001..6001).map(|n| crate::support::booking(n, "Pemohon Baru", None)).collect();
    let file = crate::fixtures::bookings_csv(&more);
    let cli = |args: Vec<String>| {
        let config = config.clone();
        let database = database.clone();
        async move {
            let mut all =
                vec!["--config".to_owned(), config.display().to_string(), "--database-url".into(), database];
            all.extend(args);
            Command::new(env!("CARGO_BIN_EXE_kabar")).args(&all).output().await.expect("run kabar")
        }
    };
    let import_args = vec!["import".into(), "bookings".into(), file.path.display().to_string()];
    let state_args: Vec<String> =
        ["state", "set", "GTO", "pickup", "unavailable", "--reason", "Gangguan"].map(String::from).into();
    let (imported, changed) = tokio::join!(cli(import_args), cli(state_args));
    for (what, output) in [("import", imported), ("state set", changed)] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{what} failed beside a live serve: {stderr}");
        assert!(!stderr.contains("locked"), "{what}: {stderr}");
    }
    twilio.wait_for(planned.len()).await;
    terminate(&running);
    let (status, stdout, stderr) = exited(running).await;
    assert!(status.success(), "exit {status:?}\nstdout: {stdout}\nstderr: {stderr}");
}

/// A second signal ends the process at once, mid-send: nothing is corrupted, and the messages
/// cut off in flight are still claimed, to go out again (a restart on this host takes them over).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_at_once_and_a_restart_finishes_the_work() {
    const APPLICANTS: u32 = 30;
    let db = TestStore::sqlite().await;
    import(&db.store, &bookings(APPLICANTS)).await;
    let planned = plan_outage(&db.store, &[Channel::Sms]).await;
    let twilio = FakeTwilio::start().await;
    // Sends that take far longer than the test waits: the first signal cannot finish them.
    twilio.fail_times(4, Fault::Delay(Duration::from_secs(60)));
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &twilio);
    let database = sqlite_path(&db);
    let mut first = serve(&config, &database);
    twilio.wait_for(4).await;
    terminate(&first);
    // The second signal once the first has been taken: two sent at once may reach the process
    // as one (a signal stream reports deliveries between two polls once).
    let mut stderr = tokio::io::BufReader::new(first.stderr.take().expect("piped stderr")).lines();
    let mut logged = Vec::new();
    while !logged.last().is_some_and(|line: &String| line.contains("shutting down")) {
        let line = tokio::time::timeout(EXIT_LIMIT, stderr.next_line()).await.expect("the shutdown line");
        logged.push(line.expect("stderr").expect("kabar serve logs its shutdown"));
    }
    let rest = tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            logged.push(line);
        }
        logged.join("\n")
    });
    terminate(&first);
    let (status, _, _) = exited(first).await;
    let stderr = rest.await.expect("the stderr reader");
    assert_eq!(status.code(), Some(130), "{stderr}");

    let second = serve(&config, &database);
    // The four cut off in flight may arrive twice (the bound: what was in flight); every
    // applicant gets the message.
    twilio.wait_for(planned.len() + 4).await;
    terminate(&second);
    let (status, stdout, stderr) = exited(second).await;
    assert!(status.success(), "exit {status:?}\nstdout: {stdout}\nstderr: {stderr}");
    let inspect = Inspect::open(&db.url).await;
    for row in inspect.messages().await {
        assert_eq!(row.status, "sent", "{row:?}");
    }
}

/// `kabar worker --listen`: a lone worker answers health, readiness and metrics (its own sends,
/// which a `kabar serve` elsewhere cannot count), and stops cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_listen_serves_its_own_metrics() {
    use tokio::io::AsyncBufReadExt;
    let db = TestStore::sqlite().await;
    import(&db.store, &bookings(3)).await;
    let planned = plan_outage(&db.store, &[Channel::Sms]).await;
    let twilio = FakeTwilio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &twilio);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kabar"))
        .args(["--config", &config.display().to_string(), "--database-url", &sqlite_path(&db)])
        .args(["worker", "--listen", "127.0.0.1:0"])
        .env("KABAR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start kabar worker");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let address = tokio::time::timeout(EXIT_LIMIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(address) = line.strip_prefix("listening on ") {
                return address.to_owned();
            }
        }
        panic!("kabar worker ended without listening");
    })
    .await
    .expect("the worker listens");
    tokio::time::timeout(EXIT_LIMIT, twilio.wait_for(planned.len())).await.expect("every message is sent");

    let http = reqwest::Client::new();
    let ready = http.get(format!("{address}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = http.get(format!("{address}/metrics")).send().await.unwrap().text().await.unwrap();
    let sends = metrics
        .lines()
        .find(|line| line.starts_with("kabar_sends_total{") && line.contains("provider=\"twilio\""))
        .unwrap_or_else(|| panic!("no twilio sends counted:\n{metrics}"));
    assert!(sends.ends_with(&format!(" {}", planned.len())), "{sends}");
    // No receipts routes on a lone worker (they belong to `kabar serve`).
    let receipts = http.get(format!("{address}/hooks/twilio/status")).send().await.unwrap();
    assert_eq!(receipts.status(), 404);

    terminate(&child);
    let status = tokio::time::timeout(EXIT_LIMIT, child.wait()).await.expect("exits").unwrap();
    assert!(status.success(), "exit {status:?}");
}
