//! Loading demo data into a store: the reference offices (through the real importer), synthetic
//! offices when more are asked for, and generated bookings written in batches as an import would.

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use super::{bookings, reference_offices_csv, synthetic_offices, SeedOffice, SeedSpec};
use crate::domain::{Office, Unit};
use crate::import::{import_offices_from, ImportError, ImportOptions};
use crate::store::{Store, StoreError};

/// Bookings per transaction while seeding.
const BATCH: usize = 25_000;

/// What seeding wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub offices: usize,
    pub bookings: u64,
    pub applicants: u64,
}

/// Imports the reference offices and, when `total_offices` exceeds them, synthetic ones.
/// Returns the offices to generate bookings for: all of them.
pub async fn load_offices(
    store: &Store,
    total_offices: Option<usize>,
    seed: u64,
) -> Result<Vec<SeedOffice>, ImportError> {
    let options = ImportOptions { strict: true, ..ImportOptions::default() };
    let report =
        import_offices_from(store, reference_offices_csv().as_bytes(), "data/offices.csv", &options).await?;
    assert!(report.is_clean(), "the embedded reference list is checked by the tests: {report}");
    let directory = store.office_directory().await?;
    let reference = directory.offices().count();
    if let Some(extra) =
        total_offices.and_then(|total| total.checked_sub(reference)).filter(|extra| *extra > 0)
    {
        let synthetic = synthetic_offices(extra, seed);
        let offices: Vec<Office> = synthetic.iter().map(|(office, _)| office.clone()).collect();
        let units: Vec<Unit> = synthetic.iter().flat_map(|(_, units)| units.iter().cloned()).collect();
        store.upsert_offices(&offices, &units, Utc::now()).await?;
    }
    let directory = store.office_directory().await?;
    Ok(directory
        .offices()
        .map(|office| {
            let units: Vec<Unit> =
                directory.units().filter(|unit| unit.office == office.code).cloned().collect();
            SeedOffice::new(office, &units)
        })
        .collect())
}

/// How many bookings in the store are not demo bookings: seeding demo data next to real
/// applicants would mix made-up people into real notices, so the CLI refuses unless forced.
pub async fn real_bookings(store: &Store) -> Result<u64, StoreError> {
    store.count_bookings_without_prefix(super::DEMO_CODE_PREFIX).await
}

/// Generates `spec.bookings` bookings over `offices` and writes them, generating the next batch on
/// a blocking thread while the previous one is written.
pub async fn seed_bookings(
    store: &Store,
    spec: &SeedSpec,
    offices: &[SeedOffice],
    progress: bool,
) -> Result<SeedReport, StoreError> {
    let (sender, mut receiver) = mpsc::channel::<Vec<crate::domain::Booking>>(4);
    let mut generated = bookings(spec, offices);
    let generator = tokio::task::spawn_blocking(move || loop {
        let batch: Vec<_> = generated.by_ref().take(BATCH).collect();
        if batch.is_empty() || sender.blocking_send(batch).is_err() {
            break;
        }
    });
    let bar = if progress { ProgressBar::new(spec.bookings as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} seeding [{bar:40}] {pos}/{len} bookings ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let at = Utc::now();
    while let Some(batch) = receiver.recv().await {
        store.upsert_bookings(&batch, at).await?;
        bar.inc(batch.len() as u64);
    }
    generator.await.expect("the generating thread panicked");
    store.analyze().await?;
    bar.finish_and_clear();
    Ok(SeedReport {
        offices: offices.len(),
        bookings: store.count_bookings().await?,
        applicants: store.count_applicants().await?,
    })
}
