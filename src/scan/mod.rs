//! The scanner: applies a [`RuleSet`] to every entry of an [`Evidence`] and returns findings and
//! coverage gaps. Cheap checks first (path globs, metadata); a file is opened only when a rule
//! needs its bytes or a finding needs its digest; each file is read once, sequentially.
//!
//! The scanner never writes anything and never decides the verdict; see [`crate::verdict`].

pub mod glob;
pub mod read;
pub mod time;

use crate::input::{Entry, EntryKind, Evidence, Listing};
use crate::model::{Bytes, EvPath, Finding, Gap, GapCause, rfc3339};
use crate::rules::set::PatternIds;
use crate::rules::{FileMatch, FileType, Matcher, ModeCond, RecordMode, RuleSet};
use globset::GlobSet;
use rayon::prelude::*;
use read::{Capture, Hashing};
use regex::bytes::{RegexSet, RegexSetBuilder};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Read};
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

/// Most distinct findings one rule produces for one file; further matching lines are counted
/// into the last one.
const MAX_DISTINCT_PER_FILE: usize = 50;
/// Longest excerpt kept, in bytes.
const EXCERPT_LEN: usize = 400;
/// Longest syslog record assembled from continuation lines; the rest is not matched as part
/// of the record (its lines are still matched one by one).
const MAX_RECORD: usize = 64 * 1024;

/// True when a line opens a new syslog record: a BSD time stamp (`Jan 19 23:26:52 `), optionally
/// after a `<pri>` or with the `<facility.level>` framing first, or an ns.log time
/// (`01/27/2020:08:14:09 `).
fn starts_syslog_record(line: &[u8]) -> bool {
    use std::sync::OnceLock;
    if !line
        .first()
        .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'<')
    {
        return false;
    }
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?-u)^(?:<[0-9]{1,3}>)?(?:[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} |<[A-Za-z0-9]+\.[A-Za-z]+> |[0-9]{2}/[0-9]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} )",
        )
        .expect("static regex")
    })
    .is_match(line)
}

/// Patterns of a fixed group of rules, compiled into one set so a haystack is searched once.
struct Combo {
    set: RegexSet,
    /// (rule index, local pattern ids by group)
    rules: Vec<(usize, PatternIds)>,
    /// Some rule matches whole syslog records rather than single lines.
    has_records: bool,
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

/// A line's time before the year of undated (syslog) lines is known: the number of year
/// roll-overs seen before it in its file is kept, the year is decided once the whole evidence
/// was read (see [`YearResolver`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelTime {
    Full(i64),
    NoYear {
        rollovers: u32,
        month: u32,
        day: u32,
        secs: u32,
    },
}

/// First and last dated line of a log, and its year roll-overs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogTimes {
    pub first: Option<RelTime>,
    pub last: Option<RelTime>,
    pub rollovers: u32,
    /// First fully dated line (an ns.log rotation starts with an undated newsyslog line).
    pub first_full: Option<i64>,
}

/// Turns [`RelTime`]s of one file into Unix seconds.
#[derive(Clone, Debug)]
pub struct YearResolver {
    /// Year of the file's last undated line, and the total roll-overs in the file.
    last_year: Option<(i32, u32)>,
    /// How the year was found, when it was inferred.
    pub inferred_from: Option<String>,
}

impl YearResolver {
    /// The resolver for one file. `newest_dated` is the newest fully dated line of the whole
    /// evidence: when the file's mtime lies more than a year after it, the copy did not keep
    /// times and that line is the better anchor.
    pub fn new(times: &LogTimes, mtime: i64, newest_dated: Option<i64>) -> YearResolver {
        let Some(RelTime::NoYear {
            month, day, secs, ..
        }) = times.last
        else {
            // Mostly dated lines: an undated line before the first dated one belongs to the
            // year that puts it just before that line.
            return match times.first {
                Some(RelTime::NoYear {
                    month, day, secs, ..
                }) => {
                    let anchor = times.first_full.unwrap_or(mtime);
                    YearResolver {
                        last_year: Some((time::year_of_last(anchor, month, day, secs), 0)),
                        inferred_from: Some("the first dated line of the file".to_owned()),
                    }
                }
                _ => YearResolver {
                    last_year: None,
                    inferred_from: None,
                },
            };
        };
        let (anchor, how) = match newest_dated {
            Some(n) if mtime > n + 366 * 86_400 => (
                n,
                "the newest dated line in the evidence (the file's modification time is more than a year later: the copy did not keep times)",
            ),
            _ => (mtime, "the file's modification time"),
        };
        YearResolver {
            last_year: Some((
                time::year_of_last(anchor, month, day, secs),
                times.rollovers,
            )),
            inferred_from: Some(how.to_owned()),
        }
    }

