//! The admin pages in a real browser, as `adi` (admin of every office): add a staff member, create
//! a token (its secret shown once, never in the list), revoke it, and read the audit log filtered
//! to what was just done, with the chain's verdict.

use crate::support::{Browser, Console, PASSWORD};

pub async fn admin_pages(browser: &Browser, console: &Console) {
    super::log_in(browser, console, "adi").await;
    browser.click("#nav-admin").await;
    browser.wait_for("#add-staff").await;
    browser.check_page("admin-staff", console).await;

    // Add a staff member through the form.
    browser.fill("#username", "wati").await;
    browser.fill("#name", "Wati Susanti").await;
    browser.select("#role", "officer").await;
    browser.fill("#offices", "PLG").await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#password_again", PASSWORD).await;
    browser.click("#add-staff button[type=submit]").await;
    browser.wait_for("#notice").await;
    let row = browser.text("tr[data-username=wati]").await;
    assert!(row.contains("Wati Susanti") && row.contains("PLG"), "{row}");
    let added = console.store().staff_accounts().await.unwrap();
    assert!(added.iter().any(|account| account.username.as_str() == "wati" && !account.disabled));

    // A token: shown once on the answer, never in the list; then revoked.
    browser.goto(&console.url("/console/admin/tokens")).await;
    browser.fill("#name", "ci-bot").await;
    browser.select("#role", "viewer").await;
    browser.fill("#offices", "PLG").await;
    browser.fill("#expires", "30d").await;
    browser.click("#create-token button[type=submit]").await;
    let secret = browser.text("#token-secret").await;
    assert!(secret.starts_with("kbr_"), "{secret}");
    assert!(browser.text("main").await.contains("tidak akan ditampilkan lagi"));
    browser.click("main a[href='/console/admin/tokens']").await;
    browser.wait_for("tr[data-token=ci-bot][data-status=active]").await;
    assert!(!browser.source().await.contains(&secret), "the list never shows the secret");
    browser.check_page("admin-tokens", console).await;
    browser.click("#revoke-ci-bot").await;
    browser.wait_for("#notice").await;
    browser.wait_for("tr[data-token=ci-bot][data-status=revoked]").await;

    // The audit log, filtered to the token's actions, newest first, the chain intact.
    browser.goto(&console.url("/console/admin/audit")).await;
    browser.fill("#action", "token.").await;
    browser.click("#audit-filter button[type=submit]").await;
    browser.wait_for("#audit tr[data-action='token.revoke']").await;
    let actions = browser
        .execute("return [...document.querySelectorAll('#audit tbody tr')].map(r => r.dataset.action);")
        .await;
    assert_eq!(actions, serde_json::json!(["token.revoke", "token.create"]));
    assert_eq!(
        browser.execute("return document.getElementById('verification').dataset.intact;").await,
        "true"
    );
    browser.check_page("admin-audit", console).await;
    super::log_out(browser).await;
}
