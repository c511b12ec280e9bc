//! Settings of kabar's HTTP server (`[http]` in `kabar.toml`), and how the settings that lived in
//! `[receipts]` before it (`listen`, `public_base_url`) still work.

use std::net::SocketAddr;

use figment::providers::Serialized;
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// Where the one HTTP server of `kabar serve` listens and where the outside world reaches it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The address to listen on (`kabar serve --listen` overrides it); a reverse proxy in front
    /// terminates TLS. Port 0 takes any free port and prints it.
    pub listen: SocketAddr,
    /// The public URL of the server's root as providers and email recipients call it, e.g.
    /// `https://kabar.imigrasi.go.id/hooks`. Twilio signs the full URL it called, so this must be
    /// exactly the scheme, host and path prefix given to Twilio; unsubscribe links start with it.
    #[serde(
        default,
        deserialize_with = "optional_url",
        serialize_with = "optional_url_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_url: Option<Url>,
    /// When set, `GET /metrics` needs `Authorization: Bearer <token>`.
    #[serde(default, skip_serializing)]
    pub metrics_token: Option<SecretString>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { listen: SocketAddr::from(([127, 0, 0, 1], 8080)), public_url: None, metrics_token: None }
    }
}

impl HttpConfig {
    /// Refuses a public URL the providers cannot call and an empty token (which would guard
    /// nothing).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.public_url {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!(
                    "http.public_url = {:?} is not an http(s) URL with a host",
                    url.as_str()
                ));
            }
            if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
                return Err(format!(
                    "http.public_url = {:?} must not carry a query, a fragment or credentials",
                    url.as_str()
                ));
            }
        }
        if self.metrics_token.as_ref().is_some_and(|token| token.expose_secret().trim().is_empty()) {
            return Err("http.metrics_token is empty; remove it or set a long random token".into());
        }
        Ok(())
    }
}

fn optional_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Url>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Url::parse(&text)
        .map(Some)
        .map_err(|err| serde::de::Error::custom(format!("{text:?} is not a URL ({err})")))
}

fn optional_url_text<S: Serializer>(url: &Option<Url>, serializer: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => serializer.serialize_str(url.as_str()),
        None => serializer.serialize_none(),
    }
}

