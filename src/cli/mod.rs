//! The command line. `main.rs` only calls [`main`]; every command is a small function over the
//! library, so each can also be driven from a test.

mod audit;
mod broadcast;
mod commands;
mod config_show;
mod detect;
mod dry_run;
mod messages;
mod privacy;
mod serve;
mod staff;
mod time;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};

/// kabar tells M-Paspor applicants, by WhatsApp, SMS or email, when their immigration office's
/// services change state.
#[derive(Debug, Parser)]
#[command(name = "kabar", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file [default: kabar.toml in the working directory, if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database: a SQLite file or postgres://… [default: kabar.db; env KABAR_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log filter, e.g. info or kabar=debug [env KABAR_LOG]
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the database migrations (also done at every start)
    Migrate,
    /// Import offices or M-Paspor bookings from CSV
    #[command(subcommand)]
    Import(ImportCommand),
    /// Set or show the state of office services
    #[command(subcommand)]
    State(StateCommand),
    /// Plan the messages of every settled state change: who hears what, on which channel, when
    Plan {
        /// Plan as of this instant: YYYY-MM-DD HH:MM (read as WIB) or RFC 3339 with an offset
        /// [default: now]
        #[arg(long, value_name = "DATETIME")]
        at: Option<String>,
        /// Print the planned events as JSON
        #[arg(long)]
        json: bool,
    },
    /// Send a notice or staff-written text to a filtered audience: preview, send, cancel, show
    #[command(subcommand)]
    Broadcast(Box<broadcast::BroadcastCommand>),
    /// What became of the messages: the delivery report and the call list
    #[command(subcommand)]
    Messages(messages::MessagesCommand),
    /// Show the queue: messages by status and channel, what is due, what waits
    Status(messages::StatusArgs),
    /// Replay the June 2024 outage on demo data and deliver every message to a log file; `demo
    /// seed` only generates data
    Demo(DemoArgs),
    /// Run the planner, the delivery worker and the HTTP server (receipts when configured,
    /// /healthz, /readyz, /metrics) until Ctrl-C or SIGTERM
    Serve(ServeArgs),
    /// Run only a delivery worker (more workers on PostgreSQL share the queue); with --listen, also
    /// /healthz, /readyz and /metrics
    Worker(WorkerArgs),
    /// Check or preview the message templates
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Show the effective configuration (passwords masked)
    Config,
    /// What kabar holds on one applicant (show), and erasing it (erase)
    #[command(subcommand)]
    Applicant(privacy::ApplicantCommand),
    /// Apply the retention policy now: anonymise old finished messages, remove closed bookings and
    /// applicants with none left (`kabar serve` does it daily)
    Purge(privacy::PurgeArgs),
    /// Read the audit log (who changed what, when), or verify its hash chain
    Audit(audit::AuditArgs),
    /// What automatic detection sees: each upstream system of [detect], its health, its last probes
    Probes(detect::ProbesArgs),
    /// Staff accounts of the staff API: add, list, disable, enable, set-role, reset-password
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// API tokens for machines (M-Paspor's booking sync, dashboards): create, list, revoke
    #[command(subcommand)]
    Token(staff::TokenCommand),
}

