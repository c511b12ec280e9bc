//! The binary as an operator meets it: exit codes, messages, and the SQLite default.

use std::path::Path;
use std::process::{Command, Output};

fn kabar(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kabar"))
        .args(args)
        .current_dir(dir)
        .env_remove("KABAR_DATABASE_URL")
        .env_remove("KABAR_LOG")
        .output()
        .expect("the kabar binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
GTO,Kantor Imigrasi Kelas I TPI Gorontalo,Asia/Makassar,office,,I,Gorontalo,yes
";

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&kabar(dir.path(), &["--help"]));
    for command in ["migrate", "import", "state", "demo", "config"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[test]
fn the_embedded_default_is_a_sqlite_file_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("offices.csv"), OFFICES).unwrap();
    let import = kabar(dir.path(), &["import", "offices", "offices.csv"]);
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(stdout(&import).contains("2 new, 0 updated, 0 unchanged"), "{}", stdout(&import));
    assert!(dir.path().join("kabar.db").exists());

    let printing_down = [
        "state",
        "set",
        "all",
        "printing",
        "unavailable",
        "--reason",
        "Gangguan PDN",
        "--until",
        "2099-06-24 17:00",
    ];
    let set = kabar(dir.path(), &printing_down);
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(
        stdout(&set).contains("printing unavailable: changed at 2 office(s), updated at 0, unchanged at 0"),
        "{}",
        stdout(&set)
    );

    let again = kabar(dir.path(), &printing_down);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("no change: printing is already unavailable at 2 office(s)"),
        "{}",
        stdout(&again)
    );
    let update = kabar(
        dir.path(),
        &[
            "state",
            "set",
            "PLG",
            "printing",
            "unavailable",
            "--reason",
            "Gangguan PDN",
            "--until",
            "2099-06-25 17:00",
        ],
    );
    assert!(update.status.success(), "{}", stderr(&update));
    assert!(
        stdout(&update).contains(
            "PLG printing: still unavailable, update: new reason or expected restoration (expected back \
             2099-06-25 17:00 WIB (office-local time)); applicants already told get one update message"
        ),
        "{}",
        stdout(&update)
    );
    let plan = kabar(dir.path(), &["plan", "--at", "2099-06-24 10:00"]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    assert!(
        stderr(&plan).contains("--at 2099-06-24 10:00: no offset given, read as 2099-06-24 10:00 WIB"),
        "{}",
        stderr(&plan)
    );
    let plan = kabar(dir.path(), &["plan", "--at", "2099-06-24T10:00:00+08:00"]);
    assert!(plan.status.success() && stderr(&plan).is_empty(), "{}", stderr(&plan));
    let plan = kabar(dir.path(), &["plan", "--at", "24-06-2099"]);
    assert!(stderr(&plan).contains("write YYYY-MM-DD HH:MM (local time)"), "{}", stderr(&plan));

    let past = kabar(
        dir.path(),
        &["state", "set", "PLG", "pickup", "unavailable", "--reason", "x", "--until", "2024-06-24 17:00"],
    );
    assert_eq!(past.status.code(), Some(1));
    assert!(
        stderr(&past).contains("--until 2024-06-24 17:00 WIB is not in the future: it is "),
        "{}",
        stderr(&past)
    );

    let board = stdout(&kabar(dir.path(), &["state", "show"]));
    assert!(board.contains("Gangguan PDN") && board.contains("2099-06-24 17:00 WITA"), "{board}");
    let office = stdout(&kabar(dir.path(), &["state", "show", "plg"]));
    assert!(office.contains("2099-06-25 17:00 WIB") && office.contains("travel_ban"), "{office}");
}

#[test]
fn a_failed_row_makes_the_import_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("offices.csv"), OFFICES.replace("Asia/Makassar", "Asia/Makasar")).unwrap();
    let import = kabar(dir.path(), &["import", "offices", "offices.csv"]);
    assert_eq!(import.status.code(), Some(1));
    let err = stderr(&import);
    assert!(err.contains("line 3, column timezone: \"Asia/Makasar\" is not an IANA time zone"), "{err}");
    assert!(err.contains("1 rows rejected"), "{err}");
}

