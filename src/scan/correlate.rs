//! Correlation: records captured from log lines across every file and rotation, compared once
//! every file was read (a session used from another network, an address in several sessions).
//!
//! State is kept compact and bounded: an opening record is a 128-bit digest of its key and the
//! few values it was opened with; a use record that an opening record of the same file already
//! explains is dropped on the spot; the others are aggregated per (key, value, actor) with a
//! count and their first and last lines. A file that would hold more than `--max-records`
//! distinct records stops collecting and says so; the scan-wide budget is applied file by
//! file in path order, so the outcome never depends on thread scheduling.

use super::spill::{Damaged, Dec, Enc, FLUSH_AT, PARTITIONS, Spill, partition};
use super::time::{RelTime, YearResolver};
use super::{EntryResult, Hit};
use crate::input::Entry;
use crate::model::{EvPath, Gap, GapCause};
use crate::rules::{Check, Matcher, RuleSet};
use crate::util::glob;
use globset::GlobSet;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::PathBuf;

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

/// Seconds from `earlier` to `later`, two times of one file; `None` when either lacks its year.
fn seconds_between(earlier: RelTime, later: RelTime) -> Option<i64> {
    match (earlier, later) {
        (RelTime::Full(a), RelTime::Full(b)) => b.checked_sub(a),
        _ => None,
    }
}

/// Use records of one (key, value, actor) in one file; for a rule that compares by time, of
/// one line.
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
    /// Seconds before a use within which an opening counts (`within_hours`).
    within: Option<i64>,
}

/// An opening-record source: a pattern, limited to some files.
struct FirstSource {
    pattern: usize,
    paths: Vec<String>,
    globs: Option<GlobSet>,
    /// A rule compares its openings by time: each opening's time is kept.
    timed: bool,
}

