use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;

use super::{Command, DemoCommand, ImportCommand, StateCommand};
use crate::config::Config;
use crate::domain::{OfficeCode, Service, ServiceState};
use crate::import::{self, ImportOptions, ImportReport};
use crate::state::{self, StateChange, Target};
use crate::store::Store;

pub(super) async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    if let Command::Config = command {
        println!("database_url = {:?}", config.database_url.to_string());
        println!("log = {:?}", config.log);
        println!("[import]\nbatch_size = {}", config.import.batch_size);
        return Ok(ExitCode::SUCCESS);
    }
    let store = Store::open(&config.database_url).await?;
    let code = match command {
        Command::Config => unreachable!("handled above"),
        Command::Migrate => {
            println!("database {} is up to date", config.database_url);
            ExitCode::SUCCESS
        }
        Command::Import(import) => run_import(&store, &config, import).await?,
        Command::State(state) => run_state(&store, state).await?,
        Command::Demo(demo) => run_demo(&store, demo).await?,
    };
    store.close().await;
    Ok(code)
}

async fn run_import(
    store: &Store,
    config: &Config,
    command: ImportCommand,
) -> anyhow::Result<ExitCode> {
    let (args, bookings) = match command {
        ImportCommand::Offices(args) => (args, false),
        ImportCommand::Bookings(args) => (args, true),
    };
    let options = ImportOptions {
        strict: args.strict,
        batch_size: config.import.batch_size,
        progress: std::io::stderr().is_terminal(),
    };
    let report = if bookings {
        import::import_bookings(store, &args.file, &options).await?
    } else {
        import::import_offices(store, &args.file, &options).await?
    };
    print_report(&report, args.json)?;
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(report: &ImportReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else if report.is_clean() {
        println!("{report}");
    } else {
        eprintln!("{report}");
    }
    Ok(())
}

async fn run_state(store: &Store, command: StateCommand) -> anyhow::Result<ExitCode> {
    match command {
        StateCommand::Set {
            office,
            service,
            state,
            reason,
            until,
            actor,
        } => {
            let change = StateChange {
                target: office.parse::<Target>().context("OFFICE")?,
                service: service.parse::<Service>().context("SERVICE")?,
                state: state.parse::<ServiceState>().context("STATE")?,
                reason,
                until,
                actor: actor
                    .unwrap_or_else(|| std::env::var("USER").unwrap_or_else(|_| "staff".into())),
                at: chrono::Utc::now(),
            };
            let applied = state::set_state(store, &change).await?;
            let changed: Vec<_> = applied.iter().filter(|applied| applied.changed).collect();
            for applied in &changed {
                println!(
                    "{} {}: {} → {}",
                    applied.office, applied.service, applied.from, applied.to
                );
            }
            println!(
                "{} {} at {} office(s); {} already were",
                change.service,
                change.state,
                changed.len(),
                applied.len() - changed.len()
            );
        }
        StateCommand::Show { office } => {
            let office = office
                .map(|code| code.parse::<OfficeCode>())
                .transpose()
                .context("OFFICE")?;
            let offices = store.office_directory().await?;
            if let Some(code) = &office {
                if offices.office(code).is_none() {
                    anyhow::bail!("unknown office {code}");
                }
            }
            let rows = store.service_board(office.as_ref()).await?;
            println!("{}", state::board_table(&offices, &rows, office.as_ref()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_demo(_store: &Store, command: DemoCommand) -> anyhow::Result<ExitCode> {
    match command {
        DemoCommand::Seed { .. } => anyhow::bail!("demo seed is not wired yet"),
    }
}
