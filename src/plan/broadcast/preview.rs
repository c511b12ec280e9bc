//! What sending a broadcast would do, computed without writing anything: the audience counted
//! per channel, a sample rendered per channel in both languages, the SMS segments it costs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{horizon_end, BroadcastError, BroadcastRequest};
use crate::domain::{Channel, Language, OfficeCode};
use crate::plan::notice::{About, NoticeConfig, Notices};
use crate::plan::PlannerConfig;
use crate::render::{render, Catalogue, Rendered};
use crate::store::{ApplicantFacts, AudienceQuery, BookingFacts, BroadcastRecord, BroadcastStatus, Store};

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

/// Counts the audience and renders a sample per channel used in each language, writing nothing. The SMS
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
        status: BroadcastStatus::Draft,
        send_at: new.send_at,
        created_by: new.created_by.clone(),
        created_at: now,
        planned_at: None,
        cancelled_at: None,
        reach: None,
        submitted_by: None,
        submitted_at: None,
        approved_by: None,
        approved_at: None,
        rejected_by: None,
        rejected_at: None,
        rejection_reason: None,
        cancelled_by: None,
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
            // Staff see both languages on every channel used, whoever chose them so far: the
            // group's own language is rendered first, from one of its applicants.
            let other = match group.language {
                Language::Id => Language::En,
                Language::En => Language::Id,
            };
            let missing: Vec<Language> = [group.language, other]
                .into_iter()
                .filter(|language| {
                    !preview
                        .samples
                        .iter()
                        .any(|sample| sample.channel == channel && sample.language == *language)
                })
                .collect();
            if missing.is_empty() {
                continue;
            }
            let pages = store.audience_page(&audience, channel, group.sample_applicant - 1, 1).await?;
            let Some((applicant, bookings)) = pages.first() else { continue };
            for language in missing {
                let rendered = render_one(
                    store,
                    catalogue,
                    &notices,
                    (&office.code, &record),
                    (*applicant, bookings),
                    (channel, language),
                    Some(sample_link.clone()),
                )
                .await?;
                preview.samples.push(Sample { channel, language, office: office.code.to_string(), rendered });
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
