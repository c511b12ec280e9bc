//! Configuration: built-in defaults, then an optional `kabar.toml`, then `KABAR_*` environment
//! variables, then command-line flags. Everything is validated before kabar starts; an invalid
//! value refuses to start with the key and the problem.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::deliver::DeliveryConfig;
use crate::domain::NumberPolicy;
use crate::http::HttpConfig;
use crate::observe::logging::LogFormat;
use crate::plan::notice::NoticeConfig;
use crate::plan::PlannerConfig;
use crate::privacy::RetentionConfig;
use crate::receipts::ReceiptsConfig;
use crate::store::DatabaseUrl;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "kabar.toml";

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `kabar.db` (a SQLite file in the working directory) unless set; `postgres://…` selects
    /// PostgreSQL.
    pub database_url: DatabaseUrl,
    /// A `tracing` filter, e.g. `info` or `kabar=debug,sqlx=warn`.
    pub log: String,
    /// `text` (the default) or `json`, one object per line for log shippers.
    pub log_format: LogFormat,
    /// The HTTP server of `kabar serve`: receipts, health, readiness and metrics.
    pub http: HttpConfig,
    pub import: ImportConfig,
    pub templates: TemplatesConfig,
    pub planner: PlannerConfig,
    pub notices: NoticeConfig,
    pub delivery: DeliveryConfig,
    /// How long personal data is kept (`kabar purge`, daily in `kabar serve`).
    #[serde(default)]
    pub retention: RetentionConfig,
    /// The staff API: four-eyes approval, login limits.
    #[serde(default)]
    pub staff: crate::staff::StaffConfig,
    /// What a message costs, for the staff API's estimates.
    #[serde(default)]
    pub costs: crate::staff::CostsConfig,
    /// Automatic outage detection: the upstream systems to probe and what depends on them.
    #[serde(default)]
    pub detect: crate::detect::DetectConfig,
    /// The receipts and replies server of `kabar serve`; off unless configured.
    #[serde(default, skip_serializing)]
    pub receipts: Option<ReceiptsConfig>,
    /// Email subscriptions to the public status pages: rate limits and link lifetimes.
    #[serde(default)]
    pub subscriptions: crate::status::subscriptions::SubscriptionsConfig,
    /// Lines to log once logging is set up: deprecated settings that still work.
    #[serde(skip)]
    pub deprecations: Vec<String>,
}

/// Settings of the message catalogue.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesConfig {
    /// A directory whose files override the built-in templates file by file (same relative paths
    /// as `templates/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

/// Settings of `kabar import`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    /// Rows per transaction (1 to 100000).
    pub batch_size: usize,
    /// The countries whose mobile numbers a booking may carry, as ISO 3166 codes; Indonesian
    /// mobiles (+62 8…) only by default.
    #[serde(default)]
    pub allowed_countries: NumberPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: DatabaseUrl::Sqlite("kabar.db".into()),
            log: "info".into(),
            log_format: LogFormat::Text,
            http: HttpConfig::default(),
            import: ImportConfig { batch_size: 25_000, allowed_countries: NumberPolicy::default() },
            templates: TemplatesConfig::default(),
            planner: PlannerConfig::default(),
            notices: NoticeConfig::default(),
            delivery: DeliveryConfig::default(),
            retention: RetentionConfig::default(),
            staff: crate::staff::StaffConfig::default(),
            costs: crate::staff::CostsConfig::default(),
            detect: crate::detect::DetectConfig::default(),
            receipts: None,
            subscriptions: crate::status::subscriptions::SubscriptionsConfig::default(),
            deprecations: Vec::new(),
        }
    }
}

/// Why kabar refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// `kabar serve --listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpOverrides>,
}

/// Flags that set `[http]` keys.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<std::net::SocketAddr>,
}

