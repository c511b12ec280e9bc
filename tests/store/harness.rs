//! One store test suite, two engines. `store_tests!` turns each `async fn(Store)` into a SQLite
//! test (always) and a PostgreSQL test (when `KABAR_TEST_POSTGRES_URL` names a server; each test
//! gets a fresh database, dropped afterwards). `.ci/run` sets the variable, so CI runs both.

use std::sync::atomic::{AtomicU32, Ordering};

use kabar::store::{DatabaseUrl, Store};

/// A store on a fresh database, removed when dropped.
pub struct TestStore {
    pub store: Store,
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestStore {
    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = DatabaseUrl::Sqlite(dir.path().join("kabar.db").display().to_string());
        let store = Store::open(&url).await.expect("open SQLite");
        TestStore { store, url, cleanup: Cleanup::Sqlite(dir) }
    }

    /// `None` when the PostgreSQL half is not enabled: the test then passes without running, and
    /// says so on the terminal (past the test harness's capture). With `KABAR_REQUIRE_POSTGRES=1`
    /// (as `.ci/run` sets) a missing URL fails the test instead; an enabled but unreachable server
    /// always fails: CI must not pass by skipping half the suite.
    pub async fn postgres() -> Option<TestStore> {
        let Some(admin_url) = std::env::var("KABAR_TEST_POSTGRES_URL").ok().filter(|url| !url.is_empty())
        else {
            let test = std::thread::current().name().unwrap_or("a PostgreSQL test").to_owned();
            if std::env::var("KABAR_REQUIRE_POSTGRES").is_ok_and(|flag| flag == "1") {
                panic!(
                    "KABAR_REQUIRE_POSTGRES=1 but KABAR_TEST_POSTGRES_URL is not set: {test} cannot run; \
                     set it, e.g. KABAR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
                );
            }
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: KABAR_TEST_POSTGRES_URL is not set, so this PostgreSQL test passes without running"
            );
            return None;
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "kabar_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros() % 1_000_000_000
        );
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|err| {
            panic!("KABAR_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {err}")
        });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create the test database");
        admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("KABAR_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        let url = DatabaseUrl::Postgres(url);
        let store = Store::open(&url).await.expect("open PostgreSQL");
        Some(TestStore { store, url, cleanup: Cleanup::Postgres { admin_url, name } })
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which cannot block on async work; a thread with
            // its own runtime can. FORCE ends the pool's connections.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async {
                    let admin = sqlx::PgPool::connect(&admin_url).await.map_err(std::io::Error::other)?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await
                        .map_err(std::io::Error::other)?;
                    admin.close().await;
                    Ok::<_, std::io::Error>(())
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop test database {}", self.url);
            }
        }
    }
}

/// Declares each listed `async fn(&TestStore)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::harness::TestStore::sqlite().await;
                    super::$name(&db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::harness::TestStore::postgres().await else {
                        eprintln!("KABAR_TEST_POSTGRES_URL is not set: PostgreSQL half skipped");
                        return;
                    };
                    super::$name(&db).await;
                }
            )+
        }
    };
}
