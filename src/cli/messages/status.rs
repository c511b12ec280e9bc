//! `kabar status`: the queue at a glance.

use std::process::ExitCode;

use chrono::Utc;
use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use super::rfc3339;
use crate::domain::Channel;
use crate::store::{MessageStatus, QueueStatus, Store};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

pub async fn status(store: &Store, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let status = store.queue_status(now).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status.to_json())?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", status_table(&status));
    let oldest =
        status.oldest_due_age.map(|age| format!(", oldest due for {}", span(age))).unwrap_or_default();
    let next = status.next_due_at.map(|at| format!(", next at {}", rfc3339(at))).unwrap_or_default();
    println!("queue: {} messages queued", status.depth());
    println!("  due now: {}{oldest}", status.due_now);
    println!("  waiting for quiet hours or a retry: {}{next}", status.waiting);
    println!("  being sent: {} ({} with an expired lease)", status.sending, status.expired_leases);
    Ok(ExitCode::SUCCESS)
}

/// Messages by channel (rows) and status (columns), with totals.
fn status_table(status: &QueueStatus) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["channel".to_owned()];
    header.extend(MessageStatus::ALL.iter().map(|status| status.to_string()));
    header.push("total".into());
    table.set_header(header);
    let channels: Vec<Option<Channel>> = Channel::ALL.iter().copied().map(Some).chain([None]).collect();
    for channel in channels {
        let counts: Vec<u64> = MessageStatus::ALL
            .iter()
            .map(|wanted| {
                status
                    .by_channel_status
                    .iter()
                    .filter(|(c, s, _)| *c == channel && s == wanted)
                    .map(|(_, _, count)| count)
                    .sum()
            })
            .collect();
        let mut row = vec![channel.map_or("no usable channel".to_owned(), |channel| channel.to_string())];
        row.extend(counts.iter().map(u64::to_string));
        row.push(counts.iter().sum::<u64>().to_string());
        table.add_row(row);
    }
    let mut total = vec!["all".to_owned()];
    total.extend(status.by_status.iter().map(|(_, count)| count.to_string()));
    total.push(status.by_status.iter().map(|(_, count)| count).sum::<u64>().to_string());
    table.add_row(total);
    table
}

/// `2d 3h`, `3h 20m`, `4m 5s`, `12s`: the two largest units are enough to judge a backlog.
fn span(age: chrono::Duration) -> String {
    let seconds = age.num_seconds().max(0);
    let (days, hours, minutes, seconds) =
        (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60, seconds % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m {seconds}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}
