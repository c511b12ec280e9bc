//! The console's authorization matrix: every console route × every role × the caller's own office
//! and another office, signed in through the login form, every form with its CSRF token and the
//! server's Origin, against a table of expected answers. Every caller is scoped to Palembang
//! (PLG). The route list is the one the console's router is built from
//! ([`kabar::http::console::route_table`]), so a route added without a row here fails the test.
//! (The API's matrix is tests/http/matrix.rs; both go through the same `Authed` check.)

use kabar::audit::Origin;
use kabar::staff::accounts::{self, NewStaff, NewToken};
use kabar::staff::{Role, StaffConfig};
use reqwest::header::{COOKIE, ORIGIN};

use crate::console_support::{Console, PASSWORD};
use crate::harness::TestStore;
use crate::matrix::{broadcast_of, incident_at, proposal, scope, unique};

const ROLES: [&str; 4] = ["viewer", "officer", "supervisor", "admin"];

/// `METHOD path`, then per role (viewer | officer | supervisor | admin) the status for the own
/// office and for another office; `-` where the route has no office to aim at. 303 is a form
/// that did its work and sends the browser on; a page that does not exist for the caller (an
/// incident or broadcast of another office only) is 404, as in the API.
const MATRIX: &[(&str, &str)] = &[
    ("GET /console", "200 - | 200 - | 200 - | 200 -"),
    ("GET /console/", "200 - | 200 - | 200 - | 200 -"),
    ("GET /console/national", "403 - | 403 - | 200 - | 200 -"),
    // Signed in already: on to the board.
    ("GET /console/login", "303 - | 303 - | 303 - | 303 -"),
    ("POST /console/login", "303 - | 303 - | 303 - | 303 -"),
    ("POST /console/logout", "303 - | 303 - | 303 - | 303 -"),
    ("POST /console/language", "303 - | 303 - | 303 - | 303 -"),
    ("GET /console/change", "403 - | 200 - | 200 - | 200 -"),
    // Back to the form (which offers only offices in scope): nothing is done or shown.
    ("POST /console/change/edit", "403 403 | 200 200 | 200 200 | 200 200"),
    ("POST /console/change/confirm", "403 403 | 200 403 | 200 403 | 200 403"),
    ("POST /console/change/apply", "403 403 | 200 403 | 200 403 | 200 403"),
    ("POST /console/change/undo", "403 - | 200 - | 200 - | 200 -"),
    ("POST /console/proposals/confirm", "403 403 | 403 403 | 303 404 | 303 404"),
    ("POST /console/proposals/dismiss", "403 403 | 403 403 | 303 404 | 303 404"),
    ("GET /console/assets/console.css", "200 - | 200 - | 200 - | 200 -"),
    ("GET /console/assets/compose.js", "200 - | 200 - | 200 - | 200 -"),
    ("GET /console/broadcasts", "200 - | 200 - | 200 - | 200 -"),
    ("POST /console/broadcasts", "403 403 | 303 403 | 303 403 | 303 403"),
    ("GET /console/broadcasts/new", "403 - | 200 - | 200 - | 200 -"),
    ("POST /console/broadcasts/preview", "403 403 | 200 403 | 200 403 | 200 403"),
    ("GET /console/broadcasts/{id}", "200 404 | 200 404 | 200 404 | 200 404"),
    ("POST /console/broadcasts/{id}/cancel", "403 403 | 303 404 | 303 404 | 303 404"),
    ("POST /console/broadcasts/{id}/approve", "403 403 | 403 403 | 303 404 | 303 404"),
    ("POST /console/broadcasts/{id}/reject", "403 403 | 403 403 | 303 404 | 303 404"),
    ("GET /console/approvals", "403 - | 403 - | 200 - | 200 -"),
    ("GET /console/incidents", "200 - | 200 - | 200 - | 200 -"),
    ("GET /console/incidents/{id}", "200 404 | 200 404 | 200 404 | 200 404"),
    ("POST /console/incidents/{id}/updates", "403 404 | 303 404 | 303 404 | 303 404"),
    ("POST /console/incidents/{id}/restore", "403 404 | 303 404 | 303 404 | 303 404"),
    ("GET /console/incidents/{id}/messages.csv", "200 404 | 200 404 | 200 404 | 200 404"),
    ("GET /console/incidents/{id}/call-list", "200 404 | 200 404 | 200 404 | 200 404"),
    ("POST /console/incidents/{id}/call-list", "403 404 | 303 404 | 303 404 | 303 404"),
    ("GET /console/admin/staff", "403 - | 403 - | 403 - | 200 -"),
    ("POST /console/admin/staff", "403 403 | 403 403 | 403 403 | 303 403"),
    ("GET /console/admin/staff/{username}", "403 403 | 403 403 | 403 403 | 200 200"),
    ("POST /console/admin/staff/{username}/access", "403 403 | 403 403 | 403 403 | 303 403"),
    ("POST /console/admin/staff/{username}/disable", "403 403 | 403 403 | 403 403 | 303 303"),
    ("POST /console/admin/staff/{username}/enable", "403 403 | 403 403 | 403 403 | 303 303"),
    ("POST /console/admin/staff/{username}/password", "403 403 | 403 403 | 403 403 | 303 303"),
    ("GET /console/admin/tokens", "403 - | 403 - | 403 - | 200 -"),
    ("POST /console/admin/tokens", "403 403 | 403 403 | 403 403 | 200 403"),
    ("POST /console/admin/tokens/revoke", "403 403 | 403 403 | 403 403 | 303 303"),
    // As `GET /api/v1/audit`: officers and supervisors read their offices' rows.
    ("GET /console/admin/audit", "403 - | 200 - | 200 - | 200 -"),
];

