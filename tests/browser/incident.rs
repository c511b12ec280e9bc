//! The incident page and the call list in the browser, after PLG printing went unavailable and
//! was planned: kabar's worker delivers every SMS to the fake provider and the page's progress
//! shows each one sent; Eko, whom no channel reaches, is on the call list until budi records
//! the call; GTO's incident (opened by sari) is refused to budi as the API refuses it, with no
//! GTO data on the page.

use crate::support::{Browser, Console};

/// The incident page's progress rows: (channel, planned, sent, complete).
async fn progress(browser: &Browser) -> Vec<(String, u64, u64, bool)> {
    let rows = browser
        .execute(
            "return [...document.querySelectorAll('#progress tr[data-channel]')].map(row => [
                row.dataset.channel,
                row.querySelector('.n-planned').textContent,
                row.querySelector('.n-sent').textContent,
                row.dataset.complete]);",
        )
        .await;
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let number = |at: usize| row[at].as_str().unwrap().trim().parse::<u64>().unwrap();
            (row[0].as_str().unwrap().to_owned(), number(1), number(2), row[3] == "true")
        })
        .collect()
}

pub async fn incident_page_and_call_list(browser: &Browser, console: &Console) {
    let gto = console.outage("GTO", "staff:sari").await;
    let plg = console.open_incident("PLG").await.expect("PLG's printing incident is open");
    let sent = console.deliver_all().await;
    // Budi and Citra at PLG, Dewi at GTO, by SMS; Eko opted out of it and has no channel.
    let to: Vec<String> = sent.iter().filter_map(|request| request.field("To")).collect();
    for number in ["+6281210000001", "+6281210000002", "+6281220000001"] {
        assert!(to.contains(&number.to_owned()), "{number} was sent to: {to:?}");
    }
    assert!(!to.contains(&"+6281210000003".to_owned()), "Eko opted out of SMS: {to:?}");

    // From the board's incident link to the incident page: every SMS sent.
    crate::log_in(browser, console, "budi").await;
    browser.click("#incident-PLG").await;
    browser.wait_for("#progress").await;
    assert_eq!(browser.path().await, format!("/console/incidents/{plg}"));
    let rows = progress(browser).await;
    let sms = rows.iter().find(|row| row.0 == "sms").expect("an SMS row");
    assert_eq!((sms.1, sms.2, sms.3), (2, 2, true), "every SMS sent: {rows:?}");
    assert!(rows.iter().any(|row| row.0 == "unreachable"), "Eko's row: {rows:?}");
    let page = browser.text("main").await;
    assert!(page.contains("WIB") && page.contains("Gangguan Pusat Data Nasional"), "{page}");
    browser.check_page("incident", console).await;

    // The call list: Eko to call; budi records the call and he moves to "called".
    browser.click("#call-list-link").await;
    browser.wait_for("#to-call article[data-booking='PLG-0003']").await;
    assert!(browser.text("#to-call").await.contains("+6281210000003"), "an officer sees the number");
    browser.check_page("call-list", console).await;
    browser.select("#to-call article[data-booking='PLG-0003'] select", "reached").await;
    browser.fill("#to-call article[data-booking='PLG-0003'] input[name=note]", "Akan datang Senin").await;
    browser.click("#to-call article[data-booking='PLG-0003'] button").await;
    browser.wait_for("#nobody-to-call").await;
    let called = browser.text("#called article[data-booking='PLG-0003']").await;
    assert!(called.contains("Terhubung") && called.contains("Akan datang Senin"), "{called}");
    assert_eq!(console.audit_count("call.outcome").await, 1);

    // GTO's incident and call list: refused as the API refuses them, and nothing of GTO shown.
    for path in [format!("/console/incidents/{gto}"), format!("/console/incidents/{gto}/call-list")] {
        browser.goto(&console.url(&path)).await;
        browser.wait_for("#problem").await;
        assert_eq!(browser.text("h1").await, "Halaman tidak ditemukan", "{path}");
        let source = browser.source().await;
        assert!(!source.contains("Gorontalo") && !source.contains("Dewi"), "{path}: {source}");
    }
    browser.check_page("incident-refused", console).await;
    browser.goto(&console.url("/console/incidents")).await;
    browser.wait_for(&format!("#open-incidents tr[data-incident='{plg}']")).await;
    assert!(!browser.source().await.contains("GTO"), "the list shows PLG's incident only");
    browser.check_page("incidents", console).await;
    crate::log_out(browser).await;
}
