use kabar::domain::{BookingCode, Language, Msisdn, Product, Stage};

use crate::fixtures::{bookings_csv, csv_file, import_bookings, import_offices, problems, BOOKING_HEADER};
use crate::harness::TestStore;

const TWO_BOOKINGS_ONE_PHONE: &str = "\
MP-0001,PLG,PLG-MPP,Budi Santoso,0812-3456-7890,budi@example.co.id,,id,2024-06-24 09:00,regular,no,booked,
MP-0002,PLG,,Siti Santoso,+62 812 3456 7890,,,,2024-06-24 09:30,epassport,ya,booked,
MP-0003,GTO,,Andi Wijaya,6285298765432,,+6281398765432,en,2024-06-25 10:00,epassport,no,printing,2024-06-11
";

async fn imports_bookings_and_matches_applicants_by_phone(db: &TestStore) {
    import_offices(&db.store).await;
    let file = bookings_csv(TWO_BOOKINGS_ONE_PHONE);
    let report = import_bookings(&db.store, &file, false).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!((report.rows, report.counts.inserted, report.counts.updated), (3, 3, 0));
    assert_eq!(db.store.count_bookings().await.unwrap(), 3);
    assert_eq!(
        db.store.count_applicants().await.unwrap(),
        2,
        "two spellings of one number are one applicant"
    );

    let first = db.store.booking(&"MP-0001".parse::<BookingCode>().unwrap()).await.unwrap().unwrap();
    let second = db.store.booking(&"mp-0002".parse::<BookingCode>().unwrap()).await.unwrap().unwrap();
    assert_eq!(first.applicant_id, second.applicant_id);
    assert_eq!(first.booking.unit.as_ref().map(|unit| unit.as_str()), Some("PLG-MPP"));
    assert_eq!(first.booking.appointment_at.to_rfc3339(), "2024-06-24T02:00:00+00:00", "09:00 WIB");
    assert_eq!(second.booking.holder_name, "Siti Santoso");
    assert!(second.booking.express);
    assert_eq!(second.booking.product, Product::Epassport);
    // The contact keeps the email an earlier row gave even though this row left it empty.
    assert_eq!(
        second.booking.applicant.email.as_ref().map(|email| email.as_str()),
        Some("budi@example.co.id")
    );

    let third = db.store.booking(&"MP-0003".parse::<BookingCode>().unwrap()).await.unwrap().unwrap();
    assert_eq!(third.booking.appointment_at.to_rfc3339(), "2024-06-25T02:00:00+00:00", "10:00 WITA");
    assert_eq!(third.booking.stage, Stage::Printing);
    assert_eq!(third.booking.applied_on.map(|date| date.to_string()).as_deref(), Some("2024-06-11"));

    let mobile: Msisdn = "085298765432".parse().unwrap();
    let applicant = db.store.applicant(&mobile).await.unwrap().unwrap();
    assert_eq!(applicant.applicant.language, Some(Language::En));
    assert_eq!(applicant.applicant.whatsapp_number().e164(), "+6281398765432");
    let budi = db.store.applicant(&"081234567890".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(budi.applicant.whatsapp_number().e164(), "+6281234567890", "WhatsApp defaults to the mobile");
    assert!(!budi.sms_opted_out && !budi.whatsapp_opted_out && !budi.email_opted_out);
}

async fn reimporting_the_same_file_changes_nothing(db: &TestStore) {
    import_offices(&db.store).await;
    let file = bookings_csv(TWO_BOOKINGS_ONE_PHONE);
    import_bookings(&db.store, &file, false).await;
    let before = db.store.booking(&"MP-0001".parse().unwrap()).await.unwrap();
    let again = import_bookings(&db.store, &file, false).await;
    assert_eq!((again.counts.inserted, again.counts.updated, again.counts.unchanged), (0, 0, 3), "{again}");
    assert_eq!(db.store.booking(&"MP-0001".parse().unwrap()).await.unwrap(), before);

    let changed = bookings_csv(&TWO_BOOKINGS_ONE_PHONE.replace("regular,no,booked,", "regular,no,attended,"));
    let update = import_bookings(&db.store, &changed, false).await;
    assert_eq!((update.counts.inserted, update.counts.updated, update.counts.unchanged), (0, 1, 2));
    let after = db.store.booking(&"MP-0001".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(after.booking.stage, Stage::Attended);
}

async fn columns_in_any_order_with_a_bom_and_extra_columns(db: &TestStore) {
    import_offices(&db.store).await;
    let content = "\u{feff}Stage,express,product,appointment_at,phone,name,office_code,booking_code,source\n\
                   booked,tidak,regular,2024-06-24 08:15,0811-2222-3333,Dewi Lestari,tng,MP-1000,app\n";
    let report = import_bookings(&db.store, &csv_file(content), false).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.ignored_columns, ["source"]);
    let booking = db.store.booking(&"MP-1000".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(booking.booking.office.as_str(), "TNG");
    assert!(!booking.booking.express);
    assert_eq!(booking.booking.applicant.language, None, "not stated");
}

async fn missing_required_columns_are_named(db: &TestStore) {
    import_offices(&db.store).await;
    let file = csv_file("booking_code,office_code,name,appointment_at,product,express\nMP-1,PLG,A,2024-06-24 09:00,regular,no\n");
    let options = kabar::import::ImportOptions::default();
    let err = kabar::import::import_bookings(&db.store, &file.path, &options).await.unwrap_err().to_string();
    assert!(err.contains("missing required columns phone, stage"), "{err}");
    assert!(err.contains("found: booking_code, office_code"), "{err}");
    assert_eq!(db.store.count_bookings().await.unwrap(), 0);
}

const BAD_ROWS: &str = "\
MP-2001,PLG,,Rina,0812-1111-2222,,,,2024-06-24 09:00,regular,no,booked,
MP-2002,XYZ,,Joko,0812-1111-3333,,,,2024-06-24 09:00,regular,no,booked,
MP-2003,PLG,,Tono,0812-1111-4444,,,,2024-02-30 09:00,regular,no,booked,
MP-2004,PLG,,Ayu,0812-1111-5555,,,,2024-06-24 09:00,diplomatic,maybe,done,
MP-2005,PLG,,Eko,021-5551234,not-an-email,,fr,2024-06-24 09:00,regular,no,booked,
MP-2006,PLG,GTO-ULP,Sri,0812-1111-6666,,,,2024-06-24 09:00,regular,no,booked,
MP-2007,PLG,,Wati,0812-1111-7777
MP-2008,GTO,,Agus,0812-1111-8888,,,,2024-06-25 13:00,epassport,yes,ready,2024-06-03
";

async fn every_bad_row_is_reported_by_line_and_column(db: &TestStore) {
    import_offices(&db.store).await;
    let report = import_bookings(&db.store, &bookings_csv(BAD_ROWS), false).await;
    assert_eq!(
        problems(&report),
        [
            "line 3, column office_code: unknown office \"XYZ\"; import it first with `kabar import offices`",
            "line 4, column appointment_at: \"2024-02-30 09:00\" is not a date and time; write YYYY-MM-DD HH:MM (local time), e.g. 2024-06-24 17:00, or an RFC 3339 instant with its offset, e.g. 2024-06-24T17:00:00+07:00",
            "line 5, column product: unknown product \"diplomatic\"; expected one of: regular, epassport",
            "line 5, column express: \"maybe\" is not yes or no; use yes/no, true/false, 1/0 or ya/tidak",
            "line 5, column stage: unknown stage \"done\"; expected one of: booked, attended, paid, printing, printed, ready, picked_up, cancelled, no_show",
            "line 6, column phone: \"021****1234\" is a valid number but not a mobile one; messages need a mobile number: write the applicant's mobile (08…)",
            "line 6, column email: \"not-an-email\" is not an email address (Missing separator character '@'.); write it as name@example.com, or leave the cell empty",
            "line 6, column language: unknown language \"fr\"; expected one of: id, en",
            "line 7, column unit_code: unknown unit \"GTO-ULP\"; import it first with `kabar import offices`",
            "line 8, column email: no value: the row has 5 fields but the header has 13; check for a missing or extra separator or an unclosed quote",
        ]
    );
    assert_eq!((report.rows, report.rejected), (8, 6));
    assert!(!report.is_clean());
    // The default mode keeps the valid rows.
    assert_eq!(db.store.count_bookings().await.unwrap(), 2);
    assert!(db.store.booking(&"MP-2008".parse().unwrap()).await.unwrap().is_some());
}

async fn strict_mode_writes_nothing_when_a_row_fails(db: &TestStore) {
    import_offices(&db.store).await;
    let report = import_bookings(&db.store, &bookings_csv(BAD_ROWS), true).await;
    assert!(!report.written && report.rejected == 6, "{report}");
    assert_eq!(db.store.count_bookings().await.unwrap(), 0);
    assert_eq!(db.store.count_applicants().await.unwrap(), 0);

    let clean = import_bookings(&db.store, &bookings_csv(TWO_BOOKINGS_ONE_PHONE), true).await;
    assert!(clean.written && clean.is_clean(), "{clean}");
    assert_eq!(db.store.count_bookings().await.unwrap(), 3);
}

async fn wrong_encoding_is_a_clear_error(db: &TestStore) {
    import_offices(&db.store).await;
    let mut content = BOOKING_HEADER.as_bytes().to_vec();
    // "Sánchez" saved as Latin-1 by a spreadsheet.
    content.extend_from_slice(
        b"MP-3001,PLG,,S\xe1nchez,0812-1111-2222,,,,2024-06-24 09:00,regular,no,booked,\n",
    );
    let report = import_bookings(&db.store, &csv_file(content), false).await;
    assert_eq!(
        problems(&report),
        ["line 2, column name: not valid UTF-8 (byte 0xE1 at position 2); save the file as UTF-8 (in Excel: \"CSV UTF-8\")"]
    );
    assert_eq!(db.store.count_bookings().await.unwrap(), 0);
}

async fn bookings_need_offices_first(db: &TestStore) {
    let options = kabar::import::ImportOptions::default();
    let file = bookings_csv(TWO_BOOKINGS_ONE_PHONE);
    let err = kabar::import::import_bookings(&db.store, &file.path, &options).await.unwrap_err().to_string();
    assert!(err.contains("no offices in the database"), "{err}");
}

async fn a_code_repeated_in_one_file_is_an_error_naming_both_lines(db: &TestStore) {
    import_offices(&db.store).await;
    // The repeats fall in other batches (of 3 rows) than the first: the check spans the file.
    let rows = "\
MP-4001,PLG,,Rina,0812-1111-2222,,,,2024-06-24 09:00,regular,no,booked,
MP-4002,PLG,,Rudi,0812-1111-3333,,,,2024-06-24 09:00,regular,no,booked,
MP-4003,PLG,,Rani,0812-1111-4444,,,,2024-06-24 09:00,regular,no,booked,
mp-4001,PLG,,Rina,0812-1111-2222,,,,2024-06-24 10:00,regular,no,booked,
MP-4001,PLG,,Rina,0812-1111-2222,,,,2024-06-24 11:00,regular,no,attended,
";
    let report = import_bookings(&db.store, &bookings_csv(rows), false).await;
    assert_eq!(
        problems(&report),
        [
            "line 5, column booking_code: MP-4001 is already on line 2; a booking appears once in an export: keep the row that is right and delete the other",
            "line 6, column booking_code: MP-4001 is already on line 2; a booking appears once in an export: keep the row that is right and delete the other",
        ]
    );
    assert_eq!((report.rows, report.rejected), (5, 2));
    let booking = db.store.booking(&"MP-4001".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(booking.booking.appointment_at.to_rfc3339(), "2024-06-24T02:00:00+00:00", "the first row");
    assert_eq!(booking.booking.stage, Stage::Booked);
    assert_eq!(db.store.count_bookings().await.unwrap(), 3);
}

/// Ani has one booking, Bayu two; both are in printing when PLG's printing stops.
const IN_PRINTING: &str = "\
MP-5001,PLG,,Ani,0812-5000-0001,,,,2024-06-24 09:00,regular,no,printing,
MP-5002,PLG,,Bayu,0812-5000-0002,,,,2024-06-24 10:00,regular,no,printing,
MP-5003,PLG,,Bayu,0812-5000-0002,,,,2024-06-25 10:00,epassport,no,printing,
";

async fn a_closed_booking_takes_back_its_queued_message(db: &TestStore) {
    use kabar::plan::{plan_once, PlannerConfig};
    let store = &db.store;
    import_offices(store).await;
    assert!(import_bookings(store, &bookings_csv(IN_PRINTING), false).await.is_clean());
    let now = "2024-06-20T03:00:00Z";
    crate::fixtures::change(
        store,
        "PLG",
        kabar::domain::Service::Printing,
        kabar::domain::ServiceState::Unavailable,
        now,
    )
    .await;
    let config = PlannerConfig { settle_seconds: 0, ..PlannerConfig::default() };
    let events = plan_once(store, &config, crate::fixtures::at(now)).await.unwrap();
    let event = events[0].counts.event_id;
    let statuses = |messages: Vec<kabar::store::PlannedMessage>| {
        let mut statuses: Vec<(String, String)> = messages
            .into_iter()
            .map(|m| (m.mobile.e164()[m.mobile.e164().len() - 4..].to_owned(), m.status))
            .collect();
        statuses.sort();
        statuses
    };
    let queued = vec![("0001".to_owned(), "queued".to_owned()), ("0002".to_owned(), "queued".to_owned())];
    assert_eq!(statuses(store.planned_messages(event).await.unwrap()), queued);

    // M-Paspor's next export: Ani cancelled, and one of Bayu's two bookings.
    let closed = IN_PRINTING.replacen("printing", "cancelled", 2);
    assert!(import_bookings(store, &bookings_csv(&closed), false).await.is_clean());
    let after = vec![("0001".to_owned(), "cancelled".to_owned()), ("0002".to_owned(), "queued".to_owned())];
    assert_eq!(
        statuses(store.planned_messages(event).await.unwrap()),
        after,
        "Ani's only booking closed: her message is taken back; Bayu still has an open one"
    );
    // A re-import of the same rows cancels nothing more, and a message already sent is not touched.
    crate::fixtures::sql(db, crate::fixtures::SENT).await;
    let all_closed = IN_PRINTING.replace("printing", "cancelled");
    assert!(import_bookings(store, &bookings_csv(&all_closed), false).await.is_clean());
    let sent = vec![("0001".to_owned(), "cancelled".to_owned()), ("0002".to_owned(), "sent".to_owned())];
    assert_eq!(statuses(store.planned_messages(event).await.unwrap()), sent);
}

crate::store_tests!(
    a_closed_booking_takes_back_its_queued_message,
    imports_bookings_and_matches_applicants_by_phone,
    reimporting_the_same_file_changes_nothing,
    columns_in_any_order_with_a_bom_and_extra_columns,
    missing_required_columns_are_named,
    every_bad_row_is_reported_by_line_and_column,
    strict_mode_writes_nothing_when_a_row_fails,
    wrong_encoding_is_a_clear_error,
    bookings_need_offices_first,
    a_code_repeated_in_one_file_is_an_error_naming_both_lines,
);
