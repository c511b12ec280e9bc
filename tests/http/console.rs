//! The staff console over real HTTP on both engines: the session cookie's attributes and
//! rotation, the Origin and CSRF checks on every form, login rate limits as a 429 page, the 303 to
//! the login page, and the audit row of a change made in the console.

use kabar::audit::Origin;
use kabar::staff::accounts;
use kabar::staff::{Role, StaffConfig};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};

use crate::console_support::{with_csrf, Console, PASSWORD};
use crate::harness::TestStore;

const CHANGE: &[(&str, &str)] =
    &[("office", "PLG"), ("service", "printing"), ("state", "unavailable"), ("reason", "Gangguan PDN")];

async fn sessions_cookies_and_forms(db: TestStore) {
    let console = Console::start(db, None, StaffConfig::default()).await;
    let anonymous = console.http.get(format!("{}/console", console.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()[LOCATION], "/console/login");

    let (response, first) = console.login(PASSWORD, None).await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "plain http without a public https URL: {set}");
    let first = first.unwrap();
    // Logging in again from the same browser rotates the id: the old one opens nothing.
    let (_, second) = console.login(PASSWORD, Some(&first)).await;
    let second = second.unwrap();
    assert_ne!(first, second);
    assert_eq!(console.page("/console", &first).await.status(), 303, "the old session ended");
    assert_eq!(console.page("/console", &second).await.status(), 200);

    // A form without its token, with another session's token, or from another origin: refused.
    let csrf = console.csrf(&second).await;
    let cookie = format!("kabar_session={second}");
    let no_token =
        console.post("/console/change/apply", CHANGE).header(ORIGIN, &console.origin).header(COOKIE, &cookie);
    assert_eq!(no_token.send().await.unwrap().status(), 403);
    let forged = with_csrf(CHANGE, "0000000000000000000000000000000000000000000000000000000000000000");
    let wrong = console
        .post("/console/change/apply", &forged)
        .header(ORIGIN, &console.origin)
        .header(COOKIE, &cookie);
    assert_eq!(wrong.send().await.unwrap().status(), 403);
    let good = with_csrf(CHANGE, &csrf);
    let elsewhere = console
        .post("/console/change/apply", &good)
        .header(ORIGIN, "https://evil.example")
        .header(COOKIE, &cookie);
    assert_eq!(elsewhere.send().await.unwrap().status(), 403);
    let no_origin = console.post("/console/change/apply", &good).header(COOKIE, &cookie);
    assert_eq!(no_origin.send().await.unwrap().status(), 403, "neither Origin nor Referer");
    assert!(console.audit("state.set").await.is_empty(), "no refused form changed anything");

    // The real form: made, audited as the staff member from their address with the request id.
    let made = console
        .post("/console/change/apply", &good)
        .header(ORIGIN, &console.origin)
        .header(COOKIE, &cookie)
        .header("x-request-id", "req-console-1")
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 200);
    assert!(made.text().await.unwrap().contains("name=\"change\""), "the result offers the undo");
    assert_eq!(
        console.audit("state.set").await,
        [("staff:budi".to_owned(), Some("127.0.0.1".to_owned()), Some("req-console-1".to_owned()))]
    );
    // A GTO change is refused by the API's own scope check, as a page.
    let gto = with_csrf(
        &[("office", "GTO"), ("service", "printing"), ("state", "unavailable"), ("reason", "x")],
        &csrf,
    );
    let refused =
        console.post("/console/change/confirm", &gto).header(ORIGIN, &console.origin).header(COOKIE, &cookie);
    let refused = refused.send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(refused.text().await.unwrap().contains("GTO"));

    // Logout ends the session (audited) and clears the cookie.
    let out = console
        .post("/console/logout", &[("csrf", &csrf)])
        .header(ORIGIN, &console.origin)
        .header(COOKIE, &cookie);
    let out = out.send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(console.page("/console", &second).await.status(), 303);
    assert_eq!(console.audit("staff.logout").await.len(), 1);
}

