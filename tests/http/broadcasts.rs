//! Broadcasts over the staff API on both engines: a preview with samples in both languages and a
//! cost; a broadcast over the approval threshold is not planned before a second supervisor
//! approves it, and its author cannot; small ones are scheduled on submit; rejection, cancelling,
//! scheduling in office time, scope, paging, idempotent replay.

use kabar::audit::Origin;
use kabar::plan::broadcast;
use kabar::plan::PlannerConfig;
use kabar::staff::accounts::{self, NewToken};
use kabar::staff::{Role, StaffConfig};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::api_support::{answer, Api};
use crate::harness::TestStore;

/// Three applicants whose passports are ready at Palembang, one who chose English, and one at
/// Gorontalo.
pub fn ready_bookings() -> Value {
    let row = |code: &str, office: &str, phone: &str, language: &str| {
        json!({
            "booking_code": code, "office_code": office, "name": format!("Pemohon {code}"), "phone": phone,
            "language": language, "appointment_at": "2024-06-10 09:00", "product": "regular",
            "express": false, "stage": "ready", "applied_at": "2024-06-03",
        })
    };
    json!([
        row("MPP-0001", "PLG", "0813-3000-0001", "id"),
        row("MPP-0002", "PLG", "0813-3000-0002", "en"),
        row("MPP-0003", "PLG", "0813-3000-0003", "id"),
        row("MPG-0001", "GTO", "0813-3000-0004", "id"),
    ])
}

fn pickup(offices: &str) -> Value {
    json!({
        "title": "Pengambilan akhir pekan",
        "filter": {"offices": offices, "stages": ["ready"]},
        "template": "ready_for_pickup",
        "pickup": {"hours_id": "Senin-Jumat 08.00-15.00 WIB", "hours_en": "Monday to Friday 08:00-15:00 WIB",
                   "extra_id": "Sabtu-Minggu 08.00-12.00 WIB", "extra_en": "Saturday-Sunday 08:00-12:00 WIB"},
    })
}

async fn seeded(db: TestStore, staff: StaffConfig) -> Api {
    let api = Api::start_with(db, staff).await;
    let response = api
        .request(Method::PUT, "/api/v1/bookings", Some("root"))
        .json(&ready_bookings())
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!((status, body["inserted"].clone()), (200, json!(4)), "{body}");
    api
}

async fn planned_messages(api: &Api) -> u64 {
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let planned = broadcast::plan_due(&api.db.store, &config, chrono::Utc::now()).await.unwrap();
    planned.iter().map(|done| done.counts.messages).sum()
}

async fn actions(api: &Api) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    api.db
        .store
        .audit_records(&Default::default(), |record| {
            if record.action.starts_with("broadcast.") {
                rows.push((record.action, record.actor));
            }
            Ok(())
        })
        .await
        .unwrap();
    rows
}

