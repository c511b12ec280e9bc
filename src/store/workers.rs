//! The worker registry. Every delivery worker registers with an id (`host:pid:random`), beats a
//! heartbeat while it runs and marks itself stopped when it ends. Its claims carry its id, which
//! lets it renew their leases while it still works on them, lets a worker that starts on the same
//! host take over the claims of a predecessor whose process is gone (no waiting for the lease),
//! and lets the workers of one database divide each provider account's rate among the live ones.

use chrono::{DateTime, Utc};

use super::{epoch, on_reader, on_writer, Store, StoreError, WritePool};

/// A running worker, as the registry shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRow {
    pub id: String,
    pub host: String,
    pub pid: i64,
    /// The rate-limited provider accounts it sends through.
    pub accounts: Vec<String>,
    pub started_at_ms: i64,
    pub heartbeat_at_ms: i64,
    /// It has messages in hand: the accounts' rates are divided among the busy workers.
    pub busy: bool,
    /// The share of each account's rate it may use now (an account missing: none).
    pub shares: Vec<(String, u32)>,
    /// When a share it shows last shrank (epoch ms; 0 never): the sends of a larger share all
    /// came before.
    pub shrunk_at_ms: i64,
    /// When it stopped, for a worker stopped within the time asked for.
    pub stopped_at_ms: Option<i64>,
}

impl WorkerRow {
    /// The share of `account` it may use now.
    pub fn share(&self, account: &str) -> u32 {
        self.shares.iter().find(|(name, _)| name == account).map_or(0, |(_, share)| *share)
    }
}

/// Who a worker is: unique per process start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerIdentity {
    pub id: String,
    pub host: String,
    pub pid: i64,
    /// When the process started, in clock ticks since boot (0 where the system does not say):
    /// tells a reused pid from the process that registered with it.
    pub process_start: i64,
}

impl WorkerIdentity {
    /// This process, with a random suffix (a process may run several workers, and a pid is
    /// reused after a restart).
    pub fn of_this_process() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|host| host.trim().to_owned())
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let pid = i64::from(std::process::id());
        let id = format!("{host}:{pid}:{:08x}", rand::random::<u32>());
        WorkerIdentity { id, host, pid, process_start: process_start("self").unwrap_or(0) }
    }
}

/// When process `pid` started (field 22 of `/proc/PID/stat`), if the system says.
fn process_start(pid: &str) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the worker that registered as process `pid`, started at `started` (0: unknown), may
/// still run on this host. Only a certain "no" counts: the process is gone, or its pid now
/// belongs to a process that started at another time. Without `/proc`, every worker may be alive.
pub fn process_may_be_alive(pid: i64, started: i64) -> bool {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return true;
    }
    match process_start(&pid.to_string()) {
        None => false,
        Some(now_started) => started == 0 || now_started == started,
    }
}

