//! Small, readable inputs shared by the store tests.

use std::path::PathBuf;

use kabar::domain::{Service, ServiceState};
use kabar::import::{self, ImportOptions, ImportReport};
use kabar::state::{set_state, StateChange};
use kabar::store::{DatabaseUrl, Store};

/// Three offices in three zones, and a unit.
pub const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
GTO,Kantor Imigrasi Kelas I TPI Gorontalo,Asia/Makassar,office,,I,Gorontalo,yes
JPR,Kantor Imigrasi Kelas I TPI Jayapura,Asia/Jayapura,office,,I,Papua,yes
TNG,Kantor Imigrasi Kelas I Non TPI Tangerang,Asia/Jakarta,office,,I,Banten,no
PLG-MPP,ULP Mal Pelayanan Publik Palembang,,unit,PLG,,,
";

pub const BOOKING_HEADER: &str =
    "booking_code,office_code,unit_code,name,phone,email,whatsapp,language,appointment_at,product,express,stage,applied_at\n";

/// A CSV file in a temporary directory that lives as long as the value.
pub struct CsvFile {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn csv_file(content: impl AsRef<[u8]>) -> CsvFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.csv");
    std::fs::write(&path, content).unwrap();
    CsvFile { _dir: dir, path }
}

pub fn bookings_csv(rows: &str) -> CsvFile {
    csv_file(format!("{BOOKING_HEADER}{rows}"))
}

pub async fn import_offices(store: &Store) {
    let report =
        import::import_offices_from(store, OFFICES.as_bytes(), "offices.csv", &ImportOptions::default())
            .await
            .unwrap();
    assert!(report.is_clean(), "{report}");
}

pub async fn import_bookings(store: &Store, file: &CsvFile, strict: bool) -> ImportReport {
    let options = ImportOptions { strict, batch_size: 3, ..ImportOptions::default() };
    import::import_bookings(store, &file.path, &options).await.unwrap()
}

/// An RFC 3339 instant.
pub fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc)
}

/// Changes a service's state at `offices` (a code, a list, `region:…` or `all`) at `when`.
pub async fn change(store: &Store, offices: &str, service: Service, state: ServiceState, when: &str) {
    let change = StateChange {
        target: offices.parse().unwrap(),
        service,
        state,
        reason: Some("Gangguan Pusat Data Nasional".into()),
        until: None,
        actor: "test".into(),
        at: at(when),
    };
    set_state(store, &change).await.unwrap();
}

/// The problems of a report, one line each, for exact comparison.
pub fn problems(report: &ImportReport) -> Vec<String> {
    report.errors.iter().map(ToString::to_string).collect()
}

/// Runs one statement directly on the test database (to stand for what a worker would do).
pub async fn sql(db: &crate::harness::TestStore, statement: &str) {
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
            sqlx::query(statement).execute(&pool).await.unwrap();
            pool.close().await;
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            sqlx::query(statement).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// What the delivery worker does to the messages due: they leave. (A notice still queued when
/// the next one about the same service is planned is superseded.)
pub const SENT: &str = "UPDATE messages SET status = 'sent' WHERE status = 'queued'";
