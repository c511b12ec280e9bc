//! The `kabar` processes under test: the real binary (cargo builds it for this benchmark:
//! `CARGO_BIN_EXE_kabar`), each life with a `kabar.toml` of its own pointing at its own listener
//! of the fake. The harness kills them with SIGKILL, restarts them, notices when one exits by
//! itself (and restarts it, as a supervisor would), and keeps every line they print, timed.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::{oneshot, watch};

use crate::fake::{Fake, ACCOUNT_SID, API_KEY, AUTH_TOKEN};

pub const KABAR: &str = env!("CARGO_BIN_EXE_kabar");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Serve,
    Worker,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Worker => "worker",
        }
    }
}

/// One provider account in the processes' configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Account {
    pub rate_per_second: Option<u32>,
    pub timeout_seconds: u64,
}

/// What every process's `kabar.toml` says besides the database and the fake's address.
#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    pub batch_size: usize,
    pub lease_seconds: u64,
    pub max_attempts: u32,
    pub backoff_seconds: u64,
    pub backoff_max_seconds: u64,
    pub twilio: Option<Account>,
    pub infobip: Option<Account>,
    /// `[delivery.failover]` lines, when both providers are configured.
    pub failover: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            concurrency: 64,
            batch_size: 500,
            // The smallest lease kabar accepts, so a killed process's claims come back soonest.
            lease_seconds: 30,
            max_attempts: 8,
            backoff_seconds: 1,
            backoff_max_seconds: 4,
            twilio: Some(Account { rate_per_second: None, timeout_seconds: 10 }),
            infobip: None,
            failover: None,
        }
    }
}

impl Settings {
    fn toml(&self, database_url: &str, fake: &url::Url) -> String {
        let mut toml = format!(
            "database_url = {database_url:?}\nlog = \"info\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[planner]\nsettle_seconds = 0\n\
             quiet_hours = \"00:00-00:00\"\nchannels = [\"sms\"]\ntick_seconds = 1\n\n[delivery]\n\
             batch_size = {}\nconcurrency = {}\nlease_seconds = {}\nmax_attempts = {}\n\
             backoff_seconds = {}\nbackoff_max_seconds = {}\n",
            self.batch_size,
            self.concurrency,
            self.lease_seconds,
            self.max_attempts,
            self.backoff_seconds,
            self.backoff_max_seconds
        );
        let base = fake.as_str().trim_end_matches('/');
        let rate = |account: &Account| {
            let rate = account.rate_per_second.map(|rate| format!("rate_per_second = {rate}\n"));
            format!("timeout_seconds = {}\n{}", account.timeout_seconds, rate.unwrap_or_default())
        };
        if let Some(twilio) = &self.twilio {
            toml += &format!(
                "\n[delivery.twilio]\naccount_sid = {ACCOUNT_SID:?}\nauth_token = {AUTH_TOKEN:?}\n\
                 from = \"KANIM\"\nbase_url = {base:?}\n{}",
                rate(twilio)
            );
        }
        if let Some(infobip) = &self.infobip {
            toml += &format!(
                "\n[delivery.infobip]\napi_key = {API_KEY:?}\nsender = \"KANIM\"\nbase_url = {base:?}\n{}",
                rate(infobip)
            );
        }
        if let Some(failover) = &self.failover {
            toml += &format!("\n[delivery.failover]\n{failover}\n");
        }
        toml
    }
}

/// How a process life ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// SIGKILL from the harness, mid-run.
    Killed,
    /// It exited by itself, with this status.
    Exited(ExitStatus),
    /// Stopped by the harness at the end of the scenario.
    Stopped,
}

/// One process life (its tag is its index in [`Fleet::lives`]).
pub struct Life {
    pub slot: usize,
    pub role: Role,
    pub started: Instant,
    pub ended: Option<(Instant, End)>,
    /// Every line printed (stdout and stderr), with when the harness read it.
    pub lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Life {
    /// Warnings and errors printed in `[from, to)`.
    pub fn problems(&self, from: Instant, to: Instant) -> Vec<String> {
        let lines = self.lines.lock().expect("never poisoned");
        lines
            .iter()
            .filter(|(at, line)| *at >= from && *at < to && is_problem(line))
            .map(|(_, l)| l.clone())
            .collect()
    }
}

/// A `tracing` line at WARN or ERROR.
pub fn is_problem(line: &str) -> bool {
    let head: String = line.chars().take(48).collect();
    head.contains(" WARN ") || head.contains(" ERROR ")
}

struct Running {
    tag: u32,
    kill: Option<oneshot::Sender<()>>,
    exit: watch::Receiver<Option<ExitStatus>>,
}

/// The processes of one scenario run.
pub struct Fleet {
    dir: PathBuf,
    database_url: String,
    fake: Arc<Fake>,
    settings: Settings,
    slots: Vec<(Role, Option<Running>)>,
    pub lives: Vec<Life>,
}

impl Fleet {
    pub fn new(dir: PathBuf, database_url: String, fake: Arc<Fake>, settings: Settings) -> Fleet {
        Fleet { dir, database_url, fake, settings, slots: Vec::new(), lives: Vec::new() }
    }

