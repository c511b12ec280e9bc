//! The console's incident pages and call list over real HTTP on both engines: an update posted
//! from the page reaches the audit log, the restoration closes the incident once the planner has
//! told of it, a call outcome moves the applicant from "to call" to "called", the CSV report is
//! masked for a viewer (whole numbers for an officer, audited), another office's incident is
//! answered as the API answers it (404), and no form is taken without its CSRF token.

use chrono::{Duration, Utc};
use kabar::audit::Origin;
use kabar::domain::{Channel, Service, ServiceState};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::staff::accounts::{self, NewStaff};
use kabar::staff::{Role, StaffConfig};
use kabar::state::{set_state, StateChange, Target};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN};

use crate::console_support::{with_csrf, Console, PASSWORD};
use crate::harness::TestStore;

/// Ayu (PLG, WhatsApp), Dedi (PLG, opted out of WhatsApp and SMS: the call list), Hana (GTO).
async fn seed(console: &Console) {
    let day = |days: i64, zone: chrono_tz::Tz| {
        (Utc::now() + Duration::days(days)).with_timezone(&zone).format("%Y-%m-%d 09:00").to_string()
    };
    let (wib, wita) = (chrono_tz::Asia::Jakarta, chrono_tz::Asia::Makassar);
    let csv = format!(
        "booking_code,office_code,unit_code,name,phone,email,whatsapp,language,appointment_at,product,express,stage,applied_at\n\
         PLG-1,PLG,,Ayu,0812-3200-0001,,,,{},regular,no,booked,\n\
         PLG-4,PLG,,Dedi,0812-3200-0004,,,,{},regular,no,booked,\n\
         GTO-1,GTO,,Hana,0812-3200-0011,,,,{},regular,no,booked,\n",
        day(2, wib),
        day(3, wib),
        day(2, wita)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bookings.csv");
    std::fs::write(&path, csv).unwrap();
    let store = &console.db.store;
    let report =
        kabar::import::import_bookings(store, &path, &kabar::import::ImportOptions::default()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let dedi = "0812-3200-0004".parse().unwrap();
    for channel in [Channel::Whatsapp, Channel::Sms] {
        assert!(store.set_opt_out(&dedi, channel, true).await.unwrap());
    }
    let viewer = NewStaff {
        username: "vina".parse().unwrap(),
        display_name: None,
        role: Role::Viewer,
        scope: "PLG".parse().unwrap(),
    };
    accounts::add_staff(store, viewer, PASSWORD.into(), &Origin::cli(), Utc::now()).await.unwrap();
}

/// Runs the planner now, as if every change had settled (a plan dated in the future would make
/// the calls recorded after it look older than the notices they are about).
async fn plan(console: &Console) {
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    plan_once(&console.db.store, &config, Utc::now()).await.unwrap();
}

/// Printing down at `office`, told by the planner; the office's open incident.
async fn outage(console: &Console, office: &str) -> i64 {
    let change = StateChange {
        target: Target::Offices(vec![office.parse().unwrap()]),
        service: Service::Printing,
        state: ServiceState::Unavailable,
        reason: Some("Gangguan PDN".into()),
        until: None,
        actor: "cli:test".into(),
        at: Utc::now(),
    };
    set_state(&console.db.store, &change).await.unwrap();
    plan(console).await;
    let open = console.db.store.open_incidents().await.unwrap();
    open.iter().find(|incident| incident.office.as_str() == office).expect("an open incident").id
}

/// A form posted with the session and this server's origin.
async fn submit(console: &Console, session: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let request = console
        .post(path, form)
        .header(ORIGIN, &console.origin)
        .header(COOKIE, format!("kabar_session={session}"));
    request.send().await.unwrap()
}

async fn text(console: &Console, path: &str, session: &str) -> (u16, String) {
    let response = console.page(path, session).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn incident_pages_update_restore_and_refuse_other_offices(db: TestStore) {
    let console = Console::start(db, None, StaffConfig::default()).await;
    seed(&console).await;
    let plg = outage(&console, "PLG").await;
    let gto = outage(&console, "GTO").await;
    let budi = console.session_of("budi").await;
    let csrf = console.csrf(&budi).await;

    // The list shows PLG's incident and nothing of GTO; the page its progress, in WIB.
    let (status, list) = text(&console, "/console/incidents", &budi).await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("href=\"/console/incidents/{plg}\"")), "{list}");
    assert!(!list.contains("GTO") && !list.contains(&format!("/console/incidents/{gto}\"")), "{list}");
    let (status, page) = text(&console, &format!("/console/incidents/{plg}"), &budi).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("WIB") && page.contains("data-channel=\"whatsapp\""), "{page}");
    assert!(page.contains("data-channel=\"unreachable\""), "Dedi has no channel: {page}");
    let (_, board) = text(&console, "/console", &budi).await;
    assert!(board.contains(&format!("href=\"/console/incidents/{plg}\"")), "the board links it: {board}");

    // GTO's incident, call list, report and forms: answered as the API answers them, 404.
    for path in ["", "/call-list", "/messages.csv"] {
        let (status, body) = text(&console, &format!("/console/incidents/{gto}{path}"), &budi).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("Hana") && !body.contains("Gorontalo"), "{body}");
    }
    let (status, body) = text(&console, "/console/incidents/abc", &budi).await;
    assert_eq!(status, 404, "not an id: the console's 404 page");
    assert!(body.contains("<html lang=\"id\">"), "{body}");
    let update = with_csrf(&[("text", "Pencetakan kembali besok.")], &csrf);
    let refused = submit(&console, &budi, &format!("/console/incidents/{gto}/updates"), &update).await;
    assert_eq!(refused.status(), 404);
    let restore = with_csrf(&[("service", "printing")], &csrf);
    let refused = submit(&console, &budi, &format!("/console/incidents/{gto}/restore"), &restore).await;
    assert_eq!(refused.status(), 404);

    // An update without its token is refused; with it, planned and audited as budi.
    let plain = [("text", "Pencetakan kembali besok.")];
    let refused = submit(&console, &budi, &format!("/console/incidents/{plg}/updates"), &plain).await;
    assert_eq!(refused.status(), 403);
    assert!(console.audit("incident.update").await.is_empty(), "the refused form did nothing");
    let posted = submit(&console, &budi, &format!("/console/incidents/{plg}/updates"), &update).await;
    assert_eq!(posted.status(), 303);
    assert_eq!(posted.headers()[LOCATION], format!("/console/incidents/{plg}?done=update"));
    let audit = console.audit("incident.update").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "staff:budi");
    let (_, page) = text(&console, &format!("/console/incidents/{plg}?done=update"), &budi).await;
    assert!(page.contains("Pencetakan kembali besok.") && page.contains("id=\"done\""), "{page}");
    // A text the service refuses is shown beside the form, as typed.
    let empty = with_csrf(&[("text", "")], &csrf);
    let again = submit(&console, &budi, &format!("/console/incidents/{plg}/updates"), &empty).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("id=\"form-error\""));

    // A viewer reads the page without its forms, and may not restore.
    let vina = console.session_of("vina").await;
    let (status, page) = text(&console, &format!("/console/incidents/{plg}"), &vina).await;
    assert_eq!(status, 200);
    assert!(!page.contains("/restore\"") && !page.contains("/updates\""), "{page}");
    let vina_csrf = console.csrf_of(&vina, plg).await;
    let refused = submit(
        &console,
        &vina,
        &format!("/console/incidents/{plg}/restore"),
        &with_csrf(&[("service", "printing")], &vina_csrf),
    )
    .await;
    assert_eq!(refused.status(), 403);

    // The restoration: without the token refused; with it, printing is operational and, once the
    // planner has told of it, the incident is closed.
    let refused =
        submit(&console, &budi, &format!("/console/incidents/{plg}/restore"), &[("service", "printing")])
            .await;
    assert_eq!(refused.status(), 403);
    let restored = submit(&console, &budi, &format!("/console/incidents/{plg}/restore"), &restore).await;
    assert_eq!(restored.status(), 303);
    let board = console.db.store.service_board(Some(&"PLG".parse().unwrap())).await.unwrap();
    assert!(board.iter().all(|row| row.state == ServiceState::Operational), "{board:?}");
    let audit = console.audit("state.set").await;
    assert!(audit.iter().any(|row| row.0 == "staff:budi"), "{audit:?}");
    plan(&console).await;
    let record = console.db.store.incident(plg).await.unwrap().unwrap();
    assert!(record.resolved_at.is_some(), "the restoration closes the incident");
    let (_, page) = text(&console, &format!("/console/incidents/{plg}"), &budi).await;
    assert!(page.contains("data-open=\"false\"") && page.contains("data-kind=\"restored\""), "{page}");
    assert!(!page.contains("/updates\""), "a closed incident takes no update");
}

