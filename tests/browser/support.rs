//! The browser suite's two halves: [`Console`], kabar's HTTP server on port 0 over a fresh SQLite
//! store (offices, bookings in printing at PLG and GTO, four staff accounts) with kabar's delivery
//! worker sending SMS to a fake Twilio over real HTTP, and [`Browser`], chromedriver started on a
//! free port with one headless Chromium session.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use kabar::audit::Origin;
use kabar::deliver::{DeliveryConfig, Providers, Worker};
use kabar::domain::{Channel, OfficeCode, Service, ServiceState};
use kabar::http::api::ApiSettings;
use kabar::http::HttpState;
use kabar::import::{self, ImportOptions};
use kabar::plan::{plan_once, PlannerConfig};
use kabar::staff::accounts::{self, NewStaff};
use kabar::staff::Role;
use kabar::store::DatabaseUrl;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::fakes::twilio::FakeTwilio;
use crate::fakes::Recorded;
use crate::harness::TestStore;

pub const PASSWORD: &str = "kata sandi yang panjang";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The longest wait for an element: a page of this server answers in milliseconds.
const WAIT: Duration = Duration::from_secs(10);

const OFFICES: &str = "\
code,name,timezone,kind,parent_code,class,region,tpi
PLG,Kantor Imigrasi Kelas I TPI Palembang,Asia/Jakarta,office,,I,Sumatera Selatan,yes
GTO,Kantor Imigrasi Kelas I TPI Gorontalo,Asia/Makassar,office,,I,Gorontalo,yes
";

/// Applications in printing: a printing outage tells them whatever the date. Eko has opted out
/// of SMS, the only channel here: nobody reaches him but a phone call (the call list).
const BOOKINGS: &str = "\
booking_code,office_code,unit_code,name,phone,email,whatsapp,language,appointment_at,product,express,stage,applied_at
PLG-0001,PLG,,Budi,0812-1000-0001,,,,2024-06-18 09:00,regular,no,printing,
PLG-0002,PLG,,Citra,0812-1000-0002,,,en,2024-06-18 10:00,epassport,no,printing,
PLG-0003,PLG,,Eko,0812-1000-0003,,,,2024-06-18 11:00,regular,no,printing,
GTO-0001,GTO,,Dewi,0812-2000-0001,,,,2024-06-18 09:00,regular,no,printing,
";
/// Eko's number.
const UNREACHABLE: &str = "0812-1000-0003";

/// kabar's server, as `kabar serve` runs it, over a fresh SQLite store.
pub struct Console {
    base: String,
    db: TestStore,
    planner: PlannerConfig,
    /// The SMS provider the worker sends to, and the worker, as `kabar serve` runs it.
    sms: FakeTwilio,
    worker: Worker,
    /// How many of the fake's requests [`Console::deliver_all`] has already returned.
    delivered: std::sync::atomic::AtomicUsize,
    _shutdown: oneshot::Sender<()>,
}

impl Console {
    pub async fn start() -> Console {
        let db = TestStore::sqlite().await;
        let options = ImportOptions::default();
        let report = import::import_offices_from(&db.store, OFFICES.as_bytes(), "offices.csv", &options)
            .await
            .unwrap();
        assert!(report.is_clean(), "{report}");
        let dir = tempfile::tempdir().unwrap();
        let bookings = dir.path().join("bookings.csv");
        std::fs::write(&bookings, BOOKINGS).unwrap();
        let report = import::import_bookings(&db.store, &bookings, &options).await.unwrap();
        assert!(report.is_clean(), "{report}");
        // budi: an officer of PLG; sari and rina: supervisors of every office (four eyes); adi: an
        // admin of every office.
        for (username, role, scope) in [
            ("budi", Role::Officer, "PLG"),
            ("sari", Role::Supervisor, "all"),
            ("rina", Role::Supervisor, "all"),
            ("adi", Role::Admin, "all"),
        ] {
            let new = NewStaff {
                username: username.parse().unwrap(),
                display_name: Some(format!("{username} (test)")),
                role,
                scope: scope.parse().unwrap(),
            };
            accounts::add_staff(&db.store, new, PASSWORD.into(), &Origin::cli(), chrono::Utc::now())
                .await
                .unwrap();
        }
        let eko = UNREACHABLE.parse().unwrap();
        assert!(db.store.set_opt_out(&eko, Channel::Sms, true).await.unwrap());
        // SMS only: the one fake provider the worker sends to.
        let planner = PlannerConfig { channels: vec![Channel::Sms], ..PlannerConfig::default() };
        let sms = FakeTwilio::start().await;
        let delivery = DeliveryConfig { twilio: Some(sms.config()), ..DeliveryConfig::default() };
        delivery.validate().expect("a valid delivery configuration");
        let providers = Providers::from_config(&delivery).expect("the providers start");
        let worker = Worker::new(
            db.store.clone(),
            std::sync::Arc::new(providers),
            std::sync::Arc::new(kabar::render::Catalogue::builtin()),
            kabar::plan::notice::NoticeConfig::default(),
            planner.channels.clone(),
            delivery,
            None,
        )
        .await
        .expect("the worker starts");
        let listener = kabar::http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let settings = ApiSettings { planner: planner.clone(), ..ApiSettings::default() };
        let state =
            HttpState::new(db.store.clone(), kabar::observe::metrics::install()).with_api_settings(settings);
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(kabar::http::serve(listener, state, async move {
            let _ = stop.await;
        }));
        Console { base, db, planner, sms, worker, delivered: Default::default(), _shutdown: shutdown }
    }

