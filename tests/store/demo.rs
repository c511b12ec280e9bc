//! `kabar demo seed` through the store: the reference offices via the real importer, synthetic
//! offices on request, and generated bookings that are idempotent by seed.

use chrono::NaiveDate;
use kabar::demo::{load_offices, seed_bookings, SeedSpec};

use crate::harness::TestStore;

async fn seeding_is_deterministic_and_idempotent(db: &TestStore) {
    let offices = load_offices(&db.store, Some(120), 3).await.unwrap();
    assert_eq!(offices.len(), 120, "reference offices plus synthetic ones up to the total");
    assert!(offices.iter().any(|office| office.code.as_str() == "GTO"));
    let spec = SeedSpec::new(3_000, 3, NaiveDate::from_ymd_opt(2024, 6, 17).unwrap());
    let first = seed_bookings(&db.store, &spec, &offices, false).await.unwrap();
    assert_eq!(first.bookings, 3_000);
    assert!(first.applicants < 3_000, "some applicants hold two bookings");

    let again = seed_bookings(&db.store, &spec, &offices, false).await.unwrap();
    assert_eq!(again, first, "the same seed adds nothing");
    let same_offices = load_offices(&db.store, Some(120), 3).await.unwrap();
    assert_eq!(same_offices.len(), 120);
}

crate::store_tests!(seeding_is_deterministic_and_idempotent);
