//! `[staff]` and `[costs]` in `kabar.toml`.

use serde::{Deserialize, Serialize};

use super::LoginLimits;

/// `[staff]`: the rules of the staff API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffConfig {
    /// A broadcast reaching more applicants than this (or more than one office) needs a second
    /// person, a supervisor who is not its author, to approve it before it is scheduled.
    pub approval_threshold: u64,
    /// Failed logins (or token checks) per username (or token prefix) per minute, as a burst.
    pub failures_per_minute: u32,
    /// Failed attempts per client address per minute, whatever the username.
    pub client_failures_per_minute: u32,
    /// A console session ends after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// A console session ends this many hours after login, however busy.
    pub session_hours: u32,
}

impl Default for StaffConfig {
    fn default() -> Self {
        let limits = LoginLimits::default();
        StaffConfig {
            approval_threshold: 1_000,
            failures_per_minute: limits.failures_per_minute,
            client_failures_per_minute: limits.client_failures_per_minute,
            session_idle_minutes: 30,
            session_hours: 12,
        }
    }
}

impl StaffConfig {
    pub fn limits(&self) -> LoginLimits {
        LoginLimits {
            failures_per_minute: self.failures_per_minute,
            client_failures_per_minute: self.client_failures_per_minute,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.failures_per_minute == 0 || self.client_failures_per_minute == 0 {
            return Err(
                "staff.failures_per_minute and staff.client_failures_per_minute must be at least 1".into()
            );
        }
        if self.session_idle_minutes == 0 || self.session_hours == 0 {
            return Err("staff.session_idle_minutes and staff.session_hours must be at least 1".into());
        }
        if u64::from(self.session_idle_minutes) > u64::from(self.session_hours) * 60 {
            return Err(format!(
                "staff.session_idle_minutes = {} is longer than staff.session_hours = {}; the idle \
                 timeout must not outlast the session",
                self.session_idle_minutes, self.session_hours
            ));
        }
        Ok(())
    }

    /// How long a console session may go without a request.
    pub fn session_idle(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.session_idle_minutes))
    }

    /// How long a console session lasts after login.
    pub fn session_lifetime(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.session_hours))
    }
}

/// `[costs]`: what one message costs, for the estimates of a dry run or a broadcast preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostsConfig {
    /// ISO 4217 code of the prices below.
    pub currency: String,
    pub sms_segment: f64,
    pub whatsapp_message: f64,
    pub email: f64,
}

impl Default for CostsConfig {
    fn default() -> Self {
        // Indicative Indonesian prices (2024): an A2P SMS segment, a WhatsApp utility message.
        CostsConfig { currency: "IDR".into(), sms_segment: 450.0, whatsapp_message: 350.0, email: 0.0 }
    }
}

impl CostsConfig {
    pub fn validate(&self) -> Result<(), String> {
        let code = &self.currency;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("costs.currency = {code:?} is not an ISO 4217 code such as IDR"));
        }
        for (key, price) in [
            ("sms_segment", self.sms_segment),
            ("whatsapp_message", self.whatsapp_message),
            ("email", self.email),
        ] {
            if !price.is_finite() || price < 0.0 {
                return Err(format!("costs.{key} = {price} must be a price of zero or more"));
            }
        }
        Ok(())
    }
}