    /// The store the server runs over, for scenarios that check what a page did.
    pub fn store(&self) -> &kabar::store::Store {
        &self.db.store
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs the planner as `kabar serve` would once the settle time has passed; the messages it
    /// planned. It runs now with no settle time rather than a settle time ahead, so that what
    /// staff do next (a call recorded) comes after the messages, as it does in service.
    pub async fn plan_after_settling(&self) -> u64 {
        let settled = PlannerConfig { settle_seconds: 0, ..self.planner.clone() };
        let events = plan_once(&self.db.store, &settled, chrono::Utc::now()).await.unwrap();
        events.iter().map(|event| event.counts.messages).sum()
    }

    /// Runs kabar's delivery worker (in process, the step `kabar serve` repeats) until nothing is
    /// left to send; what the fake SMS provider received since the last call. The worker runs at
    /// a moment a day ahead, when every message held for the offices' quiet hours is due (the
    /// suite runs at any hour).
    pub async fn deliver_all(&self) -> Vec<Recorded> {
        let due = chrono::Utc::now() + chrono::Duration::days(1);
        self.worker.drain(due).await.expect("the worker sends");
        let received = self.sms.requests();
        let seen = self.delivered.swap(received.len(), std::sync::atomic::Ordering::SeqCst);
        received[seen.min(received.len())..].to_vec()
    }

    /// Printing unavailable at `office`, changed by `actor` through the service `kabar state
    /// set` calls, and planned once settled; the office's open incident.
    pub async fn outage(&self, office: &str, actor: &str) -> i64 {
        let change = kabar::state::StateChange {
            target: kabar::state::Target::Offices(vec![office.parse().unwrap()]),
            service: Service::Printing,
            state: ServiceState::Unavailable,
            reason: Some("Gangguan Pusat Data Nasional".into()),
            until: None,
            actor: actor.into(),
            at: chrono::Utc::now(),
        };
        kabar::state::set_state(&self.db.store, &change).await.unwrap();
        self.plan_after_settling().await;
        self.open_incident(office).await.expect("an open incident")
    }

    /// The office's open incident.
    pub async fn open_incident(&self, office: &str) -> Option<i64> {
        let open = self.db.store.open_incidents().await.unwrap();
        open.iter().find(|incident| incident.office.as_str() == office).map(|incident| incident.id)
    }

    pub async fn state(&self, office: &str, service: Service) -> ServiceState {
        let office: OfficeCode = office.parse().unwrap();
        let board = self.db.store.service_board(Some(&office)).await.unwrap();
        board.iter().find(|row| row.service == service).map_or(ServiceState::Operational, |row| row.state)
    }

    async fn scalar(&self, query: &str) -> i64 {
        let DatabaseUrl::Sqlite(path) = &self.db.url else {
            unreachable!("the browser suite runs on SQLite")
        };
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
        let value: i64 = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
        pool.close().await;
        value
    }

    pub async fn audit_count(&self, action: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")).await
    }

    /// Moves every session's login and last request `by` into the past.
    pub async fn age_sessions(&self, by: chrono::Duration) {
        let seconds = by.num_seconds();
        let statement = format!(
            "UPDATE console_sessions SET created_at = created_at - {seconds}, last_seen_at = last_seen_at - {seconds}"
        );
        let DatabaseUrl::Sqlite(path) = &self.db.url else { unreachable!() };
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
        sqlx::query(&statement).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// chromedriver and its one browser session.
pub struct Browser {
    client: Client,
    driver: Child,
    shots: PathBuf,
    axe: String,
}

fn missing(what: &str) -> ! {
    panic!(
        "the browser suite needs {what}: install Chromium and its WebDriver with \
         `apt-get update && apt-get install -y chromium chromium-driver` (Debian/Ubuntu; .ci/run does this), \
         or leave this suite out with `cargo test --test <other>`"
    )
}

impl Browser {
    pub async fn start() -> Browser {
        for (path, what) in [
            (CHROMEDRIVER, "chromedriver at /usr/bin/chromedriver"),
            (CHROMIUM, "Chromium at /usr/bin/chromium"),
        ] {
            if !Path::new(path).exists() {
                missing(what);
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {CHROMEDRIVER}: {err}"));
        // chromedriver says when it listens: wait for that line, not for time.
        let stdout = driver.stdout.take().unwrap();
        let ready = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let found =
                lines.by_ref().map_while(Result::ok).any(|line| line.contains("started successfully"));
            // Keep draining, so chromedriver never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            found
        });
        assert!(ready.await.unwrap(), "chromedriver exited before it listened");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=id"],
            },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let axe =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/axe.min.js"))
                .expect("tests/browser/axe.min.js (axe-core, vendored)");
        Browser { client, driver, shots, axe }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|err| panic!("open {url}: {err}"));
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => {
                let page = self.source().await;
                panic!("waited for {css:?} on {}: {err}\n{page}", self.path_now().await)
            }
        }
    }

