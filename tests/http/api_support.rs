//! The staff API on a real server (127.0.0.1 port 0) over a fresh store: four offices and a
//! token for each role, scoped to Palembang.

use kabar::audit::Origin;
use kabar::http::api::ApiSettings;
use kabar::http::HttpState;
use kabar::import::{self, ImportOptions};
use kabar::staff::accounts::{self, NewToken};
use kabar::staff::{Role, StaffConfig};
use secrecy::ExposeSecret;
use tokio::sync::oneshot;

use crate::harness::TestStore;

pub const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
GTO,Kantor Imigrasi Kelas I TPI Gorontalo,Asia/Makassar,office,,I,Gorontalo,yes
JPR,Kantor Imigrasi Kelas I TPI Jayapura,Asia/Jayapura,office,,I,Papua,yes
TNG,Kantor Imigrasi Kelas I Non TPI Tangerang,Asia/Jakarta,office,,I,Banten,no
";

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestStore,
    /// The tokens of `viewer`, `officer`, `supervisor`, `admin` (scoped to PLG) and `root` (an
    /// admin for all offices).
    pub tokens: Vec<(String, String)>,
    _shutdown: oneshot::Sender<()>,
}

impl Api {
    pub async fn start(db: TestStore) -> Api {
        Api::start_with(db, StaffConfig::default()).await
    }

    pub async fn start_with(db: TestStore, staff: StaffConfig) -> Api {
        let report = import::import_offices_from(
            &db.store,
            OFFICES.as_bytes(),
            "offices.csv",
            &ImportOptions::default(),
        )
        .await
        .unwrap();
        assert!(report.is_clean(), "{report}");
        let mut tokens = Vec::new();
        for (name, role, scope) in [
            ("viewer", Role::Viewer, "PLG"),
            ("officer", Role::Officer, "PLG"),
            ("supervisor", Role::Supervisor, "PLG"),
            ("admin", Role::Admin, "PLG"),
            ("root", Role::Admin, "all"),
        ] {
            let new = NewToken {
                name: name.parse().unwrap(),
                role,
                scope: scope.parse().unwrap(),
                expires_in: None,
            };
            let (_, secret) =
                accounts::create_token(&db.store, new, &Origin::cli(), chrono::Utc::now()).await.unwrap();
            tokens.push((name.to_owned(), secret.expose_secret().to_owned()));
        }
        let listener = kabar::http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = HttpState::new(db.store.clone(), kabar::observe::metrics::install())
            .with_api_settings(ApiSettings { staff, ..ApiSettings::default() });
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(kabar::http::serve(listener, state, async move {
            let _ = stop.await;
        }));
        Api { base, http: reqwest::Client::new(), db, tokens, _shutdown: shutdown }
    }

    pub fn token(&self, name: &str) -> &str {
        &self.tokens.iter().find(|(token, _)| token == name).unwrap().1
    }

    pub fn request(&self, method: reqwest::Method, path: &str, as_: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match as_ {
            Some(name) => request.bearer_auth(self.token(name)),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, as_: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, Some(as_)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, as_: &str, body: serde_json::Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path, Some(as_)).json(&body).send().await.unwrap()
    }
}

/// The status and JSON body of an answer.
pub async fn answer(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}