impl Store {
    /// Adds a worker to the registry.
    pub async fn register_worker(
        &self,
        me: &WorkerIdentity,
        accounts: &[String],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO workers (id, host, pid, process_start, accounts, started_at_ms, heartbeat_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&me.id)
            .bind(&me.host)
            .bind(me.pid)
            .bind(me.process_start)
            .bind(accounts.join(" "))
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The rate-limited provider accounts the worker sends through: it takes a share of each.
    pub async fn set_worker_accounts(&self, id: &str, accounts: &[String]) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            sqlx::query("UPDATE workers SET accounts = $2 WHERE id = $1")
                .bind(id)
                .bind(accounts.join(" "))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Whether the worker has messages in hand (see [`WorkerRow::busy`]).
    pub async fn set_worker_busy(&self, id: &str, busy: bool) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            sqlx::query("UPDATE workers SET busy = $2 WHERE id = $1")
                .bind(id)
                .bind(i64::from(busy))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The share of each account's rate the worker may use from now (see [`WorkerRow::shares`]).
    /// `shrunk_at_ms`: when one of them shrank, if one did.
    pub async fn set_worker_shares(
        &self,
        id: &str,
        shares: &[(String, u32)],
        shrunk_at_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let text: Vec<String> = shares.iter().map(|(account, share)| format!("{account}={share}")).collect();
        on_writer!(self, pool => {
            sqlx::query("UPDATE workers SET shares = $2, shrunk_at_ms = COALESCE($3, shrunk_at_ms) WHERE id = $1")
                .bind(id)
                .bind(text.join(" "))
                .bind(shrunk_at_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Records that the worker is alive; forgets workers stopped or silent for a day.
    pub async fn worker_heartbeat(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        const DAY_MS: i64 = 86_400_000;
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE workers SET heartbeat_at_ms = $2 WHERE id = $1")
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM workers WHERE heartbeat_at_ms < $1")
                .bind(now_ms - DAY_MS)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks the worker stopped: it no longer takes a share of any rate.
    pub async fn stop_worker(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        on_writer!(self, pool => {
            sqlx::query("UPDATE workers SET stopped_at_ms = $2 WHERE id = $1")
                .bind(id)
                .bind(now_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Extends the lease of every message the worker still holds to `until`; returns how many.
    /// A claim taken over by another worker names that worker, so it is not renewed.
    pub async fn renew_leases(&self, id: &str, until: DateTime<Utc>) -> Result<u64, StoreError> {
        let renewed = on_writer!(self, pool => {
            sqlx::query("UPDATE messages SET not_before = $2 WHERE claimed_by = $1 AND status = 'sending'")
                .bind(id)
                .bind(epoch(until))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(renewed)
    }

    /// The claims held in the worker's name: messages it is sending.
    pub async fn claims_of(&self, id: &str) -> Result<Vec<super::Claim>, StoreError> {
        let rows: Vec<(i64, i64, i64, i64)> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT id, CAST(attempts AS BIGINT), created_at, channel_attempts FROM messages
                 WHERE claimed_by = $1 AND status = 'sending'",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, attempt, created_at, channel_attempt)| {
                Ok(super::Claim { id, attempt, created_at: super::from_epoch(created_at)?, channel_attempt })
            })
            .collect()
    }

    /// The workers not stopped whose heartbeat is at or after `since_ms`, by id.
    /// With `stopped_since_ms`, also the workers stopped since then (with `stopped_at_ms`).
    pub async fn live_workers(
        &self,
        since_ms: i64,
        stopped_since_ms: Option<i64>,
    ) -> Result<Vec<WorkerRow>, StoreError> {
        type Row = (String, String, i64, String, i64, i64, i64, String, i64, Option<i64>);
        let rows: Vec<Row> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT id, host, pid, accounts, started_at_ms, heartbeat_at_ms, busy, shares, shrunk_at_ms,
                        stopped_at_ms
                 FROM workers
                 WHERE heartbeat_at_ms >= $1 AND (stopped_at_ms IS NULL OR stopped_at_ms >= $2)
                 ORDER BY id",
            )
            .bind(since_ms)
            .bind(stopped_since_ms.unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    host,
                    pid,
                    accounts,
                    started_at_ms,
                    heartbeat_at_ms,
                    busy,
                    shares,
                    shrunk_at_ms,
                    stopped_at_ms,
                )| WorkerRow {
                    id,
                    host,
                    pid,
                    accounts: accounts.split_whitespace().map(str::to_owned).collect(),
                    started_at_ms,
                    heartbeat_at_ms,
                    busy: busy != 0,
                    shares: shares
                        .split_whitespace()
                        .filter_map(|entry| {
                            let (account, share) = entry.rsplit_once('=')?;
                            Some((account.to_owned(), share.parse().ok()?))
                        })
                        .collect(),
                    shrunk_at_ms,
                    stopped_at_ms,
                },
            )
            .collect())
    }

    /// Takes over the claims of this host's workers whose process is gone (`may_be_alive` says
    /// no): they are marked stopped and their messages fall due at `now`, to be claimed again
    /// (the claim fence keeps a late outcome of theirs from counting). Returns how many messages.
    pub async fn take_over_dead_workers(
        &self,
        me: &WorkerIdentity,
        may_be_alive: impl Fn(i64, i64) -> bool,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let candidates: Vec<(String, i64, i64)> = on_reader!(self, pool => {
            sqlx::query_as(
                "SELECT id, pid, process_start FROM workers
                 WHERE host = $1 AND stopped_at_ms IS NULL AND id <> $2",
            )
                .bind(&me.host)
                .bind(&me.id)
                .fetch_all(pool)
                .await?
        });
        let mut taken = 0;
        for (dead, ..) in candidates.into_iter().filter(|(_, pid, started)| !may_be_alive(*pid, *started)) {
            let moved = on_writer!(self, pool => {
                let mut tx = pool.begin_write().await?;
                sqlx::query("UPDATE workers SET stopped_at_ms = $2 WHERE id = $1 AND stopped_at_ms IS NULL")
                    .bind(&dead)
                    .bind(now.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                let moved = sqlx::query(
                    "UPDATE messages SET not_before = CASE WHEN not_before > $2 THEN $2 ELSE not_before END
                     WHERE claimed_by = $1 AND status = 'sending'",
                )
                .bind(&dead)
                .bind(epoch(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                moved
            });
            tracing::info!(worker = %dead, messages = moved, "took over the claims of a worker that is gone");
            taken += moved;
        }
        Ok(taken)
    }
}
