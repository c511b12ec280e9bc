//! Manual broadcasts: staff pick an audience with a filter, a catalogue notice or their own text,
//! and channels; they preview (counts per channel, who cannot be reached, a sample per channel and
//! language, the SMS segments it costs), then send now or at a set time, and may cancel.
//!
//! A broadcast is stored first and planned by the planner when its time comes, office by office,
//! with the same quiet hours and the same one-message-per-applicant rule as outage notices.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

use super::notice::{About, NoticeConfig, NoticeError, Notices, StoredPickup};
use super::{rules, PlannerConfig};
use crate::domain::{Channel, Language, Office, OfficeCode, Product, Service, ServiceState, Stage};
use crate::render::{render, Catalogue, Localized, NoticeKind, RenderError, Rendered};
use crate::state::Target;
use crate::store::{
    ApplicantFacts, AudienceQuery, BookingFacts, BookingFilter, BroadcastCounts, BroadcastOfficePlan,
    BroadcastRecord, NewBroadcast, OfficeDirectory, Store, StoreError,
};

/// Who a broadcast is for, as staff give it. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BroadcastFilter {
    /// `all`, `region:NAME`, or office codes (`TNG,CGK`).
    pub offices: String,
    /// Applicants a disruption of one of these services would concern.
    pub services: Vec<Service>,
    /// Empty: every open stage.
    pub stages: Vec<Stage>,
    pub products: Vec<Product>,
    pub express: Option<bool>,
    /// Appointment days, inclusive, in each office's own time zone.
    pub appointment_from: Option<NaiveDate>,
    pub appointment_to: Option<NaiveDate>,
    /// Application days, inclusive.
    pub applied_from: Option<NaiveDate>,
    pub applied_to: Option<NaiveDate>,
}

/// What a broadcast says.
#[derive(Debug, Clone, PartialEq)]
pub enum BroadcastContent {
    /// A catalogue notice, e.g. `ready_for_pickup` with the extra weekend hours.
    Template { kind: NoticeKind, pickup: Option<StoredPickup> },
    /// Staff-written text (the `broadcast` notice), Indonesian with an optional English version.
    Text { text: Localized, sender: Option<String> },
}

/// A broadcast as staff ask for it.
#[derive(Debug, Clone)]
pub struct BroadcastRequest {
    pub title: String,
    pub filter: BroadcastFilter,
    pub content: BroadcastContent,
    /// In preference order; `None`: the planner's order.
    pub channels: Option<Vec<Channel>>,
    /// `None`: now.
    pub send_at: Option<DateTime<Utc>>,
    pub actor: String,
}

/// Errors of broadcasts, each saying what to change.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    #[error("unknown office {0}; see `kabar state show` for the office codes")]
    UnknownOffice(String),
    #[error("no office is in region {0:?}")]
    EmptyRegion(String),
    #[error("{0}")]
    Filter(String),
    #[error("the sample for {channel} in {language} cannot be rendered: {source}")]
    Render {
        channel: Channel,
        language: Language,
        #[source]
        source: RenderError,
    },
    #[error("the sample for {channel} in {language} cannot be put together: {source}")]
    Notice {
        channel: Channel,
        language: Language,
        #[source]
        source: NoticeError,
    },
    #[error("no broadcast has id {0}; see `kabar broadcast list`")]
    UnknownBroadcast(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One rendering of the broadcast, for one channel and language.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub channel: Channel,
    pub language: Language,
    pub office: String,
    pub rendered: Rendered,
}

/// What sending the broadcast now would do, computed without writing anything.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    pub offices: usize,
    /// One per applicant and office.
    pub messages: u64,
    /// By channel.
    pub channels: BTreeMap<Channel, u64>,
    /// Applicants with no usable channel (they go on the call list).
    pub unreachable: u64,
    /// The SMS segments the SMS recipients' messages take in all (each rendered).
    pub sms_segments: u64,
    pub samples: Vec<Sample>,
}

/// What planning a due broadcast wrote.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedBroadcast {
    pub broadcast_id: i64,
    pub offices: usize,
    #[serde(flatten)]
    pub counts: BroadcastCounts,
}

/// The longest broadcast text, title and sender kabar accepts (WhatsApp allows 1,024 characters
/// for the whole message).
pub const MAX_TEXT: usize = 700;
pub const MAX_TITLE: usize = 200;
pub const MAX_SENDER: usize = 100;