fn expected(row: &str) -> Vec<Vec<Option<u16>>> {
    let roles: Vec<Vec<Option<u16>>> = row
        .split('|')
        .map(|cells| cells.split_whitespace().map(|cell| cell.parse().ok()).collect())
        .collect();
    assert!(roles.len() == 4 && roles.iter().all(|cells| cells.len() == 2), "4 × 2 cells: {row}");
    roles
}

/// A signed-in caller: the session cookie and the CSRF token of its forms.
struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in(console: &Console, username: &str) -> Session {
    let cookie = format!("kabar_session={}", console.session_of(username).await);
    // The board's forms (a viewer has no change form to read the token from).
    let html = console.http.get(format!("{}/console", console.base)).header(COOKIE, &cookie);
    let html = html.send().await.unwrap().text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a form with its token") + 19;
    Session { cookie, csrf: html[at..at + 64].to_owned() }
}

/// A staff account scoped to `offices`, for the admin rows to act on.
async fn account(console: &Console, offices: &str) -> String {
    let username = unique("akun");
    let new = NewStaff {
        username: username.parse().unwrap(),
        display_name: None,
        role: Role::Viewer,
        scope: offices.parse().unwrap(),
    };
    accounts::add_staff(&console.db.store, new, PASSWORD.into(), &Origin::cli(), chrono::Utc::now())
        .await
        .unwrap();
    username
}

/// The concrete path and form of `route` about `target` (0: PLG, 1: GTO) for `role`, or `None`
/// where the route has no such target.
async fn request(
    console: &Console,
    route: &str,
    role: &str,
    target: usize,
) -> Option<(String, Vec<(String, String)>)> {
    let (_, path) = route.split_once(' ').unwrap();
    let office = ["PLG", "GTO"][target];
    let store = &console.db.store;
    let own_only = |path: &str| (target == 0).then(|| path.to_owned());
    let mut form: Vec<(&str, String)> = Vec::new();
    let concrete = match path {
        "/console/login" => {
            form = vec![("username", format!("m{role}")), ("password", PASSWORD.into())];
            own_only(path)?
        }
        "/console/change/edit" | "/console/change/confirm" | "/console/change/apply" => {
            form = vec![
                ("office", office.into()),
                ("service", "printing".into()),
                ("state", "unavailable".into()),
                ("reason", "Gangguan PDN".into()),
            ];
            path.to_owned()
        }
        "/console/change/undo" => {
            let change = kabar::state::StateChange {
                target: "PLG".parse().unwrap(),
                service: kabar::domain::Service::Express,
                state: kabar::domain::ServiceState::Unavailable,
                // A new reason each time: a change to undo, whatever came before.
                reason: Some(unique("Gangguan PDN")),
                until: None,
                actor: format!("staff:m{role}"),
                at: chrono::Utc::now(),
            };
            let applied = kabar::state::set_state(store, &change).await.unwrap();
            form = vec![("change", applied[0].change_id.unwrap().to_string())];
            own_only(path)?
        }
        "/console/proposals/confirm" | "/console/proposals/dismiss" => {
            form =
                vec![("proposal", proposal(store, scope(target)).await.to_string()), ("note", "uji".into())];
            path.to_owned()
        }
        "/console/broadcasts" if route.starts_with("POST") => {
            form = broadcast_form(office);
            path.to_owned()
        }
        "/console/broadcasts/preview" => {
            form = broadcast_form(office);
            path.to_owned()
        }
        "/console/broadcasts/{id}" | "/console/broadcasts/{id}/cancel" => {
            path.replace("{id}", &broadcast_of(store, target, false).await.to_string())
        }
        "/console/broadcasts/{id}/approve" | "/console/broadcasts/{id}/reject" => {
            form = vec![("reason", "Jam Sabtu salah".into())];
            path.replace("{id}", &broadcast_of(store, target, true).await.to_string())
        }
        "/console/incidents/{id}"
        | "/console/incidents/{id}/updates"
        | "/console/incidents/{id}/restore"
        | "/console/incidents/{id}/messages.csv"
        | "/console/incidents/{id}/call-list" => {
            let (incident, _) = incident_at(store, office).await;
            form = vec![
                ("text", "Pengambilan dibuka Sabtu.".into()),
                ("service", "pickup".into()),
                ("booking", format!("{office}-M1")),
                ("outcome", "no_answer".into()),
            ];
            path.replace("{id}", &incident.to_string())
        }
        "/console/admin/staff" if route.starts_with("POST") => {
            form = vec![
                ("username", unique("baru")),
                ("role", "viewer".into()),
                ("offices", office.into()),
                ("password", PASSWORD.into()),
                ("password_again", PASSWORD.into()),
            ];
            path.to_owned()
        }
        "/console/admin/staff/{username}/access" => {
            form = vec![("role", "viewer".into()), ("offices", office.into())];
            path.replace("{username}", &account(console, "PLG").await)
        }
        "/console/admin/staff/{username}"
        | "/console/admin/staff/{username}/disable"
        | "/console/admin/staff/{username}/enable"
        | "/console/admin/staff/{username}/password" => {
            form = vec![("password", PASSWORD.into()), ("password_again", PASSWORD.into())];
            path.replace("{username}", &account(console, office).await)
        }
        "/console/admin/tokens" if route.starts_with("POST") => {
            form = vec![
                ("name", unique("mesin")),
                ("role", "viewer".into()),
                ("offices", office.into()),
                ("expires", "90d".into()),
            ];
            path.to_owned()
        }
        "/console/admin/tokens/revoke" => {
            let name = unique("lama");
            let new = NewToken {
                name: name.parse().unwrap(),
                role: Role::Viewer,
                scope: office.parse().unwrap(),
                expires_in: None,
            };
            accounts::create_token(store, new, &Origin::cli(), chrono::Utc::now()).await.unwrap();
            form = vec![("name", name)];
            path.to_owned()
        }
        _ if MATRIX.iter().any(|(row, _)| *row == route) => own_only(path)?,
        _ => panic!("the console matrix has a row for {route} but no request for it"),
    };
    Some((concrete, form.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()))
}

