//! One probe of one system: an HTTP request, a TCP connection or a command, with a timeout. The
//! outcome says in a few words what was seen, for the reason staff read.

use std::time::{Duration, Instant};

use super::config::Probe;

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    pub ok: bool,
    /// `HTTP 200`, `HTTP 503 (expected 200)`, `timeout after 5 s`, `connection refused`, …
    pub detail: String,
    pub took: Duration,
}

/// Runs `probe`, giving up after `timeout`.
pub async fn run(probe: &Probe, timeout: Duration, client: &reqwest::Client) -> ProbeOutcome {
    let started = Instant::now();
    let attempt = async {
        match probe {
            Probe::Http { url, head, expect_status, body_contains } => {
                http(client, url, *head, *expect_status, body_contains.as_deref()).await
            }
            Probe::Tcp { address } => match tokio::net::TcpStream::connect(address.as_str()).await {
                Ok(_) => (true, "connected".to_owned()),
                Err(err) => (false, io_detail(&err)),
            },
            Probe::Command { program, args } => command(program, args).await,
        }
    };
    let (ok, detail) = match tokio::time::timeout(timeout, attempt).await {
        Ok(seen) => seen,
        Err(_) => (false, format!("timeout after {} s", timeout.as_secs())),
    };
    ProbeOutcome { ok, detail, took: started.elapsed() }
}

async fn http(
    client: &reqwest::Client,
    url: &url::Url,
    head: bool,
    expect_status: u16,
    body_contains: Option<&str>,
) -> (bool, String) {
    let request = if head { client.head(url.clone()) } else { client.get(url.clone()) };
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => return (false, request_detail(&err)),
    };
    let status = response.status().as_u16();
    if status != expect_status {
        return (false, format!("HTTP {status} (expected {expect_status})"));
    }
    let Some(needle) = body_contains else {
        return (true, format!("HTTP {status}"));
    };
    match response.text().await {
        Ok(body) if body.contains(needle) => (true, format!("HTTP {status}")),
        Ok(_) => (false, format!("HTTP {status} without {needle:?} in the body")),
        Err(err) => (false, request_detail(&err)),
    }
}

async fn command(program: &str, args: &[String]) -> (bool, String) {
    let status = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // A probe that times out is dropped: its process must not outlive it.
        .kill_on_drop(true)
        .status()
        .await;
    match status {
        Ok(status) if status.success() => (true, "exit 0".to_owned()),
        Ok(status) => match status.code() {
            Some(code) => (false, format!("exit {code}")),
            None => (false, "killed by a signal".to_owned()),
        },
        Err(err) => (false, format!("cannot run {program}: {}", io_detail(&err))),
    }
}

/// A connection error in a few words; reqwest nests the cause.
fn request_detail(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timeout".to_owned();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_detail(io);
        }
        source = cause.source();
    }
    if err.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    }
}

fn io_detail(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
        std::io::ErrorKind::TimedOut => "timeout".to_owned(),
        std::io::ErrorKind::NotFound => "not found".to_owned(),
        _ => err.kind().to_string(),
    }
}
