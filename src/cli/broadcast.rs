//! `kabar broadcast preview|send|cancel|show|list`.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::domain::{Channel, Product, Service, Stage};
use crate::plan::broadcast::{self, BroadcastContent, BroadcastFilter, BroadcastRequest, Preview};
use crate::plan::notice::StoredPickup;
use crate::render::{Catalogue, Localized, NoticeKind, Rendered};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum BroadcastCommand {
    /// Count the audience per channel and render a sample per channel and language; writes nothing
    Preview(BroadcastArgs),
    /// Preview, then send now (or schedule with --at)
    Send {
        #[command(flatten)]
        args: BroadcastArgs,
        /// A name for staff, e.g. "Tangerang weekend pickup"
        #[arg(long)]
        title: String,
        /// Send at this instant instead of now: YYYY-MM-DD HH:MM (read as WIB) or RFC 3339 with an
        /// offset, e.g. 2024-06-29T07:00:00+08:00
        #[arg(long, value_name = "DATETIME")]
        at: Option<String>,
        /// Show what would be sent and stop (the same as preview)
        #[arg(long)]
        dry_run: bool,
        /// Who sends it [default: $USER]
        #[arg(long)]
        actor: Option<String>,
    },
    /// Cancel a broadcast: messages not yet handed to a provider are cancelled
    Cancel { id: i64 },
    /// Show a broadcast and its messages by status and channel
    Show {
        id: i64,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// List broadcasts, newest first
    List,
}

/// The audience filter and the content, shared by preview and send.
#[derive(Debug, Args)]
pub struct BroadcastArgs {
    /// Offices: all, region:NAME, or codes (TNG,CGK)
    #[arg(long)]
    offices: String,
    /// Only applicants a disruption of these services concerns (comma-separated)
    #[arg(long, value_delimiter = ',')]
    service: Vec<Service>,
    /// Only these stages (comma-separated) [default: every open stage]
    #[arg(long, value_delimiter = ',')]
    stage: Vec<Stage>,
    /// Only these products: regular, epassport
    #[arg(long, value_delimiter = ',')]
    product: Vec<Product>,
    /// Only express bookings (yes) or only non-express ones (no)
    #[arg(long, value_parser = crate::domain::parse_flag)]
    express: Option<bool>,
    /// Appointments from this day (YYYY-MM-DD, each office's local day)
    #[arg(long, value_name = "DATE")]
    appointment_from: Option<NaiveDate>,
    /// Appointments up to and including this day
    #[arg(long, value_name = "DATE")]
    appointment_to: Option<NaiveDate>,
    /// Applications made from this day
    #[arg(long, value_name = "DATE")]
    applied_from: Option<NaiveDate>,
    /// Applications made up to and including this day
    #[arg(long, value_name = "DATE")]
    applied_to: Option<NaiveDate>,
    /// A catalogue notice to send, e.g. ready_for_pickup (instead of --text)
    #[arg(long, value_name = "KIND", conflicts_with = "text")]
    template: Option<NoticeKind>,
    /// Staff-written text in Indonesian
    #[arg(long)]
    text: Option<String>,
    /// The English version of --text, for applicants who chose English
    #[arg(long, requires = "text")]
    text_en: Option<String>,
    /// Who signs the text [default: the office]
    #[arg(long, requires = "text")]
    sender: Option<String>,
    /// Pickup hours for ready_for_pickup, e.g. "Senin-Jumat 08.00-15.00 WIB"
    #[arg(long)]
    pickup_hours: Option<String>,
    #[arg(long, requires = "pickup_hours")]
    pickup_hours_en: Option<String>,
    /// Extra pickup days, e.g. "Sabtu-Minggu 29-30 Juni 08.00-12.00 WIB"
    #[arg(long, requires = "pickup_hours")]
    pickup_extra: Option<String>,
    #[arg(long, requires = "pickup_extra")]
    pickup_extra_en: Option<String>,
    /// Channels in order of preference [default: the planner's]
    #[arg(long, value_delimiter = ',')]
    channels: Vec<Channel>,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

impl BroadcastArgs {
    fn request(
        &self,
        title: String,
        send_at: Option<DateTime<Utc>>,
        actor: String,
    ) -> anyhow::Result<BroadcastRequest> {
        let filter = BroadcastFilter {
            offices: self.offices.clone(),
            services: self.service.clone(),
            stages: self.stage.clone(),
            products: self.product.clone(),
            express: self.express,
            appointment_from: self.appointment_from,
            appointment_to: self.appointment_to,
            applied_from: self.applied_from,
            applied_to: self.applied_to,
        };
        let pickup = self.pickup_hours.as_ref().map(|hours| StoredPickup {
            hours_id: hours.clone(),
            hours_en: self.pickup_hours_en.clone(),
            extra_id: self.pickup_extra.clone(),
            extra_en: self.pickup_extra_en.clone(),
        });
        let content = match (&self.template, &self.text) {
            (Some(NoticeKind::Broadcast), _) | (None, None) => {
                anyhow::bail!(
                    "say what to send: --text \"…\" (staff-written) or --template KIND (a catalogue notice)"
                )
            }
            (Some(kind), None) => BroadcastContent::Template { kind: *kind, pickup },
            (None, Some(text)) => BroadcastContent::Text {
                text: Localized { id: text.clone(), en: self.text_en.clone() },
                sender: self.sender.clone(),
            },
            (Some(_), Some(_)) => unreachable!("clap refuses --template with --text"),
        };
        let channels = (!self.channels.is_empty()).then(|| self.channels.clone());
        Ok(BroadcastRequest { title, filter, content, channels, send_at, actor })
    }
}

fn actor(actor: Option<String>) -> String {
    actor.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "staff".into())
}

pub(super) async fn run(
    store: &Store,
    config: &Config,
    command: BroadcastCommand,
) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let catalogue = match &config.templates.dir {
        Some(dir) => Catalogue::with_overrides(dir)?,
        None => Catalogue::builtin(),
    };
    match command {
        BroadcastCommand::Preview(args) => {
            let request = args.request("preview".into(), None, actor(None))?;
            let preview =
                broadcast::preview(store, &catalogue, &config.planner, &config.notices, &request, now)
                    .await?;
            print_preview(&preview, args.json)?;
        }
        BroadcastCommand::Send { args, title, at, dry_run, actor: who } => {
            let send_at = at.map(|text| super::time::typed_instant("--at", &text)).transpose()?;
            let request = args.request(title, send_at, actor(who))?;
            // Every send is previewed: a broadcast whose samples do not render is refused.
            let preview =
                broadcast::preview(store, &catalogue, &config.planner, &config.notices, &request, now)
                    .await?;
            if dry_run {
                print_preview(&preview, args.json)?;
                return Ok(ExitCode::SUCCESS);
            }
            let origin = crate::audit::Origin::cli();
            let id = broadcast::create_by(store, &config.planner, &request, Some(&origin), now).await?;
            // The four-eyes rule binds the staff API; whoever runs the CLI holds the database.
            println!(
                "broadcast {id} sent from the command line as {}: not held for approval, no second person approved it",
                origin.actor
            );
            match send_at.filter(|at| *at > now) {
                Some(at) => println!(
                    "broadcast {id} scheduled for {at}: {} messages if the audience stays the same; \
                     the planner (kabar plan, kabar serve) plans it then; kabar broadcast cancel {id} stops it",
                    preview.messages
                ),
                None => {
                    let planned = broadcast::plan_due(store, &config.planner, now).await?;
                    for done in planned.iter().filter(|done| done.broadcast_id == id) {
                        println!(
                            "broadcast {id}: {} messages planned over {} offices ({} with no usable channel, {} held for quiet hours)",
                            done.counts.messages, done.offices, done.counts.unreachable, done.counts.deferred
                        );
                    }
                }
            }
        }
        BroadcastCommand::Cancel { id } => {
            let cancelled = broadcast::cancel_by(store, id, Some(&crate::audit::Origin::cli()), now).await?;
            println!("broadcast {id} cancelled: {cancelled} messages not yet sent were cancelled");
        }
        BroadcastCommand::Show { id, json } => {
            let record = store.broadcast(id).await?.with_context(|| format!("no broadcast has id {id}"))?;
            let counts = store.broadcast_message_counts(id).await?;
            if json {
                let counts: Vec<serde_json::Value> = counts
                    .iter()
                    .map(|(status, channel, count)| serde_json::json!({"status": status, "channel": channel, "messages": count}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"broadcast": record, "messages": counts})
                    )?
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "broadcast {} \"{}\": {} by {}, send at {}",
                record.id, record.title, record.status, record.created_by, record.send_at
            );
            println!("  kind {}; channels {}", record.kind, join(&record.channels));
            println!("  filter {}", record.filter_json);
            for (status, channel, count) in counts {
                let channel = channel.map_or("no usable channel".to_owned(), |channel| channel.to_string());
                println!("  {status:<12} {channel:<18} {count}");
            }
        }
        BroadcastCommand::List => {
            for record in store.broadcasts().await? {
                println!(
                    "{:>5}  {:<10} {}  {}  \"{}\"",
                    record.id,
                    record.status.as_str(),
                    record.send_at,
                    record.kind,
                    record.title
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn join(channels: &[Channel]) -> String {
    channels.iter().map(|channel| channel.as_str()).collect::<Vec<_>>().join(", ")
}

fn print_preview(preview: &Preview, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(preview)?);
        return Ok(());
    }
    println!("{} messages over {} offices", preview.messages, preview.offices);
    for (channel, count) in &preview.channels {
        println!("  {:<10} {count}", channel.as_str());
    }
    println!("  no usable channel: {} (they go on the call list)", preview.unreachable);
    println!("  SMS segments in all: {}", preview.sms_segments);
    for sample in &preview.samples {
        println!("\n--- sample: {} in {} ({}) ---", sample.channel, sample.language, sample.office);
        match &sample.rendered {
            Rendered::Sms(sms) => {
                println!("{}\n({})", sms.text, crate::render::segment_cost(sms.encoding, sms.segments))
            }
            Rendered::Whatsapp(whatsapp) => {
                println!("template {} ({})\n{}", whatsapp.template, whatsapp.language, whatsapp.text)
            }
            Rendered::Email(email) => println!("Subject: {}\n\n{}", email.subject, email.text),
        }
    }
    Ok(())
}
