//! Settings of the receipts server (`[receipts]` in `kabar.toml`).

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// How the receipts server listens, where the providers reach it, and the secrets that
/// authenticate them. Each provider's routes answer 404 until its secret is configured, so a
/// deployment exposes only what it uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptsConfig {
    /// Deprecated: `[http] listen`, which this always equals once the configuration is loaded
    /// (set here and not there, it is adopted there with a deprecation line).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The public URL of the server's root as the providers call it, e.g.
    /// `https://kabar.imigrasi.go.id/hooks`. Twilio signs the full URL it called, so this must be
    /// exactly the scheme, host and path prefix given to Twilio; unsubscribe links start with it.
    /// Set as `[http] public_url`, which fills this in; setting it here is deprecated.
    #[serde(deserialize_with = "url_text")]
    pub public_base_url: Url,
    /// Twilio's Auth Token: enables `POST /twilio/status` and `POST /twilio/inbound`.
    #[serde(default)]
    pub twilio_auth_token: Option<SecretString>,
    /// The Meta app secret that signs WhatsApp webhooks: enables `POST /whatsapp/webhook`.
    #[serde(default)]
    pub whatsapp_app_secret: Option<SecretString>,
    /// The token typed into Meta's webhook settings: enables the `GET /whatsapp/webhook`
    /// verification handshake.
    #[serde(default)]
    pub whatsapp_verify_token: Option<SecretString>,
    /// A random secret that is the last path segment of the Infobip `notifyUrl`
    /// (`…/infobip/reports/<secret>`): enables `POST /infobip/reports/{secret}`.
    #[serde(default)]
    pub infobip_secret: Option<SecretString>,
    /// The key that signs unsubscribe links: enables `/unsubscribe/{token}` and
    /// [`unsubscribe_url`](super::unsubscribe_url).
    #[serde(default)]
    pub unsubscribe_key: Option<SecretString>,
}

/// The `url` crate is built without serde here: the URL is read as text and parsed.
fn url_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    let text = String::deserialize(deserializer)?;
    Url::parse(&text).map_err(|err| serde::de::Error::custom(format!("{text:?} is not a URL ({err})")))
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

impl ReceiptsConfig {
    /// A configuration with no provider enabled, for tests and for building one field by field.
    pub fn new(public_base_url: Url) -> Self {
        ReceiptsConfig {
            listen: default_listen(),
            public_base_url,
            twilio_auth_token: None,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            infobip_secret: None,
            unsubscribe_key: None,
        }
    }

    /// Refuses a base URL the providers cannot call and secrets that are empty (an empty secret
    /// would make a route answer anyone).
    pub fn validate(&self) -> Result<(), String> {
        let base = &self.public_base_url;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(format!(
                "receipts.public_base_url = {:?} is not an http(s) URL with a host",
                base.as_str()
            ));
        }
        if base.query().is_some() || base.fragment().is_some() || !base.username().is_empty() {
            return Err(format!(
                "receipts.public_base_url = {:?} must not carry a query, a fragment or credentials",
                base.as_str()
            ));
        }
        let secrets = [
            ("twilio_auth_token", &self.twilio_auth_token),
            ("whatsapp_app_secret", &self.whatsapp_app_secret),
            ("whatsapp_verify_token", &self.whatsapp_verify_token),
            ("infobip_secret", &self.infobip_secret),
            ("unsubscribe_key", &self.unsubscribe_key),
        ];
        for (name, secret) in secrets {
            if secret.as_ref().is_some_and(|secret| secret.expose_secret().trim().is_empty()) {
                return Err(format!("receipts.{name} is empty; remove it or set the secret"));
            }
        }
        if self.unsubscribe_key.as_ref().is_some_and(|key| key.expose_secret().len() < 32) {
            return Err(
                "receipts.unsubscribe_key is shorter than 32 characters; use a long random key".into()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_base_url_is_required_and_secrets_stay_hidden() {
        let config: ReceiptsConfig = toml::from_str(
            "public_base_url = \"https://kabar.example.go.id/hooks\"\ntwilio_auth_token = \"abc123\"\n",
        )
        .unwrap();
        assert_eq!(config.listen, default_listen());
        assert!(config.validate().is_ok());
        assert!(!format!("{config:?}").contains("abc123"));
        assert!(
            toml::from_str::<ReceiptsConfig>("listen = \"0.0.0.0:80\"\n").is_err(),
            "the base URL is required"
        );
        assert!(toml::from_str::<ReceiptsConfig>("public_base_url = \"https://x\"\ntypo = 1\n").is_err());
    }

    #[test]
    fn unusable_base_urls_and_empty_secrets_are_refused() {
        for base in ["ftp://example.go.id/", "https://example.go.id/?a=1", "https://u:p@example.go.id/"] {
            let config = ReceiptsConfig::new(base.parse().unwrap());
            assert!(config.validate().is_err(), "{base}");
        }
        let mut config = ReceiptsConfig::new("https://example.go.id".parse().unwrap());
        config.infobip_secret = Some(" ".into());
        assert!(config.validate().unwrap_err().contains("infobip_secret"));
        config.infobip_secret = None;
        config.unsubscribe_key = Some("short".into());
        assert!(config.validate().unwrap_err().contains("unsubscribe_key"));
    }
}
