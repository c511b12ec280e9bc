//! PostgreSQL for the harness: a fresh database per run on a server (the shared one, for the
//! kill and rate scenarios), and a private cluster the harness owns and may restart and stop (for
//! pg-restart), never the shared server the test suite uses. `initdb` and `pg_ctl` refuse to run
//! as root, so they run as the `postgres` OS user (`runuser -u postgres --`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use kabar::store::DatabaseUrl;
use tokio::process::Command;

/// A database made for one run, dropped by [`Fresh::drop_database`].
pub struct Fresh {
    pub url: DatabaseUrl,
    admin: String,
    name: String,
}

impl Fresh {
    /// `CREATE DATABASE kabar_chaos_<label>_<pid>` on the server of `admin` (a URL the user may
    /// create databases with).
    pub async fn create(admin: &str, label: &str) -> anyhow::Result<Fresh> {
        let name = format!("kabar_chaos_{}_{}", label.replace('-', "_"), std::process::id());
        let pool = sqlx::PgPool::connect(admin).await.with_context(|| format!("cannot reach {admin}"))?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&pool).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await?;
        pool.close().await;
        let mut url = url::Url::parse(admin)?;
        url.set_path(&name);
        Ok(Fresh { url: DatabaseUrl::Postgres(url), admin: admin.to_owned(), name })
    }

    pub async fn drop_database(self) -> anyhow::Result<()> {
        let pool = sqlx::PgPool::connect(&self.admin).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&pool).await?;
        pool.close().await;
        Ok(())
    }
}

/// The database URL as a `kabar.toml` takes it.
pub fn url_text(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => path.clone(),
        DatabaseUrl::Postgres(url) => url.as_str().to_owned(),
    }
}

/// A PostgreSQL cluster of the harness's own, on a free port, in a temporary directory; stopped
/// and removed when dropped.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// `initdb` and start, with the newest server binaries under /usr/lib/postgresql.
    pub async fn start(dir: &Path) -> anyhow::Result<Cluster> {
        let bin = server_binaries()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = dir.join("pg");
        for sub in ["", "sockets"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        // The postgres user must reach its directory through the temporary one.
        use std::os::unix::fs::PermissionsExt;
        for open in [dir.parent().expect("a parent"), &dir] {
            std::fs::set_permissions(open, std::fs::Permissions::from_mode(0o755))?;
        }
        run("chown", &["-R", "postgres:postgres", &dir.display().to_string()]).await?;
        let cluster = Cluster { bin, dir, port };
        let data = cluster.data();
        cluster
            .as_postgres("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .await?;
        cluster.start_server().await?;
        Ok(cluster)
    }

    /// The admin URL, for [`Fresh::create`].
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `pg_ctl restart -m fast`, returning once the server accepts connections again.
    pub async fn restart(&self) -> anyhow::Result<()> {
        // The log file again: without it the new server would write to (and hold open) the
        // harness's pipe.
        let (data, log) = (self.data(), self.log());
        self.as_postgres("pg_ctl", &["-D", &data, "-l", &log, "-m", "fast", "-w", "-t", "60", "restart"])
            .await
    }

    /// `pg_ctl stop -m fast`.
    pub async fn stop(&self) -> anyhow::Result<()> {
        let data = self.data();
        self.as_postgres("pg_ctl", &["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"]).await
    }

    /// `pg_ctl start`, returning once the server accepts connections.
    pub async fn start_server(&self) -> anyhow::Result<()> {
        let (data, log) = (self.data(), self.log());
        // fsync off: the harness stops the server cleanly, never the machine, and the machine is
        // shared with other work.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.join("sockets").display()
        );
        self.as_postgres("pg_ctl", &["-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start"])
            .await
    }

    fn log(&self) -> String {
        self.dir.join("server.log").display().to_string()
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    async fn as_postgres(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin.join(program).display().to_string();
        let mut all = vec!["-u", "postgres", "--", program.as_str()];
        all.extend_from_slice(args);
        run("runuser", &all).await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The `bin` directory of the newest PostgreSQL installed under /usr/lib/postgresql.
fn server_binaries() -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no PostgreSQL server under /usr/lib/postgresql (pg-restart needs initdb and pg_ctl)")?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).context("no pg_ctl under /usr/lib/postgresql/*/bin")
}

async fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let output = tokio::time::timeout(Duration::from_secs(120), Command::new(program).args(args).output())
        .await
        .with_context(|| format!("{program} did not finish within 120 s"))??;
    anyhow::ensure!(
        output.status.success(),
        "{program} {} failed ({}): {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}
