//! `--runs mix`: the demo's mix instead of the best case. Demo bookings (`--mix-bookings`,
//! 500,000, 60% finished history as in a long M-Paspor export), the national printing outage of
//! 2024-06-20 planned as notices with each applicant's own facts, delivered by one worker process
//! to the test suite's fakes in their real wire formats: WhatsApp Cloud API, Twilio for SMS and an
//! SMTP server over TCP. 2% of WhatsApp numbers (`--undeliverable`, per mille) answer 131026, so
//! their messages fall back to SMS. No rate limits: what is measured is kabar, as in the best case.

use std::time::Instant;

use chrono::NaiveDate;
use kabar::demo::{self, SeedSpec};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::state::set_state;
use kabar::store::{MessageCount, Store};

use crate::child::{Options, WorkerProcess};
use crate::common::{arg, write_figures, BenchStore};
use crate::compare::Figures;
use crate::provider_fakes::{infobip, twilio, whatsapp};
use crate::runs::verdict;
use crate::smtp_fake::SmtpServer;

/// Demo bookings with the demo's channel mix, in a fresh store.
pub struct Population {
    pub bench: BenchStore,
    pub seeded: demo::SeedReport,
    /// Applicants refusing WhatsApp, and of them those refusing every channel they have.
    pub refused: (u64, u64),
    /// Applicants taking email only.
    pub by_email: u64,
    pub seconds: f64,
}

impl Population {
    /// `bookings` around `today`, 60% of them finished history as in a long M-Paspor export.
    pub async fn seed(dir: &std::path::Path, name: &str, bookings: usize, today: NaiveDate) -> Population {
        let bench = BenchStore::open_named(dir, name).await;
        let started = Instant::now();
        let store = &bench.store;
        let offices = demo::load_offices(store, Some(arg("--offices", 150)), 11).await.expect("offices");
        let mut spec = SeedSpec::new(bookings, 11, today);
        spec.history_per_mille = 600;
        let seeded = demo::seed_bookings(store, &spec, &offices, false).await.expect("seed");
        let refused = store.demo_refusals().await.expect("the demo's refusals");
        let by_email = email_only(&bench.url).await;
        Population { bench, seeded, refused, by_email, seconds: started.elapsed().as_secs_f64() }
    }

    /// `500000 bookings (…) seeded in 9.1 s, …`
    pub fn describe(&self) -> String {
        format!(
            "{} bookings ({} applicants, {} offices) seeded in {:.1} s, {} of them refusing WhatsApp as in \
             `kabar demo` ({} every channel) and {} taking email only",
            self.seeded.bookings,
            self.seeded.applicants,
            self.seeded.offices,
            self.seconds,
            self.refused.0,
            self.refused.1,
            self.by_email
        )
    }
}

/// The national printing outage, planned.
pub struct Planned {
    pub notices: u64,
    pub unreachable: u64,
    /// Queued notices by channel.
    pub queued: Vec<(String, u64)>,
}

/// Declares the national printing outage of 2024-06-20 and plans its notices.
pub async fn national_outage(store: &Store) -> Planned {
    let outage = crate::common::national_printing_outage(crate::now());
    set_state(store, &outage).await.expect("the outage");
    let planner = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let events = plan_once(store, &planner, crate::now()).await.expect("plan");
    Planned {
        notices: events.iter().map(|event| event.counts.messages).sum(),
        unreachable: events.iter().map(|event| event.counts.unreachable).sum(),
        queued: by_channel(store, "queued").await,
    }
}

/// The test suite's fakes of every provider kabar speaks to.
pub struct Fakes {
    pub whatsapp: whatsapp::FakeWhatsapp,
    pub twilio: twilio::FakeTwilio,
    pub infobip: infobip::FakeInfobip,
    pub smtp: SmtpServer,
}

/// Requests per second each account allows kabar (`None`: no limit, and Infobip unused).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Rates {
    pub whatsapp: Option<u32>,
    pub twilio: Option<u32>,
    pub infobip: Option<u32>,
    pub smtp: Option<u32>,
}

