//! Correlation: records captured from log lines across every file and rotation, compared once
//! every file was read (a session used from another network, an address in several sessions).
//!
//! State is kept compact and bounded: an opening record is a 128-bit digest of its key and the
//! few values it was opened with; a use record that an opening record of the same file already
//! explains is dropped on the spot; the others are aggregated per (key, value, actor) with a
//! count and their first and last lines. A file that would hold more than `--max-records`
//! distinct records stops collecting and says so; the scan-wide budget is applied file by
//! file in path order, so the outcome never depends on thread scheduling.

use super::time::RelTime;
use super::{EntryResult, Hit};
use crate::input::Entry;
use crate::model::{EvPath, Gap, GapCause};
use crate::rules::{Check, Matcher, RuleSet};
use crate::util::glob;
use globset::GlobSet;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// Values of one key kept from its opening records; more are counted, not kept.
const MAX_VALUES_PER_KEY: usize = 64;
/// Addresses or actors named in one finding's reason; the rest are counted.
const MAX_NAMED: usize = 5;

/// A captured value: an address (compared by network) or other bytes (compared exactly).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Val {
    Ip(IpAddr),
    Raw(Box<[u8]>),
}

impl Val {
    fn parse(b: &[u8]) -> Val {
        match std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()) {
            Some(ip) => Val::Ip(ip),
            None => Val::Raw(b.into()),
        }
    }

    /// The same value, or the same network: IPv4 addresses within `prefix.v4` bits, IPv6
    /// addresses within `prefix.v6` bits.
    fn same_network(&self, other: &Val, prefix: Prefix) -> bool {
        if self == other {
            return true;
        }
        match (self, other) {
            (Val::Ip(IpAddr::V4(x)), Val::Ip(IpAddr::V4(y))) => prefix.v4.is_some_and(|bits| {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(bits.min(32)))
                    .unwrap_or(0);
                u32::from(*x) & mask == u32::from(*y) & mask
            }),
            (Val::Ip(IpAddr::V6(x)), Val::Ip(IpAddr::V6(y))) => prefix.v6.is_some_and(|bits| {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(bits.min(128)))
                    .unwrap_or(0);
                u128::from(*x) & mask == u128::from(*y) & mask
            }),
            _ => false,
        }
    }

    fn text(&self) -> String {
        match self {
            Val::Ip(ip) => ip.to_string(),
            Val::Raw(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

/// Prefix lengths under which two addresses count as one network; `None`: they must be equal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Prefix {
    pub(super) v4: Option<u8>,
    pub(super) v6: Option<u8>,
}

impl Prefix {
    /// "/24" or "/24 (IPv6 /48)", for reasons.
    fn text(self) -> Option<String> {
        match (self.v4, self.v6) {
            (Some(a), Some(b)) => Some(format!("/{a} (IPv6 /{b})")),
            (Some(a), None) => Some(format!("/{a}")),
            (None, Some(b)) => Some(format!("IPv6 /{b}")),
            (None, None) => None,
        }
    }
}

/// A 128-bit digest of a key or actor: two SipHash runs with different prefixes. Keys are
/// only compared for equality; a collision is as likely as guessing a random 128-bit number.
fn digest(b: &[u8]) -> u128 {
    let one = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        b.hash(&mut h);
        h.finish()
    };
    (u128::from(one(0x5a)) << 64) | u128::from(one(0xa5))
}

/// The values a key was opened with.
#[derive(Clone, Debug, Default)]
struct Opened {
    /// The first value, kept inline: most sessions are opened from one address, and a key
    /// then costs no allocation of its own.
    first: Option<Val>,
    /// The others.
    more: Vec<Val>,
    /// True when values beyond [`MAX_VALUES_PER_KEY`] were seen and not kept.
    overflow: bool,
}

impl Opened {
    fn values(&self) -> impl Iterator<Item = &Val> {
        self.first.iter().chain(&self.more)
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    fn add(&mut self, v: Val) {
        if self.values().any(|x| *x == v) {
            return;
        }
        if self.first.is_none() {
            self.first = Some(v);
        } else if self.len() < MAX_VALUES_PER_KEY {
            self.more.push(v);
        } else {
            self.overflow = true;
        }
    }

    fn merge(&mut self, other: Opened) {
        for v in other.first.into_iter().chain(other.more) {
            self.add(v);
        }
        self.overflow |= other.overflow;
    }

    fn explains(&self, v: &Val, prefix: Prefix) -> bool {
        self.values().any(|o| o.same_network(v, prefix))
    }
}

/// One logged line kept for a finding: its number and time. Its text is read again only for
/// the few records that become findings ([`Hit::excerpt`] is filled by the scanner), so a
/// session costs a few numbers, not a copy of its lines.
#[derive(Clone, Copy, Debug)]
struct Line {
    no: u64,
    time: Option<RelTime>,
}

/// Use records of one (key, value, actor) in one file.
#[derive(Clone, Debug)]
pub(super) struct Use {
    key: Box<[u8]>,
    key_digest: u128,
    value: Val,
    actor: Box<[u8]>,
    count: u64,
    first: Line,
    last: Option<Line>,
}

/// What one correlate rule compares, prepared once per scan.
struct CorrRule {
    rule: usize,
    check: Check,
    /// Index into [`Plan::firsts`].
    first: Option<usize>,
    then: usize,
    prefix: Prefix,
    min_actors: usize,
    then_paths: Option<GlobSet>,
}

/// An opening-record source: a pattern, limited to some files.
struct FirstSource {
    pattern: usize,
    paths: Vec<String>,
    globs: Option<GlobSet>,
}

/// The correlate rules of a rule set, prepared once per scan.
#[derive(Default)]
pub(super) struct Plan {
    rules: Vec<CorrRule>,
    firsts: Vec<FirstSource>,
    max_records: usize,
}

fn globs(paths: &[String]) -> Option<GlobSet> {
    // Validated by the rule loader; an empty list means every file.
    (!paths.is_empty()).then(|| glob::set(paths).ok()).flatten()
}

fn in_paths(globs: Option<&GlobSet>, path: &EvPath) -> bool {
    globs.is_none_or(|g| g.is_match(glob::as_path(path.relative())))
}

impl Plan {
    /// Prepares the correlate rules of `rules`.
    pub(super) fn new(rules: &RuleSet, max_records: usize) -> Plan {
        let mut plan = Plan {
            max_records,
            ..Plan::default()
        };
        for (i, r) in rules.rules().iter().enumerate() {
            let Matcher::Correlate(c) = &r.matcher else {
                continue;
            };
            let Some((first_id, then)) = rules.records_of(i) else {
                continue;
            };
            let first = first_id.map(|pattern| plan.first_source(pattern, &c.first_paths));
            plan.rules.push(CorrRule {
                rule: i,
                check: c.check,
                first,
                then,
                prefix: Prefix {
                    v4: c.network_prefix,
                    // Without its own IPv6 prefix a rule that compares networks uses /64.
                    v6: c.network_prefix_v6.or(c.network_prefix.map(|_| 64)),
                },
                min_actors: c.min_actors,
                then_paths: globs(&c.then_paths),
            });
        }
        plan
    }

    fn first_source(&mut self, pattern: usize, paths: &[String]) -> usize {
        if let Some(i) = self
            .firsts
            .iter()
            .position(|f| f.pattern == pattern && f.paths == paths)
        {
            return i;
        }
        self.firsts.push(FirstSource {
            pattern,
            paths: paths.to_vec(),
            globs: globs(paths),
        });
        self.firsts.len() - 1
    }

    /// The record state for reading the file at `path`.
    pub(super) fn for_file(&self, path: &EvPath) -> FileRecords {
        let first_here: Vec<bool> = self
            .firsts
            .iter()
            .map(|f| in_paths(f.globs.as_ref(), path))
            .collect();
        let then_here: Vec<bool> = self
            .rules
            .iter()
            .map(|r| in_paths(r.then_paths.as_ref(), path))
            .collect();
        FileRecords {
            first_here,
            then_here,
            limit: self.max_records,
            ..FileRecords::default()
        }
    }
}

/// The records of one file.
#[derive(Default)]
pub(super) struct FileRecords {
    /// Per first source: does this file feed it?
    first_here: Vec<bool>,
    /// Per correlate rule: are this file's use records its `then` records?
    then_here: Vec<bool>,
    /// Per first source: key digest → values.
    opened: HashMap<(usize, u128), Opened>,
    uses: HashMap<(usize, u128, Val, u128), Use>,
    limit: usize,
    /// Distinct records not kept because the file reached the budget.
    pub(super) refused: u64,
}

/// What one matching line captured for one pattern.
pub(super) struct Captured<'l> {
    pub(super) key: &'l [u8],
    pub(super) value: &'l [u8],
    pub(super) actor: &'l [u8],
    pub(super) no: u64,
    pub(super) time: Option<RelTime>,
}

impl FileRecords {
    /// Gives back what the maps reserved beyond their records: a file's records are kept
    /// until every file was read.
    pub(super) fn shrink(&mut self) {
        self.opened.shrink_to_fit();
        self.uses.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.opened.len() + self.uses.len()
    }

    fn full(&mut self) -> bool {
        if self.len() >= self.limit {
            self.refused += 1;
            return true;
        }
        false
    }

    /// Takes the captures of `pattern` on one line.
    pub(super) fn capture(&mut self, plan: &Plan, pattern: usize, c: &Captured<'_>) {
        let key = digest(c.key);
        for (i, f) in plan.firsts.iter().enumerate() {
            if f.pattern == pattern && self.first_here[i] {
                self.open(i, key, Val::parse(c.value));
            }
        }
        let wanted = plan
            .rules
            .iter()
            .zip(&self.then_here)
            .any(|(r, &here)| here && r.then == pattern);
        if wanted && !self.explained(plan, pattern, key, c.value) {
            self.add_use(pattern, key, c);
        }
    }

    fn open(&mut self, source: usize, key: u128, v: Val) {
        if !self.opened.contains_key(&(source, key)) && self.full() {
            return;
        }
        self.opened.entry((source, key)).or_default().add(v);
    }

    /// True when an opening record of this same file makes the use ordinary for every rule
    /// that reads it: such a use can never become a finding, whatever other files hold.
    fn explained(&self, plan: &Plan, pattern: usize, key: u128, value: &[u8]) -> bool {
        let v = Val::parse(value);
        plan.rules
            .iter()
            .zip(&self.then_here)
            .filter(|(r, here)| **here && r.then == pattern)
            .all(|(r, _)| {
                let Some(src) = r.first.filter(|&s| self.first_here[s]) else {
                    return false;
                };
                let Some(o) = self.opened.get(&(src, key)) else {
                    return false;
                };
                match r.check {
                    Check::FirstMissing => true,
                    Check::ValueChanges | Check::ValueShared => o.explains(&v, r.prefix),
                }
            })
    }

    fn add_use(&mut self, pattern: usize, key: u128, c: &Captured<'_>) {
        let value = Val::parse(c.value);
        let id = (pattern, key, value.clone(), digest(c.actor));
        if let Some(u) = self.uses.get_mut(&id) {
            u.count += 1;
            u.last = Some(Line {
                no: c.no,
                time: c.time.or(u.last.as_ref().map_or(u.first.time, |l| l.time)),
            });
            return;
        }
        if self.full() {
            return;
        }
        self.uses.insert(
            id,
            Use {
                key: c.key.into(),
                key_digest: key,
                value,
                actor: c.actor.into(),
                count: 1,
                first: Line {
                    no: c.no,
                    time: c.time,
                },
                last: None,
            },
        );
    }
}

/// The records of every file, merged in path order under the scan-wide budget.
#[derive(Default)]
pub(super) struct Merged {
    opened: Vec<HashMap<u128, Opened>>,
    /// (entry index, pattern, use)
    uses: Vec<(usize, usize, Use)>,
    kept: usize,
}

impl Merged {
    /// Adds the records of the file `entry` (files must come in path order).
    pub(super) fn add(
        &mut self,
        plan: &Plan,
        entry: usize,
        path: &EvPath,
        recs: FileRecords,
        res: &mut EntryResult,
    ) {
        if self.opened.len() < plan.firsts.len() {
            self.opened.resize_with(plan.firsts.len(), HashMap::new);
        }
        let n = recs.len();
        let over = self.kept.saturating_add(n) > plan.max_records;
        if recs.refused > 0 || over {
            res.gaps.push(Gap::new(
                path.clone(),
                GapCause::Budget,
                format!(
                    "correlation records beyond --max-records ({}) were not kept: sessions in this log were not all compared",
                    plan.max_records
                ),
                true,
            ));
        }
        if over {
            return;
        }
        self.kept += n;
        for ((src, key), o) in recs.opened {
            self.opened[src].entry(key).or_default().merge(o);
        }
        for ((pattern, ..), u) in recs.uses {
            self.uses.push((entry, pattern, u));
        }
    }
}

/// Uses of one finding: aggregated over (key, value, actor) groups.
struct Group<'a> {
    first: &'a Line,
    last: &'a Line,
    count: u64,
    key: &'a [u8],
    values: BTreeSet<String>,
    actors: BTreeSet<String>,
    opened: Option<&'a Opened>,
}

