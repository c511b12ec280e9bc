//! The booking sync for M-Paspor on both engines: `PUT /bookings` upserts by booking code with
//! the import's checks, reports each bad row and field, writes nothing under `strict`, refuses
//! more than 10,000 rows and rows for offices outside the caller's scope; `POST /bookings/import`
//! takes the CSV of `kabar import bookings`.

use kabar::domain::{BookingCode, Stage};
use reqwest::Method;
use serde_json::{json, Value};

use crate::api_support::{answer, Api};
use crate::harness::TestStore;

fn row(code: &str, office: &str, phone: &str, stage: &str) -> Value {
    json!({
        "booking_code": code, "office_code": office, "name": "Siti Aminah", "phone": phone,
        "appointment_at": "2024-06-24 09:00", "product": "epassport", "express": true, "stage": stage,
    })
}

async fn put(api: &Api, path: &str, as_: &str, rows: Value) -> (u16, Value) {
    answer(api.request(Method::PUT, path, Some(as_)).json(&rows).send().await.unwrap()).await
}

async fn count(api: &Api) -> u64 {
    api.db.store.count_bookings().await.unwrap()
}

async fn rows_are_upserted_and_bad_ones_reported_by_row_and_field(db: TestStore) {
    let api = Api::start(db).await;
    let (status, done) = put(
        &api,
        "/api/v1/bookings",
        "officer",
        json!([
            row("MPA-0001", "PLG", "0812-1111-0001", "booked"),
            row("MPA-0002", "PLG", "0812-1111-0002", "booked")
        ]),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!((done["inserted"].clone(), done["updated"].clone()), (json!(2), json!(0)));
    let booking = api.db.store.booking(&"MPA-0001".parse::<BookingCode>().unwrap()).await.unwrap().unwrap();
    assert_eq!(booking.booking.stage, Stage::Booked);

    // Cancelled since: the same upsert a re-import makes.
    let (status, again) = put(
        &api,
        "/api/v1/bookings",
        "officer",
        json!([
            row("MPA-0001", "PLG", "0812-1111-0001", "cancelled"),
            row("MPA-0002", "PLG", "0812-1111-0002", "booked")
        ]),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!((again["updated"].clone(), again["unchanged"].clone()), (json!(1), json!(1)));
    let booking = api.db.store.booking(&"MPA-0001".parse::<BookingCode>().unwrap()).await.unwrap().unwrap();
    assert_eq!(booking.booking.stage, Stage::Cancelled);

    let mut wrong = row("MPA-0003", "PLG", "12345", "booked");
    wrong["colour"] = json!("red");
    let mixed = json!([
        wrong,
        row("MPA-0004", "GTO", "0812-1111-0004", "booked"),
        row("MPA-0005", "PLG", "0812-1111-0005", "booked")
    ]);
    let (status, strict) = put(&api, "/api/v1/bookings?strict=true", "officer", mixed.clone()).await;
    assert_eq!((status, strict["type"].clone()), (403, json!("urn:kabar:problem:out-of-scope")), "{strict}");
    assert_eq!(strict["offices"], json!(["GTO"]));
    assert_eq!(count(&api).await, 2, "strict writes nothing");
    let mut no_scope = mixed.clone();
    no_scope.as_array_mut().unwrap().remove(1);
    let (status, strict) = put(&api, "/api/v1/bookings?strict=true", "officer", no_scope).await;
    assert_eq!((status, strict["written"].clone()), (422, json!(false)), "{strict}");
    assert_eq!(count(&api).await, 2, "strict writes nothing");

    let (status, problem) = put(&api, "/api/v1/bookings", "officer", mixed).await;
    assert_eq!(
        (status, problem["type"].clone()),
        (422, json!("urn:kabar:problem:invalid-rows")),
        "{problem}"
    );
    assert_eq!(
        (problem["rejected"].clone(), problem["written"].clone(), problem["inserted"].clone()),
        (json!(2), json!(true), json!(1))
    );
    let fields: Vec<(u64, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, [(0, "colour"), (0, "phone"), (1, "office_code")], "{problem}");
    assert!(problem["errors"][2]["detail"].as_str().unwrap().contains("outside your offices"), "{problem}");
    assert_eq!(count(&api).await, 3, "the valid row is written");

    let mut audited = Vec::new();
    api.db
        .store
        .audit_records(&Default::default(), |record| {
            if record.action == "bookings.sync" {
                audited.push(record)
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(audited.len(), 3, "every write, none for strict refusals");
    assert_eq!(
        (audited[0].actor.as_str(), audited[0].offices.clone()),
        ("token:officer", vec!["PLG".to_owned()])
    );
    assert!(!audited[0].summary.to_string().contains("0812"), "no phone number in the log");

    let (status, viewer) = put(&api, "/api/v1/bookings", "viewer", json!([])).await;
    assert_eq!(status, 403, "{viewer}");
    let (status, not_array) =
        put(&api, "/api/v1/bookings", "officer", json!({"booking_code": "MPA-0009"})).await;
    assert_eq!(status, 422, "{not_array}");
}

async fn more_than_ten_thousand_rows_are_refused(db: TestStore) {
    let api = Api::start(db).await;
    let rows: Vec<Value> =
        (0..10_001).map(|n| row(&format!("MPB-{n}"), "PLG", "0812-1111-0001", "booked")).collect();
    let (status, problem) = put(&api, "/api/v1/bookings", "root", Value::Array(rows)).await;
    assert_eq!(
        (status, problem["type"].clone(), problem["max_rows"].clone()),
        (413, json!("urn:kabar:problem:too-many-rows"), json!(10_000)),
        "{problem}"
    );
    assert_eq!(count(&api).await, 0);
}

async fn the_import_csv_is_posted_as_text_csv(db: TestStore) {
    let api = Api::start(db).await;
    let post = |body: &str, content_type: &str, path: &str| {
        api.request(Method::POST, path, Some("officer"))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
    };
    let csv = "booking_code,office_code,name,phone,appointment_at,product,express,stage\n\
               MPC-0001,PLG,Budi,0812-2222-0001,2024-06-24 09:00,regular,no,booked\n\
               MPC-0002,PLG,Ani,0812-2222-0002,2024-06-24 09:30,regular,no,booked\n";
    let (status, done) = answer(post(csv, "text/csv", "/api/v1/bookings/import").await.unwrap()).await;
    assert_eq!((status, done["inserted"].clone()), (200, json!(2)), "{done}");
    let (status, json_body) =
        answer(post(csv, "application/json", "/api/v1/bookings/import").await.unwrap()).await;
    assert_eq!(status, 415, "{json_body}");
    let (status, header) =
        answer(post("hello,world\n1,2\n", "text/csv", "/api/v1/bookings/import").await.unwrap()).await;
    assert_eq!(status, 422, "{header}");
    assert!(header["detail"].as_str().unwrap().contains("line 1"), "{header}");
    let bad = "booking_code,office_code,name,phone,appointment_at,product,express,stage\n\
               MPC-0003,PLG,Budi,0812-2222-0003,2024-06-24 09:00,regular,maybe,booked\n";
    let (status, rows) =
        answer(post(bad, "text/csv", "/api/v1/bookings/import?strict=true").await.unwrap()).await;
    assert_eq!(status, 422, "{rows}");
    assert_eq!(
        (rows["errors"][0]["line"].clone(), rows["errors"][0]["field"].clone()),
        (json!(2), json!("express")),
        "{rows}"
    );
    assert_eq!(count(&api).await, 2);
}

/// A booking M-Paspor reports cancelled takes back the notice still queued about it, as a
/// re-import does; the other applicant's notice stays.
async fn a_synced_cancellation_takes_back_the_queued_notice(db: TestStore) {
    use kabar::plan::{plan_once, PlannerConfig};
    let api = Api::start(db).await;
    let rows = json!([
        row("MPC-0001", "PLG", "0812-1111-0001", "printing"),
        row("MPC-0002", "PLG", "0812-1111-0002", "printing")
    ]);
    assert_eq!(put(&api, "/api/v1/bookings", "officer", rows).await.0, 200);
    let outage =
        json!({"offices": "PLG", "service": "printing", "state": "unavailable", "reason": "Gangguan PDN"});
    let (status, done) = answer(api.post("/api/v1/state-changes", "officer", outage).await).await;
    assert_eq!(status, 201, "{done}");
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let events = plan_once(&api.db.store, &config, chrono::Utc::now()).await.unwrap();
    let event = events[0].counts.event_id;
    let statuses = || async {
        let mut statuses: Vec<(String, String)> = api
            .db
            .store
            .planned_messages(event)
            .await
            .unwrap()
            .into_iter()
            .map(|message| (message.bookings[0].as_str().to_owned(), message.status))
            .collect();
        statuses.sort();
        statuses
    };
    assert_eq!(
        statuses().await,
        [("MPC-0001".into(), "queued".into()), ("MPC-0002".into(), "queued".into())]
    );

    let cancelled = json!([row("MPC-0001", "PLG", "0812-1111-0001", "cancelled")]);
    assert_eq!(put(&api, "/api/v1/bookings", "officer", cancelled).await.0, 200);
    assert_eq!(
        statuses().await,
        [("MPC-0001".into(), "cancelled".into()), ("MPC-0002".into(), "queued".into())],
        "the cancelled booking's notice is taken back before it is sent"
    );
}

crate::http_tests!(
    a_synced_cancellation_takes_back_the_queued_notice,
    rows_are_upserted_and_bad_ones_reported_by_row_and_field,
    more_than_ten_thousand_rows_are_refused,
    the_import_csv_is_posted_as_text_csv,
);