    /// Starts a process in a new slot; returns the slot.
    pub async fn add(&mut self, role: Role) -> anyhow::Result<usize> {
        self.slots.push((role, None));
        let slot = self.slots.len() - 1;
        self.start(slot).await?;
        Ok(slot)
    }

    /// Starts a new life in `slot` (which must have none running).
    pub async fn start(&mut self, slot: usize) -> anyhow::Result<u32> {
        let role = self.slots[slot].0;
        let tag = self.lives.len() as u32;
        let base = self.fake.listen(tag).await;
        let config = self.dir.join(format!("kabar-{tag}.toml"));
        std::fs::write(&config, self.settings.toml(&self.database_url, &base))?;
        let mut command = Command::new(KABAR);
        command
            .arg("--config")
            .arg(&config)
            .arg(role.name())
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The configuration file must be the whole story: KABAR_* variables would override it.
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("KABAR_")) {
            command.env_remove(name);
        }
        let mut child = command.spawn()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let log = self.dir.join(format!("{}-{slot}-life{tag}.log", role.name()));
        let file = Arc::new(tokio::sync::Mutex::new(tokio::fs::File::create(&log).await?));
        for stream in [child.stdout.take().map(boxed), child.stderr.take().map(boxed)].into_iter().flatten() {
            tokio::spawn(capture(stream, lines.clone(), file.clone()));
        }
        let (kill, killed) = oneshot::channel::<()>();
        let (exited, exit) = watch::channel(None);
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            exited.send_replace(status.ok());
        });
        self.lives.push(Life { slot, role, started: Instant::now(), ended: None, lines });
        self.slots[slot].1 = Some(Running { tag, kill: Some(kill), exit });
        Ok(tag)
    }

    pub fn roles(&self) -> Vec<Role> {
        self.slots.iter().map(|(role, _)| *role).collect()
    }

    /// The life running in `slot`, if any.
    pub fn current(&self, slot: usize) -> Option<u32> {
        self.slots[slot].1.as_ref().map(|running| running.tag)
    }

    /// SIGKILL to `slot`'s process, waiting until it is gone; returns when the signal left.
    pub async fn kill(&mut self, slot: usize) -> Option<Instant> {
        self.end(slot, End::Killed).await
    }

    async fn end(&mut self, slot: usize, how: End) -> Option<Instant> {
        let mut running = self.slots[slot].1.take()?;
        let at = Instant::now();
        if let Some(kill) = running.kill.take() {
            let _ = kill.send(());
        }
        let status = running.exit.wait_for(Option::is_some).await.ok().and_then(|status| *status);
        let how = match (how, status) {
            // It had already exited by itself before the signal.
            (End::Killed | End::Stopped, Some(status)) if status.code().is_some() => End::Exited(status),
            _ => how,
        };
        self.lives[running.tag as usize].ended = Some((at, how));
        Some(at)
    }

    /// Notes the processes that exited by themselves; returns their lives.
    pub fn reap(&mut self) -> Vec<u32> {
        let mut dead = Vec::new();
        for (_, running) in &mut self.slots {
            let status = running.as_ref().and_then(|running| *running.exit.borrow());
            if let (Some(status), Some(gone)) = (status, running.as_ref().map(|running| running.tag)) {
                self.lives[gone as usize].ended = Some((Instant::now(), End::Exited(status)));
                *running = None;
                dead.push(gone);
            }
        }
        dead
    }

    /// As a supervisor: restarts every process that exited by itself; returns the dead lives.
    pub async fn revive(&mut self) -> anyhow::Result<Vec<u32>> {
        let dead = self.reap();
        for &gone in &dead {
            self.start(self.lives[gone as usize].slot).await?;
        }
        Ok(dead)
    }

    /// Lives that ended by exiting on their own.
    pub fn deaths(&self) -> Vec<(u32, ExitStatus)> {
        let ended = self.lives.iter().enumerate().filter_map(|(tag, life)| match life.ended {
            Some((_, End::Exited(status))) => Some((tag as u32, status)),
            _ => None,
        });
        ended.collect()
    }

    /// Stops every process (SIGKILL: the work is done or the run has given up).
    pub async fn stop_all(&mut self) {
        self.reap();
        for slot in 0..self.slots.len() {
            self.end(slot, End::Stopped).await;
        }
    }

    /// The last lines a life printed, for a report on why it died.
    pub fn tail(&self, tag: u32, lines: usize) -> Vec<String> {
        let all = self.lives[tag as usize].lines.lock().expect("never poisoned");
        all.iter().rev().take(lines).rev().map(|(_, line)| line.clone()).collect()
    }
}

type Stream = Box<dyn AsyncRead + Unpin + Send>;

fn boxed(stream: impl AsyncRead + Unpin + Send + 'static) -> Stream {
    Box::new(stream)
}

async fn capture(
    stream: Stream,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    file: Arc<tokio::sync::Mutex<tokio::fs::File>>,
) {
    let mut reader = BufReader::new(stream).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        let line = strip_ansi(&line);
        let _ = file.lock().await.write_all(format!("{line}\n").as_bytes()).await;
        lines.lock().expect("never poisoned").push((Instant::now(), line));
    }
}

/// Drops ANSI colour sequences (`ESC [ … letter`), in case a process colours its log anyway.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
