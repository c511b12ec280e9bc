//! Filling the outbox: demo bookings, then staff-text broadcasts to every office, each giving one
//! SMS per applicant and office, until about the number of messages asked for is queued.

use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use kabar::demo::{self, SeedSpec};
use kabar::domain::Channel;
use kabar::plan::broadcast::{self, BroadcastContent, BroadcastFilter, BroadcastRequest};
use kabar::plan::PlannerConfig;
use kabar::render::Localized;
use kabar::store::Store;

/// Messages one broadcast to every office gives at most: a million takes four broadcasts over
/// ~310,000 bookings, which seed in a fraction of the time a million bookings would.
const PER_BROADCAST: u64 = 250_000;

/// Messages a broadcast to every office gives per booking of the demo data (one per applicant and
/// office; some applicants hold several bookings): measured 0.82, rounded down so the last
/// broadcast tops up a little rather than adding a whole broadcast.
const MESSAGES_PER_BOOKING: f64 = 0.8;

/// What was queued, and how long it took.
pub struct Queued {
    pub messages: u64,
    pub unreachable: u64,
    pub bookings: u64,
    pub applicants: u64,
    pub offices: usize,
    pub broadcasts: usize,
    pub seed_seconds: f64,
    pub plan_seconds: f64,
}

/// The planner as the benchmark runs it: no settle time, every message on SMS.
pub fn planner() -> PlannerConfig {
    PlannerConfig { settle_seconds: 0, channels: vec![Channel::Sms], ..PlannerConfig::default() }
}

/// Seeds bookings around 17 June 2024 over `offices` offices and plans broadcasts at `now` until
/// at least `messages` are queued (the last broadcast may overshoot by a few per cent).
pub async fn fill(store: &Store, messages: u64, offices: usize, now: DateTime<Utc>) -> Queued {
    let broadcasts = messages.div_ceil(PER_BROADCAST).max(1);
    let bookings = ((messages / broadcasts) as f64 / MESSAGES_PER_BOOKING).ceil() as usize;
    let started = Instant::now();
    let seed_offices = demo::load_offices(store, Some(offices), 11).await.expect("offices");
    let today = NaiveDate::from_ymd_opt(2024, 6, 17).expect("a date");
    let seeded = demo::seed_bookings(store, &SeedSpec::new(bookings, 11, today), &seed_offices, false)
        .await
        .expect("seed");
    let seed_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let planner = planner();
    let mut queued = Queued {
        messages: 0,
        unreachable: 0,
        bookings: seeded.bookings,
        applicants: seeded.applicants,
        offices: seeded.offices,
        broadcasts: 0,
        seed_seconds,
        plan_seconds: 0.0,
    };
    while queued.messages < messages {
        queued.broadcasts += 1;
        broadcast::create(store, &planner, &request(queued.broadcasts), now).await.expect("a broadcast");
        let planned = broadcast::plan_due(store, &planner, now).await.expect("plan the broadcast");
        let added: u64 = planned.iter().map(|done| done.counts.messages).sum();
        assert!(added > 0, "a broadcast to every office planned no message");
        queued.messages += added;
        queued.unreachable += planned.iter().map(|done| done.counts.unreachable).sum::<u64>();
    }
    queued.plan_seconds = started.elapsed().as_secs_f64();
    queued
}

/// The `number`-th staff-text broadcast: every office, every open booking, SMS only.
fn request(number: usize) -> BroadcastRequest {
    BroadcastRequest {
        title: format!("Pengumuman {number}"),
        filter: BroadcastFilter { offices: "all".into(), ..BroadcastFilter::default() },
        content: BroadcastContent::Text {
            text: Localized::new(
                format!("Pengumuman {number}: layanan paspor tetap buka seperti biasa."),
                format!("Notice {number}: passport services stay open as usual."),
            ),
            sender: Some("Kantor Imigrasi".into()),
        },
        channels: Some(vec![Channel::Sms]),
        send_at: None,
        actor: "bench".into(),
    }
}
