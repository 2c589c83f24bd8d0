//! The scanner: applies a [`RuleSet`] to every entry of an [`Evidence`] and returns findings and
//! coverage gaps. Cheap checks first (path globs, metadata); a file is opened only when a rule
//! needs its bytes or a finding needs its digest; each file is read once, sequentially.
//!
//! The scanner never writes anything and never decides the verdict; see [`crate::verdict`].

pub mod commands;
mod content;
mod correlate;
mod excerpts;
mod lines;
mod patterns;
pub mod progress;
pub mod read;
pub mod sketch;
mod spill;
pub mod time;

pub use sketch::{LogShape, Mark, Silence};
pub use time::{LogTimes, RelTime, YearResolver};

use crate::appliance::Family;
use crate::input::{Entry, EntryKind, Evidence, Listing};
use crate::model::{Bytes, EvPath, Finding, Gap, GapCause, Timestamp};
use crate::rules::{Matcher, RuleSet};
use crate::zone::Zone;
use content::metadata_holds;
use correlate::correlate;
use patterns::Combo;
use progress::Progress;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Knobs of one scan.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Most bytes read from one file for content rules and digests. Logs read by line rules
    /// are always read to the end.
    pub max_read: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Most bytes read from one file, decompressed bytes included.
    pub max_file_bytes: u64,
    /// Most bytes (as stored) read from the whole evidence, planned in path order.
    pub max_total_bytes: u64,
    /// Most distinct correlation records kept.
    pub max_records: usize,
    /// Counters a display may read while the scan runs.
    pub progress: Option<Arc<Progress>>,
    /// Folder for the temporary file of correlation records (outside the evidence); `None`:
    /// they are kept in memory.
    pub temp_dir: Option<std::path::PathBuf>,
    /// The files whose reads the output keeps even when there is nothing else to say of them
    /// (the appliance's evidence sources); `None`: every read is kept.
    pub keep_reads: Option<KeepReads>,
}

/// Paths whose reads a scan keeps in [`ScanOutput::reads`]: logs by their family (rotations
/// included) and single files, as the appliance profile names its sources.
#[derive(Clone, Debug)]
pub struct KeepReads {
    logs: globset::GlobSet,
    files: globset::GlobSet,
}

impl KeepReads {
    /// From the globs of log families and of files; `None` when a glob is invalid.
    pub fn new(logs: &[String], files: &[String]) -> Option<KeepReads> {
        Some(KeepReads {
            logs: crate::util::glob::set(logs).ok()?,
            files: crate::util::glob::set(files).ok()?,
        })
    }

    fn keeps(&self, path: &EvPath) -> bool {
        use crate::util::glob;
        let rel = path.relative();
        self.logs.is_match(glob::as_path(glob::log_family(rel)))
            || self.files.is_match(glob::as_path(rel))
    }
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_read: 64 << 20,
            threads: 0,
            max_file_bytes: 4 << 30,
            max_total_bytes: 32 << 30,
            max_records: 20_000_000,
            progress: None,
            temp_dir: None,
            keep_reads: None,
        }
    }
}

/// A file that was read, with what the read achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRead {
    pub path: EvPath,
    /// Bytes read as stored.
    pub bytes: u64,
    /// True when read to the end without error.
    pub complete: bool,
    pub sha256: Option<String>,
    /// For logs read line by line: first and last dated line, Unix seconds.
    pub(crate) from: Option<i64>,
    pub(crate) to: Option<i64>,
    /// How the year of undated lines was found, when it was inferred.
    pub(crate) year_inferred_from: Option<String>,
    /// Raw line times, resolved into `from`/`to` once the whole evidence was read.
    pub(crate) times: Option<LogTimes>,
    /// For logs read line by line: how their lines are spread over time (longest silences).
    pub(crate) shape: Option<LogShape>,
}

/// What a scan produced, before the verdict.
#[derive(Debug, Default)]
pub struct ScanOutput {
    /// The evidence listing (entries sorted by path).
    pub listing: Listing,
    /// Sorted by severity (most severe first), rule, path, line.
    pub findings: Vec<Finding>,
    /// Listing gaps and read gaps, sorted by path and cause.
    pub gaps: Vec<Gap>,
    /// The files opened that have more to say than their size, sorted by path: logs with dated
    /// lines, files whose read failed or was cut, files with findings or gaps. A file read
    /// without error and with nothing else to report is only counted in `files_read` and
    /// `bytes_read`.
    pub reads: Vec<FileRead>,
    /// Files opened, all of them.
    pub files_read: u64,
    /// Bytes read as stored, from all of them.
    pub bytes_read: u64,
    /// The zone syslog header times were read in.
    pub(crate) zone: Option<crate::zone::Zone>,
}