    /// Unix seconds of a line time, and whether its year was inferred.
    pub fn resolve(&self, t: RelTime) -> Option<(i64, bool)> {
        match t {
            RelTime::Full(x) => Some((x, false)),
            RelTime::NoYear {
                rollovers,
                month,
                day,
                secs,
            } => {
                let (year, total) = self.last_year?;
                let y = year - i32::try_from(total.saturating_sub(rollovers)).unwrap_or(0);
                time::with_year(y, month, day, secs).map(|x| (x, true))
            }
        }
    }
}

#[derive(Default)]
struct EntryResult {
    hits: Vec<Hit>,
    gaps: Vec<Gap>,
    read: Option<FileRead>,
    records: Vec<Record>,
    times: Option<LogTimes>,
}

/// One log line captured by a correlate rule.
#[derive(Clone, Debug)]
struct Record {
    /// The pattern (id into the rule set) that captured it; rules sharing a record pattern
    /// share its records.
    pattern: usize,
    key: Vec<u8>,
    value: Vec<u8>,
    actor: Vec<u8>,
    line: u64,
    text: Vec<u8>,
    time: Option<RelTime>,
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

    fn read_file(
        &self,
        ev: &dyn Evidence,
        e: &Entry,
        need_read: &[(usize, Vec<String>)],
        line_rules: &[usize],
        want_digest: bool,
        res: &mut EntryResult,
    ) {
        let file_rule = |r: usize| match &self.rules.rules[r].matcher {
            Matcher::File(f) => Some(f),
            _ => None,
        };
        let with_md5 = need_read
            .iter()
            .any(|(r, _)| file_rule(*r).is_some_and(|f| !f.md5.is_empty()));
        let content_rules: Vec<usize> = need_read
            .iter()
            .filter(|(r, _)| file_rule(*r).is_some_and(|f| !f.content.is_empty()))
            .map(|(r, _)| *r)
            .collect();
        // A rule never sees more than the scan-wide cap.
        let max_read = self.opts.max_read;
        let cap_of = |r: usize| {
            file_rule(r)
                .and_then(|f| f.max_bytes)
                .map_or(max_read, |m| m.min(max_read))
        };
        let capture_cap = content_rules.iter().map(|&r| cap_of(r)).max().unwrap_or(0);
        let file = match ev.open(e) {
            Ok(f) => f,
            Err(err) => {
                res.gaps.push(Gap::new(
                    e.path.clone(),
                    GapCause::Unreadable,
                    err.to_string(),
                    true,
                ));
                return;
            }
        };
        let mut src = Capture::new(
            Hashing::new(file, with_md5),
            usize::try_from(capture_cap).unwrap_or(usize::MAX),
        );
        let hash_rules = need_read
            .iter()
            .any(|(r, _)| file_rule(*r).is_some_and(|f| !f.sha256.is_empty() || !f.md5.is_empty()));
        // Logs are read whole. Other files: as far as the content rules look, or to the end
        // (up to --max-read) when a digest is needed; one byte more tells whether there was more.
        let limit = if !line_rules.is_empty() {
            u64::MAX
        } else if want_digest || hash_rules {
            max_read
        } else {
            capture_cap.min(max_read)
        };
        let mut failure: Option<(GapCause, String)> = None;
        if line_rules.is_empty() {
            if let Err(err) = io::copy(
                &mut (&mut src).take(limit.saturating_add(1)),
                &mut io::sink(),
            ) {
                failure = Some((GapCause::Unreadable, err.to_string()));
            }
        } else {
            failure = self.read_lines(&e.path, &mut src, line_rules, res);
        }
        let bytes = src.inner.bytes;
        let more = bytes > limit;
        let captured = std::mem::take(&mut src.buf);
        let (sha256, md5) = src.inner.finish();
        let to_end = failure.is_none() && !more;
        if to_end && bytes < e.size {
            failure = Some((
                GapCause::Shrank,
                format!("{} bytes listed, {} bytes read", e.size, bytes),
            ));
        }
        let complete = to_end && failure.is_none();
        if more && limit == max_read {
            // A gap that matters when a rule wanted more than it got, or needed the digest.
            let blocks = hash_rules
                || content_rules.iter().any(|&r| {
                    file_rule(r).is_some_and(|f| f.max_bytes.is_none_or(|m| m > max_read))
                });
            res.gaps.push(Gap::new(
                e.path.clone(),
                GapCause::TooLarge,
                format!("larger than --max-read ({max_read} bytes): only the first {max_read} bytes were examined, no digest"),
                blocks,
            ));
        }
        if let Some((cause, detail)) = failure {
            res.gaps.push(Gap::new(e.path.clone(), cause, detail, true));
        }
        let (mut sha, mut md5) = (
            complete.then_some(sha256),
            if complete { md5 } else { None },
        );
        if let Some((s, m)) = ev.stated_digests(e) {
            sha = s.or(sha);
            md5 = m.or(md5);
        }
        // Content and digest rules.
        let mut caps: Vec<u64> = content_rules.iter().map(|&r| cap_of(r)).collect();
        caps.sort_unstable();
        caps.dedup();
        let mut content_ok: HashMap<usize, Vec<String>> = HashMap::new();
        for cap in caps {
            let rules_here: Vec<usize> = content_rules
                .iter()
                .copied()
                .filter(|&r| cap_of(r) == cap)
                .collect();
            let hay = &captured[..captured
                .len()
                .min(usize::try_from(cap).unwrap_or(usize::MAX))];
            let combo = self.combo(&rules_here);
            let m = combo.set.matches(hay);
            for (r, ids) in &combo.rules {
                if let Some(matched) = group_holds(ids, |i| m.matched(i)) {
                    content_ok.insert(*r, self.describe_patterns(*r, &matched, ids));
                }
            }
        }
        for (r, why) in need_read {
            let Some(f) = file_rule(*r) else { continue };
            let mut why = why.clone();
            let mut location = None;
            if !f.content.is_empty() {
                match content_ok.get(r) {
                    Some(w) => {
                        why.extend(w.iter().cloned());
                        location = self.locate(*r, &captured);
                    }
                    None => continue,
                }
            }
            match hash_verdict(&f.sha256, sha.as_deref(), "sha256") {
                HashOutcome::Fails => continue,
                HashOutcome::Holds(w) => why.extend(w),
                HashOutcome::Unknown => {
                    // Digest needed but not computed (incomplete read): a gap already says so.
                    if !f.sha256.bad.is_empty() || !f.sha256.good.is_empty() {
                        continue;
                    }
                }
            }
            match hash_verdict(&f.md5, md5.as_deref(), "md5") {
                HashOutcome::Fails => continue,
                HashOutcome::Holds(w) => why.extend(w),
                HashOutcome::Unknown => {
                    if !f.md5.is_empty() {
                        continue;
                    }
                }
            }
            let (line, excerpt) = match location {
                Some((l, ex)) => (Some(l), Some(ex)),
                None => (None, None),
            };
            res.hits.push(Hit {
                rule: *r,
                line,
                excerpt,
                count: 1,
                last: None,
                reason: why.join("; "),
                time: None,
                last_time: None,
            });
        }
        // A finding carries the file's digest: hash the rest when the first read stopped early.
        let mut bytes = bytes;
        if sha.is_none() && more && limit < max_read && !res.hits.is_empty() {
            if let Some((digest, n)) = self.digest(ev, e) {
                sha = Some(digest);
                bytes += n;
            }
        }
        res.read = Some(FileRead {
            path: e.path.clone(),
            bytes,
            complete: complete || sha.is_some(),
            sha256: sha,
            from: None,
            to: None,
            year_inferred_from: None,
            times: res.times.take(),
        });
    }