impl Config {
    /// Loads the configuration from every layer. `file` is `--config`; when it is `None`,
    /// `kabar.toml` is read if present in the working directory.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_from(file, overrides, Env::prefixed("KABAR_"))
    }

    /// The layers above the defaults, each on its own (the file read, if any, with its path; the
    /// environment; the flags), for `kabar config` to say where each value came from.
    pub fn layers(
        file: Option<&Path>,
        overrides: &Overrides,
    ) -> (Option<(PathBuf, Figment)>, Figment, Figment) {
        let path = file
            .map(Path::to_owned)
            .or_else(|| Path::new(DEFAULT_CONFIG_FILE).exists().then(|| PathBuf::from(DEFAULT_CONFIG_FILE)));
        let file = path.map(|path| (path.clone(), Figment::new().merge(Toml::file(path))));
        let env = Env::prefixed("KABAR_").filter(|key| not_for_tests(key.as_str()));
        (file, Figment::new().merge(env.split("__")), Figment::from(Serialized::defaults(overrides)))
    }

    fn load_from(file: Option<&Path>, overrides: &Overrides, env: Env) -> Result<Config, ConfigError> {
        let mut user = Figment::new();
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.to_owned())),
            Some(path) => user = user.merge(Toml::file(path)),
            None => user = user.merge(Toml::file(DEFAULT_CONFIG_FILE)),
        }
        // KABAR_IMPORT__BATCH_SIZE sets import.batch_size; KABAR_TEST_* and KABAR_REQUIRE_POSTGRES
        // belong to the test suite.
        let env = env.filter(|key| not_for_tests(key.as_str())).split("__");
        let user = user.merge(env).merge(Serialized::defaults(overrides));
        let (adopted, deprecation) =
            crate::http::config::adopt_receipts_keys(&user).map_err(ConfigError::Invalid)?;
        let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(user)
            .merge(adopted)
            .extract()
            .map_err(|err| ConfigError::Invalid(describe(err)))?;
        config.deprecations.extend(deprecation);
        if let Some(receipts) = &mut config.receipts {
            // What an older `kabar serve` binds; the one HTTP server uses `http.listen`.
            receipts.listen = config.http.listen;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=100_000).contains(&self.import.batch_size) {
            return Err(ConfigError::Invalid(format!(
                "import.batch_size = {} is out of range; use 1 to 100000",
                self.import.batch_size
            )));
        }
        self.planner.validate().map_err(ConfigError::Invalid)?;
        self.delivery.validate().map_err(ConfigError::Invalid)?;
        self.retention.validate().map_err(ConfigError::Invalid)?;
        self.http.validate().map_err(ConfigError::Invalid)?;
        self.staff.validate().map_err(ConfigError::Invalid)?;
        self.costs.validate().map_err(ConfigError::Invalid)?;
        self.detect.validate().map_err(ConfigError::Invalid)?;
        self.subscriptions.validate().map_err(ConfigError::Invalid)?;
        if let Some(receipts) = &self.receipts {
            if self.http.public_url.as_ref().is_some_and(|url| *url != receipts.public_base_url) {
                return Err(ConfigError::Invalid(
                    "http.public_url and receipts.public_base_url (deprecated) differ; keep only \
                     http.public_url"
                        .into(),
                ));
            }
            receipts.validate().map_err(|err| ConfigError::Invalid(format!("receipts: {err}")))?;
        }
        if self.delivery.smtp.is_some() && self.receipts.as_ref().is_none_or(|r| r.unsubscribe_key.is_none())
        {
            return Err(ConfigError::Invalid(
                "delivery.smtp is set but receipts.unsubscribe_key is not: every email needs a working \
                 unsubscribe link; set [http] public_url and [receipts] unsubscribe_key"
                    .into(),
            ));
        }
        if let Some(dir) = &self.templates.dir {
            if !dir.is_dir() {
                return Err(ConfigError::Invalid(format!(
                    "templates.dir = {:?} is not a directory",
                    dir.display().to_string()
                )));
            }
        }
        if let Err(err) = self.log.parse::<tracing_subscriber::EnvFilter>() {
            return Err(ConfigError::Invalid(format!(
                "log = {:?} is not a tracing filter ({err})",
                self.log
            )));
        }
        Ok(())
    }
}

