//! Console broadcasts over real HTTP on both engines: the composer's preview counts equal the
//! API's preview; a broadcast over the threshold waits, its author's approval is refused (no
//! button, and the forged POST refused by the lifecycle's four-eyes rule), a second supervisor
//! approves and its messages are planned; rejection needs a reason; cancel; scheduling in office
//! time; scope (403 naming offices, 404 for a broadcast of none of them); CSRF.

use kabar::audit::Origin;
use kabar::plan::{broadcast, PlannerConfig};
use kabar::staff::accounts::{self, NewStaff, NewToken};
use kabar::staff::{Role, StaffConfig};
use kabar::store::BroadcastStatus;
use reqwest::header::{COOKIE, LOCATION, ORIGIN};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::console_support::{Console, PASSWORD};
use crate::harness::TestStore;

/// The console over PLG's three ready applicants and GTO's one, with an approval threshold of
/// two; sari a supervisor of every office, rina of PLG (budi, PLG's officer, exists already).
/// Also the bearer token of an admin of every office, for the API's own answers.
async fn started(db: TestStore) -> (Console, String) {
    let console =
        Console::start(db, None, StaffConfig { approval_threshold: 2, ..StaffConfig::default() }).await;
    let store = &console.db.store;
    let now = chrono::Utc::now();
    for (username, scope) in [("sari", "all"), ("rina", "PLG")] {
        let new = NewStaff {
            username: username.parse().unwrap(),
            display_name: None,
            role: Role::Supervisor,
            scope: scope.parse().unwrap(),
        };
        accounts::add_staff(store, new, PASSWORD.into(), &Origin::cli(), now).await.unwrap();
    }
    let token = NewToken {
        name: "root".parse().unwrap(),
        role: Role::Admin,
        scope: "all".parse().unwrap(),
        expires_in: None,
    };
    let (_, secret) = accounts::create_token(store, token, &Origin::cli(), now).await.unwrap();
    let token = secret.expose_secret().to_owned();
    let response = console
        .http
        .put(format!("{}/api/v1/bookings", console.base))
        .bearer_auth(&token)
        .json(&crate::broadcasts::ready_bookings())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    (console, token)
}

/// A signed-in staff member: their session cookie and the CSRF token of their forms.
struct Session {
    cookie: String,
    csrf: String,
}

async fn log_in(console: &Console, username: &str) -> Session {
    let id = console.session_of(username).await;
    let csrf = console.csrf(&id).await;
    Session { cookie: id, csrf }
}

/// Posts `form` as `session` from this server's origin, with the session's token unless
/// `csrf` is false.
async fn send(
    console: &Console,
    session: &Session,
    path: &str,
    form: &[(&str, &str)],
    csrf: bool,
) -> (u16, String, Option<String>) {
    let mut form = form.to_vec();
    if csrf {
        form.push(("csrf", session.csrf.as_str()));
    }
    let response = console
        .post(path, &form)
        .header(ORIGIN, &console.origin)
        .header(COOKIE, format!("kabar_session={}", session.cookie))
        .send()
        .await
        .unwrap();
    let location = response.headers().get(LOCATION).map(|value| value.to_str().unwrap().to_owned());
    (response.status().as_u16(), response.text().await.unwrap(), location)
}

async fn get(console: &Console, session: &Session, path: &str) -> (u16, String) {
    let response = console.page(path, &session.cookie).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

const TEXT: &str = "Loket pengambilan buka Sabtu 08.00-12.00.";

fn compose<'a>(offices: &[&'a str], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = offices.iter().map(|office| ("office", *office)).collect();
    form.extend([("stage", "ready"), ("text", TEXT)]);
    form.extend_from_slice(extra);
    if !extra.iter().any(|(key, _)| *key == "when") {
        form.push(("when", "now"));
    }
    form
}

/// Saves and submits through the composer; the new broadcast's id.
async fn submitted(console: &Console, session: &Session, form: &[(&str, &str)]) -> i64 {
    let (status, body, location) = send(console, session, "/console/broadcasts", form, true).await;
    assert_eq!(status, 303, "{body}");
    let location = location.unwrap();
    location.strip_prefix("/console/broadcasts/").unwrap().parse().unwrap()
}

async fn status_of(console: &Console, id: i64) -> BroadcastStatus {
    console.db.store.broadcast(id).await.unwrap().unwrap().status
}

async fn planned(console: &Console) -> u64 {
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let done = broadcast::plan_due(&console.db.store, &config, chrono::Utc::now()).await.unwrap();
    done.iter().map(|planned| planned.counts.messages).sum()
}