fn broadcast_form(office: &str) -> Vec<(&'static str, String)> {
    vec![
        ("title", unique("siaran")),
        ("office", office.into()),
        ("text", "Loket buka Sabtu 08.00.".into()),
        ("when", "now".into()),
    ]
}

async fn every_console_route_every_role_both_offices(db: TestStore) {
    let console = Console::start(db, None, StaffConfig::default()).await;
    for role in ROLES {
        let new = NewStaff {
            username: format!("m{role}").parse().unwrap(),
            display_name: None,
            role: role.parse().unwrap(),
            scope: "PLG".parse().unwrap(),
        };
        accounts::add_staff(&console.db.store, new, PASSWORD.into(), &Origin::cli(), chrono::Utc::now())
            .await
            .unwrap();
    }
    let routes: Vec<String> = kabar::http::console::route_table()
        .into_iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    let missing: Vec<&String> =
        routes.iter().filter(|route| !MATRIX.iter().any(|(row, _)| row == *route)).collect();
    assert!(missing.is_empty(), "console routes without rows in the authorization matrix: {missing:?}");
    let stale: Vec<&str> =
        MATRIX.iter().map(|(row, _)| *row).filter(|row| !routes.iter().any(|route| route == row)).collect();
    assert!(stale.is_empty(), "matrix rows for routes that are not served: {stale:?}");

    let mut sessions = Vec::new();
    for role in ROLES {
        sessions.push(sign_in(&console, &format!("m{role}")).await);
    }
    let mut wrong = Vec::new();
    for (route, row) in MATRIX {
        for (at, cells) in expected(row).into_iter().enumerate() {
            let role = ROLES[at];
            for (target, want) in cells.into_iter().enumerate() {
                let Some((path, mut form)) = request(&console, route, role, target).await else {
                    assert_eq!(want, None, "{route}: a cell without a request");
                    continue;
                };
                let Some(want) = want else { panic!("{route} as {role}: a request without a cell") };
                // Signing out ends the session: that row signs in anew first.
                let session = if path == "/console/logout" {
                    sign_in(&console, &format!("m{role}")).await
                } else {
                    Session { cookie: sessions[at].cookie.clone(), csrf: sessions[at].csrf.clone() }
                };
                let url = format!("{}{path}", console.base);
                let request = if path == "/console/login" {
                    // Signing in needs no session (and would rotate the role's).
                    let response = console.http.post(url).form(&form).header(ORIGIN, &console.origin);
                    let status = response.send().await.unwrap().status().as_u16();
                    if status != want {
                        wrong.push(format!("{route} as {role}: {status}, expected {want}"));
                    }
                    continue;
                } else if route.starts_with("POST") {
                    form.push(("csrf".into(), session.csrf.clone()));
                    console.http.post(url).form(&form).header(ORIGIN, &console.origin)
                } else {
                    console.http.get(url)
                };
                let response = request.header(COOKIE, &session.cookie).send().await.unwrap();
                let status = response.status().as_u16();
                if status != want {
                    let body = response.text().await.unwrap();
                    let errors: Vec<&str> = body
                        .split("class=\"error\"")
                        .skip(1)
                        .map(|rest| &rest[..rest.len().min(160)])
                        .collect();
                    eprintln!("{route} {status}: {errors:?}");
                    wrong.push(format!(
                        "{route} ({path}) as {role} about {}: {status}, expected {want}",
                        ["own office", "other office"][target]
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} console answers differ from the matrix:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

crate::http_tests!(every_console_route_every_role_both_offices);
