//! `kabar applicant show|erase` and `kabar purge`.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use crate::audit::Actor;
use crate::config::Config;
use crate::domain::{format_short, OfficeCode};
use crate::privacy::{self, PersonQuery, PersonRecord};
use crate::store::{OfficeDirectory, Store};

#[derive(Debug, Subcommand)]
pub enum ApplicantCommand {
    /// Everything kabar holds on one person: applicant, bookings, messages, opt-outs, replies
    Show {
        /// A mobile number (0812-3456-7890, +62812…) or an email address
        person: String,
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
    /// Erase one person: bookings and contact details removed, pending messages cancelled, sent
    /// ones anonymised (counted in reports, linked to nobody); recorded in the audit log
    Erase {
        /// A mobile number (0812-3456-7890, +62812…) or an email address
        person: String,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Count what the retention policy would remove, and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn purge(store: &Store, config: &Config, args: PurgeArgs) -> anyhow::Result<ExitCode> {
    let report = privacy::purge(store, &config.retention, &Actor::cli(), Utc::now(), args.dry_run).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn run(store: &Store, command: ApplicantCommand) -> anyhow::Result<ExitCode> {
    match command {
        ApplicantCommand::Show { person, json } => {
            let query: PersonQuery = person.parse().context("PERSON")?;
            let people = privacy::show(store, &query).await?;
            if json {
                let people: Vec<_> = people.iter().map(|person| person.to_json(&query)).collect();
                println!("{}", serde_json::to_string_pretty(&people)?);
            } else if people.is_empty() {
                println!("kabar holds nothing on {}", typed(&query));
            } else {
                let offices = store.office_directory().await?;
                for person in &people {
                    println!("{}", describe(person, &query, &offices));
                }
            }
        }
        ApplicantCommand::Erase { person, json } => {
            let query: PersonQuery = person.parse().context("PERSON")?;
            let report = privacy::erase(store, &query, &Actor::cli(), Utc::now()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The query as the user typed it (they know it; nobody else reads it here).
fn typed(query: &PersonQuery) -> String {
    match query {
        PersonQuery::Phone(mobile) => mobile.e164().to_owned(),
        PersonQuery::Email(email) => email.as_str().to_owned(),
    }
}

/// An instant in the office's zone when the office is known, else UTC.
fn local(instant: DateTime<Utc>, office: &OfficeCode, offices: &OfficeDirectory) -> String {
    match offices.office(office) {
        Some(office) => format_short(instant, office.timezone),
        None => instant.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

fn describe(person: &PersonRecord, query: &PersonQuery, offices: &OfficeDirectory) -> String {
    let mut out = String::new();
    let utc = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let _ = writeln!(
        out,
        "applicant {}: {}",
        person.applicant_id,
        if person.name.is_empty() { "(name wiped)" } else { &person.name }
    );
    let _ = writeln!(out, "  mobile     {}", PersonRecord::shown(&person.mobile, query));
    let whatsapp =
        person.whatsapp.as_ref().map_or("the mobile number".to_owned(), |n| PersonRecord::shown(n, query));
    let _ = writeln!(out, "  whatsapp   {whatsapp}");
    let _ = writeln!(out, "  email      {}", person.email.as_ref().map_or("-", |email| email.as_str()));
    let _ = writeln!(
        out,
        "  language   {}",
        person.language.map_or("not stated (id)", |language| language.as_str())
    );
    let opted: Vec<&str> = person.opted_out.iter().map(|channel| channel.as_str()).collect();
    let _ =
        writeln!(out, "  opted out  {}", if opted.is_empty() { "-".to_owned() } else { opted.join(", ") });
    let _ = writeln!(out, "  since      {} (updated {})", utc(person.created_at), utc(person.updated_at));
    let _ = writeln!(out, "bookings ({})", person.bookings.len());
    for booking in &person.bookings {
        let _ = writeln!(
            out,
            "  {}  {}  {}  {}{}  {}  holder {}",
            booking.code,
            booking.unit.as_ref().unwrap_or(&booking.office),
            local(booking.appointment_at, &booking.office, offices),
            booking.product,
            if booking.express { " express" } else { "" },
            booking.stage,
            booking.holder_name
        );
    }
    let _ = writeln!(out, "messages ({})", person.messages.len());
    for message in &person.messages {
        let source = match (message.incident_id, message.broadcast_id) {
            (Some(incident), _) => format!("incident {incident}"),
            (_, Some(broadcast)) => format!("broadcast {broadcast}"),
            _ => String::new(),
        };
        let codes: Vec<&str> = message.bookings.iter().map(|code| code.as_str()).collect();
        let _ = writeln!(
            out,
            "  #{}  {}  {source}  {}  {}  {}{}  planned {}  [{}]",
            message.id,
            message.office,
            message.kind,
            message.channel.map_or("no channel", |channel| channel.as_str()),
            message.status,
            message.failure_class.map(|class| format!(" ({class})")).unwrap_or_default(),
            local(message.created_at, &message.office, offices),
            codes.join(", ")
        );
    }
    let _ = write!(out, "replies ({})", person.replies.len());
    for reply in &person.replies {
        let _ = write!(
            out,
            "\n  {}  {} via {}  from {}  {}",
            utc(reply.received_at),
            reply.channel,
            reply.provider,
            reply.shown(query),
            reply.action
        );
    }
    out
}
