//! The console's admin pages over real HTTP on both engines: staff accounts (add → can log in,
//! disable → session refused, role and scope, reset password, no office beyond the admin's own),
//! API tokens (shown once, usable on the API, revoked → 401), the audit log (filters, paging,
//! and the chain verification catching a row edited behind kabar's back), the 403 page for
//! non-admins, and the CSRF check on every admin form.

use kabar::audit::{Actor, AuditEntry, Origin};
use kabar::staff::accounts::{self, NewStaff};
use kabar::staff::{Role, StaffConfig};
use kabar::store::DatabaseUrl;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, LOCATION, ORIGIN, SET_COOKIE};

use crate::console_support::{with_csrf, Console, PASSWORD};
use crate::harness::TestStore;

/// A new account's password, distinct from every other in the test.
const NEW_PASSWORD: &str = "sandi baru yang cukup panjang";

/// The console with `budi` (officer of PLG) and `adi`, an admin of PLG only.
async fn start(db: TestStore) -> Console {
    let console = Console::start(db, None, StaffConfig::default()).await;
    let new = NewStaff {
        username: "adi".parse().unwrap(),
        display_name: Some("Adi Nugroho".into()),
        role: Role::Admin,
        scope: "PLG".parse().unwrap(),
    };
    accounts::add_staff(&console.db.store, new, PASSWORD.into(), &Origin::cli(), chrono::Utc::now())
        .await
        .unwrap();
    console
}

/// A signed-in staff member: the session cookie and the forms' token.
struct Session {
    cookie: String,
    csrf: String,
}

/// Logs `username` in; `None` when the login is refused.
async fn login_as(console: &Console, username: &str, password: &str) -> Option<Session> {
    let response = console
        .post("/console/login", &[("username", username), ("password", password)])
        .header(ORIGIN, &console.origin)
        .send()
        .await
        .unwrap();
    if response.status() != 303 {
        return None;
    }
    let value = response.headers().get(SET_COOKIE)?.to_str().unwrap();
    let session = value.strip_prefix("kabar_session=")?.split(';').next()?.to_owned();
    let board = console.page("/console", &session).await.text().await.unwrap();
    let at = board.find("name=\"csrf\" value=\"").expect("the logout form carries the token") + 19;
    let csrf = board[at..at + 64].to_owned();
    Some(Session { cookie: format!("kabar_session={session}"), csrf })
}

async fn get(console: &Console, path: &str, session: &Session) -> (u16, String) {
    let response = console
        .http
        .get(format!("{}{path}", console.base))
        .header(COOKIE, &session.cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Posts a form with the session's token; the status, the `Location`, the page.
async fn submit(
    console: &Console,
    path: &str,
    session: &Session,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let response = console
        .post(path, &with_csrf(form, &session.csrf))
        .header(ORIGIN, &console.origin)
        .header(COOKIE, &session.cookie)
        .send()
        .await
        .unwrap();
    let location =
        response.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status().as_u16(), location, response.text().await.unwrap())
}

fn add_form<'a>(
    username: &'a str,
    offices: &'a str,
    password: &'a str,
    again: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", username),
        ("name", "Ani Lestari"),
        ("role", "officer"),
        ("offices", offices),
        ("password", password),
        ("password_again", again),
    ]
}

async fn role_of(console: &Console, username: &str) -> Option<(Role, String, bool)> {
    let accounts = console.db.store.staff_accounts().await.unwrap();
    accounts
        .into_iter()
        .find(|account| account.username.as_str() == username)
        .map(|account| (account.role, account.scope.to_string(), account.disabled))
}

