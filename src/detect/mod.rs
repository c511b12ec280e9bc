//! Automatic outage detection. Every service of an office depends on a few central systems (the
//! immigration information system, the passport data centre, M-Paspor's booking API, printing,
//! payments); kabar probes them and, when one is down, **proposes** the state change that staff
//! would make, so applicants hear within minutes even at night.
//!
//! - [`config`]: `[detect]` and its `[[detect.systems]]`, checked at start-up.
//! - [`probe`]: one HTTP, TCP or command probe, with a timeout and a few words on what it saw.
//! - [`health`]: the rule that does not cry wolf (N failures in a row *and* a failure ratio over a
//!   window; M successes in a row to come back).
//! - [`prober`]: the loop inside `kabar serve`; one process probes at a time (a lease row), and
//!   each step can be driven from a test with its own clock.
//! - [`proposals`]: what staff do with a proposal (confirm, dismiss) and what kabar does when
//!   nobody acts within `auto_apply_after` (applies it as `system:detector`). A proposal that the
//!   state already matches is dropped; flapping is absorbed by the planner's settle window.
//!
//! Probe results and proposals live in the database, so `kabar probes` and
//! `kabar state proposals` in another process see them.

pub mod config;
pub mod health;
pub mod probe;
pub mod prober;
pub mod proposals;

use chrono::{DateTime, Utc};

pub use config::{AutoApply, DetectConfig, Probe, System, Thresholds};
pub use health::{Health, Tally, Transition};
pub use prober::{Prober, StepReport};
pub use proposals::{apply, confirm, dismiss, ProposalError};

use crate::domain::Service;

/// The actor of what kabar applies itself.
pub const DETECTOR: &str = "detector";

/// Whether a proposal is for an outage or for the recovery after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalKind {
    Outage,
    Recovery,
}

impl ProposalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalKind::Outage => "outage",
            ProposalKind::Recovery => "recovery",
        }
    }
}

/// What became of a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalStatus {
    Open,
    Applied,
    Dismissed,
    /// Nothing to do: the states already matched, or the system came back first.
    Dropped,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Open => "open",
            ProposalStatus::Applied => "applied",
            ProposalStatus::Dismissed => "dismissed",
            ProposalStatus::Dropped => "dropped",
        }
    }
}

impl std::str::FromStr for ProposalKind {
    type Err = crate::domain::ParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "outage" => Ok(ProposalKind::Outage),
            "recovery" => Ok(ProposalKind::Recovery),
            _ => Err(crate::domain::ParseError::new(format!("{text:?} is not outage or recovery"))),
        }
    }
}

impl std::str::FromStr for ProposalStatus {
    type Err = crate::domain::ParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "open" => Ok(ProposalStatus::Open),
            "applied" => Ok(ProposalStatus::Applied),
            "dismissed" => Ok(ProposalStatus::Dismissed),
            "dropped" => Ok(ProposalStatus::Dropped),
            _ => Err(crate::domain::ParseError::new(format!("{text:?} is not a proposal status"))),
        }
    }
}

/// A state change kabar proposes because a system went down or came back.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Proposal {
    pub id: i64,
    pub system: String,
    pub episode: i64,
    pub kind: ProposalKind,
    /// The target as `kabar state set` takes it.
    pub offices: String,
    pub services: Vec<Service>,
    /// What applicants read.
    pub reason: String,
    /// What the probes saw, for staff.
    pub detail: String,
    pub status: ProposalStatus,
    pub created_at: DateTime<Utc>,
    /// When kabar applies it itself if nobody acts; `None`: never.
    pub apply_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
}

/// A proposal to write, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProposal {
    pub kind: ProposalKind,
    pub offices: String,
    pub services: Vec<Service>,
    pub reason: String,
    pub detail: String,
    pub apply_at: Option<DateTime<Utc>>,
}

/// A system's health as the store keeps it, for `kabar probes` and `/metrics`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SystemHealth {
    pub name: String,
    pub health: Health,
    pub failures_in_row: u32,
    pub successes_in_row: u32,
    /// The last probes, oldest first: `1` answered as expected, `0` failed.
    pub recent: String,
    pub probes: i64,
    pub failures: i64,
    pub last_at: Option<DateTime<Utc>>,
    pub last_ok: Option<bool>,
    pub last_detail: Option<String>,
    pub last_failure: Option<String>,
    pub next_at: Option<DateTime<Utc>>,
    pub changed_at: Option<DateTime<Utc>>,
    pub episode: i64,
}

impl serde::Serialize for Health {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl SystemHealth {
    pub fn tally(&self) -> Tally {
        Tally {
            health: self.health,
            failures_in_row: self.failures_in_row,
            successes_in_row: self.successes_in_row,
            recent: Tally::parse_recent(&self.recent),
            episode: self.episode,
        }
    }
}
