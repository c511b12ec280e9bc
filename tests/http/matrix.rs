//! The authorization matrix: every route of the OpenAPI document × every role × a request about
//! the caller's own office, another office, a region and all offices, against a table of the
//! expected answers. Every caller is scoped to Palembang (PLG, region Sumatera Selatan). The
//! route list comes from the served document, so a route added without rows here fails the test;
//! every answer is also checked against the document (its status, content type and schema).

use std::sync::atomic::{AtomicU32, Ordering};

use kabar::audit::Origin;
use kabar::staff::accounts::{self, NewStaff, NewToken};
use kabar::staff::Role;
use reqwest::Method;
use serde_json::json;

use crate::api_support::{answer, Api};
use crate::harness::TestStore;
use crate::schema::Contract;

const ROLES: [&str; 4] = ["viewer", "officer", "supervisor", "admin"];
const TARGETS: [&str; 4] = ["own office", "other office", "region", "all"];

/// `METHOD path`, then per role (viewer | officer | supervisor | admin) the status for the own
/// office, another office, the own region and all; `-` where the route takes no such target.
const MATRIX: &[(&str, &str)] = &[
    ("GET /api/v1/me", "200 200 200 200 | 200 200 200 200 | 200 200 200 200 | 200 200 200 200"),
    ("GET /api/v1/offices", "200 200 200 200 | 200 200 200 200 | 200 200 200 200 | 200 200 200 200"),
    ("GET /api/v1/offices/{code}", "200 403 - - | 200 403 - - | 200 403 - - | 200 403 - -"),
    ("POST /api/v1/state-changes", "403 403 403 403 | 201 403 403 403 | 201 403 201 403 | 201 403 201 403"),
    ("GET /api/v1/queue", "200 200 200 200 | 200 200 200 200 | 200 200 200 200 | 200 200 200 200"),
    // Admins read the whole log; officers and supervisors their offices' rows.
    ("GET /api/v1/audit", "403 403 403 403 | 200 403 200 200 | 200 403 200 200 | 200 200 200 200"),
    ("GET /api/v1/staff", "403 403 403 403 | 403 403 403 403 | 403 403 403 403 | 200 200 200 200"),
    // An admin grants no office outside their own scope.
    ("POST /api/v1/staff", "403 403 403 403 | 403 403 403 403 | 403 403 403 403 | 201 403 403 403"),
    (
        "PATCH /api/v1/staff/{username}",
        "403 403 403 403 | 403 403 403 403 | 403 403 403 403 | 200 403 403 403",
    ),
    ("GET /api/v1/tokens", "403 403 403 403 | 403 403 403 403 | 403 403 403 403 | 200 200 200 200"),
    ("POST /api/v1/tokens", "403 403 403 403 | 403 403 403 403 | 403 403 403 403 | 201 403 403 403"),
    ("DELETE /api/v1/tokens/{name}", "403 403 403 403 | 403 403 403 403 | 403 403 403 403 | 200 200 200 200"),
    // A proposal of automatic detection about the target: one that touches none of the caller's
    // offices does not exist for them (404); one reaching beyond them is refused (403).
    ("GET /api/v1/proposals", "403 403 403 403 | 403 403 403 403 | 200 200 200 200 | 200 200 200 200"),
    (
        "POST /api/v1/proposals/{id}/confirm",
        "403 403 403 403 | 403 403 403 403 | 200 404 200 403 | 200 404 200 403",
    ),
    (
        "POST /api/v1/proposals/{id}/dismiss",
        "403 403 403 403 | 403 403 403 403 | 200 404 200 403 | 200 404 200 403",
    ),
    // Broadcasts and the booking sync (issue 13 part B). A broadcast for the target's offices;
    // one none of whose offices is in scope does not exist for the caller (404); one partly out
    // of scope is refused (403). The region is Sumatera Selatan: Palembang alone.
    (
        "POST /api/v1/broadcasts/preview",
        "403 403 403 403 | 200 403 200 403 | 200 403 200 403 | 200 403 200 403",
    ),
    ("POST /api/v1/broadcasts", "403 403 403 403 | 201 403 201 403 | 201 403 201 403 | 201 403 201 403"),
    ("GET /api/v1/broadcasts", "200 200 200 200 | 200 200 200 200 | 200 200 200 200 | 200 200 200 200"),
    ("GET /api/v1/broadcasts/{id}", "200 404 200 200 | 200 404 200 200 | 200 404 200 200 | 200 404 200 200"),
    (
        "POST /api/v1/broadcasts/{id}/submit",
        "403 403 403 403 | 200 404 200 403 | 200 404 200 403 | 200 404 200 403",
    ),
    (
        "POST /api/v1/broadcasts/{id}/approve",
        "403 403 403 403 | 403 403 403 403 | 200 404 200 403 | 200 404 200 403",
    ),
    (
        "POST /api/v1/broadcasts/{id}/reject",
        "403 403 403 403 | 403 403 403 403 | 200 404 200 403 | 200 404 200 403",
    ),
    (
        "POST /api/v1/broadcasts/{id}/cancel",
        "403 403 403 403 | 200 404 200 403 | 200 404 200 403 | 200 404 200 403",
    ),
    // Rows for the target's offices, with strict=true (rows outside the scope: 403, nothing written).
    ("PUT /api/v1/bookings", "403 403 - 403 | 200 403 - 403 | 200 403 - 403 | 200 403 - 403"),
    ("POST /api/v1/bookings/import", "403 403 - 403 | 200 403 - 403 | 200 403 - 403 | 200 403 - 403"),
    // Incidents, call list and reports: the own office's incident or booking, another office's
    // (which does not exist for the caller: 404), the list filtered by office or not.
    ("GET /api/v1/incidents", "200 403 - 200 | 200 403 - 200 | 200 403 - 200 | 200 403 - 200"),
    ("GET /api/v1/incidents/{id}", "200 404 - - | 200 404 - - | 200 404 - - | 200 404 - -"),
    ("POST /api/v1/incidents/{id}/updates", "403 404 - - | 201 404 - - | 201 404 - - | 201 404 - -"),
    ("GET /api/v1/incidents/{id}/call-list", "200 404 - - | 200 404 - - | 200 404 - - | 200 404 - -"),
    (
        "POST /api/v1/call-list/{booking_code}/outcomes",
        "403 404 - - | 201 404 - - | 201 404 - - | 201 404 - -",
    ),
    ("GET /api/v1/incidents/{id}/messages", "200 404 - - | 200 404 - - | 200 404 - - | 200 404 - -"),
    ("GET /api/v1/broadcasts/{id}/messages", "200 404 - - | 200 404 - - | 200 404 - - | 200 404 - -"),
];

