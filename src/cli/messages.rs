//! `kabar messages export|call-list` and `kabar status`: what became of the messages.

mod status;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::SecondsFormat;
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use crate::domain::format_short;
use crate::report::{codes, joined_codes, line, rfc3339, spreadsheet_safe, EXPORT_COLUMNS};
use crate::store::{CallBooking, CallListEntry, MessageFilter, OfficeDirectory, ReportError, Store};

pub use status::{status, StatusArgs};

#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// Write the delivery report: one row per message (CSV or JSON lines)
    ///
    /// Each row has the message id, incident or broadcast, office, booking codes, phone number,
    /// channel, provider, notice kind, language, status, attempts, failure class and reason, and
    /// timestamps (RFC 3339, UTC). Phone numbers are masked unless --full-phone is given.
    Export(ExportArgs),
    /// List the applicants no channel reached, for staff to phone (personal data)
    ///
    /// One entry per applicant whose notice is unreachable (no usable channel) or failed (every
    /// channel tried failed), with their full phone number, email, bookings and why, by office
    /// then soonest appointment. The list holds personal data: share it only with the staff who
    /// call.
    CallList(CallListArgs),
    /// Record what came of phoning an applicant about a booking (audited as cli:<OS user>)
    ///
    /// OUTCOME is reached, no_answer, wrong_number or voicemail. The last outcome shows in the
    /// call list; a reached applicant leaves it.
    RecordCall(RecordCallArgs),
}

#[derive(Debug, Args)]
pub struct RecordCallArgs {
    /// The booking code, e.g. MP-2024-000123
    booking: String,
    /// reached, no_answer, wrong_number or voicemail
    outcome: String,
    /// A short note for the next caller (at most 500 characters)
    #[arg(long)]
    note: Option<String>,
}

/// Which messages: all, one incident's or one broadcast's.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Only the messages of this incident
    #[arg(long, value_name = "ID", conflicts_with = "broadcast")]
    incident: Option<i64>,
    /// Only the messages of this broadcast
    #[arg(long, value_name = "ID")]
    broadcast: Option<i64>,
}