    /// SHA-256 of a whole file (up to --max-read), and the bytes read for it.
    fn digest(&self, ev: &dyn Evidence, e: &Entry) -> Option<(String, u64)> {
        let mut h = Hashing::new(ev.open(e).ok()?, false);
        io::copy(
            &mut (&mut h).take(self.opts.max_read.saturating_add(1)),
            &mut io::sink(),
        )
        .ok()?;
        if h.bytes > self.opts.max_read || h.bytes < e.size {
            return None;
        }
        let n = h.bytes;
        Some((h.finish().0, n))
    }

    /// Reads a log through the line rules (gunzipping when the first two bytes say gzip), then
    /// to its end for the digest. Returns what stopped the read early, if anything.
    fn read_lines<R: Read>(
        &self,
        path: &EvPath,
        src: &mut R,
        line_rules: &[usize],
        res: &mut EntryResult,
    ) -> Option<(GapCause, String)> {
        // Two bytes decide gzip, however short the reads of the source are.
        let mut head = [0u8; 2];
        let mut n = 0;
        while n < head.len() {
            match src.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some((GapCause::Unreadable, e.to_string())),
            }
        }
        let gz = read::is_gzip(&head[..n]);
        let mut br = BufReader::with_capacity(read::CHUNK, (&head[..n]).chain(src));
        let combo = self.combo(line_rules);
        let mut agg = LineHits::default();
        let outcome = if gz {
            let mut dec = flate2::read::MultiGzDecoder::new(&mut br);
            read::for_each_chunk(&mut dec, |c, first| {
                self.match_lines(&combo, c, first, &mut agg)
            })
        } else {
            read::for_each_chunk(&mut br, |c, first| {
                self.match_lines(&combo, c, first, &mut agg)
            })
        };
        self.flush_record(&combo, &mut agg);
        res.times = agg.times.first.is_some().then_some(agg.times);
        res.records = std::mem::take(&mut agg.records);
        res.hits.extend(agg.into_hits());
        let stats = match outcome {
            Ok(stats) => stats,
            Err((err, stats)) => {
                let cause = if gz {
                    GapCause::CorruptGzip
                } else {
                    GapCause::Unreadable
                };
                return Some((
                    cause,
                    format!("{err} (after {} lines; those were examined)", stats.lines),
                ));
            }
        };
        if stats.cut_lines > 0 {
            res.gaps.push(Gap::new(
                path.clone(),
                GapCause::TooLarge,
                format!(
                    "{} lines longer than {} bytes were examined in pieces; a match across a cut can be missed",
                    stats.cut_lines,
                    read::MAX_LINE
                ),
                true,
            ));
        }
        // Trailing bytes after the gzip stream, and the digest of the whole file.
        io::copy(&mut br, &mut io::sink())
            .err()
            .map(|e| (GapCause::Unreadable, e.to_string()))
    }

    /// The compiled pattern set for a group of rules (built once per distinct group).
    fn combo(&self, rules: &[usize]) -> Arc<Combo> {
        let mut cache = self.combos.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(rules) {
            return c.clone();
        }
        let mut sources = Vec::new();
        let mut local_rules = Vec::new();
        let mut global_to_local: HashMap<usize, usize> = HashMap::new();
        for &r in rules {
            let ids = &self.rules.pattern_ids[r];
            let mut map = |g: &Vec<usize>| -> Vec<usize> {
                g.iter()
                    .map(|&gid| {
                        *global_to_local.entry(gid).or_insert_with(|| {
                            sources.push(self.rules.patterns[gid].as_str().to_owned());
                            sources.len() - 1
                        })
                    })
                    .collect()
            };
            let local = PatternIds {
                any: map(&ids.any),
                all: map(&ids.all),
                none: map(&ids.none),
            };
            local_rules.push((r, local));
        }
        let set = RegexSetBuilder::new(&sources)
            .unicode(false)
            .multi_line(true)
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .or_else(|_| RegexSet::new(&sources))
            .unwrap_or_else(|_| RegexSet::empty());
        let has_records = rules.iter().any(|&r| self.is_record_rule(r));
        let combo = Arc::new(Combo {
            set,
            rules: local_rules,
            has_records,
        });
        cache.insert(rules.to_vec(), combo.clone());
        combo
    }

    fn is_record_rule(&self, r: usize) -> bool {
        matches!(&self.rules.rules[r].matcher, Matcher::Lines(l) if l.records == RecordMode::Syslog)
    }

    fn match_lines(&self, combo: &Combo, chunk: &[u8], first: u64, agg: &mut LineHits) {
        // Records can span chunks, so with record rules every line is still assembled into
        // its record; only the matching is skipped for chunks in which nothing matches.
        let chunk_hit = combo.set.is_match(chunk);
        if !chunk_hit {
            agg.sample_times(chunk, first);
            if !combo.has_records {
                return;
            }
        }
        for (no, line) in read::lines(chunk, first) {
            // Every line of a chunk with a match is dated (for the findings' times).
            let t = if chunk_hit { agg.stamp(line) } else { None };
            if combo.has_records {
                if agg.pending.is_none() || starts_syslog_record(line) {
                    self.flush_record(combo, agg);
                    agg.pending = Some((no, line.to_vec(), false, t));
                } else if let Some((_, text, _, _)) = &mut agg.pending
                    && text.len() < MAX_RECORD
                {
                    text.push(b'\n');
                    text.extend_from_slice(&line[..line.len().min(MAX_RECORD - text.len())]);
                }
            }
            if !chunk_hit {
                continue;
            }
            let m = combo.set.matches(line);
            if !m.matched_any() {
                continue;
            }
            // A record is examined only if one of its lines matched some pattern.
            if let Some((_, _, hit, _)) = &mut agg.pending {
                *hit = true;
            }
            let mut captured = Vec::new();
            for (r, ids) in &combo.rules {
                if let Matcher::Correlate(_) = &self.rules.rules[*r].matcher {
                    self.capture(*r, ids, |i| m.matched(i), (no, t), line, &mut captured, agg);
                } else if !self.is_record_rule(*r)
                    && let Some(hit) = group_holds(ids, |i| m.matched(i))
                {
                    agg.add(*r, no, t, line, || self.line_reason(*r, ids, &hit));
                }
            }
        }
    }

    /// "log line matches `a`, `b`": the rule's patterns that matched (local ids of `ids`).
    fn line_reason(&self, r: usize, ids: &PatternIds, matched: &[usize]) -> String {
        let Matcher::Lines(l) = &self.rules.rules[r].matcher else {
            return String::new();
        };
        let shown: Vec<String> = ids
            .any
            .iter()
            .chain(&ids.all)
            .zip(l.patterns.any.iter().chain(&l.patterns.all))
            .filter(|(i, _)| matched.contains(i))
            .take(4)
            .map(|(_, p)| format!("`{}`", p.source))
            .collect();
        let what = if l.records == RecordMode::Syslog {
            "log record"
        } else {
            "log line"
        };
        format!("{what} matches {}", shown.join(", "))
    }

    /// Evaluates the record rules on the record collected so far.
    fn flush_record(&self, combo: &Combo, agg: &mut LineHits) {
        let Some((no, text, true, t)) = agg.pending.take() else {
            return;
        };
        let m = combo.set.matches(&text);
        if !m.matched_any() {
            return;
        }
        for (r, ids) in &combo.rules {
            if self.is_record_rule(*r)
                && let Some(hit) = group_holds(ids, |i| m.matched(i))
            {
                agg.add(*r, no, t, &text, || self.line_reason(*r, ids, &hit));
            }
        }
    }

    /// Records the captures of a correlate rule's `first` / `then` patterns on one line.
    /// Records the captures of a correlate rule's `first` / `then` patterns on one line, once
    /// per pattern however many rules share it.
    #[allow(clippy::too_many_arguments)]
    fn capture<'l>(
        &self,
        r: usize,
        local: &PatternIds,
        matched: impl Fn(usize) -> bool,
        (no, t): (u64, Option<RelTime>),
        line: &'l [u8],
        cache: &mut Vec<(usize, Option<regex::bytes::Captures<'l>>)>,
        agg: &mut LineHits,
    ) {
        let global = &self.rules.pattern_ids[r].any;
        for (&l, &g) in local.any.iter().zip(global) {
            if !matched(l) || cache.iter().any(|(id, _)| *id == g) {
                continue;
            }
            cache.push((g, self.rules.patterns[g].captures(line)));
            let Some(caps) = &cache[cache.len() - 1].1 else {
                continue;
            };
            let field = |name: &str| {
                caps.name(name)
                    .map_or_else(Vec::new, |m| m.as_bytes().to_vec())
            };
            agg.records.push(Record {
                pattern: g,
                key: field("key"),
                value: field("value"),
                actor: field("actor"),
                line: no,
                // Only `then` records become findings; other records need no text.
                text: if self.then_patterns.contains(&g) {
                    excerpt(line, 0)
                } else {
                    Vec::new()
                },
                time: t,
            });
        }
    }

    fn describe_patterns(&self, r: usize, matched: &[usize], local: &PatternIds) -> Vec<String> {
        let Matcher::File(f) = &self.rules.rules[r].matcher else {
            return Vec::new();
        };
        let names: Vec<&str> = f
            .content
            .any
            .iter()
            .chain(&f.content.all)
            .map(|p| p.source.as_str())
            .collect();
        let ids: Vec<usize> = local.any.iter().chain(&local.all).copied().collect();
        let shown: Vec<String> = ids
            .iter()
            .zip(names)
            .filter(|(i, _)| matched.contains(i))
            .take(4)
            .map(|(_, n)| format!("`{n}`"))
            .collect();
        vec![format!("content matches {}", shown.join(", "))]
    }

    /// Line number and text of the first match of the rule's first matching pattern.
    fn locate(&self, r: usize, hay: &[u8]) -> Option<(u64, Vec<u8>)> {
        let ids = &self.rules.pattern_ids[r];
        let m = ids
            .any
            .iter()
            .chain(&ids.all)
            .filter_map(|&g| self.rules.patterns[g].find(hay))
            .min_by_key(|m| m.start())?;
        let start = memchr::memrchr(b'\n', &hay[..m.start()]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &hay[m.start()..]).map_or(hay.len(), |i| m.start() + i);
        let line = memchr::memchr_iter(b'\n', &hay[..start]).count() as u64 + 1;
        let text = &hay[start..end];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        Some((line, excerpt(text, m.start() - start)))
    }
}

