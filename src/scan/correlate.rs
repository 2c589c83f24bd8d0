//! Correlation: records captured from log lines across every file and rotation, compared once
//! every file was read (a session used from another network, an address in several sessions).

use super::Hit;
use super::glob;
use super::time::RelTime;
use crate::input::Entry;
use crate::rules::{Matcher, RuleSet};
use globset::GlobSet;
use std::collections::{BTreeMap, HashMap};

/// One log line captured by a correlate rule.
#[derive(Clone, Debug)]
pub(super) struct Record {
    /// The pattern (id into the rule set) that captured it; rules sharing a record pattern
    /// share its records.
    pub(super) pattern: usize,
    pub(super) key: Vec<u8>,
    pub(super) value: Vec<u8>,
    pub(super) actor: Vec<u8>,
    pub(super) line: u64,
    pub(super) text: Vec<u8>,
    pub(super) time: Option<RelTime>,
}

/// A group of correlate hits: first record, last record, count, reason.
type Group<'a> = (&'a Record, &'a Record, u64, String);

/// Compares the records of every correlate rule across all files. Returns hits with the index
/// of the entry (file) they belong to, grouped by (rule, file, key or value).
pub(super) fn correlate(
    rules: &RuleSet,
    entries: &[Entry],
    records: &[(usize, Record)],
) -> Vec<(usize, Hit)> {
    let mut by_pattern: HashMap<usize, Vec<&(usize, Record)>> = HashMap::new();
    for r in records {
        by_pattern.entry(r.1.pattern).or_default().push(r);
    }
    let mut out = Vec::new();
    for (rule, r) in rules.rules.iter().enumerate() {
        let Matcher::Correlate(c) = &r.matcher else {
            continue;
        };
        let (Ok(fp), Ok(tp)) = (glob::set(&c.first_paths), glob::set(&c.then_paths)) else {
            continue; // validated by the rule loader
        };
        let ids = &rules.pattern_ids[rule].any;
        let (Some(&then_id), first_id) = (ids.last(), c.first.as_ref().and(ids.first())) else {
            continue;
        };
        let pick = |id: usize, globs: &GlobSet, given: &Vec<String>| -> Vec<(usize, &Record)> {
            by_pattern
                .get(&id)
                .into_iter()
                .flatten()
                .filter(|(i, _)| {
                    given.is_empty() || globs.is_match(glob::as_path(entries[*i].path.relative()))
                })
                .map(|(i, r)| (*i, r))
                .collect()
        };
        let first_recs = first_id.map_or_else(Vec::new, |&id| pick(id, &fp, &c.first_paths));
        let then_recs = pick(then_id, &tp, &c.then_paths);
        if c.check == crate::rules::Check::FirstMissing && first_recs.is_empty() {
            continue; // nothing to compare with
        }
        let mut firsts: HashMap<&[u8], Vec<&Record>> = HashMap::new();
        let mut actors: HashMap<&[u8], std::collections::BTreeSet<&[u8]>> = HashMap::new();
        for (_, r) in &first_recs {
            firsts.entry(&r.key).or_default().push(r);
        }
        // A `then` record used from the network its own session was opened from is ordinary
        // (an office behind one NAT address); only the others count for `value-shared`.
        let from_own_network = |r: &Record| {
            firsts.get(r.key.as_slice()).is_some_and(|o| {
                o.iter()
                    .any(|f| same_network(&f.value, &r.value, c.network_prefix))
            })
        };
        for (_, r) in &then_recs {
            if !from_own_network(r) {
                actors.entry(&r.value).or_default().insert(&r.actor);
            }
        }
        // (entry, group key) → (first record, last record, count, reason)
        let mut groups: BTreeMap<(usize, Vec<u8>), Group<'_>> = BTreeMap::new();
        for &(entry, r) in &then_recs {
            let (group, reason) = match c.check {
                crate::rules::Check::ValueChanges => {
                    let Some(opened) = firsts.get(r.key.as_slice()) else {
                        continue;
                    };
                    if opened
                        .iter()
                        .any(|f| same_network(&f.value, &r.value, c.network_prefix))
                    {
                        continue;
                    }
                    let from: Vec<String> = opened
                        .iter()
                        .map(|f| String::from_utf8_lossy(&f.value).into_owned())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    let net = c
                        .network_prefix
                        .map_or(String::new(), |p| format!(" (outside its /{p})"));
                    (
                        [r.key.as_slice(), b"\0", &r.value].concat(),
                        format!(
                            "key {} was opened from {} and used from {}{net}",
                            String::from_utf8_lossy(&r.key),
                            from.join(", "),
                            String::from_utf8_lossy(&r.value)
                        ),
                    )
                }
                crate::rules::Check::FirstMissing => {
                    if firsts.contains_key(r.key.as_slice()) {
                        continue;
                    }
                    (
                        r.key.clone(),
                        format!(
                            "key {} has no opening record in any file read (it may predate the oldest log)",
                            String::from_utf8_lossy(&r.key)
                        ),
                    )
                }
                crate::rules::Check::ValueShared => {
                    if from_own_network(r) {
                        continue;
                    }
                    let Some(set) = actors.get(r.value.as_slice()) else {
                        continue;
                    };
                    if set.len() < c.min_actors {
                        continue;
                    }
                    let names: Vec<String> = set
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect();
                    (
                        r.value.clone(),
                        format!(
                            "{} appears with {} different actors: {}",
                            String::from_utf8_lossy(&r.value),
                            set.len(),
                            names.join(", ")
                        ),
                    )
                }
            };
            groups
                .entry((entry, group))
                .and_modify(|g| {
                    g.1 = r;
                    g.2 += 1;
                })
                .or_insert((r, r, 1, reason));
        }
        for ((entry, _), (first, last, count, reason)) in groups {
            out.push((
                entry,
                Hit {
                    rule,
                    line: Some(first.line),
                    excerpt: Some(first.text.clone()),
                    count,
                    last: Some((last.line, last.text.clone())),
                    time: first.time,
                    last_time: last.time,
                    reason: format!("{} check: {reason}", c.check.as_str()),
                },
            ));
        }
    }
    out
}

/// True when two captured addresses are the same, or in the same IPv4 network of `prefix` bits
/// (IPv6: the same /64). Values that are not addresses must be equal.
fn same_network(a: &[u8], b: &[u8], prefix: Option<u8>) -> bool {
    if a == b {
        return true;
    }
    let Some(bits) = prefix else { return false };
    let parse = |x: &[u8]| {
        std::str::from_utf8(x)
            .ok()?
            .parse::<std::net::IpAddr>()
            .ok()
    };
    match (parse(a), parse(b)) {
        (Some(std::net::IpAddr::V4(x)), Some(std::net::IpAddr::V4(y))) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(x) & mask == u32::from(y) & mask
        }
        (Some(std::net::IpAddr::V6(x)), Some(std::net::IpAddr::V6(y))) => {
            x.segments()[..4] == y.segments()[..4]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        assert!(same_network(b"198.51.100.23", b"198.51.100.99", Some(24)));
        assert!(!same_network(b"198.51.100.23", b"203.0.113.77", Some(24)));
        assert!(!same_network(b"198.51.100.23", b"198.51.100.99", None));
        assert!(same_network(b"x", b"x", None));
        assert!(same_network(b"2001:db8::1", b"2001:db8::2", Some(24)));
    }
}
