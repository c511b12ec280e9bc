//! An account's rate limit holds at the provider's door, with many sends waiting at once.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kabar::deliver::providers::http::http_client;
use kabar::deliver::providers::twilio::Twilio;

use crate::fakes::twilio::FakeTwilio;
use crate::support::*;

const RATE: u32 = 40;
const SENDS: usize = 120;

/// How much earlier than its due time a request may arrive at the fake: the limiter releases
/// sends on time, but a loaded two-core machine delays some of them on the way (a late first
/// request of a window makes the window look short). One emission interval is far smaller than
/// what a broken limiter produces: a burst puts dozens of requests in a few milliseconds.
const JITTER: Duration = Duration::from_millis(1000 / RATE as u64);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_second_holds_more_than_the_configured_rate() {
    let fake = FakeTwilio::start().await;
    let mut config = fake.config();
    config.rate_per_second = NonZeroU32::new(RATE);
    let twilio = Arc::new(Twilio::new(&config, http_client()).unwrap());

    // Built first: the first number parsed loads libphonenumber's metadata, which takes a while.
    let messages: Vec<_> = (0..SENDS).map(|n| sms(n as i64, n as u32)).collect();
    let started = Instant::now();
    let mut sends = tokio::task::JoinSet::new();
    for message in messages {
        let twilio = twilio.clone();
        sends.spawn(async move { twilio.send(&message).await });
    }
    let results = sends.join_all().await;
    let elapsed = started.elapsed();

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut arrivals: Vec<Instant> = fake.requests().iter().map(|request| request.at).collect();
    assert_eq!(arrivals.len(), SENDS);
    arrivals.sort();
    // At most RATE requests in any one-second window: request i + RATE comes a second after i.
    let window = arrivals.windows(RATE as usize + 1).map(|w| w[RATE as usize] - w[0]).min().unwrap();
    assert!(window >= Duration::from_secs(1) - JITTER, "{} requests within {window:?}", RATE + 1);
    let least = Duration::from_secs_f64(SENDS as f64 / f64::from(RATE) - 1.0);
    assert!(elapsed >= least, "{SENDS} sends at {RATE}/s took {elapsed:?}");
}
