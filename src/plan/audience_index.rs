//! The staff API's audience index: who a state change would reach, counted in memory so a dry run
//! of a national outage answers in milliseconds instead of seconds.
//!
//! SQLite spends about 3 µs per booking grouping a national audience by applicant and looking up
//! each applicant's channels (2–3 s for a million bookings on two cores). The index keeps each
//! office's open bookings with their applicant's reach ([`AudienceRow`], 16 bytes each) and the
//! office's booking version; every count first reads the versions (one small query) and reloads
//! only the offices whose bookings or applicants changed since. The count itself applies the
//! planner's rules exactly as its statements do ([`tally`]; a property test holds the two equal
//! on both engines). Restorations and updates reach those told in an incident and are counted by
//! the store as before.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::{StreamExt as _, TryStreamExt as _};

use crate::domain::{Channel, Language, OfficeCode};
use crate::store::{epoch, Audience, AudienceRow, EventPlan, HearingGroup, Store, StoreError};

/// Every office's open bookings, copied; cheap to share behind an `Arc`.
#[derive(Default)]
pub struct AudienceIndex {
    offices: Mutex<HashMap<OfficeCode, Slot>>,
}

/// One office's place in the index: its copy once loaded, behind a lock held while loading.
type Slot = Arc<tokio::sync::Mutex<Option<Arc<OfficeCopy>>>>;