/// The correlate rules of a rule set, prepared once per scan, and the store their records go
/// to while the scan runs.
pub(super) struct Plan {
    rules: Vec<CorrRule>,
    firsts: Vec<FirstSource>,
    max_records: usize,
    spill: Spill,
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
    pub(super) fn new(rules: &RuleSet, max_records: usize, temp: Option<PathBuf>) -> Plan {
        let mut plan = Plan {
            rules: Vec::new(),
            firsts: Vec::new(),
            max_records,
            spill: Spill::new(temp),
        };
        for (i, r) in rules.rules().iter().enumerate() {
            let Matcher::Correlate(c) = &r.matcher else {
                continue;
            };
            let Some((first_id, then)) = rules.records_of(i) else {
                continue;
            };
            let within = c.within_hours.map(|h| i64::from(h) * 3600);
            let first = first_id.map(|pattern| plan.first_source(pattern, &c.first_paths));
            if let (Some(f), Some(_)) = (first, within) {
                plan.firsts[f].timed = true;
            }
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
                within,
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
            timed: false,
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

    /// Forgets the records of the scan that ended.
    pub(super) fn clear(&self) {
        self.spill.clear();
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
    /// Per timed first source: key digest → each opening's value and time.
    opened_at: HashMap<(usize, u128), Vec<(Val, RelTime)>>,
    /// Openings in `opened_at`.
    timed: usize,
    /// (pattern, key, value, actor, line number for a rule that compares by time, else 0)
    uses: HashMap<(usize, u128, Val, u128, u64), Use>,
    limit: usize,
    /// Distinct records not kept because the file reached the budget.
    refused: u64,
    /// The file's number in the store, once it handed records over.
    file: Option<u32>,
    /// Batches handed over, and the records they held.
    batches: u32,
    flushed: usize,
    /// Per first source: did this file open a key?
    opened_any: Vec<bool>,
}

/// What stays in memory of a file's records once they were handed over.
#[derive(Debug, Default)]
pub(super) struct Summary {
    file: Option<u32>,
    records: usize,
    refused: u64,
    opened_any: Vec<bool>,
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
    /// Hands the last records over and keeps only the summary.
    pub(super) fn finish(mut self, plan: &Plan) -> Summary {
        self.flush(plan);
        Summary {
            file: self.file,
            records: self.flushed,
            refused: self.refused,
            opened_any: self.opened_any,
        }
    }

    fn held(&self) -> usize {
        self.opened.len() + self.timed + self.uses.len()
    }

    fn full(&mut self) -> bool {
        if self.held().saturating_add(self.flushed) >= self.limit {
            self.refused += 1;
            return true;
        }
        false
    }

    /// Hands the records held over to the store, cut by the partition of their key.
    fn flush(&mut self, plan: &Plan) {
        let n = self.held();
        if n == 0 {
            return;
        }
        let mut parts: Vec<Enc> = (0..PARTITIONS).map(|_| Enc::default()).collect();
        if self.opened_any.len() < plan.firsts.len() {
            self.opened_any.resize(plan.firsts.len(), false);
        }
        for ((src, key), o) in self.opened.drain() {
            self.opened_any[src] = true;
            encode_open(&mut parts[partition(key)], src, key, &o);
        }
        for ((src, key), list) in self.opened_at.drain() {
            for (v, t) in list {
                encode_open_at(&mut parts[partition(key)], src, key, &v, t);
            }
        }
        for ((pattern, key, ..), u) in self.uses.drain() {
            encode_use(&mut parts[partition(key)], pattern, &u);
        }
        let file = *self.file.get_or_insert_with(|| plan.spill.new_file());
        let parts: Vec<Vec<u8>> = parts.into_iter().map(|e| e.0).collect();
        plan.spill.put(file, self.batches, &parts);
        self.batches += 1;
        self.flushed = self.flushed.saturating_add(n);
        self.timed = 0;
    }

    /// Takes the captures of `pattern` on one line.
    pub(super) fn capture(&mut self, plan: &Plan, pattern: usize, c: &Captured<'_>) {
        if self.held() >= FLUSH_AT {
            self.flush(plan);
        }
        let key = digest(c.key);
        for (i, f) in plan.firsts.iter().enumerate() {
            if f.pattern == pattern && self.first_here[i] {
                self.open(i, key, Val::parse(c.value));
                if let (true, Some(t)) = (f.timed, c.time) {
                    self.open_at(i, key, Val::parse(c.value), t);
                }
            }
        }
        let wanted = plan
            .rules
            .iter()
            .zip(&self.then_here)
            .filter(|(r, here)| **here && r.then == pattern);
        let (mut any, mut timed) = (false, false);
        for (r, _) in wanted {
            any = true;
            timed |= r.within.is_some();
        }
        if any && !self.explained(plan, pattern, key, c) {
            self.add_use(pattern, key, c, timed);
        }
    }

    fn open_at(&mut self, source: usize, key: u128, v: Val, t: RelTime) {
        if self.full() {
            return;
        }
        self.timed += 1;
        self.opened_at
            .entry((source, key))
            .or_default()
            .push((v, t));
    }

    fn open(&mut self, source: usize, key: u128, v: Val) {
        if !self.opened.contains_key(&(source, key)) && self.full() {
            return;
        }
        self.opened.entry((source, key)).or_default().add(v);
    }

    /// True when an opening record of this same file makes the use ordinary for every rule
    /// that reads it: such a use can never become a finding, whatever other files hold.
    fn explained(&self, plan: &Plan, pattern: usize, key: u128, c: &Captured<'_>) -> bool {
        let v = Val::parse(c.value);
        plan.rules
            .iter()
            .zip(&self.then_here)
            .filter(|(r, here)| **here && r.then == pattern)
            .all(|(r, _)| {
                let Some(src) = r.first.filter(|&s| self.first_here[s]) else {
                    return false;
                };
                if let Some(within) = r.within {
                    return self.explained_in_time(src, key, &v, c.time, within, r.prefix);
                }
                let Some(o) = self.opened.get(&(src, key)) else {
                    return false;
                };
                match r.check {
                    Check::FirstMissing => true,
                    Check::ValueChanges | Check::ValueShared => o.explains(&v, r.prefix),
                }
            })
    }

    /// True when an opening of this file from the same network lies at most `within` seconds
    /// before the use.
    fn explained_in_time(
        &self,
        source: usize,
        key: u128,
        v: &Val,
        at: Option<RelTime>,
        within: i64,
        prefix: Prefix,
    ) -> bool {
        let (Some(at), Some(list)) = (at, self.opened_at.get(&(source, key))) else {
            return false;
        };
        list.iter().any(|(o, t)| {
            seconds_between(*t, at).is_some_and(|d| (0..=within).contains(&d))
                && o.same_network(v, prefix)
        })
    }

    fn add_use(&mut self, pattern: usize, key: u128, c: &Captured<'_>, timed: bool) {
        let value = Val::parse(c.value);
        let slot = if timed { c.no } else { 0 };
        let id = (pattern, key, value.clone(), digest(c.actor), slot);
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

fn encode_val(e: &mut Enc, v: &Val) {
    match v {
        Val::Ip(IpAddr::V4(a)) => {
            e.u8(4);
            e.u32(u32::from(*a));
        }
        Val::Ip(IpAddr::V6(a)) => {
            e.u8(6);
            e.u128(u128::from(*a));
        }
        Val::Raw(b) => {
            e.u8(0);
            e.bytes(b);
        }
    }
}

fn decode_val(d: &mut Dec<'_>) -> Result<Val, Damaged> {
    Ok(match d.u8()? {
        4 => Val::Ip(IpAddr::V4(d.u32()?.into())),
        6 => Val::Ip(IpAddr::V6(d.u128()?.into())),
        0 => Val::Raw(d.bytes()?.into()),
        _ => return Err(Damaged),
    })
}

fn encode_time(e: &mut Enc, t: Option<RelTime>) {
    match t {
        None => e.u8(0),
        Some(RelTime::Full(x)) => {
            e.u8(1);
            e.i64(x);
        }
        Some(RelTime::NoYear {
            rollovers,
            month,
            day,
            secs,
        }) => {
            e.u8(2);
            for v in [rollovers, month, day, secs] {
                e.u32(v);
            }
        }
    }
}

fn decode_time(d: &mut Dec<'_>) -> Result<Option<RelTime>, Damaged> {
    Ok(match d.u8()? {
        0 => None,
        1 => Some(RelTime::Full(d.i64()?)),
        2 => Some(RelTime::NoYear {
            rollovers: d.u32()?,
            month: d.u32()?,
            day: d.u32()?,
            secs: d.u32()?,
        }),
        _ => return Err(Damaged),
    })
}

fn encode_line(e: &mut Enc, l: &Line) {
    e.u64(l.no);
    encode_time(e, l.time);
}

fn decode_line(d: &mut Dec<'_>) -> Result<Line, Damaged> {
    Ok(Line {
        no: d.u64()?,
        time: decode_time(d)?,
    })
}

const OPEN: u8 = 1;
const OPEN_AT: u8 = 2;
const USE: u8 = 3;

fn encode_open(e: &mut Enc, src: usize, key: u128, o: &Opened) {
    e.u8(OPEN);
    e.u32(src as u32);
    e.u128(key);
    e.u8(u8::from(o.overflow));
    e.u32(o.len() as u32);
    for v in o.values() {
        encode_val(e, v);
    }
}

fn encode_open_at(e: &mut Enc, src: usize, key: u128, v: &Val, t: RelTime) {
    e.u8(OPEN_AT);
    e.u32(src as u32);
    e.u128(key);
    encode_val(e, v);
    encode_time(e, Some(t));
}

fn encode_use(e: &mut Enc, pattern: usize, u: &Use) {
    e.u8(USE);
    e.u32(pattern as u32);
    e.u128(u.key_digest);
    encode_val(e, &u.value);
    e.bytes(&u.key);
    e.bytes(&u.actor);
    e.u64(u.count);
    encode_line(e, &u.first);
    match &u.last {
        None => e.u8(0),
        Some(l) => {
            e.u8(1);
            encode_line(e, l);
        }
    }
}

/// A use record of the merged files.
#[derive(Clone)]
struct MergedUse {
    entry: usize,
    pattern: usize,
    rec: Use,
    /// The time of its first line, its year resolved.
    at: Option<i64>,
}

/// Which files' records are compared: those of files in path order until `--max-records`;
/// the cut never depends on thread scheduling.
#[derive(Default)]
pub(super) struct Budget {
    /// Store file number → entry index, for the files whose records are compared.
    entries: HashMap<u32, usize>,
    kept: usize,
    /// Per first source: some compared file opened a key.
    opened_any: Vec<bool>,
    /// Records of some file were not kept: a key may have been opened where no record is.
    incomplete: bool,
}

impl Budget {
    /// Takes the summary of the file `entry` (files must come in path order).
    pub(super) fn add(
        &mut self,
        plan: &Plan,
        entry: usize,
        path: &EvPath,
        s: &Summary,
        res: &mut EntryResult,
    ) {
        let over = self.kept.saturating_add(s.records) > plan.max_records;
        self.incomplete |= s.refused > 0 || over;
        if s.refused > 0 || over {
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
        self.kept += s.records;
        if let Some(f) = s.file {
            self.entries.insert(f, entry);
        }
        if self.opened_any.len() < s.opened_any.len() {
            self.opened_any.resize(s.opened_any.len(), false);
        }
        for (all, mine) in self.opened_any.iter_mut().zip(&s.opened_any) {
            *all |= *mine;
        }
    }
}

/// The records of one partition of every compared file.
#[derive(Default)]
struct Merged {
    opened: Vec<HashMap<u128, Opened>>,
    /// Per timed first source: key digest → (time, value) of each opening, sorted once every
    /// batch was added.
    opened_at: Vec<HashMap<u128, Vec<(i64, Val)>>>,
    uses: Vec<MergedUse>,
}

impl Merged {
    /// Decodes the batches of one partition, in path order of their files; times are resolved
    /// with the year of their file (`years[entry]`).
    fn decode(
        plan: &Plan,
        batches: &[(usize, Vec<u8>)],
        years: &HashMap<usize, YearResolver>,
    ) -> Result<Merged, Damaged> {
        let n = plan.firsts.len();
        let mut m = Merged {
            opened: (0..n).map(|_| HashMap::new()).collect(),
            opened_at: (0..n).map(|_| HashMap::new()).collect(),
            uses: Vec::new(),
        };
        for (entry, bytes) in batches {
            let y = years.get(entry);
            let resolve = |t: RelTime| y.and_then(|y| y.resolve(t)).map(|x| x.0);
            let mut d = Dec::new(bytes);
            while !d.done() {
                m.decode_one(&mut d, *entry, &resolve)?;
            }
        }
        for map in &mut m.opened_at {
            for list in map.values_mut() {
                list.sort_unstable();
                list.dedup();
            }
        }
        Ok(m)
    }

    fn decode_one(
        &mut self,
        d: &mut Dec<'_>,
        entry: usize,
        resolve: &dyn Fn(RelTime) -> Option<i64>,
    ) -> Result<(), Damaged> {
        match d.u8()? {
            OPEN => {
                let (src, key) = (d.u32()? as usize, d.u128()?);
                let overflow = d.u8()? != 0;
                let mut o = Opened::default();
                for _ in 0..d.u32()? {
                    o.add(decode_val(d)?);
                }
                o.overflow |= overflow;
                let map = self.opened.get_mut(src).ok_or(Damaged)?;
                map.entry(key).or_default().merge(o);
            }
            OPEN_AT => {
                let (src, key) = (d.u32()? as usize, d.u128()?);
                let v = decode_val(d)?;
                let t = decode_time(d)?.ok_or(Damaged)?;
                let map = self.opened_at.get_mut(src).ok_or(Damaged)?;
                if let Some(t) = resolve(t) {
                    map.entry(key).or_default().push((t, v));
                }
            }
            USE => {
                let pattern = d.u32()? as usize;
                let key_digest = d.u128()?;
                let value = decode_val(d)?;
                let key = d.bytes()?.into();
                let actor = d.bytes()?.into();
                let count = d.u64()?;
                let first = decode_line(d)?;
                let last = match d.u8()? {
                    0 => None,
                    _ => Some(decode_line(d)?),
                };
                let at = first.time.and_then(resolve);
                let rec = Use {
                    key,
                    key_digest,
                    value,
                    actor,
                    count,
                    first,
                    last,
                };
                self.uses.push(MergedUse {
                    entry,
                    pattern,
                    rec,
                    at,
                });
            }
            _ => return Err(Damaged),
        }
        Ok(())
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
    /// The values the key was opened with (for a rule that compares by time: within its
    /// time before the uses).
    from: BTreeSet<&'a Val>,
    /// Opening values beyond [`MAX_VALUES_PER_KEY`] were not kept.
    from_overflow: bool,
}

impl<'a> Group<'a> {
    fn new(u: &'a Use) -> Group<'a> {
        Group {
            first: &u.first,
            last: u.last.as_ref().unwrap_or(&u.first),
            count: 0,
            key: &u.key,
            values: BTreeSet::new(),
            actors: BTreeSet::new(),
            from: BTreeSet::new(),
            from_overflow: false,
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

/// Compares the records of every correlate rule across the files `budget` kept, one partition
/// at a time. Returns hits with the index of the entry (file) they belong to: one per (rule,
/// file, key) or, for `value-shared`, per (rule, file, value). `years[entry]` dates the
/// records of each file. A partition that cannot be read back is a gap of the scan.
pub(super) fn correlate(
    plan: &Plan,
    budget: &Budget,
    years: &HashMap<usize, YearResolver>,
    entries: &[Entry],
) -> (Vec<(usize, Hit)>, Option<String>) {
    let mut out = Vec::new();
    let mut foreign: Vec<Vec<MergedUse>> = plan.rules.iter().map(|_| Vec::new()).collect();
    let mut failed = None;
    let parts = plan.spill.partitions(|f| budget.entries.get(&f).copied());
    for part in &parts {
        let batches = plan.spill.read(part);
        let merged = match batches.map(|b| Merged::decode(plan, &b, years)) {
            Ok(Ok(m)) => m,
            Ok(Err(Damaged)) => {
                failed = Some("a batch of correlation records did not decode".to_owned());
                continue;
            }
            Err(e) => {
                failed = Some(format!("correlation records could not be read back: {e}"));
                continue;
            }
        };
        for (r, foreign) in plan.rules.iter().zip(&mut foreign) {
            let opened_any = r
                .first
                .is_some_and(|s| budget.opened_any.get(s).copied().unwrap_or(false));
            let c = Compare {
                opened_any,
                incomplete: budget.incomplete,
            };
            out.extend(correlate_partition(r, &merged, entries, c, foreign));
        }
    }
    for (r, foreign) in plan.rules.iter().zip(&foreign) {
        if r.check == Check::ValueShared {
            for ((entry, _), g) in group_shared(r, foreign.iter()) {
                out.push((entry, hit(r, &g, budget.incomplete)));
            }
        }
    }
    (out, failed)
}

/// What is known of the openings of every compared file.
#[derive(Clone, Copy)]
struct Compare {
    /// Some file opened a key of the rule's `first` source.
    opened_any: bool,
    /// Records of some file were not kept (`--max-records`).
    incomplete: bool,
}

/// The hits of one rule in one partition; `value-shared` only collects the uses that are not
/// from their own session's network into `foreign`, compared across partitions afterwards.
fn correlate_partition(
    r: &CorrRule,
    merged: &Merged,
    entries: &[Entry],
    c: Compare,
    foreign: &mut Vec<MergedUse>,
) -> Vec<(usize, Hit)> {
    let empty = HashMap::new();
    let opened = r.first.and_then(|s| merged.opened.get(s)).unwrap_or(&empty);
    // Nothing to compare with; or openings were dropped at the budget, so a key without one
    // may well have been opened (the budget gap already says the sessions were not all
    // compared).
    if r.check == Check::FirstMissing && (!c.opened_any || c.incomplete) {
        return Vec::new();
    }
    let uses = merged
        .uses
        .iter()
        .filter(|u| u.pattern == r.then && in_paths(r.then_paths.as_ref(), &entries[u.entry].path));
    let empty_at = HashMap::new();
    let groups = match (r.check, r.within) {
        (Check::ValueChanges, Some(within)) => {
            let at = r.first.and_then(|s| merged.opened_at.get(s));
            group_moved_in_time(r, within, at.unwrap_or(&empty_at), uses)
        }
        (Check::ValueChanges, None) => group_moved(r, opened, uses),
        (Check::FirstMissing, _) => group_unopened(opened, uses),
        (Check::ValueShared, _) => {
            foreign.extend(
                uses.filter(|m| {
                    opened
                        .get(&m.rec.key_digest)
                        .is_none_or(|o| !o.explains(&m.rec.value, r.prefix))
                })
                .cloned(),
            );
            return Vec::new();
        }
    };
    groups
        .into_iter()
        .map(|((entry, _), g)| (entry, hit(r, &g, c.incomplete)))
        .collect()
}

type Groups<'a> = BTreeMap<(usize, Vec<u8>), Group<'a>>;

fn group_moved<'a>(
    r: &CorrRule,
    opened: &'a HashMap<u128, Opened>,
    uses: impl Iterator<Item = &'a MergedUse>,
) -> Groups<'a> {
    let mut groups = Groups::new();
    for MergedUse { entry, rec: u, .. } in uses {
        let Some(o) = opened.get(&u.key_digest) else {
            continue;
        };
        if o.explains(&u.value, r.prefix) {
            continue;
        }
        let g = groups
            .entry((*entry, u.key.to_vec()))
            .or_insert_with(|| Group::new(u));
        g.take(u);
        g.from.extend(o.values());
        g.from_overflow |= o.overflow;
    }
    groups
}

/// `value-changes` by time: a use is compared with the openings of its key in the `within`
/// seconds before it. Without such an opening (the session began before the oldest line read,
/// or lived longer) the use is not compared; with openings, none from its network, it is a hit.
fn group_moved_in_time<'a>(
    r: &CorrRule,
    within: i64,
    opened_at: &'a HashMap<u128, Vec<(i64, Val)>>,
    uses: impl Iterator<Item = &'a MergedUse>,
) -> Groups<'a> {
    let mut groups = Groups::new();
    for m in uses {
        let u = &m.rec;
        let (Some(at), Some(list)) = (m.at, opened_at.get(&u.key_digest)) else {
            continue;
        };
        // Sorted by time: the openings in [at - within, at].
        let lo = list.partition_point(|(t, _)| *t < at.saturating_sub(within));
        let hi = list.partition_point(|(t, _)| *t <= at);
        let recent = &list[lo..hi.max(lo)];
        if recent.is_empty()
            || recent
                .iter()
                .any(|(_, v)| v.same_network(&u.value, r.prefix))
        {
            continue;
        }
        let g = groups
            .entry((m.entry, u.key.to_vec()))
            .or_insert_with(|| Group::new(u));
        g.take(u);
        g.from.extend(recent.iter().map(|(_, v)| v));
    }
    groups
}

fn group_unopened<'a>(
    opened: &'a HashMap<u128, Opened>,
    uses: impl Iterator<Item = &'a MergedUse>,
) -> Groups<'a> {
    let mut groups = Groups::new();
    for MergedUse { entry, rec: u, .. } in uses {
        if opened.contains_key(&u.key_digest) {
            continue;
        }
        groups
            .entry((*entry, u.key.to_vec()))
            .or_insert_with(|| Group::new(u))
            .take(u);
    }
    groups
}

/// `value-shared` over the uses of every partition that are not from the network their own
/// session was opened from (an office behind one NAT address is ordinary).
fn group_shared<'a>(r: &CorrRule, uses: impl Iterator<Item = &'a MergedUse>) -> Groups<'a> {
    let foreign: Vec<(usize, &Use)> = uses.map(|m| (m.entry, &m.rec)).collect();
    let mut actors: HashMap<&Val, BTreeSet<&[u8]>> = HashMap::new();
    for (_, u) in &foreign {
        actors.entry(&u.value).or_default().insert(&u.actor);
    }
    let mut groups = Groups::new();
    for (entry, u) in foreign {
        if actors.get(&u.value).is_none_or(|a| a.len() < r.min_actors) {
            continue;
        }
        let value = u.value.text().into_bytes();
        groups
            .entry((entry, value))
            .or_insert_with(|| Group::new(u))
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

/// The finding of one group; `incomplete`: records of some file were not kept, which the
/// reason says, since an opening there could explain the use.
fn hit(r: &CorrRule, g: &Group<'_>, incomplete: bool) -> Hit {
    let key = String::from_utf8_lossy(g.key);
    let reason = match r.check {
        Check::ValueChanges => {
            let mut from: Vec<String> = g.from.iter().map(|v| v.text()).collect();
            from.sort();
            let total = from.len();
            let mut from = named(from, total);
            if g.from_overflow {
                from.push_str(&format!(
                    " (more than {MAX_VALUES_PER_KEY} addresses; the others were not kept)"
                ));
            }
            if let Some(w) = r.within {
                from.push_str(&format!(" in the {} h before each use", w / 3600));
            }
            let net = r
                .prefix
                .text()
                .map_or(String::new(), |p| format!(" (outside its {p})"));
            format!(
                "key {key} was opened from {from} and used from {}{net}",
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
        reason: format!(
            "{} check: {reason}{}",
            r.check.as_str(),
            if incomplete {
                " (records of some logs were not kept at --max-records: an opening there could explain this)"
            } else {
                ""
            }
        ),
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
