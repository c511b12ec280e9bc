//! Choosing between SMS providers: weights, weights that follow errors, circuit breakers.
//!
//! Time is a base instant plus simulated seconds, and the router is seeded: hours of traffic
//! replay in milliseconds, the same on every run.

use std::time::{Duration, Instant};

use kabar::deliver::providers::failover::{Breaker, FailoverConfig, Member, Outcome, SmsRouter};
use kabar::deliver::{Accepted, SendFailure};

const TWILIO: usize = 0;
const INFOBIP: usize = 1;

fn router(weights: &[u32]) -> SmsRouter {
    let members =
        weights.iter().enumerate().map(|(index, &weight)| Member::new(format!("sms{index}"), weight));
    SmsRouter::with_seed(members.collect(), FailoverConfig::default(), 7).expect("a valid router")
}

/// A clock that moves a little with every message.
struct Clock {
    base: Instant,
    millis: u64,
}

impl Clock {
    fn new() -> Self {
        Self { base: Instant::now(), millis: 0 }
    }

    fn tick(&mut self) -> Instant {
        self.millis += 100;
        self.now()
    }

    fn now(&self) -> Instant {
        self.base + Duration::from_millis(self.millis)
    }

    fn advance(&mut self, seconds: u64) -> Instant {
        self.millis += seconds * 1000;
        self.now()
    }
}

/// Sends `count` messages, each failing when `fails(provider, n)` says so (n counts that
/// provider's sends), and returns how many each provider got.
fn traffic(
    router: &SmsRouter,
    clock: &mut Clock,
    count: usize,
    fails: impl Fn(usize, usize) -> bool,
) -> Vec<usize> {
    let mut chosen = vec![0; router.health(clock.now()).len()];
    for _ in 0..count {
        let now = clock.tick();
        let index = router.choose(now);
        let outcome = if fails(index, chosen[index]) { Outcome::Failure } else { Outcome::Success };
        chosen[index] += 1;
        router.record(index, outcome, now);
    }
    chosen
}

fn share(chosen: &[usize], index: usize) -> f64 {
    chosen[index] as f64 / chosen.iter().sum::<usize>() as f64
}

#[test]
fn traffic_follows_the_configured_weights() {
    let mut clock = Clock::new();
    let chosen = traffic(&router(&[60, 40]), &mut clock, 10_000, |_, _| false);
    assert!((share(&chosen, TWILIO) - 0.6).abs() < 0.02, "{chosen:?}");

    let chosen = traffic(&router(&[50, 30, 20]), &mut clock, 10_000, |_, _| false);
    for (index, expected) in [0.5, 0.3, 0.2].into_iter().enumerate() {
        assert!((share(&chosen, index) - expected).abs() < 0.02, "{chosen:?}");
    }
}

#[test]
fn a_failing_provider_loses_traffic_and_wins_it_back_when_it_recovers() {
    let router = router(&[60, 40]);
    let mut clock = Clock::new();
    // Four failures in five, never five in a row: the breaker stays closed, only the weight moves.
    let flaky = |index: usize, n: usize| index == TWILIO && n % 5 != 4;

    traffic(&router, &mut clock, 1_000, flaky);
    let chosen = traffic(&router, &mut clock, 2_000, flaky);

    let health = router.health(clock.now());
    assert_eq!(health[TWILIO].breaker, Breaker::Closed);
    assert!((health[TWILIO].error_rate - 0.8).abs() < 0.1, "{health:?}");
    assert!(health[TWILIO].effective_weight < 20.0, "{health:?}");
    assert_eq!(health[INFOBIP].effective_weight, 40.0);
    // 60 × 0.2 against 40: about a quarter of the traffic instead of 60%.
    assert!(share(&chosen, TWILIO) < 0.35, "{chosen:?}");

    traffic(&router, &mut clock, 1_000, |_, _| false);
    let chosen = traffic(&router, &mut clock, 5_000, |_, _| false);
    assert_eq!(router.health(clock.now())[TWILIO].effective_weight, 60.0);
    assert!((share(&chosen, TWILIO) - 0.6).abs() < 0.03, "{chosen:?}");
}

#[test]
fn old_failures_are_forgotten() {
    let router = router(&[60, 40]);
    let mut clock = Clock::new();
    for _ in 0..4 {
        router.record(TWILIO, Outcome::Failure, clock.tick());
    }
    assert!(router.health(clock.now())[TWILIO].effective_weight < 60.0);

    let later = clock.advance(FailoverConfig::default().window_seconds + 1);

    let health = router.health(later);
    assert_eq!((health[TWILIO].error_rate, health[TWILIO].effective_weight), (0.0, 60.0));
}

