//! The malformed-CSV corpus (`tests/corpus/`, written by `tests/corpus/generate.py`): every file
//! is imported with `--strict` on SQLite and, when `KABAR_TEST_POSTGRES_URL` is set, on
//! PostgreSQL. For each file the errors are compared with its snapshot (`tests/snapshots/`), and
//! checked: the import does not panic, writes nothing, reports the same problems in the default
//! mode's parse, and every message names the file, the line and (for a cell) the column, and says
//! what to do. Review changed snapshots with `cargo insta review`, or rerun with
//! `INSTA_UPDATE=always` and read the diff.

#[path = "store/harness.rs"]
mod harness;

use std::path::Path;

use harness::TestStore;
use kabar::domain::NumberPolicy;
use kabar::import::{self, ImportError, ImportOptions, ImportReport};
use kabar::store::Store;

/// The offices the booking files refer to (PLG, GTO with a unit GTO-ULP is not among them).
const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
GTO,Kantor Imigrasi Kelas I TPI Gorontalo,Asia/Makassar,office,,I,Gorontalo,yes
PLG-MPP,ULP Mal Pelayanan Publik Palembang,,unit,PLG,,,
";

/// Words that tell the reader what to do; every message has one.
const ADVICE: &[&str] = &[
    "write ",
    "use ",
    "save ",
    "remove ",
    "shorten ",
    "check ",
    "import ",
    "add ",
    "keep ",
    "correct ",
    "export ",
    "leave ",
    "expected one of",
    "delete ",
    "open ",
    "should be the header",
];

struct Engines {
    runtime: tokio::runtime::Runtime,
    stores: Vec<(&'static str, TestStore)>,
}

impl Engines {
    fn new() -> Engines {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let stores = runtime.block_on(async {
            let mut stores = vec![("sqlite", TestStore::sqlite().await)];
            if let Some(postgres) = TestStore::postgres().await {
                stores.push(("postgres", postgres));
            }
            for (_, db) in &stores {
                let options = ImportOptions::default();
                let report =
                    import::import_offices_from(&db.store, OFFICES.as_bytes(), "offices.csv", &options)
                        .await
                        .unwrap();
                assert!(report.is_clean(), "{report}");
            }
            stores
        });
        Engines { runtime, stores }
    }
}

/// `tests/corpus/…`, as messages name the file.
fn label(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// The report or error as the operator reads it, without timings.
fn describe(outcome: &Result<ImportReport, ImportError>, path: &Path, label: &str) -> String {
    match outcome {
        Ok(report) => {
            let mut text: Vec<String> =
                report.errors.iter().map(|error| format!("{label}: {error}")).collect();
            if report.more_errors > 0 {
                text.push(format!("… and {} more problems", report.more_errors));
            }
            text.push(format!(
                "{} rows read, {} rejected, written: {}",
                report.rows, report.rejected, report.written
            ));
            text.join("\n")
        }
        Err(err) => {
            let mut text = err.to_string().replace(&path.display().to_string(), label);
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

/// Checks what every message of the corpus must do; messages without advice are collected in
/// `unadvised`, so one run lists them all.
fn check_messages(
    outcome: &Result<ImportReport, ImportError>,
    text: &str,
    label: &str,
    unadvised: &mut Vec<String>,
) {
    match outcome {
        Ok(report) => {
            assert!(!report.written, "{label}: --strict wrote\n{text}");
            assert!(
                report.rejected > 0 && !report.errors.is_empty(),
                "{label} is valid: the corpus holds only wrong files"
            );
            for error in &report.errors {
                assert!(error.line >= 2, "{label}: a row error on line {}", error.line);
                assert!(error.column.is_some(), "{label}: no column in {error}");
            }
        }
        Err(err) => {
            assert!(
                matches!(err, ImportError::Header { .. } | ImportError::Encoding { .. }),
                "{label}: unexpected kind of error {err}"
            );
        }
    }
    for line in text.lines().filter(|line| line.starts_with(label)) {
        assert!(line.contains("line "), "{label}: no line in {line:?}");
        let lower = line.to_lowercase();
        if !ADVICE.iter().any(|advice| lower.contains(advice)) {
            unadvised.push(line.to_owned());
        }
    }
}

fn run_corpus(
    engines: &Engines,
    unadvised: &mut Vec<String>,
    path: &Path,
    import: impl for<'a> Fn(
        &'a Store,
        &'a Path,
    ) -> futures::future::BoxFuture<'a, Result<ImportReport, ImportError>>,
    count: impl for<'a> Fn(&'a Store) -> futures::future::BoxFuture<'a, u64>,
) -> String {
    let label = label(path);
    let mut first: Option<String> = None;
    for (engine, db) in &engines.stores {
        let (outcome, after) = engines.runtime.block_on(async {
            let before = count(&db.store).await;
            let outcome = import(&db.store, path).await;
            let after = count(&db.store).await;
            assert_eq!(after, before, "{label}: --strict wrote on {engine}");
            (outcome, after)
        });
        let _ = after;
        let text = describe(&outcome, path, &label);
        check_messages(&outcome, &text, &label, unadvised);
        match &first {
            Some(sqlite) => assert_eq!(&text, sqlite, "{label}: {engine} differs from SQLite"),
            None => first = Some(text),
        }
    }
    first.unwrap_or_default()
}

#[test]
fn malformed_booking_exports() {
    let engines = Engines::new();
    let directory = engines.runtime.block_on(engines.stores[0].1.store.office_directory()).unwrap();
    let mut unadvised = Vec::new();
    insta::glob!("corpus/bookings/*.csv", |path| {
        let text = run_corpus(
            &engines,
            &mut unadvised,
            path,
            |store, path| {
                Box::pin(async move {
                    let options = ImportOptions { strict: true, batch_size: 4, ..ImportOptions::default() };
                    import::import_bookings(store, path, &options).await
                })
            },
            |store| {
                Box::pin(async move {
                    store.count_bookings().await.unwrap() + store.count_applicants().await.unwrap()
                })
            },
        );
        // The default mode's parse finds the same problems.
        let file = label(path);
        let parsed = import::parse_bookings(
            std::fs::File::open(path).unwrap(),
            &file,
            &directory,
            &NumberPolicy::default(),
        )
        .map(|parsed| parsed.report);
        let lenient = describe(&parsed, path, &file);
        let strict_problems: Vec<&str> = text.lines().filter(|line| line.starts_with(&file)).collect();
        let lenient_problems: Vec<&str> = lenient.lines().filter(|line| line.starts_with(&file)).collect();
        assert_eq!(strict_problems, lenient_problems, "{file}");
        insta::assert_snapshot!(text);
    });
    assert!(unadvised.is_empty(), "messages that do not say what to do:\n{}", unadvised.join("\n"));
}

#[test]
fn malformed_office_lists() {
    let engines = Engines::new();
    let mut unadvised = Vec::new();
    insta::glob!("corpus/offices/*.csv", |path| {
        let text = run_corpus(
            &engines,
            &mut unadvised,
            path,
            |store, path| {
                Box::pin(async move {
                    let options = ImportOptions { strict: true, ..ImportOptions::default() };
                    import::import_offices(store, path, &options).await
                })
            },
            |store| {
                Box::pin(async move {
                    let directory = store.office_directory().await.unwrap();
                    (directory.offices().count() + directory.units().count()) as u64
                })
            },
        );
        insta::assert_snapshot!(text);
    });
    assert!(unadvised.is_empty(), "messages that do not say what to do:\n{}", unadvised.join("\n"));
}