/// A group's key: kind, channel (`None`: unreachable) and language, in the store's sort order.
type GroupKey = (&'static str, Option<&'static str>, &'static str);

/// One office's copy, current as of `version`.
struct OfficeCopy {
    version: i64,
    rows: Vec<AudienceRow>,
}

/// The versions read at the start of one count: offices whose copy is older are reloaded.
pub struct Versions(HashMap<OfficeCode, i64>);

impl AudienceIndex {
    pub fn new() -> AudienceIndex {
        AudienceIndex::default()
    }

    /// The current booking versions, to count against.
    pub async fn versions(store: &Store) -> Result<Versions, StoreError> {
        Ok(Versions(store.booking_versions().await?))
    }

    /// Loads every office that is not current (the server does this once at startup, so the
    /// first dry run does not pay for it). Returns how many bookings the index holds.
    pub async fn warm(&self, store: &Store) -> Result<usize, StoreError> {
        let versions = AudienceIndex::versions(store).await?;
        // Two offices at a time: the decoding is the work, and there are two cores.
        let offices: Vec<OfficeCode> = versions.0.keys().cloned().collect();
        let versions = &versions;
        let loads = futures::stream::iter(offices)
            .map(|office| async move { self.copy(store, versions, &office).await })
            .buffer_unordered(2);
        let copies: Vec<_> = loads.try_collect().await?;
        Ok(copies.iter().flatten().map(|copy| copy.rows.len()).sum())
    }

    /// Who planning `plan` would write messages for, as [`Store::count_event_audience`] counts
    /// it: in memory for an audience of bookings, by the store otherwise.
    pub async fn count(
        &self,
        store: &Store,
        versions: &Versions,
        plan: &EventPlan,
        incident: Option<i64>,
    ) -> Result<Vec<HearingGroup>, StoreError> {
        if matches!(plan.audience, Audience::Bookings { .. }) {
            if let Some(copy) = self.copy(store, versions, plan.trigger.office()).await? {
                return Ok(tally(&copy.rows, plan));
            }
        }
        store.count_event_audience(plan, incident).await
    }

    /// The office's copy, reloaded when older than `versions` says; `None` when the office has
    /// no version yet or its rows do not fit the index.
    async fn copy(
        &self,
        store: &Store,
        versions: &Versions,
        office: &OfficeCode,
    ) -> Result<Option<Arc<OfficeCopy>>, StoreError> {
        let Some(&wanted) = versions.0.get(office) else { return Ok(None) };
        let slot = {
            let mut offices = self.offices.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            offices.entry(office.clone()).or_default().clone()
        };
        // One load per office at a time; a count that waited finds it done.
        let mut slot = slot.lock().await;
        if let Some(copy) = slot.as_ref().filter(|copy| copy.version >= wanted) {
            return Ok(Some(copy.clone()));
        }
        let Some((version, rows)) = store.audience_rows(office).await? else {
            *slot = None;
            return Ok(None);
        };
        let copy = Arc::new(OfficeCopy { version, rows });
        *slot = Some(copy.clone());
        Ok(Some(copy))
    }
}

/// Counts `plan`'s audience of bookings over one office's rows (ordered by applicant), as the
/// planner's statement selects it: a booking matches the first rule it meets (stages, e-passport
/// and express only, appointments in the window for upcoming rules); each applicant with a
/// matching booking gets one message of their best rule's kind, listing every matching booking,
/// on their first usable channel, held for the end of the quiet hours on WhatsApp and SMS unless
/// their next appointment comes sooner than that plus the margin.
pub fn tally(rows: &[AudienceRow], plan: &EventPlan) -> Vec<HearingGroup> {
    let Audience::Bookings { rules, window_start, window_end } = &plan.audience else {
        return Vec::new();
    };
    let (start, end, now) = (epoch(*window_start), epoch(*window_end), epoch(plan.now));
    let quiet_until = plan.quiet_until.map_or(now, epoch);
    let margin = plan.quiet_margin.num_seconds();
    let rank = |row: &AudienceRow| {
        rules.iter().position(|rule| {
            rule.stages.contains(&row.stage)
                && (!rule.epassport_only || row.has(AudienceRow::EPASSPORT))
                && (!rule.express_only || row.has(AudienceRow::EXPRESS))
                && (!rule.upcoming_only || (row.appointment_at >= start && row.appointment_at < end))
        })
    };
    // By kind, channel and language, in the order the store's statement sorts them; with the
    // earliest send as seconds.
    let mut groups: BTreeMap<GroupKey, (HearingGroup, Option<i64>)> = BTreeMap::new();
    for applicant in rows.chunk_by(|a, b| a.applicant == b.applicant) {
        let (mut best, mut bookings, mut next_at) = (usize::MAX, 0u64, None::<i64>);
        for row in applicant {
            let Some(rank) = rank(row) else { continue };
            best = best.min(rank);
            bookings += 1;
            if row.appointment_at >= now && row.appointment_at < end {
                next_at = Some(next_at.map_or(row.appointment_at, |at| at.min(row.appointment_at)));
            }
        }
        if bookings == 0 {
            continue;
        }
        let reach = applicant[0];
        let channel = plan.channels.iter().copied().find(|channel| match channel {
            Channel::Whatsapp => reach.has(AudienceRow::WHATSAPP),
            Channel::Sms => reach.has(AudienceRow::SMS),
            Channel::Email => reach.has(AudienceRow::EMAIL),
        });
        let language = if reach.has(AudienceRow::ENGLISH) { Language::En } else { Language::Id };
        let held = matches!(channel, Some(Channel::Whatsapp | Channel::Sms))
            && quiet_until > now
            && next_at.is_none_or(|at| at >= quiet_until + margin);
        let key = (rules[best].kind.as_str(), channel.map(Channel::as_str), language.as_str());
        let (group, first) = groups.entry(key).or_insert_with(|| {
            let group = HearingGroup {
                kind: rules[best].kind,
                channel,
                language,
                applicants: 0,
                bookings: 0,
                first_send_at: None,
            };
            (group, None)
        });
        group.applicants += 1;
        group.bookings += bookings;
        if channel.is_some() {
            let not_before = if held { quiet_until } else { now };
            *first = Some(first.map_or(not_before, |first: i64| first.min(not_before)));
        }
    }
    groups
        .into_values()
        .map(|(group, first)| HearingGroup {
            first_send_at: first.and_then(|at| chrono::DateTime::from_timestamp(at, 0)),
            ..group
        })
        .collect()
}
