//! kabar's worker against the raw ceiling, side by side: each throughput round is followed by a
//! ceiling round on a fresh fake, and the medians of both are printed with their ratio.

use crate::child::{Report, WorkerProcess};
use crate::fake::FakeTwilio;
use crate::runs::verdict;

/// What one round measured.
#[derive(Debug, Clone)]
pub struct Figures {
    pub engine: String,
    /// Messages sent.
    pub messages: u64,
    pub per_second: f64,
    /// CPU of the sending processes per message.
    pub cpu_micros: f64,
}

impl Figures {
    pub fn of(engine: String, reports: &[Report], seconds: f64) -> Figures {
        let sent: usize = reports.iter().map(|report| report.sent).sum();
        let cpu: f64 = reports.iter().map(|report| report.cpu_seconds).sum();
        Figures {
            engine,
            messages: sent as u64,
            per_second: sent as f64 / seconds,
            cpu_micros: cpu * 1e6 / sent.max(1) as f64,
        }
    }
}

/// The ceiling round: `workers` processes share `messages` POSTs, `concurrency` each.
pub async fn ceiling(engine: &str, messages: u64, workers: usize, concurrency: usize) -> Figures {
    let fake = FakeTwilio::start().await;
    let mut processes = Vec::with_capacity(workers);
    for number in 0..workers as u64 {
        let share = messages / workers as u64 + u64::from(number < messages % workers as u64);
        processes.push(WorkerProcess::start_ceiling(&fake.base_url, share, concurrency).await);
    }
    let started = std::time::Instant::now();
    for process in &mut processes {
        process.go().await;
    }
    let reports = futures::future::join_all(processes.into_iter().map(WorkerProcess::finish)).await;
    let seconds = started.elapsed().as_secs_f64();
    let figures = Figures::of(engine.to_owned(), &reports, seconds);
    let all = fake.accepted() as u64 == messages && fake.refused() == 0;
    println!(
        "{engine}: ceiling: {messages} POSTs from {workers} process(es) with kabar's client settings, \
         concurrency {concurrency} each, no database, in {seconds:.1} s = {:.0} messages/s, CPU {:.0} µs per \
         message; all accepted: {}",
        figures.per_second,
        figures.cpu_micros,
        verdict(all)
    );
    figures
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The medians over the rounds, the ratio, and the goals.
pub fn print(rounds: &[(Figures, Option<Figures>)], workers: usize) {
    let Some((first, _)) = rounds.first() else { return };
    let kabar = median(rounds.iter().map(|(kabar, _)| kabar.per_second).collect());
    let kabar_cpu = median(rounds.iter().map(|(kabar, _)| kabar.cpu_micros).collect());
    println!(
        "{}: kabar over {} round(s): median {kabar:.0} messages/s, {kabar_cpu:.0} µs of worker CPU per message",
        first.engine,
        rounds.len()
    );
    let ceilings: Vec<&Figures> = rounds.iter().filter_map(|(_, ceiling)| ceiling.as_ref()).collect();
    if ceilings.is_empty() {
        return;
    }
    let ceiling = median(ceilings.iter().map(|ceiling| ceiling.per_second).collect());
    let ceiling_cpu = median(ceilings.iter().map(|ceiling| ceiling.cpu_micros).collect());
    let ratio = kabar / ceiling;
    let label = match (first.engine.as_str(), workers) {
        ("SQLite", 1) => "sqlite".to_owned(),
        ("SQLite", n) => format!("sqlite, {n} workers"),
        (_, 1) => "postgres".to_owned(),
        (_, n) => format!("postgres, {n} workers"),
    };
    let (goal_ratio, goal_rate) = if first.engine == "SQLite" { (0.8, 20_000.0) } else { (0.7, 0.0) };
    println!(
        "{}: ceiling over {} round(s): median {ceiling:.0} messages/s, {ceiling_cpu:.0} µs of CPU per message",
        first.engine,
        ceilings.len()
    );
    println!(
        "ceiling ratio ({label}): {ratio:.2} (goal ≥ {goal_ratio}: {}{})",
        verdict(ratio >= goal_ratio),
        if goal_rate > 0.0 {
            format!("; ≥ {goal_rate:.0} messages/s: {}", verdict(kabar >= goal_rate))
        } else {
            String::new()
        }
    );
    println!(
        "{}: kabar's own work costs {:.0} µs of CPU per message beyond the bare client's",
        first.engine,
        kabar_cpu - ceiling_cpu
    );
}