impl BroadcastRequest {
    /// Refuses staff text with control characters (line breaks and tabs are allowed in the
    /// message itself) or beyond the length limits.
    pub fn check_text(&self) -> Result<(), BroadcastError> {
        use crate::domain::{check_length, check_plain_text};
        let field =
            |name: &str, err: crate::domain::ParseError| BroadcastError::Filter(format!("{name}: {err}"));
        check_plain_text(&self.title).map_err(|err| field("--title", err))?;
        check_length(&self.title, MAX_TITLE).map_err(|err| field("--title", err))?;
        if let BroadcastContent::Text { text, sender } = &self.content {
            for (name, value) in [("--text", Some(&text.id)), ("--text-en", text.en.as_ref())] {
                let Some(value) = value else { continue };
                // A message may have paragraphs; no other control character belongs in it.
                check_plain_text(&value.replace(['\n', '\r', '\t'], " ")).map_err(|err| field(name, err))?;
                check_length(value, MAX_TEXT).map_err(|err| field(name, err))?;
            }
            if let Some(sender) = sender {
                check_plain_text(sender).map_err(|err| field("--sender", err))?;
                check_length(sender, MAX_SENDER).map_err(|err| field("--sender", err))?;
            }
        }
        Ok(())
    }

    fn kind(&self) -> NoticeKind {
        match &self.content {
            BroadcastContent::Template { kind, .. } => *kind,
            BroadcastContent::Text { .. } => NoticeKind::Broadcast,
        }
    }

    fn channels(&self, config: &PlannerConfig) -> Vec<Channel> {
        self.channels.clone().unwrap_or_else(|| config.channels.clone())
    }

    /// The record this request would store, as the planner and the renderer read it.
    fn record(&self, config: &PlannerConfig, now: DateTime<Utc>) -> NewBroadcast {
        let (text_id, text_en, sender, pickup) = match &self.content {
            BroadcastContent::Text { text, sender } => {
                (Some(text.id.clone()), text.en.clone(), sender.clone(), None)
            }
            BroadcastContent::Template { pickup, .. } => (None, None, None, pickup.as_ref()),
        };
        NewBroadcast {
            title: self.title.clone(),
            filter_json: serde_json::to_string(&self.filter).expect("a filter serialises"),
            kind: self.kind(),
            text_id,
            text_en,
            sender,
            pickup_json: pickup.map(|pickup| serde_json::to_string(pickup).expect("pickup hours serialise")),
            channels: self.channels(config),
            send_at: self.send_at.unwrap_or(now),
            created_by: self.actor.clone(),
            created_at: now,
        }
    }
}

impl BroadcastFilter {
    /// Checks what the types cannot: ranges run forwards, the content fits the filter.
    pub fn validate(&self) -> Result<(), BroadcastError> {
        let backwards = |from: Option<NaiveDate>, to: Option<NaiveDate>| matches!((from, to), (Some(f), Some(t)) if f > t);
        if backwards(self.appointment_from, self.appointment_to) {
            return Err(BroadcastError::Filter("--appointment-from is after --appointment-to".into()));
        }
        if backwards(self.applied_from, self.applied_to) {
            return Err(BroadcastError::Filter("--applied-from is after --applied-to".into()));
        }
        Ok(())
    }

    /// The offices the filter names, in code order.
    pub fn offices<'a>(&self, directory: &'a OfficeDirectory) -> Result<Vec<&'a Office>, BroadcastError> {
        let target: Target = self.offices.parse().map_err(|err: crate::domain::ParseError| {
            BroadcastError::Filter(format!("--offices: {err}; write all, region:NAME or codes like TNG,CGK"))
        })?;
        match target {
            Target::All => Ok(directory.offices().collect()),
            Target::Region(region) => {
                let offices: Vec<&Office> = directory
                    .offices()
                    .filter(|office| office.region.eq_ignore_ascii_case(&region))
                    .collect();
                if offices.is_empty() {
                    return Err(BroadcastError::EmptyRegion(region));
                }
                Ok(offices)
            }
            Target::Offices(codes) => codes
                .iter()
                .map(|code| {
                    directory.office(code).ok_or_else(|| BroadcastError::UnknownOffice(code.to_string()))
                })
                .collect(),
        }
    }

    /// The filter at one office, with appointment days turned into instants in its zone.
    fn at_office(&self, office: &Office) -> BookingFilter {
        let midnight = |day: NaiveDate| {
            office
                .timezone
                .0
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .earliest()
                .map(|instant| instant.with_timezone(&Utc))
        };
        let from = self.appointment_from.and_then(midnight);
        let to = self.appointment_to.and_then(|day| day.succ_opt()).and_then(midnight);
        let appointments = match (from, to) {
            (None, None) => None,
            (from, to) => {
                Some((from.unwrap_or(DateTime::<Utc>::MIN_UTC), to.unwrap_or(DateTime::<Utc>::MAX_UTC)))
            }
        };
        BookingFilter {
            stages: self.stages.clone(),
            products: self.products.clone(),
            express: self.express,
            services: self
                .services
                .iter()
                .map(|service| rules(*service, ServiceState::Unavailable))
                .collect(),
            appointments,
            applied_from: self.applied_from,
            applied_to: self.applied_to,
        }
    }
}