async fn https_cookies_and_login_limits(db: TestStore) {
    let staff =
        StaffConfig { failures_per_minute: 2, client_failures_per_minute: 100, ..StaffConfig::default() };
    let console = Console::start(db, Some("https://kabar.example.go.id/"), staff).await;
    let (response, _) = console.login(PASSWORD, None).await;
    assert!(response.headers()[SET_COOKIE].to_str().unwrap().contains("Secure"));
    let plain = console
        .post("/console/login", &[("username", "budi"), ("password", PASSWORD)])
        .header(ORIGIN, &console.base)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 403, "the origin must be the public URL's");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(console.login("salah salah salah", None).await.0.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
    let (limited, _) = console.login(PASSWORD, None).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert!(limited.text().await.unwrap().contains("Terlalu banyak percobaan"), "a page, in Indonesian");
}

/// A supervisor sees what automatic detection proposes on the board and confirms it there: the
/// state changes through the same checks and audit as the API and `kabar state confirm`.
async fn a_supervisor_confirms_a_detected_outage_from_the_board(db: TestStore) {
    use kabar::detect::{probe::ProbeOutcome, NewProposal, ProposalKind, ProposalStatus, Tally, Transition};
    let console = Console::start(db, None, StaffConfig::default()).await;
    let store = &console.db.store;
    let supervisor = accounts::StaffChange { role: Some(Role::Supervisor), ..Default::default() };
    let now = chrono::Utc::now();
    accounts::update_staff(store, &"budi".parse().unwrap(), supervisor, None, &Origin::cli(), now)
        .await
        .unwrap();
    let new = NewProposal {
        kind: ProposalKind::Outage,
        offices: "PLG".into(),
        services: vec![kabar::domain::Service::Printing],
        reason: "Gangguan sistem pusat (simkim)".into(),
        detail: "simkim: HTTP 503 (expected 200)".into(),
        apply_at: None,
    };
    let outcome = ProbeOutcome { ok: false, detail: "HTTP 503".into(), took: std::time::Duration::ZERO };
    let tally = Tally { episode: 1, ..Tally::default() };
    let recorded =
        store.record_probe("simkim", &tally, &outcome, Some(Transition::WentDown), Some(&new), now, now);
    let id = recorded.await.unwrap().proposed.unwrap();

    let (_, session) = console.login(PASSWORD, None).await;
    let session = session.expect("a session");
    let board = console.page("/console", &session).await.text().await.unwrap();
    assert!(board.contains("Gangguan terdeteksi otomatis") && board.contains("simkim: HTTP 503"), "{board}");
    let csrf = console.csrf(&session).await;
    let id_text = id.to_string();
    // Without the token the form is refused and nothing changes.
    let refused = console
        .post("/console/proposals/confirm", &[("proposal", id_text.as_str())])
        .header(ORIGIN, &console.origin)
        .header(COOKIE, format!("kabar_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(store.detect_proposal(id).await.unwrap().unwrap().status, ProposalStatus::Open);
    let confirmed = console
        .post("/console/proposals/confirm", &with_csrf(&[("proposal", id_text.as_str())], &csrf))
        .header(ORIGIN, &console.origin)
        .header(COOKIE, format!("kabar_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    assert_eq!(confirmed.headers().get(LOCATION).unwrap(), "/console");
    let decided = store.detect_proposal(id).await.unwrap().unwrap();
    assert_eq!(
        (decided.status, decided.decided_by.as_deref()),
        (ProposalStatus::Applied, Some("staff:budi"))
    );
    let board = console.page("/console", &session).await.text().await.unwrap();
    assert!(!board.contains("Gangguan terdeteksi otomatis"), "nothing open any more");
    assert_eq!(console.audit("proposal.apply").await[0].0, "staff:budi");
}

crate::http_tests!(
    sessions_cookies_and_forms,
    https_cookies_and_login_limits,
    a_supervisor_confirms_a_detected_outage_from_the_board
);
