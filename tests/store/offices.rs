use kabar::import::{import_offices_from, ImportOptions};

use crate::fixtures::{import_offices, OFFICES};
use crate::harness::TestStore;

async fn imports_offices_and_units_idempotently(db: &TestStore) {
    let first = import_offices_from(&db.store, OFFICES.as_bytes(), "offices.csv", &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((first.counts.inserted, first.counts.updated, first.counts.unchanged), (5, 0, 0), "{first}");
    let again = import_offices_from(&db.store, OFFICES.as_bytes(), "offices.csv", &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((again.counts.inserted, again.counts.updated, again.counts.unchanged), (0, 0, 5), "{again}");

    let directory = db.store.office_directory().await.unwrap();
    let gorontalo = directory.office(&"GTO".parse().unwrap()).unwrap();
    assert_eq!(gorontalo.timezone.name(), "Asia/Makassar");
    assert!(gorontalo.tpi);
    let unit = directory.unit(&"PLG-MPP".parse().unwrap()).unwrap();
    assert_eq!(unit.office.as_str(), "PLG");

    let renamed = OFFICES.replace("Kelas I TPI Gorontalo", "Kelas I TPI Gorontalo (baru)");
    let update = import_offices_from(&db.store, renamed.as_bytes(), "offices.csv", &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((update.counts.updated, update.counts.unchanged), (1, 4));
}

const BAD_OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
NNK,Kantor Imigrasi Kelas II TPI Nunukan,Asia/Makassar,office,,II,Kalimantan Utara,yes
XXX,Kantor Imigrasi Atlantis,Atlantis/Capital,office,,IV,Nowhere,perhaps
NNK-ULP,ULP Nunukan,Asia/Jakarta,unit,NNK,,,
ZZZ-ULP,ULP Entah,,unit,ZZZ,,,
YYY,Kantor Imigrasi Sesuatu,Asia/Jakarta,branch,,I,Jawa Barat,no
";

async fn bad_office_rows_are_reported_and_strict_writes_nothing(db: &TestStore) {
    let strict = ImportOptions { strict: true, ..ImportOptions::default() };
    let report =
        import_offices_from(&db.store, BAD_OFFICES.as_bytes(), "offices.csv", &strict).await.unwrap();
    let problems: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "line 3, column timezone: \"Atlantis/Capital\" is not an IANA time zone; use Asia/Jakarta (WIB), Asia/Pontianak (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)",
            "line 3, column class: unknown office class \"IV\"; write I, II or III, or the official form: Kelas I TPI, Kelas I Non TPI, Kelas I Khusus TPI, Kelas I Khusus Non TPI, Kelas II TPI, Kelas II Non TPI, Kelas III",
            "line 3, column tpi: \"perhaps\" is not yes or no; use yes/no, true/false, 1/0 or ya/tidak",
            "line 4, column timezone: a unit uses its office's time zone (Asia/Makassar); leave it empty or write Asia/Makassar",
            "line 5, column parent_code: unknown office \"ZZZ\"; a unit's parent_code must be an office of this file or one imported before: add the office, or correct the code",
            "line 6, column kind: unknown kind \"branch\"; write office or unit",
        ]
    );
    assert!(!report.written);
    assert!(db.store.office_directory().await.unwrap().is_empty());

    let lenient =
        import_offices_from(&db.store, BAD_OFFICES.as_bytes(), "offices.csv", &ImportOptions::default())
            .await
            .unwrap();
    assert_eq!((lenient.rejected, lenient.counts.inserted), (4, 1));
}

async fn units_may_join_offices_imported_earlier(db: &TestStore) {
    import_offices(&db.store).await;
    let units = "code,name,timezone,kind,parent_code,class,region,tpi\nGTO-MPP,MPP Gorontalo,,unit,GTO,,,\n";
    let report = import_offices_from(&db.store, units.as_bytes(), "units.csv", &ImportOptions::default())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(db.store.office_directory().await.unwrap().unit(&"GTO-MPP".parse().unwrap()).is_some());
}

crate::store_tests!(
    imports_offices_and_units_idempotently,
    bad_office_rows_are_reported_and_strict_writes_nothing,
    units_may_join_offices_imported_earlier,
);