/// Whether a `KABAR_*` variable (prefix removed) is configuration rather than the test suite's.
fn not_for_tests(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    !key.starts_with("test_") && key != "require_postgres"
}

/// Figment's error, with every problem on its own line, naming the key and where it was set.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|err| {
            let key = if err.path.is_empty() { "(top level)".to_owned() } else { err.path.join(".") };
            let source = err
                .metadata
                .as_ref()
                .map(|meta| match &meta.source {
                    Some(source) => format!(" (from {} {source})", meta.name),
                    None => format!(" (from {})", meta.name),
                })
                .unwrap_or_default();
            format!("key {key}{source}: {}", err.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment's own error type
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("kabar.toml", "database_url = \"from-file.db\"\nlog = \"debug\"")?;
            jail.set_env("KABAR_DATABASE_URL", "from-env.db");
            jail.set_env("KABAR_IMPORT__BATCH_SIZE", "250");
            jail.set_env("KABAR_TEST_POSTGRES_URL", "postgres://ignored@localhost/x");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.database_url, DatabaseUrl::Sqlite("from-env.db".into()));
            assert_eq!(config.log, "debug");
            assert_eq!(config.import.batch_size, 250);
            assert_eq!(config.import.allowed_countries.codes(), ["ID"], "the default number policy");
            jail.set_env("KABAR_IMPORT__ALLOWED_COUNTRIES", "[\"ID\", \"my\"]");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.import.allowed_countries.codes(), ["ID", "MY"]);
            let flags = Overrides { database_url: Some("from-flag.db".into()), ..Overrides::default() };
            let config = Config::load(None, &flags).map_err(|e| e.to_string())?;
            assert_eq!(config.database_url, DatabaseUrl::Sqlite("from-flag.db".into()));
            Ok(())
        });
    }

    #[test]
    fn defaults_need_no_file() {
        figment::Jail::expect_with(|_| {
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.database_url.to_string(), "sqlite://kabar.db");
            Ok(())
        });
    }

    #[test]
    fn invalid_values_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("kabar.toml", "[import]\nbatch_size = \"many\"")?;
            let err = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("key import.batch_size"), "{err}");
            assert!(err.contains("kabar.toml"), "{err}");

            jail.create_file("kabar.toml", "[import]\nallowed_countries = [\"ID\", \"Malaysia\"]")?;
            let err = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("key import.allowed_countries") && err.contains("\"Malaysia\""), "{err}");

            jail.create_file("kabar.toml", "databse_url = \"x.db\"")?;
            let err = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("databse_url"), "{err}");

            jail.create_file("kabar.toml", "")?;
            jail.set_env("KABAR_DATABASE_URL", "mysql://root@localhost/kabar");
            let err = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("key database_url") && err.contains("mysql"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn retention_is_layered_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("kabar.toml", "[retention]\nmessages_days = 30")?;
            jail.set_env("KABAR_RETENTION__BOOKINGS_DAYS", "180");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!((config.retention.messages_days, config.retention.bookings_days), (30, 180));
            jail.create_file("kabar.toml", "[retention]\nmessages_days = 0")?;
            let err = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("retention.messages_days = 0 is out of range"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_named_file_must_exist() {
        let err =
            Config::load(Some(Path::new("/nonexistent/kabar.toml")), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/kabar.toml does not exist"));
    }

    #[test]
    fn passwords_never_reach_debug_output() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("KABAR_DATABASE_URL", "postgres://kabar:hunter2@db:5432/kabar");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert!(!format!("{config:?}").contains("hunter2"));
            Ok(())
        });
    }
}