/// Runs the example files of every rule through the real matcher. Returns the failures as
/// `(rule id, origin, message)`.
pub fn run_examples(rules: &RuleSet) -> (usize, Vec<(String, String, String)>) {
    let scanner = Scanner::new(
        rules,
        ScanOptions {
            threads: 1,
            ..ScanOptions::default()
        },
    );
    let mut failures = Vec::new();
    let mut count = 0;
    for (i, rule) in rules.rules.iter().enumerate() {
        for ex in &rule.examples {
            count += 1;
            let ev = ExampleEvidence::new(ex);
            let out = scanner.scan(&ev);
            let fired = out.findings.iter().any(|f| f.rule == rule.id);
            if fired != ex.expect_match {
                let what = if ex.expect_match {
                    "did not match"
                } else {
                    "matched"
                };
                let others = describe_example_miss(rules, i, ex);
                failures.push((
                    rule.id.clone(),
                    ex.origin.to_string(),
                    format!("example {what}{others}"),
                ));
            }
        }
    }
    (count, failures)
}

fn describe_example_miss(rules: &RuleSet, i: usize, ex: &crate::rules::Example) -> String {
    let rel = ex.path.relative();
    let rule = &rules.rules[i];
    let applies = match &rule.matcher {
        Matcher::File(_) => rules.file_rules_for(rel).contains(&i),
        Matcher::Lines(_) | Matcher::Correlate(_) => rules.line_rules_for(rel).contains(&i),
    };
    if applies {
        String::new()
    } else {
        format!(
            " (the rule does not apply to path {})",
            ex.path.to_lossless_string()
        )
    }
}

