//! A broadcast to PLG and GTO (more than one office: it needs a second person): sari composes it,
//! reads the preview, saves and submits; she sees no approve button on her own and a forged
//! approval is refused; rina approves, and its messages are planned (checked in the store).

use kabar::plan::{broadcast, PlannerConfig};
use kabar::store::BroadcastStatus;

use crate::support::{Browser, Console};

const TEXT: &str = "Loket pengambilan paspor buka Sabtu 08.00-12.00.";

pub async fn a_broadcast_needs_a_second_supervisor(browser: &Browser, console: &Console) {
    crate::log_in(browser, console, "sari").await;
    browser.goto(&console.url("/console/broadcasts/new")).await;
    browser.fill("#title", "Loket Sabtu").await;
    browser.click("#office-PLG").await;
    browser.click("#office-GTO").await;
    browser.click("#stage-printing").await;
    browser.fill("#text", TEXT).await;
    // The live count: the preview appears as the form is filled in, without a click.
    browser.wait_for("#live-preview[data-live] #preview-applicants").await;
    let live: u64 = browser.text("#preview-applicants").await.parse().expect("a count");
    assert_eq!(browser.path().await, "/console/broadcasts/new", "no page load");
    browser.click("#preview-button").await;
    browser.wait_for("#preview").await;
    let told: u64 = browser.text("#preview-applicants").await.parse().expect("a count");
    assert_eq!(live, told, "the live count is the Preview button's");
    assert!(told > 0, "PLG's and GTO's applications in printing");
    assert!(browser.text("#needs-approval").await.contains("persetujuan supervisor lain"));
    assert!(browser.text("#preview").await.contains(TEXT), "the sample as applicants read it");
    browser.check_page("broadcast-compose", console).await;

    browser.click("#submit-button").await;
    browser.wait_for("#status[data-status=submitted]").await;
    let path = browser.path().await;
    let id: i64 = path.strip_prefix("/console/broadcasts/").and_then(|id| id.parse().ok()).expect("its page");

    // Her own: no approve button, and a forged approval is refused by the four-eyes rule.
    browser.goto(&console.url("/console/approvals")).await;
    browser.wait_for(&format!("#own-{id}")).await;
    assert!(!browser.source().await.contains(&format!("id=\"approve-{id}\"")));
    browser.check_page("approvals", console).await;
    browser
        .execute(&format!(
            "const form = document.createElement('form');
             form.method = 'post';
             form.action = '/console/broadcasts/{id}/approve';
             const csrf = document.createElement('input');
             csrf.name = 'csrf';
             csrf.value = document.querySelector('input[name=csrf]').value;
             form.appendChild(csrf);
             document.body.appendChild(form);
             form.submit();"
        ))
        .await;
    browser.wait_for("#problem").await;
    assert!(browser.text("#problem").await.contains("aturan empat mata"));
    let record = console.store().broadcast(id).await.unwrap().unwrap();
    assert_eq!(record.status, BroadcastStatus::Submitted, "refused: still waiting");
    crate::log_out(browser).await;

    // Rina approves it: scheduled, and planned with as many messages as the preview said.
    crate::log_in(browser, console, "rina").await;
    browser.goto(&console.url("/console/approvals")).await;
    browser.click(&format!("#approve-{id}")).await;
    browser.wait_for("#status[data-status=scheduled]").await;
    let record = console.store().broadcast(id).await.unwrap().unwrap();
    assert_eq!(record.approved_by.as_deref(), Some("staff:rina"));
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let planned = broadcast::plan_due(console.store(), &config, chrono::Utc::now()).await.unwrap();
    let messages: u64 =
        planned.iter().filter(|done| done.broadcast_id == id).map(|done| done.counts.messages).sum();
    assert_eq!(messages, told, "the preview's count is what was planned");
    // And the fake SMS provider receives it, once per applicant.
    let received = console.deliver_all().await;
    let broadcast: Vec<_> = received
        .iter()
        .filter(|request| request.field("Body").is_some_and(|body| body.contains(TEXT)))
        .collect();
    let counts = console.store().message_counts().await.unwrap();
    let of = |status: &str| -> u64 {
        counts.iter().filter(|c| c.kind == "broadcast" && c.status == status).map(|c| c.messages).sum()
    };
    assert!(!broadcast.is_empty(), "the fake SMS provider received the broadcast");
    assert_eq!(broadcast.len() as u64, of("sent"), "each sent message reached the provider once");
    assert_eq!(of("queued") + of("sending"), 0, "nothing of the broadcast is left to send");
    browser.goto(&console.url(&format!("/console/broadcasts/{id}"))).await;
    browser.wait_for("#progress").await;
    browser.check_page("broadcast-detail", console).await;
    crate::log_out(browser).await;
}
