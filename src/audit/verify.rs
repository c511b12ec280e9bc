//! Walking the chain: each row's hash over its content, each row's link to the one before, no
//! place skipped, and the end where the head says it is.

use std::fmt;

use super::{AuditRow, GENESIS_HASH};

/// What `kabar audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditVerification {
    /// Rows checked.
    pub rows: u64,
    /// How many rows the log has had, by its head.
    pub head: i64,
    /// The first problem, if any; verification stops there.
    pub problem: Option<AuditProblem>,
}

impl AuditVerification {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The first row at fault.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum AuditProblem {
    /// The row's content no longer matches its hash: it was edited.
    Altered { id: i64 },
    /// The row does not link to the row before it: that row was rewritten with a fresh hash, or
    /// this row's link was edited.
    Unlinked { id: i64 },
    /// The row is gone (deleted, or never committed by kabar).
    Missing { id: i64 },
    /// The last row is not the one the head recorded: it was rewritten with a fresh hash.
    NotTheHead { id: i64 },
    /// A row after the head: added by hand, not by kabar.
    Unrecorded { id: i64 },
}

impl AuditProblem {
    /// The row named.
    pub fn id(&self) -> i64 {
        match self {
            AuditProblem::Altered { id }
            | AuditProblem::Unlinked { id }
            | AuditProblem::Missing { id }
            | AuditProblem::NotTheHead { id }
            | AuditProblem::Unrecorded { id } => *id,
        }
    }
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditProblem::Altered { id } => {
                write!(f, "row {id} was altered: its content no longer matches its hash")
            }
            AuditProblem::Unlinked { id } => write!(
                f,
                "row {id} does not follow row {}: row {} was rewritten, or row {id}'s link was edited",
                id - 1,
                id - 1
            ),
            AuditProblem::Missing { id } => write!(f, "row {id} is missing: it was deleted"),
            AuditProblem::NotTheHead { id } => {
                write!(f, "row {id} was rewritten: it is not the last row the log recorded")
            }
            AuditProblem::Unrecorded { id } => {
                write!(f, "row {id} was added by hand: the log never recorded it")
            }
        }
    }
}

/// Checks rows one by one, in id order.
pub(crate) struct Verifier {
    expected: i64,
    prev_hash: String,
    rows: u64,
    problem: Option<AuditProblem>,
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier { expected: 1, prev_hash: GENESIS_HASH.to_owned(), rows: 0, problem: None }
    }

    /// Checks the next row; false once a problem is found (later rows prove nothing more).
    pub fn check(&mut self, row: &AuditRow) -> bool {
        if self.problem.is_some() {
            return false;
        }
        self.problem = if row.id != self.expected {
            Some(AuditProblem::Missing { id: self.expected })
        } else if row.content_hash() != row.hash {
            Some(AuditProblem::Altered { id: row.id })
        } else if row.prev_hash != self.prev_hash {
            Some(AuditProblem::Unlinked { id: row.id })
        } else {
            None
        };
        if self.problem.is_some() {
            return false;
        }
        self.rows += 1;
        self.expected += 1;
        self.prev_hash.clone_from(&row.hash);
        true
    }

    /// The verdict, given the head read before the rows (`head`, its hash) and the first row
    /// beyond the head read after them, if any.
    pub fn finish(mut self, head: i64, head_hash: &str, beyond_head: Option<i64>) -> AuditVerification {
        if self.problem.is_none() {
            let last = self.expected - 1;
            self.problem = if last < head {
                Some(AuditProblem::Missing { id: last + 1 })
            } else if head > 0 && self.prev_hash != head_hash {
                Some(AuditProblem::NotTheHead { id: last })
            } else {
                beyond_head.map(|id| AuditProblem::Unrecorded { id })
            };
        }
        AuditVerification { rows: self.rows, head, problem: self.problem }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, AuditEntry};

    fn chain(length: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=length)
            .map(|id| {
                let at = chrono::DateTime::from_timestamp(1_718_852_400 + id, 0).unwrap();
                let row = AuditEntry::new(at, Actor::system("test"), "test.step", format!("step:{id}"))
                    .into_row(id, prev.clone());
                prev.clone_from(&row.hash);
                row
            })
            .collect()
    }

    fn verify(rows: &[AuditRow], head: i64, head_hash: &str) -> AuditVerification {
        let mut verifier = Verifier::new();
        for row in rows {
            if !verifier.check(row) {
                break;
            }
        }
        verifier.finish(head, head_hash, None)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let rows = chain(5);
        let verdict = verify(&rows, 5, &rows[4].hash);
        assert!(verdict.is_intact(), "{verdict:?}");
        assert_eq!(verdict.rows, 5);
        assert!(verify(&[], 0, GENESIS_HASH).is_intact());
    }

    #[test]
    fn each_kind_of_tampering_names_its_row() {
        let rows = chain(5);
        let head = rows[4].hash.clone();
        let mut edited = rows.clone();
        edited[2].target = "step:99".into();
        assert_eq!(verify(&edited, 5, &head).problem, Some(AuditProblem::Altered { id: 3 }));
        let mut rehashed = edited.clone();
        rehashed[2].hash = rehashed[2].content_hash();
        assert_eq!(verify(&rehashed, 5, &head).problem, Some(AuditProblem::Unlinked { id: 4 }));
        let mut deleted = rows.clone();
        deleted.remove(1);
        assert_eq!(verify(&deleted, 5, &head).problem, Some(AuditProblem::Missing { id: 2 }));
        assert_eq!(verify(&rows[..4], 5, &head).problem, Some(AuditProblem::Missing { id: 5 }));
        let mut last = rows.clone();
        last[4].summary = r#"{"forged":true}"#.into();
        last[4].hash = last[4].content_hash();
        assert_eq!(verify(&last, 5, &head).problem, Some(AuditProblem::NotTheHead { id: 5 }));
        let mut verifier = Verifier::new();
        rows.iter().for_each(|row| assert!(verifier.check(row)));
        assert_eq!(verifier.finish(5, &head, Some(6)).problem, Some(AuditProblem::Unrecorded { id: 6 }));
    }
}