fn horizon_end(config: &PlannerConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(i64::from(config.horizon_days))
}

/// Counts the audience and renders a sample per channel and language, writing nothing. The SMS
/// segments are counted by rendering every SMS recipient's message, page by page.
pub async fn preview(
    store: &Store,
    catalogue: &Catalogue,
    planner: &PlannerConfig,
    notices: &NoticeConfig,
    request: &BroadcastRequest,
    now: DateTime<Utc>,
) -> Result<Preview, BroadcastError> {
    request.filter.validate()?;
    request.check_text()?;
    let directory = store.office_directory().await?;
    let offices = request.filter.offices(&directory)?;
    let channels = request.channels(planner);
    let end = horizon_end(planner, now);
    let new = request.record(planner, now);
    // The record as it will be stored, so samples render exactly as the dispatcher will.
    let record = BroadcastRecord {
        id: 0,
        title: new.title.clone(),
        filter_json: new.filter_json.clone(),
        kind: new.kind,
        text_id: new.text_id.clone(),
        text_en: new.text_en.clone(),
        sender: new.sender.clone(),
        pickup_json: new.pickup_json.clone(),
        channels: channels.clone(),
        status: "preview".into(),
        send_at: new.send_at,
        created_by: new.created_by.clone(),
        created_at: now,
        planned_at: None,
        cancelled_at: None,
    };
    let notices = Notices { directory: &directory, config: notices };
    let sample_link: url::Url = "https://kabar.invalid/unsubscribe/sample".parse().expect("a valid URL");
    let mut preview = Preview { offices: offices.len(), ..Preview::default() };
    for office in offices {
        let filter = request.filter.at_office(office);
        let audience = AudienceQuery {
            office: &office.code,
            filter: &filter,
            channels: &channels,
            now,
            horizon_end: end,
        };
        let groups = store.audience_groups(&audience).await?;
        for group in groups {
            preview.messages += group.applicants;
            let Some(channel) = group.channel else {
                preview.unreachable += group.applicants;
                continue;
            };
            *preview.channels.entry(channel).or_default() += group.applicants;
            if preview
                .samples
                .iter()
                .any(|sample| sample.channel == channel && sample.language == group.language)
            {
                continue;
            }
            let pages = store.audience_page(&audience, channel, group.sample_applicant - 1, 1).await?;
            if let Some((applicant, bookings)) = pages.first() {
                let rendered = render_one(
                    store,
                    catalogue,
                    &notices,
                    (&office.code, &record),
                    (*applicant, bookings),
                    (channel, group.language),
                    Some(sample_link.clone()),
                )
                .await?;
                preview.samples.push(Sample {
                    channel,
                    language: group.language,
                    office: office.code.to_string(),
                    rendered,
                });
            }
        }
        if preview.channels.contains_key(&Channel::Sms) {
            preview.sms_segments += sms_segments(store, catalogue, &notices, &audience, &record).await?;
        }
    }
    preview.samples.sort_by_key(|sample| (sample.channel, sample.language));
    Ok(preview)
}

async fn sms_segments(
    store: &Store,
    catalogue: &Catalogue,
    notices: &Notices<'_>,
    audience: &AudienceQuery<'_>,
    record: &BroadcastRecord,
) -> Result<u64, BroadcastError> {
    const PAGE: i64 = 500;
    let mut segments = 0;
    let mut after = 0;
    loop {
        let page = store.audience_page(audience, Channel::Sms, after, PAGE).await?;
        let Some((last, _)) = page.last() else {
            return Ok(segments);
        };
        after = *last;
        let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
        let applicants: BTreeMap<i64, ApplicantFacts> = store
            .applicant_facts(&ids)
            .await?
            .into_iter()
            .map(|applicant| (applicant.id, applicant))
            .collect();
        let booking_ids: Vec<i64> = page.iter().flat_map(|(_, bookings)| bookings.iter().copied()).collect();
        let bookings: BTreeMap<i64, BookingFacts> = store
            .booking_facts(&booking_ids)
            .await?
            .into_iter()
            .map(|booking| (booking.id, booking))
            .collect();
        for (id, booking_ids) in &page {
            let Some(applicant) = applicants.get(id) else { continue };
            let language = applicant.language;
            // The page lists each applicant's bookings in appointment order.
            let bookings: Vec<BookingFacts> =
                booking_ids.iter().filter_map(|booking| bookings.get(booking).cloned()).collect();
            let context = notices
                .context(audience.office, record.kind, applicant, &bookings, About::Broadcast(record), None)
                .map_err(|source| BroadcastError::Notice { channel: Channel::Sms, language, source })?;
            match render(catalogue, record.kind, Channel::Sms, language, &context) {
                Ok(Rendered::Sms(sms)) => segments += sms.segments as u64,
                Ok(_) => {}
                Err(source) => {
                    return Err(BroadcastError::Render { channel: Channel::Sms, language, source })
                }
            }
        }
    }
}

