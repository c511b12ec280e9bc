//! The staff API over real HTTP on both engines: authentication, the scope and role checks,
//! state changes as `kabar state set` makes them, idempotent replay, token revocation, rate
//! limits, problem details, the OpenAPI document.

use kabar::staff::StaffConfig;
use reqwest::Method;
use serde_json::json;

use crate::api_support::{answer, Api};
use crate::harness::TestStore;

async fn audit_count(api: &Api, action: &str) -> i64 {
    let mut count = 0;
    api.db
        .store
        .audit_records(&Default::default(), |record| {
            count += i64::from(record.action == action);
            Ok(())
        })
        .await
        .unwrap();
    count
}

async fn callers_are_authenticated(db: TestStore) {
    let api = Api::start(db).await;
    let (status, me) = answer(api.get("/api/v1/me", "officer").await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me,
        json!({"kind": "token", "name": "officer", "actor": "token:officer", "role": "officer", "offices": "PLG"})
    );

    let missing = api.request(Method::GET, "/api/v1/me", None).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(missing.headers()["content-type"], "application/problem+json");
    let (_, problem) = answer(missing).await;
    assert_eq!(problem["type"], "urn:kabar:problem:unauthenticated");

    let forged = format!("{}{}", &api.token("officer")[..12], "x".repeat(35));
    let (status, problem) =
        answer(api.http.get(format!("{}/api/v1/me", api.base)).bearer_auth(forged).send().await.unwrap())
            .await;
    assert_eq!((status, problem["detail"].as_str().unwrap()), (401, "the token is not valid"));
}

async fn an_officer_changes_only_their_offices(db: TestStore) {
    let api = Api::start(db).await;
    let change = |offices: &str| json!({"offices": offices, "service": "printing", "state": "unavailable", "reason": "Gangguan PDN"});
    let (status, problem) =
        answer(api.post("/api/v1/state-changes", "officer", change("PLG,GTO")).await).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["type"], "urn:kabar:problem:out-of-scope");
    assert_eq!(problem["offices"], json!(["GTO"]));
    assert!(api.db.store.service_board(None).await.unwrap().is_empty(), "nothing changed");
    let (status, problem) =
        answer(api.post("/api/v1/state-changes", "officer", change("region:Sumatera Selatan")).await).await;
    assert_eq!(status, 403, "a region needs a supervisor: {problem}");
    let (status, problem) = answer(api.post("/api/v1/state-changes", "viewer", change("PLG")).await).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["type"], "urn:kabar:problem:forbidden");

    let (status, dry) = answer(api.post("/api/v1/state-changes", "officer", json!({"dry_run": true, "offices": "PLG", "service": "printing", "state": "unavailable", "reason": "Gangguan PDN"})).await).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        dry["changes"],
        json!([{"office": "PLG", "service": "printing", "from": "operational", "to": "unavailable", "changed": true}])
    );
    assert!(api.db.store.service_board(None).await.unwrap().is_empty(), "a dry run writes nothing");
    assert_eq!(audit_count(&api, "state.set").await, 0);

    let (status, done) = answer(api.post("/api/v1/state-changes", "officer", change("PLG")).await).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["changed"], 1);
    let board = api.db.store.service_board(None).await.unwrap();
    assert_eq!((board.len(), board[0].actor.as_str()), (1, "token:officer"));
    let mut audited = Vec::new();
    api.db
        .store
        .audit_records(&Default::default(), |record| {
            audited.push(record);
            Ok(())
        })
        .await
        .unwrap();
    let row = audited.iter().find(|row| row.action == "state.set").unwrap();
    assert_eq!((row.actor.as_str(), row.offices.clone()), ("token:officer", vec!["PLG".to_owned()]));
    assert!(row.request_id.is_some() && row.client.as_deref() == Some("127.0.0.1"), "{row:?}");

    let (status, region) =
        answer(api.post("/api/v1/state-changes", "supervisor", change("region:Sumatera Selatan")).await)
            .await;
    assert_eq!((status, region["unchanged"].clone()), (201, json!(1)), "{region}");
    let (status, all) = answer(api.post("/api/v1/state-changes", "supervisor", change("all")).await).await;
    assert_eq!(status, 403, "{all}");
    assert_eq!(all["offices"], json!(["GTO", "JPR", "TNG"]));
}

