//! The staff console in a real browser: headless Chromium driven through chromedriver (WebDriver,
//! fantoccini) against kabar's real HTTP server on 127.0.0.1 port 0 over a fresh SQLite store.
//! One browser session runs every scenario in order (starting Chromium is the slow part); every
//! step waits for an element, never for time. Each page is screenshotted at 375 px and 1366 px
//! (under `target/tmp/screenshots`, kept by CI) and checked with axe-core (vendored,
//! `tests/browser/axe.min.js`), failing on serious or critical violations; at 375 px the page must
//! not scroll sideways.
//!
//! Needs `/usr/bin/chromedriver` and `/usr/bin/chromium` (Debian: `apt-get install chromium
//! chromium-driver`; `.ci/run` installs them). Without them the suite fails and says so.

#[path = "../fakes/mod.rs"]
mod fakes;
#[path = "../store/harness.rs"]
#[allow(dead_code)] // the browser suite runs on SQLite only
mod harness;
mod incident;
mod support;

mod admin;
mod broadcasts;

use kabar::domain::{Service, ServiceState};
use support::{Browser, Console};

/// Logs in through the form and waits for the board.
async fn log_in(browser: &Browser, console: &Console, username: &str) {
    browser.goto(&console.url("/console/login")).await;
    browser.fill("#username", username).await;
    browser.fill("#password", support::PASSWORD).await;
    browser.click("main button[type=submit]").await;
    browser.wait_for("section.office").await;
    assert!(browser.path().await == "/console", "logged in, on the board");
}

async fn log_out(browser: &Browser) {
    browser.click("form[action='/console/logout'] button").await;
    browser.wait_for("#username").await;
}