async fn render_one(
    store: &Store,
    catalogue: &Catalogue,
    notices: &Notices<'_>,
    (office, record): (&OfficeCode, &BroadcastRecord),
    (applicant, bookings): (i64, &[i64]),
    (channel, language): (Channel, Language),
    unsubscribe_url: Option<url::Url>,
) -> Result<Rendered, BroadcastError> {
    let applicant = store.applicant_facts(&[applicant]).await?.pop();
    let bookings = store.booking_facts(bookings).await?;
    let Some(applicant) = applicant else {
        return Err(BroadcastError::Filter(
            "the audience changed while previewing; run the preview again".into(),
        ));
    };
    let context = notices
        .context(office, record.kind, &applicant, &bookings, About::Broadcast(record), unsubscribe_url)
        .map_err(|source| BroadcastError::Notice { channel, language, source })?;
    render(catalogue, record.kind, channel, language, &context).map_err(|source| BroadcastError::Render {
        channel,
        language,
        source,
    })
}

/// Stores a broadcast for sending at its time (now when none is given). Staff preview first;
/// the CLI's `send` previews too and refuses a broadcast whose samples do not render.
pub async fn create(
    store: &Store,
    planner: &PlannerConfig,
    request: &BroadcastRequest,
    now: DateTime<Utc>,
) -> Result<i64, BroadcastError> {
    request.filter.validate()?;
    request.check_text()?;
    let directory = store.office_directory().await?;
    request.filter.offices(&directory)?;
    Ok(store.create_broadcast(&request.record(planner, now)).await?)
}

/// Plans every broadcast whose time has come, office by office. Safe to run again: a replay plans
/// nothing new, and a broadcast cancelled meanwhile plans nothing more.
pub async fn plan_due(
    store: &Store,
    config: &PlannerConfig,
    now: DateTime<Utc>,
) -> Result<Vec<PlannedBroadcast>, StoreError> {
    let due = store.due_broadcasts(now).await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let directory = store.office_directory().await?;
    let mut planned = Vec::new();
    for broadcast in due {
        let filter: BroadcastFilter = serde_json::from_str(&broadcast.filter_json)
            .map_err(|err| StoreError::Corrupt(format!("broadcast {} filter: {err}", broadcast.id)))?;
        let offices = filter
            .offices(&directory)
            .map_err(|err| StoreError::Corrupt(format!("broadcast {}: {err}", broadcast.id)))?;
        let mut counts = BroadcastCounts::default();
        for office in &offices {
            let quiet_until = config.quiet_hours_of(&office.code).ends_after(now, office.timezone);
            let office_counts = store
                .plan_broadcast_office(&BroadcastOfficePlan {
                    broadcast_id: broadcast.id,
                    office: office.code.clone(),
                    kind: broadcast.kind,
                    filter: filter.at_office(office),
                    now,
                    horizon_end: horizon_end(config, now),
                    quiet_until,
                    quiet_margin: Duration::minutes(i64::from(config.quiet_margin_minutes)),
                    channels: broadcast.channels.clone(),
                })
                .await?;
            counts.messages += office_counts.messages;
            counts.unreachable += office_counts.unreachable;
            counts.deferred += office_counts.deferred;
        }
        store.finish_broadcast(broadcast.id, now).await?;
        planned.push(PlannedBroadcast { broadcast_id: broadcast.id, offices: offices.len(), counts });
    }
    Ok(planned)
}

/// Cancels a broadcast; returns how many messages not yet handed to a provider were cancelled.
pub async fn cancel(store: &Store, id: i64, now: DateTime<Utc>) -> Result<u64, BroadcastError> {
    store.cancel_broadcast(id, now).await?.ok_or(BroadcastError::UnknownBroadcast(id))
}
