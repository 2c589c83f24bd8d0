//! The scanner: applies a [`RuleSet`] to every entry of an [`Evidence`] and returns findings and
//! coverage gaps. Cheap checks first (path globs, metadata); a file is opened only when a rule
//! needs its bytes or a finding needs its digest; each file is read once, sequentially.
//!
//! The scanner never writes anything and never decides the verdict; see [`crate::verdict`].

mod content;
mod correlate;
pub mod glob;
mod lines;
mod patterns;
pub mod read;
pub mod time;

pub use time::{LogTimes, RelTime, YearResolver};

use crate::input::{Entry, EntryKind, Evidence, Listing};
use crate::model::{Bytes, EvPath, Finding, Gap, GapCause, rfc3339};
use crate::rules::{Matcher, RuleSet};
use content::metadata_holds;
use correlate::{Record, correlate};
use patterns::Combo;
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
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_read: 64 << 20,
            threads: 0,
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
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// How the year of undated lines was found, when it was inferred.
    pub year_inferred_from: Option<String>,
    /// Raw line times, resolved into `from`/`to` once the whole evidence was read.
    pub times: Option<LogTimes>,
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
    /// Every file opened, sorted by path.
    pub reads: Vec<FileRead>,
}

/// The scanner for one rule set.
pub struct Scanner<'r> {
    rules: &'r RuleSet,
    /// Patterns that are the `then` record of some correlate rule.
    then_patterns: std::collections::HashSet<usize>,
    opts: ScanOptions,
    combos: Mutex<HashMap<Vec<usize>, Arc<Combo>>>,
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

#[derive(Default)]
struct EntryResult {
    hits: Vec<Hit>,
    gaps: Vec<Gap>,
    read: Option<FileRead>,
    records: Vec<Record>,
    times: Option<LogTimes>,
}

impl<'r> Scanner<'r> {
    /// A scanner for `rules`.
    pub fn new(rules: &'r RuleSet, opts: ScanOptions) -> Self {
        let then_patterns = rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.matcher, Matcher::Correlate(_)))
            .filter_map(|(i, _)| rules.pattern_ids[i].any.last().copied())
            .collect();
        Scanner {
            rules,
            then_patterns,
            opts,
            combos: Mutex::new(HashMap::new()),
        }
    }

    /// Scans every entry of `evidence`.
    pub fn scan(&self, evidence: &dyn Evidence) -> ScanOutput {
        let listing = evidence.list();
        let work = |e: &Entry| self.scan_entry(evidence, e);
        let results: Vec<EntryResult> = if self.opts.threads == 1 {
            listing.entries.iter().map(work).collect()
        } else {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.opts.threads)
                .build();
            match pool {
                Ok(pool) => pool.install(|| listing.entries.par_iter().map(work).collect()),
                Err(_) => listing.entries.iter().map(work).collect(),
            }
        };
        let mut out = ScanOutput {
            gaps: listing.gaps.clone(),
            ..ScanOutput::default()
        };
        // The newest fully dated line anchors the years of undated lines in copies that did
        // not keep file times.
        let newest_dated = results
            .iter()
            .filter_map(|r| r.read.as_ref()?.times?.last)
            .filter_map(|t| match t {
                RelTime::Full(x) => Some(x),
                RelTime::NoYear { .. } => None,
            })
            .max();
        let mut records = Vec::new();
        let mut digests = Vec::with_capacity(results.len());
        let mut resolvers = Vec::with_capacity(results.len());
        for (i, (entry, res)) in listing.entries.iter().zip(results).enumerate() {
            let sha = res.read.as_ref().and_then(|r| r.sha256.clone());
            let resolver = res
                .read
                .as_ref()
                .and_then(|r| r.times.as_ref())
                .map(|t| YearResolver::new(t, entry.mtime, newest_dated));
            for h in res.hits {
                out.findings
                    .push(self.finding(entry, h, sha.clone(), resolver.as_ref()));
            }
            records.extend(res.records.into_iter().map(|r| (i, r)));
            out.gaps.extend(res.gaps);
            if let Some(mut read) = res.read {
                if let (Some(t), Some(y)) = (read.times, resolver.as_ref()) {
                    read.from = t.first.and_then(|x| y.resolve(x)).map(|x| x.0);
                    read.to = t.last.and_then(|x| y.resolve(x)).map(|x| x.0);
                    read.year_inferred_from = y.inferred_from.clone();
                }
                out.reads.push(read);
            }
            digests.push(sha);
            resolvers.push(resolver);
        }
        for (i, hit) in correlate(self.rules, &listing.entries, &records) {
            out.findings.push(self.finding(
                &listing.entries[i],
                hit,
                digests[i].clone(),
                resolvers[i].as_ref(),
            ));
        }
        out.listing = listing;
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
        let rule = &self.rules.rules[h.rule];
        let path_base64 =
            (!entry.path.is_utf8()).then(|| crate::model::base64(entry.path.as_bytes()));
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
            mtime: Some(rfc3339(entry.mtime)),
            time: time.map(|t| rfc3339(t.0)),
            last_time: last_time.map(|t| rfc3339(t.0)),
            time_inferred: time.is_some_and(|t| t.1) || last_time.is_some_and(|t| t.1),
        }
    }

    fn scan_entry(&self, ev: &dyn Evidence, e: &Entry) -> EntryResult {
        let mut res = EntryResult::default();
        if e.kind.is_special() {
            res.gaps.push(Gap::new(
                e.path.clone(),
                GapCause::SpecialFile,
                format!("{:?} not opened", e.kind),
                false,
            ));
        }
        let rel = e.path.relative();
        let mut immediate = Vec::new();
        let mut need_read = Vec::new();
        for r in self.rules.file_rules_for(rel) {
            let Matcher::File(fm) = &self.rules.rules[r].matcher else {
                continue;
            };
            if let Some(why) = metadata_holds(fm, e) {
                if fm.needs_read() {
                    need_read.push((r, why));
                } else {
                    immediate.push((r, why));
                }
            }
        }
        let line_rules = if e.kind == EntryKind::File {
            self.rules.line_rules_for(rel)
        } else {
            Vec::new()
        };
        for (r, why) in &immediate {
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
        if e.kind != EntryKind::File
            || (need_read.is_empty() && line_rules.is_empty() && immediate.is_empty())
        {
            return res;
        }
        let want_digest = !immediate.is_empty();
        self.read_file(ev, e, &need_read, &line_rules, want_digest, &mut res);
        res
    }
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
