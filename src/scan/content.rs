//! File rules: metadata conditions, content patterns over the first bytes of a file, and
//! known-bad / known-good digests. A file is read once, sequentially; what could not be read
//! becomes a gap, never a silent "no match".

use super::lines::excerpt;
use super::patterns::group_holds;
use super::read::{Capture, Hashing};
use super::{EntryResult, FileRead, Hit, Scanner, Stock};
use crate::input::{Entry, EntryKind, Evidence};
use crate::model::{Gap, GapCause, Timestamp};
use crate::rules::indicators::{Assessment, Thresholds};
use crate::rules::set::PatternIds;
use crate::rules::{BaselineCond, FileMatch, FileType, Matcher, ModeCond};
use std::collections::HashMap;
use std::io::{self, Read};

/// Bytes read to tell whether a file can run (an ELF header or `#!`).
const HEAD_BYTES: u64 = 4;

/// How one file is read for its rules, decided before a byte is read.
struct ReadPlan {
    /// Rules that look at the bytes: content patterns, indicators, the first bytes.
    content_rules: Vec<usize>,
    /// Bytes kept for them.
    capture_cap: u64,
    /// Bytes read (one more tells whether there was more).
    limit: u64,
    with_md5: bool,
    /// Some rule needs a digest (known-bad or known-good lists).
    hash_rules: bool,
}

/// What reading one file produced.
struct ReadOutcome {
    bytes: u64,
    /// The file went on past the limit.
    more: bool,
    captured: Vec<u8>,
    sha256: Option<String>,
    md5: Option<String>,
    complete: bool,
}