async fn over_the_threshold_a_second_supervisor_must_approve(db: TestStore) {
    let api = seeded(db, StaffConfig { approval_threshold: 2, ..StaffConfig::default() }).await;
    let new = NewToken {
        name: "supervisor2".parse().unwrap(),
        role: Role::Supervisor,
        scope: "PLG".parse().unwrap(),
        expires_in: None,
    };
    let (_, second) =
        accounts::create_token(&api.db.store, new, &Origin::cli(), chrono::Utc::now()).await.unwrap();
    let second = second.expose_secret().to_owned();

    let (status, preview) =
        answer(api.post("/api/v1/broadcasts/preview", "officer", pickup("PLG")).await).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        (preview["applicants"].clone(), preview["needs_approval"].clone()),
        (json!(3), json!(true)),
        "{preview}"
    );
    assert_eq!(preview["by_channel"], json!({"whatsapp": 3}));
    assert_eq!(preview["estimated_cost"]["currency"], "IDR");
    assert_eq!(preview["estimated_cost"]["total"], json!(3.0 * 350.0));
    let languages: Vec<&str> =
        preview["samples"].as_array().unwrap().iter().map(|s| s["language"].as_str().unwrap()).collect();
    assert_eq!(languages, ["id", "en"], "both languages: {preview}");
    assert!(
        preview["samples"][1]["rendered"]["text"].as_str().unwrap().contains("Saturday-Sunday"),
        "{preview}"
    );

    let (status, draft) = answer(api.post("/api/v1/broadcasts", "supervisor", pickup("PLG")).await).await;
    assert_eq!((status, draft["status"].clone()), (201, json!("draft")), "{draft}");
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(planned_messages(&api).await, 0, "a draft is not planned");

    let (status, submitted) =
        answer(api.post(&format!("/api/v1/broadcasts/{id}/submit"), "supervisor", json!({})).await).await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(
        (submitted["status"].clone(), submitted["awaiting_approval"].clone(), submitted["reach"].clone()),
        (json!("submitted"), json!(true), json!(3))
    );
    assert_eq!(planned_messages(&api).await, 0, "not planned before approval");
    assert!(api.db.store.broadcast_message_counts(id).await.unwrap().is_empty());

    let (status, own) =
        answer(api.post(&format!("/api/v1/broadcasts/{id}/approve"), "supervisor", json!({})).await).await;
    assert_eq!((status, own["type"].clone()), (403, json!("urn:kabar:problem:forbidden")), "{own}");
    assert!(
        own["detail"].as_str().unwrap().contains("is yours")
            && own["detail"].as_str().unwrap().contains("four-eyes"),
        "{own}"
    );
    let (status, officer) =
        answer(api.post(&format!("/api/v1/broadcasts/{id}/approve"), "officer", json!({})).await).await;
    assert_eq!(status, 403, "an officer approves nothing: {officer}");
    assert_eq!(planned_messages(&api).await, 0);

    let approve = api
        .http
        .post(format!("{}/api/v1/broadcasts/{id}/approve", api.base))
        .bearer_auth(&second)
        .send()
        .await
        .unwrap();
    let (status, approved) = answer(approve).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(
        (approved["status"].clone(), approved["approved_by"].clone()),
        (json!("scheduled"), json!("token:supervisor2"))
    );
    assert_eq!(planned_messages(&api).await, 3, "planned once approved");

    let (status, one) = answer(api.get(&format!("/api/v1/broadcasts/{id}"), "viewer").await).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["status"], "planned");
    assert_eq!(one["progress"]["by_channel"]["whatsapp"]["queued"], 3, "{one}");
    assert_eq!(
        actions(&api).await,
        [
            ("broadcast.draft".to_owned(), "token:supervisor".to_owned()),
            ("broadcast.submit".into(), "token:supervisor".into()),
            ("broadcast.approve".into(), "token:supervisor2".into()),
        ]
    );
    let (status, again) = answer(
        api.http
            .post(format!("{}/api/v1/broadcasts/{id}/approve", api.base))
            .bearer_auth(&second)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, again["type"].clone()), (409, json!("urn:kabar:problem:conflict")), "{again}");
}