/// An open outage proposal for printing at `offices`, as the prober opens one.
pub(crate) async fn proposal(store: &kabar::store::Store, offices: &str) -> i64 {
    use kabar::detect::{probe::ProbeOutcome, NewProposal, ProposalKind, Tally, Transition};
    let system = unique("simkim");
    let tally = Tally { episode: 1, ..Tally::default() };
    let outcome = ProbeOutcome { ok: false, detail: "HTTP 503".into(), took: std::time::Duration::ZERO };
    let new = NewProposal {
        kind: ProposalKind::Outage,
        offices: offices.into(),
        services: vec![kabar::domain::Service::Printing],
        reason: "Gangguan sistem pusat".into(),
        detail: "HTTP 503".into(),
        apply_at: None,
    };
    let now = chrono::Utc::now();
    let recorded =
        store.record_probe(&system, &tally, &outcome, Some(Transition::WentDown), Some(&new), now, now);
    recorded.await.unwrap().proposed.expect("a proposal")
}

fn expected(row: &str) -> Vec<Vec<Option<u16>>> {
    let roles: Vec<Vec<Option<u16>>> = row
        .split('|')
        .map(|cells| cells.split_whitespace().map(|cell| cell.parse().ok()).collect())
        .collect();
    assert!(roles.len() == 4 && roles.iter().all(|cells| cells.len() == 4), "a row needs 4 × 4 cells: {row}");
    roles
}

/// The scope string of a target.
pub(crate) fn scope(target: usize) -> &'static str {
    ["PLG", "GTO", "region:Sumatera Selatan", "all"][target]
}