impl std::fmt::Display for Rates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let named = [
            ("WhatsApp", self.whatsapp),
            ("Twilio", self.twilio),
            ("Infobip", self.infobip),
            ("SMTP", self.smtp),
        ];
        let parts: Vec<String> =
            named.iter().filter_map(|(name, rate)| rate.map(|rate| format!("{name} {rate}/s"))).collect();
        f.write_str(&parts.join(", "))
    }
}

impl Fakes {
    pub async fn start() -> Fakes {
        Fakes {
            whatsapp: whatsapp::FakeWhatsapp::start().await,
            twilio: twilio::FakeTwilio::start().await,
            infobip: infobip::FakeInfobip::start().await,
            smtp: SmtpServer::start().await,
        }
    }

    /// The `[delivery]` table (TOML) that points kabar at these fakes, limited to `rates`; its
    /// provider tables named `{prefix}twilio` and so on (`delivery.` in a kabar.toml).
    pub fn delivery(&self, rates: &Rates, prefix: &str) -> String {
        let rate = |limit: Option<u32>| {
            limit.map(|limit| format!("rate_per_second = {limit}\n")).unwrap_or_default()
        };
        let mut toml = format!(
            "[{prefix}twilio]\naccount_sid = {:?}\nauth_token = {:?}\nfrom = {:?}\nbase_url = \"{}\"\n{}\
             [{prefix}whatsapp]\nphone_number_id = {:?}\naccess_token = {:?}\nbase_url = \"{}\"\n{}\
             [{prefix}smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\
             from = \"Kantor Imigrasi <noreply@imigrasi.go.id>\"\nmessage_id_domain = \"kabar.imigrasi.go.id\"\n{}",
            twilio::ACCOUNT_SID,
            twilio::AUTH_TOKEN,
            twilio::FROM,
            self.twilio.base_url(),
            rate(rates.twilio),
            whatsapp::PHONE_NUMBER_ID,
            whatsapp::ACCESS_TOKEN,
            self.whatsapp.base_url(),
            rate(rates.whatsapp),
            self.smtp.port(),
            rate(rates.smtp),
        );
        if rates.infobip.is_some() {
            toml += &format!(
                "[{prefix}infobip]\nbase_url = \"{}\"\napi_key = {:?}\nsender = {:?}\n{}",
                self.infobip.base_url(),
                infobip::API_KEY,
                infobip::SENDER,
                rate(rates.infobip)
            );
        }
        toml
    }
}

/// Seeds, plans and delivers the mix; prints what it did and returns the figures.
pub async fn run(dir: &std::path::Path, options: &Options) -> Figures {
    let today = NaiveDate::from_ymd_opt(2024, 6, 17).expect("a date");
    let population = Population::seed(dir, "mix", arg("--mix-bookings", 500_000), today).await;
    let (store, engine) = (&population.bench.store, population.bench.engine);
    let started = Instant::now();
    let Planned { notices: planned, unreachable, queued } = national_outage(store).await;
    println!(
        "{engine} mix: {}; the national printing outage planned in {:.1} s: {planned} notices ({unreachable} \
         with no usable channel), queued {}",
        population.describe(),
        started.elapsed().as_secs_f64(),
        shares(&queued),
    );

    let fakes = Fakes::start().await;
    let per_mille: u64 = arg("--undeliverable", 20);
    fakes.whatsapp.undeliverable_share(per_mille);
    let delivery = fakes.delivery(&Rates::default(), "");
    let mut worker = WorkerProcess::start_with(&population.bench.url, &delivery, options).await;
    let started = Instant::now();
    worker.go().await;
    let report = worker.finish().await;
    let seconds = started.elapsed().as_secs_f64();

    let counts = store.message_counts().await.expect("count messages");
    let sent = tally(&counts, |count| count.status == "sent");
    let sent_total: u64 = sent.iter().map(|(_, count)| count).sum();
    let total: u64 = counts.iter().map(|count| count.messages).sum();
    let count = |of: &[(String, u64)], channel: &str| {
        of.iter().find(|(name, _)| name == channel).map_or(0, |(_, count)| *count)
    };
    let requests =
        [fakes.whatsapp.received() as u64, fakes.twilio.received() as u64, fakes.smtp.mails().len() as u64];
    // Every notice sent once; each WhatsApp refusal is one more WhatsApp request and one SMS.
    let fell_back = requests[0].saturating_sub(count(&sent, "whatsapp"));
    let all = total == planned
        && total - sent_total == unreachable
        && requests[1] == count(&sent, "sms")
        && requests[2] == count(&sent, "email")
        && fell_back == count(&queued, "whatsapp").saturating_sub(count(&sent, "whatsapp"));
    let figures = Figures::of(format!("{engine} mix"), std::slice::from_ref(&report), seconds);
    println!(
        "{engine} mix: delivered {sent_total} notices in {seconds:.1} s = {:.0} messages/s, worker CPU {:.0} µs \
         per message, peak RSS {:.0} MiB; sent {}; {fell_back} fell back from WhatsApp to SMS; every notice \
         sent once, the fakes agreeing with the database: {}",
        figures.per_second,
        figures.cpu_micros,
        report.peak_rss_mib,
        shares(&sent),
        verdict(all),
    );
    for count in &counts {
        if count.status != "sent" {
            let channel = count.channel.as_deref().unwrap_or("no channel");
            println!(
                "{engine} mix:   not sent: {} {channel} {}: {}",
                count.messages, count.kind, count.status
            );
        }
    }
    let json = serde_json::json!({
        "engine": engine, "bookings": population.seeded.bookings, "notices": planned, "seconds": seconds,
        "messages_per_second": figures.per_second, "worker_cpu_us_per_message": figures.cpu_micros,
        "worker_peak_rss_mib": report.peak_rss_mib, "fell_back": fell_back, "all_sent_once": all,
        "queued": queued, "sent": sent, "requests": {"whatsapp": requests[0], "sms": requests[1], "email": requests[2]},
    });
    write_figures(&format!("deliver-mix-{}-{}", engine.to_lowercase(), population.seeded.bookings), &json);
    population.bench.finish().await;
    figures
}

