//! The shared change signal: how one process learns that another changed what it shows or acts
//! on, without querying the data itself.
//!
//! Each topic has a counter in `change_signal`, bumped by database triggers in the transaction of
//! the write itself, so no writer can forget it and a `kabar state set` in another process counts
//! too. PostgreSQL also sends `NOTIFY kabar_changes, '<topic>'` at commit, which a [`Changes`]
//! watcher receives at once; on SQLite the watcher reads the one counter row every
//! [`SQLITE_POLL`] (a primary-key lookup that stays in the page cache). Either way a watcher
//! reports a new version, never the change itself: the reader reloads what it needs.
//!
//! Topic `status` (service state changes, offices) drives the public status pages and wakes the
//! planner of `kabar serve`.

use std::time::Duration;

use tokio::sync::watch;

use super::{on_reader, Db, Store, StoreError};

/// The PostgreSQL notification channel of the change signal (the payload names the topic).
pub const CHANGES_CHANNEL: &str = "kabar_changes";

/// How often a SQLite watcher reads the counter (one primary-key read from the page cache; the
/// planner's wake-up after a `kabar state set` in another process waits for it).
pub const SQLITE_POLL: Duration = Duration::from_millis(50);

/// How often a PostgreSQL watcher reads the counter anyway: a notification sent while its
/// listening connection was being re-established is lost, the counter is not.
pub const POSTGRES_RECHECK: Duration = Duration::from_secs(5);

/// A topic of the change signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Service states and offices: what the public status pages show.
    Status,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Status => "status",
        }
    }
}

impl Store {
    /// The current version of `topic` (0 before the first change).
    pub async fn change_version(&self, topic: Topic) -> Result<i64, StoreError> {
        let version: Option<i64> = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT version FROM change_signal WHERE topic = $1")
                .bind(topic.as_str())
                .fetch_optional(pool)
                .await?
        });
        Ok(version.unwrap_or(0))
    }
}

/// A running watcher of one topic: [`Changes::subscribe`] gives a receiver whose value is the
/// topic's latest version. The watcher stops when every receiver is dropped.
pub struct Changes {
    receiver: watch::Receiver<i64>,
}

impl Changes {
    /// Reads the current version and starts watching `topic` on a task of its own.
    pub async fn watch(store: &Store, topic: Topic) -> Result<Changes, StoreError> {
        let first = store.change_version(topic).await?;
        let (sender, receiver) = watch::channel(first);
        let listener = match &store.db {
            Db::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen(CHANGES_CHANNEL).await?;
                Some(listener)
            }
            Db::Sqlite { .. } => None,
        };
        tokio::spawn(run(store.clone(), topic, sender, listener));
        Ok(Changes { receiver })
    }

    /// A receiver of the topic's version; `changed().await` wakes at each new version.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.receiver.clone()
    }
}

async fn run(
    store: Store,
    topic: Topic,
    sender: watch::Sender<i64>,
    mut listener: Option<sqlx::postgres::PgListener>,
) {
    loop {
        match listener.as_mut() {
            Some(listener) => {
                // Any notification, or the timeout, leads to reading the counter: a notification
                // of another topic costs one read. A failed reconnection is retried a second later.
                if let Ok(Err(_)) = tokio::time::timeout(POSTGRES_RECHECK, listener.try_recv()).await {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            None => tokio::time::sleep(SQLITE_POLL).await,
        }
        if sender.is_closed() {
            return;
        }
        match store.change_version(topic).await {
            Ok(version) => {
                sender.send_if_modified(|seen| {
                    let newer = *seen != version;
                    *seen = version;
                    newer
                });
            }
            Err(err) if err.is_transient() => {
                tracing::debug!(error = %err, topic = topic.as_str(), "change signal unreadable for now");
            }
            Err(err) => {
                tracing::warn!(error = %err, topic = topic.as_str(), "change signal unreadable");
                tokio::time::sleep(POSTGRES_RECHECK).await;
            }
        }
    }
}