/// Fills the change form for `office` and goes to the confirmation page.
async fn to_confirmation(browser: &Browser, console: &Console, office: &str) {
    browser.goto(&console.url("/console/change")).await;
    browser.click(&format!("#office-{office}")).await;
    browser.select("#service", "printing").await;
    browser.click("#state-unavailable").await;
    browser.fill("#reason", "Gangguan Pusat Data Nasional").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("#confirm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let console = Console::start().await;
    let browser = Browser::start().await;

    // Log in; the board shows PLG and nothing of GTO.
    browser.goto(&console.url("/console")).await;
    browser.wait_for("#username").await;
    assert_eq!(browser.path().await, "/console/login", "no session: 303 to the login page");
    browser.check_page("login", &console).await;
    log_in(&browser, &console, "budi").await;
    let board = browser.text("#office-PLG").await;
    assert!(board.contains("Pencetakan paspor") && board.contains("Normal"), "{board}");
    let source = browser.source().await;
    assert!(!source.contains("GTO") && !source.contains("Gorontalo"), "a PLG officer sees no GTO data");
    assert!(source.contains("<html lang=\"id\">"));
    browser.check_page("board", &console).await;

    // Change PLG printing to unavailable: the confirmation page, then the board shows it.
    to_confirmation(&browser, &console, "PLG").await;
    let confirm = browser.text("main").await;
    assert!(confirm.contains("Tidak tersedia") && confirm.contains("Kanim Palembang"), "{confirm}");
    browser.check_page("confirm", &console).await;
    browser.click("#confirm").await;
    browser.wait_for("#undo").await;
    browser.check_page("result", &console).await;
    let row =
        browser.text_in_new_tab(&console.url("/console"), "#office-PLG tr[data-service=printing]").await;
    assert!(row.contains("Tidak tersedia") && row.contains("Gangguan Pusat Data Nasional"), "{row}");

    // Undo within the settle window: the previous state stands and the planner sends nothing.
    browser.click("#undo").await;
    browser.wait_for("#outcome[data-kind=undone]").await;
    assert!(browser.text("#outcome").await.contains("Tidak ada pesan yang dikirim"));
    browser.goto(&console.url("/console")).await;
    let row = browser.text("#office-PLG tr[data-service=printing]").await;
    assert!(row.contains("Normal"), "undone: {row}");
    assert_eq!(console.plan_after_settling().await, 0, "an undone change sends nothing");

    // The same change confirmed and left alone is planned: the undo above is what sent nothing,
    // and the confirmation page said how many would hear it.
    to_confirmation(&browser, &console, "PLG").await;
    let told: u64 = browser.text("#audience-applicants").await.parse().expect("a count");
    browser.click("#confirm").await;
    browser.wait_for("#undo").await;
    let planned = console.plan_after_settling().await;
    assert!(planned > 0, "a confirmed change reaches PLG's applicants");
    assert_eq!(told, planned, "the confirmation page's count is what the planner wrote");
    assert_eq!(console.state("PLG", Service::Printing).await, ServiceState::Unavailable);

    // A PLG officer asking to change GTO gets a 403 page, and GTO is unchanged.
    browser.goto(&console.url("/console/change")).await;
    browser.wait_for("#office-PLG").await;
    browser.execute("document.getElementById('office-PLG').value = 'GTO';").await;
    browser.click("#office-PLG").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("#problem").await;
    assert_eq!(browser.text("h1").await, "Akses ditolak");
    assert_eq!(browser.text("#outside").await, "GTO");
    browser.check_page("forbidden", &console).await;
    assert_eq!(console.state("GTO", Service::Printing).await, ServiceState::Operational);
    // The national view is for supervisors.
    browser.goto(&console.url("/console/national")).await;
    assert_eq!(browser.text("h1").await, "Akses ditolak");

    // A form posted without its CSRF token is refused, and nothing changes.
    to_confirmation(&browser, &console, "PLG").await;
    browser
        .execute(
            "document.querySelector('form[action=\"/console/change/apply\"] input[name=csrf]').remove();",
        )
        .await;
    browser.click("#confirm").await;
    browser.wait_for("#problem").await;
    assert!(browser.text("#problem").await.contains("token keamanan"), "the CSRF refusal");
    assert_eq!(console.audit_count("state.set").await, 2, "the refused form changed nothing");

    // English, remembered on the account.
    browser.goto(&console.url("/console")).await;
    browser.click("form[action='/console/language'] button").await;
    browser.wait_for("html[lang=en]").await;
    assert!(browser.text("h1").await.contains("Service board"));
    browser.check_page("board-en", &console).await;
    browser.click("form[action='/console/language'] button").await;
    browser.wait_for("html[lang=id]").await;

    // An expired session returns to the login page.
    console.age_sessions(chrono::Duration::hours(13)).await;
    browser.goto(&console.url("/console/change")).await;
    browser.wait_for("#username").await;
    assert_eq!(browser.path().await, "/console/login");
    assert!(browser.text("main").await.contains("Sesi Anda telah berakhir"));

    // A supervisor of every office: the national view, filtered.
    log_in(&browser, &console, "sari").await;
    browser.goto(&console.url("/console/national?service=printing&state=unavailable")).await;
    browser.wait_for("tr[data-office=PLG]").await;
    let national = browser.text("main").await;
    assert!(national.contains("Sumatera Selatan") && !national.contains("Gorontalo"), "{national}");
    browser.check_page("national", &console).await;
    browser.goto(&console.url("/console/change")).await;
    browser.wait_for("#office-GTO").await;
    browser.check_page("change", &console).await;
    log_out(&browser).await;
    browser.goto(&console.url("/console")).await;
    browser.wait_for("#username").await;
    assert_eq!(browser.path().await, "/console/login", "logged out");

    // The public status pages, with no login, showing PLG's printing disruption made above
    // (Chromium asks for English by Accept-Language: Indonesian by the parameter).
    for (path, name, lang) in [
        ("/status?lang=id", "status-index", "id"),
        ("/status?lang=en", "status-index-en", "en"),
        ("/status/PLG?lang=id", "status-office", "id"),
        ("/status/PLG?lang=en", "status-office-en", "en"),
    ] {
        browser.goto(&console.url(path)).await;
        browser.wait_for(&format!("html[lang={lang}]")).await;
        if path.starts_with("/status/PLG") {
            let printing = browser.text("article[aria-labelledby=s-printing]").await;
            assert!(printing.contains("Gangguan Pusat Data Nasional"), "{printing}");
        }
        browser.check_page(name, &console).await;
    }

    admin::admin_pages(&browser, &console).await;
    // The incident first: its delivery is the first since PLG's change was planned.
    incident::incident_page_and_call_list(&browser, &console).await;
    broadcasts::a_broadcast_needs_a_second_supervisor(&browser, &console).await;

    browser.finish().await;
}