/// A small evidence built from a rule example: the example file plus its `also` files.
struct ExampleEvidence {
    entries: Vec<Entry>,
    contents: Vec<Vec<u8>>,
    /// The example's own file, the one stated digests belong to.
    main: EvPath,
    digests: (Option<String>, Option<String>),
}

impl ExampleEvidence {
    fn new(ex: &crate::rules::Example) -> Self {
        let kind = match ex.file_type {
            FileType::Dir => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            FileType::File | FileType::Any => EntryKind::File,
        };
        let entry = |path: &EvPath, kind: EntryKind, content: &[u8]| Entry {
            path: path.clone(),
            kind,
            size: content.len() as u64,
            mode: ex.mode,
            uid: ex.uid,
            gid: ex.gid,
            mtime: ex.mtime,
            btime: ex.btime,
            link_target: None,
            identity: None,
        };
        let mut files: Vec<(Entry, Vec<u8>)> =
            vec![(entry(&ex.path, kind, &ex.content), ex.content.clone())];
        for (p, c) in &ex.also {
            files.push((entry(p, EntryKind::File, c), c.clone()));
        }
        files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let (entries, contents) = files.into_iter().unzip();
        ExampleEvidence {
            entries,
            contents,
            main: ex.path.clone(),
            digests: (ex.sha256.clone(), ex.md5.clone()),
        }
    }
}