/// The layers the user wrote (file, environment, flags), read for `[receipts] listen` and
/// `public_base_url`, the keys of the HTTP server before `[http]`: each still applies where the
/// `[http]` key is not set, and `[receipts]` gets its public URL from `[http] public_url`.
/// Returns what to merge above the user's layers and the deprecation line to log, if any.
pub(crate) fn adopt_receipts_keys(user: &Figment) -> Result<(Figment, Option<String>), String> {
    let mut adopted = Figment::new();
    let mut deprecated = Vec::new();
    // `from`'s value becomes `to`'s unless the user set `to`.
    let carry = |from: &str, to: &str, adopted: Figment| match user.find_value(from) {
        Ok(value) if !user.contains(to) => adopted.merge(Serialized::default(to, value)),
        _ => adopted,
    };
    if user.contains("receipts.listen") {
        deprecated.push("listen");
        adopted = carry("receipts.listen", "http.listen", adopted);
    }
    if user.contains("receipts.public_base_url") {
        deprecated.push("public_base_url");
        adopted = carry("receipts.public_base_url", "http.public_url", adopted);
    } else if user.contains("receipts") {
        if !user.contains("http.public_url") {
            return Err("[receipts] is set but kabar's public URL is not: add [http] public_url = \
                        \"https://…\", the URL the providers call kabar at"
                .into());
        }
        adopted = carry("http.public_url", "receipts.public_base_url", adopted);
    }
    let line = match deprecated.as_slice() {
        [] => None,
        keys => Some(format!(
            "[receipts] {} {} deprecated: use [http] {} instead (it still works for now)",
            keys.join(" and "),
            if keys.len() == 1 { "is" } else { "are" },
            keys.iter()
                .map(|key| if *key == "listen" { "listen" } else { "public_url" })
                .collect::<Vec<_>>()
                .join(" and ")
        )),
    };
    Ok((adopted, line))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment's own error type
mod tests {
    use crate::config::{Config, HttpOverrides, Overrides};
    use crate::observe::logging::LogFormat;

    fn load() -> Result<Config, String> {
        Config::load(None, &Overrides::default()).map_err(|err| err.to_string())
    }

    #[test]
    fn http_keys_and_their_defaults() {
        figment::Jail::expect_with(|jail| {
            let config = load()?;
            assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
            assert_eq!((config.http.public_url.clone(), config.log_format), (None, LogFormat::Text));
            assert!(config.deprecations.is_empty());

            jail.create_file(
                "kabar.toml",
                "log_format = \"json\"\n[http]\nlisten = \"0.0.0.0:9090\"\npublic_url = \"https://kabar.example.go.id/hooks\"\n\
                 metrics_token = \"metrics-s3cret\"\n[receipts]\ntwilio_auth_token = \"abc\"\n",
            )?;
            let config = load()?;
            assert_eq!(config.log_format, LogFormat::Json);
            let receipts = config.receipts.as_ref().expect("[receipts] is set");
            assert_eq!(receipts.public_base_url.as_str(), "https://kabar.example.go.id/hooks");
            assert_eq!(receipts.listen, config.http.listen, "what an older serve binds");
            assert!(config.deprecations.is_empty());
            assert!(!format!("{config:?}").contains("metrics-s3cret"));

            jail.set_env("KABAR_LOG_FORMAT", "text");
            let flag = Overrides {
                http: Some(HttpOverrides { listen: Some("127.0.0.1:0".parse().unwrap()) }),
                ..Overrides::default()
            };
            let config = Config::load(None, &flag).map_err(|err| err.to_string())?;
            assert_eq!((config.http.listen.port(), config.log_format), (0, LogFormat::Text));
            Ok(())
        });
    }

    #[test]
    fn the_old_receipts_keys_still_work_with_one_deprecation_line() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "kabar.toml",
                "[receipts]\nlisten = \"0.0.0.0:8181\"\npublic_base_url = \"https://old.example.go.id\"\n",
            )?;
            let config = load()?;
            assert_eq!(config.http.listen.to_string(), "0.0.0.0:8181");
            assert_eq!(
                config.http.public_url.as_ref().map(|url| url.as_str()),
                Some("https://old.example.go.id/")
            );
            assert_eq!(
                config.deprecations,
                ["[receipts] listen and public_base_url are deprecated: use [http] listen and public_url \
                  instead (it still works for now)"]
            );
            // [http] wins where both are set.
            jail.create_file(
                "kabar.toml",
                "[http]\nlisten = \"127.0.0.1:7000\"\n[receipts]\nlisten = \"0.0.0.0:8181\"\n\
                 public_base_url = \"https://old.example.go.id\"\n",
            )?;
            let config = load()?;
            assert_eq!(config.http.listen.to_string(), "127.0.0.1:7000");
            assert_eq!(config.deprecations.len(), 1);
            Ok(())
        });
    }

    #[test]
    fn receipts_need_a_public_url_that_agrees() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("kabar.toml", "[receipts]\ntwilio_auth_token = \"abc\"\n")?;
            let err = load().unwrap_err();
            assert!(err.contains("add [http] public_url"), "{err}");
            jail.create_file(
                "kabar.toml",
                "[http]\npublic_url = \"https://new.example.go.id\"\n[receipts]\npublic_base_url = \"https://old.example.go.id\"\n",
            )?;
            let err = load().unwrap_err();
            assert!(
                err.contains("http.public_url and receipts.public_base_url (deprecated) differ"),
                "{err}"
            );
            jail.create_file("kabar.toml", "[http]\npublic_url = \"ftp://x.example.go.id\"\n")?;
            assert!(load().unwrap_err().contains("http.public_url"));
            jail.create_file("kabar.toml", "[http]\nmetrics_token = \" \"\n")?;
            assert!(load().unwrap_err().contains("http.metrics_token is empty"));
            jail.create_file("kabar.toml", "log_format = \"xml\"\n")?;
            assert!(load().unwrap_err().contains("log_format"));
            Ok(())
        });
    }
}
