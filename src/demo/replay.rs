//! The newcomer's first run: the June 2024 outage replayed on demo data, step by step on a
//! simulated clock, every message delivered through the `log` provider.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::deliver::providers::log::LogConfig;
use crate::deliver::{DeliveryConfig, Providers, StepReport, Worker};
use crate::domain::{Service, ServiceState};
use crate::plan::broadcast::{self, BroadcastContent, BroadcastFilter, BroadcastRequest};
use crate::plan::notice::{NoticeConfig, StoredPickup};
use crate::plan::{plan_once, PlannerConfig};
use crate::receipts::ReceiptsConfig;
use crate::render::{Catalogue, NoticeKind};
use crate::state::{set_state, StateChange, Target};
use crate::store::{MessageCount, Store};

/// One moment of the outage: what staff changed, in words and as state changes.
pub struct ReplayStep {
    pub at: DateTime<Utc>,
    pub what: &'static str,
    pub changes: Vec<(Target, Service, ServiceState)>,
    /// Tangerang's weekend pickup broadcast.
    pub broadcast: bool,
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("a valid instant").with_timezone(&Utc)
}

/// The outage as it happened (DOMAIN.md), from the morning of 2024-06-20 to 2024-07-01.
pub fn june_2024() -> Vec<ReplayStep> {
    use Service::*;
    use ServiceState::*;
    let office = |code: &str| Target::Offices(vec![code.parse().expect("a scenario office")]);
    vec![
        ReplayStep {
            at: at("2024-06-20T10:00:00+07:00"),
            what: "Thu 20 Jun 10:00 WIB: the national data centre fails; printing and express stop everywhere",
            changes: vec![(Target::All, Printing, Unavailable), (Target::All, Express, Unavailable)],
            broadcast: false,
        },
        ReplayStep {
            at: at("2024-06-24T17:30:00+07:00"),
            what: "Mon 24 Jun 17:30 WIB: the evening update to everyone booked for Tuesday",
            changes: vec![],
            broadcast: false,
        },
        ReplayStep {
            at: at("2024-06-25T09:00:00+08:00"),
            what: "Tue 25 Jun 09:00 WITA: Nunukan stops pickup; Gorontalo prints regular passports again, e-passports still down",
            changes: vec![
                (office("NNK"), Pickup, Unavailable),
                (office("GTO"), Epassport, Unavailable),
                (office("GTO"), Printing, Operational),
            ],
            broadcast: false,
        },
        ReplayStep {
            at: at("2024-06-27T08:00:00+07:00"),
            what: "Thu 27 Jun 08:00 WIB: printing is back everywhere; Gorontalo issues e-passports again, Nunukan hands out passports",
            changes: vec![
                (Target::All, Printing, Operational),
                (office("GTO"), Epassport, Operational),
                (office("NNK"), Pickup, Operational),
            ],
            broadcast: false,
        },
        ReplayStep {
            at: at("2024-06-28T10:00:00+07:00"),
            what: "Fri 28 Jun 10:00 WIB: Tangerang opens pickup on the weekend for its printed backlog (a staff broadcast)",
            changes: vec![],
            broadcast: true,
        },
        ReplayStep {
            at: at("2024-07-01T08:00:00+07:00"),
            what: "Mon 1 Jul 08:00 WIB: express (same-day) passports are back",
            changes: vec![(Target::All, Express, Operational)],
            broadcast: false,
        },
    ]
}

/// Why the replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Broadcast(#[from] broadcast::BroadcastError),
    #[error(transparent)]
    Provider(#[from] crate::deliver::providers::ProviderError),
    #[error(transparent)]
    Worker(#[from] crate::deliver::WorkerError),
}

/// What the replay did.
#[derive(Debug, Clone, Serialize)]
pub struct ReplaySummary {
    /// Applicants in the database.
    pub applicants: u64,
    /// Applicants who got at least one message.
    pub reached: u64,
    pub delivered: StepReport,
    /// By kind, channel and status.
    pub messages: Vec<MessageCount>,
}

/// Replays `steps` on a store holding the demo offices and bookings, delivering through a log
/// file; `progress` is told each step and how many messages it delivered.
pub async fn replay(
    store: &Store,
    steps: &[ReplayStep],
    log_path: &std::path::Path,
    mut progress: impl FnMut(&ReplayStep, &StepReport),
) -> Result<ReplaySummary, ReplayError> {
    let planner = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let delivery = DeliveryConfig {
        log: Some(LogConfig { path: log_path.to_owned() }),
        concurrency: 256,
        ..DeliveryConfig::default()
    };
    // Emails carry an unsubscribe link; the demo's key is made up on the spot.
    let key: String = {
        use rand::Rng;
        rand::thread_rng().sample_iter(rand::distributions::Alphanumeric).take(48).map(char::from).collect()
    };
    let mut receipts = ReceiptsConfig::new("http://127.0.0.1:8080".parse().expect("a valid URL"));
    receipts.unsubscribe_key = Some(key.into());
    let worker = Worker::new(
        store.clone(),
        Arc::new(Providers::from_config(&delivery)?),
        Arc::new(Catalogue::builtin()),
        NoticeConfig::default(),
        planner.channels.clone(),
        delivery,
        Some(Arc::new(receipts)),
    )
    .await?;
    let mut total = StepReport::default();
    for step in steps {
        for (target, service, state) in &step.changes {
            let change = StateChange {
                target: target.clone(),
                service: *service,
                state: *state,
                reason: (*state != ServiceState::Operational)
                    .then(|| "Gangguan Pusat Data Nasional (PDN)".into()),
                until: None,
                actor: "demo".into(),
                at: step.at,
            };
            set_state(store, &change).await?;
        }
        if step.broadcast {
            broadcast::create(store, &planner, &tangerang_weekend(), step.at).await?;
        }
        plan_once(store, &planner, step.at).await?;
        broadcast::plan_due(store, &planner, step.at).await?;
        let delivered = worker.drain(step.at).await?;
        progress(step, &delivered);
        for (sum, add) in [
            (&mut total.claimed, delivered.claimed),
            (&mut total.sent, delivered.sent),
            (&mut total.retried, delivered.retried),
            (&mut total.fell_back, delivered.fell_back),
            (&mut total.failed, delivered.failed),
        ] {
            *sum += add;
        }
    }
    Ok(ReplaySummary {
        applicants: store.count_applicants().await?,
        reached: store.count_applicants_reached().await?,
        delivered: total,
        messages: store.message_counts().await?,
    })
}

fn tangerang_weekend() -> BroadcastRequest {
    BroadcastRequest {
        title: "Pengambilan paspor akhir pekan".into(),
        filter: BroadcastFilter {
            offices: "TNG".into(),
            stages: vec![crate::domain::Stage::Ready],
            ..BroadcastFilter::default()
        },
        content: BroadcastContent::Template {
            kind: NoticeKind::ReadyForPickup,
            pickup: Some(StoredPickup {
                hours_id: "Senin-Jumat 08.00-15.00 WIB".into(),
                hours_en: Some("Monday to Friday 08:00-15:00 WIB".into()),
                extra_id: Some("Sabtu-Minggu 29-30 Juni 08.00-12.00 WIB".into()),
                extra_en: Some("Saturday-Sunday 29-30 June 08:00-12:00 WIB".into()),
            }),
        },
        channels: None,
        send_at: None,
        actor: "demo".into(),
    }
}
