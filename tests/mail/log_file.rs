//! The demo provider: one JSON line per message, destinations masked, lines never mixed.

use std::collections::BTreeSet;
use std::sync::Arc;

use kabar::deliver::providers::log::{LogConfig, LogFile};
use kabar::deliver::FailureKind;
use serde_json::{json, Value};

use crate::support;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("the log file")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect()
}

#[tokio::test]
async fn each_message_is_one_json_line_with_the_destination_masked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo/out/messages.jsonl");
    let log = LogFile::new(&LogConfig { path: path.clone() }).expect("creates its directories");

    let sms = log.send(&support::sms(1, "Paspor Anda siap diambil di Kanim Jakarta Selatan.")).await.unwrap();
    log.send(&support::whatsapp(2)).await.unwrap();
    log.send(&support::email(3)).await.unwrap();

    assert_eq!(sms.provider_message_id, "log-1");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(!written.contains("81234567890"), "a full number in {written}");
    assert!(!written.contains("budi.santoso@"), "a full address in {written}");
    let lines = lines(&path);
    assert_eq!(lines.len(), 3);
    let without_time = |line: &Value| {
        let mut line = line.clone();
        assert!(line["at"].as_str().is_some_and(|at| at.ends_with('Z')), "{line}");
        line.as_object_mut().unwrap().remove("at");
        line.as_object_mut().unwrap().remove("written_at");
        line
    };
    assert_eq!(
        without_time(&lines[0]),
        json!({"message_id": 1, "provider_message_id": "log-1", "channel": "sms", "to": "+62812****7890",
               "text": "Paspor Anda siap diambil di Kanim Jakarta Selatan.", "encoding": "GSM-7", "segments": 1})
    );
    assert_eq!(
        without_time(&lines[1]),
        json!({"message_id": 2, "provider_message_id": "log-2", "channel": "whatsapp", "to": "+62812****7890",
               "template": "kabar_service_restored", "language": "id",
               "params": ["Budi Santoso", "Kanim Jakarta Selatan"]})
    );
    assert_eq!(lines[2]["channel"], "email");
    assert_eq!(lines[2]["to"], "b***@example.com");
    assert_eq!(lines[2]["subject"], "Layanan paspor dibuka kembali – Kanim Jakarta Selatan");
    assert!(lines[2]["text"].as_str().unwrap().starts_with("Yth. Budi Santoso"));
}

#[tokio::test]
async fn concurrent_senders_write_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.jsonl");
    let log = Arc::new(LogFile::new(&LogConfig { path: path.clone() }).unwrap());
    // Long texts, so that unsynchronised writes would be split and mixed.
    let text = "Layanan paspor di Kanim Jakarta Selatan sudah dibuka kembali. ".repeat(60);

    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..20_i64 {
        let (log, text) = (Arc::clone(&log), text.clone());
        senders.spawn(async move {
            for n in 0..25 {
                log.send(&support::sms(sender * 100 + n, &text)).await.expect("written");
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.expect("a sender finished");
    }

    let lines = lines(&path);
    assert_eq!(lines.len(), 500);
    let ids: BTreeSet<i64> = lines.iter().map(|line| line["message_id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 500);
    assert!(lines.iter().all(|line| line["text"] == text.as_str()));
}

#[tokio::test]
async fn appending_keeps_earlier_lines() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { path: dir.path().join("messages.jsonl") };
    LogFile::new(&config).unwrap().send(&support::whatsapp(1)).await.unwrap();
    LogFile::new(&config).unwrap().send(&support::whatsapp(2)).await.unwrap();

    let ids: Vec<Value> = lines(&config.path).iter().map(|line| line["message_id"].clone()).collect();
    assert_eq!(ids, [json!(1), json!(2)]);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_write_that_fails_is_technical() {
    // /dev/full opens fine and refuses every write with ENOSPC.
    let log = LogFile::new(&LogConfig { path: "/dev/full".into() }).unwrap();

    let failure = log.send(&support::whatsapp(1)).await.expect_err("the disk is full");

    assert_eq!(failure.kind, FailureKind::Technical);
    assert!(failure.reason.contains("/dev/full"), "{}", failure.reason);
}