async fn small_ones_are_scheduled_others_rejected_or_cancelled(db: TestStore) {
    let api = seeded(db, StaffConfig::default()).await;
    let text = |offices: &str| json!({"title": "Loket Sabtu", "filter": {"offices": offices}, "text": "Loket buka Sabtu 08.00.", "send_at": "2030-01-05 08:00"});
    let (status, draft) = answer(api.post("/api/v1/broadcasts", "officer", text("PLG")).await).await;
    assert_eq!(status, 201, "{draft}");
    assert_eq!(
        (draft["send_at"].clone(), draft["send_at_local"].clone()),
        (json!("2030-01-05T01:00:00Z"), json!(["2030-01-05 08:00 WIB"]))
    );
    let id = draft["id"].as_i64().unwrap();
    let (status, submitted) =
        answer(api.post(&format!("/api/v1/broadcasts/{id}/submit"), "officer", json!({})).await).await;
    assert_eq!(
        (status, submitted["status"].clone()),
        (200, json!("scheduled")),
        "one office, under the threshold: {submitted}"
    );
    assert_eq!(planned_messages(&api).await, 0, "not before its time");
    let (status, cancelled) =
        answer(api.post(&format!("/api/v1/broadcasts/{id}/cancel"), "officer", json!({})).await).await;
    assert_eq!(
        (status, cancelled["broadcast"]["status"].clone(), cancelled["messages_cancelled"].clone()),
        (200, json!("cancelled"), json!(0)),
        "{cancelled}"
    );

    let (status, zones) = answer(api.post("/api/v1/broadcasts", "root", text("PLG,GTO")).await).await;
    assert_eq!((status, zones["field"].clone()), (422, json!("send_at")), "two zones, no offset: {zones}");
    let mut both = text("PLG,GTO");
    both["send_at"] = json!("2030-01-05T08:00:00+07:00");
    let (_, draft) = answer(api.post("/api/v1/broadcasts", "root", both).await).await;
    let id = draft["id"].as_i64().unwrap();
    let (_, submitted) =
        answer(api.post(&format!("/api/v1/broadcasts/{id}/submit"), "root", json!({})).await).await;
    assert_eq!(submitted["status"], "submitted", "two offices need a second person");
    let (status, scope) = answer(
        api.post(&format!("/api/v1/broadcasts/{id}/reject"), "supervisor", json!({"reason": "Salah"})).await,
    )
    .await;
    assert_eq!((status, scope["offices"].clone()), (403, json!(["GTO"])), "{scope}");
    let (status, empty) =
        answer(api.post(&format!("/api/v1/broadcasts/{id}/reject"), "root", json!({"reason": " "})).await)
            .await;
    assert_eq!((status, empty["field"].clone()), (422, json!("reason")), "{empty}");
    let (status, rejected) = answer(
        api.post(&format!("/api/v1/broadcasts/{id}/reject"), "root", json!({"reason": "Jam salah"})).await,
    )
    .await;
    assert_eq!(
        (status, rejected["status"].clone(), rejected["rejection_reason"].clone()),
        (200, json!("rejected"), json!("Jam salah")),
        "{rejected}"
    );

    let (_, gto) = answer(api.post("/api/v1/broadcasts", "root", text("GTO")).await).await;
    let gto = gto["id"].as_i64().unwrap();
    let (status, hidden) = answer(api.get(&format!("/api/v1/broadcasts/{gto}"), "officer").await).await;
    assert_eq!(status, 404, "another office's broadcast does not exist for PLG: {hidden}");
    let (status, _) =
        answer(api.post(&format!("/api/v1/broadcasts/{gto}/cancel"), "officer", json!({})).await).await;
    assert_eq!(status, 404);

    let (status, page) = answer(api.get("/api/v1/broadcasts?limit=1", "officer").await).await;
    assert_eq!(status, 200, "{page}");
    let ids = |page: &Value| {
        page["items"].as_array().unwrap().iter().map(|item| item["id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&page), [id], "newest first, GTO's left out");
    let (_, rest) = answer(
        api.get(&format!("/api/v1/broadcasts?limit=1&after={}", page["next"].as_str().unwrap()), "officer")
            .await,
    )
    .await;
    assert_eq!(ids(&rest), [id - 1]);
    assert!(rest["next"].is_null(), "{rest}");

    let (status, bad) = answer(
        api.post(
            "/api/v1/broadcasts",
            "officer",
            json!({"title": "x", "filter": {"offices": "PLG", "stages": ["lost"]}, "text": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let (status, bad) = answer(
        api.post(
            "/api/v1/broadcasts",
            "officer",
            json!({"title": "x", "filter": {"offices": "XYZ"}, "text": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, bad["field"].clone()), (422, json!("filter.offices")), "{bad}");
    let (status, bad) = answer(
        api.post("/api/v1/broadcasts", "officer", json!({"title": "x", "filter": {"offices": "PLG"}})).await,
    )
    .await;
    assert_eq!((status, bad["field"].clone()), (422, json!("text")), "{bad}");
}

async fn a_repeated_draft_with_its_key_is_created_once(db: TestStore) {
    let api = seeded(db, StaffConfig::default()).await;
    let send = || {
        api.request(Method::POST, "/api/v1/broadcasts", Some("officer"))
            .header("idempotency-key", "draft-1")
            .json(&pickup("PLG"))
            .send()
    };
    let (first_status, first) = answer(send().await.unwrap()).await;
    let replay = send().await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let (status, second) = answer(replay).await;
    assert_eq!((first_status, status, first["id"].clone()), (201, 201, second["id"].clone()));
    assert_eq!(api.db.store.broadcasts().await.unwrap().len(), 1);
}

crate::http_tests!(
    over_the_threshold_a_second_supervisor_must_approve,
    small_ones_are_scheduled_others_rejected_or_cancelled,
    a_repeated_draft_with_its_key_is_created_once,
);
