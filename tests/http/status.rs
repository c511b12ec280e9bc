//! The public status pages over real HTTP on both engines: a state change made through another
//! store handle (as `kabar state set` in another process) reaches the office page, both feeds
//! and both summaries; restoration resolves the incident; validators and 304; the language; no
//! personal data anywhere.

use std::io::Read as _;
use std::time::{Duration, Instant};

use kabar::domain::{Service, ServiceState};
use kabar::http::HttpState;
use kabar::import::{self, ImportOptions};
use kabar::state::{set_state_by, StateChange, Target};
use kabar::store::Store;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::api_support::OFFICES;
use crate::harness::TestStore;

/// Known people and codes, none of which may appear in any public answer.
const BOOKINGS: &str = "\
booking_code,office_code,unit_code,name,phone,email,whatsapp,language,appointment_at,product,express,stage,applied_at
PLGX-7781,PLG,,Siti Nurhaliza Wijaya,0812-7000-4411,siti.wijaya@example.com,,,2030-06-21 09:00,regular,no,booked,
PLGX-7782,PLG,,Bambang Sutrisno,0813-7000-5522,,,en,2030-06-21 09:30,epassport,yes,printing,
GTOX-9901,GTO,,Dewi Lestari Putri,0852-7000-6633,dewi.putri@example.com,,,2030-06-22 10:00,regular,no,ready,
";
const PERSONAL: &[&str] = &[
    "Siti",
    "Nurhaliza",
    "Bambang",
    "Sutrisno",
    "Dewi Lestari",
    "7000-4411",
    "70004411",
    "6281270004411",
    "6281370005522",
    "6285270006633",
    "siti.wijaya",
    "dewi.putri",
    "PLGX-7781",
    "PLGX-7782",
    "GTOX-9901",
    // The staff member who made the change.
    "Rahmat Hidayat",
];

struct Site {
    base: String,
    http: reqwest::Client,
    /// A second handle on the same database: the "other process" that changes states.
    other: Store,
    _db: TestStore,
    _shutdown: oneshot::Sender<()>,
}

impl Site {
    async fn start(db: TestStore) -> Site {
        let options = ImportOptions::default();
        let report = import::import_offices_from(&db.store, OFFICES.as_bytes(), "offices.csv", &options)
            .await
            .unwrap();
        assert!(report.is_clean(), "{report}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bookings.csv");
        std::fs::write(&path, BOOKINGS).unwrap();
        let bookings = import::import_bookings(&db.store, &path, &options).await.unwrap();
        assert!(bookings.is_clean(), "{bookings}");
        let listener = kabar::http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = HttpState::new(db.store.clone(), kabar::observe::metrics::install());
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(kabar::http::serve(listener, state, async move {
            let _ = stop.await;
        }));
        let other = Store::open(&db.url).await.unwrap();
        Site { base, http: reqwest::Client::new(), other, _db: db, _shutdown: shutdown }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    async fn text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.text(path).await).unwrap()
    }

    /// Waits until `path` satisfies `done` (the snapshot follows the change signal: at once on
    /// PostgreSQL, within a poll on SQLite), failing after five seconds.
    async fn until(&self, path: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = self.text(path).await;
            if done(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "{path} never showed the change:\n{text}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A change as staff make it, through the other handle, audited as a named staff member.
    async fn set(
        &self,
        target: &str,
        service: Service,
        state: ServiceState,
        reason: Option<&str>,
        until: Option<&str>,
    ) {
        let change = StateChange {
            target: target.parse::<Target>().unwrap(),
            service,
            state,
            reason: reason.map(str::to_owned),
            until: until.map(str::to_owned),
            actor: "staff:Rahmat Hidayat".into(),
            at: chrono::Utc::now(),
        };
        let origin = kabar::audit::Origin::of(kabar::audit::Actor::staff("Rahmat Hidayat"));
        set_state_by(&self.other, &change, Some(&origin)).await.unwrap();
    }
}

fn component<'a>(summary: &'a Value, id: &str) -> &'a Value {
    summary["components"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()
}

