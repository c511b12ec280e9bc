//! The console's test helpers, shared by the console test files: a real server on port 0 over a
//! fresh store with the offices and an officer `budi` of PLG, logins, pages, CSRF tokens and the
//! audit rows.

use kabar::audit::Origin;
use kabar::http::api::ApiSettings;
use kabar::http::HttpState;
use kabar::import::{self, ImportOptions};
use kabar::staff::accounts::{self, NewStaff};
use kabar::staff::{Role, StaffConfig};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use tokio::sync::oneshot;

use crate::api_support::OFFICES;
use crate::harness::TestStore;

pub(crate) const PASSWORD: &str = "kata sandi yang panjang";

pub(crate) struct Console {
    pub(crate) base: String,
    pub(crate) origin: String,
    pub(crate) http: reqwest::Client,
    pub(crate) db: TestStore,
    _shutdown: oneshot::Sender<()>,
}

impl Console {
    pub(crate) async fn start(db: TestStore, public_url: Option<&str>, staff: StaffConfig) -> Console {
        let report = import::import_offices_from(
            &db.store,
            OFFICES.as_bytes(),
            "offices.csv",
            &ImportOptions::default(),
        )
        .await
        .unwrap();
        assert!(report.is_clean(), "{report}");
        let new = NewStaff {
            username: "budi".parse().unwrap(),
            display_name: None,
            role: Role::Officer,
            scope: "PLG".parse().unwrap(),
        };
        accounts::add_staff(&db.store, new, PASSWORD.into(), &Origin::cli(), chrono::Utc::now())
            .await
            .unwrap();
        let listener = kabar::http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut state = HttpState::new(db.store.clone(), kabar::observe::metrics::install())
            .with_api_settings(ApiSettings { staff, ..ApiSettings::default() });
        let origin = match public_url {
            Some(url) => {
                state = state.with_public_url(url.parse().unwrap());
                url.trim_end_matches('/').to_owned()
            }
            None => base.clone(),
        };
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(kabar::http::serve(listener, state, async move {
            let _ = stop.await;
        }));
        let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Console { base, origin, http, db, _shutdown: shutdown }
    }

    pub(crate) fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base)).form(form)
    }

    /// Logs in; the answer and the session cookie's value.
    pub(crate) async fn login(
        &self,
        password: &str,
        old: Option<&str>,
    ) -> (reqwest::Response, Option<String>) {
        let mut request = self
            .post("/console/login", &[("username", "budi"), ("password", password)])
            .header(ORIGIN, &self.origin);
        if let Some(old) = old {
            request = request.header(COOKIE, format!("kabar_session={old}"));
        }
        let response = request.send().await.unwrap();
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("kabar_session="))
            .map(|value| value.split(';').next().unwrap().to_owned());
        (response, cookie)
    }

    /// Signs `username` in through the form (password [`PASSWORD`]); the session cookie's value.
    pub(crate) async fn session_of(&self, username: &str) -> String {
        let response = self
            .post("/console/login", &[("username", username), ("password", PASSWORD)])
            .header(ORIGIN, &self.origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{username} logs in");
        let set = response.headers()[SET_COOKIE].to_str().unwrap();
        set.strip_prefix("kabar_session=").unwrap().split(';').next().unwrap().to_owned()
    }

    pub(crate) async fn page(&self, path: &str, session: &str) -> reqwest::Response {
        let request =
            self.http.get(format!("{}{path}", self.base)).header(COOKIE, format!("kabar_session={session}"));
        request.send().await.unwrap()
    }

    /// The CSRF token of the session's forms.
    pub(crate) async fn csrf(&self, session: &str) -> String {
        let html = self.page("/console/change", session).await.text().await.unwrap();
        let at = html.find("name=\"csrf\" value=\"").expect("a form with its token") + 19;
        html[at..at + 64].to_owned()
    }

    pub(crate) async fn audit(&self, action: &str) -> Vec<(String, Option<String>, Option<String>)> {
        let mut rows = Vec::new();
        self.db
            .store
            .audit_records(&kabar::audit::AuditFilter::default(), |record| {
                if record.action == action {
                    rows.push((record.actor.to_string(), record.client.clone(), record.request_id.clone()));
                }
                Ok(())
            })
            .await
            .unwrap();
        rows
    }
}

pub(crate) fn with_csrf<'a>(form: &[(&'a str, &'a str)], csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = form.to_vec();
    form.push(("csrf", csrf));
    form
}
