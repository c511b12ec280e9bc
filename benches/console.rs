//! Console benchmark: seeds 125 offices and N bookings (default 1,000,000), declares the national
//! printing outage and plans it (so every office has an open incident), then times the console's
//! pages over real HTTP on 127.0.0.1, signed in: the board of an officer (one office), the board
//! of a supervisor of `all` (125 offices), and the national view. Prints p50, p95 and max per
//! page (goal: p95 ≤ 50 ms on SQLite), and the incident page and call list of one office, and
//! writes the figures to `target/bench/console-<engine>-<bookings>.json`.
//!
//!     cargo bench --bench console
//!     cargo bench --bench console -- --bookings 20000 --requests 50   # a smoke run

mod common;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::{arg, peak_rss_mib, write_figures, BenchStore};
use kabar::audit::Origin;
use kabar::demo::{self, SeedSpec};
use kabar::http::api::ApiSettings;
use kabar::http::HttpState;
use kabar::plan::{plan_once, PlannerConfig};
use kabar::staff::accounts::{self, NewStaff};
use kabar::staff::Role;
use kabar::state::set_state;

const PASSWORD: &str = "kata sandi yang panjang";

async fn session(http: &reqwest::Client, base: &str, username: &str) -> String {
    let response = http
        .post(format!("{base}/console/login"))
        .header("origin", base)
        .form(&[("username", username), ("password", PASSWORD)])
        .send()
        .await
        .expect("log in");
    let cookie = response.headers()["set-cookie"].to_str().expect("a cookie").to_owned();
    cookie.split(';').next().expect("name=value").to_owned()
}

fn percentile(sorted: &[Duration], per_cent: usize) -> f64 {
    let index = (sorted.len() * per_cent).div_ceil(100).saturating_sub(1);
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let bookings: usize = arg("--bookings", 1_000_000);
    let requests: usize = arg("--requests", 200);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bench = BenchStore::open(dir.path()).await;
    let store = &bench.store;
    let started = Instant::now();
    let offices = demo::load_offices(store, Some(125), 11).await.expect("offices");
    let spec = SeedSpec::new(bookings, 11, NaiveDate::from_ymd_opt(2024, 6, 17).expect("a date"));
    let seeded = demo::seed_bookings(store, &spec, &offices, false).await.expect("seed");
    let now = chrono::Utc::now();
    let outage = common::national_printing_outage(now);
    set_state(store, &outage).await.expect("the outage");
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    plan_once(store, &config, now).await.expect("plan");
    let setup_seconds = started.elapsed().as_secs_f64();
    println!(
        "{}: {} bookings over {} offices seeded, national printing outage planned, in {:.1} s",
        bench.engine, seeded.bookings, seeded.offices, setup_seconds
    );
    let first =
        store.office_directory().await.expect("offices").offices().next().expect("an office").code.clone();
    for (username, role, scope) in
        [("officer", Role::Officer, first.to_string()), ("supervisor", Role::Supervisor, "all".to_owned())]
    {
        let new = NewStaff {
            username: username.parse().expect("a username"),
            display_name: None,
            role,
            scope: scope.parse().expect("a scope"),
        };
        accounts::add_staff(store, new, PASSWORD.into(), &Origin::cli(), now).await.expect("an account");
    }

    let listener = kabar::http::bind("127.0.0.1:0".parse().expect("an address")).await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let state = HttpState::new(store.clone(), kabar::observe::metrics::install())
        .with_api_settings(ApiSettings { planner: config, ..ApiSettings::default() });
    tokio::spawn(kabar::http::serve(listener, state, std::future::pending()));
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let officer = session(&http, &base, "officer").await;
    let supervisor = session(&http, &base, "supervisor").await;
    let incident = store.open_incident(&first).await.expect("incidents").expect("the office's incident");
    let incident_page = format!("/console/incidents/{incident}");
    let call_list = format!("/console/incidents/{incident}/call-list");
    let mut pages = Vec::new();
    for (page, path, cookie) in [
        ("incident, one office", incident_page.as_str(), &officer),
        ("call list, one office", call_list.as_str(), &officer),
        ("board, one office", "/console", &officer),
        ("board, 125 offices", "/console", &supervisor),
        ("national view", "/console/national", &supervisor),
        ("national view, filtered", "/console/national?service=printing&state=unavailable", &supervisor),
    ] {
        let mut times = Vec::with_capacity(requests);
        let mut bytes = 0;
        for _ in 0..requests {
            let started = Instant::now();
            let response = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie.as_str())
                .send()
                .await
                .expect("a page");
            assert_eq!(response.status(), 200, "{path}");
            bytes = response.bytes().await.expect("the page").len();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{}: GET {path} ({page}, {} KiB): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {requests} requests",
            bench.engine,
            bytes / 1024,
            percentile(&times, 50),
            percentile(&times, 95),
            percentile(&times, 100),
        );
        pages.push(serde_json::json!({
            "page": page,
            "path": path,
            "bytes": bytes,
            "p50_ms": percentile(&times, 50),
            "p95_ms": percentile(&times, 95),
            "max_ms": percentile(&times, 100),
        }));
    }
    let peak = peak_rss_mib();
    println!("{}: peak RSS {peak:.0} MiB", bench.engine);
    let figures = serde_json::json!({
        "engine": bench.engine,
        "bookings": seeded.bookings,
        "offices": seeded.offices,
        "setup_seconds": setup_seconds,
        "requests_per_page": requests,
        "pages": pages,
        "peak_rss_mib": peak,
    });
    let written = write_figures(&format!("console-{}-{bookings}", bench.engine.to_lowercase()), &figures);
    println!("figures: {}", written.display());
    bench.finish().await;
}
