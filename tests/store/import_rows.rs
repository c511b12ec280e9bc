//! Rows that used to be accepted although they were wrong (issue 12, items 1 and 5 to 9): each is
//! now a per-row error naming the line and column, and nothing of it reaches the store.

use kabar::domain::NumberPolicy;
use kabar::import::ImportOptions;

use crate::fixtures::{bookings_csv, import_bookings, import_offices, problems};
use crate::harness::TestStore;

/// A valid row of `code` with `phone`, `name` and dates replaced by the caller.
fn row(code: &str, name: &str, phone: &str, appointment: &str, applied: &str) -> String {
    format!("{code},PLG,,{name},{phone},,,,{appointment},regular,no,booked,{applied}\n")
}

async fn foreign_mobiles_are_refused_unless_their_country_is_allowed(db: &TestStore) {
    import_offices(&db.store).await;
    let rows = [
        row("MP-5001", "Siti", "+60 12-345 6789", "2024-06-24 09:00", ""),
        row("MP-5002", "Budi", "0812-1111-2222", "2024-06-24 09:00", ""),
        "MP-5003,PLG,,Ani,0812-1111-3333,,+65 8123 4567,,2024-06-24 09:00,regular,no,booked,\n".to_owned(),
    ]
    .concat();
    let file = bookings_csv(&rows);
    let report = import_bookings(&db.store, &file, false).await;
    assert_eq!(
        problems(&report),
        [
            "line 2, column phone: \"+60 12*****6789\" is a mobile number of MY; kabar accepts mobile numbers of \"ID\" only: to accept it, add \"MY\" to allowed_countries in the [import] section of the configuration",
            "line 4, column whatsapp: \"+65 8****4567\" is a mobile number of SG; kabar accepts mobile numbers of \"ID\" only: to accept it, add \"SG\" to allowed_countries in the [import] section of the configuration",
        ]
    );
    assert_eq!(db.store.count_bookings().await.unwrap(), 1);

    let numbers = NumberPolicy::new(&["ID", "MY", "SG"]).unwrap();
    let options = ImportOptions { numbers, ..ImportOptions::default() };
    let report = kabar::import::import_bookings(&db.store, &file.path, &options).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let siti = db.store.booking(&"MP-5001".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(siti.booking.applicant.mobile.e164(), "+60123456789");
}

async fn a_letter_in_a_phone_number_is_refused(db: &TestStore) {
    import_offices(&db.store).await;
    let report = import_bookings(
        &db.store,
        &bookings_csv(&row("MP-5101", "Budi", "0812-3456-789O", "2024-06-24 09:00", "")),
        false,
    )
    .await;
    assert_eq!(
        problems(&report),
        ["line 2, column phone: \"0812-3****789O\" contains the letter 'O' at position 14; a phone number has only digits, spaces, dashes and a leading +: check for O typed for 0 or l for 1"]
    );
    assert_eq!(db.store.count_applicants().await.unwrap(), 0, "not stored as +6281234567896");
}

async fn control_characters_are_refused_in_every_field(db: &TestStore) {
    import_offices(&db.store).await;
    let rows = [
        row("MP-5201", "Bu\0di", "0812-1111-2222", "2024-06-24 09:00", ""),
        "MP-5202,PLG,,\"Ani\nLestari\",0812-1111-3333,ani@example.com\u{7},,,2024-06-24 09:00,regular,no,booked\u{202E},\n"
            .to_owned(),
        row("MP-5203", "Dewi", "0812-1111-4444", "2024-06-24 09:00", ""),
    ]
    .concat();
    let report = import_bookings(&db.store, &bookings_csv(&rows), false).await;
    assert_eq!(
        problems(&report),
        [
            "line 2, column name: contains a NUL byte (U+0000) at position 3; remove it (a value must be plain text on one line)",
            "line 3, column name: contains a line break (U+000A) at position 4; remove it (a value must be plain text on one line)",
            "line 3, column email: contains the control character U+0007 at position 16; remove it (a value must be plain text on one line)",
            "line 3, column stage: contains the invisible formatting character U+202E at position 7; remove it (a value must be plain text on one line)",
        ]
    );
    assert_eq!(db.store.count_bookings().await.unwrap(), 1, "only the clean row, on both engines");
}

async fn implausible_dates_are_refused_with_the_bounds(db: &TestStore) {
    import_offices(&db.store).await;
    let rows = [
        row("MP-5301", "A", "0812-1111-2201", "0000-06-24 09:00", ""),
        row("MP-5302", "B", "0812-1111-2202", "-2024-06-24 09:00", ""),
        row("MP-5303", "C", "0812-1111-2203", "9999-06-24 09:00", ""),
        row("MP-5304", "D", "0812-1111-2204", "2024-06-24 09:00", "-99999-01-01"),
        row("MP-5305", "E", "0812-1111-2205", "2024-06-24 09:00", "2024-06-25"),
        row("MP-5306", "F", "0812-1111-2206", "2024-06-24 09:00", "2024-06-24"),
    ]
    .concat();
    let report = import_bookings(&db.store, &bookings_csv(&rows), false).await;
    let problems = problems(&report);
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(problems[0].starts_with("line 2, column appointment_at: \"0000-06-24 09:00\" is in the year 0; kabar accepts dates from 2000 to 2099"), "{}", problems[0]);
    assert!(problems[1].starts_with("line 3, column appointment_at: "), "{}", problems[1]);
    assert!(problems[2].starts_with("line 4, column appointment_at: \"9999-06-24 09:00\" is in the year 9999; kabar accepts dates from 2000 to 2099: check the year"), "{}", problems[2]);
    assert!(problems[3].starts_with("line 5, column applied_at: "), "{}", problems[3]);
    assert_eq!(
        problems[4],
        "line 6, column applied_at: 2024-06-25 is after the appointment on 2024-06-24; an application is made before its appointment: check both dates"
    );
    assert_eq!(db.store.count_bookings().await.unwrap(), 1, "applied on the appointment's day is fine");
}

async fn every_field_has_a_length_limit(db: &TestStore) {
    import_offices(&db.store).await;
    let long_name = "A".repeat(1_000_000);
    let long_email = format!("{}@example.com", "b".repeat(300));
    let rows = [
        row("MP-5401", &long_name, "0812-1111-2222", "2024-06-24 09:00", ""),
        format!("MP-5402,PLG,,Budi,0812-1111-3333,{long_email},,,2024-06-24 09:00,regular,no,booked,\n"),
    ]
    .concat();
    let report = import_bookings(&db.store, &bookings_csv(&rows), false).await;
    assert_eq!(
        problems(&report),
        [
            "line 2, column name: is 1000000 characters long; at most 150 are allowed: shorten it",
            "line 3, column email: is 312 characters long; at most 254 are allowed: shorten it",
        ]
    );
    assert_eq!(db.store.count_bookings().await.unwrap(), 0);
}

crate::store_tests!(
    foreign_mobiles_are_refused_unless_their_country_is_allowed,
    a_letter_in_a_phone_number_is_refused,
    control_characters_are_refused_in_every_field,
    implausible_dates_are_refused_with_the_bounds,
    every_field_has_a_length_limit,
);