async fn composer_preview_four_eyes_and_approval(db: TestStore) {
    let (console, token) = started(db).await;
    let sari = log_in(&console, "sari").await;
    let (status, page) = get(&console, &sari, "/console/broadcasts/new").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"office-GTO\"") && page.contains("type=\"datetime-local\""), "{page}");

    // The composer's preview shows what the API's preview answers.
    let (status, preview, _) =
        send(&console, &sari, "/console/broadcasts/preview", &compose(&["PLG"], &[]), true).await;
    assert_eq!(status, 200, "{preview}");
    let api = console
        .http
        .post(format!("{}/api/v1/broadcasts/preview", console.base))
        .bearer_auth(&token)
        .json(&json!({"filter": {"offices": "PLG", "stages": ["ready"]}, "text": TEXT}))
        .send()
        .await
        .unwrap();
    let api: Value = api.json().await.unwrap();
    assert_eq!(api["applicants"], 3, "{api}");
    assert!(
        preview.contains(&format!("<strong id=\"preview-applicants\">{}</strong>", api["applicants"])),
        "{preview}"
    );
    for (channel, count) in api["by_channel"].as_object().unwrap() {
        assert!(preview.contains(&format!("data-channel=\"{channel}\">")), "{channel}: {preview}");
        assert!(preview.contains(&format!(": <strong>{count}</strong></li>")), "{channel}: {preview}");
    }
    let cost = format!(
        "{} {:.0}",
        api["estimated_cost"]["currency"].as_str().unwrap(),
        api["estimated_cost"]["total"].as_f64().unwrap()
    );
    assert!(preview.contains(&format!("<strong id=\"preview-cost\">{cost}</strong>")), "{cost}: {preview}");
    assert!(preview.contains(&format!("<strong id=\"preview-segments\">{}</strong>", api["sms_segments"])));
    assert!(preview.contains("id=\"needs-approval\""), "3 applicants, over the threshold of 2");
    assert!(
        preview.contains(TEXT) && preview.contains("<pre lang=\"en\">"),
        "samples in both languages: {preview}"
    );
    assert!(console.db.store.broadcasts().await.unwrap().is_empty(), "a preview writes nothing");

    // Saved and submitted: over the threshold, it waits and nothing is planned.
    let id = submitted(&console, &sari, &compose(&["PLG"], &[("title", "Loket Sabtu")])).await;
    assert_eq!(status_of(&console, id).await, BroadcastStatus::Submitted);
    let (status, detail) = get(&console, &sari, &format!("/console/broadcasts/{id}")).await;
    assert_eq!(status, 200);
    assert!(detail.contains("data-status=\"submitted\"") && detail.contains("id=\"reach\">3<"), "{detail}");
    assert_eq!(planned(&console).await, 0, "not planned before approval");

    // Its author sees no approve button, and the forged approval is refused by the four-eyes rule.
    let (_, inbox) = get(&console, &sari, "/console/approvals").await;
    assert!(
        inbox.contains(&format!("id=\"own-{id}\"")) && !inbox.contains(&format!("id=\"approve-{id}\"")),
        "{inbox}"
    );
    let approve = format!("/console/broadcasts/{id}/approve");
    let (status, refused, _) = send(&console, &sari, &approve, &[], true).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("aturan empat mata"), "{refused}");
    assert_eq!(status_of(&console, id).await, BroadcastStatus::Submitted);

    // A second supervisor: the form without its token is refused; with it, approved and planned.
    let rina = log_in(&console, "rina").await;
    let (_, inbox) = get(&console, &rina, "/console/approvals").await;
    assert!(inbox.contains(&format!("id=\"approve-{id}\"")), "{inbox}");
    let (status, _, _) = send(&console, &rina, &approve, &[], false).await;
    assert_eq!(status, 403, "no CSRF token");
    assert_eq!(status_of(&console, id).await, BroadcastStatus::Submitted);
    let (status, _, location) = send(&console, &rina, &approve, &[], true).await;
    assert_eq!((status, location.as_deref()), (303, Some(format!("/console/broadcasts/{id}").as_str())));
    let record = console.db.store.broadcast(id).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.approved_by.as_deref()),
        (BroadcastStatus::Scheduled, Some("staff:rina"))
    );
    assert_eq!(planned(&console).await, 3, "approved: its messages are planned");
    let counts = console.db.store.broadcast_message_counts(id).await.unwrap();
    assert_eq!(counts.iter().map(|(_, _, count)| count).sum::<u64>(), 3, "{counts:?}");
    let (_, detail) = get(&console, &rina, &format!("/console/broadcasts/{id}")).await;
    assert!(detail.contains("id=\"progress\"") && detail.contains("id=\"approved\">staff:rina"), "{detail}");
    let (_, inbox) = get(&console, &rina, "/console/approvals").await;
    assert!(inbox.contains("id=\"inbox-empty\""), "nothing waits any more: {inbox}");
    let (_, list) = get(&console, &rina, "/console/broadcasts").await;
    assert!(list.contains(&format!("data-broadcast=\"{id}\" data-status=\"planned\"")), "{list}");
}