impl<'a> Group<'a> {
    fn new(u: &'a Use, opened: Option<&'a Opened>) -> Group<'a> {
        Group {
            first: &u.first,
            last: u.last.as_ref().unwrap_or(&u.first),
            count: 0,
            key: &u.key,
            values: BTreeSet::new(),
            actors: BTreeSet::new(),
            opened,
        }
    }

    fn take(&mut self, u: &'a Use) {
        let last = u.last.as_ref().unwrap_or(&u.first);
        if u.first.no < self.first.no {
            self.first = &u.first;
        }
        if last.no >= self.last.no {
            self.last = last;
        }
        self.count += u.count;
        self.values.insert(u.value.text());
        self.actors
            .insert(String::from_utf8_lossy(&u.actor).into_owned());
    }
}

/// "a, b, c, d, e and 12 more".
fn named(items: impl IntoIterator<Item = String>, total: usize) -> String {
    let shown: Vec<String> = items.into_iter().take(MAX_NAMED).collect();
    let rest = total.saturating_sub(shown.len());
    if rest > 0 {
        format!("{} and {rest} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Compares the records of every correlate rule across all files. Returns hits with the index
/// of the entry (file) they belong to: one per (rule, file, key) or, for `value-shared`, per
/// (rule, file, value).
pub(super) fn correlate(plan: &Plan, merged: &Merged, entries: &[Entry]) -> Vec<(usize, Hit)> {
    let empty = HashMap::new();
    let mut out = Vec::new();
    for r in &plan.rules {
        // No file fed a source when no log was read: nothing was opened.
        let opened = r.first.and_then(|s| merged.opened.get(s)).unwrap_or(&empty);
        if r.check == Check::FirstMissing && opened.is_empty() {
            continue; // nothing to compare with
        }
        let uses = merged
            .uses
            .iter()
            .filter(|(e, p, _)| *p == r.then && in_paths(r.then_paths.as_ref(), &entries[*e].path));
        let groups = match r.check {
            Check::ValueChanges => group_moved(r, opened, uses),
            Check::FirstMissing => group_unopened(opened, uses),
            Check::ValueShared => group_shared(r, opened, uses),
        };
        for ((entry, _), g) in groups {
            out.push((entry, hit(r, &g)));
        }
    }
    out
}

type Groups<'a> = BTreeMap<(usize, Vec<u8>), Group<'a>>;

fn group_moved<'a>(
    r: &CorrRule,
    opened: &'a HashMap<u128, Opened>,
    uses: impl Iterator<Item = &'a (usize, usize, Use)>,
) -> Groups<'a> {
    let mut groups = Groups::new();
    for (entry, _, u) in uses {
        let Some(o) = opened.get(&u.key_digest) else {
            continue;
        };
        if o.explains(&u.value, r.prefix) {
            continue;
        }
        groups
            .entry((*entry, u.key.to_vec()))
            .or_insert_with(|| Group::new(u, Some(o)))
            .take(u);
    }
    groups
}

fn group_unopened<'a>(
    opened: &'a HashMap<u128, Opened>,
    uses: impl Iterator<Item = &'a (usize, usize, Use)>,
) -> Groups<'a> {
    let mut groups = Groups::new();
    for (entry, _, u) in uses {
        if opened.contains_key(&u.key_digest) {
            continue;
        }
        groups
            .entry((*entry, u.key.to_vec()))
            .or_insert_with(|| Group::new(u, None))
            .take(u);
    }
    groups
}

