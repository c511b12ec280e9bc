//! The worker's loop: woken when messages are planned, finishing the step in progress when told
//! to stop, and leaving nothing claimed behind.

use std::sync::Arc;
use std::time::Duration;

use kabar::deliver::{StepReport, WorkerError};
use kabar::domain::Channel;
use kabar::store::Store;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::fakes::Fault;
use crate::harness::TestStore;
use crate::store_tests;
use crate::support::{bookings, import, plan_outage, worker, Fakes, Inspect};

/// How long a stopped worker may take to return: a guard against a hang, not a synchronisation.
const STOP_LIMIT: Duration = Duration::from_secs(20);

struct Running {
    wake: Arc<Notify>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<StepReport, WorkerError>>,
}

async fn start(store: &Store, fakes: &Fakes) -> Running {
    let worker = worker(store, fakes.config()).await;
    let (wake, shutdown) = (Arc::new(Notify::new()), CancellationToken::new());
    let task = tokio::spawn({
        let (wake, shutdown) = (wake.clone(), shutdown.clone());
        async move { worker.run(wake, shutdown).await }
    });
    Running { wake, shutdown, task }
}

impl Running {
    async fn stop(self) -> StepReport {
        self.shutdown.cancel();
        tokio::time::timeout(STOP_LIMIT, self.task)
            .await
            .expect("the worker stops when cancelled")
            .expect("the worker does not panic")
            .expect("the worker runs")
    }
}

async fn a_woken_worker_sends_and_stops_cleanly_when_cancelled(db: &TestStore) {
    let store = &db.store;
    import(store, &bookings(3)).await;
    let fakes = Fakes::start().await;
    // Slow answers, so the stop comes while the sends are in flight.
    fakes.twilio.fail_times(3, Fault::Delay(Duration::from_millis(200)));
    let running = start(store, &fakes).await;

    let planned = plan_outage(store, &[Channel::Sms]).await;
    running.wake.notify_one();
    fakes.twilio.wait_for(planned.len()).await;
    let total = running.stop().await;

    assert_eq!((total.claimed, total.sent), (planned.len(), planned.len()), "{total:?}");
    let inspect = Inspect::open(&db.url).await;
    for row in inspect.messages().await {
        assert_eq!((row.status.as_str(), row.provider.as_deref()), ("sent", Some("twilio")), "{row:?}");
    }
    assert_eq!(store.next_due().await.unwrap(), None, "nothing is claimed or queued");
    assert_eq!(fakes.twilio.received(), planned.len());
}

store_tests!(a_woken_worker_sends_and_stops_cleanly_when_cancelled);

/// PostgreSQL only: a planner in another process wakes the worker with `NOTIFY`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_from_another_process_wakes_the_worker() {
    let Some(db) = TestStore::postgres().await else {
        eprintln!("KABAR_TEST_POSTGRES_URL is not set: PostgreSQL notifications skipped");
        return;
    };
    import(&db.store, &bookings(2)).await;
    let fakes = Fakes::start().await;
    let running = start(&db.store, &fakes).await;

    let planner = Store::open(&db.url).await.expect("a second handle on the database");
    let planned = plan_outage(&planner, &[Channel::Sms]).await;
    planner.notify_workers().await.unwrap();
    // Without the notification the idle worker would sleep 30 s, past the fake's wait limit.
    fakes.twilio.wait_for(planned.len()).await;
    let total = running.stop().await;

    assert_eq!(total.sent, planned.len());
    assert_eq!(planner.next_due().await.unwrap(), None);
    planner.close().await;
}