/// Beside the demo's refusals (a sixth of applicants refuse WhatsApp, so they hear by SMS), one
/// applicant in 40 with an email address refuses WhatsApp and SMS, so the mix has email too.
async fn email_only(url: &kabar::store::DatabaseUrl) -> u64 {
    const EMAIL_ONLY: &str = "UPDATE applicants SET whatsapp_opted_out = TRUE, sms_opted_out = TRUE
                              WHERE id % 40 = 2 AND email IS NOT NULL";
    let done = match url {
        kabar::store::DatabaseUrl::Sqlite(path) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            let pool = sqlx::SqlitePool::connect_with(options).await.expect("open the SQLite store");
            let done = sqlx::query(EMAIL_ONLY).execute(&pool).await.expect("email only");
            pool.close().await;
            done.rows_affected()
        }
        kabar::store::DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.expect("reach the database");
            let done = sqlx::query(EMAIL_ONLY).execute(&pool).await.expect("email only");
            pool.close().await;
            done.rows_affected()
        }
    };
    done
}

/// Notices of `status` by channel.
pub async fn by_channel(store: &Store, status: &str) -> Vec<(String, u64)> {
    tally(&store.message_counts().await.expect("count messages"), |count| count.status == status)
}

/// The messages of the counts that `keep` keeps, by channel (`none`: no usable channel).
pub fn tally(counts: &[MessageCount], keep: impl Fn(&MessageCount) -> bool) -> Vec<(String, u64)> {
    let mut by_channel: Vec<(String, u64)> = Vec::new();
    for count in counts.iter().filter(|count| keep(count)) {
        let channel = count.channel.as_deref().unwrap_or("none");
        match by_channel.iter_mut().find(|(name, _)| name == channel) {
            Some((_, total)) => *total += count.messages,
            None => by_channel.push((channel.to_owned(), count.messages)),
        }
    }
    by_channel.sort();
    by_channel
}

/// `whatsapp 83.1%, sms 15.2%, …`
pub fn shares(counts: &[(String, u64)]) -> String {
    let total: u64 = counts.iter().map(|(_, count)| count).sum();
    let parts: Vec<String> = counts
        .iter()
        .map(|(channel, count)| {
            format!("{channel} {count} ({:.1}%)", 100.0 * *count as f64 / total.max(1) as f64)
        })
        .collect();
    parts.join(", ")
}
