//! What one test's own code logs, captured on the test's thread while sibling tests run.
//!
//! tracing caches each callsite's interest for the whole process, computed once by whichever
//! thread reaches the callsite first. While at most one dispatcher is registered, that is the
//! registering thread's own default: a sibling test with no subscriber caches `never`, and the
//! capture goes blind to that callsite (in CI the request span went missing from a log line this
//! way). [`capture`] keeps a second, inert dispatcher registered for the life of the process, so
//! a registration asks every live dispatcher and the capture's answer always counts; it then
//! rebuilds the cache once, for a registration that raced the install.

use std::io;
use std::sync::{Arc, LazyLock, Mutex};

use tracing::subscriber::{DefaultGuard, NoSubscriber};
use tracing::{Dispatch, Subscriber};

/// Every byte a subscriber writes.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Makes `subscriber` this thread's default until the guard drops.
pub fn capture(subscriber: impl Subscriber + Send + Sync + 'static) -> DefaultGuard {
    static ANCHOR: LazyLock<Dispatch> = LazyLock::new(|| Dispatch::new(NoSubscriber::default()));
    LazyLock::force(&ANCHOR);
    let guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    guard
}
