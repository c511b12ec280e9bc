//! The raw ceiling of the throughput run: the same number of messages POSTed to the same fake
//! Twilio by processes of their own, with the HTTP client settings kabar's providers use and the
//! same concurrency, but no database, no rendering and no record of the outcome. What kabar's
//! worker reaches against this is the share of the machine its own work leaves to sending.

use std::time::Instant;

use base64::Engine as _;
use futures::StreamExt as _;

use crate::child::Report;
use crate::common::{arg, cpu_seconds, peak_rss_mib};
use crate::fake::twilio_config;

/// The body of a broadcast as the throughput run's messages carry it (one GSM-7 segment).
const BODY: &str = "Kantor Imigrasi: layanan cetak paspor terganggu. Jadwal Anda tetap; paspor dicetak \
                    setelah layanan pulih. Info: imigrasi.go.id";

/// `--child --ceiling N`: sends N messages, then prints the report.
pub async fn run() {
    let fake: url::Url = arg("--fake", String::new()).parse().expect("--fake: a URL");
    let messages: usize = arg("--ceiling", 0);
    let concurrency: usize = arg("--concurrency", 64);
    let config = twilio_config(&fake, None);
    // kabar's provider client (src/deliver/providers/http.rs), setting for setting.
    let client = reqwest::Client::builder()
        .user_agent(concat!("kabar/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("an HTTP client");
    let endpoint = fake
        .join(&format!("2010-04-01/Accounts/{}/Messages.json", config.account_sid))
        .expect("the Messages URL");
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            config.account_sid,
            secrecy::ExposeSecret::expose_secret(&config.auth_token)
        ))
    );
    let mut stdin = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    println!("ready");
    let line = stdin.next_line().await.expect("read from the parent");
    assert_eq!(line.as_deref(), Some("go"), "the parent said {line:?}");

    let (cpu, started) = (cpu_seconds(), Instant::now());
    let sent = futures::stream::iter(0..messages)
        .map(|n| {
            let form =
                [("To", format!("+62812{n:08}")), ("From", "KANIM".to_owned()), ("Body", BODY.to_owned())];
            let request = client.post(endpoint.clone()).header("authorization", &authorization).form(&form);
            async move {
                let response = request.send().await.expect("the fake answers");
                let created = response.status() == reqwest::StatusCode::CREATED;
                // Read the answer as a provider does: the sid is in its JSON.
                let body: serde_json::Value = response.json().await.expect("a JSON answer");
                created && body["sid"].is_string()
            }
        })
        .buffer_unordered(concurrency)
        .filter(|accepted| std::future::ready(*accepted))
        .count()
        .await;
    let report = Report {
        claimed: messages,
        sent,
        failed: messages - sent,
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds() - cpu,
        peak_rss_mib: peak_rss_mib(),
        phases: None,
    };
    println!("{}", serde_json::to_string(&report).expect("a report"));
}