fn group_shared<'a>(
    r: &CorrRule,
    opened: &'a HashMap<u128, Opened>,
    uses: impl Iterator<Item = &'a (usize, usize, Use)>,
) -> Groups<'a> {
    // A use from the network its own session was opened from is ordinary (an office behind
    // one NAT address); only the others count.
    let foreign: Vec<&(usize, usize, Use)> = uses
        .filter(|(_, _, u)| {
            opened
                .get(&u.key_digest)
                .is_none_or(|o| !o.explains(&u.value, r.prefix))
        })
        .collect();
    let mut actors: HashMap<&Val, BTreeSet<&[u8]>> = HashMap::new();
    for (_, _, u) in &foreign {
        actors.entry(&u.value).or_default().insert(&u.actor);
    }
    let mut groups = Groups::new();
    for (entry, _, u) in foreign {
        if actors.get(&u.value).is_none_or(|a| a.len() < r.min_actors) {
            continue;
        }
        let value = u.value.text().into_bytes();
        groups
            .entry((*entry, value))
            .or_insert_with(|| Group::new(u, None))
            .take(u);
    }
    for g in groups.values_mut() {
        // Every actor seen with the value anywhere, not only in this file.
        if let Some(v) = g.values.iter().next().map(|s| Val::parse(s.as_bytes()))
            && let Some(all) = actors.get(&v)
        {
            g.actors = all
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
        }
    }
    groups
}

