//! Findings of one rule with the same shape, gathered for the text report: how many, where and
//! when the first and the last were, which files and which addresses they came from; and the
//! "what happened" facts of a compromised appliance.
//!
//! Pure functions of the report: nothing here reads evidence or changes the findings, and the
//! order of the groups is the order of their first finding in the (sorted) report, so the text
//! stays deterministic. The machine formats never group: they keep every finding.

use crate::model::{Finding, Report, Severity, Timestamp};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Findings of one rule that share severity, title and reason (the same shape), in report order.
#[derive(Debug)]
pub(crate) struct Group<'a> {
    /// The findings, in the order of the report.
    pub(crate) findings: Vec<&'a Finding>,
}

/// One end of a group: a finding's path, line, time and text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct End<'a> {
    pub(crate) finding: &'a Finding,
    pub(crate) line: Option<u64>,
    pub(crate) time: Option<Timestamp>,
    pub(crate) excerpt: Option<&'a [u8]>,
}

impl<'a> Group<'a> {
    /// The first finding, which every other in the group resembles.
    pub(crate) fn head(&self) -> &'a Finding {
        self.findings[0]
    }

    /// Matching lines (or files) the group stands for: identical lines collapsed into one
    /// finding count as many.
    pub(crate) fn lines(&self) -> u64 {
        self.findings
            .iter()
            .fold(0u64, |n, f| n.saturating_add(f.count.max(1)))
    }

    /// The distinct files, in path order.
    pub(crate) fn files(&self) -> BTreeSet<&'a [u8]> {
        self.findings.iter().map(|f| f.path.as_bytes()).collect()
    }

    /// The earliest match: by log time when findings have one, else the first in report order.
    pub(crate) fn first(&self) -> End<'a> {
        let f = self
            .findings
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|(i, f)| (f.time.is_none(), f.time, *i))
            .map_or(self.head(), |(_, f)| f);
        End {
            finding: f,
            line: f.line,
            time: f.time,
            excerpt: f.excerpt.as_ref().map(|e| e.0.as_slice()),
        }
    }

    /// The latest match: by log time (a collapsed finding's last line counts) when findings
    /// have one, else the last in report order.
    pub(crate) fn last(&self) -> End<'a> {
        let end = |f: &'a Finding| {
            let last = f.count > 1 && f.last_line.is_some();
            End {
                finding: f,
                line: if last { f.last_line } else { f.line },
                time: f.last_time.or(f.time),
                excerpt: if last {
                    f.last_excerpt.as_ref()
                } else {
                    f.excerpt.as_ref()
                }
                .map(|e| e.0.as_slice()),
            }
        };
        let f = self
            .findings
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|(i, f)| (f.last_time.or(f.time), *i))
            .map_or(self.head(), |(_, f)| f);
        end(f)
    }

    /// The distinct network addresses in the group's lines (first and last of each finding).
    pub(crate) fn addresses(&self) -> BTreeSet<IpAddr> {
        addresses_of(self.findings.iter().copied())
    }
}

/// Groups `findings` (already in report order) by rule, severity, title and reason.
pub(crate) fn group<'a>(findings: &[&'a Finding]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for &f in findings {
        let same = |g: &&mut Group<'a>| {
            let h = g.head();
            h.rule == f.rule
                && h.severity == f.severity
                && h.title == f.title
                && h.reason == f.reason
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.findings.push(f),
            None => groups.push(Group { findings: vec![f] }),
        }
    }
    groups
}

/// What a compromised appliance's report shows first: when the critical and high traces were
/// made, from which addresses, and which files they are.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary<'a> {
    /// Earliest and latest log time of a critical or high line.
    pub(crate) logged: Option<(Timestamp, Timestamp)>,
    /// Addresses in those lines, the appliance's own NSIP left out.
    pub(crate) addresses: BTreeSet<IpAddr>,
    /// Files that are traces themselves (critical or high findings that are not log lines),
    /// with their modification time.
    pub(crate) files: Vec<(&'a [u8], Option<Timestamp>)>,
}

/// The "what happened" facts of `report`, from its critical and high findings.
pub(crate) fn summary(report: &Report) -> Summary<'_> {
    let severe: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::High)
        .collect();
    let times = severe
        .iter()
        .flat_map(|f| f.time.into_iter().chain(f.last_time));
    let logged = times.clone().min().zip(times.max());
    let own: Option<IpAddr> = report.posture.nsip.as_deref().and_then(|s| s.parse().ok());
    let mut addresses = addresses_of(severe.iter().copied().filter(|f| f.time.is_some()));
    if let Some(own) = own {
        addresses.remove(&own);
    }
    let mut files: Vec<(&[u8], Option<Timestamp>)> = severe
        .iter()
        .filter(|f| f.time.is_none())
        .map(|f| (f.path.as_bytes(), f.mtime))
        .collect();
    files.sort();
    files.dedup_by(|a, b| a.0 == b.0);
    Summary {
        logged,
        addresses,
        files,
    }
}