fn atom(text: &str) -> atom_syndication::Feed {
    text.parse::<atom_syndication::Feed>().unwrap()
}

async fn a_state_change_reaches_the_page_the_feeds_and_the_summaries(db: TestStore) {
    let site = Site::start(db).await;
    let page = site.text("/status/PLG").await;
    assert!(page.contains("Semua layanan normal"), "{page}");
    assert!(atom(&site.text("/status/PLG/feed.atom").await).entries().is_empty());

    let reason = "Gangguan Pusat Data Nasional";
    site.set("PLG", Service::Printing, ServiceState::Unavailable, Some(reason), Some("2030-06-24 17:00"))
        .await;
    let page = site.until("/status/PLG", |page| page.contains(reason)).await;
    assert!(page.contains("Sebagian layanan terganggu"), "{page}");
    assert!(page.contains("passports are not printed") || page.contains("paspor belum dicetak"), "{page}");
    assert!(page.contains("24 Juni 2030 pukul 17.00 WIB"), "expected restoration in office time: {page}");
    let english = site.text("/status/PLG?lang=en").await;
    assert!(english.contains("no need to come to pick up"), "{english}");
    assert!(english.contains("Monday 24 June 2030 at 17:00 WIB"), "{english}");

    let feed = atom(&site.text("/status/PLG/feed.atom").await);
    assert_eq!(feed.entries().len(), 1);
    let entry_id = feed.entries()[0].id().to_owned();
    assert!(entry_id.starts_with("urn:kabar:status:change:"), "{entry_id}");
    assert!(feed.entries()[0].title().as_str().contains("Pencetakan paspor"));
    let national = atom(&site.text("/status/feed.atom").await);
    assert_eq!(national.entries()[0].id(), entry_id, "one change, one id in both feeds");

    let summary = site.json("/status/PLG/api/v2/summary.json").await;
    assert_eq!(component(&summary, "PLG-printing")["status"], "major_outage");
    assert_eq!(component(&summary, "PLG-biometrics")["status"], "operational");
    assert_eq!(summary["status"]["indicator"], "major");
    let incidents = summary["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["status"], "identified");
    assert_eq!(incidents[0]["incident_updates"].as_array().unwrap().len(), 1);
    let all = site.json("/status/api/v2/summary.json").await;
    assert_eq!(component(&all, "PLG")["status"], "partial_outage");
    assert_eq!(component(&all, "GTO")["status"], "operational");

    // An update, then the restoration: the incident resolves and keeps its timeline.
    site.set("PLG", Service::Printing, ServiceState::Degraded, Some("Pencetakan bertahap"), None).await;
    site.until("/status/PLG/api/v2/summary.json", |s| s.contains("degraded_performance")).await;
    site.set("PLG", Service::Printing, ServiceState::Operational, None, None).await;
    let summary = site.until("/status/PLG/api/v2/summary.json", |s| s.contains("\"incidents\":[]")).await;
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(component(&summary, "PLG-printing")["status"], "operational");
    assert_eq!(summary["status"]["indicator"], "none");
    let page = site.text("/status/PLG").await;
    assert!(page.contains("Semua layanan normal") && page.contains("Selesai"), "{page}");
    let feed = atom(&site.text("/status/PLG/feed.atom").await);
    assert_eq!(feed.entries().len(), 3);
    assert_eq!(feed.entries()[2].id(), entry_id, "ids are stable");
    let all = site.json("/status/api/v2/summary.json").await;
    assert_eq!(all["incidents"], serde_json::json!([]));
}

async fn a_national_change_is_on_top_of_the_index_and_one_feed_entry(db: TestStore) {
    let site = Site::start(db).await;
    site.set("all", Service::Express, ServiceState::Unavailable, Some("Pusat Data Nasional terganggu"), None)
        .await;
    let index = site.until("/status", |page| page.contains("Gangguan nasional")).await;
    assert!(index.contains("Paspor percepatan"), "{index}");
    for code in ["PLG", "GTO", "JPR", "TNG"] {
        assert!(index.contains(&format!("/status/{code}?lang=id")), "{index}");
    }
    let feed = atom(&site.text("/status/feed.atom").await);
    assert_eq!(feed.entries().len(), 1, "one national change, one entry");
    assert!(feed.entries()[0].id().starts_with("urn:kabar:status:national:"));
    let summary = site.json("/status/api/v2/summary.json").await;
    let names: Vec<&str> =
        summary["incidents"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert!(names.iter().any(|name| name.starts_with("Nasional")), "{names:?}");

    let found = site.text("/status?q=gorontalo").await;
    assert!(found.contains("/status/GTO") && !found.contains("/status/PLG?"), "{found}");
    let none = site.text("/status?q=%3Cscript%3E").await;
    assert!(none.contains("&lt;script&gt;") && !none.contains("<script>"), "escaped: {none}");
}

async fn answers_are_cached_validated_compressed_and_guarded(db: TestStore) {
    let site = Site::start(db).await;
    site.set("PLG", Service::Pickup, ServiceState::Unavailable, Some("Cetak tertunda"), None).await;
    site.until("/status/PLG", |page| page.contains("Cetak tertunda")).await;
    for path in [
        "/status",
        "/status/PLG",
        "/status/PLG/feed.atom",
        "/status/feed.atom",
        "/status/PLG/api/v2/summary.json",
        "/status/PLG/badge.svg",
    ] {
        let first = site.get(path).await;
        assert_eq!(first.status(), StatusCode::OK, "{path}");
        let headers = first.headers().clone();
        assert_eq!(headers["cache-control"], "public, max-age=30, stale-while-revalidate=60", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(!csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let modified = headers["last-modified"].to_str().unwrap().to_owned();
        let again = site
            .http
            .get(format!("{}{path}", site.base))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert!(again.bytes().await.unwrap().is_empty());
        let since = site
            .http
            .get(format!("{}{path}", site.base))
            .header("if-modified-since", &modified)
            .send()
            .await
            .unwrap();
        assert_eq!(since.status(), StatusCode::NOT_MODIFIED, "{path}");
        let other = site
            .http
            .get(format!("{}{path}", site.base))
            .header("if-none-match", "\"other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::OK, "{path}");
    }
    let zipped = site
        .http
        .get(format!("{}/status/PLG", site.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let bytes = zipped.bytes().await.unwrap();
    assert!(bytes.len() < 30 * 1024, "the office page is {} bytes compressed", bytes.len());
    let mut html = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut html).unwrap();
    assert!(html.contains("Cetak tertunda"));
    let css = site.get(&stylesheet(&html)).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(!html.contains("<script") && !html.contains("style="), "no inline script or style");
}

fn stylesheet(html: &str) -> String {
    let start = html.find("/status/static/status.css").unwrap();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

async fn the_language_follows_the_parameter_then_the_header(db: TestStore) {
    let site = Site::start(db).await;
    let id = site.text("/status/GTO").await;
    assert!(id.contains("<html lang=\"id\">") && id.contains("href=\"/status?lang=id\""), "{id}");
    let en = site.text("/status/GTO?lang=en").await;
    assert!(en.contains("<html lang=\"en\">"), "{en}");
    assert!(en.contains("href=\"/status?lang=en\""), "links keep the choice: {en}");
    let header = site
        .http
        .get(format!("{}/status", site.base))
        .header("accept-language", "en-US,en;q=0.9,id;q=0.5")
        .send()
        .await
        .unwrap();
    let header = header.text().await.unwrap();
    assert!(header.contains("<html lang=\"en\">") && header.contains("/status/GTO?lang=en"), "{header}");

    let missing = site.get("/status/XYZ").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let missing = missing.text().await.unwrap();
    assert!(
        missing.contains("<html lang=\"id\">") && missing.contains("Kantor tidak ditemukan"),
        "{missing}"
    );
    let missing = site.get("/status/XYZ?lang=en").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let missing = missing.text().await.unwrap();
    assert!(missing.contains("<html lang=\"en\">") && missing.contains("Office not found"), "{missing}");
    let header = site
        .http
        .get(format!("{}/status/not-an-office", site.base))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), StatusCode::NOT_FOUND);
    assert!(header.text().await.unwrap().contains("Office not found"));
    for path in ["/status/XYZ/feed.atom", "/status/XYZ/api/v2/summary.json", "/status/XYZ/badge.svg"] {
        assert_eq!(site.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

async fn no_personal_data_in_any_public_answer(db: TestStore) {
    let site = Site::start(db).await;
    site.set("PLG", Service::Printing, ServiceState::Unavailable, Some("Sistem SIMKIM terganggu"), None)
        .await;
    site.set("all", Service::Express, ServiceState::Unavailable, Some("Pusat Data Nasional"), None).await;
    site.set("GTO", Service::Epassport, ServiceState::Degraded, Some("Blanko terbatas"), None).await;
    site.until("/status/GTO", |page| page.contains("Blanko terbatas")).await;
    let mut paths = vec![
        "/status".to_owned(),
        "/status/feed.atom".to_owned(),
        "/status/api/v2/summary.json".to_owned(),
        "/status?q=Palembang".to_owned(),
    ];
    for code in ["PLG", "GTO", "JPR", "TNG"] {
        for suffix in ["", "/feed.atom", "/api/v2/summary.json", "/badge.svg"] {
            paths.push(format!("/status/{code}{suffix}"));
        }
    }
    for path in &paths {
        for lang in ["id", "en"] {
            let separator = if path.contains('?') { '&' } else { '?' };
            let body = site.text(&format!("{path}{separator}lang={lang}")).await;
            for personal in PERSONAL {
                assert!(!body.contains(personal), "{path} shows {personal:?}");
            }
        }
    }
}

/// While automatic detection's proposal is open, the office page says the disruption was detected
/// automatically and is being confirmed by staff; once dismissed, the notice goes.
async fn an_open_proposal_shows_as_detected_and_being_confirmed(db: TestStore) {
    use kabar::detect::{probe::ProbeOutcome, NewProposal, ProposalKind, ProposalStatus, Tally, Transition};
    let site = Site::start(db).await;
    let notice = "Gangguan terdeteksi otomatis; sedang dikonfirmasi oleh petugas.";
    assert!(!site.text("/status/PLG").await.contains(notice));
    let new = NewProposal {
        kind: ProposalKind::Outage,
        offices: "region:Sumatera Selatan".into(),
        services: vec![Service::Printing],
        reason: "Gangguan sistem pusat (simkim)".into(),
        detail: "simkim: connection refused".into(),
        apply_at: None,
    };
    let outcome = ProbeOutcome { ok: false, detail: "connection refused".into(), took: Duration::ZERO };
    let tally = Tally { episode: 1, ..Tally::default() };
    let now = chrono::Utc::now();
    // Opened by the other handle, as the prober of another serve would.
    let recorded =
        site.other.record_probe("simkim", &tally, &outcome, Some(Transition::WentDown), Some(&new), now, now);
    let id = recorded.await.unwrap().proposed.unwrap();
    let page = site.until("/status/PLG", |page| page.contains(notice)).await;
    assert!(!page.contains("connection refused"), "what the probes saw is for staff only: {page}");
    let english = site.text("/status/PLG?lang=en").await;
    assert!(english.contains("detected automatically and is being confirmed by staff"), "{english}");
    assert!(!site.text("/status/GTO").await.contains(notice), "GTO is not in the proposal");
    let staff = kabar::audit::Origin::of(kabar::audit::Actor::staff("Rahmat Hidayat"));
    site.other.decide_proposal(id, ProposalStatus::Dismissed, None, &staff, now).await.unwrap();
    site.until("/status/PLG", |page| !page.contains(notice)).await;
}

crate::http_tests!(
    an_open_proposal_shows_as_detected_and_being_confirmed,
    a_state_change_reaches_the_page_the_feeds_and_the_summaries,
    a_national_change_is_on_top_of_the_index_and_one_feed_entry,
    answers_are_cached_validated_compressed_and_guarded,
    the_language_follows_the_parameter_then_the_header,
    no_personal_data_in_any_public_answer,
);
