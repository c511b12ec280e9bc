//! `kabar messages export`, `kabar messages call-list` and `kabar status` as an operator runs them:
//! the real binary on a SQLite database that the library planned a real outage into.

use std::path::Path;
use std::process::{Command, Output};

use kabar::domain::{Channel, Msisdn, Service, ServiceState};
use kabar::import::{self, ImportOptions};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::state::{set_state, StateChange};
use kabar::store::{DatabaseUrl, FallBack, Store};

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
";

/// Budi (WhatsApp, two bookings), Dodi (every channel refused, no email), Eka (email only, which
/// bounces).
const BOOKINGS: &str = "\
booking_code,office_code,name,phone,email,appointment_at,product,express,stage
C-A1,PLG,Budi,0812-3000-0001,,2024-06-21 09:00,regular,no,booked
C-A2,PLG,Ani,0812-3000-0001,,2024-06-24 10:00,regular,no,booked
C-C1,PLG,Dodi,0812-3000-0003,,2024-06-22 08:00,regular,no,booked
C-D1,PLG,Eka,0812-3000-0004,eka@example.com,2024-06-21 08:00,regular,no,booked
";

const NOW: &str = "2024-06-20T03:00:00Z"; // 10:00 WIB

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc)
}

fn mobile(last: u32) -> Msisdn {
    format!("0812-3000-{last:04}").parse().unwrap()
}

/// A database in `dir` (kabar.db) with Palembang's printing outage planned; returns the incident.
fn planned_outage(dir: &Path) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let url = DatabaseUrl::Sqlite(dir.join("kabar.db").display().to_string());
        let store = Store::open(&url).await.unwrap();
        let options = ImportOptions::default();
        let offices = import::import_offices_from(&store, OFFICES.as_bytes(), "offices.csv", &options);
        assert!(offices.await.unwrap().is_clean());
        std::fs::write(dir.join("bookings.csv"), BOOKINGS).unwrap();
        let bookings = import::import_bookings(&store, &dir.join("bookings.csv"), &options).await.unwrap();
        assert!(bookings.is_clean(), "{bookings}");
        let order = [Channel::Whatsapp, Channel::Sms, Channel::Email];
        for (who, channel) in
            [(3, Channel::Whatsapp), (3, Channel::Sms), (4, Channel::Whatsapp), (4, Channel::Sms)]
        {
            assert!(store.set_opt_out(&mobile(who), channel, true).await.unwrap());
        }
        let change = StateChange {
            target: "PLG".parse().unwrap(),
            service: Service::Printing,
            state: ServiceState::Unavailable,
            reason: Some("Gangguan Pusat Data Nasional".into()),
            until: None,
            actor: "test".into(),
            at: at(NOW),
        };
        set_state(&store, &change).await.unwrap();
        let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
        let events = plan_once(&store, &config, at(NOW)).await.unwrap();
        let messages = store.planned_messages(events[0].counts.event_id).await.unwrap();
        let eka = messages.iter().find(|message| message.mobile == mobile(4)).unwrap().id;
        let bounced = store.fall_back(eka, Channel::Email, &order, "550 mailbox unknown", at(NOW)).await;
        assert_eq!(bounced.unwrap(), FallBack::Failed);
        store.close().await;
        events[0].counts.incident_id
    })
}

fn kabar(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kabar"))
        .args(args)
        .current_dir(dir)
        .env_remove("KABAR_DATABASE_URL")
        .env_remove("KABAR_LOG")
        .output()
        .expect("the kabar binary runs")
}

