//! Status pages benchmark: requests/s and latency percentiles of `/status/{office}` and the
//! national Atom feed under many concurrent keep-alive clients (in this process, over real TCP,
//! each client a plain HTTP/1.1 loop so the load generator costs little next to the server), the
//! resident memory before and after, and how long a state change made through another store
//! handle takes to appear on the page. Prints figures and writes them to
//! `target/bench/status-<engine>.json`; asserts only that every answer was a 200.
//!
//!     cargo bench --bench status                                   # 64 clients, 10 s per route
//!     cargo bench --bench status -- --seconds 2 --clients 16       # the CI smoke run
//!     KABAR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo bench --bench status -- --engine postgres
//!
//! The office list is `data/offices.csv` (109 offices), with a national outage, its update and
//! a few office changes in the history. Requests ask for gzip, as browsers do.

mod common;

use std::time::{Duration, Instant};

use common::{arg, rss_mib, write_figures, BenchStore};
use kabar::domain::{Service, ServiceState};
use kabar::http::HttpState;
use kabar::import::{self, ImportOptions};
use kabar::state::{set_state, StateChange, Target};
use kabar::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(run());
}

async fn change(store: &Store, target: &str, service: Service, state: ServiceState, reason: Option<&str>) {
    let change = StateChange {
        target: target.parse::<Target>().expect("a target"),
        service,
        state,
        reason: reason.map(str::to_owned),
        until: None,
        actor: "bench".into(),
        at: chrono::Utc::now(),
    };
    set_state(store, &change).await.expect("a state change");
}