/// `kabar serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The HTTP server's address, e.g. 0.0.0.0:8080; port 0 takes a free port and prints it
    /// [default: http.listen, 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Serve /healthz, /readyz and /metrics on this address (port 0: a free port, printed); none
    /// by default (`kabar serve` on the same machine holds http.listen)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import the office reference list (columns code,name,timezone,kind,parent_code,class,region,tpi)
    Offices(ImportArgs),
    /// Import an M-Paspor booking export (see the README for the columns)
    Bookings(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, header row first)
    pub file: PathBuf,
    /// Write nothing unless every row is valid
    #[arg(long)]
    pub strict: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Change the state of a service at one office, a list (PLG,GTO), a region (region:NAME) or all
    Set {
        /// Office code, comma-separated codes, region:NAME, or all
        office: String,
        /// registration, biometrics, printing, epassport, express, pickup, stay_permit,
        /// border_crossing, visa or travel_ban
        service: String,
        /// operational, degraded or unavailable
        state: String,
        /// What happened (required unless the service is operational again)
        #[arg(long)]
        reason: Option<String>,
        /// Expected restoration: YYYY-MM-DD HH:MM in each office's own local time, or RFC 3339
        /// with an offset; must be in the future
        #[arg(long, value_name = "DATETIME")]
        until: Option<String>,
        /// Who made the change [default: $USER]
        #[arg(long)]
        actor: Option<String>,
        /// Change nothing: print who would hear (applicants and bookings by channel and notice,
        /// SMS segments, cost, first send), as the API's dry run counts them
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: print the counts as JSON
        #[arg(long, requires = "dry_run")]
        json: bool,
    },
    /// Show the state board: all disrupted services, or every service of one office
    Show {
        /// An office code
        office: Option<String>,
    },
    /// The state changes automatic detection proposes (open ones unless --all)
    Proposals {
        /// Also the applied, dismissed and dropped ones
        #[arg(long)]
        all: bool,
        /// Print the proposals as JSON
        #[arg(long)]
        json: bool,
    },
    /// Apply a proposal of automatic detection now
    Confirm {
        /// The proposal's id (`kabar state proposals`)
        id: i64,
    },
    /// Dismiss a proposal: nothing changes, and the same outage proposes nothing again
    Dismiss {
        /// The proposal's id (`kabar state proposals`)
        id: i64,
        /// Why (kept with the proposal and in the audit log)
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DemoArgs {
    #[command(subcommand)]
    pub command: Option<DemoCommand>,
    #[command(flatten)]
    pub run: DemoRunArgs,
}

/// `kabar demo`: the newcomer's first run.
#[derive(Debug, Args)]
pub struct DemoRunArgs {
    /// How many bookings to generate
    #[arg(long, default_value_t = 20_000)]
    pub bookings: usize,
    /// Random seed: the same seed gives the same bookings and messages
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// The demo database, made afresh on every run (a SQLite file)
    #[arg(long, default_value = "kabar-demo.db", value_name = "FILE")]
    pub db: std::path::PathBuf,
    /// Where the log provider writes every message, one JSON line each
    #[arg(long, default_value = "kabar-demo-messages.jsonl", value_name = "FILE")]
    pub messages: std::path::PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Fill the database with the reference offices and realistic, deterministic bookings
    Seed {
        /// How many bookings to generate
        #[arg(long, default_value_t = 20_000)]
        bookings: usize,
        /// Random seed: the same seed gives the same bookings
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        /// Total offices, adding synthetic ones to the reference list when larger
        #[arg(long)]
        offices: Option<usize>,
        /// The day appointments are generated around [default: today]
        #[arg(long, value_name = "YYYY-MM-DD")]
        today: Option<String>,
        /// Write the bookings as an M-Paspor CSV export to this file instead of storing them
        /// (the offices are still stored, so the file can be imported)
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Seed even though the database holds real (non-demo) bookings
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Validate every template of every notice kind, channel and language against sample data
    Check {
        /// Print the problems as JSON
        #[arg(long)]
        json: bool,
    },
    /// Render one notice with sample data, with its SMS encoding and segment count
    Preview {
        /// appointment_postponed, appointment_unchanged, issuance_delayed, express_suspended,
        /// pickup_suspended, service_restored, ready_for_pickup, status_update or broadcast
        kind: String,
        /// sms, whatsapp or email
        #[arg(long, default_value = "sms")]
        channel: String,
        /// id or en
        #[arg(long, default_value = "id")]
        lang: String,
        /// Print the rendering as JSON
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line, loads the configuration and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let listen = match &cli.command {
        Command::Serve(args) => args.listen,
        _ => None,
    };
    let overrides = Overrides {
        database_url: cli.database_url.clone(),
        log: cli.log.clone(),
        http: listen.map(|listen| crate::config::HttpOverrides { listen: Some(listen) }),
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("kabar: {err}");
            return ExitCode::from(2);
        }
    };
    crate::observe::logging::init(&config.log, config.log_format);
    for line in &config.deprecations {
        tracing::warn!("{line}");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("kabar: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command, config, cli.config, overrides)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("kabar: {err:#}");
            ExitCode::FAILURE
        }
    }
}