async fn staff_accounts_are_managed_in_the_console(db: TestStore) {
    let console = start(db).await;
    let budi = login_as(&console, "budi", PASSWORD).await.unwrap();
    let adi = login_as(&console, "adi", PASSWORD).await.unwrap();

    // Not an admin: the 403 page, and no admin link in the nav.
    for path in ["/console/admin/staff", "/console/admin/staff/adi", "/console/admin/tokens"] {
        let (status, page) = get(&console, path, &budi).await;
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("Akses ditolak"), "{path}: {page}");
    }
    assert!(!get(&console, "/console", &budi).await.1.contains("id=\"nav-admin\""));
    assert!(get(&console, "/console", &adi).await.1.contains("id=\"nav-admin\""));
    let (status, _, _) =
        submit(&console, "/console/admin/staff", &budi, &add_form("eve", "PLG", NEW_PASSWORD, NEW_PASSWORD))
            .await;
    assert_eq!(status, 403, "an officer adds nobody");

    // Mistakes show the form again with the message beside the field; nothing is added.
    let mistakes = [
        (
            add_form("ani", "PLG", NEW_PASSWORD, "lain sekali sandinya"),
            422,
            "password_again",
            "value=\"ani\"",
        ),
        (add_form("ani", "PLG", "pendek", "pendek"), 422, "password", "too short"),
        (add_form("ani", "region:", NEW_PASSWORD, NEW_PASSWORD), 422, "offices", "needs a name"),
        // An admin of PLG grants no GTO.
        (add_form("ani", "PLG,GTO", NEW_PASSWORD, NEW_PASSWORD), 403, "offices", "outside your own"),
        (add_form("budi", "PLG", NEW_PASSWORD, NEW_PASSWORD), 409, "username", "already exists"),
    ];
    for (form, wanted, field, text) in &mistakes {
        let (status, _, page) = submit(&console, "/console/admin/staff", &adi, form).await;
        assert_eq!(status, *wanted, "{field}: {page}");
        assert!(page.contains(&format!("id=\"{field}-error\"")) && page.contains(text), "{field}: {page}");
        assert!(!page.contains(NEW_PASSWORD), "a password is never shown again");
    }
    assert_eq!(role_of(&console, "ani").await, None);

    // Without the token: refused, nothing added.
    let refused = console
        .post("/console/admin/staff", &add_form("ani", "PLG", NEW_PASSWORD, NEW_PASSWORD))
        .header(ORIGIN, &console.origin)
        .header(COOKIE, &adi.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(role_of(&console, "ani").await, None);

    // Added: listed, audited as the admin, and the new account can log in.
    let (status, location, _) =
        submit(&console, "/console/admin/staff", &adi, &add_form("ani", "PLG", NEW_PASSWORD, NEW_PASSWORD))
            .await;
    assert_eq!((status, location.as_str()), (303, "/console/admin/staff?done=added"));
    let (status, list) = get(&console, &location, &adi).await;
    assert_eq!(status, 200);
    assert!(
        list.contains("data-username=\"ani\"")
            && list.contains("Ani Lestari")
            && list.contains("id=\"notice\"")
    );
    assert!(list.contains("autocomplete=\"new-password\""));
    assert_eq!(console.audit("staff.add").await.last().unwrap().0, "staff:adi");
    let ani = login_as(&console, "ani", NEW_PASSWORD).await.expect("the new account logs in");

    // Role change; a scope beyond the admin's own is refused and changes nothing.
    let (status, location, _) = submit(
        &console,
        "/console/admin/staff/ani/access",
        &adi,
        &[("role", "supervisor"), ("offices", "PLG")],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/console/admin/staff/ani?done=saved"));
    assert_eq!(role_of(&console, "ani").await, Some((Role::Supervisor, "PLG".into(), false)));
    assert!(get(&console, &location, &adi).await.1.contains("Supervisor"));
    let (status, _, page) =
        submit(&console, "/console/admin/staff/ani/access", &adi, &[("role", "officer"), ("offices", "all")])
            .await;
    assert_eq!(status, 403);
    assert!(page.contains("id=\"offices-error\"") && page.contains("value=\"all\""), "{page}");
    assert_eq!(role_of(&console, "ani").await, Some((Role::Supervisor, "PLG".into(), false)));
    let (status, _, _) =
        submit(&console, "/console/admin/staff/ani/access", &adi, &[("role", "root"), ("offices", "PLG")])
            .await;
    assert_eq!(status, 422, "an unknown role is the client's mistake");
    assert_eq!(submit(&console, "/console/admin/staff/nobody/disable", &adi, &[]).await.0, 404);

    // Disabled: the session is refused at its next request, and no login opens a new one.
    let (status, _, _) = submit(&console, "/console/admin/staff/ani/disable", &adi, &[]).await;
    assert_eq!(status, 303);
    let (status, _) = get(&console, "/console", &ani).await;
    assert_eq!(status, 303, "the disabled account's session ended");
    assert!(login_as(&console, "ani", NEW_PASSWORD).await.is_none());
    assert_eq!(console.audit("staff.disable").await.len(), 1);

    // Enabled with a reset password: the new one works, the old one not.
    assert_eq!(submit(&console, "/console/admin/staff/ani/enable", &adi, &[]).await.0, 303);
    let reset = [("password", "sandi ketiga yang panjang"), ("password_again", "sandi ketiga yang panjang!")];
    let (status, _, page) = submit(&console, "/console/admin/staff/ani/password", &adi, &reset).await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"password_again-error\""));
    let reset = [("password", "sandi ketiga yang panjang"), ("password_again", "sandi ketiga yang panjang")];
    let (status, location, _) = submit(&console, "/console/admin/staff/ani/password", &adi, &reset).await;
    assert_eq!((status, location.as_str()), (303, "/console/admin/staff/ani?done=password"));
    assert!(login_as(&console, "ani", NEW_PASSWORD).await.is_none());
    assert!(login_as(&console, "ani", "sandi ketiga yang panjang").await.is_some());
    assert_eq!(console.audit("staff.reset_password").await.len(), 1);
}