impl Scanner<'_> {
    fn file_rule(&self, r: usize) -> Option<&FileMatch> {
        match &self.rules.rule(r).matcher {
            Matcher::File(f) => Some(f),
            _ => None,
        }
    }

    /// Bytes of the file a rule examines; never more than the scan-wide cap.
    fn cap_of(&self, r: usize) -> u64 {
        let max_read = self.opts.max_read;
        match self.file_rule(r) {
            Some(f) if f.content.is_empty() && f.indicators.is_none() => {
                f.max_bytes.unwrap_or(HEAD_BYTES).min(max_read)
            }
            f => f
                .and_then(|f| f.max_bytes)
                .map_or(max_read, |m| m.min(max_read)),
        }
    }

    fn read_plan(
        &self,
        need_read: &[(usize, Vec<String>)],
        line_rules: &[usize],
        want_digest: bool,
    ) -> ReadPlan {
        let any = |p: &dyn Fn(&FileMatch) -> bool| {
            need_read
                .iter()
                .any(|(r, _)| self.file_rule(*r).is_some_and(p))
        };
        let content_rules: Vec<usize> = need_read
            .iter()
            .filter(|(r, _)| {
                self.file_rule(*r).is_some_and(|f| {
                    !f.content.is_empty() || f.executable.is_some() || f.indicators.is_some()
                })
            })
            .map(|(r, _)| *r)
            .collect();
        let capture_cap = content_rules
            .iter()
            .map(|&r| self.cap_of(r))
            .max()
            .unwrap_or(0);
        let hash_rules = any(&|f| !f.sha256.is_empty() || !f.md5.is_empty());
        // Logs are read whole, up to --max-file-bytes. Other files: as far as the content rules
        // look, or to the end (up to --max-read) when a digest is needed.
        let limit = if !line_rules.is_empty() {
            self.opts.max_file_bytes
        } else if want_digest || hash_rules {
            self.opts.max_read
        } else {
            capture_cap.min(self.opts.max_read)
        };
        ReadPlan {
            content_rules,
            capture_cap,
            limit,
            with_md5: any(&|f| !f.md5.is_empty()),
            hash_rules,
        }
    }

    pub(super) fn read_file(
        &self,
        ev: &dyn Evidence,
        e: &Entry,
        need_read: &[(usize, Vec<String>)],
        line_rules: &[usize],
        want_digest: bool,
        res: &mut EntryResult,
    ) {
        let plan = self.read_plan(need_read, line_rules, want_digest);
        let Some(mut out) = self.read_bytes(ev, e, &plan, line_rules, res) else {
            return;
        };
        if let Some((s, m)) = ev.stated_digests(e) {
            out.sha256 = s.or(out.sha256);
            out.md5 = m.or(out.md5);
        }
        let content_ok = self.content_matches(&plan.content_rules, &out.captured);
        let mut assessed = Assessed::default();
        for (r, why) in need_read {
            if let Some(hit) = self.judge(e, *r, why, &content_ok, &out, &mut assessed) {
                res.hits.push(hit);
            }
        }
        // A finding carries the file's digest: hash the rest when the first read stopped early.
        let mut bytes = out.bytes;
        if out.sha256.is_none()
            && out.more
            && plan.limit < self.opts.max_read
            && !res.hits.is_empty()
            && let Some((digest, n)) = self.digest(ev, e)
        {
            out.sha256 = Some(digest);
            bytes += n;
        }
        res.read = Some(Box::new(FileRead {
            path: e.path.clone(),
            bytes,
            complete: out.complete || out.sha256.is_some(),
            sha256: out.sha256,
            from: None,
            to: None,
            year_inferred_from: None,
            times: res.times.take(),
            shape: None,
        }));
    }

    /// Reads the file as planned (through the line rules when it is a log); what stopped the
    /// read early, or left a rule short of the bytes it wanted, becomes a gap.
    fn read_bytes(
        &self,
        ev: &dyn Evidence,
        e: &Entry,
        plan: &ReadPlan,
        line_rules: &[usize],
        res: &mut EntryResult,
    ) -> Option<ReadOutcome> {
        let file = match ev.open(e) {
            Ok(f) => f,
            Err(err) => {
                let gap = Gap::new(e.path.clone(), GapCause::Unreadable, err.to_string(), true);
                res.gaps.push(gap);
                return None;
            }
        };
        let mut src = Capture::new(
            Hashing::new(file, plan.with_md5),
            usize::try_from(plan.capture_cap).unwrap_or(usize::MAX),
        );
        // The listed size, capped: a buffer grown by doubling would need half as much again.
        src.reserve(usize::try_from(plan.capture_cap.min(e.size)).unwrap_or(0));
        let limit = plan.limit;
        let mut failure = if line_rules.is_empty() {
            io::copy(
                &mut (&mut src).take(limit.saturating_add(1)),
                &mut io::sink(),
            )
            .err()
            .map(|err| (GapCause::Unreadable, err.to_string()))
        } else {
            let mut bounded = (&mut src).take(limit.saturating_add(1));
            self.read_lines(&e.path, &mut bounded, line_rules, res)
        };
        let bytes = src.inner.bytes;
        let more = bytes > limit;
        let captured = std::mem::take(&mut src.buf);
        let (sha256, md5) = src.inner.finish();
        let to_end = failure.is_none() && !more;
        if to_end && bytes < e.size {
            let detail = format!("{} bytes listed, {} bytes read", e.size, bytes);
            failure = Some((GapCause::Shrank, detail));
        }
        let complete = to_end && failure.is_none();
        if more {
            self.too_large_gap(e, plan, !line_rules.is_empty(), res);
        }
        if let Some((cause, detail)) = failure {
            res.gaps.push(Gap::new(e.path.clone(), cause, detail, true));
        }
        Some(ReadOutcome {
            bytes,
            more,
            captured,
            sha256: complete.then_some(sha256),
            md5: if complete { md5 } else { None },
            complete,
        })
    }

    /// The gap for a file that went on past what was read.
    fn too_large_gap(&self, e: &Entry, plan: &ReadPlan, log: bool, res: &mut EntryResult) {
        let max_read = self.opts.max_read;
        if log {
            let gap = Gap::new(
                e.path.clone(),
                GapCause::TooLarge,
                too_large_log(plan.limit),
                true,
            );
            res.gaps.push(gap);
        } else if plan.limit == max_read {
            // A gap that matters when a rule wanted more than it got, or needed the digest.
            let blocks = plan.hash_rules
                || plan.content_rules.iter().any(|&r| {
                    self.file_rule(r).is_some_and(|f| {
                        (!f.content.is_empty() || f.indicators.is_some())
                            && f.max_bytes.is_none_or(|m| m > max_read)
                    })
                });
            res.gaps.push(Gap::new(
                e.path.clone(),
                GapCause::TooLarge,
                format!("larger than --max-read ({max_read} bytes): only the first {max_read} bytes were examined, no digest"),
                blocks,
            ));
        }
    }

    /// The content rules whose patterns hold on the bytes each examines, with the reasons.
    fn content_matches(&self, rules: &[usize], captured: &[u8]) -> HashMap<usize, Vec<String>> {
        let mut caps: Vec<u64> = rules.iter().map(|&r| self.cap_of(r)).collect();
        caps.sort_unstable();
        caps.dedup();
        let mut ok: HashMap<usize, Vec<String>> = HashMap::new();
        for cap in caps {
            let here: Vec<usize> = rules
                .iter()
                .copied()
                .filter(|&r| self.cap_of(r) == cap)
                .collect();
            let hay = &captured[..captured.len().min(cap_len(cap))];
            let combo = self.combo(&here);
            let m = combo.set.matches(hay);
            for (r, ids) in &combo.rules {
                if let Some(matched) = group_holds(ids, |i| m.matched(i)) {
                    ok.insert(*r, self.describe_patterns(*r, &matched, ids));
                }
            }
        }
        ok
    }

    /// One rule that needed the bytes: does it hold, and why?
    fn judge(
        &self,
        e: &Entry,
        r: usize,
        why: &[String],
        content_ok: &HashMap<usize, Vec<String>>,
        out: &ReadOutcome,
        assessed: &mut Assessed,
    ) -> Option<Hit> {
        let f = self.file_rule(r)?;
        let mut why = why.to_vec();
        let mut location = None;
        if !f.content.is_empty() {
            why.extend(content_ok.get(&r)?.iter().cloned());
            location = self.locate(r, &out.captured);
        }
        if let Some(ic) = &f.indicators {
            let hay = &out.captured[..out.captured.len().min(cap_len(self.cap_of(r)))];
            let a = assessed.get(self, r, hay);
            let t = Thresholds {
                min: ic.min,
                min_rules: if ic.list.is_empty() { ic.min_rules } else { 1 },
            };
            if a.is_tool(t) != ic.as_data {
                return None;
            }
            why.push(a.describe(t));
            location = location.or_else(|| a.first.clone());
        }
        if let Some(want) = f.executable
            && e.mode & 0o111 == 0
        {
            let runs = starts_runnable(&out.captured);
            if runs != want {
                return None;
            }
            why.push(if runs {
                "no execute bit, but it starts with an ELF header or `#!`".to_owned()
            } else {
                "no execute bit, and it is neither an ELF program nor a `#!` script".to_owned()
            });
        }
        for (lists, digest, name) in [
            (&f.sha256, out.sha256.as_deref(), "sha256"),
            (&f.md5, out.md5.as_deref(), "md5"),
        ] {
            match hash_verdict(lists, digest, name) {
                HashOutcome::Fails => return None,
                HashOutcome::Holds(w) => why.extend(w),
                // Digest needed but not computed (incomplete read): a gap already says so.
                HashOutcome::Unknown => return None,
            }
        }
        let (line, excerpt) = location.map_or((None, None), |(l, ex)| (Some(l), Some(ex)));
        Some(Hit {
            rule: r,
            line,
            excerpt,
            count: 1,
            last: None,
            reason: why.join("; "),
            time: None,
            last_time: None,
        })
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
    fn describe_patterns(&self, r: usize, matched: &[usize], local: &PatternIds) -> Vec<String> {
        let Matcher::File(f) = &self.rules.rule(r).matcher else {
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
        let ids = self.rules.patterns_of(r);
        let m = ids
            .any
            .iter()
            .chain(&ids.all)
            .filter_map(|&g| self.rules.pattern(g).find(hay))
            .min_by_key(|m| m.start())?;
        let start = memchr::memrchr(b'\n', &hay[..m.start()]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &hay[m.start()..]).map_or(hay.len(), |i| m.start() + i);
        let line = memchr::memchr_iter(b'\n', &hay[..start]).count() as u64 + 1;
        let text = &hay[start..end];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        Some((line, excerpt(text, m.start() - start)))
    }
}

fn cap_len(cap: u64) -> usize {
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// Indicator assessments of one file, per indicator set and number of bytes examined: rules
/// that share the rules' indicators share one pass over the file.
#[derive(Default)]
struct Assessed(Vec<((Option<usize>, usize), Assessment)>);

impl Assessed {
    fn get(&mut self, sc: &Scanner<'_>, rule: usize, hay: &[u8]) -> &Assessment {
        let (whose, set) = sc.rules.indicators_for(rule);
        let key = (whose, hay.len());
        let at = match self.0.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.0.push((key, set.assess(hay)));
                self.0.len() - 1
            }
        };
        &self.0[at].1
    }
}

