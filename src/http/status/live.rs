//! The live snapshot behind the status routes: loaded on the first request, swapped for a new one
//! whenever the shared change signal moves (and once a minute, for the day boundary of the
//! history), and the answers rendered from it, each once per snapshot.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::status::subscriptions::tokens::{self, Secret};
use crate::status::Snapshot;
use crate::store::{Changes, Store, StoreError, Topic};

/// How often the snapshot is rebuilt without a change: the 90-day history moves at midnight.
const REBUILD_EVERY: Duration = Duration::from_secs(60);

/// The status routes' state. Cheap to clone.
#[derive(Clone)]
pub struct StatusState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// The public URL of the server (`[http] public_url`, no trailing slash), or empty: links in
    /// feeds and JSON are then relative, never taken from the request's `Host` (a shared cache
    /// would keep a forged one).
    base: String,
    live: ArcSwapOption<Live>,
    started: tokio::sync::OnceCell<()>,
    /// The subscriptions' secret (signs the subscribe form), read on first use.
    secret: tokio::sync::OnceCell<Secret>,
}

/// One snapshot and the answers rendered from it so far.
pub(super) struct Live {
    pub snapshot: Snapshot,
    rendered: Mutex<HashMap<String, Arc<Rendered>>>,
}

/// A rendered answer: its body, its gzip form (made on first demand), and its validators.
pub(super) struct Rendered {
    pub body: Bytes,
    gzip: OnceLock<Bytes>,
    /// A strong validator: a hash of the body.
    pub etag: String,
    pub content_type: &'static str,
    pub last_modified: DateTime<Utc>,
}

impl Rendered {
    pub fn new(body: impl Into<Bytes>, content_type: &'static str, last_modified: DateTime<Utc>) -> Rendered {
        let body = body.into();
        let digest = Sha256::digest(&body);
        Rendered {
            etag: format!("\"{}\"", hex::encode(&digest[..12])),
            body,
            gzip: OnceLock::new(),
            content_type,
            last_modified,
        }
    }

    /// The body compressed once, at the default level.
    pub fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(&self.body);
            Bytes::from(encoder.finish().unwrap_or_default())
        })
    }
}

impl Live {
    /// The answer under `key`, rendered by `render` if this snapshot has not rendered it yet.
    pub fn rendered(&self, key: &str, render: impl FnOnce(&Snapshot) -> Rendered) -> Arc<Rendered> {
        if let Some(found) = self.rendered.lock().expect("never poisoned").get(key) {
            return found.clone();
        }
        // Rendered outside the lock: two first requests may both render, one result is kept.
        let made = Arc::new(render(&self.snapshot));
        self.rendered.lock().expect("never poisoned").entry(key.to_owned()).or_insert(made).clone()
    }
}

impl StatusState {
    /// The status state over `store`; `public_url` makes links in feeds and JSON absolute.
    pub fn new(store: Store, public_url: Option<&url::Url>) -> StatusState {
        let base = public_url.map(|url| url.as_str().trim_end_matches('/').to_owned()).unwrap_or_default();
        StatusState {
            inner: Arc::new(Inner {
                store,
                base,
                live: ArcSwapOption::empty(),
                started: tokio::sync::OnceCell::new(),
                secret: tokio::sync::OnceCell::new(),
            }),
        }
    }

    pub(super) fn base(&self) -> &str {
        &self.inner.base
    }

    pub(super) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The status subscriptions' secret, read (or made) once.
    pub(super) async fn subscription_secret(&self) -> Result<Secret, StoreError> {
        self.inner
            .secret
            .get_or_try_init(|| async {
                let bytes = self.inner.store.server_secret(tokens::SECRET_NAME, Utc::now()).await?;
                Ok::<_, StoreError>(Secret::new(bytes))
            })
            .await
            .cloned()
    }

    /// The current snapshot, loading the first and starting the watcher on first use.
    pub(super) async fn live(&self) -> Result<Arc<Live>, StoreError> {
        if let Some(live) = self.inner.live.load_full() {
            return Ok(live);
        }
        self.inner
            .started
            .get_or_try_init(|| async {
                let changes = Changes::watch(&self.inner.store, Topic::Status).await?;
                let snapshot = Snapshot::load(&self.inner.store, Utc::now()).await?;
                self.inner.live.store(Some(Arc::new(Live::new(snapshot))));
                tokio::spawn(refresh(Arc::downgrade(&self.inner), changes));
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(self.inner.live.load_full().expect("stored before the cell was set"))
    }

    /// Rebuilds the snapshot now (the benchmark and tests use the watcher instead).
    pub async fn rebuild(&self) -> Result<(), StoreError> {
        let snapshot = Snapshot::load(&self.inner.store, Utc::now()).await?;
        self.inner.live.store(Some(Arc::new(Live::new(snapshot))));
        Ok(())
    }
}

impl Live {
    fn new(snapshot: Snapshot) -> Live {
        Live { snapshot, rendered: Mutex::new(HashMap::new()) }
    }
}

/// Swaps in a new snapshot at every version of the change signal, and every [`REBUILD_EVERY`];
/// ends when the server's state is gone.
async fn refresh(inner: Weak<Inner>, changes: Changes) {
    let mut versions = changes.subscribe();
    loop {
        let moved = tokio::time::timeout(REBUILD_EVERY, versions.changed()).await;
        if matches!(moved, Ok(Err(_))) {
            return;
        }
        let Some(inner) = inner.upgrade() else { return };
        match Snapshot::load(&inner.store, Utc::now()).await {
            Ok(snapshot) => inner.live.store(Some(Arc::new(Live::new(snapshot)))),
            // The pages keep the last snapshot; the next signal or minute tries again.
            Err(err) => tracing::warn!(error = %err, "status snapshot not rebuilt"),
        }
    }
}
