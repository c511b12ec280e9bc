//! Who will hear, incidents, the call list and the delivery reports over real HTTP on both
//! engines: the dry run's counts are what the planner then writes; incidents show their timeline
//! and progress to their offices only; staff updates reach the incident's audience; call outcomes
//! move applicants off the list; reports stream, masked unless an officer asks (audited).

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use kabar::domain::{Channel, Msisdn};
use kabar::import::{self, ImportOptions};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::store::MessageFilter;
use reqwest::Method;
use serde_json::{json, Value};

use crate::api_support::{answer, Api};
use crate::harness::TestStore;

fn mobile(last: u32) -> Msisdn {
    format!("0812-3100-{last:04}").parse().unwrap()
}

/// Bookings at PLG (WIB) and GTO (WITA) around now: upcoming ones, applications in process, one
/// beyond the horizon and one picked up (neither hears of a printing outage). P4 has no usable
/// channel (the call list); P3 is on SMS, G2 on email, P5 reads English.
async fn seed(api: &Api) {
    let day = |days: i64, zone: chrono_tz::Tz| {
        (Utc::now() + Duration::days(days)).with_timezone(&zone).format("%Y-%m-%d 09:00").to_string()
    };
    let (wib, wita) = (chrono_tz::Asia::Jakarta, chrono_tz::Asia::Makassar);
    let rows = [
        format!("PLG-1,PLG,,Ayu,0812-3100-0001,ayu@example.com,,,{},regular,no,booked,", day(2, wib)),
        format!("PLG-2A,PLG,,Bayu,0812-3100-0002,,,,{},regular,no,booked,", day(3, wib)),
        format!("PLG-2B,PLG,,Bayu,0812-3100-0002,,,,{},regular,no,printing,", day(-5, wib)),
        format!("PLG-3,PLG,,Cici,0812-3100-0003,,,,{},epassport,no,paid,", day(-3, wib)),
        format!("PLG-4,PLG,,Dedi,0812-3100-0004,,,,{},regular,no,attended,", day(-2, wib)),
        format!("PLG-5,PLG,,Eka,0812-3100-0005,,,en,{},regular,no,booked,", day(5, wib)),
        format!("PLG-6,PLG,,Fajar,0812-3100-0006,,,,{},regular,no,booked,", day(30, wib)),
        format!("PLG-7,PLG,,Gita,0812-3100-0007,,,,{},regular,no,picked_up,", day(-20, wib)),
        format!("GTO-1,GTO,,Hana,0812-3100-0011,,,,{},regular,no,booked,", day(2, wita)),
        format!("GTO-2,GTO,,Indra,0812-3100-0012,indra@example.com,,,{},regular,no,printing,", day(-4, wita)),
    ];
    let csv = format!(
        "booking_code,office_code,unit_code,name,phone,email,whatsapp,language,appointment_at,product,express,stage,applied_at\n{}\n",
        rows.join("\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bookings.csv");
    std::fs::write(&path, csv).unwrap();
    let report = import::import_bookings(&api.db.store, &path, &ImportOptions::default()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let store = &api.db.store;
    assert!(store.set_opt_out(&mobile(3), Channel::Whatsapp, true).await.unwrap());
    for (last, channel) in
        [(4, Channel::Whatsapp), (4, Channel::Sms), (12, Channel::Whatsapp), (12, Channel::Sms)]
    {
        assert!(store.set_opt_out(&mobile(last), channel, true).await.unwrap());
    }
}

fn outage(offices: &str, dry_run: bool) -> Value {
    json!({"offices": offices, "service": "printing", "state": "unavailable", "reason": "Gangguan PDN", "dry_run": dry_run})
}

/// Runs the planner once the change has settled.
async fn plan(api: &Api) {
    let config = PlannerConfig::default();
    let at = Utc::now() + Duration::seconds(config.settle_seconds as i64 + 1);
    plan_once(&api.db.store, &config, at).await.unwrap();
}

/// The messages written, by channel (`unreachable` without one) and by kind.
async fn written(api: &Api) -> (BTreeMap<String, u64>, BTreeMap<String, u64>, u64) {
    let (mut channels, mut kinds, mut total) = (BTreeMap::new(), BTreeMap::new(), 0);
    api.db
        .store
        .export_messages(&MessageFilter::default(), |row| {
            *channels.entry(row.channel.map_or("unreachable", Channel::as_str).to_owned()).or_insert(0) += 1;
            *kinds.entry(row.kind.as_str().to_owned()).or_insert(0) += 1;
            total += 1;
            Ok(())
        })
        .await
        .unwrap();
    (channels, kinds, total)
}

fn counts(value: &Value) -> BTreeMap<String, u64> {
    value.as_object().unwrap().iter().map(|(key, count)| (key.clone(), count.as_u64().unwrap())).collect()
}

async fn the_dry_run_counts_what_the_planner_then_writes(db: TestStore) {
    let api = Api::start(db).await;
    seed(&api).await;
    let (status, dry) = answer(api.post("/api/v1/state-changes", "root", outage("all", true)).await).await;
    assert_eq!(status, 200, "{dry}");
    let contract = crate::schema::served(&api).await;
    contract.check("POST /api/v1/state-changes", 200, Some("application/json"), &dry).unwrap();
    assert_eq!(written(&api).await.2, 0, "a dry run writes nothing");
    assert!(api.db.store.service_board(None).await.unwrap().is_empty());
    // PLG: Ayu, Bayu (two bookings), Cici, Dedi, Eka; GTO: Hana, Indra. Not Fajar (beyond the
    // horizon) nor Gita (picked up).
    assert_eq!((dry["applicants"].as_u64(), dry["bookings"].as_u64()), (Some(7), Some(8)), "{dry}");
    let plg = dry["offices"].as_array().unwrap().iter().find(|office| office["office"] == "PLG").unwrap();
    assert_eq!((plg["applicants"].as_u64(), plg["bookings"].as_u64()), (Some(5), Some(6)), "{plg}");
    assert!(plg["first_send_local"].as_str().unwrap().ends_with("WIB"), "{plg}");
    assert_eq!(dry["offices"].as_array().unwrap().len(), 4, "every office of the change: {dry}");
    assert_eq!(
        counts(&dry["by_channel"]),
        BTreeMap::from([
            ("whatsapp".into(), 4),
            ("sms".into(), 1),
            ("email".into(), 1),
            ("unreachable".into(), 1)
        ])
    );
    assert_eq!(
        counts(&dry["by_kind"]),
        BTreeMap::from([("appointment_unchanged".into(), 4), ("issuance_delayed".into(), 3)])
    );
    assert!(dry["sms_segments"].as_u64().unwrap() >= 1, "{dry}");
    assert_eq!(dry["estimated_cost"]["currency"], "IDR");
    let cost = 4.0 * 350.0 + dry["sms_segments"].as_f64().unwrap() * 450.0;
    assert_eq!(dry["estimated_cost"]["amount"].as_f64(), Some(cost), "{dry}");
    let first: chrono::DateTime<Utc> = dry["first_send_at"].as_str().unwrap().parse().unwrap();
    let planned: chrono::DateTime<Utc> = dry["planned_at"].as_str().unwrap().parse().unwrap();
    assert!(first >= planned, "nothing leaves before the settle window: {dry}");

    let (status, done) = answer(api.post("/api/v1/state-changes", "root", outage("all", false)).await).await;
    assert_eq!(status, 201, "{done}");
    assert!(done.get("applicants").is_none(), "only a dry run counts: {done}");
    assert!(done["changes"].as_array().unwrap().iter().all(|change| change["change_id"].is_i64()), "{done}");
    plan(&api).await;
    let (channels, kinds, total) = written(&api).await;
    assert_eq!(total, 7);
    assert_eq!(channels, counts(&dry["by_channel"]), "the planner wrote what the dry run counted");
    assert_eq!(kinds, counts(&dry["by_kind"]));

    // A change while the incident is open names it.
    let update = json!({"offices": "PLG", "service": "printing", "state": "unavailable", "reason": "Pemulihan dari cadangan Batam"});
    let (status, updated) = answer(api.post("/api/v1/state-changes", "officer", update).await).await;
    assert_eq!(status, 201, "{updated}");
    assert!(updated["changes"][0]["incident_id"].is_i64(), "{updated}");
    // The restoration's dry run counts those it would tell: the notices are still held (no
    // worker ran), so they are superseded and only Dedi, never reachable, is told again.
    let back = json!({"offices": "PLG", "service": "printing", "state": "operational"});
    let mut dry_back = back.clone();
    dry_back["dry_run"] = json!(true);
    let (status, restore) = answer(api.post("/api/v1/state-changes", "officer", dry_back).await).await;
    assert_eq!(status, 200, "{restore}");
    assert_eq!(counts(&restore["by_kind"]), BTreeMap::from([("service_restored".into(), 1)]), "{restore}");
    assert_eq!(answer(api.post("/api/v1/state-changes", "officer", back).await).await.0, 201);
    plan(&api).await;
    let (_, kinds, _) = written(&api).await;
    assert_eq!(kinds.get("service_restored"), Some(&1), "the planner told whom the dry run counted");
}

/// Seeds, declares printing down at PLG and GTO, plans it; returns the incident ids.
async fn incidents(api: &Api) -> (i64, i64) {
    seed(api).await;
    let (status, body) =
        answer(api.post("/api/v1/state-changes", "root", outage("PLG,GTO", false)).await).await;
    assert_eq!(status, 201, "{body}");
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    plan_once(&api.db.store, &config, Utc::now()).await.unwrap();
    let open = api.db.store.open_incidents().await.unwrap();
    let id = |code: &str| open.iter().find(|incident| incident.office.as_str() == code).unwrap().id;
    (id("PLG"), id("GTO"))
}

async fn incidents_show_their_timeline_and_take_updates(db: TestStore) {
    let api = Api::start(db).await;
    let (plg, gto) = incidents(&api).await;
    let (status, page) = answer(api.get("/api/v1/incidents?open=true", "viewer").await).await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<i64> =
        page["items"].as_array().unwrap().iter().map(|item| item["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [plg], "only the caller's offices: {page}");
    let (status, page) = answer(api.get("/api/v1/incidents?limit=1", "root").await).await;
    assert_eq!((status, page["items"].as_array().unwrap().len()), (200, 1), "{page}");
    let next = page["next"].as_str().unwrap();
    let (_, rest) = answer(api.get(&format!("/api/v1/incidents?limit=1&after={next}"), "root").await).await;
    assert_eq!(rest["items"][0]["id"].as_i64(), Some(plg.min(gto)), "{rest}");
    assert!(rest.get("next").is_none(), "{rest}");
    let (status, _) = answer(api.get("/api/v1/incidents?office=GTO", "viewer").await).await;
    assert_eq!(status, 403);

    let (status, detail) = answer(api.get(&format!("/api/v1/incidents/{plg}"), "viewer").await).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!((detail["office"].as_str(), detail["open"].as_bool()), (Some("PLG"), Some(true)));
    assert_eq!(detail["timeline"][0]["kind"], "change");
    assert_eq!(detail["timeline"][0]["to"], "unavailable");
    assert!(detail["timeline"][0]["planned_at"].is_string(), "{detail}");
    let planned: u64 =
        detail["progress"].as_array().unwrap().iter().map(|row| row["planned"].as_u64().unwrap()).sum();
    assert_eq!(planned, 5, "{detail}");
    let (status, hidden) = answer(api.get(&format!("/api/v1/incidents/{gto}"), "officer").await).await;
    assert_eq!(status, 404, "another office's incident does not exist for the caller: {hidden}");
    assert_eq!(hidden["type"], "urn:kabar:problem:not-found");

    let text = json!({"text": "Pencetakan kembali normal besok pukul 08.00 WIB.", "text_en": "Printing resumes tomorrow at 08:00 WIB."});
    let post = |who: &'static str, id: i64, body: Value| {
        let api = &api;
        async move { answer(api.post(&format!("/api/v1/incidents/{id}/updates"), who, body).await).await }
    };
    assert_eq!(post("viewer", plg, text.clone()).await.0, 403);
    assert_eq!(post("officer", gto, text.clone()).await.0, 404);
    let (status, problem) = post("officer", plg, json!({"text": "  "})).await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("text")), "{problem}");
    let (status, posted) = post("officer", plg, text).await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["messages"], 5, "everyone the notices were for: {posted}");
    assert_eq!(posted["unreachable"], 1, "{posted}");
    let (_, detail) = answer(api.get(&format!("/api/v1/incidents/{plg}"), "viewer").await).await;
    let staff =
        detail["timeline"].as_array().unwrap().iter().find(|entry| entry["kind"] == "staff_update").unwrap();
    assert_eq!(
        (staff["by"].as_str(), staff["broadcast_id"].as_i64()),
        (Some("token:officer"), posted["broadcast_id"].as_i64())
    );
    let planned: u64 =
        detail["progress"].as_array().unwrap().iter().map(|row| row["planned"].as_u64().unwrap()).sum();
    assert_eq!(planned, 10, "the update's messages count in the incident's progress");
    let mut audited = Vec::new();
    api.db
        .store
        .audit_records(&Default::default(), |record| {
            if record.action == "incident.update" {
                audited.push((record.actor, record.target, record.offices));
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(audited, [("token:officer".to_owned(), format!("incident:{plg}"), vec!["PLG".to_owned()])]);
}

async fn the_call_list_follows_the_calls(db: TestStore) {
    let api = Api::start(db).await;
    let (plg, gto) = incidents(&api).await;
    let path = format!("/api/v1/incidents/{plg}/call-list");
    let (status, list) = answer(api.get(&path, "viewer").await).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["full_phone"], false);
    assert_eq!(list["to_call"][0]["mobile"], mobile(4).masked(), "masked for viewers: {list}");
    let (_, list) = answer(api.get(&path, "officer").await).await;
    assert_eq!(list["to_call"][0]["mobile"], mobile(4).e164(), "whole for officers");
    assert_eq!(list["to_call"][0]["bookings"][0]["code"], "PLG-4");
    assert_eq!(answer(api.get(&format!("/api/v1/incidents/{gto}/call-list"), "officer").await).await.0, 404);

    let call = |who: &'static str, code: &'static str, body: Value| {
        let api = &api;
        async move { answer(api.post(&format!("/api/v1/call-list/{code}/outcomes"), who, body).await).await }
    };
    assert_eq!(call("viewer", "PLG-4", json!({"outcome": "reached"})).await.0, 403);
    assert_eq!(
        call("officer", "GTO-2", json!({"outcome": "reached"})).await.0,
        404,
        "another office's booking"
    );
    assert_eq!(call("officer", "NOPE-1", json!({"outcome": "reached"})).await.0, 404);
    let (status, problem) = call("officer", "PLG-4", json!({"outcome": "busy"})).await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("outcome")), "{problem}");
    let (status, recorded) =
        call("officer", "PLG-4", json!({"outcome": "no_answer", "note": "coba lagi sore"})).await;
    assert_eq!(status, 201, "{recorded}");
    let (_, list) = answer(api.get(&path, "officer").await).await;
    assert_eq!(
        list["to_call"][0]["last_call"]["outcome"], "no_answer",
        "still to call, with its last outcome: {list}"
    );
    assert_eq!(list["to_call"][0]["last_call"]["note"], "coba lagi sore");
    let (status, _) = call("officer", "PLG-4", json!({"outcome": "reached"})).await;
    assert_eq!(status, 201);
    let (_, list) = answer(api.get(&path, "officer").await).await;
    assert_eq!(list["to_call"], json!([]), "{list}");
    assert_eq!(list["reached"][0]["last_call"]["outcome"], "reached");
    let mut audited = 0;
    api.db
        .store
        .audit_records(&Default::default(), |record| {
            if record.action == "call.outcome" {
                assert_eq!(record.offices, ["PLG"]);
                assert!(!record.summary.to_string().contains("coba"), "the note stays out of the log");
                audited += 1;
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(audited, 2);
}

async fn delivery_reports_stream_masked_unless_asked(db: TestStore) {
    let api = Api::start(db).await;
    let (plg, gto) = incidents(&api).await;
    let path = format!("/api/v1/incidents/{plg}/messages");
    let response = api.get(&path, "viewer").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("message_id,incident_id,broadcast_id,office,bookings,phone"), "{csv}");
    assert_eq!(lines.len(), 6, "a header and the five messages: {csv}");
    assert!(csv.contains("PLG-2A+PLG-2B"), "{csv}");
    assert!(!csv.contains(mobile(1).e164()) && csv.contains(&mobile(1).masked()), "{csv}");

    let response = api
        .request(Method::GET, &format!("{path}?full_phone=true"), Some("officer"))
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let body = response.text().await.unwrap();
    let rows: Vec<Value> = body.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().any(|row| row["phone"] == mobile(1).e164()), "{body}");
    assert_eq!(rows[0]["incident_id"].as_i64(), Some(plg));
    let (status, problem) = answer(api.get(&format!("{path}?full_phone=true"), "viewer").await).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(answer(api.get(&format!("/api/v1/incidents/{gto}/messages"), "officer").await).await.0, 404);
    let mut audited = Vec::new();
    api.db
        .store
        .audit_records(&Default::default(), |record| {
            if record.action == "report.full_phone" {
                audited.push((record.actor, record.target));
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(audited, [("token:officer".to_owned(), format!("incident:{plg}"))]);

    // A staff update is a broadcast: its own report, at the caller's offices only.
    let (_, posted) = answer(
        api.post(
            &format!("/api/v1/incidents/{plg}/updates"),
            "officer",
            json!({"text": "Pengambilan dibuka Sabtu."}),
        )
        .await,
    )
    .await;
    let broadcast = posted["broadcast_id"].as_i64().unwrap();
    let csv =
        api.get(&format!("/api/v1/broadcasts/{broadcast}/messages"), "viewer").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.lines().skip(1).all(|line| line.contains(",broadcast,")), "{csv}");
    let (_, gto_update) = answer(
        api.post(
            &format!("/api/v1/incidents/{gto}/updates"),
            "root",
            json!({"text": "Pencetakan berjalan lagi."}),
        )
        .await,
    )
    .await;
    let other = gto_update["broadcast_id"].as_i64().unwrap();
    assert_eq!(answer(api.get(&format!("/api/v1/broadcasts/{other}/messages"), "viewer").await).await.0, 404);
    assert_eq!(answer(api.get("/api/v1/broadcasts/999999/messages", "viewer").await).await.0, 404);
    let csv = api.get(&path, "viewer").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 11, "the incident's report holds its update's messages too: {csv}");
}

async fn an_unknown_api_path_is_a_problem(db: TestStore) {
    let api = Api::start(db).await;
    let response = api.get("/api/v1/nothing/here", "viewer").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let (_, problem) = answer(response).await;
    assert_eq!(problem["type"], "urn:kabar:problem:not-found");
    assert!(problem["detail"].as_str().unwrap().contains("/api/v1/nothing/here"), "{problem}");
}

crate::http_tests!(
    the_dry_run_counts_what_the_planner_then_writes,
    incidents_show_their_timeline_and_take_updates,
    the_call_list_follows_the_calls,
    delivery_reports_stream_masked_unless_asked,
    an_unknown_api_path_is_a_problem,
);
