//! File rules: metadata conditions, content patterns over the first bytes of a file, and
//! known-bad / known-good digests. A file is read once, sequentially; what could not be read
//! becomes a gap, never a silent "no match".

use super::lines::excerpt;
use super::patterns::group_holds;
use super::read::{Capture, Hashing};
use super::{EntryResult, FileRead, Hit, Scanner};
use crate::input::{Entry, EntryKind, Evidence};
use crate::model::{Gap, GapCause, rfc3339};
use crate::rules::set::PatternIds;
use crate::rules::{FileMatch, FileType, Matcher, ModeCond};
use std::collections::HashMap;
use std::io::{self, Read};

impl Scanner<'_> {
    pub(super) fn read_file(
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
        // Logs are read whole, up to --max-file-bytes. Other files: as far as the content rules
        // look, or to the end (up to --max-read) when a digest is needed; one byte more tells
        // whether there was more.
        let limit = if !line_rules.is_empty() {
            self.opts.max_file_bytes
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
            let mut bounded = (&mut src).take(limit.saturating_add(1));
            failure = self.read_lines(&e.path, &mut bounded, line_rules, res);
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
        if more && !line_rules.is_empty() {
            res.gaps.push(Gap::new(
                e.path.clone(),
                GapCause::TooLarge,
                too_large_log(limit),
                true,
            ));
        } else if more && limit == max_read {
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
            shape: None,
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

/// Why a log was cut at `--max-file-bytes`.
pub(super) fn too_large_log(limit: u64) -> String {
    format!(
        "larger than --max-file-bytes ({}): only the first {} were examined, no digest",
        super::human_bytes(limit),
        super::human_bytes(limit)
    )
}

/// Checks the metadata conditions of a file rule; returns the reasons when all hold.
pub(super) fn metadata_holds(f: &FileMatch, e: &Entry) -> Option<Vec<String>> {
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
