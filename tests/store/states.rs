use chrono::{TimeZone, Utc};
use kabar::domain::{Service, ServiceState};
use kabar::state::{set_state, StateChange, StateError, Target};

use crate::fixtures::import_offices;
use crate::harness::TestStore;

fn change(target: &str, service: Service, state: ServiceState, reason: Option<&str>) -> StateChange {
    StateChange {
        target: target.parse::<Target>().unwrap(),
        service,
        state,
        reason: reason.map(str::to_owned),
        until: None,
        actor: "petugas-plg".into(),
        at: Utc.with_ymd_and_hms(2024, 6, 20, 3, 0, 0).unwrap(),
    }
}

async fn a_national_outage_reaches_every_office_once(db: &TestStore) {
    import_offices(&db.store).await;
    let outage = change("all", Service::Printing, ServiceState::Unavailable, Some("Gangguan PDN"));
    let applied = set_state(&db.store, &outage).await.unwrap();
    assert_eq!(applied.len(), 4);
    assert!(applied.iter().all(|a| a.changed && a.from == ServiceState::Operational));

    let again = set_state(&db.store, &outage).await.unwrap();
    assert!(again.iter().all(|a| !a.changed), "the same change twice records nothing");

    let board = db.store.service_board(None).await.unwrap();
    assert_eq!(board.len(), 4);
    assert!(board.iter().all(|row| row.state == ServiceState::Unavailable && row.actor == "petugas-plg"));

    let mut back = change("GTO", Service::Printing, ServiceState::Operational, None);
    back.at = Utc.with_ymd_and_hms(2024, 6, 25, 1, 0, 0).unwrap();
    let applied = set_state(&db.store, &back).await.unwrap();
    assert_eq!(
        (applied[0].from, applied[0].to, applied[0].changed),
        (ServiceState::Unavailable, ServiceState::Operational, true)
    );

    let history = db.store.state_history(&"GTO".parse().unwrap(), 10).await.unwrap();
    let states: Vec<_> = history.iter().map(|row| (row.state, row.reason.clone())).collect();
    assert_eq!(
        states,
        [(ServiceState::Operational, None), (ServiceState::Unavailable, Some("Gangguan PDN".into()))]
    );
    assert_eq!(history[0].changed_at, back.at);
}

async fn border_crossing_only_at_checkpoint_offices(db: &TestStore) {
    import_offices(&db.store).await;
    let national = change("all", Service::BorderCrossing, ServiceState::Degraded, Some("Autogate mati"));
    let applied = set_state(&db.store, &national).await.unwrap();
    let offices: Vec<_> = applied.iter().map(|a| a.office.as_str().to_owned()).collect();
    assert_eq!(offices, ["GTO", "JPR", "PLG"], "Tangerang has no checkpoint");

    let err =
        set_state(&db.store, &change("TNG", Service::BorderCrossing, ServiceState::Degraded, Some("x")))
            .await
            .unwrap_err();
    assert!(matches!(err, StateError::NoCheckpoint(..)), "{err}");
}

async fn expected_restoration_is_read_in_each_office_zone(db: &TestStore) {
    import_offices(&db.store).await;
    let mut outage =
        change("PLG,GTO,JPR", Service::Express, ServiceState::Unavailable, Some("Sistem belum normal"));
    outage.until = Some("2024-07-01 08:00".into());
    set_state(&db.store, &outage).await.unwrap();
    let board = db.store.service_board(None).await.unwrap();
    let expected: Vec<_> = board
        .iter()
        .map(|row| (row.office.as_str().to_owned(), row.expected_at.unwrap().to_rfc3339()))
        .collect();
    assert_eq!(
        expected,
        [
            ("GTO".to_owned(), "2024-07-01T00:00:00+00:00".to_owned()),
            ("JPR".to_owned(), "2024-06-30T23:00:00+00:00".to_owned()),
            ("PLG".to_owned(), "2024-07-01T01:00:00+00:00".to_owned()),
        ]
    );
    let one = db.store.service_board(Some(&"PLG".parse().unwrap())).await.unwrap();
    assert_eq!(one.len(), 1);
}

