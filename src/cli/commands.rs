use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;

use super::{Command, DemoCommand, ImportCommand, StateCommand, TemplatesCommand};
use crate::config::Config;
use crate::demo::{self, SeedSpec};
use crate::domain::{format_short, Channel, Language, OfficeCode, Service, ServiceState, TypedTime};
use crate::import::{self, ImportOptions, ImportReport};
use crate::render::{self, Catalogue, NoticeKind};
use crate::state::{self, StateChange, Target};
use crate::store::Store;

pub(super) async fn run(
    command: Command,
    config: Config,
    config_file: Option<std::path::PathBuf>,
    overrides: crate::config::Overrides,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Config => {
            println!("{}", super::config_show::show(&config, config_file.as_deref(), &overrides));
            return Ok(ExitCode::SUCCESS);
        }
        // Templates need no database; the demo makes its own.
        Command::Templates(templates) => return run_templates(&config, templates),
        Command::Demo(super::DemoArgs { command: None, run }) => return super::serve::run_demo(run).await,
        _ => {}
    }
    let store = Store::open(&config.database_url).await?;
    let code = match command {
        Command::Config | Command::Templates(_) => unreachable!("handled above"),
        Command::Migrate => {
            println!("database {} is up to date", config.database_url);
            ExitCode::SUCCESS
        }
        Command::Import(import) => run_import(&store, &config, import).await?,
        Command::State(state) => run_state(&store, &config, state).await?,
        Command::Probes(args) => super::detect::probes(&store, &config.detect, args).await?,
        Command::Demo(super::DemoArgs { command: Some(demo), .. }) => run_demo(&store, demo).await?,
        Command::Demo(super::DemoArgs { command: None, .. }) => unreachable!("handled above"),
        Command::Serve(_) => super::serve::serve(&store, &config, true, Some(config.http.listen)).await?,
        Command::Worker(args) => super::serve::serve(&store, &config, false, args.listen).await?,
        Command::Plan { at, json } => run_plan(&store, &config, at, json).await?,
        Command::Broadcast(command) => super::broadcast::run(&store, &config, *command).await?,
        Command::Messages(command) => super::messages::run(&store, command).await?,
        Command::Status(args) => super::messages::status(&store, args).await?,
        Command::Applicant(command) => super::privacy::run(&store, command).await?,
        Command::Purge(args) => super::privacy::purge(&store, &config, args).await?,
        Command::Audit(args) => super::audit::run(&store, args).await?,
        Command::Staff(command) => super::staff::run_staff(&store, command).await?,
        Command::Token(command) => super::staff::run_token(&store, command).await?,
    };
    store.close().await;
    Ok(code)
}

