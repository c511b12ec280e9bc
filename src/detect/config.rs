//! `[detect]`: the upstream systems kabar probes, what depends on each, and how sure it must be
//! before it says a system is down or back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::Service;
use crate::state::Target;

/// `[detect]` as written in `kabar.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Consecutive failed probes before a system is down (N).
    pub failures: u32,
    /// The probes the failure ratio is taken over.
    pub window: u32,
    /// The share of failed probes in the window a system must also reach to be down.
    pub failure_ratio: f64,
    /// Consecutive successful probes before a system that was down is up again (M).
    pub successes: u32,
    /// How long a proposal waits for staff before kabar applies it itself: `30m`, `2h`, `0` (at
    /// once) or `never` (only propose).
    pub auto_apply_after: String,
    pub systems: Vec<SystemConfig>,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            failures: 3,
            window: 10,
            failure_ratio: 0.5,
            successes: 3,
            auto_apply_after: "30m".into(),
            systems: Vec::new(),
        }
    }
}

/// One `[[detect.systems]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    pub name: String,
    pub probe: ProbeConfig,
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    pub affects: AffectsConfig,
    /// What applicants read as the reason of a detected outage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn default_interval() -> u64 {
    30
}

fn default_timeout() -> u64 {
    5
}

/// `probe = { http = "…", expect_status = 200 }`, `{ tcp = "host:port" }` or
/// `{ command = ["program", "arg"] }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// `GET` (the default) or `HEAD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

/// `affects = { offices = "all", services = ["printing"] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectsConfig {
    /// Office codes, `region:NAME` or `all`, as `kabar state set` takes them.
    pub offices: String,
    pub services: Vec<String>,
}

/// A system, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub name: String,
    pub probe: Probe,
    pub interval: Duration,
    pub timeout: Duration,
    /// As written, for proposals and the state change.
    pub offices: String,
    pub target: Target,
    pub services: Vec<Service>,
    pub reason: String,
}

/// How a system is probed.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Http { url: url::Url, head: bool, expect_status: u16, body_contains: Option<String> },
    Tcp { address: String },
    Command { program: String, args: Vec<String> },
}

/// When an open proposal is applied without staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoApply {
    After(chrono::Duration),
    Never,
}

/// The thresholds of [`DetectConfig`], checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub failures: u32,
    pub window: u32,
    pub failure_ratio: f64,
    pub successes: u32,
}

impl DetectConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.thresholds()?;
        self.auto_apply()?;
        self.checked_systems().map(|_| ())
    }

    pub fn thresholds(&self) -> Result<Thresholds, String> {
        if self.failures == 0 || self.successes == 0 {
            return Err("detect.failures and detect.successes must be at least 1".into());
        }
        if self.window < self.failures {
            return Err(format!(
                "detect.window = {} must be at least detect.failures = {}: the ratio is taken over the \
                 last `window` probes",
                self.window, self.failures
            ));
        }
        if !(self.failure_ratio > 0.0 && self.failure_ratio <= 1.0) {
            return Err(format!(
                "detect.failure_ratio = {} must be above 0 and at most 1",
                self.failure_ratio
            ));
        }
        Ok(Thresholds {
            failures: self.failures,
            window: self.window,
            failure_ratio: self.failure_ratio,
            successes: self.successes,
        })
    }

    pub fn auto_apply(&self) -> Result<AutoApply, String> {
        let text = self.auto_apply_after.trim();
        if text.eq_ignore_ascii_case("never") {
            return Ok(AutoApply::Never);
        }
        if text == "0" {
            return Ok(AutoApply::After(chrono::Duration::zero()));
        }
        crate::staff::parse_lifetime(text).map(AutoApply::After).map_err(|_| {
            format!(
                "detect.auto_apply_after = {text:?}: write a duration such as 30m, 2h or 1d, 0 to apply \
                 at once, or never to only propose"
            )
        })
    }

    /// Every system, checked; the first problem names the system and the key.
    pub fn checked_systems(&self) -> Result<Vec<System>, String> {
        let mut names = std::collections::HashSet::new();
        self.systems
            .iter()
            .map(|system| {
                let checked =
                    system.check().map_err(|err| format!("detect.systems {:?}: {err}", system.name))?;
                if !names.insert(checked.name.clone()) {
                    return Err(format!("detect.systems: the name {:?} is used twice", system.name));
                }
                Ok(checked)
            })
            .collect()
    }
}

impl SystemConfig {
    fn check(&self) -> Result<System, String> {
        let name = self.name.trim();
        if name.is_empty()
            || name.len() > 40
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err("name must be 1 to 40 letters, digits, '-', '_' or '.'".into());
        }
        if self.interval_seconds == 0 || self.timeout_seconds == 0 {
            return Err("interval_seconds and timeout_seconds must be at least 1".into());
        }
        if self.timeout_seconds > self.interval_seconds {
            return Err(format!(
                "timeout_seconds = {} is longer than interval_seconds = {}",
                self.timeout_seconds, self.interval_seconds
            ));
        }
        let target =
            self.affects.offices.parse::<Target>().map_err(|err| format!("affects.offices: {err}"))?;
        if self.affects.services.is_empty() {
            return Err(
                "affects.services is empty: name the services that stop when this system is down".into()
            );
        }
        let services = self
            .affects
            .services
            .iter()
            .map(|service| service.parse::<Service>().map_err(|err| format!("affects.services: {err}")))
            .collect::<Result<Vec<_>, _>>()?;
        let reason = match &self.reason {
            Some(reason) => reason.trim().to_owned(),
            None => format!("Gangguan sistem pusat ({name})"),
        };
        crate::domain::check_plain_text(&reason).map_err(|err| format!("reason: {err}"))?;
        crate::domain::check_length(&reason, crate::state::MAX_REASON)
            .map_err(|err| format!("reason: {err}"))?;
        Ok(System {
            name: name.to_owned(),
            probe: self.probe.check()?,
            interval: Duration::from_secs(self.interval_seconds),
            timeout: Duration::from_secs(self.timeout_seconds),
            offices: self.affects.offices.trim().to_owned(),
            target,
            services,
            reason,
        })
    }
}

