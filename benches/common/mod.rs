//! What the benchmarks share: arguments, a fresh store on either engine, peak memory.

use kabar::store::{DatabaseUrl, Store};

/// The national printing outage of 2024-06-20 ("Gangguan Pusat Data Nasional") declared at `at`.
#[allow(dead_code)]
pub fn national_printing_outage(at: chrono::DateTime<chrono::Utc>) -> kabar::state::StateChange {
    kabar::state::StateChange {
        target: kabar::state::Target::All,
        service: kabar::domain::Service::Printing,
        state: kabar::domain::ServiceState::Unavailable,
        reason: Some("Gangguan Pusat Data Nasional".into()),
        until: None,
        actor: "bench".into(),
        at,
    }
}

/// `--name value` from the command line (cargo bench adds `--bench`, which is ignored).
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .map(|value| value.parse().unwrap_or_else(|_| panic!("{name} {value}: not a valid value")))
        .unwrap_or(default)
}

/// CPU time used by this process so far (user + system), from `/proc/self/stat` (Linux; the
/// kernel counts in USER_HZ ticks, 100 per second).
#[allow(dead_code)]
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces: state is the
    // 3rd field, utime the 14th and stime the 15th.
    let fields: Vec<&str> = stat.rsplit_once(") ").map_or(vec![], |(_, rest)| rest.split(' ').collect());
    let ticks = |at: usize| fields.get(at).and_then(|value| value.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0
}

/// `target/bench`, beside the benchmark's own binary (`target/release/deps/…`), where each
/// benchmark leaves its figures as JSON.
#[allow(dead_code)]
pub fn bench_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's path");
    let target = exe.ancestors().nth(3).map(std::path::PathBuf::from);
    let dir = target.unwrap_or_else(|| std::path::PathBuf::from("target")).join("bench");
    std::fs::create_dir_all(&dir).expect("create target/bench");
    dir
}

/// Writes a benchmark's figures to `target/bench/<name>.json`; returns the path.
#[allow(dead_code)]
pub fn write_figures(name: &str, figures: &serde_json::Value) -> std::path::PathBuf {
    let path = bench_dir().join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(figures).expect("JSON")).expect("write the figures");
    path
}

/// The peak resident set size of this process so far (or since [`reset_peak_rss`]), in MiB
/// (Linux).
#[allow(dead_code)] // each benchmark binary uses a different part of this module
pub fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// The resident set size of this process now, in MiB (Linux).
#[allow(dead_code)] // each benchmark binary uses a different part of this module
pub fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// Starts the peak over from the current resident set size (Linux: `/proc/self/clear_refs`), so
/// one phase's peak can be told from an earlier phase's.
#[allow(dead_code)]
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// A fresh store: a SQLite file in `dir`, or with `--engine postgres` a new database on
/// `KABAR_BENCH_POSTGRES_URL`, dropped by [`BenchStore::finish`].
#[allow(dead_code)] // each benchmark binary uses a different part of this module
pub struct BenchStore {
    pub store: Store,
    pub engine: &'static str,
    /// Where the store is, for benchmarks that open it again from another process.
    pub url: DatabaseUrl,
    postgres: Option<(String, String)>,
}

#[allow(dead_code)] // each benchmark binary uses a different part of this module
impl BenchStore {
    pub async fn open(dir: &std::path::Path) -> BenchStore {
        BenchStore::open_named(dir, "bench").await
    }

    /// As [`BenchStore::open`], for a benchmark that needs several fresh stores at once: each
    /// `name` is a SQLite file of its own, or a PostgreSQL database of its own.
    pub async fn open_named(dir: &std::path::Path, name: &str) -> BenchStore {
        if arg("--engine", String::from("sqlite")) != "postgres" {
            let url = DatabaseUrl::Sqlite(dir.join(format!("{name}.db")).display().to_string());
            let store = Store::open(&url).await.expect("open SQLite");
            return BenchStore { store, engine: "SQLite", url, postgres: None };
        }
        let admin_url = std::env::var("KABAR_BENCH_POSTGRES_URL")
            .expect("set KABAR_BENCH_POSTGRES_URL for --engine postgres");
        let name = format!("kabar_{name}_{}", std::process::id());
        let admin = sqlx::PgPool::connect(&admin_url).await.expect("reach PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create the bench database");
        let mut url = url::Url::parse(&admin_url).expect("a URL");
        url.set_path(&name);
        let url = DatabaseUrl::Postgres(url);
        let store = Store::open(&url).await.expect("open PostgreSQL");
        BenchStore { store, engine: "PostgreSQL", url, postgres: Some((admin_url, name)) }
    }

    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.postgres {
            let admin = sqlx::PgPool::connect(&admin_url).await.expect("reach PostgreSQL");
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&admin)
                .await
                .expect("drop the bench database");
        }
    }
}