/// The token's secret on the answer page.
fn secret_of(page: &str) -> String {
    let at = page.find("id=\"token-secret\">").expect("the secret is shown") + 18;
    page[at..].split('<').next().unwrap().to_owned()
}

async fn me(console: &Console, token: &str) -> u16 {
    let response = console
        .http
        .get(format!("{}/api/v1/me", console.base))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

async fn tokens_are_shown_once_and_revoked_in_the_console(db: TestStore) {
    let console = start(db).await;
    let budi = login_as(&console, "budi", PASSWORD).await.unwrap();
    let adi = login_as(&console, "adi", PASSWORD).await.unwrap();
    let form = [("name", "mpaspor-sync"), ("role", "viewer"), ("offices", "PLG"), ("expires", "90d")];
    assert_eq!(submit(&console, "/console/admin/tokens", &budi, &form).await.0, 403);

    let response = console
        .post("/console/admin/tokens", &with_csrf(&form, &adi.csrf))
        .header(ORIGIN, &console.origin)
        .header(COOKIE, &adi.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("tidak akan ditampilkan lagi"), "{page}");
    let secret = secret_of(&page);
    assert!(secret.starts_with("kbr_"), "{secret}");
    let (status, list) = get(&console, "/console/admin/tokens", &adi).await;
    assert_eq!(status, 200);
    assert!(
        list.contains("data-token=\"mpaspor-sync\"") && !list.contains(&secret),
        "listed, never its secret"
    );
    assert_eq!(me(&console, &secret).await, 200, "the token works on the API");

    // Mistakes beside their fields; the same name twice; a scope beyond the admin's.
    let again = submit(&console, "/console/admin/tokens", &adi, &form).await;
    assert_eq!(again.0, 409);
    assert!(again.2.contains("id=\"name-error\""));
    let wrong = [("name", "other"), ("role", "viewer"), ("offices", "PLG"), ("expires", "3w")];
    let wrong = submit(&console, "/console/admin/tokens", &adi, &wrong).await;
    assert_eq!(wrong.0, 422);
    assert!(wrong.2.contains("id=\"expires-error\"") && wrong.2.contains("value=\"3w\""));
    let beyond = [("name", "other"), ("role", "viewer"), ("offices", "GTO"), ("expires", "")];
    let beyond = submit(&console, "/console/admin/tokens", &adi, &beyond).await;
    assert_eq!(beyond.0, 403);
    assert!(beyond.2.contains("id=\"offices-error\""));

    // Revoke: refused without the token, then done; the next API request is 401.
    let refused = console
        .post("/console/admin/tokens/revoke", &[("name", "mpaspor-sync")])
        .header(ORIGIN, &console.origin)
        .header(COOKIE, &adi.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(me(&console, &secret).await, 200);
    let (status, location, _) =
        submit(&console, "/console/admin/tokens/revoke", &adi, &[("name", "mpaspor-sync")]).await;
    assert_eq!((status, location.as_str()), (303, "/console/admin/tokens?done=revoked"));
    assert_eq!(me(&console, &secret).await, 401);
    let (_, list) = get(&console, &location, &adi).await;
    assert!(list.contains("data-status=\"revoked\"") && !list.contains("id=\"revoke-mpaspor-sync\""));
    let twice = submit(&console, "/console/admin/tokens/revoke", &adi, &[("name", "mpaspor-sync")]).await;
    assert_eq!(twice.0, 422, "revoked already: the client's mistake, a page, never a 500");
    assert_eq!(console.audit("token.create").await.len(), 1);
    assert_eq!(console.audit("token.revoke").await.len(), 1);
}

/// Edits row `id` behind kabar's back: the update trigger dropped on a raw connection.
async fn tamper(db: &TestStore, id: i64) {
    let statements = |drop: &str| {
        [drop.to_owned(), format!("UPDATE audit_log SET target = 'staff:mallory' WHERE id = {id}")]
    };
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
            for statement in statements("DROP TRIGGER audit_log_no_update") {
                sqlx::query(&statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        DatabaseUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            for statement in statements("DROP TRIGGER audit_log_no_update ON audit_log") {
                sqlx::query(&statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

/// A page's text with the entities the templates write decoded, as a browser reads it.
fn unescape(page: &str) -> String {
    page.replace("&#x3D;", "=").replace("&amp;", "&")
}

/// The ids of the rows a page lists, in order.
fn row_ids(page: &str) -> Vec<i64> {
    page.split("<tr data-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

async fn the_audit_log_filters_pages_and_verifies(db: TestStore) {
    let console = start(db).await;
    let store = &console.db.store;
    let now = chrono::Utc::now();
    // 60 rows about GTO by the CLI and one about PLG, after the two accounts' own rows.
    for step in 0..60 {
        let entry = AuditEntry::new(now, Actor::system("test"), "test.step", format!("step:{step}"))
            .with_offices(["GTO".parse().unwrap()]);
        store.record_audit(entry).await.unwrap();
    }
    let plg = AuditEntry::new(now, Actor::system("test"), "test.plg", "office:PLG")
        .with_offices(["PLG".parse().unwrap()]);
    let plg = store.record_audit(plg).await.unwrap().id;
    let adi = login_as(&console, "adi", PASSWORD).await.unwrap();
    let budi = login_as(&console, "budi", PASSWORD).await.unwrap();
    let total = i64::try_from(store.verify_audit().await.unwrap().rows).unwrap();
    assert_eq!(total, plg + 2, "and the two logins");

    // An admin: every row, newest first, 50 a page, an "older" link; the chain intact.
    let (status, page) = get(&console, "/console/admin/audit", &adi).await;
    assert_eq!(status, 200);
    let page = unescape(&page);
    assert!(page.contains("data-intact=\"true\"") && page.contains(&format!("{total}</p>")), "{page}");
    let ids = row_ids(&page);
    assert_eq!(ids, (total - 49..=total).rev().collect::<Vec<_>>());
    let at = page.find("id=\"older\"").expect("an older page");
    let href = page[..at].rsplit("href=\"").next().unwrap().split('"').next().unwrap().to_owned();
    let (_, older) = get(&console, &href, &adi).await;
    assert_eq!(row_ids(&older), (1..total - 49).rev().collect::<Vec<_>>());
    assert!(!older.contains("id=\"older\""), "the oldest page");
    assert!(page.contains("WITA"), "a GTO row in GTO's zone");

    // Filters, kept on the "older" link.
    let (_, page) = get(&console, "/console/admin/audit?action=test.plg", &adi).await;
    assert_eq!(row_ids(&page), [plg]);
    let (_, page) = get(&console, "/console/admin/audit?action=staff.&actor=cli:", &adi).await;
    assert_eq!(row_ids(&page).len(), 2, "the two accounts added by the CLI");
    let (_, page) = get(&console, "/console/admin/audit?actor=staff:adi", &adi).await;
    assert_eq!(row_ids(&page).len(), 1, "adi's login");
    assert!(page.contains("data-action=\"staff.login\""));
    let (_, page) = get(&console, "/console/admin/audit?office=GTO&action=test.", &adi).await;
    assert_eq!(row_ids(&page).len(), 50);
    assert!(unescape(&page).contains("office=GTO&action=test.&before="), "the filter stays on the link");
    let today = now.with_timezone(&chrono_tz::Asia::Jakarta).date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let yesterday = today.pred_opt().unwrap();
    let (_, page) = get(&console, &format!("/console/admin/audit?from={tomorrow}"), &adi).await;
    assert!(row_ids(&page).is_empty() && page.contains("id=\"no-rows\""));
    let (_, page) = get(&console, &format!("/console/admin/audit?to={yesterday}"), &adi).await;
    assert!(row_ids(&page).is_empty());
    let (_, page) =
        get(&console, &format!("/console/admin/audit?from={today}&to={today}&action=test.plg"), &adi).await;
    assert_eq!(row_ids(&page), [plg]);
    let (status, page) = get(&console, "/console/admin/audit?from=2024-13-01&office=P", &adi).await;
    assert_eq!(status, 422, "a wrong filter is the client's mistake");
    assert!(page.contains("id=\"from-error\"") && page.contains("id=\"office-error\""), "{page}");

    // An officer of PLG: the PLG rows only, as the API gives them; GTO is refused; no verdict.
    let (status, page) = get(&console, "/console/admin/audit", &budi).await;
    assert_eq!(status, 200);
    assert_eq!(row_ids(&page), [plg]);
    assert!(!page.contains("id=\"verification\""));
    assert_eq!(get(&console, "/console/admin/audit?office=GTO", &budi).await.0, 403);

    // A row edited behind kabar's back: the verdict names it.
    tamper(&console.db, plg).await;
    let (_, page) = get(&console, "/console/admin/audit", &adi).await;
    assert!(page.contains("data-intact=\"false\"") && page.contains(&format!("#{plg}</p>")), "{page}");
    assert!(page.contains("staff:mallory"), "the row shows as stored");
}

crate::http_tests!(
    staff_accounts_are_managed_in_the_console,
    tokens_are_shown_once_and_revoked_in_the_console,
    the_audit_log_filters_pages_and_verifies
);