/// The distinct IPv4 and IPv6 addresses in the excerpts of `findings`.
fn addresses_of<'a>(findings: impl Iterator<Item = &'a Finding>) -> BTreeSet<IpAddr> {
    let mut seen = BTreeSet::new();
    for f in findings {
        for e in f.excerpt.iter().chain(&f.last_excerpt) {
            seen.extend(addresses_in(&e.0));
        }
    }
    seen
}

/// Longest token looked at as an address (an IPv6 address with an embedded IPv4 is 45).
const MAX_ADDRESS: usize = 45;

/// Every IPv4 address (dotted quad) and IPv6 address (two colons or more) in `text`: tokens of
/// hex digits, dots and colons that the standard library parses as one.
pub(crate) fn addresses_in(text: &[u8]) -> Vec<IpAddr> {
    let token = |b: &u8| b.is_ascii_hexdigit() || *b == b'.' || *b == b':';
    text.split(|b| !token(b))
        .filter(|t| (7..=MAX_ADDRESS).contains(&t.len()))
        .filter_map(|t| {
            let t = std::str::from_utf8(t).ok()?;
            let t = t.trim_matches(|c| c == '.' || c == ':');
            let dots = t.bytes().filter(|&b| b == b'.').count();
            let colons = t.bytes().filter(|&b| b == b':').count();
            let ip: IpAddr = t.parse().ok()?;
            (matches!(ip, IpAddr::V4(_)) && dots == 3 || colons >= 2).then_some(ip)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample_report;

    #[test]
    fn addresses_are_found_in_log_lines() {
        let line =
            b"203.0.113.7 - - [13/Jan/2020:08:16:30 +0000] \"GET /vpn/../vpns/ HTTP/1.1\" 200 \
from 2001:db8::1, not 1.2.3 nor 10:30:00 nor 999.1.1.1";
        let got: Vec<String> = addresses_in(line).iter().map(ToString::to_string).collect();
        assert_eq!(got, ["203.0.113.7", "2001:db8::1"]);
    }

    #[test]
    fn findings_of_one_shape_are_one_group() {
        let r = sample_report();
        let mut a = r.findings[0].clone();
        a.line = Some(7);
        a.excerpt = Some(crate::model::Bytes(b"198.51.100.9 GET".to_vec()));
        a.time = Some(Timestamp::from_unix(100));
        a.last_time = None;
        a.count = 1;
        let mut b = a.clone();
        b.line = Some(9);
        b.time = Some(Timestamp::from_unix(50));
        b.excerpt = Some(crate::model::Bytes(b"203.0.113.1 GET".to_vec()));
        let mut c = a.clone();
        c.reason = "another shape".into();
        let all = [&a, &b, &c];
        let groups = group(&all);
        assert_eq!(groups.len(), 2);
        let g = &groups[0];
        assert_eq!(g.lines(), 2);
        assert_eq!(g.first().line, Some(9), "the earliest by time");
        assert_eq!(g.last().line, Some(7));
        let addrs: Vec<String> = g.addresses().iter().map(ToString::to_string).collect();
        assert_eq!(addrs, ["198.51.100.9", "203.0.113.1"]);
    }

    #[test]
    fn summary_names_times_addresses_and_files() {
        let mut r = sample_report();
        r.findings[0].excerpt = Some(crate::model::Bytes(
            b"203.0.113.9 and the NSIP 192.0.2.10".to_vec(),
        ));
        r.posture.nsip = Some("192.0.2.10".into());
        let s = summary(&r);
        let t = |x: &str| Timestamp::parse_rfc3339(x).expect("constant time");
        assert_eq!(
            s.logged,
            Some((t("2020-01-11T23:41:07Z"), t("2020-01-12T01:02:03Z")))
        );
        let addrs: Vec<String> = s.addresses.iter().map(ToString::to_string).collect();
        assert_eq!(addrs, ["203.0.113.9"], "the NSIP is the appliance's own");
        // The high webshell finding is a file; the medium history line is not counted.
        assert_eq!(s.files.len(), 1);
        assert!(s.files[0].0.ends_with(b"gnp.php"));
    }
}