async fn the_call_list_and_the_report(db: TestStore) {
    let console = Console::start(db, None, StaffConfig::default()).await;
    seed(&console).await;
    let plg = outage(&console, "PLG").await;
    let gto = outage(&console, "GTO").await;
    let budi = console.session_of("budi").await;
    let csrf = console.csrf(&budi).await;
    let call_list = format!("/console/incidents/{plg}/call-list");

    // Dedi is to call, with his whole number for an officer, masked for a viewer.
    let (status, list) = text(&console, &call_list, &budi).await;
    assert_eq!(status, 200, "{list}");
    let to_call = &list[list.find("id=\"to-call\"").unwrap()..list.find("id=\"called\"").unwrap()];
    assert!(to_call.contains("Dedi") && to_call.contains("+6281232000004"), "{to_call}");
    assert!(to_call.contains("value=\"PLG-4\""), "a form for his booking");
    assert!(!list.contains("Ayu"), "Ayu was reached");
    let vina = console.session_of("vina").await;
    let (_, masked) = text(&console, &call_list, &vina).await;
    assert!(masked.contains("Dedi") && !masked.contains("+6281232000004"), "{masked}");
    assert!(!masked.contains("name=\"outcome\""), "a viewer records no call");

    // GTO's booking through PLG's form: the booking is not among budi's offices (404).
    let gto_call = with_csrf(&[("booking", "GTO-1"), ("outcome", "reached")], &csrf);
    assert_eq!(submit(&console, &budi, &call_list, &gto_call).await.status(), 404);
    assert_eq!(
        submit(&console, &budi, &format!("/console/incidents/{gto}/call-list"), &gto_call).await.status(),
        404
    );
    // Without the token: refused, nothing recorded.
    let call = [("booking", "PLG-4"), ("outcome", "no_answer"), ("note", "Tidak diangkat")];
    assert_eq!(submit(&console, &budi, &call_list, &call).await.status(), 403);
    assert!(console.audit("call.outcome").await.is_empty());
    // Recorded: Dedi leaves "to call" for "called", with the outcome and the note.
    let recorded = submit(&console, &budi, &call_list, &with_csrf(&call, &csrf)).await;
    assert_eq!(recorded.status(), 303);
    assert_eq!(recorded.headers()[LOCATION], format!("{call_list}#called"));
    assert_eq!(console.audit("call.outcome").await[0].0, "staff:budi");
    let (_, list) = text(&console, &call_list, &budi).await;
    let (to_call, called) = list.split_at(list.find("id=\"called\"").unwrap());
    assert!(!to_call.contains("Dedi") && to_call.contains("id=\"nobody-to-call\""), "{to_call}");
    assert!(called.contains("Dedi") && called.contains("Tidak dijawab") && called.contains("Tidak diangkat"));
    assert!(called.contains("name=\"outcome\""), "not reached: he may be called again");

    // The report: CSV with its header, masked for a viewer, who may not ask for whole numbers.
    let csv_path = format!("/console/incidents/{plg}/messages.csv");
    let report = console.page(&csv_path, &vina).await;
    assert_eq!(report.status(), 200);
    assert!(report.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    assert!(report.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let body = report.text().await.unwrap();
    let header = body.lines().next().unwrap();
    assert!(header.starts_with("message_id,incident_id,broadcast_id,office"), "{header}");
    assert!(body.contains("+62812****0004") && !body.contains("+6281232000004"), "{body}");
    assert_eq!(console.page(&format!("{csv_path}?full_phone=true"), &vina).await.status(), 403);
    assert!(console.audit("report.full_phone").await.is_empty());
    // An officer's whole numbers: the read is audited as the API audits it.
    let full = console.page(&format!("{csv_path}?full_phone=true"), &budi).await;
    assert_eq!(full.status(), 200);
    assert!(full.text().await.unwrap().contains("+6281232000004"));
    let audit = console.audit("report.full_phone").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "staff:budi");
}

impl Console {
    /// The CSRF token of a session that may not open the change form: read from the incident
    /// page's language toggle.
    async fn csrf_of(&self, session: &str, incident: i64) -> String {
        let html = self.page(&format!("/console/incidents/{incident}"), session).await.text().await.unwrap();
        let at = html.find("name=\"csrf\" value=\"").expect("a form with its token") + 19;
        html[at..at + 64].to_owned()
    }
}

crate::http_tests!(incident_pages_update_restore_and_refuse_other_offices, the_call_list_and_the_report);