impl ProbeConfig {
    fn check(&self) -> Result<Probe, String> {
        let http_only = self.method.is_some() || self.expect_status.is_some() || self.body_contains.is_some();
        match (&self.http, &self.tcp, &self.command) {
            (Some(url), None, None) => {
                let url = url::Url::parse(url).map_err(|err| format!("probe.http = {url:?}: {err}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!("probe.http = {:?} is not an http or https address", url.as_str()));
                }
                let head = match self.method.as_deref().map(str::to_ascii_uppercase).as_deref() {
                    None | Some("GET") => false,
                    Some("HEAD") => true,
                    Some(other) => return Err(format!("probe.method = {other:?}: use GET or HEAD")),
                };
                if head && self.body_contains.is_some() {
                    return Err("probe.body_contains needs method GET: a HEAD answer has no body".into());
                }
                let expect_status = self.expect_status.unwrap_or(200);
                if !(100..=599).contains(&expect_status) {
                    return Err(format!("probe.expect_status = {expect_status} is not an HTTP status"));
                }
                Ok(Probe::Http { url, head, expect_status, body_contains: self.body_contains.clone() })
            }
            (None, Some(address), None) if !http_only => {
                if address.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok()).is_none() {
                    return Err(format!("probe.tcp = {address:?}: write HOST:PORT"));
                }
                Ok(Probe::Tcp { address: address.clone() })
            }
            (None, None, Some(command)) if !http_only => match command.split_first() {
                Some((program, args)) if !program.trim().is_empty() => {
                    Ok(Probe::Command { program: program.clone(), args: args.to_vec() })
                }
                _ => Err("probe.command is empty: write [\"program\", \"argument\", …]".into()),
            },
            (None, None, None) => Err("probe has none of http, tcp or command".into()),
            _ if http_only && self.http.is_none() => {
                Err("probe.method, expect_status and body_contains are for http probes only".into())
            }
            _ => Err("probe has more than one of http, tcp and command; give one".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> DetectConfig {
        toml::from_str(toml_text).unwrap()
    }

    const SIMKIM: &str = r#"
        [[systems]]
        name = "simkim"
        probe = { http = "https://simkim.example.go.id/health", expect_status = 200 }
        interval_seconds = 30
        timeout_seconds = 5
        affects = { offices = "all", services = ["printing", "epassport", "express", "pickup"] }
    "#;

    #[test]
    fn the_issue_example_parses() {
        let config = parse(SIMKIM);
        config.validate().unwrap();
        let systems = config.checked_systems().unwrap();
        assert_eq!(systems[0].target, Target::All);
        assert_eq!(systems[0].services.len(), 4);
        assert_eq!(systems[0].reason, "Gangguan sistem pusat (simkim)");
        assert!(matches!(&systems[0].probe, Probe::Http { expect_status: 200, head: false, .. }));
        assert_eq!(config.auto_apply().unwrap(), AutoApply::After(chrono::Duration::minutes(30)));
    }

    #[test]
    fn bad_systems_are_named() {
        let err = parse(&SIMKIM.replace("printing", "printng")).validate().unwrap_err();
        assert!(err.contains("simkim") && err.contains("affects.services"), "{err}");
        let err = parse(&SIMKIM.replace("http = ", "tcp = \"a:1\", http = ")).validate().unwrap_err();
        assert!(err.contains("more than one"), "{err}");
        let err =
            parse(&SIMKIM.replace("timeout_seconds = 5", "timeout_seconds = 60")).validate().unwrap_err();
        assert!(err.contains("longer than"), "{err}");
        let twice = format!("{SIMKIM}{SIMKIM}");
        assert!(parse(&twice).validate().unwrap_err().contains("used twice"));
        let err = parse(&SIMKIM.replace("expect_status = 200", "expect_status = 200, method = \"POST\""))
            .validate()
            .unwrap_err();
        assert!(err.contains("GET or HEAD"), "{err}");
    }

    #[test]
    fn auto_apply_after() {
        let with = |text: &str| DetectConfig { auto_apply_after: text.into(), ..DetectConfig::default() };
        assert_eq!(with("never").auto_apply().unwrap(), AutoApply::Never);
        assert_eq!(with("0").auto_apply().unwrap(), AutoApply::After(chrono::Duration::zero()));
        assert_eq!(with("2h").auto_apply().unwrap(), AutoApply::After(chrono::Duration::hours(2)));
        assert!(with("soon").auto_apply().unwrap_err().contains("never"));
    }

    #[test]
    fn thresholds_are_checked() {
        let config = DetectConfig { window: 2, ..DetectConfig::default() };
        assert!(config.validate().unwrap_err().contains("detect.window"));
        let config = DetectConfig { failure_ratio: 0.0, ..DetectConfig::default() };
        assert!(config.validate().unwrap_err().contains("failure_ratio"));
    }
}