/// Runs kabar and returns its standard output, failing the test if it failed.
fn ok(dir: &Path, args: &[&str]) -> String {
    let output = kabar(dir, args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The CSV as (header, rows).
fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|row| row.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

#[test]
fn the_csv_export_has_a_header_and_masks_phone_numbers() {
    let dir = tempfile::tempdir().unwrap();
    planned_outage(dir.path());
    let output = kabar(dir.path(), &["messages", "export"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let (header, rows) = parse_csv(&text);
    assert_eq!(
        header,
        [
            "message_id",
            "incident_id",
            "broadcast_id",
            "office",
            "bookings",
            "phone",
            "channel",
            "provider",
            "kind",
            "language",
            "status",
            "attempts",
            "failure_class",
            "failure_reason",
            "created_at",
            "not_before",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
        ]
    );
    assert_eq!(rows.len(), 3);
    let column = |row: &[String], name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
    let budi = rows.iter().find(|row| column(row, "bookings") == "C-A1+C-A2").unwrap();
    assert_eq!(column(budi, "phone"), "+62812****0001");
    assert_eq!(
        ["office", "channel", "kind", "language", "status", "attempts"].map(|name| column(budi, name)),
        ["PLG", "whatsapp", "appointment_unchanged", "id", "queued", "0"]
    );
    assert_eq!(column(budi, "created_at"), "2024-06-20T03:00:00Z");
    assert_eq!(
        ["broadcast_id", "provider", "failure_class", "sent_at", "failed_at"].map(|name| column(budi, name)),
        ["", "", "", "", ""],
        "missing values are empty cells"
    );
    let eka = rows.iter().find(|row| column(row, "bookings") == "C-D1").unwrap();
    assert_eq!(
        ["channel", "status", "failure_class", "failure_reason", "failed_at"].map(|name| column(eka, name)),
        ["email", "failed", "permanent", "550 mailbox unknown", "2024-06-20T03:00:00Z"]
    );
    for last in ["0001", "0003", "0004"] {
        assert!(!text.contains(&format!("+628123000{last}")), "a whole number in:\n{text}");
    }
    assert!(String::from_utf8_lossy(&output.stderr).contains("exported 3 messages (phone numbers masked)"));
}

#[test]
fn full_phone_numbers_only_when_asked_and_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    planned_outage(dir.path());
    let said = ok(dir.path(), &["messages", "export", "--full-phone", "--output", "report.csv"]);
    assert!(
        said.contains("exported 3 messages to report.csv (whole phone numbers: personal data)"),
        "{said}"
    );
    let (header, rows) = parse_csv(&std::fs::read_to_string(dir.path().join("report.csv")).unwrap());
    let phone = header.iter().position(|h| h == "phone").unwrap();
    let mut phones: Vec<&str> = rows.iter().map(|row| row[phone].as_str()).collect();
    phones.sort();
    assert_eq!(phones, ["+6281230000001", "+6281230000003", "+6281230000004"]);

    let help = ok(dir.path(), &["messages", "export", "--help"]);
    assert!(help.contains("--full-phone") && help.contains("personal data"), "{help}");
}

#[test]
fn the_jsonl_export_is_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let incident = planned_outage(dir.path());
    let text =
        ok(dir.path(), &["messages", "export", "--format", "jsonl", "--incident", &incident.to_string()]);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    assert_eq!(lines.len(), 3);
    let budi = lines.iter().find(|line| line["phone"] == "+62812****0001").unwrap();
    assert_eq!(budi["bookings"], serde_json::json!(["C-A1", "C-A2"]));
    assert_eq!(budi["incident_id"], incident);
    assert_eq!((&budi["status"], &budi["sent_at"]), (&serde_json::json!("queued"), &serde_json::Value::Null));
    let dodi = lines.iter().find(|line| line["bookings"] == serde_json::json!(["C-C1"])).unwrap();
    assert_eq!(
        (&dodi["channel"], &dodi["status"]),
        (&serde_json::Value::Null, &serde_json::json!("unreachable"))
    );
}

#[test]
fn an_unknown_incident_is_an_error_and_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    planned_outage(dir.path());
    let output = kabar(dir.path(), &["messages", "export", "--incident", "999", "--output", "report.csv"]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("no incident has id 999"), "{err}");
    assert!(!dir.path().join("report.csv").exists());
    let both = kabar(dir.path(), &["messages", "export", "--incident", "1", "--broadcast", "1"]);
    assert_eq!(both.status.code(), Some(2), "clap refuses both");
}

#[test]
fn the_call_list_gives_whole_numbers_and_bookings_soonest_first() {
    let dir = tempfile::tempdir().unwrap();
    planned_outage(dir.path());
    let table = ok(dir.path(), &["messages", "call-list"]);
    for expected in [
        "+6281230000003",
        "Dodi",
        "2024-06-22 08:00 WIB C-C1 (Dodi)",
        "no usable channel",
        "+6281230000004",
        "eka@example.com",
        "email failed: 550 mailbox unknown (permanent)",
        "appointment_unchanged",
        "2 applicants to phone (2 notices reached nobody)",
    ] {
        assert!(table.contains(expected), "{expected:?} missing from:\n{table}");
    }
    assert!(!table.contains("Budi"), "Budi's message is still on its way:\n{table}");

    let (header, rows) = parse_csv(&ok(dir.path(), &["messages", "call-list", "--format", "csv"]));
    assert_eq!(
        header,
        [
            "office",
            "name",
            "mobile",
            "email",
            "first_appointment",
            "bookings",
            "missed_notices",
            "why",
            "last_call"
        ]
    );
    let who: Vec<[&str; 3]> =
        rows.iter().map(|row| [row[1].as_str(), row[2].as_str(), row[4].as_str()]).collect();
    assert_eq!(
        who,
        [
            ["Eka", "+6281230000004", "2024-06-21T08:00:00+07:00"],
            ["Dodi", "+6281230000003", "2024-06-22T08:00:00+07:00"]
        ],
        "soonest appointment first, in the office's time"
    );

    // A call that reached Dodi takes him off the list; one that did not stays with its outcome.
    ok(dir.path(), &["messages", "record-call", "C-C1", "reached", "--note", "datang Senin"]);
    let table = ok(dir.path(), &["messages", "call-list"]);
    assert!(table.contains("1 applicants to phone, 1 reached by phone"), "{table}");
    assert!(table.contains("reached") && table.contains("datang Senin"), "{table}");
    let wrong = kabar(dir.path(), &["messages", "record-call", "C-C1", "busy"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("reached, no_answer, wrong_number or voicemail"));
}

#[test]
fn status_prints_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    planned_outage(dir.path());
    let text = ok(dir.path(), &["status"]);
    assert!(text.contains("queue: 1 messages queued"), "{text}");
    assert!(text.contains("due now: 1, oldest due for"), "{text}");
    let all = text.lines().find(|line| line.contains("all")).unwrap();
    let cells: Vec<&str> = all.split(['│', '┆']).map(str::trim).filter(|cell| !cell.is_empty()).collect();
    assert_eq!(cells, ["all", "1", "0", "0", "0", "0", "1", "0", "1", "3"], "{text}");

    let json: serde_json::Value = serde_json::from_str(&ok(dir.path(), &["status", "--json"])).unwrap();
    assert_eq!(
        json["by_status"],
        serde_json::json!({"queued": 1, "sending": 0, "sent": 0, "delivered": 0, "read": 0,
                           "failed": 1, "cancelled": 0, "unreachable": 1})
    );
    assert_eq!((json["queue"]["depth"].as_u64(), json["queue"]["due_now"].as_u64()), (Some(1), Some(1)));
    assert!(json["queue"]["oldest_due_seconds"].as_i64().unwrap() > 0);
    assert!(json["by_channel"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"channel": null, "status": "unreachable", "messages": 1})));
}