/// Why a log was cut at `--max-file-bytes`.
pub(super) fn too_large_log(limit: u64) -> String {
    format!(
        "larger than --max-file-bytes ({}): only the first {} were examined, no digest",
        super::human_bytes(limit),
        super::human_bytes(limit)
    )
}

/// Checks the metadata conditions of a file rule (the baseline included); returns the reasons
/// when all hold.
pub(super) fn metadata_holds(f: &FileMatch, e: &Entry, stock: &Stock<'_>) -> Option<Vec<String>> {
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
        why.push(format!("modified {}", Timestamp::from_unix(e.mtime)));
    }
    if let Some(c) = f.baseline {
        why.push(baseline_holds(c, e, stock)?);
    }
    if let Some(want) = f.executable
        && e.mode & 0o111 != 0
    {
        // An execute bit decides on metadata; without one the first bytes decide.
        if !want {
            return None;
        }
        why.push("an execute bit is set".to_owned());
    }
    if f.timestomp {
        match e.btime {
            Some(b) if e.mtime < b => why.push(format!(
                "modified {} before it was created {} (time stamp set back)",
                Timestamp::from_unix(e.mtime),
                Timestamp::from_unix(b)
            )),
            _ => return None,
        }
    }
    Some(why)
}

/// The reason a baseline condition holds for `e`, or `None` when it does not.
fn baseline_holds(c: BaselineCond, e: &Entry, stock: &Stock<'_>) -> Option<String> {
    let b = stock.baseline;
    let fw = &stock.firmware;
    let listed = |entry: &crate::rules::baseline::Entry| {
        format!(
            "{}:{} (`{}`, {})",
            b.file, entry.line, entry.path, entry.status
        )
    };
    match c {
        BaselineCond::NotStockSetid => b.stock_setid(e, fw).is_none().then(|| {
            format!(
                "not a set-id file {} ships (path, mode and owner; {})",
                stock.family(),
                b.file
            )
        }),
        BaselineCond::StockSetid => b
            .stock_setid(e, fw)
            .map(|x| format!("set-id file {} ships: {}", stock.family(), listed(x))),
        BaselineCond::NotNobodyByDesign => b.nobody_by_design(e, fw).is_none().then(|| {
            format!(
                "not a file {} writes as nobody by design (path, type, group and mode; {})",
                stock.family(),
                b.file
            )
        }),
        BaselineCond::NobodyByDesign => b.nobody_by_design(e, fw).map(|x| {
            format!(
                "written as nobody by design on {}: {}",
                stock.family(),
                listed(x)
            )
        }),
    }
}

/// True when the first bytes are an ELF header or a `#!` interpreter line.
pub(super) fn starts_runnable(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF") || head.starts_with(b"#!")
}

fn quote_list(globs: &[String]) -> String {
    if globs.len() == 1 {
        format!("`{}`", globs[0])
    } else {
        format!("one of {} globs", globs.len())
    }
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
