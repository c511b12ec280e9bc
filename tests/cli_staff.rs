//! `kabar staff` and `kabar token` as an operator runs them: the password on standard input, the
//! token on the last line, every write in the audit log as `cli:<OS user>`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn kabar(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kabar"))
        .args(args)
        .current_dir(dir)
        .env_remove("KABAR_DATABASE_URL")
        .env_remove("KABAR_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the kabar binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

fn failed(output: Output) -> String {
    assert!(!output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
GTO,Kantor Imigrasi Kelas I TPI Gorontalo,Asia/Makassar,office,,I,Gorontalo,yes
";

#[test]
fn staff_accounts_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("offices.csv"), OFFICES).unwrap();
    ok(kabar(dir.path(), &["import", "offices", "offices.csv"], ""));
    let added = ok(kabar(
        dir.path(),
        &["staff", "add", "Budi", "--role", "officer", "--offices", "PLG", "--name", "Budi Santoso"],
        "kata sandi yang panjang\n",
    ));
    assert!(added.contains("added budi (Budi Santoso, officer for PLG)"), "{added}");
    let err = failed(kabar(
        dir.path(),
        &["staff", "add", "ani", "--role", "officer", "--offices", "XYZ"],
        "kata sandi yang panjang\n",
    ));
    assert!(err.contains("unknown office XYZ"), "{err}");
    let err = failed(kabar(
        dir.path(),
        &["staff", "add", "ani", "--role", "root", "--offices", "PLG"],
        "kata sandi yang panjang\n",
    ));
    assert!(err.contains("--role") && err.contains("viewer, officer, supervisor, admin"), "{err}");
    let err = failed(kabar(dir.path(), &["staff", "add", "ani", "--role", "viewer", "--offices", "PLG"], ""));
    assert!(err.contains("no password on standard input"), "{err}");

    ok(kabar(dir.path(), &["staff", "set-role", "budi", "supervisor", "--offices", "region:Gorontalo"], ""));
    ok(kabar(dir.path(), &["staff", "disable", "budi"], ""));
    ok(kabar(dir.path(), &["staff", "reset-password", "budi"], "kata sandi yang baru sekali\n"));
    let list = ok(kabar(dir.path(), &["staff", "list", "--json"], ""));
    let budi: serde_json::Value = serde_json::from_str(list.lines().next().unwrap()).unwrap();
    assert_eq!(budi["role"], "supervisor");
    assert_eq!(budi["scope"], "region:Gorontalo");
    assert_eq!(budi["disabled"], true);
    assert!(!list.contains("argon2") && !list.contains("kata sandi"), "{list}");
    let err = failed(kabar(dir.path(), &["staff", "enable", "nobody"], ""));
    assert!(err.contains("no staff member nobody"), "{err}");

    ok(kabar(
        dir.path(),
        &["state", "set", "PLG", "printing", "unavailable", "--reason", "Gangguan PDN"],
        "",
    ));
    let audit = ok(kabar(dir.path(), &["audit", "--format", "jsonl", "--actor", "cli:"], ""));
    let actions: Vec<String> = audit
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["action"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        actions,
        ["staff.add", "staff.set_role", "staff.disable", "staff.reset_password", "state.set"]
    );
    assert!(!audit.contains("kata sandi"), "{audit}");
}

#[test]
fn tokens_are_shown_once_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("offices.csv"), OFFICES).unwrap();
    ok(kabar(dir.path(), &["import", "offices", "offices.csv"], ""));
    let created = ok(kabar(
        dir.path(),
        &[
            "token",
            "create",
            "--name",
            "m-paspor",
            "--role",
            "officer",
            "--offices",
            "all",
            "--expires",
            "90d",
        ],
        "",
    ));
    let token = created.lines().last().unwrap();
    assert!(token.starts_with("kbr_") && token.len() == 47, "{created}");
    let list = ok(kabar(dir.path(), &["token", "list"], ""));
    assert!(list.contains("m-paspor") && list.contains(&token[..12]), "{list}");
    assert!(!list.contains(&token[12..]), "the secret is never shown again: {list}");
    let err = failed(kabar(
        dir.path(),
        &["token", "create", "--name", "m-paspor", "--role", "viewer", "--offices", "all"],
        "",
    ));
    assert!(err.contains("already exists"), "{err}");
    let err = failed(kabar(
        dir.path(),
        &["token", "create", "--name", "x", "--role", "viewer", "--offices", "all", "--expires", "soon"],
        "",
    ));
    assert!(err.contains("90d"), "{err}");
    assert!(ok(kabar(dir.path(), &["token", "revoke", "m-paspor"], "")).contains("revoked"));
    let err = failed(kabar(dir.path(), &["token", "revoke", "m-paspor"], ""));
    assert!(err.contains("already revoked"), "{err}");
    let audit = ok(kabar(dir.path(), &["audit", "--format", "jsonl"], ""));
    assert!(audit.contains("\"token.create\"") && audit.contains("\"token.revoke\""), "{audit}");
    assert!(!audit.contains(&token[12..]), "{audit}");
}