impl Evidence for ExampleEvidence {
    fn kind(&self) -> &'static str {
        "example"
    }
    fn list(&self) -> Listing {
        Listing {
            entries: self.entries.clone(),
            gaps: Vec::new(),
        }
    }
    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        let i = self
            .entries
            .iter()
            .position(|e| e.path == entry.path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        Ok(Box::new(&self.contents[i][..]))
    }
    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        self.entries
            .iter()
            .any(|e| &e.path == path)
            .then(|| path.clone())
    }
    fn stated_digests(&self, entry: &Entry) -> Option<(Option<String>, Option<String>)> {
        (entry.path == self.main).then(|| self.digests.clone())
    }
}

/// Checks the metadata conditions of a file rule; returns the reasons when all hold.
fn metadata_holds(f: &FileMatch, e: &Entry) -> Option<Vec<String>> {
    let mut why = Vec::new();
    let type_ok = match f.file_type {
        FileType::File => e.kind == EntryKind::File,
        FileType::Dir => e.kind == EntryKind::Dir,
        FileType::Symlink => e.kind == EntryKind::Symlink,
        FileType::Any => true,
    };
    if !type_ok {
        return None;
    }
    if !f.paths.is_empty() {
        why.push(format!("path matches {}", quote_list(&f.paths)));
    }
    if let Some((src, re)) = &f.name {
        if !re.is_match(e.path.file_name()) {
            return None;
        }
        why.push(format!("name matches `{src}`"));
    }
    if let Some(b) = &f.size {
        if !b.holds(e.size) {
            return None;
        }
        why.push(format!("size {} bytes", e.size));
    }
    for m in &f.mode {
        if !m.holds(e.mode) {
            return None;
        }
    }
    if !f.mode.is_empty() {
        let perms = e.mode & 0o7777;
        // A rule that only asks for bits to be absent is not about setuid; do not suggest it is.
        let flag = match f.mode.as_slice() {
            [ModeCond::None(_)] => "",
            _ if perms & 0o4000 != 0 => " (setuid)",
            _ if perms & 0o2000 != 0 => " (setgid)",
            _ => "",
        };
        why.push(format!("mode {perms:04o}{flag}"));
    }
    if let Some(u) = f.uid {
        if e.uid != u {
            return None;
        }
        why.push(format!("uid {u}"));
    }
    if let Some(g) = f.gid {
        if e.gid != g {
            return None;
        }
        why.push(format!("gid {g}"));
    }
    if let Some(b) = &f.mtime {
        if !b.holds(e.mtime) {
            return None;
        }
        why.push(format!("modified {}", rfc3339(e.mtime)));
    }
    if f.timestomp {
        match e.btime {
            Some(b) if e.mtime < b => why.push(format!(
                "modified {} before it was created {} (time stamp set back)",
                rfc3339(e.mtime),
                rfc3339(b)
            )),
            _ => return None,
        }
    }
    Some(why)
}

fn quote_list(globs: &[String]) -> String {
    if globs.len() == 1 {
        format!("`{}`", globs[0])
    } else {
        format!("one of {} globs", globs.len())
    }
}

/// Evaluates a rule's pattern groups against a match predicate. Returns the ids of the
/// matching `any`/`all` patterns when the groups hold.
fn group_holds(ids: &PatternIds, matched: impl Fn(usize) -> bool) -> Option<Vec<usize>> {
    if ids.none.iter().any(|&i| matched(i)) {
        return None;
    }
    if !ids.all.iter().all(|&i| matched(i)) {
        return None;
    }
    let any: Vec<usize> = ids.any.iter().copied().filter(|&i| matched(i)).collect();
    if !ids.any.is_empty() && any.is_empty() {
        return None;
    }
    Some(any.into_iter().chain(ids.all.iter().copied()).collect())
}

