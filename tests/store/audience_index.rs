//! The staff API's in-memory audience index against the store's own count: for every service,
//! state, window, quiet hours and channel order, the index's groups equal what the planner's
//! statement counts; and after any write (by kabar or by a raw connection) it reloads exactly the
//! offices that changed.

use chrono::{Duration, DurationRound as _, Utc};
use kabar::demo::{self, SeedOffice, SeedSpec};
use kabar::domain::{Channel, OfficeCode, Service, ServiceState};
use kabar::plan::{rules, AudienceIndex};
use kabar::store::{Audience, EventPlan, HearingGroup, SettledChange, Store, Trigger};

use crate::audit::execute;
use crate::harness::TestStore;

/// A state change's plan at `office` with an audience of bookings.
fn plan(office: &OfficeCode, service: Service, state: ServiceState, variant: usize) -> Option<EventPlan> {
    let rules = rules(service, state);
    if rules.is_empty() {
        return None;
    }
    // Whole seconds, as the store keeps instants; one test's plans share it.
    let now = Utc::now().duration_trunc(Duration::minutes(10)).unwrap();
    let windows = [
        (now, now + Duration::days(3)),
        (now, now + Duration::days(30)),
        (now + Duration::days(1), now + Duration::days(2)),
    ];
    let channels = [
        vec![Channel::Whatsapp, Channel::Sms, Channel::Email],
        vec![Channel::Email, Channel::Sms],
        vec![Channel::Sms],
    ];
    let (window_start, window_end) = windows[variant % windows.len()];
    let quiet_until = (variant % 2 == 1).then(|| now + Duration::hours(8 + variant as i64));
    Some(EventPlan {
        trigger: Trigger::Change(SettledChange {
            office: office.clone(),
            service,
            from: ServiceState::Operational,
            to: state,
            change_id: 0,
            expected_at: None,
        }),
        audience: Audience::Bookings { rules, window_start, window_end },
        now,
        quiet_until,
        quiet_margin: Duration::hours(2),
        channels: channels[variant % channels.len()].clone(),
    })
}

fn sorted(mut groups: Vec<HearingGroup>) -> Vec<HearingGroup> {
    groups.sort_by_key(|group| {
        (group.kind.as_str(), group.channel.map(Channel::as_str), group.language.as_str())
    });
    groups
}

async fn seeded(store: &Store) -> Vec<SeedOffice> {
    let offices = demo::load_offices(store, Some(5), 3).await.unwrap();
    let today = Utc::now().date_naive();
    demo::seed_bookings(store, &SeedSpec::new(2_500, 3, today), &offices, false).await.unwrap();
    offices
}

/// Counts `plan` both ways and checks they agree; returns the store's count.
async fn both(store: &Store, index: &AudienceIndex, plan: &EventPlan) -> Vec<HearingGroup> {
    let versions = AudienceIndex::versions(store).await.unwrap();
    let counted = sorted(index.count(store, &versions, plan, None).await.unwrap());
    let expected = sorted(store.count_event_audience(plan, None).await.unwrap());
    assert_eq!(counted, expected, "{:?} at {}", plan.audience, plan.trigger.office());
    expected
}

/// One group of one office, without its send time (which moves with the clock).
type Heard = (usize, &'static str, Option<Channel>, &'static str, u64, u64);

/// Who hears what, without the send times.
fn heard(counts: &[Vec<HearingGroup>]) -> Vec<Heard> {
    let groups = counts
        .iter()
        .enumerate()
        .flat_map(|(office, groups)| groups.iter().map(move |group| (office, group)));
    groups
        .map(|(office, group)| {
            (
                office,
                group.kind.as_str(),
                group.channel,
                group.language.as_str(),
                group.applicants,
                group.bookings,
            )
        })
        .collect()
}

async fn the_index_counts_every_audience_as_the_store_does(db: &TestStore) {
    let store = &db.store;
    let offices: Vec<OfficeCode> = seeded(store).await.into_iter().map(|office| office.code).collect();
    // Some of every reach: opted out of WhatsApp, of SMS, of both, of email; English readers.
    for statement in [
        "UPDATE applicants SET whatsapp_opted_out = TRUE WHERE id % 4 = 0",
        "UPDATE applicants SET sms_opted_out = TRUE WHERE id % 6 = 0",
        "UPDATE applicants SET email_opted_out = TRUE WHERE id % 5 = 0",
        "UPDATE applicants SET language = 'en' WHERE id % 10 = 1",
    ] {
        execute(db, statement).await.unwrap();
    }
    let index = AudienceIndex::new();
    let (mut applicants, mut unreachable, mut english, mut held) = (0, 0, 0, 0);
    for office in &offices {
        for &service in Service::ALL {
            for state in [ServiceState::Unavailable, ServiceState::Degraded] {
                for variant in 0..6 {
                    let Some(plan) = plan(office, service, state, variant) else { continue };
                    for group in both(store, &index, &plan).await {
                        applicants += group.applicants;
                        unreachable += if group.channel.is_none() { group.applicants } else { 0 };
                        english += if group.language.as_str() == "en" { group.applicants } else { 0 };
                        held += u64::from(
                            group.first_send_at.is_some_and(|at| at > plan.now + Duration::hours(1)),
                        );
                    }
                }
            }
        }
    }
    // The comparison covered every kind of answer.
    assert!(applicants > 1_000, "{applicants}");
    assert!(unreachable > 0 && english > 0 && held > 0, "{unreachable} {english} {held}");
}

async fn the_index_reloads_an_office_whose_bookings_or_applicants_changed(db: &TestStore) {
    let store = &db.store;
    let seed = seeded(store).await;
    let offices: Vec<OfficeCode> = seed.iter().map(|office| office.code.clone()).collect();
    let index = AudienceIndex::new();
    assert!(index.warm(store).await.unwrap() > 2_000);
    let printing =
        |office: &OfficeCode| plan(office, Service::Printing, ServiceState::Unavailable, 1).unwrap();
    let mut before: Vec<Vec<HearingGroup>> = Vec::new();
    for office in &offices {
        before.push(both(store, &index, &printing(office)).await);
    }
    // Each write reaches the index through the versions, whoever makes it.
    let writes = [
        "UPDATE bookings SET stage = 'cancelled' WHERE id % 3 = 0",
        "UPDATE applicants SET whatsapp_opted_out = TRUE, sms_opted_out = TRUE WHERE id % 2 = 0",
        "UPDATE applicants SET language = 'en' WHERE id % 3 = 1",
        "DELETE FROM bookings WHERE id % 7 = 1",
    ];
    for write in writes {
        execute(db, write).await.unwrap();
        let mut after = Vec::new();
        for office in &offices {
            after.push(both(store, &index, &printing(office)).await);
        }
        assert_ne!(heard(&after), heard(&before), "{write} changed nobody's count: the test proves nothing");
        before = after;
    }
    // And kabar's own import: more bookings at the same offices.
    demo::seed_bookings(store, &SeedSpec::new(500, 4, Utc::now().date_naive()), &seed, false).await.unwrap();
    let mut after = Vec::new();
    for office in &offices {
        after.push(both(store, &index, &printing(office)).await);
    }
    assert_ne!(heard(&after), heard(&before));
}

crate::store_tests!(
    the_index_counts_every_audience_as_the_store_does,
    the_index_reloads_an_office_whose_bookings_or_applicants_changed,
);