static NEXT: AtomicU32 = AtomicU32::new(0);

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The request of `route` about `target`, by `role`; `None` where the route has no such target.
async fn request(api: &Api, route: &str, role: &str, target: usize) -> Option<reqwest::RequestBuilder> {
    let (method, path) = route.split_once(' ').unwrap();
    let method: Method = method.parse().unwrap();
    let call = |path: &str| api.request(method.clone(), path, Some(role));
    Some(match path {
        "/api/v1/me" | "/api/v1/offices" | "/api/v1/queue" | "/api/v1/staff" | "/api/v1/tokens"
            if method == Method::GET =>
        {
            call(path)
        }
        "/api/v1/offices/{code}" => call(&format!("/api/v1/offices/{}", [Some("PLG"), Some("GTO"), None, None][target]?)),
        "/api/v1/state-changes" => call(path).json(&json!({
            "offices": scope(target), "service": "printing", "state": "unavailable", "reason": "Gangguan PDN",
        })),
        "/api/v1/audit" => match target {
            0 => call("/api/v1/audit?office=PLG"),
            1 => call("/api/v1/audit?office=GTO"),
            _ => call("/api/v1/audit"),
        },
        "/api/v1/staff" => call(path).json(&json!({
            "username": unique("staf"), "role": "viewer", "offices": scope(target), "password": "kata sandi yang panjang",
        })),
        "/api/v1/staff/{username}" => {
            let username = unique("ani");
            let new = NewStaff { username: username.parse().unwrap(), display_name: None, role: Role::Viewer, scope: "PLG".parse().unwrap() };
            accounts::add_staff(&api.db.store, new, "kata sandi yang panjang".into(), &Origin::cli(), chrono::Utc::now()).await.unwrap();
            call(&format!("/api/v1/staff/{username}")).json(&json!({"offices": scope(target)}))
        }
        "/api/v1/tokens" => call(path).json(&json!({"name": unique("mesin"), "role": "viewer", "offices": scope(target)})),
        "/api/v1/tokens/{name}" => {
            let name = unique("lama");
            let new = NewToken { name: name.parse().unwrap(), role: Role::Viewer, scope: scope(target).parse().unwrap(), expires_in: None };
            accounts::create_token(&api.db.store, new, &Origin::cli(), chrono::Utc::now()).await.unwrap();
            call(&format!("/api/v1/tokens/{name}"))
        }
        "/api/v1/proposals" => call(path),
        "/api/v1/proposals/{id}/confirm" => call(&format!("/api/v1/proposals/{}/confirm", proposal(&api.db.store, scope(target)).await)),
        "/api/v1/proposals/{id}/dismiss" => {
            let id = proposal(&api.db.store, scope(target)).await;
            call(&format!("/api/v1/proposals/{id}/dismiss")).json(&json!({"note": "pemeliharaan terjadwal"}))
        }
        // Broadcasts and the booking sync (issue 13 part B).
        "/api/v1/broadcasts/preview" => call(path).json(&broadcast_body(target)),
        "/api/v1/broadcasts" if method == Method::POST => call(path).json(&broadcast_body(target)),
        "/api/v1/broadcasts" => call(path),
        "/api/v1/broadcasts/{id}" => call(&format!("/api/v1/broadcasts/{}", broadcast_of(&api.db.store, target, false).await)),
        "/api/v1/broadcasts/{id}/submit" => {
            call(&format!("/api/v1/broadcasts/{}/submit", broadcast_of(&api.db.store, target, false).await))
        }
        "/api/v1/broadcasts/{id}/approve" => {
            call(&format!("/api/v1/broadcasts/{}/approve", broadcast_of(&api.db.store, target, true).await))
        }
        "/api/v1/broadcasts/{id}/reject" => {
            call(&format!("/api/v1/broadcasts/{}/reject", broadcast_of(&api.db.store, target, true).await))
                .json(&json!({"reason": "Jam pengambilan salah"}))
        }
        "/api/v1/broadcasts/{id}/cancel" => {
            call(&format!("/api/v1/broadcasts/{}/cancel", broadcast_of(&api.db.store, target, false).await))
        }
        "/api/v1/bookings" => call("/api/v1/bookings?strict=true").json(&booking_rows(target)?),
        "/api/v1/bookings/import" => {
            let rows = booking_rows(target)?;
            let mut csv = "booking_code,office_code,name,phone,appointment_at,product,express,stage\n".to_owned();
            for row in rows.as_array().unwrap() {
                csv.push_str(&format!("{},{},Budi,0812-1111-0001,2024-06-24 09:00,regular,no,booked\n", row["booking_code"].as_str().unwrap(), row["office_code"].as_str().unwrap()));
            }
            call("/api/v1/bookings/import?strict=true").header("content-type", "text/csv").body(csv)
        }
        // End of broadcasts and the booking sync.
        "/api/v1/incidents"
        | "/api/v1/incidents/{id}"
        | "/api/v1/incidents/{id}/updates"
        | "/api/v1/incidents/{id}/call-list"
        | "/api/v1/call-list/{booking_code}/outcomes"
        | "/api/v1/incidents/{id}/messages"
        | "/api/v1/broadcasts/{id}/messages" => return incidents_request(api, path, role, target).await,
        _ => panic!("the matrix has a row for {route} but no request for it"),
    })
}