/// The scanner for one rule set.
pub struct Scanner<'r> {
    rules: &'r RuleSet,
    /// What only the appliance family knows: its firmware and its time zone.
    family: &'r dyn Family,
    /// The correlate rules, prepared once.
    corr: correlate::Plan,
    /// The stamp formats of the family's logs.
    stamps: time::Stamps,
    /// Where a syslog record starts in the family's logs.
    record_head: regex::bytes::Regex,
    opts: ScanOptions,
    combos: Mutex<HashMap<Vec<usize>, Arc<Combo>>>,
}

/// The stock baseline as it applies to the scanned appliance: its firmware family, or every
/// family (the union) when the family is unknown, with the reason.
pub(crate) struct Stock<'r> {
    pub(crate) baseline: &'r crate::rules::baseline::Baseline,
    pub(crate) firmware: crate::rules::baseline::Firmware,
    /// Why every family's entries apply, when they do.
    pub(crate) unknown: Option<String>,
}

impl<'r> Stock<'r> {
    fn new(rules: &'r RuleSet, fw: Option<&crate::rules::baseline::Firmware>) -> Stock<'r> {
        let (firmware, unknown) = rules.baseline().effective(fw);
        Stock {
            baseline: rules.baseline(),
            firmware,
            unknown,
        }
    }

    /// "13.1 (from /flash/boot/loader.conf)", or "every firmware family (... is unknown)".
    pub(crate) fn family(&self) -> String {
        match &self.unknown {
            Some(why) => format!("any firmware family ({why})"),
            None => format!(
                "firmware {} (read from {})",
                self.firmware.label(),
                self.firmware.source
            ),
        }
    }
}

/// One rule hit inside a file, before it becomes a [`Finding`].
struct Hit {
    rule: usize,
    line: Option<u64>,
    excerpt: Option<Vec<u8>>,
    count: u64,
    last: Option<(u64, Vec<u8>)>,
    reason: String,
    /// Logged time of the first and last line, before the file's year is known.
    time: Option<RelTime>,
    last_time: Option<RelTime>,
}

/// What reading one entry gave: nothing, a whole read with nothing else to say (its bytes),
/// or a full result. A scan keeps one per entry until all were read, so the common cases cost
/// no allocation.
enum Outcome {
    Nothing,
    Plain(u64),
    Full(Box<EntryResult>),
}

impl Outcome {
    /// `keep`: the read is kept even when there is nothing else to say of it.
    fn of(res: EntryResult, keep: bool) -> Outcome {
        let quiet = res.hits.is_empty()
            && res.gaps.is_empty()
            && res.records.is_none()
            && res.times.is_none()
            && res.sketch.is_none();
        match &res.read {
            None if quiet => Outcome::Nothing,
            Some(r) if quiet && !keep && r.is_plain() => Outcome::Plain(r.bytes),
            _ => Outcome::Full(Box::new(res)),
        }
    }
}

impl FileRead {
    /// Read without error (whole, or as far as its rules look), with no dated line. Its digest
    /// is not kept: only findings carry digests, and a file with a finding is never plain.
    fn is_plain(&self) -> bool {
        // `from`, `to` and `shape` are filled from `times` later, in `assemble`.
        self.complete && self.times.is_none()
    }
}

#[derive(Default)]
struct EntryResult {
    hits: Vec<Hit>,
    gaps: Vec<Gap>,
    // The parts only some entries have are boxed: a result is kept for every entry until all
    // were read, so its size counts a hundred thousand times.
    read: Option<Box<FileRead>>,
    records: Option<Box<correlate::Summary>>,
    times: Option<LogTimes>,
    sketch: Option<Box<sketch::Sketch>>,
}

/// What one entry needs, decided from its path and metadata before any byte is read.
#[derive(Default)]
struct EntryPlan {
    /// File rules that hold on metadata alone, with their reasons.
    immediate: Vec<(usize, Vec<String>)>,
    /// File rules whose metadata conditions hold and that need the bytes.
    need_read: Vec<(usize, Vec<String>)>,
    line_rules: Vec<usize>,
}

/// What the budget and the scheduling need of an entry's plan.
#[derive(Clone, Copy)]
struct Need {
    /// The entry is read.
    reads: bool,
    /// Line rules read it (a log).
    lines: bool,
}

impl Need {
    fn of(plan: &EntryPlan, e: &Entry) -> Need {
        Need {
            reads: plan.reads(e),
            lines: !plan.line_rules.is_empty(),
        }
    }
}

impl EntryPlan {
    fn reads(&self, e: &Entry) -> bool {
        e.kind == EntryKind::File
            && !(self.need_read.is_empty()
                && self.line_rules.is_empty()
                && self.immediate.is_empty())
    }
}

/// What reading an entry is expected to cost, for scheduling only: its stored size, eight
/// times that for a gzip rotation (which inflates to about that much text).
fn read_cost(e: &Entry, need: Need, allowed: bool) -> u64 {
    if !allowed || !need.reads {
        return 0;
    }
    let name = e.path.file_name();
    let gz = name.ends_with(b".gz") || name.ends_with(b".tgz");
    if gz && need.lines {
        e.size.saturating_mul(8)
    } else {
        e.size
    }
}

impl<'r> Scanner<'r> {
    /// A scanner for `rules`.
    pub fn new(rules: &'r RuleSet, opts: ScanOptions, family: &'r dyn Family) -> Self {
        Scanner {
            rules,
            family,
            corr: correlate::Plan::new(rules, opts.max_records, opts.temp_dir.clone()),
            stamps: time::Stamps(family.stamps()),
            record_head: lines::record_head(family.record_heads()),
            opts,
            combos: Mutex::new(HashMap::new()),
        }
    }