#[test]
fn the_breaker_opens_half_opens_and_closes() {
    let router = router(&[60, 40]);
    let mut clock = Clock::new();
    let cooldown = FailoverConfig::default().breaker_cooldown_seconds;

    for _ in 0..5 {
        router.record(TWILIO, Outcome::Failure, clock.tick());
    }
    assert_eq!(router.health(clock.now())[TWILIO].breaker, Breaker::Open);
    for _ in 0..500 {
        assert_eq!(router.choose(clock.tick()), INFOBIP, "an open breaker keeps its provider out");
    }

    // After the cool-down: exactly one trial message, then nothing until its outcome is known.
    let now = clock.advance(cooldown);
    assert_eq!(router.health(now)[TWILIO].breaker, Breaker::HalfOpen);
    assert_eq!(router.choose(now), TWILIO, "the trial");
    for _ in 0..200 {
        assert_eq!(router.choose(clock.tick()), INFOBIP, "one trial at a time");
    }

    // A failed trial opens it again for a whole cool-down.
    router.record(TWILIO, Outcome::Failure, clock.tick());
    assert_eq!(router.health(clock.now())[TWILIO].breaker, Breaker::Open);
    clock.advance(cooldown - 1);
    assert_eq!(router.choose(clock.now()), INFOBIP);

    // A successful trial closes it, and the provider is back in rotation.
    let now = clock.advance(1);
    assert_eq!(router.choose(now), TWILIO, "the second trial");
    router.record(TWILIO, Outcome::Success, clock.tick());
    assert_eq!(router.health(clock.now())[TWILIO].breaker, Breaker::Closed);
    let chosen = traffic(&router, &mut clock, 1_000, |_, _| false);
    assert!(chosen[TWILIO] > 200, "{chosen:?}");
}

#[test]
fn a_trial_whose_outcome_never_comes_is_handed_out_again() {
    let router = router(&[60, 40]);
    let mut clock = Clock::new();
    let cooldown = FailoverConfig::default().breaker_cooldown_seconds;
    for _ in 0..5 {
        router.record(TWILIO, Outcome::Failure, clock.tick());
    }

    assert_eq!(router.choose(clock.advance(cooldown)), TWILIO);
    assert_eq!(router.choose(clock.advance(cooldown - 1)), INFOBIP);
    assert_eq!(router.choose(clock.advance(1)), TWILIO, "the lost trial is offered again");
}

#[test]
fn with_every_breaker_open_the_first_opened_is_still_chosen() {
    let router = router(&[60, 40]);
    let mut clock = Clock::new();
    for _ in 0..5 {
        router.record(INFOBIP, Outcome::Failure, clock.tick());
    }
    for _ in 0..5 {
        router.record(TWILIO, Outcome::Failure, clock.tick());
    }
    assert!(router.health(clock.now()).iter().all(|member| member.breaker == Breaker::Open));

    for _ in 0..100 {
        assert_eq!(router.choose(clock.tick()), INFOBIP, "sending never stops");
    }
}

#[test]
fn a_standby_provider_is_used_only_when_the_others_are_out() {
    let router = router(&[100, 0]);
    let mut clock = Clock::new();
    let chosen = traffic(&router, &mut clock, 1_000, |_, _| false);
    assert_eq!(chosen, [1_000, 0]);

    for _ in 0..5 {
        router.record(TWILIO, Outcome::Failure, clock.tick());
    }
    let chosen = traffic(&router, &mut clock, 100, |_, _| false);
    assert_eq!(chosen, [0, 100]);
}

#[test]
fn only_transient_and_technical_failures_count_against_a_provider() {
    let accepted: Result<Accepted, SendFailure> =
        Ok(Accepted { provider_message_id: "SM1".into(), response_code: "201".into() });
    assert_eq!(Outcome::of(&accepted), Outcome::Success);
    assert_eq!(
        Outcome::of(&Err(SendFailure::permanent(Some("21211".into()), "invalid To"))),
        Outcome::Success
    );
    assert_eq!(Outcome::of(&Err(SendFailure::transient(None, "timed out", None))), Outcome::Failure);
    assert_eq!(Outcome::of(&Err(SendFailure::technical(Some("20003".into()), "auth"))), Outcome::Failure);
}

#[test]
fn the_configuration_has_defaults_and_is_checked() {
    let config: FailoverConfig = toml::from_str("weight_floor = 0.2").unwrap();
    assert_eq!(config, FailoverConfig { weight_floor: 0.2, ..FailoverConfig::default() });

    for bad in [
        FailoverConfig { weight_floor: 1.5, ..FailoverConfig::default() },
        FailoverConfig { window: 0, ..FailoverConfig::default() },
        FailoverConfig { breaker_failures: 0, ..FailoverConfig::default() },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
        assert!(SmsRouter::new(vec![Member::new("twilio", 1)], bad).is_err());
    }
    assert!(SmsRouter::new(vec![Member::new("twilio", 0)], FailoverConfig::default()).is_err());
    assert!(SmsRouter::new(Vec::new(), FailoverConfig::default()).is_err());
}