    async fn path_now(&self) -> String {
        self.client.current_url().await.map(|url| url.to_string()).unwrap_or_default()
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap_or_else(|err| panic!("click {css:?}: {err}"));
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.wait_for(css).await.select_by_value(value).await.unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap()
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    pub async fn execute(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap_or_else(|err| panic!("{script}: {err}"))
    }

    /// The text of `css` on `url`, read in a second tab, so that the page in the first (a POST's
    /// answer) stays as it is.
    pub async fn text_in_new_tab(&self, url: &str, css: &str) -> String {
        let first = self.client.window().await.unwrap();
        let tab = self.client.new_window(true).await.unwrap();
        self.client.switch_to_window(tab.handle).await.unwrap();
        self.goto(url).await;
        let text = self.text(css).await;
        self.client.close_window().await.unwrap();
        self.client.switch_to_window(first).await.unwrap();
        text
    }

    /// Sets the viewport (not the window) to `width` × `height` CSS pixels.
    async fn viewport(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
        let inner = self.execute("return [window.innerWidth, window.innerHeight];").await;
        let (w, h) = (inner[0].as_u64().unwrap() as u32, inner[1].as_u64().unwrap() as u32);
        if (w, h) != (width, height) {
            self.client
                .set_window_size(width + (width - w.min(width)), height + (height - h.min(height)))
                .await
                .unwrap();
        }
    }

    /// Screenshots the current page at 375 px and 1366 px, runs axe-core at both, and fails on a
    /// serious or critical violation or on sideways scrolling at 375 px.
    pub async fn check_page(&self, name: &str, _console: &Console) {
        for (width, height) in [(375, 812), (1366, 900)] {
            self.viewport(width, height).await;
            let scroll = self.execute("return document.documentElement.scrollWidth;").await;
            if width == 375 {
                assert!(
                    scroll.as_u64().unwrap() <= 375,
                    "{name} scrolls sideways at 375 px (scrollWidth {scroll})"
                );
            }
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(self.shots.join(format!("{name}-{width}.png")), png).unwrap();
            self.execute(&format!("{}\nreturn true;", self.axe)).await;
            let script = "const done = arguments[arguments.length - 1];
                axe.run(document, {resultTypes: ['violations']}).then(results => done(results.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)}))))
                    .catch(err => done([{id: 'axe-error', help: String(err)}]));";
            let violations = self.client.execute_async(script, Vec::new()).await.unwrap();
            assert_eq!(violations, json!([]), "axe-core on {name} at {width} px");
        }
        self.viewport(1366, 900).await;
    }

    pub async fn finish(mut self) {
        self.client.clone().close().await.unwrap();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test still ends its chromedriver (and the browser with it).
        let _ = self.driver.kill();
    }
}