async fn run() {
    let seconds: u64 = arg("--seconds", 10);
    let clients: usize = arg("--clients", 64);
    let repeat: usize = arg("--repeat", 5);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bench = BenchStore::open(dir.path()).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/offices.csv");
    import::import_offices(&bench.store, &path, &ImportOptions::default()).await.expect("the office list");
    for service in [Service::Printing, Service::Epassport, Service::Express, Service::Pickup] {
        change(&bench.store, "all", service, ServiceState::Unavailable, Some("Gangguan Pusat Data Nasional"))
            .await;
    }
    change(&bench.store, "all", Service::Printing, ServiceState::Degraded, Some("Pemulihan bertahap")).await;
    change(&bench.store, "PLG", Service::Printing, ServiceState::Operational, None).await;
    change(&bench.store, "NNK", Service::Pickup, ServiceState::Unavailable, Some("Pengambilan ditunda"))
        .await;

    let listener = kabar::http::bind("127.0.0.1:0".parse().expect("an address")).await.expect("bind");
    let address = listener.local_addr().expect("an address");
    let state = HttpState::new(bench.store.clone(), kabar::observe::metrics::install());
    tokio::spawn(kabar::http::serve(listener, state, std::future::pending()));

    println!("status benchmark on {} ({} clients, {seconds} s per route)", bench.engine, clients);
    // Warm: the snapshot is loaded and each answer rendered once.
    let mut gzip_bytes = serde_json::Map::new();
    for route in ["/status/PLG", "/status/feed.atom"] {
        let mut client = Client::connect(address).await;
        let (status, bytes) = client.get(route).await;
        assert_eq!(status, 200, "{route}");
        println!("  {route}: {bytes} bytes gzip");
        gzip_bytes.insert(route.to_owned(), bytes.into());
    }
    // A second of load first, not reported: the server's connections and buffers for this many
    // clients exist before the memory is read, so "after" shows what the run itself kept.
    for route in ["/status/PLG", "/status/feed.atom"] {
        load(address, route, clients, Duration::from_secs(1), false).await;
    }
    let before = rss_mib();
    let mut routes = serde_json::Map::new();
    for route in ["/status/PLG", "/status/feed.atom"] {
        let figures = load(address, route, clients, Duration::from_secs(seconds), true).await;
        routes.insert(route.to_owned(), figures);
    }
    let after = rss_mib();
    println!("  RSS before {before:.1} MiB, after {after:.1} MiB ({:.2}x, goal <= 1.2x)", after / before);

    // A state change through another handle (another process's view of the database), timed to
    // the first answer that shows it.
    let other = Store::open(&bench.url).await.expect("a second store handle");
    let mut client = Client::connect(address).await;
    let mut times = Vec::new();
    for round in 0..repeat {
        let reason = format!("Uji perubahan {round}");
        let started = Instant::now();
        change(&other, "PLG", Service::Biometrics, ServiceState::Degraded, Some(&reason)).await;
        loop {
            let body = client.get_plain("/status/PLG").await;
            if body.contains(&reason) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the change never appeared");
        }
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "  state change to page: median {:.0} ms, max {:.0} ms over {repeat} changes (goal <= 1000 ms)",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
    let figures = serde_json::json!({
        "engine": bench.engine,
        "clients": clients,
        "seconds_per_route": seconds,
        "gzip_bytes": gzip_bytes,
        "routes": routes,
        "rss_before_mib": before,
        "rss_after_mib": after,
        "rss_ratio": after / before,
        "state_changes": repeat,
        "state_change_median_ms": ms(times[times.len() / 2]),
        "state_change_max_ms": ms(times[times.len() - 1]),
    });
    let written = write_figures(&format!("status-{}", bench.engine.to_lowercase()), &figures);
    println!("figures: {}", written.display());
    other.close().await;
    bench.finish().await;
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Latency buckets of 10 µs up to 100 ms (the last bucket holds anything slower): a fixed-size
/// histogram, so the load generator's memory does not grow with the number of requests and
/// spoil the server's RSS figure.
const BUCKET_US: u64 = 10;
const BUCKETS: usize = 10_000;

/// `clients` keep-alive connections asking for `route` as fast as they can for `length`; with
/// `report`, prints and returns the figures (otherwise returns null).
async fn load(
    address: std::net::SocketAddr,
    route: &'static str,
    clients: usize,
    length: Duration,
    report: bool,
) -> serde_json::Value {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(async move {
                let mut client = Client::connect(address).await;
                let mut histogram = vec![0u64; BUCKETS];
                while started.elapsed() < length {
                    let asked = Instant::now();
                    let (status, _) = client.get(route).await;
                    assert_eq!(status, 200);
                    let bucket = (asked.elapsed().as_micros() as u64 / BUCKET_US) as usize;
                    histogram[bucket.min(BUCKETS - 1)] += 1;
                }
                histogram
            })
        })
        .collect();
    let mut histogram = vec![0u64; BUCKETS];
    for task in tasks {
        for (total, count) in histogram.iter_mut().zip(task.await.expect("a client")) {
            *total += count;
        }
    }
    let took = started.elapsed();
    if !report {
        return serde_json::Value::Null;
    }
    let requests: u64 = histogram.iter().sum();
    let at = |q: f64| {
        let wanted = (requests as f64 * q).ceil() as u64;
        let mut seen = 0;
        let bucket = histogram.iter().position(|count| {
            seen += count;
            seen >= wanted
        });
        ms(Duration::from_micros((bucket.unwrap_or(BUCKETS - 1) as u64 + 1) * BUCKET_US))
    };
    println!(
        "  {route}: {requests} requests in {:.1} s = {:.0} req/s; p50 {:.2} ms, p99 {:.2} ms (goal >= 5000 req/s, p99 <= 20 ms)",
        took.as_secs_f64(),
        requests as f64 / took.as_secs_f64(),
        at(0.50),
        at(0.99)
    );
    serde_json::json!({
        "requests": requests,
        "seconds": took.as_secs_f64(),
        "requests_per_second": requests as f64 / took.as_secs_f64(),
        "p50_ms": at(0.50),
        "p99_ms": at(0.99),
    })
}

/// A minimal HTTP/1.1 keep-alive client: one request at a time, `Content-Length` bodies.
struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    async fn connect(address: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Client { stream, buffer: Vec::with_capacity(64 * 1024) }
    }

    /// Status and body length, asking for gzip.
    async fn get(&mut self, route: &str) -> (u16, usize) {
        let (status, body) = self.request(route, "Accept-Encoding: gzip\r\n").await;
        (status, body.len())
    }

    /// The body as text, uncompressed.
    async fn get_plain(&mut self, route: &str) -> String {
        let (_, body) = self.request(route, "").await;
        String::from_utf8_lossy(&body).into_owned()
    }

    async fn request(&mut self, route: &str, extra: &str) -> (u16, Vec<u8>) {
        let request = format!("GET {route} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n");
        self.stream.write_all(request.as_bytes()).await.expect("write");
        loop {
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
                    })
                    .expect("a content length");
                while self.buffer.len() < end + 4 + length {
                    self.fill().await;
                }
                let body = self.buffer[end + 4..end + 4 + length].to_vec();
                self.buffer.drain(..end + 4 + length);
                return (status, body);
            }
            self.fill().await;
        }
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk).await.expect("read");
        assert!(read > 0, "the server closed the connection");
        self.buffer.extend_from_slice(&chunk[..read]);
    }
}
