//! Latency as a user sees it: the real binary, `kabar serve` running over a SQLite file with a
//! settle window of 0 and the message log as its SMS channel, and a `kabar state set` in another
//! process; the time from starting that command to the first message written by the worker.
//! The planner wakes on the shared change signal, so this no longer waits for `tick_seconds`.
//! Prints the median and the maximum over the rounds (goal: ≤ 100 ms for one office). With
//! `--national N` it seeds N demo bookings over 125 offices instead and times the national
//! printing outage (`kabar state set all …`) to its first message (goal: ≤ 300 ms over 2M): the
//! planner wakes the worker after each office it plans. Writes the figures to
//! `target/bench/wake-one-office-<bookings>-<rounds>-rounds.json` or
//! `target/bench/wake-national-<N>.json`.
//!
//!     cargo bench --bench wake                       # 10 changes, 200 bookings at PLG
//!     cargo bench --bench wake -- --rounds 2         # the CI smoke run
//!     cargo bench --bench wake -- --national 2000000 # one national change over 2M bookings

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{arg, write_figures};

const KABAR: &str = env!("CARGO_BIN_EXE_kabar");

fn kabar(dir: &Path, args: &[&str]) {
    let status = Command::new(KABAR)
        .args(args)
        .current_dir(dir)
        .env_remove("KABAR_DATABASE_URL")
        .stdout(Stdio::null())
        .status()
        .expect("kabar runs");
    assert!(status.success(), "kabar {args:?}");
}

fn log_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

fn main() {
    let national: usize = arg("--national", 0);
    let rounds: usize = if national > 0 { 1 } else { arg("--rounds", 10) };
    let bookings: usize = arg("--bookings", 200);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let dir = dir.path();
    // Quiet hours out of the way (the bench runs at any hour) and SMS only, to the log.
    std::fs::write(
        dir.join("kabar.toml"),
        "[planner]\nsettle_seconds = 0\nchannels = [\"sms\"]\nquiet_hours = \"12:00-12:01\"\n\n\
         [delivery.log]\npath = \"messages.jsonl\"\n",
    )
    .expect("the configuration");
    std::fs::write(
        dir.join("offices.csv"),
        "code,name,timezone,kind,parent_code,class,region,tpi\n\
         PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes\n",
    )
    .expect("offices");
    let mut csv = String::from("booking_code,office_code,name,phone,appointment_at,product,express,stage\n");
    for i in 0..bookings {
        csv.push_str(&format!("MP-{i:05},PLG,Budi,0812-10{i:06},2099-06-24 09:00,regular,no,printing\n"));
    }
    std::fs::write(dir.join("bookings.csv"), csv).expect("bookings");
    let seed_seconds = if national > 0 {
        let started = Instant::now();
        kabar(dir, &["demo", "seed", "--bookings", &national.to_string(), "--offices", "125"]);
        let seconds = started.elapsed().as_secs_f64();
        println!("SQLite: seeded {national} bookings over 125 offices in {seconds:.1} s");
        Some(seconds)
    } else {
        kabar(dir, &["import", "offices", "offices.csv"]);
        kabar(dir, &["import", "bookings", "bookings.csv"]);
        None
    };

    let mut serve = Command::new(KABAR)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("KABAR_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kabar serve starts");
    let mut lines = BufReader::new(serve.stdout.take().expect("its output")).lines();
    assert!(
        lines.by_ref().map_while(Result::ok).any(|line| line.contains("listening on")),
        "kabar serve exited before it listened"
    );
    std::thread::spawn(move || lines.for_each(drop));
    // Let the worker and the planner reach their first wait.
    std::thread::sleep(Duration::from_secs(1));

    let log = dir.join("messages.jsonl");
    let mut took = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let before = log_size(&log);
        let reason = format!("Gangguan {round}");
        let args: Vec<&str> = if national > 0 {
            vec!["state", "set", "all", "printing", "unavailable", "--reason", &reason]
        } else if round % 2 == 0 {
            vec!["state", "set", "PLG", "printing", "unavailable", "--reason", &reason]
        } else {
            vec!["state", "set", "PLG", "printing", "operational"]
        };
        let started = Instant::now();
        kabar(dir, &args);
        while log_size(&log) == before {
            assert!(started.elapsed() < Duration::from_secs(30), "no message 30 s after the change");
            std::thread::sleep(Duration::from_millis(1));
        }
        took.push(started.elapsed());
        // Let this round's messages finish before the next change.
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = serve.kill();
    let _ = serve.wait();
    took.sort();
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    if national > 0 {
        println!(
            "SQLite: kabar state set all printing unavailable in another process → first message from \
             kabar serve: {:.0} ms over {national} bookings (goal ≤ 300 ms over 2,000,000)",
            ms(took[0])
        );
        let figures = serde_json::json!({
            "engine": "SQLite",
            "bookings": national,
            "offices": 125,
            "seed_seconds": seed_seconds,
            "first_message_ms": ms(took[0]),
        });
        let written = write_figures(&format!("wake-national-{national}"), &figures);
        println!("figures: {}", written.display());
        return;
    }
    println!(
        "SQLite: kabar state set in another process → first message from kabar serve: median {:.0} ms, \
         max {:.0} ms over {rounds} changes of one office with {bookings} bookings (goal ≤ 100 ms; the \
         command's own start and write included)",
        ms(took[took.len() / 2]),
        ms(took[took.len() - 1]),
    );
    let figures = serde_json::json!({
        "engine": "SQLite",
        "bookings": bookings,
        "rounds": rounds,
        "median_ms": ms(took[took.len() / 2]),
        "max_ms": ms(took[took.len() - 1]),
    });
    let written = write_figures(&format!("wake-one-office-{bookings}-{rounds}-rounds"), &figures);
    println!("figures: {}", written.display());
}
