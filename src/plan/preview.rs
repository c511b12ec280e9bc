//! Who will hear: what a state change would make the planner send, computed before the change is
//! made and writing nothing. For each office the change would settle into the event the planner
//! will plan (the same audience rules, the same quiet hours, at the end of the settle window), and
//! the store counts that event's audience with the planner's own statements
//! ([`Store::count_event_audience`]), or the server's [`AudienceIndex`] counts it in memory by the
//! same rules. The API's dry run, the console and `kabar state set --dry-run` all call
//! [`who_would_hear`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use futures::StreamExt as _;
use serde::Serialize;

use super::{audience_of, event_plan, AudienceIndex, PlannerConfig};
use crate::domain::{format_short, Channel, Language, OfficeCode, Service, ServiceState};
use crate::render::{Catalogue, NoticeKind, Rendered};
use crate::staff::CostsConfig;
use crate::state::{check_state_change, StateChange, StateError};
use crate::store::{BoardRow, HearingGroup, SettledChange, Store, Trigger};

/// Who a state change would reach, in total and per office.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Audience {
    /// Messages: one per applicant and office (an applicant booked at two offices counts twice).
    pub applicants: u64,
    /// The bookings those messages list.
    pub bookings: u64,
    /// Every office the change is for, by code, including those where nobody would hear.
    pub offices: Vec<OfficeAudience>,
    /// Messages by channel; `unreachable` for applicants with no usable channel (the call list).
    pub by_channel: BTreeMap<String, u64>,
    /// Messages by notice kind.
    pub by_kind: BTreeMap<String, u64>,
    /// SMS segments of the SMS messages, each counted as the catalogue's longest realistic sample
    /// of its kind and language (an upper estimate: real messages are usually shorter).
    pub sms_segments: u64,
    pub estimated_cost: Cost,
    /// The earliest message's first possible send: the end of the settle window, or of the quiet
    /// hours for WhatsApp and SMS. `None` when nobody would hear (or nobody can be reached).
    pub first_send_at: Option<DateTime<Utc>>,
    /// When the planner would plan the change: once it has stood for the settle window.
    pub planned_at: DateTime<Utc>,
}

/// One office's share of the audience.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficeAudience {
    pub office: OfficeCode,
    pub applicants: u64,
    pub bookings: u64,
    pub first_send_at: Option<DateTime<Utc>>,
    /// The same in the office's zone, e.g. `2024-06-21 07:00 WIB`.
    pub first_send_local: Option<String>,
    /// The groups the counts add up: kind × channel × language.
    #[serde(skip)]
    pub groups: Vec<HearingGroup>,
}

/// An amount of money in the `[costs]` currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cost {
    pub amount: f64,
    pub currency: String,
}