    /// The scan's threads: built once per scan (both passes run on the same threads); `None`
    /// runs everything on the calling thread.
    fn pool(&self) -> Option<rayon::ThreadPool> {
        if self.opts.threads == 1 {
            return None;
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.opts.threads)
            .build()
            .ok()
    }

    /// Maps `f` over `items` on `pool`, keeping the order.
    fn par_map<T: Send, R: Send>(
        pool: Option<&rayon::ThreadPool>,
        items: Vec<T>,
        f: impl Fn(T) -> R + Sync + Send,
    ) -> Vec<R> {
        match pool {
            Some(pool) => pool.install(|| items.into_par_iter().map(&f).collect()),
            None => items.into_iter().map(f).collect(),
        }
    }

    /// Maps `f` over `items` on `pool`, the costliest first: every worker takes the next item
    /// from one queue sorted by `cost`, so the largest logs start at once and no core idles
    /// while another reads a large file last. Results come back in the items' order.
    fn par_map_costliest_first<T: Sync, R: Send>(
        pool: Option<&rayon::ThreadPool>,
        items: &[T],
        cost: impl Fn(&T) -> u64,
        f: impl Fn(&T) -> R + Sync + Send,
    ) -> Vec<R> {
        let Some(pool) = pool else {
            return items.iter().map(f).collect();
        };
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(cost(&items[i])), i));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let parts = pool.broadcast(|_| {
            let mut mine = Vec::new();
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                mine.push((i, f(&items[i])));
            }
            mine
        });
        let mut all: Vec<(usize, R)> = parts.into_iter().flatten().collect();
        all.sort_unstable_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    }

    /// Scans every entry of `evidence`.
    pub fn scan(&self, evidence: &dyn Evidence) -> ScanOutput {
        // The firmware family first: baseline conditions are judged against it.
        let stock = Stock::new(self.rules, self.family.identify(evidence).as_ref());
        let listing = evidence.list();
        let pool = self.pool();
        // The plans are made twice rather than kept: a plan holds the reasons of every rule
        // whose metadata conditions hold, and there is one per entry.
        let needs = Self::par_map(pool.as_ref(), listing.entries.iter().collect(), |e| {
            Need::of(&self.plan_entry(e, &stock), e)
        });
        let allowed = self.within_budget(&listing.entries, &needs);
        let work: Vec<_> = listing.entries.iter().zip(needs).zip(allowed).collect();
        if let Some(p) = &self.opts.progress {
            let read = work.iter().filter(|((_, n), ok)| n.reads && *ok);
            let (files, cost) = read.fold((0, 0u64), |(f, c), ((e, n), ok)| {
                (f + 1, c.saturating_add(read_cost(e, *n, *ok)))
            });
            p.plan(files, cost);
        }
        let results = Self::par_map_costliest_first(
            pool.as_ref(),
            &work,
            |((e, need), ok)| read_cost(e, *need, *ok),
            |((e, need), ok)| {
                let progress = self.opts.progress.as_deref().filter(|_| need.reads && *ok);
                if let Some(p) = progress {
                    p.start(&e.path);
                }
                let res = self.run_entry(evidence, e, &self.plan_entry(e, &stock), *ok);
                if let Some(p) = progress {
                    p.done(read_cost(e, *need, *ok));
                }
                let keep = self
                    .opts
                    .keep_reads
                    .as_ref()
                    .is_none_or(|k| k.keeps(&e.path));
                Outcome::of(res, keep)
            },
        );
        let zone = self.family.zone(evidence, &listing);
        self.assemble(evidence, listing, results, zone)
    }

    /// Which entries may be read: the files that need reading, in path order, until their
    /// planned bytes (size as stored, capped per file) reach `--max-total-bytes`. Planned in
    /// one sequential pass so that the cut never depends on thread scheduling.
    fn within_budget(&self, entries: &[Entry], needs: &[Need]) -> Vec<bool> {
        let mut spent: u64 = 0;
        entries
            .iter()
            .zip(needs)
            .map(|(e, n)| {
                if !n.reads {
                    return true;
                }
                let cap = if !n.lines {
                    self.opts.max_read
                } else {
                    self.opts.max_file_bytes
                };
                spent = spent.saturating_add(e.size.min(cap));
                spent <= self.opts.max_total_bytes
            })
            .collect()
    }

    /// Turns per-entry results into the scan output: years resolved, correlations compared,
    /// everything sorted.
    fn assemble(
        &self,
        evidence: &dyn Evidence,
        listing: Listing,
        results: Vec<Outcome>,
        zone: Zone,
    ) -> ScanOutput {
        let mut out = ScanOutput {
            gaps: listing.gaps.clone(),
            ..ScanOutput::default()
        };
        // The newest fully dated line anchors the years of undated lines in copies that did
        // not keep file times.
        let newest_dated = results
            .iter()
            .filter_map(|r| match r {
                Outcome::Full(r) => r.read.as_ref()?.times?.last,
                _ => None,
            })
            .filter_map(|t| match t {
                RelTime::Full(x) => Some(x),
                RelTime::NoYear { .. } => None,
            })
            .max();
        let mut budget = correlate::Budget::default();
        // Only the few entries that have them: a digest and a year resolver.
        let mut digests: HashMap<usize, String> = HashMap::new();
        let mut resolvers: HashMap<usize, YearResolver> = HashMap::new();
        for (i, (entry, outcome)) in listing.entries.iter().zip(results).enumerate() {
            let mut res = match outcome {
                Outcome::Nothing => continue,
                Outcome::Plain(bytes) => {
                    out.files_read += 1;
                    out.bytes_read = out.bytes_read.saturating_add(bytes);
                    continue;
                }
                Outcome::Full(res) => *res,
            };
            let sha = res.read.as_ref().and_then(|r| r.sha256.clone());
            let resolver = res
                .read
                .as_ref()
                .and_then(|r| r.times.as_ref())
                .map(|t| YearResolver::new(t, entry.mtime, newest_dated, zone.rule));
            for h in std::mem::take(&mut res.hits) {
                out.findings
                    .push(self.finding(entry, h, sha.clone(), resolver.as_ref()));
            }
            if let Some(records) = res.records.take() {
                budget.add(&self.corr, i, &entry.path, &records, &mut res);
            }
            out.gaps.extend(res.gaps);
            if let Some(read) = res.read {
                let mut read = *read;
                if let (Some(t), Some(y)) = (read.times, resolver.as_ref()) {
                    read.from = t.first.and_then(|x| y.resolve(x)).map(|x| x.0);
                    read.to = t.last.and_then(|x| y.resolve(x)).map(|x| x.0);
                    read.year_inferred_from = y.inferred_from.clone();
                    read.shape = res.sketch.as_ref().map(|s| s.resolve(y));
                }
                out.files_read += 1;
                out.bytes_read = out.bytes_read.saturating_add(read.bytes);
                out.reads.push(read);
            }
            if let Some(sha) = sha {
                digests.insert(i, sha);
            }
            if let Some(y) = resolver {
                resolvers.insert(i, y);
            }
        }
        let (mut hits, failed) = correlate(&self.corr, &budget, &resolvers, &listing.entries);
        self.corr.clear();
        if let Some(why) = failed {
            out.gaps.push(Gap::new(
                EvPath::root(),
                GapCause::Unreadable,
                format!("{why}: sessions were not all compared"),
                true,
            ));
        }
        self.fill_excerpts(evidence, &listing.entries, &mut hits);
        for (i, hit) in hits {
            out.findings.push(self.finding(
                &listing.entries[i],
                hit,
                digests.get(&i).cloned(),
                resolvers.get(&i),
            ));
        }
        out.listing = listing;
        out.zone = Some(zone);
        sort_findings(&mut out.findings);
        out.gaps
            .sort_by(|a, b| (&a.path, a.cause).cmp(&(&b.path, b.cause)));
        out.gaps.dedup();
        out
    }

    fn finding(
        &self,
        entry: &Entry,
        h: Hit,
        sha256: Option<String>,
        years: Option<&YearResolver>,
    ) -> Finding {
        let resolve = |t: Option<RelTime>| t.and_then(|t| years?.resolve(t));
        let time = resolve(h.time);
        let last_time = if h.count > 1 {
            resolve(h.last_time)
        } else {
            None
        };
        let rule = &self.rules.rule(h.rule);
        let path_base64 = entry.path.base64_if_inexact();
        let (last_line, last_excerpt) = match h.last {
            Some((l, e)) if h.count > 1 => (Some(l), Some(Bytes(e))),
            _ => (None, None),
        };
        Finding {
            rule: rule.id.clone(),
            pack: rule.pack.clone(),
            severity: rule.severity,
            title: rule.title.clone(),
            path: entry.path.clone(),
            path_base64,
            line: h.line,
            excerpt: h.excerpt.map(Bytes),
            count: h.count,
            last_line,
            last_excerpt,
            reason: h.reason,
            sha256,
            mtime: Some(Timestamp::from_unix(entry.mtime)),
            time: time.map(|t| Timestamp::from_unix(t.0)),
            last_time: last_time.map(|t| Timestamp::from_unix(t.0)),
            time_inferred: time.is_some_and(|t| t.1) || last_time.is_some_and(|t| t.1),
        }
    }

    /// The rules that apply to one entry, judged on its path and metadata.
    fn plan_entry(&self, e: &Entry, stock: &Stock<'_>) -> EntryPlan {
        let rel = e.path.relative();
        let mut plan = EntryPlan::default();
        for r in self.rules.file_rules_for(rel) {
            let Matcher::File(fm) = &self.rules.rule(r).matcher else {
                continue;
            };
            if let Some(why) = metadata_holds(fm, e, stock) {
                if fm.needs_read() {
                    plan.need_read.push((r, why));
                } else {
                    plan.immediate.push((r, why));
                }
            }
        }
        if e.kind == EntryKind::File {
            plan.line_rules = self.rules.line_rules_for(rel);
        }
        plan
    }

    /// Applies the planned rules to one entry; reads it only when `allowed` by the budget.
    fn run_entry(
        &self,
        ev: &dyn Evidence,
        e: &Entry,
        plan: &EntryPlan,
        allowed: bool,
    ) -> EntryResult {
        let mut res = EntryResult::default();
        if e.kind.is_special() {
            res.gaps.push(Gap::new(
                e.path.clone(),
                GapCause::SpecialFile,
                format!("{:?} not opened", e.kind),
                false,
            ));
        }
        for (r, why) in &plan.immediate {
            res.hits.push(Hit {
                rule: *r,
                line: None,
                excerpt: None,
                count: 1,
                last: None,
                reason: why.join("; "),
                time: None,
                last_time: None,
            });
        }
        if !plan.reads(e) {
            return res;
        }
        if !allowed {
            res.gaps.push(Gap::new(
                e.path.clone(),
                GapCause::Budget,
                format!(
                    "not read: files earlier in path order used up --max-total-bytes ({})",
                    human_bytes(self.opts.max_total_bytes)
                ),
                true,
            ));
            return res;
        }
        let want_digest = !plan.immediate.is_empty();
        self.read_file(
            ev,
            e,
            &plan.need_read,
            &plan.line_rules,
            want_digest,
            &mut res,
        );
        res
    }
}

/// `67108864` → `64 MiB`; exact byte counts otherwise.
pub(crate) fn human_bytes(n: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

/// Deterministic order: severity (most severe first), rule id, path, line.
pub fn sort_findings(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), &a.rule, &a.path, a.line).cmp(&(
            std::cmp::Reverse(b.severity),
            &b.rule,
            &b.path,
            b.line,
        ))
    });
}
