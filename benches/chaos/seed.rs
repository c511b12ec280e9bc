//! Filling the outbox: demo bookings around today, then one staff-text broadcast to every office
//! (one SMS per applicant and office), planned at the real time with quiet hours off, so the
//! `kabar` processes find every message due at once whatever the hour of the run.

use std::time::Instant;

use chrono::{NaiveTime, Utc};
use kabar::demo::{self, SeedSpec};
use kabar::domain::Channel;
use kabar::plan::broadcast::{self, BroadcastContent, BroadcastFilter, BroadcastRequest};
use kabar::plan::{PlannerConfig, QuietHours};
use kabar::render::Localized;
use kabar::store::{DatabaseUrl, Store};

/// Messages a broadcast to every office gives per booking of the demo data (one per applicant and
/// office; some applicants hold several bookings): measured 0.82 by the delivery benchmark.
const MESSAGES_PER_BOOKING: f64 = 0.82;

/// What was queued.
pub struct Queued {
    /// Messages with a channel: what the processes must deliver.
    pub messages: u64,
    /// Applicants with no usable channel (on the call list, never sent).
    pub unreachable: u64,
    pub bookings: u64,
    pub seconds: f64,
}

/// The planner as the harness runs it, in this process and in the `kabar` processes: no settle
/// time, no quiet hours, SMS only.
pub fn planner() -> PlannerConfig {
    PlannerConfig {
        settle_seconds: 0,
        quiet_hours: QuietHours { start: NaiveTime::MIN, end: NaiveTime::MIN },
        channels: vec![Channel::Sms],
        ..PlannerConfig::default()
    }
}

/// Seeds about `messages` SMS into the store at `url` (migrating it first).
pub async fn fill(url: &DatabaseUrl, messages: u64, seed: u64) -> anyhow::Result<Queued> {
    let started = Instant::now();
    let store = Store::open(url).await?;
    let offices = demo::load_offices(&store, Some(150), seed).await?;
    let bookings = ((messages as f64 / MESSAGES_PER_BOOKING).ceil() as usize).max(10);
    let spec = SeedSpec::new(bookings, seed, Utc::now().date_naive());
    let seeded = demo::seed_bookings(&store, &spec, &offices, false).await?;
    let planner = planner();
    let now = Utc::now();
    let request = BroadcastRequest {
        title: "Chaos harness".into(),
        filter: BroadcastFilter { offices: "all".into(), ..BroadcastFilter::default() },
        content: BroadcastContent::Text {
            text: Localized::new(
                "Pengumuman: layanan paspor tetap buka seperti biasa.",
                "Notice: passport services stay open as usual.",
            ),
            sender: None,
        },
        channels: Some(vec![Channel::Sms]),
        send_at: None,
        actor: "chaos".into(),
    };
    broadcast::create(&store, &planner, &request, now).await?;
    let planned = broadcast::plan_due(&store, &planner, now).await?;
    store.close().await;
    Ok(Queued {
        messages: planned.iter().map(|done| done.counts.messages).sum(),
        unreachable: planned.iter().map(|done| done.counts.unreachable).sum(),
        bookings: seeded.bookings,
        seconds: started.elapsed().as_secs_f64(),
    })
}