enum HashOutcome {
    /// The list is empty or the digest satisfies it.
    Holds(Vec<String>),
    /// Known-bad list given and digest not in it, or digest in the known-good list.
    Fails,
    /// A list is given but the digest is not known.
    Unknown,
}

fn hash_verdict(lists: &crate::rules::HashLists, digest: Option<&str>, name: &str) -> HashOutcome {
    if lists.is_empty() {
        return HashOutcome::Holds(Vec::new());
    }
    let Some(d) = digest else {
        return HashOutcome::Unknown;
    };
    if lists.good.binary_search_by(|g| g.as_str().cmp(d)).is_ok() {
        return HashOutcome::Fails;
    }
    if lists.bad.is_empty() {
        return HashOutcome::Holds(vec![format!("{name} {d} is not in the known-good list")]);
    }
    if lists.bad.binary_search_by(|g| g.as_str().cmp(d)).is_ok() {
        HashOutcome::Holds(vec![format!("{name} {d} is in the known-bad list")])
    } else {
        HashOutcome::Fails
    }
}

/// Cuts a line to at most [`EXCERPT_LEN`] bytes around position `at`.
fn excerpt(line: &[u8], at: usize) -> Vec<u8> {
    if line.len() <= EXCERPT_LEN {
        return line.to_vec();
    }
    let start = at
        .saturating_sub(EXCERPT_LEN / 4)
        .min(line.len() - EXCERPT_LEN);
    let mut out = Vec::with_capacity(EXCERPT_LEN + 6);
    if start > 0 {
        out.extend_from_slice(b"...");
    }
    out.extend_from_slice(&line[start..start + EXCERPT_LEN]);
    if start + EXCERPT_LEN < line.len() {
        out.extend_from_slice(b"...");
    }
    out
}

/// Line hits of one file, collapsed: identical lines (ignoring timestamps and process ids)
/// become one finding with a count, first and last line.
#[derive(Default)]
struct LineHits {
    /// rule → normalised line → aggregate; BTreeMap keeps the output deterministic.
    by_rule: BTreeMap<usize, RuleLines>,
    /// Lines captured for correlate rules, compared after every file was read.
    records: Vec<Record>,
    /// The syslog record being assembled: first line number, text, and whether one of its
    /// lines matched a pattern (records none of whose lines match are not examined).
    pending: Option<(u64, Vec<u8>, bool, Option<RelTime>)>,
    /// Year roll-overs and first/last dated line of the file.
    tracker: time::YearTracker,
    times: LogTimes,
}

/// Distinct normalised lines of one rule in first-seen order, and their aggregates.
type RuleLines = (Vec<Vec<u8>>, HashMap<Vec<u8>, Agg>);

/// A group of correlate hits: first record, last record, count, reason.
type Group<'a> = (&'a Record, &'a Record, u64, String);

struct Agg {
    /// What matched on the first line of this group.
    reason: String,
    first_time: Option<RelTime>,
    last_time: Option<RelTime>,
    first: (u64, Vec<u8>),
    last: (u64, Vec<u8>),
    count: u64,
    overflow: bool,
}

impl LineHits {
    /// Dates one line and feeds the year tracker and the file's first/last times.
    fn stamp(&mut self, line: &[u8]) -> Option<RelTime> {
        let t = match time::parse(line)? {
            time::Stamp::Full(x) => RelTime::Full(x),
            time::Stamp::NoYear { month, day, secs } => RelTime::NoYear {
                rollovers: self.tracker.see(month),
                month,
                day,
                secs,
            },
        };
        if self.times.first.is_none() {
            self.times.first = Some(t);
        }
        if let (None, RelTime::Full(x)) = (self.times.first_full, t) {
            self.times.first_full = Some(x);
        }
        self.times.last = Some(t);
        self.times.rollovers = self.tracker.rollovers;
        Some(t)
    }

    /// For a chunk nothing matched in: dates only its first and last dated lines, enough for
    /// the file's time range and for counting year roll-overs between chunks.
    fn sample_times(&mut self, chunk: &[u8], first: u64) {
        const LOOK: usize = 64;
        if let Some((_, l)) = read::lines(chunk, first)
            .take(LOOK)
            .find(|(_, l)| time::parse(l).is_some())
        {
            self.stamp(l);
        }
        if let Some(l) = read::lines_rev(chunk)
            .take(LOOK)
            .find(|l| time::parse(l).is_some())
        {
            self.stamp(l);
        }
    }

