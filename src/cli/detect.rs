//! `kabar probes` (what automatic detection sees) and `kabar state proposals|confirm|dismiss`
//! (what staff do with what it proposes).

use std::process::ExitCode;

use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use crate::audit::Origin;
use crate::detect::proposals::Decided;
use crate::detect::{DetectConfig, Proposal};
use crate::domain::{format_short, TimeZone};
use crate::store::Store;

/// `kabar probes`.
#[derive(Debug, Args)]
pub struct ProbesArgs {
    /// Print the systems as JSON
    #[arg(long)]
    pub json: bool,
}

fn wib() -> TimeZone {
    "Asia/Jakarta".parse().expect("a known zone")
}

fn when(instant: Option<chrono::DateTime<chrono::Utc>>) -> String {
    instant.map_or_else(|| "-".to_owned(), |instant| format_short(instant, wib()))
}

/// Each configured system: its health, its last probes and the next one.
pub(super) async fn probes(
    store: &Store,
    config: &DetectConfig,
    args: ProbesArgs,
) -> anyhow::Result<ExitCode> {
    let systems = config.checked_systems().map_err(anyhow::Error::msg)?;
    let known = store.detect_systems().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&known)?);
        return Ok(ExitCode::SUCCESS);
    }
    if systems.is_empty() && known.is_empty() {
        println!(
            "no systems to probe: describe them under [[detect.systems]] in kabar.toml (see the README)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "system",
        "health",
        "last probes",
        "last result",
        "last failure",
        "last probe",
        "next probe",
    ]);
    for system in &systems {
        let Some(row) = known.iter().find(|row| row.name == system.name) else {
            table.add_row([system.name.as_str(), "not probed yet", "", "", "", "-", "at the next start"]);
            continue;
        };
        let recent: String = row.recent.chars().map(|c| if c == '1' { '✓' } else { '✗' }).collect();
        table.add_row([
            row.name.clone(),
            row.health.as_str().to_owned(),
            recent,
            row.last_detail.clone().unwrap_or_default(),
            row.last_failure.clone().unwrap_or_default(),
            when(row.last_at),
            when(row.next_at),
        ]);
    }
    for row in known.iter().filter(|row| !systems.iter().any(|system| system.name == row.name)) {
        table.add_row([row.name.as_str(), row.health.as_str(), "", "no longer configured", "", "", ""]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// Open proposals (all with `all`), newest first.
pub(super) async fn list(store: &Store, all: bool, json: bool) -> anyhow::Result<ExitCode> {
    let proposals = store.detect_proposals(all).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&proposals)?);
        return Ok(ExitCode::SUCCESS);
    }
    if proposals.is_empty() {
        println!("{}", if all { "no proposals yet" } else { "no open proposals" });
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "id",
        "kind",
        "status",
        "offices",
        "services",
        "what the probes saw",
        "opened",
        "applied by kabar at",
    ]);
    for proposal in &proposals {
        table.add_row([
            proposal.id.to_string(),
            proposal.kind.as_str().to_owned(),
            status_text(proposal),
            proposal.offices.clone(),
            proposal.services.iter().map(|service| service.as_str()).collect::<Vec<_>>().join(", "),
            proposal.detail.clone(),
            when(Some(proposal.created_at)),
            proposal.apply_at.map_or_else(|| "never (staff decide)".to_owned(), |at| when(Some(at))),
        ]);
    }
    println!("{table}");
    if proposals.iter().any(|proposal| proposal.status == crate::detect::ProposalStatus::Open) {
        println!(
            "confirm with `kabar state confirm ID`, or dismiss with `kabar state dismiss ID --note TEXT`"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status_text(proposal: &Proposal) -> String {
    match (&proposal.decided_by, &proposal.note) {
        (Some(by), Some(note)) => format!("{} by {by}: {note}", proposal.status.as_str()),
        (Some(by), None) => format!("{} by {by}", proposal.status.as_str()),
        _ => proposal.status.as_str().to_owned(),
    }
}

/// `kabar state confirm ID`: applies it now, as whoever runs the command.
pub(super) async fn confirm(store: &Store, id: i64) -> anyhow::Result<ExitCode> {
    let decided = crate::detect::confirm(store, id, &Origin::cli(), chrono::Utc::now()).await?;
    println!("{}", decided_text(id, decided));
    Ok(ExitCode::SUCCESS)
}

/// `kabar state dismiss ID`: nothing changes.
pub(super) async fn dismiss(store: &Store, id: i64, note: Option<String>) -> anyhow::Result<ExitCode> {
    let decided =
        crate::detect::dismiss(store, id, note.as_deref(), &Origin::cli(), chrono::Utc::now()).await?;
    println!("{}", decided_text(id, decided));
    Ok(ExitCode::SUCCESS)
}

fn decided_text(id: i64, decided: Decided) -> String {
    match decided {
        Decided::Applied(changed) => format!(
            "proposal {id} applied: {changed} service states changed; applicants are told after the settle window"
        ),
        Decided::Dropped => format!("proposal {id} dropped: the states already matched, nothing changed"),
        Decided::Dismissed => format!(
            "proposal {id} dismissed: nothing changed; the same outage proposes nothing again until the system \
             has recovered and failed again"
        ),
        Decided::AlreadyDecided => format!("proposal {id} was decided by someone else in the meantime"),
    }
}
