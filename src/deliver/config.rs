//! `[delivery]` in `kabar.toml`: the worker's pace and retry budget, and the provider accounts.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::providers::failover::{FailoverConfig, Member, Outcome, SmsRouter};
use super::providers::http::http_client;
use super::providers::infobip::{Infobip, InfobipConfig};
use super::providers::limit::RateLimit;
use super::providers::log::{LogConfig, LogFile};
use super::providers::smtp::{Smtp, SmtpConfig};
use super::providers::twilio::{Twilio, TwilioConfig};
use super::providers::whatsapp::{WhatsappCloud, WhatsappConfig};
use super::providers::{Provider, ProviderError};
use crate::domain::Channel;

/// How the dispatcher works, and with whom.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Messages claimed per step.
    pub batch_size: usize,
    /// Messages in flight at once (each provider's own rate limit still applies).
    pub concurrency: usize,
    /// How long a claim holds unless renewed; a worker renews its claims while it works on them,
    /// and a crashed worker's messages are claimed again after it.
    pub lease_seconds: u64,
    /// On SIGTERM or Ctrl-C, how long the sends already started may take to finish (and be
    /// recorded) before the worker stops anyway.
    pub shutdown_grace_seconds: u64,
    /// Tries per message on one channel before it fails as `technical`.
    pub max_attempts: u32,
    /// A message still not sent this long after it was planned fails as `technical`.
    pub max_age_hours: u32,
    /// The first retry waits this long, doubling each time (with ±20% jitter) up to the maximum.
    pub backoff_seconds: u64,
    pub backoff_max_seconds: u64,
    /// Relative shares of SMS between Twilio and Infobip when both are configured.
    pub sms_weights: BTreeMap<String, u32>,
    pub failover: FailoverConfig,
    #[serde(skip_serializing)]
    pub twilio: Option<TwilioConfig>,
    #[serde(skip_serializing)]
    pub infobip: Option<InfobipConfig>,
    #[serde(skip_serializing)]
    pub whatsapp: Option<WhatsappConfig>,
    #[serde(skip_serializing)]
    pub smtp: Option<SmtpConfig>,
    /// Writes messages to a JSON-lines file instead of sending them, for every channel that has
    /// no provider above (demos; a dry run of a real database).
    #[serde(skip_serializing)]
    pub log: Option<LogConfig>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            batch_size: 500,
            concurrency: 64,
            lease_seconds: 300,
            shutdown_grace_seconds: 30,
            max_attempts: 8,
            max_age_hours: 24,
            backoff_seconds: 30,
            backoff_max_seconds: 3600,
            sms_weights: BTreeMap::from([("twilio".into(), 50), ("infobip".into(), 50)]),
            failover: FailoverConfig::default(),
            twilio: None,
            infobip: None,
            whatsapp: None,
            smtp: None,
            log: None,
        }
    }
}

impl DeliveryConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.batch_size == 0 || self.batch_size > 10_000 {
            return Err(format!("delivery.batch_size is {}; use 1 to 10000", self.batch_size));
        }
        if self.concurrency == 0 || self.concurrency > 4096 {
            return Err(format!("delivery.concurrency is {}; use 1 to 4096", self.concurrency));
        }
        if self.lease_seconds < 30 {
            return Err(
                "delivery.lease_seconds must be at least 30 (longer than any provider timeout)".into()
            );
        }
        if self.max_attempts == 0 {
            return Err("delivery.max_attempts must be at least 1".into());
        }
        for name in self.sms_weights.keys() {
            if name != "twilio" && name != "infobip" {
                return Err(format!(
                    "delivery.sms_weights: unknown provider {name:?}; use twilio or infobip"
                ));
            }
        }
        self.failover.validate().map_err(|err| format!("delivery.failover: {err}"))
    }

    /// Whether any provider is configured.
    pub fn has_providers(&self) -> bool {
        self.twilio.is_some()
            || self.infobip.is_some()
            || self.whatsapp.is_some()
            || self.smtp.is_some()
            || self.log.is_some()
    }
}

/// The provider accounts, built once and shared by every send.
#[derive(Debug)]
pub struct Providers {
    whatsapp: Option<Provider>,
    sms: Vec<Provider>,
    router: Option<SmsRouter>,
    email: Option<Provider>,
    log: Option<Provider>,
}

impl Providers {
    /// Builds every configured client (one pooled HTTP client for all of them). Must run inside
    /// the tokio runtime (the SMTP pool starts a task).
    pub fn from_config(config: &DeliveryConfig) -> Result<Self, ProviderError> {
        let http = http_client();
        let whatsapp = config
            .whatsapp
            .as_ref()
            .map(|whatsapp| WhatsappCloud::new(whatsapp, http.clone()).map(Provider::Whatsapp))
            .transpose()?;
        let mut sms = Vec::new();
        let mut members = Vec::new();
        if let Some(twilio) = &config.twilio {
            sms.push(Provider::Twilio(Twilio::new(twilio, http.clone())?));
            members.push(Member::new("twilio", config.sms_weights.get("twilio").copied().unwrap_or(50)));
        }
        if let Some(infobip) = &config.infobip {
            sms.push(Provider::Infobip(Infobip::new(infobip, http.clone())?));
            members.push(Member::new("infobip", config.sms_weights.get("infobip").copied().unwrap_or(50)));
        }
        let router =
            if sms.len() > 1 { Some(SmsRouter::new(members, config.failover.clone())?) } else { None };
        let email = config.smtp.as_ref().map(|smtp| Smtp::new(smtp).map(Provider::Smtp)).transpose()?;
        let log = config.log.as_ref().map(|log| LogFile::new(log).map(Provider::Log)).transpose()?;
        Ok(Providers { whatsapp, sms, router, email, log })
    }

    /// The provider for a channel (for SMS, chosen by the failover router), with its index for
    /// [`Providers::record`]; `None` when nothing is configured for the channel.
    pub fn pick(&self, channel: Channel) -> Option<(usize, &Provider)> {
        let own = match channel {
            Channel::Whatsapp => self.whatsapp.as_ref().map(|provider| (0, provider)),
            Channel::Email => self.email.as_ref().map(|provider| (0, provider)),
            Channel::Sms => match (&self.router, self.sms.as_slice()) {
                (Some(router), sms) => {
                    let index = router.choose(Instant::now());
                    Some((index, &sms[index]))
                }
                (None, [only, ..]) => Some((0, only)),
                (None, []) => None,
            },
        };
        own.or_else(|| self.log.as_ref().map(|log| (0, log)))
    }

    /// Every provider account with a configured rate, by provider name: what the workers of one
    /// database divide between them.
    pub fn rate_limits(&self) -> Vec<(&'static str, &RateLimit)> {
        let all = self.whatsapp.iter().chain(&self.sms).chain(&self.email);
        all.filter_map(|provider| {
            let limit = provider.limit()?;
            limit.configured().map(|_| (provider.name(), limit))
        })
        .collect()
    }

    /// Tells the SMS router how a send went, so weight moves away from a failing provider.
    pub fn record(&self, channel: Channel, index: usize, outcome: Outcome) {
        if let (Channel::Sms, Some(router)) = (channel, &self.router) {
            router.record(index, outcome, Instant::now());
        }
    }
}