#[test]
fn invalid_configuration_refuses_to_start_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kabar.toml"), "[import]\nbatch_size = 0\n").unwrap();
    let output = kabar(dir.path(), &["migrate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("import.batch_size = 0 is out of range"), "{}", stderr(&output));
    assert!(!dir.path().join("kabar.db").exists(), "nothing starts on a bad configuration");

    let output = kabar(dir.path(), &["--config", "missing.toml", "migrate"]);
    assert!(stderr(&output).contains("missing.toml does not exist"), "{}", stderr(&output));
}

#[test]
fn passwords_are_masked_in_the_shown_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let output =
        kabar(dir.path(), &["--database-url", "postgres://kabar:hunter2@db.example/kabar", "config"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = stdout(&output);
    assert!(
        shown.contains("postgres://kabar:********@db.example/kabar") && !shown.contains("hunter2"),
        "{shown}"
    );
}

#[test]
fn demo_data_is_never_mixed_with_real_bookings() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = kabar(dir.path(), &["demo", "seed", "--bookings", "50"]);
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    assert!(stdout(&seeded).contains("50 bookings"), "{}", stdout(&seeded));
    let rows = "booking_code,office_code,name,phone,appointment_at,product,express,stage\n\
                MP-0001,PLG,Budi,0812-3456-7890,2024-06-24 09:00,regular,no,booked\n";
    std::fs::write(dir.path().join("real.csv"), rows).unwrap();
    let imported = kabar(dir.path(), &["import", "bookings", "real.csv"]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let refused = kabar(dir.path(), &["demo", "seed", "--bookings", "50"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("holds 1 real bookings"), "{}", stderr(&refused));
    let forced = kabar(dir.path(), &["demo", "seed", "--bookings", "50", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
}

#[test]
fn the_number_policy_comes_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("offices.csv"), OFFICES).unwrap();
    assert!(kabar(dir.path(), &["import", "offices", "offices.csv"]).status.success());
    let rows = "booking_code,office_code,name,phone,appointment_at,product,express,stage\n\
                MP-0001,PLG,Siti,+60 12-345 6789,2024-06-24 09:00,regular,no,booked\n";
    std::fs::write(dir.path().join("bookings.csv"), rows).unwrap();
    let refused = kabar(dir.path(), &["import", "bookings", "bookings.csv"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("bookings.csv: line 2, column phone: \"+60 12*****6789\" is a mobile number of MY; kabar accepts mobile numbers of \"ID\" only: to accept it, add \"MY\" to allowed_countries in the [import] section"),
        "{}",
        stderr(&refused)
    );
    std::fs::write(dir.path().join("kabar.toml"), "[import]\nallowed_countries = [\"ID\", \"MY\"]\n")
        .unwrap();
    let accepted = kabar(dir.path(), &["import", "bookings", "bookings.csv"]);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    assert!(stdout(&kabar(dir.path(), &["config"])).contains("allowed_countries = [\"ID\", \"MY\"]"));
}

/// The demo's summary tells the applicants reached apart from those in the database, its hints
/// name a command that runs (this binary's path, or `cargo run --` for a debug build in a
/// `target` directory), and its message file carries the replay's simulated June 2024 clock.
#[test]
fn the_demo_says_who_was_reached_how_to_go_on_and_when_each_message_went() {
    let dir = tempfile::tempdir().unwrap();
    let demo = kabar(dir.path(), &["demo", "--bookings", "400"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let out = stdout(&demo);
    let summary = out
        .lines()
        .find(|line| line.contains("applicants reached with at least one message, of"))
        .unwrap_or_else(|| panic!("no reach line in:\n{out}"));
    let numbers: Vec<u64> = summary
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap())
        .collect();
    let (reached, in_database) = (numbers[0], numbers[1]);
    assert!(0 < reached && reached < in_database, "{summary}");

    let binary = Path::new(env!("CARGO_BIN_EXE_kabar")).canonicalize().unwrap();
    let hint = format!("`{} --database-url", binary.display());
    // Built into a directory named `target` (no CARGO_TARGET_DIR), the hint is cargo's form.
    let shown = out.contains(&hint) || out.contains("`cargo run -- --database-url");
    assert!(shown, "the hints should name {hint}:\n{out}");
    assert!(!out.contains("`kabar --database-url"), "{out}");

    let messages = std::fs::read_to_string(dir.path().join("kabar-demo-messages.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(messages.lines().next().unwrap()).unwrap();
    assert!(first["at"].as_str().unwrap().starts_with("2024-06-"), "{first}");
    assert!(first["written_at"].as_str().is_some(), "{first}");
}

#[test]
fn a_broadcast_sent_from_the_cli_says_no_second_person_approved_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("offices.csv"), OFFICES).unwrap();
    std::fs::write(
        dir.path().join("bookings.csv"),
        "booking_code,office_code,name,phone,appointment_at,product,express,stage\n\
         MP-0001,PLG,Budi,0812-3456-0001,2024-06-10 09:00,regular,no,ready\n\
         MP-0002,GTO,Ani,0812-3456-0002,2024-06-10 09:00,regular,no,ready\n",
    )
    .unwrap();
    for import in [&["import", "offices", "offices.csv"][..], &["import", "bookings", "bookings.csv"]] {
        let done = kabar(dir.path(), import);
        assert!(done.status.success(), "{}", stderr(&done));
    }
    let args = [
        "broadcast",
        "send",
        "--offices",
        "all",
        "--stage",
        "ready",
        "--text",
        "Loket buka Sabtu.",
        "--title",
        "Sabtu",
    ];
    let sent = kabar(dir.path(), &args);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let out = stdout(&sent);
    assert!(out.contains("not held for approval, no second person approved it"), "{out}");
    assert!(out.contains("2 messages planned over 2 offices"), "{out}");
    let audit = kabar(dir.path(), &["audit", "--format", "jsonl"]);
    let log = stdout(&audit);
    let send =
        log.lines().find(|line| line.contains("\"broadcast.send\"")).unwrap_or_else(|| panic!("{log}"));
    assert!(send.contains("\"actor\":\"cli:") && send.contains("\"approved_by\":null"), "{send}");
}

#[test]
fn a_dry_run_says_who_would_hear_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("offices.csv"), OFFICES).unwrap();
    assert!(kabar(dir.path(), &["import", "offices", "offices.csv"]).status.success());
    std::fs::write(
        dir.path().join("bookings.csv"),
        "booking_code,office_code,name,phone,email,appointment_at,product,express,stage\n\
         MP-1,PLG,Budi,0812-1000-0001,,2099-06-24 09:00,regular,no,printing\n\
         MP-2,PLG,Citra,0812-1000-0002,citra@example.co.id,2099-06-24 10:00,regular,no,printing\n\
         MP-3,GTO,Dewi,0812-2000-0001,,2099-06-24 09:00,regular,no,printing\n",
    )
    .unwrap();
    let import = kabar(dir.path(), &["import", "bookings", "bookings.csv"]);
    assert!(import.status.success(), "{}", stderr(&import));

    let dry = ["state", "set", "PLG", "printing", "unavailable", "--reason", "Gangguan PDN", "--dry-run"];
    let output = kabar(dir.path(), &dry);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert!(text.contains("would tell 2 applicants about 2 bookings at 1 offices"), "{text}");
    assert!(text.contains("  PLG: 2 applicants, 2 bookings, first message "), "{text}");
    let board = stdout(&kabar(dir.path(), &["state", "show"]));
    assert!(!board.contains("Gangguan PDN"), "a dry run changes nothing: {board}");

    let mut json = dry.to_vec();
    json.push("--json");
    let output = kabar(dir.path(), &json);
    let counts: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!((counts["applicants"].as_u64(), counts["bookings"].as_u64()), (Some(2), Some(2)), "{counts}");
    assert_eq!(counts["offices"][0]["office"], "PLG");

    // The same validation as the change itself.
    let output = kabar(dir.path(), &["state", "set", "PLG", "printing", "unavailable", "--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
}
