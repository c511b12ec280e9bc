//! The audit log: who changed what, when, from where. Every write appends one row in the same
//! transaction as the change (the store's `AuditLog::append_audit`), rows cannot be changed or
//! deleted, and each row carries the SHA-256 of its canonical content and of the row before it, so
//! [`Store::verify_audit`](crate::store::Store::verify_audit) names the first row that was altered
//! or removed.
//!
//! Rows hold ids, counts and masked numbers ([`Msisdn::masked`](crate::domain::Msisdn::masked),
//! [`Email::masked`](crate::domain::Email::masked)), never personal data itself: erasing an
//! applicant never has to touch the log, and the chain stays verifiable.

pub(crate) mod verify;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::{OfficeCode, ParseError};

pub use verify::{AuditProblem, AuditVerification};

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acted: `cli:<OS user>`, `staff:<username>`, `token:<name>` or `system:<task>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor(String);

const ACTOR_KINDS: [&str; 4] = ["cli", "staff", "token", "system"];

impl Actor {
    /// Whoever runs the command line: the operating system's user.
    pub fn cli() -> Actor {
        let user = whoami::fallible::username().unwrap_or_else(|_| "unknown".to_owned());
        Actor(format!("cli:{}", clean(&user)))
    }

    /// A staff member signed in to the console or the API.
    pub fn staff(username: &str) -> Actor {
        Actor(format!("staff:{}", clean(username)))
    }

    /// A machine calling the API with a token named `name`.
    pub fn token(name: &str) -> Actor {
        Actor(format!("token:{}", clean(name)))
    }

    /// kabar itself, e.g. `system:retention` for the daily purge.
    pub fn system(task: &str) -> Actor {
        Actor(format!("system:{}", clean(task)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name as it may appear in an actor: no separators, no control characters.
fn clean(name: &str) -> String {
    let name: String =
        name.chars().map(|c| if c.is_control() || c.is_whitespace() || c == ',' { '_' } else { c }).collect();
    if name.is_empty() {
        "unknown".to_owned()
    } else {
        name
    }
}

impl FromStr for Actor {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        match text.split_once(':') {
            Some((kind, name)) if ACTOR_KINDS.contains(&kind) && !name.is_empty() => {
                Ok(Actor(format!("{kind}:{}", clean(name))))
            }
            _ => Err(ParseError(format!(
                "{text:?} is not an actor; write cli:USER, staff:USERNAME, token:NAME or system:TASK"
            ))),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who asks for a write, and from where: what every audit row of a request starts from. The CLI
/// is [`Origin::cli`]; an HTTP request adds its request id and client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub client: Option<String>,
}

impl Origin {
    /// Whoever runs the command line.
    pub fn cli() -> Origin {
        Origin::of(Actor::cli())
    }

    /// `actor`, with no request or client.
    pub fn of(actor: Actor) -> Origin {
        Origin { actor, request_id: None, client: None }
    }

    /// An audit entry for `action` on `target` by this origin.
    pub fn entry(&self, at: DateTime<Utc>, action: &str, target: impl Into<String>) -> AuditEntry {
        let mut entry = AuditEntry::new(at, self.actor.clone(), action, target);
        entry.request_id = self.request_id.clone();
        entry.client = self.client.clone();
        entry
    }
}

/// A row to append: what happened. The store gives it its place in the chain and its hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// What was done, `noun.verb`: `applicant.erase`, `retention.purge`, `state.set`, …
    pub action: String,
    /// What it was done to, `kind:id`: `applicant:42`, `broadcast:7`, `retention`.
    pub target: String,
    /// The offices concerned; empty when the action is not about particular offices.
    pub offices: Vec<OfficeCode>,
    pub request_id: Option<String>,
    /// The client's address, for requests over HTTP.
    pub client: Option<String>,
    /// Before and after, or counts: ids and masked numbers only, never personal data.
    pub summary: serde_json::Value,
}

impl AuditEntry {
    /// An entry with no offices, request or client, and an empty summary.
    pub fn new(at: DateTime<Utc>, actor: Actor, action: &str, target: impl Into<String>) -> AuditEntry {
        AuditEntry {
            at,
            actor,
            action: action.to_owned(),
            target: target.into(),
            offices: Vec::new(),
            request_id: None,
            client: None,
            summary: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    pub fn with_offices(mut self, offices: impl IntoIterator<Item = OfficeCode>) -> AuditEntry {
        let mut offices: Vec<OfficeCode> = offices.into_iter().collect();
        offices.sort();
        offices.dedup();
        self.offices = offices;
        self
    }

    pub fn with_summary(mut self, summary: serde_json::Value) -> AuditEntry {
        self.summary = summary;
        self
    }

    /// The columns of the row as stored, at its place `id` after the row whose hash is `prev_hash`.
    pub(crate) fn into_row(self, id: i64, prev_hash: String) -> AuditRow {
        let mut row = AuditRow {
            id,
            at: self.at.timestamp(),
            actor: self.actor.0,
            action: self.action,
            target: self.target,
            offices: self.offices.iter().map(OfficeCode::as_str).collect::<Vec<_>>().join(","),
            request_id: self.request_id,
            client: self.client,
            summary: self.summary.to_string(),
            prev_hash,
            hash: String::new(),
        };
        row.hash = row.content_hash();
        row
    }
}

/// A row of `audit_log` exactly as stored: the text the hashes are computed over.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub offices: String,
    pub request_id: Option<String>,
    pub client: Option<String>,
    pub summary: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// SHA-256 (hex) of the row's canonical content: a JSON array of every column but `hash`, in
    /// table order, over the stored text, so verification never depends on re-serialising.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.id,
            self.at,
            self.actor,
            self.action,
            self.target,
            self.offices,
            self.request_id,
            self.client,
            self.summary,
            self.prev_hash,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    pub fn into_record(self) -> AuditRecord {
        let summary = serde_json::from_str(&self.summary).unwrap_or(serde_json::Value::String(self.summary));
        AuditRecord {
            id: self.id,
            at: DateTime::from_timestamp(self.at, 0).unwrap_or_default(),
            actor: self.actor,
            action: self.action,
            target: self.target,
            offices: self.offices.split(',').filter(|code| !code.is_empty()).map(str::to_owned).collect(),
            request_id: self.request_id,
            client: self.client,
            summary,
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }
}

/// A row of the audit log, as `kabar audit` shows it. Fields are read as stored (a row edited by
/// hand still shows, and `kabar audit verify` says which).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub offices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    pub summary: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Which rows `kabar audit` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub since: Option<DateTime<Utc>>,
    /// A whole actor (`cli:budi`), or a kind of actor ending in a colon (`staff:`).
    pub actor: Option<String>,
    /// Rows about this office.
    pub office: Option<OfficeCode>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_name_their_kind() {
        assert_eq!(Actor::staff("budi").as_str(), "staff:budi");
        assert_eq!(Actor::system("retention").as_str(), "system:retention");
        assert!(Actor::cli().as_str().starts_with("cli:"));
        assert_eq!("staff:ani".parse::<Actor>().unwrap(), Actor::staff("ani"));
        assert_eq!(Actor::staff("a b,\nc").as_str(), "staff:a_b__c");
        for wrong in ["budi", "root:x", "staff:"] {
            assert!(wrong.parse::<Actor>().is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_hash_covers_every_column_and_the_chain() {
        let entry = AuditEntry::new(
            DateTime::from_timestamp(1_718_852_400, 0).unwrap(),
            Actor::staff("budi"),
            "state.set",
            "office:PLG",
        )
        .with_offices(["PLG".parse().unwrap()])
        .with_summary(serde_json::json!({"to": "unavailable"}));
        let row = entry.clone().into_row(1, GENESIS_HASH.to_owned());
        assert_eq!(row.hash, row.content_hash());
        assert_eq!(row.hash.len(), 64);
        let mut edited = row.clone();
        edited.summary = r#"{"to":"operational"}"#.to_owned();
        assert_ne!(edited.content_hash(), row.hash);
        let relinked = entry.into_row(1, "f".repeat(64));
        assert_ne!(relinked.hash, row.hash, "the previous row's hash is part of the content");
    }
}
