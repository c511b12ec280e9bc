//! Whole files (issue 12, items 6, 10, 11 and 14): `--strict` is all or nothing on both engines,
//! files that are not CSV say so, line numbers are an editor's for every line ending, and the
//! official office classes import.

use kabar::import::{import_offices_from, ImportError, ImportOptions};
use kabar::store::DatabaseUrl;

use crate::fixtures::{bookings_csv, csv_file, import_bookings, import_offices, problems, BOOKING_HEADER};
use crate::harness::TestStore;

fn rows(count: usize, from: usize) -> String {
    (from..from + count)
        .map(|n| {
            format!("MP-{n:04},PLG,,Applicant {n},0812-2000-{n:04},,,,2024-06-24 09:00,regular,no,booked,\n")
        })
        .collect()
}

/// Makes the database itself refuse to insert booking `MP-BOOM`, as a constraint kabar does not
/// check (or a failing disk) would.
pub(crate) async fn refuse_boom(db: &TestStore) {
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
            sqlx::raw_sql(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON bookings WHEN NEW.code = 'MP-BOOM'
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            sqlx::raw_sql(
                "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$
                 BEGIN IF NEW.code = 'MP-BOOM' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END
                 $$ LANGUAGE plpgsql;
                 CREATE TRIGGER refuse_boom BEFORE INSERT ON bookings FOR EACH ROW EXECUTE FUNCTION refuse_boom()",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
    }
}

async fn strict_is_one_transaction_even_when_the_store_fails_late(db: &TestStore) {
    import_offices(&db.store).await;
    refuse_boom(db).await;
    // Batches of 3: lines 2-4 and 5-7 are valid, the third batch (lines 8-10) holds MP-BOOM.
    let content = format!(
        "{}MP-BOOM,PLG,,Boom,0812-2999-0001,,,,2024-06-24 09:00,regular,no,booked,\n{}",
        rows(7, 1),
        rows(2, 100)
    );
    let file = bookings_csv(&content);
    let options = ImportOptions { strict: true, batch_size: 3, ..ImportOptions::default() };
    let err = kabar::import::import_bookings(&db.store, &file.path, &options).await.unwrap_err();
    assert!(matches!(err, ImportError::Write { first_line: 8, last_line: 10, .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("lines 8 to 10 could not be written; import the file again once the database is back"),
        "{err}"
    );
    assert_eq!(db.store.count_bookings().await.unwrap(), 0, "--strict wrote nothing");
    assert_eq!(db.store.count_applicants().await.unwrap(), 0);

    // The default mode keeps the batches before the failure, and says which lines were lost.
    let lenient = ImportOptions { batch_size: 3, ..ImportOptions::default() };
    let err = kabar::import::import_bookings(&db.store, &file.path, &lenient).await.unwrap_err();
    assert!(matches!(err, ImportError::Write { first_line: 8, last_line: 10, .. }), "{err}");
    assert_eq!(db.store.count_bookings().await.unwrap(), 6);
}

async fn strict_writes_nothing_when_a_late_row_holds_a_nul(db: &TestStore) {
    import_offices(&db.store).await;
    let content =
        format!("{}MP-0999,PLG,,Bu\0di,0812-2999-0002,,,,2024-06-24 09:00,regular,no,booked,\n", rows(10, 1));
    let report = import_bookings(&db.store, &bookings_csv(&content), true).await;
    assert!(!report.written, "{report}");
    assert_eq!(
        problems(&report),
        ["line 12, column name: contains a NUL byte (U+0000) at position 3; remove it (a value must be plain text on one line)"]
    );
    assert_eq!(db.store.count_bookings().await.unwrap(), 0);
}

/// The header error of importing `content`.
async fn header_error(db: &TestStore, content: &[u8]) -> String {
    let file = csv_file(content);
    let options = ImportOptions::default();
    let err = kabar::import::import_bookings(&db.store, &file.path, &options).await.unwrap_err();
    assert!(matches!(err, ImportError::Header { .. }), "{err}");
    err.to_string().replace(&file.path.display().to_string(), "FILE")
}

async fn files_that_are_not_csv_exports_say_so(db: &TestStore) {
    import_offices(&db.store).await;
    let no_header = rows(2, 1);
    let error = header_error(db, no_header.as_bytes()).await;
    assert_eq!(
        error,
        "FILE: line 1: this does not look like a CSV booking export: the first line should be the header naming the columns (booking_code, office_code, unit_code, name, phone, email, whatsapp, language, appointment_at, product, express, stage, applied_at), but it reads \"MP-0001\", \"PLG\", \"\", \"Applicant 1\", …"
    );
    let json = header_error(db, br#"[{"booking_code": "MP-1", "office_code": "PLG"}]"#).await;
    assert!(
        json.starts_with("FILE: line 1: this does not look like a CSV booking export: it looks like JSON"),
        "{json}"
    );
    let double_bom =
        header_error(db, format!("\u{feff}\u{feff}{BOOKING_HEADER}{}", rows(1, 1)).as_bytes()).await;
    assert!(double_bom.contains("it starts with two byte-order marks"), "{double_bom}");
    let nul = header_error(db, format!("booking_code,office\0_code\n{}", rows(1, 1)).as_bytes()).await;
    assert!(nul.contains("its first line holds NUL bytes"), "{nul}");
    for error in [json, double_bom, nul] {
        assert!(
            error.contains("the first line should be the header naming the columns (booking_code,"),
            "{error}"
        );
    }
    assert_eq!(db.store.count_bookings().await.unwrap(), 0);
}

/// With a column kabar does not read, whose note spans two lines.
const TWO_BAD_ROWS: [&str; 4] = [
    "MP-6001,PLG,,Rina,0812-1111-2222,,,,2024-06-24 09:00,regular,no,booked,,",
    "MP-6002,XYZ,,Joko,0812-1111-3333,,,,2024-06-24 09:00,regular,no,booked,,\"a note",
    "on two lines\"",
    "MP-6003,PLG,,Tono,0812-1111-4444,,,,2024-06-24 09:00,diplomatic,no,booked,,",
];

async fn line_numbers_are_an_editors_for_lf_crlf_and_cr(db: &TestStore) {
    import_offices(&db.store).await;
    for ending in ["\n", "\r\n", "\r"] {
        let header = format!("{},note", BOOKING_HEADER.trim_end());
        let mut lines = vec![header.as_str()];
        lines.extend(TWO_BAD_ROWS);
        let content = lines.join(ending) + ending;
        let report = import_bookings(&db.store, &csv_file(content), false).await;
        assert_eq!(
            problems(&report),
            [
                "line 3, column office_code: unknown office \"XYZ\"; import it first with `kabar import offices`",
                "line 5, column product: unknown product \"diplomatic\"; expected one of: regular, epassport",
            ],
            "{ending:?}"
        );
        assert_eq!(report.rows, 3);
    }
}

async fn semicolon_separated_exports_import(db: &TestStore) {
    import_offices(&db.store).await;
    let content = format!("{}{}", BOOKING_HEADER.replace(',', ";"), rows(2, 1).replace(',', ";"));
    let report = import_bookings(&db.store, &csv_file(content), false).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(db.store.count_bookings().await.unwrap(), 2);
}

async fn official_office_classes_import_and_tpi_is_checked(db: &TestStore) {
    let offices = "\
code,name,timezone,kind,parent_code,class,region,tpi
CGK,Kantor Imigrasi Kelas I Khusus TPI Soekarno-Hatta,Asia/Jakarta,office,,Kelas I Khusus TPI,Banten,
JKS,Kantor Imigrasi Kelas I Khusus Non TPI Jakarta Selatan,Asia/Jakarta,office,,Kelas I Khusus Non TPI,DKI Jakarta,no
NNK,Kantor Imigrasi Kelas II TPI Nunukan,Asia/Makassar,office,,Kelas II TPI,Kalimantan Utara,yes
KRC,Kantor Imigrasi Kelas III Non TPI Kerinci,Asia/Jakarta,office,,Kelas III,Jambi,no
TNG,Kantor Imigrasi Kelas I Non TPI Tangerang,Asia/Jakarta,office,,Kelas I Non TPI,Banten,yes
PTS,Kantor Imigrasi Kelas III Putussibau,Asia/Pontianak,office,,Kelas III,Kalimantan Barat,
";
    let options = ImportOptions::default();
    let report = import_offices_from(&db.store, offices.as_bytes(), "offices.csv", &options).await.unwrap();
    assert_eq!(
        problems(&report),
        [
            "line 6, column tpi: says yes but the class \"Kelas I Non TPI\" says Non TPI; correct one of them",
            "line 7, column tpi: is empty; write yes or no (or give the class with TPI or Non TPI, e.g. Kelas II TPI)",
        ]
    );
    let directory = db.store.office_directory().await.unwrap();
    let soekarno_hatta = directory.office(&"CGK".parse().unwrap()).unwrap();
    assert_eq!((soekarno_hatta.class.as_str(), soekarno_hatta.tpi), ("i", true), "TPI from the class");
    let jakarta_selatan = directory.office(&"JKS".parse().unwrap()).unwrap();
    assert_eq!((jakarta_selatan.class.as_str(), jakarta_selatan.tpi), ("i", false));
    assert_eq!(directory.office(&"KRC".parse().unwrap()).unwrap().class.as_str(), "iii");
    assert!(directory.office(&"TNG".parse().unwrap()).is_none());
    assert_eq!(directory.offices().count(), 4);
}

crate::store_tests!(
    strict_is_one_transaction_even_when_the_store_fails_late,
    strict_writes_nothing_when_a_late_row_holds_a_nul,
    files_that_are_not_csv_exports_say_so,
    line_numbers_are_an_editors_for_lf_crlf_and_cr,
    semicolon_separated_exports_import,
    official_office_classes_import_and_tpi_is_checked,
);