async fn refused_changes_write_nothing(db: &TestStore) {
    import_offices(&db.store).await;
    let no_reason =
        set_state(&db.store, &change("PLG", Service::Pickup, ServiceState::Unavailable, None)).await;
    assert!(matches!(no_reason, Err(StateError::ReasonRequired(ServiceState::Unavailable))));
    let unknown =
        set_state(&db.store, &change("PLG,NNK", Service::Pickup, ServiceState::Unavailable, Some("x"))).await;
    assert_eq!(unknown.unwrap_err().to_string().split(';').next().unwrap(), "unknown office NNK");
    let mut bad_until = change("PLG", Service::Pickup, ServiceState::Unavailable, Some("x"));
    bad_until.until = Some("next week".into());
    assert!(matches!(set_state(&db.store, &bad_until).await, Err(StateError::Until(_))));
    let mut nul = change("PLG", Service::Pickup, ServiceState::Unavailable, Some("Gangguan\0PDN"));
    assert_eq!(
        set_state(&db.store, &nul).await.unwrap_err().to_string(),
        "--reason: contains a NUL byte (U+0000) at position 9; remove it (a value must be plain text on one line)"
    );
    nul.reason = Some("x".repeat(201));
    assert_eq!(
        set_state(&db.store, &nul).await.unwrap_err().to_string(),
        "--reason: is 201 characters long; at most 200 are allowed: shorten it"
    );
    // 2024-06-20 03:00 UTC is 10:00 in Palembang and 11:00 in Gorontalo.
    let mut past = change("PLG,GTO", Service::Printing, ServiceState::Unavailable, Some("x"));
    past.until = Some("2024-06-20 10:30".into());
    assert_eq!(
        set_state(&db.store, &past).await.unwrap_err().to_string(),
        "--until 2024-06-20 10:30 WITA is not in the future: it is 2024-06-20 11:00 WITA at GTO now; \
         give the time the service is expected back, or leave --until out if nobody knows yet"
    );
    past.until = Some("2024-06-20T10:00:00+07:00".into());
    assert!(
        matches!(set_state(&db.store, &past).await, Err(StateError::UntilPast { .. })),
        "now is not later"
    );
    let region =
        set_state(&db.store, &change("region:Atlantis", Service::Pickup, ServiceState::Degraded, Some("x")))
            .await;
    assert!(matches!(region, Err(StateError::EmptyRegion(_))));
    assert!(db.store.service_board(None).await.unwrap().is_empty());

    let by_region =
        change("region:sumatera selatan", Service::Pickup, ServiceState::Degraded, Some("Antrian panjang"));
    let applied = set_state(&db.store, &by_region).await.unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].office.as_str(), "PLG");
}

crate::store_tests!(
    a_national_outage_reaches_every_office_once,
    border_crossing_only_at_checkpoint_offices,
    expected_restoration_is_read_in_each_office_zone,
    refused_changes_write_nothing,
);

/// Without `KABAR_TEST_POSTGRES_URL` the PostgreSQL half says it is skipped, and fails when
/// `KABAR_REQUIRE_POSTGRES=1` (CI) asks for it.
#[test]
fn the_postgres_half_is_skipped_visibly_or_required() {
    let run = |require: bool| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args(["states::postgres::refused_changes_write_nothing", "--exact"])
            .env_remove("KABAR_TEST_POSTGRES_URL")
            .env_remove("KABAR_REQUIRE_POSTGRES");
        if require {
            command.env("KABAR_REQUIRE_POSTGRES", "1");
        }
        let output = command.output().unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    };
    let (passed, text) = run(false);
    assert!(passed, "{text}");
    assert!(
        text.contains(
            "SKIPPED states::postgres::refused_changes_write_nothing: KABAR_TEST_POSTGRES_URL is not set"
        ),
        "{text}"
    );
    let (passed, text) = run(true);
    assert!(!passed, "{text}");
    assert!(text.contains("KABAR_REQUIRE_POSTGRES=1 but KABAR_TEST_POSTGRES_URL is not set"), "{text}");
}