// Broadcasts and the booking sync (issue 13 part B).

/// A staff-written broadcast for the target's offices.
fn broadcast_body(target: usize) -> serde_json::Value {
    json!({"title": unique("siaran"), "filter": {"offices": scope(target)}, "text": "Loket buka Sabtu 08.00."})
}

/// A draft by `root` for the target's offices; with `submitted`, waiting for approval.
pub(crate) async fn broadcast_of(store: &kabar::store::Store, target: usize, submitted: bool) -> i64 {
    use kabar::plan::broadcast::{self, BroadcastContent, BroadcastFilter, BroadcastRequest};
    use kabar::store::{BroadcastStatus, Transition};
    let request = BroadcastRequest {
        title: unique("siaran"),
        filter: BroadcastFilter { offices: scope(target).into(), ..BroadcastFilter::default() },
        content: BroadcastContent::Text {
            text: kabar::render::Localized::id_only("Loket buka Sabtu."),
            sender: None,
        },
        channels: None,
        send_at: None,
        actor: "token:root".into(),
    };
    let origin = Origin::of(kabar::audit::Actor::token("root"));
    let planner = kabar::plan::PlannerConfig::default();
    let now = chrono::Utc::now();
    let id = broadcast::draft(store, &planner, &request, &origin, now).await.unwrap();
    if submitted {
        let step = Transition {
            id,
            from: &[BroadcastStatus::Draft],
            to: BroadcastStatus::Submitted,
            by: "token:root",
            at: now,
            reach: Some(0),
            reason: None,
            not_by_author: false,
        };
        store.transition_broadcast(&step, None).await.unwrap();
    }
    id
}

/// Booking rows for the target's offices: Palembang, Gorontalo, or one for every office.
fn booking_rows(target: usize) -> Option<serde_json::Value> {
    let offices: &[&str] = match target {
        0 => &["PLG"],
        1 => &["GTO"],
        3 => &["PLG", "GTO", "JPR", "TNG"],
        _ => return None,
    };
    let rows = offices.iter().map(|office| {
        json!({
            "booking_code": unique("MP"), "office_code": office, "name": "Budi", "phone": "0812-1111-0001",
            "appointment_at": "2024-06-24 09:00", "product": "regular", "express": false, "stage": "booked",
        })
    });
    Some(rows.collect())
}

// End of broadcasts and the booking sync.

