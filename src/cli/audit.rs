//! `kabar audit` (read the log) and `kabar audit verify` (check its chain).

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use crate::audit::AuditFilter;
use crate::domain::{parse_date, OfficeCode};
use crate::store::Store;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every row's hash and its link to the row before; name the first row altered or missing
    Verify {
        /// Print the verdict as JSON
        #[arg(long)]
        json: bool,
    },
}

/// `kabar audit`: the rows, oldest first.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Only rows from this instant on: YYYY-MM-DD HH:MM (read as WIB), RFC 3339 with an offset, or
    /// a date (YYYY-MM-DD, from 00:00 WIB)
    #[arg(long, value_name = "DATETIME")]
    pub since: Option<String>,
    /// Only this actor (cli:budi, staff:ani, system:retention), or every actor of a kind (staff:)
    #[arg(long)]
    pub actor: Option<String>,
    /// Only rows about this office
    #[arg(long)]
    pub office: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Jsonl,
}

pub(super) async fn run(store: &Store, args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(AuditCommand::Verify { json }) => verify(store, json).await,
        None => read(store, args.read).await,
    }
}

/// `--since`: the typed-time forms, or a date (from 00:00 WIB).
fn since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    match parse_date(text) {
        Ok(day) => super::time::typed_instant("--since", &format!("{day} 00:00")),
        Err(_) => super::time::typed_instant("--since", text),
    }
}

async fn read(store: &Store, args: ReadArgs) -> anyhow::Result<ExitCode> {
    let filter = AuditFilter {
        since: args.since.as_deref().map(since).transpose()?,
        actor: args.actor.map(|actor| actor.trim().to_owned()),
        office: args.office.map(|code| code.parse::<OfficeCode>()).transpose().context("--office")?,
    };
    match args.format {
        Format::Jsonl => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            store
                .audit_records(&filter, |record| {
                    serde_json::to_writer(&mut out, &record)?;
                    out.write_all(b"\n")
                })
                .await?;
            out.flush()?;
        }
        Format::Table => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header(["id", "time (UTC)", "actor", "action", "target", "offices", "summary"]);
            let rows = store
                .audit_records(&filter, |record| {
                    table.add_row([
                        record.id.to_string(),
                        record.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        record.actor,
                        record.action,
                        record.target,
                        record.offices.join(","),
                        record.summary.to_string(),
                    ]);
                    Ok(())
                })
                .await?;
            if rows == 0 {
                println!("no audit rows match");
            } else {
                println!("{table}");
                println!("{rows} rows");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let verdict = store.verify_audit().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&verdict)?);
    }
    match &verdict.problem {
        None => {
            if !json {
                println!("audit log intact: {} rows, every hash and link checks", verdict.rows);
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(problem) => {
            eprintln!("audit log broken: {problem} ({} rows before it check)", verdict.rows);
            Ok(ExitCode::FAILURE)
        }
    }
}