/// How the change would reach applicants, writing nothing: validated exactly as `kabar state set`
/// validates it (the same errors), then counted office by office as the planner would plan it at
/// `change.at` plus the settle window. `now` is the instant the counts are for (normally
/// `change.at`). With an `index` (the server's), audiences of bookings are counted in memory;
/// without, by the store (a one-off count costs the same either way).
pub async fn who_would_hear(
    store: &Store,
    index: Option<&AudienceIndex>,
    change: &StateChange,
    planner: &PlannerConfig,
    costs: &CostsConfig,
    now: DateTime<Utc>,
) -> Result<Audience, StateError> {
    let records = check_state_change(store, change).await?;
    let directory = store.office_directory().await?;
    let board = store.service_board(None).await?;
    let notified = store.notified_states(change.service).await?;
    let settle = Duration::seconds(i64::try_from(planner.settle_seconds).unwrap_or(i64::MAX / 2));
    // Whole seconds, as the store keeps instants.
    let planned_at = (now.max(change.at) + settle).trunc_subsecs(0);
    let horizon = Duration::days(i64::from(planner.horizon_days));
    let versions = match index {
        Some(_) => Some(AudienceIndex::versions(store).await?),
        None => None,
    };

    // Offices are counted side by side: each is one indexed statement over its own bookings.
    let counted = futures::stream::iter(records)
        .map(|record| {
            let (board, notified, directory, versions) = (&board, &notified, &directory, &versions);
            async move {
                let current =
                    board.iter().find(|row| row.office == record.office && row.service == record.service);
                if unchanged(current, record.state, record.reason.as_deref(), record.expected_at) {
                    return Ok((record.office, Vec::new()));
                }
                let settled = SettledChange {
                    office: record.office.clone(),
                    service: record.service,
                    from: notified.get(&record.office).copied().unwrap_or(ServiceState::Operational),
                    to: record.state,
                    change_id: 0,
                    expected_at: record.expected_at,
                };
                if settled.from == settled.to && settled.to == ServiceState::Operational {
                    // Back before anyone heard: a flap tells nobody.
                    return Ok((record.office, Vec::new()));
                }
                let others: Vec<(Service, ServiceState)> = board
                    .iter()
                    .filter(|row| row.office == record.office)
                    .map(|row| (row.service, row.state))
                    .collect();
                let audience = audience_of(&settled, &others, planned_at, horizon);
                let plan = event_plan(planner, directory, Trigger::Change(settled), audience, planned_at);
                let incident = store.open_incident(&record.office).await?;
                let groups = match (index, versions) {
                    (Some(index), Some(versions)) => index.count(store, versions, &plan, incident).await?,
                    _ => store.count_event_audience(&plan, incident).await?,
                };
                Ok::<_, StateError>((record.office, groups))
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;

    let mut audience = Audience {
        planned_at,
        estimated_cost: Cost { amount: 0.0, currency: costs.currency.clone() },
        ..Audience::default()
    };
    let (mut whatsapp, mut email) = (0, 0);
    for counted in counted {
        let (office, groups) = counted?;
        let zone = directory.office(&office).map(|office| office.timezone);
        let mut share = OfficeAudience {
            office,
            applicants: 0,
            bookings: 0,
            first_send_at: None,
            first_send_local: None,
            groups: Vec::new(),
        };
        for group in &groups {
            share.applicants += group.applicants;
            share.bookings += group.bookings;
            share.first_send_at = match (share.first_send_at, group.first_send_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let channel = group.channel.map_or("unreachable", Channel::as_str);
            *audience.by_channel.entry(channel.to_owned()).or_default() += group.applicants;
            *audience.by_kind.entry(group.kind.as_str().to_owned()).or_default() += group.applicants;
            match group.channel {
                Some(Channel::Sms) => {
                    audience.sms_segments += group.applicants * sample_segments(group.kind, group.language)
                }
                Some(Channel::Whatsapp) => whatsapp += group.applicants,
                Some(Channel::Email) => email += group.applicants,
                None => {}
            }
        }
        share.first_send_local = share.first_send_at.zip(zone).map(|(at, zone)| format_short(at, zone));
        share.groups = groups;
        audience.applicants += share.applicants;
        audience.bookings += share.bookings;
        audience.first_send_at = match (audience.first_send_at, share.first_send_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        audience.offices.push(share);
    }
    audience.offices.sort_by(|a, b| a.office.cmp(&b.office));
    let amount = audience.sms_segments as f64 * costs.sms_segment
        + whatsapp as f64 * costs.whatsapp_message
        + email as f64 * costs.email;
    audience.estimated_cost.amount = (amount * 100.0).round() / 100.0;
    Ok(audience)
}

/// Whether the office already has exactly this state (recording it changes nothing, so the
/// planner has nothing new to plan).
fn unchanged(
    current: Option<&BoardRow>,
    state: ServiceState,
    reason: Option<&str>,
    expected_at: Option<DateTime<Utc>>,
) -> bool {
    match current {
        Some(row) => row.state == state && row.reason.as_deref() == reason && row.expected_at == expected_at,
        None => state == ServiceState::Operational,
    }
}

/// The SMS segments of the catalogue's longest realistic sample of `kind` in `language`,
/// rendered once per process.
fn sample_segments(kind: NoticeKind, language: Language) -> u64 {
    static SEGMENTS: OnceLock<BTreeMap<(NoticeKind, Language), u64>> = OnceLock::new();
    let segments = SEGMENTS.get_or_init(|| {
        let catalogue = Catalogue::builtin();
        let mut segments = BTreeMap::new();
        for &kind in NoticeKind::ALL {
            for language in [Language::Id, Language::En] {
                if let Ok(preview) = crate::render::preview(&catalogue, kind, Channel::Sms, language) {
                    if let Rendered::Sms(sms) = preview.rendered {
                        segments.insert((kind, language), sms.segments as u64);
                    }
                }
            }
        }
        segments
    });
    // Every built-in SMS fits two segments (checked by `kabar templates check`).
    segments.get(&(kind, language)).copied().unwrap_or(2)
}
