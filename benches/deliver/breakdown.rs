//! `--breakdown`: where a worker's time goes. The worker keeps no timings and perf is not
//! available, so this replays `Worker::step` phase by phase through the same public calls (claim,
//! message facts, notice context and render, provider send, record) with a stopwatch on each.
//! It covers only the path the benchmark takes (broadcast messages on SMS, every send accepted)
//! and panics on anything else rather than drift from the worker unnoticed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use kabar::deliver::{DeliveryConfig, Destination, Outgoing, Providers};
use kabar::domain::Channel;
use kabar::plan::notice::{About, NoticeConfig, Notices};
use kabar::render::{render, Catalogue};
use kabar::store::{Attempt, AttemptOutcome, BroadcastRecord, Store};
use serde::{Deserialize, Serialize};

/// Where the time of every step went, phase by phase, summed. The phases of a step run one after
/// the other, so their wall times add up to the run's time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Phases {
    pub steps: u64,
    pub messages: u64,
    /// `claim_messages`: the lease transaction.
    pub claim: Phase,
    /// `message_facts`: the applicant and bookings of each claimed message.
    pub facts: Phase,
    /// The notice context and the rendering of each message.
    pub render: Phase,
    /// The concurrent sends of a batch, until the last answer.
    pub send: Phase,
    /// `record_attempts`: the outcome transaction.
    pub record: Phase,
    /// Sum over requests of each request's own round trip (send waits for the slowest).
    pub request_seconds: f64,
}

/// One phase, in seconds: wall time; CPU time of all the process's threads (the database driver
/// works on threads of its own); and time they were ready to run but waited for a core, which
/// is what a machine shared with other work costs.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Phase {
    pub wall: f64,
    pub cpu: f64,
    pub waited: f64,
}

impl Phases {
    pub fn total(&self) -> f64 {
        self.all().iter().map(|(_, phase)| phase.wall).sum()
    }

    pub fn all(&self) -> [(&'static str, Phase); 5] {
        [
            ("claim", self.claim),
            ("facts", self.facts),
            ("render", self.render),
            ("send", self.send),
            ("record", self.record),
        ]
    }
}

/// A stopwatch on one phase.
struct Stopwatch {
    started: Instant,
    scheduler: (f64, f64),
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch { started: Instant::now(), scheduler: scheduler() }
    }

    fn add_to(self, phase: &mut Phase) {
        let (cpu, waited) = scheduler();
        phase.wall += self.started.elapsed().as_secs_f64();
        phase.cpu += cpu - self.scheduler.0;
        phase.waited += waited - self.scheduler.1;
    }
}

/// CPU time of every thread of this process, and time they spent runnable but not running, in
/// seconds (`/proc/self/task/*/schedstat`, in nanoseconds; Linux).
fn scheduler() -> (f64, f64) {
    let mut totals = (0.0, 0.0);
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else { continue };
        let mut fields = stat.split_whitespace().map(|value| value.parse::<f64>().unwrap_or(0.0) / 1e9);
        totals.0 += fields.next().unwrap_or(0.0);
        totals.1 += fields.next().unwrap_or(0.0);
    }
    totals
}

pub struct Replica {
    store: Store,
    providers: Arc<Providers>,
    catalogue: Catalogue,
    notices: NoticeConfig,
    batch_size: usize,
    concurrency: usize,
    lease: Duration,
    broadcasts: HashMap<i64, BroadcastRecord>,
}

impl Replica {
    pub fn new(store: Store, providers: Arc<Providers>, config: &DeliveryConfig) -> Replica {
        Replica {
            store,
            providers,
            catalogue: Catalogue::builtin(),
            notices: NoticeConfig::default(),
            batch_size: config.batch_size,
            concurrency: config.concurrency,
            lease: Duration::seconds(config.lease_seconds as i64),
            broadcasts: HashMap::new(),
        }
    }

    /// Steps until nothing is due at `now`, as `Worker::drain` does.
    pub async fn drain(&mut self, now: DateTime<Utc>) -> Phases {
        // The worker caches the office list for a minute: loading it is not a per-step cost.
        let directory = self.store.office_directory().await.expect("the offices");
        let mut phases = Phases::default();
        loop {
            let stopwatch = Stopwatch::start();
            let claims =
                self.store.claim_messages("bench", now, self.lease, self.batch_size).await.expect("claim");
            stopwatch.add_to(&mut phases.claim);
            if claims.is_empty() {
                return phases;
            }
            phases.steps += 1;
            phases.messages += claims.len() as u64;

            let stopwatch = Stopwatch::start();
            let ids: Vec<i64> = claims.iter().map(|claim| claim.id).collect();
            let facts = self.store.message_facts(&ids).await.expect("message facts");
            stopwatch.add_to(&mut phases.facts);

            let stopwatch = Stopwatch::start();
            let mut prepared = Vec::with_capacity(facts.len());
            for (claim, message) in claims.iter().zip(facts) {
                assert_eq!(claim.id, message.id);
                assert_eq!(message.channel, Some(Channel::Sms), "the benchmark plans SMS only");
                let id = message.broadcast_id.expect("the benchmark plans broadcasts only");
                if !self.broadcasts.contains_key(&id) {
                    let record = self.store.broadcast(id).await.expect("a broadcast").expect("it exists");
                    self.broadcasts.insert(id, record);
                }
                let notices = Notices { directory: &directory, config: &self.notices };
                let context = notices
                    .context(
                        &message.office,
                        message.kind,
                        &message.applicant,
                        &message.bookings,
                        About::Broadcast(&self.broadcasts[&id]),
                        None,
                    )
                    .expect("a notice context");
                let content = render(&self.catalogue, message.kind, Channel::Sms, message.language, &context)
                    .expect("the notice renders");
                let to = Destination::Phone(message.applicant.mobile.clone());
                prepared
                    .push((*claim, Outgoing { message_id: message.id, to, content, at: chrono::Utc::now() }));
            }
            stopwatch.add_to(&mut phases.render);

            let stopwatch = Stopwatch::start();
            let providers = &self.providers;
            let sent: Vec<(Attempt, f64)> = stream::iter(prepared)
                .map(|(claim, outgoing)| async move {
                    let (_, provider) = providers.pick(Channel::Sms).expect("the fake Twilio");
                    let request = Instant::now();
                    let accepted = provider.send(&outgoing).await.expect("the fake accepts every message");
                    let seconds = request.elapsed().as_secs_f64();
                    let attempt = Attempt {
                        claim,
                        channel: Channel::Sms,
                        provider: provider.name().to_owned(),
                        started_at: now,
                        duration_ms: (seconds * 1000.0) as i64,
                        outcome: AttemptOutcome::Accepted {
                            provider_message_id: accepted.provider_message_id,
                        },
                        response_code: Some(accepted.response_code),
                        error: None,
                    };
                    (attempt, seconds)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            stopwatch.add_to(&mut phases.send);
            phases.request_seconds += sent.iter().map(|(_, seconds)| seconds).sum::<f64>();

            let stopwatch = Stopwatch::start();
            let attempts: Vec<Attempt> = sent.into_iter().map(|(attempt, _)| attempt).collect();
            let held = self.store.record_attempts(&attempts, now).await.expect("record");
            assert_eq!(held.len(), attempts.len(), "every claim still holds");
            stopwatch.add_to(&mut phases.record);
        }
    }
}