fn hit(r: &CorrRule, g: &Group<'_>) -> Hit {
    let key = String::from_utf8_lossy(g.key);
    let reason = match r.check {
        Check::ValueChanges => {
            let o = g.opened.map(|o| {
                let mut from: Vec<String> = o.values().map(Val::text).collect();
                from.sort();
                let total = from.len();
                let mut text = named(from, total);
                if o.overflow {
                    text.push_str(&format!(
                        " (more than {MAX_VALUES_PER_KEY} addresses; the others were not kept)"
                    ));
                }
                text
            });
            let net = r
                .prefix
                .text()
                .map_or(String::new(), |p| format!(" (outside its {p})"));
            format!(
                "key {key} was opened from {} and used from {}{net}",
                o.unwrap_or_default(),
                named(g.values.iter().cloned(), g.values.len())
            )
        }
        Check::FirstMissing => format!(
            "key {key} has no opening record in any file read (it may predate the oldest log)"
        ),
        Check::ValueShared => format!(
            "{} appears with {} different actors: {}",
            named(g.values.iter().cloned(), g.values.len()),
            g.actors.len(),
            named(g.actors.iter().cloned(), g.actors.len())
        ),
    };
    // The excerpts are read again by the scanner (see `Scanner::fill_excerpts`).
    Hit {
        rule: r.rule,
        line: Some(g.first.no),
        excerpt: None,
        count: g.count,
        last: Some((g.last.no, Vec::new())),
        time: g.first.time,
        last_time: g.last.time,
        reason: format!("{} check: {reason}", r.check.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Val {
        Val::parse(s.as_bytes())
    }

    #[test]
    fn networks() {
        let v4 = |b| Prefix {
            v4: Some(b),
            v6: None,
        };
        let both = Prefix {
            v4: Some(24),
            v6: Some(48),
        };
        assert!(ip("198.51.100.23").same_network(&ip("198.51.100.99"), v4(24)));
        assert!(!ip("198.51.100.23").same_network(&ip("203.0.113.77"), v4(24)));
        assert!(!ip("198.51.100.23").same_network(&ip("198.51.100.99"), Prefix::default()));
        assert!(ip("x").same_network(&ip("x"), Prefix::default()));
        assert!(ip("10.0.0.1").same_network(&ip("99.1.2.3"), v4(0)));
        // One provider /48, two /64s: the delegated prefix changed during the session.
        let (a, b) = (ip("2001:db8:4a1c:3e00::1"), ip("2001:db8:4a1c:3f01::52b"));
        assert!(a.same_network(&b, both));
        assert!(!a.same_network(&b, v4(24)));
        assert!(!a.same_network(&ip("2001:db8:4a1d::1"), both));
        assert!(!a.same_network(&ip("198.51.100.1"), both));
    }

    #[test]
    fn names_are_bounded() {
        let many = (0..4000).map(|i| format!("10.0.{}.{}", i / 256, i % 256));
        let s = named(many, 4000);
        assert!(s.ends_with("and 3995 more"), "{s}");
        assert_eq!(named(["a".to_owned()], 1), "a");
    }

    #[test]
    fn opened_values_are_capped_and_counted() {
        let mut o = Opened::default();
        for i in 0..100 {
            o.add(ip(&format!("10.0.0.{i}")));
            o.add(ip(&format!("10.0.0.{i}")));
        }
        assert_eq!(o.len(), MAX_VALUES_PER_KEY);
        assert!(o.overflow);
    }

    #[test]
    fn digests_tell_keys_apart() {
        assert_ne!(
            digest(b"alice - SessionId: 1"),
            digest(b"alice - SessionId: 2")
        );
        assert_eq!(digest(b"k"), digest(b"k"));
    }
}
