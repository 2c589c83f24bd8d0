//! `sporen fleet`: many appliances' scan reports merged into one, a row per appliance, worst
//! first, with totals.
//!
//! The reports are untrusted input (they travel between machines and people): each is read
//! with a size limit, parsed without trusting a field's type, and refused with a clear message
//! when it is not a `sporen.report/1` report or a `sporen.fleet-error/1` record of a host that
//! could not be scanned. A failed host is a row, never a gap. This module never opens evidence
//! and never writes beside the reports it reads.

pub mod load;
pub mod render;

use crate::exit::ExitCode;
use crate::model::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;

/// Schema identifier of the JSON fleet report.
pub(crate) const FLEET_SCHEMA: &str = "sporen.fleet/1";

/// Schema identifier of the record that stands for a host that could not be scanned (the
/// Ansible role writes one when `sporen scan` fails).
pub(crate) const ERROR_SCHEMA: &str = "sporen.fleet-error/1";

/// A row's standing: a scan verdict, or `failed` when the host could not be scanned.
/// Ordered from least to most urgent: traces first (the scan's own rule: a coverage problem
/// never outranks a trace), then a host nobody could look at, then missing evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Verdict `clean`.
    Clean,
    /// Verdict `inconclusive`.
    Inconclusive,
    /// The host could not be scanned: no verdict at all.
    Failed,
    /// Verdict `review`.
    Review,
    /// Verdict `compromised`.
    Compromised,
}

impl Status {
    /// Most urgent first, the order of rows and totals.
    pub const DESCENDING: [Status; 5] = [
        Status::Compromised,
        Status::Review,
        Status::Failed,
        Status::Inconclusive,
        Status::Clean,
    ];

    /// The lower-case name every format writes.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Clean => "clean",
            Status::Inconclusive => "inconclusive",
            Status::Failed => "failed",
            Status::Review => "review",
            Status::Compromised => "compromised",
        }
    }

    /// The exit code `scan` would give this row: a verdict's, and 2 (error) for a host that
    /// could not be scanned.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Status::Clean => ExitCode::for_verdict(Verdict::Clean),
            Status::Inconclusive => ExitCode::for_verdict(Verdict::Inconclusive),
            Status::Review => ExitCode::for_verdict(Verdict::Review),
            Status::Compromised => ExitCode::for_verdict(Verdict::Compromised),
            Status::Failed => ExitCode::Error,
        }
    }

    fn from_verdict(v: &str) -> Option<Status> {
        Some(match v {
            "clean" => Status::Clean,
            "inconclusive" => Status::Inconclusive,
            "review" => Status::Review,
            "compromised" => Status::Compromised,
            _ => return None,
        })
    }
}

/// One appliance of the fleet: what its report says, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The report's file name without `.json` (the Ansible role names it after the inventory
    /// host).
    pub name: String,
    /// The report file as given on the command line.
    pub file: String,
    /// SHA-256 of the report file as read.
    pub sha256: String,
    pub status: Status,
    /// The appliance's host name, NSIP and firmware from the report's posture.
    pub hostname: Option<String>,
    pub nsip: Option<String>,
    pub firmware: Option<String>,
    /// What was scanned (`ssh://nsroot@192.0.2.10`, a folder).
    pub target: Option<String>,
    /// The report's reasons, most important first (the first is the table's).
    pub reasons: Vec<String>,
    /// Per CVE id: `vulnerable`, `fixed`, `unknown` or `not_affected`.
    pub cves: BTreeMap<String, String>,
    /// The CVE-2019-19781 mitigation (CTX267679): `effective`, `not effective`, `unknown`, with how many parts are missing;
    /// the report has none.
    pub mitigation: Option<String>,
    /// Coverage gaps, and how many of them keep the verdict from `clean`.
    pub gaps: u64,
    pub gaps_blocking: u64,
    /// Findings per severity name, most severe first where present.
    pub findings: BTreeMap<String, u64>,
    /// The sporen version that wrote the report.
    pub tool_version: Option<String>,
    /// Why the host could not be scanned (`failed` rows).
    pub error: Option<String>,
}

/// How many rows have each status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub appliances: u64,
    pub compromised: u64,
    pub review: u64,
    pub failed: u64,
    pub inconclusive: u64,
    pub clean: u64,
}

impl Totals {
    fn count(rows: &[Row]) -> Totals {
        let mut t = Totals::default();
        for r in rows {
            t.appliances += 1;
            *t.of_mut(r.status) += 1;
        }
        t
    }