async fn run_import(store: &Store, config: &Config, command: ImportCommand) -> anyhow::Result<ExitCode> {
    let (args, bookings) = match command {
        ImportCommand::Offices(args) => (args, false),
        ImportCommand::Bookings(args) => (args, true),
    };
    let options = ImportOptions {
        strict: args.strict,
        batch_size: config.import.batch_size,
        progress: std::io::stderr().is_terminal(),
        numbers: config.import.allowed_countries.clone(),
        ..ImportOptions::default()
    };
    let report = if bookings {
        import::import_bookings(store, &args.file, &options).await?
    } else {
        import::import_offices(store, &args.file, &options).await?
    };
    print_report(&report, args.json)?;
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
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

async fn run_state(store: &Store, config: &Config, command: StateCommand) -> anyhow::Result<ExitCode> {
    match command {
        StateCommand::Set { office, service, state, reason, until, actor, dry_run, json } => {
            let change = StateChange {
                target: office.parse::<Target>().context("OFFICE")?,
                service: service.parse::<Service>().context("SERVICE")?,
                state: state.parse::<ServiceState>().context("STATE")?,
                reason,
                until,
                actor: actor.unwrap_or_else(|| std::env::var("USER").unwrap_or_else(|_| "staff".into())),
                at: chrono::Utc::now(),
            };
            if dry_run {
                super::dry_run::dry_run(store, config, &change, json).await?;
                return Ok(ExitCode::SUCCESS);
            }
            let applied = state::set_state_by(store, &change, Some(&crate::audit::Origin::cli())).await?;
            if change
                .until
                .as_deref()
                .and_then(|until| until.parse::<TypedTime>().ok())
                .is_some_and(TypedTime::is_local)
            {
                eprintln!("--until has no offset: read in each office's own time zone (WIB, WITA or WIT)");
            }
            let offices = store.office_directory().await?;
            println!("{}", state_set_summary(&change, &applied, &offices));
        }
        StateCommand::Proposals { all, json } => return super::detect::list(store, all, json).await,
        StateCommand::Confirm { id } => return super::detect::confirm(store, id).await,
        StateCommand::Dismiss { id, note } => return super::detect::dismiss(store, id, note).await,
        StateCommand::Show { office } => {
            let office = office.map(|code| code.parse::<OfficeCode>()).transpose().context("OFFICE")?;
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

/// What `state set` did, one line per office that changed or was updated, then a summary line.
fn state_set_summary(
    change: &StateChange,
    applied: &[crate::store::AppliedChange],
    offices: &crate::store::OfficeDirectory,
) -> String {
    let mut lines = Vec::new();
    let expected = |applied: &crate::store::AppliedChange| {
        let zone = offices.office(&applied.office).map(|office| office.timezone);
        match (applied.expected_at, zone) {
            (Some(at), Some(zone)) => format!("expected back {} (office-local time)", format_short(at, zone)),
            _ => "no expected restoration".to_owned(),
        }
    };
    for applied in applied.iter().filter(|applied| applied.changed) {
        if applied.updated {
            lines.push(format!(
                "{} {}: still {}, update: new reason or expected restoration ({}); applicants \
                 already told get one update message",
                applied.office,
                applied.service,
                applied.to,
                expected(applied)
            ));
        } else {
            let until = match applied.expected_at {
                Some(_) => format!(", {}", expected(applied)),
                None => String::new(),
            };
            lines.push(format!(
                "{} {}: {} → {}{until}",
                applied.office, applied.service, applied.from, applied.to
            ));
        }
    }
    let updated = applied.iter().filter(|applied| applied.updated).count();
    let changed = applied.iter().filter(|applied| applied.changed).count() - updated;
    let same = applied.len() - changed - updated;
    if changed + updated == 0 {
        lines.push(format!(
            "no change: {} is already {} at {} office(s), with the same reason and expected \
             restoration; nothing will be sent",
            change.service,
            change.state,
            applied.len()
        ));
    } else {
        lines.push(format!(
            "{} {}: changed at {changed} office(s), updated at {updated}, unchanged at {same}",
            change.service, change.state
        ));
    }
    lines.join("\n")
}

async fn run_plan(
    store: &Store,
    config: &Config,
    at: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let now = match at {
        Some(text) => super::time::typed_instant("--at", &text)?,
        None => chrono::Utc::now(),
    };
    let events = crate::plan::plan_once(store, &config.planner, now).await?;
    let broadcasts = crate::plan::broadcast::plan_due(store, &config.planner, now).await?;
    let subscriber_updates = crate::status::subscriptions::plan_updates(store, &config.planner, now).await?;
    if json {
        let planned = serde_json::json!({"events": events, "broadcasts": broadcasts, "subscriber_updates": subscriber_updates});
        println!("{}", serde_json::to_string_pretty(&planned)?);
        return Ok(ExitCode::SUCCESS);
    }
    for planned in &broadcasts {
        let counts = &planned.counts;
        println!(
            "broadcast {}: {} messages planned over {} offices ({} with no usable channel, {} held for quiet hours)",
            planned.broadcast_id, counts.messages, planned.offices, counts.unreachable, counts.deferred
        );
    }
    for event in &events {
        let counts = &event.counts;
        let what = match (&event.service, &event.from, &event.to, &event.slot) {
            (Some(service), _, Some(to), _) if event.update => {
                format!("{service}: update (still {to}, new reason or expected restoration)")
            }
            (Some(service), Some(from), Some(to), _) => format!("{service}: {from} → {to}"),
            (_, _, _, Some(slot)) => format!("status update of {slot}"),
            _ => String::new(),
        };
        let superseded = match counts.superseded {
            0 => String::new(),
            n => format!("; {n} earlier messages not yet sent were superseded (cancelled)"),
        };
        println!(
            "{} {what}: {} messages planned ({} with no usable channel, {} held for quiet hours){superseded}",
            event.office, counts.messages, counts.unreachable, counts.deferred
        );
    }
    if subscriber_updates > 0 {
        println!("status subscribers: {subscriber_updates} update emails planned");
    }
    if events.is_empty() && broadcasts.is_empty() && subscriber_updates == 0 {
        println!("nothing to plan: no state change has settled since the last run");
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_demo(store: &Store, command: DemoCommand) -> anyhow::Result<ExitCode> {
    let DemoCommand::Seed { bookings, seed, offices, today, csv, force } = command;
    let real = demo::real_bookings(store).await?;
    anyhow::ensure!(
        force || real == 0,
        "the database holds {real} real bookings; demo data would be mixed with real applicants. \
         Use another database (--database-url demo.db) or pass --force"
    );
    let today = match today {
        Some(day) => crate::domain::parse_date(&day).context("--today")?,
        // Today in Jakarta, wherever the server's clock is set.
        None => chrono::Utc::now().with_timezone(&chrono_tz::Asia::Jakarta).date_naive(),
    };
    anyhow::ensure!(
        bookings <= demo::MAX_BOOKINGS,
        "--bookings {bookings} is too many; at most {}",
        demo::MAX_BOOKINGS
    );
    let seed_offices = demo::load_offices(store, offices, seed).await?;
    let spec = SeedSpec::new(bookings, seed, today);
    let progress = std::io::stderr().is_terminal();
    match csv {
        Some(path) => {
            let file =
                std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            let rows = tokio::task::spawn_blocking(move || {
                let generated = demo::bookings(&spec, &seed_offices);
                demo::write_bookings_csv(generated, &seed_offices, std::io::BufWriter::new(file))
            })
            .await??;
            println!(
                "wrote {rows} bookings to {} (offices stored, ready for `kabar import bookings`)",
                path.display()
            );
        }
        None => {
            let report = demo::seed_bookings(store, &spec, &seed_offices, progress).await?;
            println!(
                "seeded {} offices, {} bookings, {} applicants (seed {seed}, appointments from {today})",
                report.offices, report.bookings, report.applicants
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_templates(config: &Config, command: TemplatesCommand) -> anyhow::Result<ExitCode> {
    let catalogue = match &config.templates.dir {
        Some(dir) => Catalogue::with_overrides(dir)?,
        None => Catalogue::builtin(),
    };
    match command {
        TemplatesCommand::Check { json } => {
            let problems = render::check(&catalogue);
            if json {
                println!("{}", serde_json::to_string_pretty(&problems)?);
            } else {
                for problem in &problems {
                    eprintln!("{problem}");
                }
            }
            if problems.is_empty() {
                if !json {
                    println!("templates ok: every notice kind has id and en for sms, whatsapp and email");
                }
                Ok(ExitCode::SUCCESS)
            } else {
                if !json {
                    eprintln!("{} template problem(s)", problems.len());
                }
                Ok(ExitCode::FAILURE)
            }
        }
        TemplatesCommand::Preview { kind, channel, lang, json } => {
            let kind = kind.parse::<NoticeKind>().context("KIND")?;
            let channel = channel.parse::<Channel>().context("--channel")?;
            let language = lang.parse::<Language>().context("--lang")?;
            let preview = render::preview(&catalogue, kind, channel, language)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&preview)?);
            } else {
                println!("{preview}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
