//! Staff accounts, tokens and idempotency keys on both engines: every write audited in its own
//! transaction, tokens kept only as hashes, login failures that look alike.

use chrono::Duration;
use kabar::audit::{Actor, AuditFilter, Origin};
use kabar::staff::accounts::{self, NewStaff, NewToken, StaffChange};
use kabar::staff::{AuthError, Authenticator, LoginLimits, Role, StaffError};
use kabar::store::IdempotentStart;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::scalar;
use crate::fixtures::{at, import_offices};
use crate::harness::TestStore;

const NOW: &str = "2024-06-20T03:00:00Z";

fn admin() -> Origin {
    Origin::of(Actor::staff("root"))
}

async fn audit_actions(db: &TestStore) -> Vec<String> {
    let mut actions = Vec::new();
    db.store
        .audit_records(&AuditFilter::default(), |record| {
            actions.push(format!("{} {} {}", record.actor, record.action, record.target));
            Ok(())
        })
        .await
        .unwrap();
    actions
}

async fn accounts_are_audited_and_scoped(db: &TestStore) {
    import_offices(&db.store).await;
    let new = NewStaff {
        username: "Budi".parse().unwrap(),
        display_name: Some("Budi Santoso".into()),
        role: Role::Officer,
        scope: "PLG".parse().unwrap(),
    };
    let password = SecretString::from("kata sandi yang panjang");
    let budi =
        accounts::add_staff(&db.store, new.clone(), password.clone(), &admin(), at(NOW)).await.unwrap();
    assert_eq!((budi.username.as_str(), budi.role), ("budi", Role::Officer));
    let again = accounts::add_staff(&db.store, new.clone(), password.clone(), &admin(), at(NOW)).await;
    assert!(matches!(again, Err(StaffError::StaffExists(_))), "{again:?}");
    let unknown = NewStaff { username: "ani".parse().unwrap(), scope: "XYZ".parse().unwrap(), ..new.clone() };
    let err = accounts::add_staff(&db.store, unknown, password.clone(), &admin(), at(NOW)).await.unwrap_err();
    assert!(err.to_string().contains("unknown office XYZ"), "{err}");
    let short = NewStaff { username: "ani".parse().unwrap(), ..new };
    let err = accounts::add_staff(&db.store, short, "pendek".into(), &admin(), at(NOW)).await.unwrap_err();
    assert!(err.to_string().contains("at least 12"), "{err}");

    let change = StaffChange {
        role: Some(Role::Supervisor),
        scope: Some("region:Gorontalo".parse().unwrap()),
        ..StaffChange::default()
    };
    let budi =
        accounts::update_staff(&db.store, &budi.username, change, None, &admin(), at(NOW)).await.unwrap();
    assert_eq!((budi.role, budi.scope.to_string().as_str()), (Role::Supervisor, "region:Gorontalo"));
    let disable = StaffChange { disabled: Some(true), ..StaffChange::default() };
    accounts::update_staff(&db.store, &budi.username, disable, None, &admin(), at(NOW)).await.unwrap();
    assert_eq!(
        audit_actions(db).await,
        [
            "staff:root staff.add staff:budi",
            "staff:root staff.set_role staff:budi",
            "staff:root staff.disable staff:budi"
        ]
    );
    let hash: String = db.store.staff_account(&budi.username).await.unwrap().unwrap().1;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM audit_log WHERE summary LIKE '%argon2%'").await, 0);
}

async fn logins_fail_alike_and_are_limited(db: &TestStore) {
    import_offices(&db.store).await;
    let new = NewStaff {
        username: "ani".parse().unwrap(),
        display_name: None,
        role: Role::Viewer,
        scope: "GTO".parse().unwrap(),
    };
    accounts::add_staff(&db.store, new, "kata sandi yang panjang".into(), &admin(), at(NOW)).await.unwrap();
    let auth = Authenticator::new(
        db.store.clone(),
        LoginLimits { failures_per_minute: 3, client_failures_per_minute: 100 },
    );
    let client = Some("192.0.2.7".parse().unwrap());
    let origin = Origin::of(Actor::staff("ani"));
    let ok = auth.login("ANI", "kata sandi yang panjang".into(), &origin, client, at(NOW)).await.unwrap();
    assert!(db.store.staff_account(&ok.username).await.unwrap().unwrap().0.last_login_at.is_some());
    let wrong = auth.login("ani", "salah salah salah".into(), &origin, client, at(NOW)).await.unwrap_err();
    let unknown =
        auth.login("nobody", "salah salah salah".into(), &origin, client, at(NOW)).await.unwrap_err();
    assert_eq!(wrong.to_string(), unknown.to_string(), "an unknown username answers as a wrong password");
    // Three failures a minute are allowed: the fourth locks the username out.
    for _ in 0..2 {
        let failed =
            auth.login("ani", "salah salah salah".into(), &origin, client, at(NOW)).await.unwrap_err();
        assert!(matches!(failed, AuthError::Unauthenticated(_)), "{failed:?}");
    }
    let fourth = auth.login("ani", "salah salah salah".into(), &origin, client, at(NOW)).await.unwrap_err();
    assert!(matches!(fourth, AuthError::RateLimited(_)), "{fourth:?}");
    let limited =
        auth.login("ani", "kata sandi yang panjang".into(), &origin, client, at(NOW)).await.unwrap_err();
    assert!(
        matches!(limited, AuthError::RateLimited(_)),
        "the right password is not even checked: {limited:?}"
    );
}