async fn mistakes_are_problems_naming_the_field(db: TestStore) {
    let api = Api::start(db).await;
    let (status, problem) = answer(
        api.post(
            "/api/v1/state-changes",
            "officer",
            json!({"offices": "PLG", "service": "printer", "state": "unavailable", "reason": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, problem["field"].clone()), (422, json!("service")), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("printing"), "{problem}");
    let (status, problem) = answer(
        api.post(
            "/api/v1/state-changes",
            "officer",
            json!({"offices": "PLG", "service": "printing", "state": "unavailable"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, problem["field"].clone()), (422, json!("reason")), "{problem}");
    let (status, problem) = answer(
        api.post("/api/v1/state-changes", "officer", json!({"offices": "PLG", "service": "printing"})).await,
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("state"), "{problem}");
    let broken = api
        .request(Method::POST, "/api/v1/state-changes", Some("officer"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    let (status, problem) = answer(broken).await;
    assert_eq!(
        (status, problem["type"].clone()),
        (400, json!("urn:kabar:problem:malformed-request")),
        "{problem}"
    );
    let (status, problem) = answer(api.get("/api/v1/offices?limit=0", "viewer").await).await;
    assert_eq!((status, problem["field"].clone()), (422, json!("limit")), "{problem}");
}

async fn a_repeated_post_is_answered_once(db: TestStore) {
    let api = Api::start(db).await;
    let body =
        json!({"offices": "PLG", "service": "pickup", "state": "unavailable", "reason": "Gangguan PDN"});
    let send = |body: serde_json::Value| {
        api.request(Method::POST, "/api/v1/state-changes", Some("officer"))
            .header("Idempotency-Key", "k-1")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, first) = answer(first).await;
    let again = send(body.clone()).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(answer(again).await, (status, first), "the first answer again");
    assert_eq!(audit_count(&api, "state.set").await, 1, "acted once");
    let other = json!({"offices": "PLG", "service": "pickup", "state": "degraded", "reason": "Gangguan PDN"});
    let (status, problem) = answer(send(other).await.unwrap()).await;
    assert_eq!(
        (status, problem["type"].clone()),
        (422, json!("urn:kabar:problem:idempotency-key-reused")),
        "{problem}"
    );
}

async fn a_revoked_token_stops_at_once(db: TestStore) {
    let api = Api::start(db).await;
    assert_eq!(api.get("/api/v1/me", "viewer").await.status(), 200);
    let revoked = api.request(Method::DELETE, "/api/v1/tokens/viewer", Some("root")).send().await.unwrap();
    assert_eq!(revoked.status(), 200);
    let (status, problem) = answer(api.get("/api/v1/me", "viewer").await).await;
    assert_eq!(status, 401);
    assert!(problem["detail"].as_str().unwrap().contains("revoked"), "{problem}");
    assert_eq!(audit_count(&api, "token.revoke").await, 1);
}

async fn failed_tokens_are_rate_limited(db: TestStore) {
    let staff =
        StaffConfig { failures_per_minute: 2, client_failures_per_minute: 100, ..StaffConfig::default() };
    let api = Api::start_with(db, staff).await;
    let forged = format!("{}{}", &api.token("officer")[..12], "x".repeat(35));
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let response =
                api.http.get(format!("{}/api/v1/me", api.base)).bearer_auth(&forged).send().await.unwrap();
            statuses.push(response.status().as_u16());
        }
        statuses
    };
    assert_eq!(statuses, [401, 401, 429]);
    let locked = api.get("/api/v1/me", "officer").await;
    assert_eq!(locked.status(), 429, "the prefix is locked, even for the real token");
    let wait: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(api.get("/api/v1/me", "viewer").await.status(), 200, "other tokens are not locked");
}

async fn admins_manage_staff_within_their_own_scope(db: TestStore) {
    let api = Api::start(db).await;
    let new = |role: &str, offices: &str| json!({"username": "ani", "role": role, "offices": offices, "password": "kata sandi yang panjang"});
    let (status, problem) = answer(api.post("/api/v1/staff", "admin", new("officer", "GTO")).await).await;
    assert_eq!(status, 403, "a PLG admin cannot grant GTO: {problem}");
    let (status, problem) = answer(api.post("/api/v1/staff", "officer", new("officer", "PLG")).await).await;
    assert_eq!(status, 403, "{problem}");
    let (status, ani) = answer(api.post("/api/v1/staff", "admin", new("officer", "PLG")).await).await;
    assert_eq!(status, 201, "{ani}");
    assert!(ani.get("password").is_none() && !ani.to_string().contains("argon2"), "{ani}");
    let patch = api
        .request(Method::PATCH, "/api/v1/staff/ani", Some("admin"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    let (status, ani) = answer(patch).await;
    assert_eq!((status, ani["disabled"].clone()), (200, json!(true)), "{ani}");
    let (status, list) = answer(api.get("/api/v1/staff", "admin").await).await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 1), "{list}");
    let (status, token) = answer(
        api.post(
            "/api/v1/tokens",
            "root",
            json!({"name": "dashboard", "role": "viewer", "offices": "all", "expires": "30d"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let secret = token["secret"].as_str().unwrap();
    let me = api.http.get(format!("{}/api/v1/me", api.base)).bearer_auth(secret).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let (_, tokens) = answer(api.get("/api/v1/tokens?limit=2", "root").await).await;
    assert_eq!(tokens["items"].as_array().unwrap().len(), 2);
    assert_eq!(tokens["next"], "dashboard", "by name: admin, dashboard, then the next page");
    assert!(!tokens.to_string().contains(&secret[12..]), "{tokens}");
}

async fn offices_and_the_audit_log_follow_the_scope(db: TestStore) {
    let api = Api::start(db).await;
    let (status, offices) = answer(api.get("/api/v1/offices", "viewer").await).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> =
        offices["items"].as_array().unwrap().iter().map(|office| office["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["PLG"]);
    assert_eq!(api.get("/api/v1/offices/GTO", "viewer").await.status(), 403);
    assert_eq!(api.get("/api/v1/offices/XYZ", "viewer").await.status(), 404);
    let change = |offices: &str| json!({"offices": offices, "service": "printing", "state": "unavailable", "reason": "Gangguan PDN", "until": "2099-06-24 17:00"});
    assert_eq!(api.post("/api/v1/state-changes", "root", change("GTO")).await.status(), 201);
    assert_eq!(api.post("/api/v1/state-changes", "officer", change("PLG")).await.status(), 201);
    let (_, gto) = answer(api.get("/api/v1/offices/GTO", "root").await).await;
    let printing =
        gto["services"].as_array().unwrap().iter().find(|s| s["service"] == "printing").unwrap().clone();
    assert_eq!(printing["until_local"], "2099-06-24 17:00 WITA");
    assert_eq!(printing["until"], "2099-06-24T09:00:00Z");
    let (status, audit) = answer(api.get("/api/v1/audit", "officer").await).await;
    assert_eq!(status, 200, "{audit}");
    let rows = audit["items"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "only PLG's rows: {audit}");
    assert_eq!(api.get("/api/v1/audit", "viewer").await.status(), 403);
    assert_eq!(api.get("/api/v1/audit?office=GTO", "officer").await.status(), 403);
    let (_, whole) = answer(api.get("/api/v1/audit?limit=1000", "admin").await).await;
    assert!(whole["items"].as_array().unwrap().len() >= 7, "token creations and both changes: {whole}");
}

async fn the_openapi_document_lists_every_route(db: TestStore) {
    let api = Api::start(db).await;
    let response = api.http.get(format!("{}/api/v1/openapi.json", api.base)).send().await.unwrap();
    assert_eq!(response.status(), 200, "no authentication needed");
    let (_, document) = answer(response).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"), "{}", document["openapi"]);
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 8, "{paths:?}");
    // Every documented operation is served (and refuses an anonymous caller, the one check).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete =
                path.replace("{code}", "PLG").replace("{username}", "ani").replace("{name}", "viewer");
            let method: Method = method.to_uppercase().parse().unwrap();
            let response =
                api.request(method.clone(), &concrete, None).json(&json!({})).send().await.unwrap();
            assert_eq!(
                response.status(),
                401,
                "{method} {path} is documented but not served behind the check"
            );
        }
    }
}

crate::http_tests!(
    callers_are_authenticated,
    an_officer_changes_only_their_offices,
    mistakes_are_problems_naming_the_field,
    a_repeated_post_is_answered_once,
    a_revoked_token_stops_at_once,
    failed_tokens_are_rate_limited,
    admins_manage_staff_within_their_own_scope,
    offices_and_the_audit_log_follow_the_scope,
    the_openapi_document_lists_every_route,
);
