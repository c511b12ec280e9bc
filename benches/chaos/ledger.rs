//! What the database says against what the fake received: every planned message's end state,
//! and every copy the fake accepted matched to its message (Infobip carries kabar's id; a Twilio
//! copy is matched by the sid kabar recorded, or else by its number and text).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kabar::store::DatabaseUrl;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{PgPool, SqlitePool};

use crate::fake::{Outcome, Provider, Request};
use crate::procs::Fleet;
use crate::report::thousands;

/// A read-only look at the store the processes write, on either engine.
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub channel: Option<String>,
    pub status: String,
    pub failure_class: Option<String>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub channel_attempts: i64,
}

impl Db {
    pub async fn open(url: &DatabaseUrl) -> anyhow::Result<Db> {
        Ok(match url {
            DatabaseUrl::Sqlite(path) => {
                let options = SqliteConnectOptions::new().filename(path).read_only(true);
                Db::Sqlite(SqlitePool::connect_with(options).await?)
            }
            // Short waits: during a database outage a look fails quickly and is tried again.
            DatabaseUrl::Postgres(url) => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(2))
                    .connect_lazy(url.as_str())?,
            ),
        })
    }

    /// Messages with a channel that are not finished yet (queued, waiting for a retry, claimed).
    pub async fn unfinished(&self) -> Result<i64, sqlx::Error> {
        let sql = "SELECT COUNT(*) FROM messages WHERE channel IS NOT NULL
                   AND (status = 'queued' OR status = 'sending')";
        on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)
    }

    /// Messages claimed right now.
    pub async fn sending(&self) -> Result<i64, sqlx::Error> {
        let sql = "SELECT COUNT(*) FROM messages WHERE status = 'sending'";
        on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)
    }

    pub async fn rows(&self) -> Result<Vec<Row>, sqlx::Error> {
        let sql = "SELECT id, channel, status, failure_class, provider, provider_message_id,
                          CAST(channel_attempts AS BIGINT) AS channel_attempts
                   FROM messages ORDER BY id";
        on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// Waits until no message is left to send (or `limit` passes: false), restarting any process
    /// that exits meanwhile, as a supervisor would. A database error (an outage) only means:
    /// look again.
    pub async fn wait_finished(&self, fleet: &mut Fleet, limit: Duration) -> anyhow::Result<bool> {
        let started = Instant::now();
        // A progress monitor, not a synchronisation: nothing in the store signals "all done"
        // across processes on both engines.
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        while started.elapsed() < limit {
            tick.tick().await;
            fleet.revive().await?;
            if let Ok(0) = self.unfinished().await {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A copy the fake accepted that the database did not record: the message went out again later.
#[derive(Debug, Clone, Copy)]
pub struct Extra {
    pub tag: u32,
    pub at: Instant,
    /// When the copy the database recorded arrived.
    pub recorded_at: Instant,
}

/// The comparison.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Messages with a channel: what had to be sent.
    pub planned: usize,
    pub unreachable: usize,
    pub sent: usize,
    /// Failed messages by failure class.
    pub failed: BTreeMap<String, usize>,
    /// Planned messages not ended sent, delivered or failed with a class.
    pub lost: Vec<i64>,
    /// Copies the fake accepted.
    pub accepted: usize,
    /// Extra copies of messages recorded as sent.
    pub duplicates: Vec<Extra>,
    /// Copies of messages the database says were not sent (or of no message at all).
    pub unrecorded: usize,
    /// Messages recorded as sent of which the fake accepted no copy (with that id).
    pub phantom: Vec<i64>,
    /// Requests per message on one channel, the most (from the database).
    pub max_channel_attempts: i64,
    /// Requests for one number and text, the most (from the fake).
    pub max_requests: usize,
    pub by_outcome: BTreeMap<String, usize>,
}

impl Ledger {
    pub fn new(rows: &[Row], requests: &[Request]) -> Ledger {
        let mut ledger = Ledger::default();
        let by_id: HashMap<i64, usize> = rows.iter().enumerate().map(|(at, row)| (row.id, at)).collect();
        let by_sid: HashMap<(&str, &str), usize> = rows
            .iter()
            .enumerate()
            .filter_map(|(at, row)| {
                Some(((row.provider.as_deref()?, row.provider_message_id.as_deref()?), at))
            })
            .collect();
        let mut per_key: HashMap<u64, usize> = HashMap::new();
        for request in requests {
            *ledger.by_outcome.entry(format!("{:?}", request.outcome)).or_default() += 1;
            *per_key.entry(request.key).or_default() += 1;
        }
        ledger.max_requests = per_key.values().copied().max().unwrap_or(0);

        // Each accepted copy, matched to its message where the request or the record says which.
        let accepted: Vec<&Request> = requests.iter().filter(|request| request.outcome.accepted()).collect();
        ledger.accepted = accepted.len();
        let direct: Vec<Option<usize>> = accepted
            .iter()
            .map(|request| match (request.message_id, request.provider, &request.sid) {
                (Some(id), _, _) => by_id.get(&id).copied(),
                (None, Provider::Twilio, Some(sid)) => by_sid.get(&("twilio", sid.as_str())).copied(),
                _ => None,
            })
            .collect();
        let by_key: HashMap<u64, usize> =
            accepted.iter().zip(&direct).filter_map(|(request, at)| Some((request.key, (*at)?))).collect();
        let mut copies: Vec<Vec<&Request>> = vec![Vec::new(); rows.len()];
        for (request, at) in accepted.iter().zip(&direct) {
            match at.or_else(|| by_key.get(&request.key).copied()) {
                Some(at) => copies[at].push(request),
                None => ledger.unrecorded += 1,
            }
        }

        for (row, copies) in rows.iter().zip(&copies) {
            if row.channel.is_none() {
                ledger.unreachable += 1;
                continue;
            }
            ledger.planned += 1;
            ledger.max_channel_attempts = ledger.max_channel_attempts.max(row.channel_attempts);
            match (row.status.as_str(), &row.failure_class) {
                ("sent" | "delivered" | "read", _) => {
                    ledger.sent += 1;
                    let provider = row.provider.as_deref().unwrap_or_default();
                    let recorded = copies.iter().rposition(|copy| {
                        provider_name(copy.provider) == provider && copy.sid == row.provider_message_id
                    });
                    match recorded {
                        None => ledger.phantom.push(row.id),
                        Some(recorded) => {
                            let recorded_at = copies[recorded].at;
                            ledger.duplicates.extend(
                                copies
                                    .iter()
                                    .enumerate()
                                    .filter(|(at, _)| *at != recorded)
                                    .map(|(_, copy)| Extra { tag: copy.tag, at: copy.at, recorded_at }),
                            )
                        }
                    }
                }
                ("failed", Some(class)) => {
                    *ledger.failed.entry(class.clone()).or_default() += 1;
                    ledger.unrecorded += copies.len();
                }
                _ => {
                    ledger.lost.push(row.id);
                    ledger.unrecorded += copies.len();
                }
            }
        }
        ledger
    }

    /// Extra copies sent by each process life.
    pub fn duplicates_by_tag(&self) -> HashMap<u32, Vec<Extra>> {
        let mut by_tag: HashMap<u32, Vec<Extra>> = HashMap::new();
        for extra in &self.duplicates {
            by_tag.entry(extra.tag).or_default().push(*extra);
        }
        by_tag
    }

    /// Requests the fake answered with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.by_outcome.get(&format!("{outcome:?}")).copied().unwrap_or(0)
    }

    /// Whether what the database says agrees with what the fake received.
    pub fn agrees(&self) -> bool {
        self.phantom.is_empty() && self.unrecorded == 0 && self.count(Outcome::Refused) == 0
    }

    /// Why [`Ledger::agrees`] says what it says.
    pub fn disagreement(&self) -> String {
        format!(
            "{} recorded as sent but never received, {} received but not recorded as sent, {} refused as malformed",
            self.phantom.len(),
            self.unrecorded,
            self.count(Outcome::Refused)
        )
    }

    /// `sent 1,990, failed technical 10, unreachable 3`.
    pub fn states(&self) -> String {
        let count = |count: usize| thousands(count as u64);
        let mut parts = vec![format!("sent {}", count(self.sent))];
        parts.extend(self.failed.iter().map(|(class, n)| format!("failed {class} {}", count(*n))));
        parts.push(format!("no usable channel {}", count(self.unreachable)));
        parts.join(", ")
    }
}

pub fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Twilio => "twilio",
        Provider::Infobip => "infobip",
    }
}