    fn add(
        &mut self,
        rule: usize,
        no: u64,
        t: Option<RelTime>,
        line: &[u8],
        reason: impl FnOnce() -> String,
    ) {
        let (order, map) = self.by_rule.entry(rule).or_default();
        let mut key = normalise(line);
        if !map.contains_key(&key) && map.len() >= MAX_DISTINCT_PER_FILE {
            key = b"\0overflow".to_vec();
        }
        let overflow = key == b"\0overflow";
        match map.get_mut(&key) {
            Some(a) => {
                a.count += 1;
                a.last = (no, excerpt(line, 0));
                a.last_time = t.or(a.last_time);
            }
            None => {
                order.push(key.clone());
                map.insert(
                    key,
                    Agg {
                        first: (no, excerpt(line, 0)),
                        last: (no, excerpt(line, 0)),
                        count: 1,
                        overflow,
                        reason: reason(),
                        first_time: t,
                        last_time: t,
                    },
                );
            }
        }
    }

    fn into_hits(self) -> Vec<Hit> {
        let mut out = Vec::new();
        for (rule, (order, mut map)) in self.by_rule {
            for key in order {
                let Some(a) = map.remove(&key) else { continue };
                let mut reason = a.reason;
                if a.overflow {
                    reason.push_str(&format!(
                        "; more than {MAX_DISTINCT_PER_FILE} distinct lines matched, the rest are counted here"
                    ));
                }
                out.push(Hit {
                    rule,
                    line: Some(a.first.0),
                    excerpt: Some(a.first.1),
                    count: a.count,
                    last: Some(a.last),
                    reason,
                    time: a.first_time,
                    last_time: a.last_time,
                });
            }
        }
        out
    }
}

/// Compares the records of every correlate rule across all files. Returns hits with the index
/// of the entry (file) they belong to, grouped by (rule, file, key or value).
fn correlate(rules: &RuleSet, entries: &[Entry], records: &[(usize, Record)]) -> Vec<(usize, Hit)> {
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

/// A line with its volatile parts (syslog timestamp, `[pid]`, Apache and ns.log times) removed,
/// so that the same event repeated every minute collapses into one finding.
fn normalise(line: &[u8]) -> Vec<u8> {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?-u)^[A-Z][a-z]{2} [ 0-9]?[0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} |\[[0-9]+\]|\[[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9:]+ [-+][0-9]{4}\]|[0-9]{2}/[0-9]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}|Time: [0-9]+ microsecs",
        )
        .expect("static regex")
    });
    re.replace_all(line, &b""[..]).into_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_record_starts() {
        assert!(starts_syslog_record(
            b"Jan 19 23:26:52 <local7.notice> ns bash[1297]: root on"
        ));
        assert!(starts_syslog_record(
            b"Aug  9 12:56:00 <local7.notice> ns bash[1]: x"
        ));
        assert!(starts_syslog_record(
            b"<Local7.notice> ns bash[3632]: nobody on (null)"
        ));
        assert!(starts_syslog_record(b"<134>Jun 18 18:18:42 svm_service: x"));
        assert!(starts_syslog_record(
            b"11/30/2015:17:40:17 GMT ns 0-PPE-1 : x"
        ));
        assert!(!starts_syslog_record(
            b"https://95.179.163.186/wp-content/uploads/2018/09/x -o"
        ));
        assert!(!starts_syslog_record(
            b"/tmp/.init/httpd; chmod 744 /tmp/.init/httpd; echo '* * * * *"
        ));
    }

    #[test]
    fn networks() {
        assert!(same_network(b"198.51.100.23", b"198.51.100.99", Some(24)));
        assert!(!same_network(b"198.51.100.23", b"203.0.113.77", Some(24)));
        assert!(!same_network(b"198.51.100.23", b"198.51.100.99", None));
        assert!(same_network(b"x", b"x", None));
        assert!(same_network(b"2001:db8::1", b"2001:db8::2", Some(24)));
    }

    #[test]
    fn normalise_drops_times_and_pids() {
        let a =
            normalise(b"Jan 19 23:00:06 <cron.info> ns /usr/sbin/cron[14451]: (nobody) CMD (x)");
        let b =
            normalise(b"Jan 19 23:01:06 <cron.info> ns /usr/sbin/cron[14999]: (nobody) CMD (x)");
        assert_eq!(a, b);
        let c = normalise(b"1.2.3.4 - - [13/Jan/2020:08:16:30 +0000] \"GET /a HTTP/1.1\" 200");
        let d = normalise(b"1.2.3.4 - - [14/Jan/2020:09:16:30 +0000] \"GET /a HTTP/1.1\" 200");
        assert_eq!(c, d);
    }

    #[test]
    fn excerpts_are_bounded() {
        let long = vec![b'a'; 5000];
        let e = excerpt(&long, 2500);
        assert!(e.len() <= EXCERPT_LEN + 6);
        assert!(e.starts_with(b"...") && e.ends_with(b"..."));
        assert_eq!(excerpt(b"short", 0), b"short");
    }

    #[test]
    fn groups() {
        let ids = PatternIds {
            any: vec![0, 1],
            all: vec![2],
            none: vec![3],
        };
        assert_eq!(group_holds(&ids, |i| i == 1 || i == 2), Some(vec![1, 2]));
        assert_eq!(group_holds(&ids, |i| i == 1), None);
        assert_eq!(group_holds(&ids, |i| i != 0), None);
    }
}