/// The open incident of `office` (opened by a pickup outage planned at once), with one booking
/// there (`{office}-M1`) and a staff update (a broadcast to its audience).
pub(crate) async fn incident_at(store: &kabar::store::Store, office: &str) -> (i64, i64) {
    use kabar::plan::{plan_once, update, PlannerConfig};

    if store.open_incident(&office.parse().unwrap()).await.unwrap().is_none() {
        let csv = format!(
            "booking_code,office_code,unit_code,name,phone,email,whatsapp,language,appointment_at,product,express,stage,applied_at\n\
             {office}-M1,{office},,Ani,0812-4100-0001,,,,2024-06-20 09:00,regular,no,ready,\n"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bookings.csv"), csv).unwrap();
        let options = kabar::import::ImportOptions::default();
        kabar::import::import_bookings(store, &dir.path().join("bookings.csv"), &options).await.unwrap();
        let change = kabar::state::StateChange {
            target: office.parse().unwrap(),
            service: kabar::domain::Service::Pickup,
            state: kabar::domain::ServiceState::Unavailable,
            reason: Some("Pencetakan terhenti".into()),
            until: None,
            actor: "cli:test".into(),
            at: chrono::Utc::now(),
        };
        kabar::state::set_state(store, &change).await.unwrap();
        let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
        plan_once(store, &config, chrono::Utc::now()).await.unwrap();
    }
    let incident = store.open_incident(&office.parse().unwrap()).await.unwrap().unwrap();
    let text = update::UpdateText { text_id: "Pengambilan ditunda.".into(), text_en: None };
    let posted = update::post_update(
        store,
        &PlannerConfig::default(),
        incident,
        &text,
        &Origin::cli(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    (incident, posted.broadcast_id)
}

/// The requests of the incident, call list and report routes.
async fn incidents_request(
    api: &Api,
    path: &str,
    role: &str,
    target: usize,
) -> Option<reqwest::RequestBuilder> {
    let method =
        if path.ends_with("/updates") || path.ends_with("/outcomes") { Method::POST } else { Method::GET };
    if path == "/api/v1/incidents" {
        let query = ["?office=PLG", "?office=GTO", "", ""][target];
        return (target != 2).then(|| api.request(method, &format!("{path}{query}"), Some(role)));
    }
    let office = [Some("PLG"), Some("GTO"), None, None][target]?;
    let (incident, broadcast) = incident_at(&api.db.store, office).await;
    let concrete = path
        .replace(
            "{id}/",
            &format!("{}/", if path.starts_with("/api/v1/broadcasts") { broadcast } else { incident }),
        )
        .replace("{booking_code}", &format!("{office}-M1"));
    let concrete =
        if concrete.ends_with("{id}") { concrete.replace("{id}", &incident.to_string()) } else { concrete };
    let request = api.request(method, &concrete, Some(role));
    Some(match path {
        "/api/v1/incidents/{id}/updates" => request.json(&json!({"text": "Pengambilan dibuka Sabtu."})),
        "/api/v1/call-list/{booking_code}/outcomes" => request.json(&json!({"outcome": "no_answer"})),
        _ => request,
    })
}

async fn every_route_every_role_every_scope(db: TestStore) {
    let api = Api::start(db).await;
    let (_, document) =
        answer(api.http.get(format!("{}/api/v1/openapi.json", api.base)).send().await.unwrap()).await;
    let mut routes = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let missing: Vec<&String> =
        routes.iter().filter(|route| !MATRIX.iter().any(|(row, _)| row == route)).collect();
    assert!(missing.is_empty(), "routes without rows in the authorization matrix: {missing:?}");
    let stale: Vec<&str> =
        MATRIX.iter().map(|(row, _)| *row).filter(|row| !routes.iter().any(|route| route == row)).collect();
    assert!(stale.is_empty(), "matrix rows for routes that are not served: {stale:?}");

    let contract = Contract::new(document);
    let (mut wrong, mut undocumented) = (Vec::new(), Vec::new());
    for (route, row) in MATRIX {
        for (role_at, cells) in expected(row).into_iter().enumerate() {
            for (target, want) in cells.into_iter().enumerate() {
                let request = request(&api, route, ROLES[role_at], target).await;
                let (Some(want), Some(request)) = (want, request) else {
                    assert_eq!(want, None, "{route}: a {} cell without a request", TARGETS[target]);
                    continue;
                };
                let response = request.send().await.unwrap();
                let content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .map(|value| value.to_str().unwrap().to_owned());
                let (status, body) = answer(response).await;
                if let Err(mismatch) = contract.check(route, status, content_type.as_deref(), &body) {
                    undocumented.push(format!(
                        "{route} as {} about {}: {status}: {mismatch}",
                        ROLES[role_at], TARGETS[target]
                    ));
                }
                if status != want {
                    wrong.push(format!(
                        "{route} as {} about {}: {status}, expected {want}: {body}",
                        ROLES[role_at], TARGETS[target]
                    ));
                }
                if status == 403 {
                    assert!(
                        body["type"].as_str().is_some_and(|kind| kind.starts_with("urn:kabar:problem:")),
                        "{body}"
                    );
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers differ from the matrix:\n{}", wrong.len(), wrong.join("\n"));
    assert!(
        undocumented.is_empty(),
        "{} answers differ from the OpenAPI document:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
}

crate::http_tests!(every_route_every_role_every_scope);