async fn reject_cancel_schedule_scope_and_forms(db: TestStore) {
    let (console, _) = started(db).await;
    let budi = log_in(&console, "budi").await;
    let sari = log_in(&console, "sari").await;

    // Out of scope: a 403 page naming GTO; the inbox is for supervisors.
    let (status, page, _) =
        send(&console, &budi, "/console/broadcasts/preview", &compose(&["GTO"], &[]), true).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("<strong id=\"outside\">GTO</strong>"), "{page}");
    let (_, new) = get(&console, &budi, "/console/broadcasts/new").await;
    assert!(!new.contains("office-GTO"), "only offices in scope are offered");
    assert_eq!(get(&console, &budi, "/console/approvals").await.0, 403);

    // A client's mistakes re-render the form with the field's message, never a 500.
    for (form, field) in [
        (vec![("stage", "ready"), ("text", TEXT)], "Kantor"),
        (
            compose(&["PLG"], &[("title", "x")]).into_iter().filter(|(key, _)| *key != "text").collect(),
            "Pesan",
        ),
        (compose(&["PLG"], &[("appointment_from", "2024-13-01")]), "Kedatangan dari"),
        (compose(&["PLG"], &[("when", "later")]), "Tanggal dan jam kirim"),
        (compose(&["PLG"], &[]), "Judul"),
    ] {
        let path = if field == "Judul" { "/console/broadcasts" } else { "/console/broadcasts/preview" };
        let (status, page, _) = send(&console, &budi, path, &form, true).await;
        assert_eq!(status, 422, "{field}: {page}");
        assert!(page.contains("id=\"form-error\"") && page.contains(&format!("({field}")), "{field}: {page}");
    }
    // Without its token nothing is saved.
    let titled = compose(&["PLG"], &[("title", "Loket Sabtu")]);
    assert_eq!(send(&console, &budi, "/console/broadcasts", &titled, false).await.0, 403);
    assert!(console.db.store.broadcasts().await.unwrap().is_empty());

    // Scheduled in office time: PLG's wall clock is WIB; a chosen zone is honoured.
    let later = |zone: &'static str| {
        compose(
            &["PLG"],
            &[("title", "Nanti"), ("when", "later"), ("send_at", "2030-01-05T08:00"), ("zone", zone)],
        )
    };
    let wib = submitted(&console, &budi, &later("")).await;
    let wita = submitted(&console, &budi, &later("Asia/Makassar")).await;
    let record = |id| console.db.store.broadcast(id);
    assert_eq!(record(wib).await.unwrap().unwrap().send_at.to_rfc3339(), "2030-01-05T01:00:00+00:00");
    assert_eq!(record(wita).await.unwrap().unwrap().send_at.to_rfc3339(), "2030-01-05T00:00:00+00:00");

    // Reject needs a reason; with one, it is never sent and its page says why.
    let reject = format!("/console/broadcasts/{wib}/reject");
    let (status, inbox, _) = send(&console, &sari, &reject, &[("reason", "  ")], true).await;
    assert_eq!(status, 422, "{inbox}");
    assert!(inbox.contains(&format!("id=\"reject-error-{wib}\"")), "{inbox}");
    assert_eq!(status_of(&console, wib).await, BroadcastStatus::Submitted);
    let (status, _, _) =
        send(&console, &sari, &reject, &[("reason", "Jam salah: Sabtu buka 09.00")], true).await;
    assert_eq!(status, 303);
    assert_eq!(status_of(&console, wib).await, BroadcastStatus::Rejected);
    let (_, detail) = get(&console, &budi, &format!("/console/broadcasts/{wib}")).await;
    assert!(detail.contains("Jam salah: Sabtu buka 09.00") && !detail.contains("id=\"cancel\""), "{detail}");

    // Its author cancels the other one.
    let (_, detail) = get(&console, &budi, &format!("/console/broadcasts/{wita}")).await;
    assert!(detail.contains("id=\"cancel\""), "{detail}");
    let cancel = format!("/console/broadcasts/{wita}/cancel");
    assert_eq!(send(&console, &budi, &cancel, &[], false).await.0, 403, "no CSRF token");
    assert_eq!(send(&console, &budi, &cancel, &[], true).await.0, 303);
    assert_eq!(status_of(&console, wita).await, BroadcastStatus::Cancelled);
    let (_, detail) = get(&console, &budi, &format!("/console/broadcasts/{wita}")).await;
    assert!(detail.contains("id=\"cancelled\">staff:budi") && !detail.contains("id=\"cancel\""), "{detail}");

    // A broadcast of GTO alone does not exist for PLG's officer: 404, and not in the list.
    let gto = submitted(&console, &sari, &compose(&["GTO"], &[("title", "Gorontalo saja")])).await;
    assert_eq!(get(&console, &budi, &format!("/console/broadcasts/{gto}")).await.0, 404);
    assert_eq!(send(&console, &budi, &format!("/console/broadcasts/{gto}/cancel"), &[], true).await.0, 404);
    let (_, list) = get(&console, &budi, "/console/broadcasts").await;
    assert!(
        !list.contains("Gorontalo saja") && list.contains(&format!("data-broadcast=\"{wib}\"")),
        "{list}"
    );
    assert_eq!(get(&console, &budi, "/console/broadcasts/nope").await.0, 404);
}

crate::http_tests!(composer_preview_four_eyes_and_approval, reject_cancel_schedule_scope_and_forms);
