//! `kabar applicant show|erase`, `kabar purge` and `kabar audit` as an operator runs them: the
//! real binary on a SQLite database that the library planned an outage (and its end) into.

use std::path::Path;
use std::process::{Command, Output};

use kabar::domain::{Channel, Msisdn, Service, ServiceState};
use kabar::import::{self, ImportOptions};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::state::{set_state, StateChange};
use kabar::store::{DatabaseUrl, FallBack, MessageFilter, Store};

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
";

/// Budi (two bookings, WhatsApp), Eka (email only, which bounces).
const BOOKINGS: &str = "\
booking_code,office_code,name,phone,email,appointment_at,product,express,stage
C-A1,PLG,Budi,0812-3000-0001,,2024-06-21 09:00,regular,no,booked
C-A2,PLG,Ani,0812-3000-0001,,2024-06-24 10:00,regular,no,booked
C-D1,PLG,Eka,0812-3000-0004,eka@example.com,2024-06-21 08:00,regular,no,booked
";

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc)
}

fn mobile(last: u32) -> Msisdn {
    format!("0812-3000-{last:04}").parse().unwrap()
}

/// Palembang's printing stops on 20 June 2024 and is back on 25 June (the incident resolves);
/// Eka's email bounced, so her outage message finished long ago.
fn outage_and_recovery(dir: &Path) {
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
        for channel in [Channel::Whatsapp, Channel::Sms] {
            assert!(store.set_opt_out(&mobile(4), channel, true).await.unwrap());
        }
        let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
        for (state, when) in [
            (ServiceState::Unavailable, "2024-06-20T03:00:00Z"),
            (ServiceState::Operational, "2024-06-25T03:00:00Z"),
        ] {
            let change = StateChange {
                target: "PLG".parse().unwrap(),
                service: Service::Printing,
                state,
                reason: Some("Gangguan Pusat Data Nasional".into()),
                until: None,
                actor: "test".into(),
                at: at(when),
            };
            set_state(&store, &change).await.unwrap();
            if state == ServiceState::Unavailable {
                plan_once(&store, &config, at(when)).await.unwrap();
                let mut eka = None;
                store
                    .export_messages(&MessageFilter::default(), |row| {
                        if row.mobile == Some(mobile(4)) {
                            eka = Some(row.message_id);
                        }
                        Ok(())
                    })
                    .await
                    .unwrap();
                let order = [Channel::Whatsapp, Channel::Sms, Channel::Email];
                let bounced =
                    store.fall_back(eka.unwrap(), Channel::Email, &order, "550 mailbox unknown", at(when));
                assert_eq!(bounced.await.unwrap(), FallBack::Failed);
                // The others wait for a retry (their provider was down), so they are still
                // pending when printing is back: a retry is never superseded, as a notice
                // never tried would be.
                let db = format!("sqlite://{}", dir.join("kabar.db").display());
                let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
                sqlx::query("UPDATE messages SET attempts = 1 WHERE status = 'queued'")
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            } else {
                plan_once(&store, &config, at(when)).await.unwrap();
            }
        }
        store.close().await;
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

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = kabar(dir, args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(dir, args)).unwrap()
}

#[test]
fn applicant_show_masks_every_number_but_the_one_typed() {
    let dir = tempfile::tempdir().unwrap();
    outage_and_recovery(dir.path());
    let budi = ok(dir.path(), &["applicant", "show", "0812-3000-0001"]);
    assert!(budi.contains("applicant 1: Budi") && budi.contains("+6281230000001"), "{budi}");
    assert!(
        budi.contains("C-A1") && budi.contains("C-A2") && budi.contains("2024-06-21 09:00 WIB"),
        "{budi}"
    );
    assert!(budi.contains("bookings (2)") && budi.contains("messages (2)"), "outage and restoration: {budi}");

    let eka = json(dir.path(), &["applicant", "show", "eka@example.com", "--json"]);
    let eka = &eka[0];
    assert_eq!(eka["mobile"], "+62812****0004", "typed the email, so the number is masked");
    assert_eq!(eka["email"], "eka@example.com");
    assert_eq!(eka["opted_out"], serde_json::json!(["whatsapp", "sms"]));
    assert_eq!(eka["messages"][0]["status"], "failed");
    assert_eq!(eka["bookings"][0]["code"], "C-D1");

    let nobody = ok(dir.path(), &["applicant", "show", "0812-3000-0099"]);
    assert!(nobody.contains("kabar holds nothing on +6281230000099"), "{nobody}");
    let wrong = kabar(dir.path(), &["applicant", "show", "budi@"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("is not an email address"));
}

#[test]
fn purge_dry_run_counts_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    outage_and_recovery(dir.path());
    let before = ok(dir.path(), &["applicant", "show", "eka@example.com", "--json"]);
    let dry = ok(dir.path(), &["purge", "--dry-run"]);
    assert!(dry.contains("1 messages would be anonymised"), "Eka's bounced notice: {dry}");
    assert!(dry.contains("dry run: nothing was changed"), "{dry}");
    assert_eq!(ok(dir.path(), &["applicant", "show", "eka@example.com", "--json"]), before);
    assert!(ok(dir.path(), &["audit"]).contains("no audit rows match"));

    let done = json(dir.path(), &["purge", "--json"]);
    assert_eq!((done["messages_anonymised"].as_u64(), done["audit_id"].as_i64()), (Some(1), Some(1)));
    let eka = json(dir.path(), &["applicant", "show", "eka@example.com", "--json"]);
    let kinds: Vec<&str> =
        eka[0]["messages"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["service_restored"], "the finished outage notice is no longer linked to her");
    let export = ok(dir.path(), &["messages", "export"]);
    assert_eq!(export.lines().count(), 1 + 4, "the report still counts every message:\n{export}");
}

#[test]
fn erase_is_audited_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    outage_and_recovery(dir.path());
    let erased = ok(dir.path(), &["applicant", "erase", "+62 812 3000 0001"]);
    assert!(erased.contains("erased applicant 1 (+62812****0001)"), "{erased}");
    assert!(
        erased.contains("2 bookings removed") && erased.contains("2 pending messages cancelled"),
        "{erased}"
    );
    assert!(ok(dir.path(), &["applicant", "show", "0812-3000-0001"]).contains("kabar holds nothing"));
    let again = kabar(dir.path(), &["applicant", "erase", "0812-3000-0001"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("kabar holds nothing on +62812****0001"));

    let table = ok(dir.path(), &["audit", "--office", "PLG"]);
    assert!(
        table.contains("applicant.erase") && table.contains("applicant:1") && table.contains("cli:"),
        "{table}"
    );
    let lines = ok(dir.path(), &["audit", "--format", "jsonl", "--actor", "cli:"]);
    let row: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!((row["id"].as_i64(), row["summary"]["mobile"].as_str()), (Some(1), Some("+62812****0001")));
    assert!(!lines.contains("6281230000001") && !lines.contains("Budi"), "{lines}");
    assert!(ok(dir.path(), &["audit", "--since", "2999-01-01"]).contains("no audit rows match"));

    ok(dir.path(), &["purge"]);
    let verified = ok(dir.path(), &["audit", "verify"]);
    assert!(verified.contains("audit log intact: 2 rows"), "{verified}");
}