impl ScopeArgs {
    fn filter(&self) -> MessageFilter {
        MessageFilter { incident: self.incident, broadcast: self.broadcast }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    scope: ScopeArgs,
    /// csv (a header row, then one row per message; booking codes joined with +) or jsonl (one
    /// JSON object per line)
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    format: ExportFormat,
    /// Write whole phone numbers instead of masked ones (+62812****7890). The file then holds
    /// applicants' personal data: keep and share it only as their data may be
    #[arg(long)]
    full_phone: bool,
    /// Write to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct CallListArgs {
    #[command(flatten)]
    scope: ScopeArgs,
    /// table (for reading) or csv (for a spreadsheet; appointments in RFC 3339, office local time)
    #[arg(long, value_enum, default_value_t = CallListFormat::Table)]
    format: CallListFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CallListFormat {
    Table,
    Csv,
}

pub(super) async fn run(store: &Store, command: MessagesCommand) -> anyhow::Result<ExitCode> {
    match command {
        MessagesCommand::Export(args) => export(store, args).await,
        MessagesCommand::CallList(args) => call_list(store, args).await,
        MessagesCommand::RecordCall(args) => record_call(store, args).await,
    }
}

async fn export(store: &Store, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let filter = args.scope.filter();
    // Before a file is created: an unknown id leaves nothing behind.
    store.check_message_filter(&filter).await?;
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let written = write_export(store, &filter, &args, out).await;
    let written = match written {
        Ok(written) => written,
        // `kabar messages export | head` closes the pipe early: not an error.
        Err(ReportError::Write(err))
            if args.output.is_none() && err.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            return Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            if let Some(path) = &args.output {
                // A half-written report would pass for a complete one.
                let _ = std::fs::remove_file(path);
            }
            return Err(err.into());
        }
    };
    let phones = if args.full_phone { "whole phone numbers: personal data" } else { "phone numbers masked" };
    match &args.output {
        Some(path) => println!("exported {written} messages to {} ({phones})", path.display()),
        None => eprintln!("exported {written} messages ({phones})"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn write_export(
    store: &Store,
    filter: &MessageFilter,
    args: &ExportArgs,
    out: Box<dyn Write + Send>,
) -> Result<u64, ReportError> {
    let full_phone = args.full_phone;
    match args.format {
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(out);
            writer.write_record(EXPORT_COLUMNS).map_err(|err| ReportError::Write(io_error(err)))?;
            let written = store
                .export_messages(filter, |row| {
                    writer.serialize(line(&row, joined_codes(&row), full_phone, true)).map_err(io_error)
                })
                .await?;
            writer.flush().map_err(ReportError::Write)?;
            Ok(written)
        }
        ExportFormat::Jsonl => {
            let mut out = out;
            let written = store
                .export_messages(filter, |row| {
                    serde_json::to_writer(&mut out, &line(&row, codes(&row), full_phone, false))?;
                    out.write_all(b"\n")
                })
                .await?;
            out.flush().map_err(ReportError::Write)?;
            Ok(written)
        }
    }
}

/// A CSV error as an I/O error of the same kind, so a closed pipe is still recognised as one
/// (csv's own conversion makes every error `Other`).
fn io_error(err: csv::Error) -> std::io::Error {
    let kind = match err.kind() {
        csv::ErrorKind::Io(io) => io.kind(),
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, err)
}

async fn call_list(store: &Store, args: CallListArgs) -> anyhow::Result<ExitCode> {
    let entries = store.call_list(&args.scope.filter()).await?;
    let offices = store.office_directory().await?;
    match args.format {
        CallListFormat::Table => {
            if entries.is_empty() {
                println!("nobody to phone: no message of these is unreachable or failed");
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header([
                "office",
                "name",
                "mobile",
                "email",
                "bookings",
                "missed notices",
                "why",
                "last call",
            ]);
            for entry in &entries {
                table.add_row([
                    entry.office.to_string(),
                    entry.name.clone(),
                    entry.mobile.e164().to_owned(),
                    entry.email.as_ref().map(|email| email.as_str().to_owned()).unwrap_or_default(),
                    bookings(entry, &offices, "\n"),
                    notices(entry, "\n"),
                    reasons(entry, "\n"),
                    last_call(entry, &offices),
                ]);
            }
            println!("{table}");
            let missed: usize = entries.iter().map(|entry| entry.missed.len()).sum();
            let reached = entries.iter().filter(|entry| !entry.to_call()).count();
            let by_phone = if reached > 0 { format!(", {reached} reached by phone") } else { String::new() };
            println!(
                "{} applicants to phone{by_phone} ({missed} notices reached nobody)",
                entries.len() - reached
            );
        }
        CallListFormat::Csv => {
            let mut writer = csv::Writer::from_writer(std::io::stdout());
            writer.write_record([
                "office",
                "name",
                "mobile",
                "email",
                "first_appointment",
                "bookings",
                "missed_notices",
                "why",
                "last_call",
            ])?;
            for entry in &entries {
                let zone = offices.office(&entry.office).map(|office| office.timezone.0);
                let first = entry.first_appointment().map(|at| match zone {
                    Some(zone) => at.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::Secs, true),
                    None => rfc3339(at),
                });
                writer.write_record([
                    entry.office.as_str(),
                    &spreadsheet_safe(&entry.name),
                    entry.mobile.e164(),
                    entry.email.as_ref().map_or("", |email| email.as_str()),
                    first.as_deref().unwrap_or_default(),
                    &bookings(entry, &offices, "; "),
                    &notices(entry, "; "),
                    &spreadsheet_safe(&reasons(entry, "; ")),
                    &spreadsheet_safe(&last_call(entry, &offices)),
                ])?;
            }
            writer.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Each booking as `2024-06-21 09:00 WIB P-A1 (Budi)`, in the office's time. Starts with a
/// date, so the cell is safe in a spreadsheet.
fn bookings(entry: &CallListEntry, offices: &OfficeDirectory, separator: &str) -> String {
    let zone = offices.office(&entry.office).map(|office| office.timezone);
    let line = |booking: &CallBooking| {
        let when = zone.map_or_else(
            || rfc3339(booking.appointment_at),
            |zone| format_short(booking.appointment_at, zone),
        );
        format!("{when} {} ({})", booking.code.as_str(), booking.holder_name)
    };
    entry.bookings.iter().map(line).collect::<Vec<_>>().join(separator)
}

fn notices(entry: &CallListEntry, separator: &str) -> String {
    entry.missed.iter().map(|missed| missed.kind.as_str()).collect::<Vec<_>>().join(separator)
}

/// Each distinct reason once, in the order the notices were missed.
fn reasons(entry: &CallListEntry, separator: &str) -> String {
    let mut reasons: Vec<String> = Vec::new();
    for missed in &entry.missed {
        let reason = missed.why.to_string();
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    reasons.join(separator)
}

/// The last call as `reached 2024-06-21 10:00 WIB by staff:ani: akan datang Senin`.
fn last_call(entry: &CallListEntry, offices: &OfficeDirectory) -> String {
    let Some(outcome) = &entry.outcome else { return String::new() };
    let when = offices.office(&entry.office).map_or_else(
        || rfc3339(outcome.recorded_at),
        |office| format_short(outcome.recorded_at, office.timezone),
    );
    let mut text = format!("{} {when} by {}", outcome.outcome, outcome.actor);
    if let Some(note) = &outcome.note {
        text.push_str(": ");
        text.push_str(note);
    }
    text
}

async fn record_call(store: &Store, args: RecordCallArgs) -> anyhow::Result<ExitCode> {
    let call = crate::report::calls::CallRecord::parse(&args.booking, &args.outcome, args.note.as_deref())?;
    let recorded =
        crate::report::calls::record(store, &call, &crate::audit::Origin::cli(), chrono::Utc::now()).await?;
    println!("recorded {} for {} ({})", recorded.outcome, recorded.booking, recorded.office);
    Ok(ExitCode::SUCCESS)
}