    /// The count of one status.
    pub fn of(&self, s: Status) -> u64 {
        match s {
            Status::Compromised => self.compromised,
            Status::Review => self.review,
            Status::Failed => self.failed,
            Status::Inconclusive => self.inconclusive,
            Status::Clean => self.clean,
        }
    }

    fn of_mut(&mut self, s: Status) -> &mut u64 {
        match s {
            Status::Compromised => &mut self.compromised,
            Status::Review => &mut self.review,
            Status::Failed => &mut self.failed,
            Status::Inconclusive => &mut self.inconclusive,
            Status::Clean => &mut self.clean,
        }
    }
}

/// The merged report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fleet {
    /// Always `sporen.fleet/1`.
    pub schema: String,
    /// The worst row's status (the exit code's).
    pub worst: Status,
    pub totals: Totals,
    /// Every CVE id any report names, sorted.
    pub cves: Vec<String>,
    /// Remarks on the merge (reports written by different sporen versions).
    pub notes: Vec<String>,
    /// Worst first, then by name and file.
    pub rows: Vec<Row>,
}

impl Fleet {
    /// Sorts the rows worst first and adds the totals. `rows` must not be empty.
    pub fn new(mut rows: Vec<Row>) -> Fleet {
        rows.sort_by(|a, b| {
            b.status
                .cmp(&a.status)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.file.cmp(&b.file))
        });
        let worst = rows.first().map_or(Status::Clean, |r| r.status);
        let cves: Vec<String> = rows
            .iter()
            .flat_map(|r| r.cves.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let versions: std::collections::BTreeSet<&str> = rows
            .iter()
            .filter_map(|r| r.tool_version.as_deref())
            .collect();
        let mut notes = Vec::new();
        if versions.len() > 1 {
            let list: Vec<&str> = versions.into_iter().collect();
            notes.push(format!(
                "the reports were written by different sporen versions ({}): their rules may differ",
                list.join(", ")
            ));
        }
        Fleet {
            schema: FLEET_SCHEMA.to_owned(),
            worst,
            totals: Totals::count(&rows),
            cves,
            notes,
            rows,
        }
    }

    /// The exit code of the worst row.
    pub fn exit_code(&self) -> ExitCode {
        self.worst.exit_code()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A row with only a name and a status.
    pub(crate) fn row(name: &str, status: Status) -> Row {
        Row {
            name: name.to_owned(),
            file: format!("reports/{name}.json"),
            sha256: "0".repeat(64),
            status,
            hostname: None,
            nsip: None,
            firmware: None,
            target: None,
            reasons: vec![format!("{name} is {}", status.as_str())],
            cves: BTreeMap::new(),
            mitigation: None,
            gaps: 0,
            gaps_blocking: 0,
            findings: BTreeMap::new(),
            tool_version: Some("1.0.0".to_owned()),
            error: None,
        }
    }

    #[test]
    fn rows_sort_worst_first_and_the_exit_code_is_the_worst_rows() {
        let f = Fleet::new(vec![
            row("b", Status::Clean),
            row("a", Status::Inconclusive),
            row("c", Status::Failed),
            row("d", Status::Review),
            row("e", Status::Clean),
        ]);
        let order: Vec<&str> = f.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(order, ["d", "c", "a", "b", "e"]);
        assert_eq!(f.worst, Status::Review);
        assert_eq!(f.exit_code(), ExitCode::Traces);
        assert_eq!(f.totals.appliances, 5);
        assert_eq!(f.totals.clean, 2);
        assert_eq!(
            Fleet::new(vec![row("x", Status::Failed)]).exit_code(),
            ExitCode::Error
        );
        assert_eq!(
            Fleet::new(vec![
                row("x", Status::Inconclusive),
                row("y", Status::Clean)
            ])
            .exit_code(),
            ExitCode::Inconclusive
        );
        assert_eq!(
            Fleet::new(vec![row("x", Status::Clean)]).exit_code(),
            ExitCode::Clean
        );
        assert_eq!(
            Fleet::new(vec![
                row("x", Status::Compromised),
                row("y", Status::Failed)
            ])
            .exit_code(),
            ExitCode::Traces
        );
    }

    #[test]
    fn different_versions_are_noted() {
        let mut old = row("old", Status::Clean);
        old.tool_version = Some("0.9.0".to_owned());
        let f = Fleet::new(vec![old, row("new", Status::Clean)]);
        assert_eq!(f.notes.len(), 1);
        assert!(f.notes[0].contains("0.9.0, 1.0.0"), "{:?}", f.notes);
    }
}