async fn tokens_are_hashed_revocable_and_expire(db: &TestStore) {
    import_offices(&db.store).await;
    let new = NewToken {
        name: "m-paspor".parse().unwrap(),
        role: Role::Officer,
        scope: "all".parse().unwrap(),
        expires_in: Some(Duration::days(90)),
    };
    let (record, token) =
        accounts::create_token(&db.store, new.clone(), &Origin::cli(), at(NOW)).await.unwrap();
    let secret = token.expose_secret().to_owned();
    assert!(secret.starts_with(&record.prefix) && record.prefix.starts_with("kbr_"));
    assert_eq!(
        scalar(db, &format!("SELECT COUNT(*) FROM api_tokens WHERE token_hash LIKE '%{}%'", &secret[4..]))
            .await,
        0
    );
    assert_eq!(
        scalar(db, &format!("SELECT COUNT(*) FROM audit_log WHERE summary LIKE '%{}%'", &secret[12..])).await,
        0
    );
    assert!(matches!(
        accounts::create_token(&db.store, new, &Origin::cli(), at(NOW)).await,
        Err(StaffError::TokenExists(_))
    ));

    let auth = Authenticator::new(db.store.clone(), LoginLimits::default());
    let caller = auth.token(&secret, None, at(NOW)).await.unwrap();
    assert_eq!((caller.actor.as_str(), caller.role), ("token:m-paspor", Role::Officer));
    let used = db.store.api_tokens().await.unwrap();
    assert_eq!(used[0].last_used_at, Some(at(NOW)));
    let late = at(NOW) + Duration::days(91);
    let expired = auth.token(&secret, None, late).await.unwrap_err();
    assert!(expired.to_string().contains("expired"), "{expired}");
    accounts::revoke_token(&db.store, &record.name, &Origin::cli(), at(NOW)).await.unwrap();
    let revoked = auth.token(&secret, None, at(NOW)).await.unwrap_err();
    assert!(revoked.to_string().contains("revoked"), "{revoked}");
    assert!(matches!(
        accounts::revoke_token(&db.store, &record.name, &Origin::cli(), at(NOW)).await,
        Err(StaffError::AlreadyRevoked(_))
    ));
    let forged = format!("{}{}", &secret[..12], "A".repeat(35));
    assert!(matches!(auth.token(&forged, None, at(NOW)).await, Err(AuthError::Unauthenticated(_))));
}

async fn idempotency_keys_replay_and_refuse(db: &TestStore) {
    let store = &db.store;
    let now = at(NOW);
    assert_eq!(
        store.begin_idempotent("staff:budi", "k1", "h1", now, 86_400).await.unwrap(),
        IdempotentStart::New
    );
    assert_eq!(
        store.begin_idempotent("staff:budi", "k1", "h1", now, 86_400).await.unwrap(),
        IdempotentStart::InProgress
    );
    store
        .finish_idempotent("staff:budi", "k1", Some((201, Some("application/json"), "{\"id\":1}")))
        .await
        .unwrap();
    assert_eq!(
        store.begin_idempotent("staff:budi", "k1", "h1", now, 86_400).await.unwrap(),
        IdempotentStart::Replay {
            status: 201,
            content_type: Some("application/json".into()),
            body: "{\"id\":1}".into()
        }
    );
    assert_eq!(
        store.begin_idempotent("staff:budi", "k1", "h2", now, 86_400).await.unwrap(),
        IdempotentStart::Mismatch
    );
    assert_eq!(
        store.begin_idempotent("staff:ani", "k1", "h2", now, 86_400).await.unwrap(),
        IdempotentStart::New,
        "keys are per caller"
    );
    let tomorrow = now + Duration::hours(25);
    assert_eq!(
        store.begin_idempotent("staff:budi", "k1", "h2", tomorrow, 86_400).await.unwrap(),
        IdempotentStart::New,
        "keys live 24 h"
    );
}

crate::store_tests!(
    accounts_are_audited_and_scoped,
    logins_fail_alike_and_are_limited,
    tokens_are_hashed_revocable_and_expire,
    idempotency_keys_replay_and_refuse,
);
