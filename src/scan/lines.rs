//! Line rules over logs: every rotation read in chunks (gzip decoded in-process), searched per
//! chunk with one pattern set, lines examined only where the chunk matched; identical lines
//! collapse into one finding with a count; syslog records assembled from continuation lines.

use super::commands::{self, View};
use super::correlate::{Captured, FileRecords};
use super::patterns::{Combo, Matched, group_holds};
use super::read;
use super::sketch::Sketch;
use super::time::{self, LogTimes, RelTime, Stamps};
use super::{EntryResult, Hit, Scanner};
use crate::model::Gap;
use crate::model::{EvPath, GapCause};
use crate::rules::set::PatternIds;
use crate::rules::{Matcher, RecordMode};
pub(super) use crate::util::bytes::excerpt;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Read};

/// Most distinct findings one rule produces for one file; further matching lines are counted
/// into the last one.
const MAX_DISTINCT_PER_FILE: usize = 50;
/// What the pattern set found in a line or record, and whether anything matched its raw text.
#[derive(Clone, Copy)]
struct Seen<'a> {
    m: &'a Matched,
    raw: bool,
}

/// Lines looked at, at the start and at the end of a stretch of lines that is not examined line
/// by line, for the dated lines that give the file's time range and its year roll-overs.
const SAMPLE: usize = 64;
/// Longest syslog record assembled from continuation lines; the rest is not matched as part
/// of the record (its lines are still matched one by one).
const MAX_RECORD: usize = 64 * 1024;

/// The pattern of a line that opens a new syslog record: a BSD time stamp
/// (`Jan 19 23:26:52 `), optionally after a `<pri>`, or one of the appliance family's own
/// record heads ([`crate::appliance::Family::record_heads`]).
pub(super) fn record_head(family_heads: &[&str]) -> regex::bytes::Regex {
    let mut alts = vec![r"[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} "];
    alts.extend_from_slice(family_heads);
    let re = format!(r"(?-u)^(?:<[0-9]{{1,3}}>)?(?:{})", alts.join("|"));
    regex::bytes::Regex::new(&re).expect("record heads are checked by the appliance tests")
}

impl Scanner<'_> {
    pub(super) fn read_lines<R: Read>(
        &self,
        path: &EvPath,
        src: &mut R,
        line_rules: &[usize],
        res: &mut EntryResult,
    ) -> Option<(GapCause, String)> {
        // Two bytes decide gzip, however short the reads of the source are.
        let mut head = [0u8; 2];
        let n = match read::read_head(src, &mut head) {
            Ok(n) => n,
            Err(e) => return Some((GapCause::Unreadable, e.to_string())),
        };
        let gz = crate::util::bytes::is_gzip(&head[..n]);
        let mut br = BufReader::with_capacity(read::CHUNK, (&head[..n]).chain(src));
        let combo = self.combo(line_rules);
        let mut agg = LineHits {
            stamps: self.stamps,
            records: self.corr.for_file(path),
            system_crontab: path.file_name() == b"crontab",
            ..LineHits::default()
        };
        let cap = self.opts.max_file_bytes;
        let mut inflated = 0;
        let mut sketch = Sketch::new(self.stamps);
        let outcome = if gz {
            let dec = flate2::read::MultiGzDecoder::new(&mut br);
            let mut dec = read::Counting::new(dec.take(cap.saturating_add(1)));
            let outcome = read::for_each_chunk(&mut dec, |c, first| {
                sketch.chunk(c, first);
                self.match_lines(&combo, c, first, &mut agg)
            });
            inflated = dec.bytes;
            outcome
        } else {
            read::for_each_chunk(&mut br, |c, first| {
                sketch.chunk(c, first);
                self.match_lines(&combo, c, first, &mut agg)
            })
        };
        self.flush_record(&combo, &mut agg);
        res.times = agg.times.first.is_some().then_some(agg.times);
        res.sketch = res.times.is_some().then(|| Box::new(sketch));
        let records = std::mem::take(&mut agg.records).finish(&self.corr);
        res.records = Some(Box::new(records));
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
        if inflated > cap {
            return Some((GapCause::TooLarge, super::content::too_large_log(cap)));
        }
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

    /// Matches the lines of one chunk against the rules of `combo`.
    fn match_lines(&self, combo: &Combo, chunk: &[u8], first: u64, agg: &mut LineHits) {
        // Without record or `run` rules, only the lines the combined pattern finds are looked
        // at (ripgrep's way): one search over the chunk, the lines around its matches.
        if !combo.has_records
            && !combo.has_run
            && let Some(finder) = combo.set.finder(chunk)
        {
            return self.match_candidates(combo, finder, chunk, first, agg);
        }
        // Records can span chunks, so with record rules every line is still assembled into
        // its record; only the matching is skipped for chunks in which nothing matches. Rules
        // on the programs commands run see every line: that view can match where the raw text
        // does not.
        let chunk_hit = combo.set.is_match(chunk);
        let full = chunk_hit || combo.has_run;
        if !full {
            agg.sample_times(chunk);
            if !combo.has_records {
                return;
            }
        }
        for (no, line) in read::lines(chunk, first) {
            // Every line of a chunk that is examined is dated (for the findings' times).
            let t = if full { agg.stamp(line) } else { None };
            if combo.has_records {
                if agg.pending.is_none() || self.record_head.is_match(line) {
                    self.flush_record(combo, agg);
                    agg.pending = Some((no, line.to_vec(), false, t));
                } else if let Some((_, text, _, _)) = &mut agg.pending
                    && text.len() < MAX_RECORD
                {
                    text.push(b'\n');
                    text.extend_from_slice(&line[..line.len().min(MAX_RECORD - text.len())]);
                }
            }
            if full {
                self.match_line(combo, no, line, t, agg);
            }
        }
    }

    /// The lines of a chunk in which `finder` (every pattern of `combo` in one regex) matches,
    /// each matched and dated; of the others only the first and the last dated lines are
    /// dated, for the file's time range and its year roll-overs. The chunk ends with a line end
    /// or is the file's last line, so each search ends at a line.
    fn match_candidates(
        &self,
        combo: &Combo,
        finder: &regex::bytes::Regex,
        chunk: &[u8],
        first: u64,
        agg: &mut LineHits,
    ) {
        let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
        let (mut pos, mut no, mut counted) = (0, first, 0);
        let mut head_dated = false;
        while pos <= body.len() {
            // The end of the match that ends first is enough: a match within a line ends in
            // that line, so no line before the one holding this end has one.
            let Some(e) = finder.shortest_match_at(body, pos) else {
                break;
            };
            let at = if e > pos { e - 1 } else { pos };
            let start = memchr::memrchr(b'\n', &body[..at]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &body[at..]).map_or(body.len(), |i| at + i);
            no += memchr::memchr_iter(b'\n', &body[counted..start]).count() as u64;
            counted = start;
            if !head_dated {
                agg.date_head(&body[..start]);
                head_dated = true;
            }
            let line = &body[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let t = agg.stamp(line);
            self.match_line(combo, no, line, t, agg);
            pos = end + 1;
        }
        if head_dated {
            agg.date_tail(body.get(pos..).unwrap_or_default());
        } else {
            agg.sample_times(chunk);
        }
    }

    /// Matches one line (dated `t`) against the rules of `combo`.
    fn match_line(
        &self,
        combo: &Combo,
        no: u64,
        line: &[u8],
        t: Option<RelTime>,
        agg: &mut LineHits,
    ) {
        let m = combo.set.matches(line);
        let raw = m.matched_any();
        // A record is examined only if one of its lines matched some pattern (or a rule
        // judges its commands).
        if let Some((_, _, hit, _)) = &mut agg.pending {
            *hit |= raw || combo.has_run;
        }
        if !raw && !combo.has_run {
            return;
        }
        let mut views = Views::default();
        let mut captured = Vec::new();
        for (r, ids) in &combo.rules {
            if let Matcher::Correlate(_) = &self.rules.rule(*r).matcher {
                if raw {
                    self.capture(*r, ids, |i| m.matched(i), (no, t), line, &mut captured, agg);
                }
                continue;
            }
            if self.is_record_rule(*r) {
                continue;
            }
            let seen = Seen { m: &m, raw };
            if let Some(hit) = self.rule_holds(combo, (*r, ids), seen, line, &mut views, agg) {
                agg.add(*r, no, t, line, || self.line_reason(*r, ids, &hit));
            }
        }
    }

    /// Whether rule `r`'s pattern groups hold for `text` (a line or a record): on the raw text
    /// (only when `seen.raw`), or on the command view the rule names, its `none` patterns
    /// always on the raw text. The matching `any`/`all` ids when they hold.
    fn rule_holds(
        &self,
        combo: &Combo,
        (r, ids): (usize, &PatternIds),
        seen: Seen<'_>,
        text: &[u8],
        views: &mut Views,
        agg: &mut LineHits,
    ) -> Option<Vec<usize>> {
        let m = seen.m;
        match self.commands_of(r) {
            None if seen.raw => group_holds(ids, |i| m.matched(i)),
            None => None,
            Some(v) if v != View::Run && !own_match(ids, m) => None,
            Some(v) => {
                let sys = agg.system_crontab;
                let vm = views.get(combo, v, text, sys, &mut agg.run_cache);
                group_holds(ids, |i| {
                    if ids.none.contains(&i) {
                        m.matched(i)
                    } else {
                        vm.matched(i)
                    }
                })
            }
        }
    }

    /// "log line matches `a`, `b`": the rule's patterns that matched (local ids of `ids`).
    fn line_reason(&self, r: usize, ids: &PatternIds, matched: &[usize]) -> String {
        let Matcher::Lines(l) = &self.rules.rule(r).matcher else {
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
        let how = match l.commands {
            None => "",
            Some(View::Acting) => {
                " in a command that acts (downloads, runs, writes or changes something)"
            }
            Some(View::Residue) => {
                " only as data in a command (an assignment, a test, an echo, a search or a listing)"
            }
            Some(View::Run) => " in what a command runs or copies",
        };
        format!("{what} matches {}{how}", shown.join(", "))
    }

    /// Evaluates the record rules on the record collected so far.
    fn flush_record(&self, combo: &Combo, agg: &mut LineHits) {
        let Some((no, text, true, t)) = agg.pending.take() else {
            return;
        };
        let m = combo.set.matches(&text);
        if !m.matched_any() && !combo.has_run {
            return;
        }
        let mut views = Views::default();
        for (r, ids) in &combo.rules {
            if !self.is_record_rule(*r) {
                continue;
            }
            // A record is only flushed here when one of its lines matched: its raw text counts.
            let seen = Seen { m: &m, raw: true };
            if let Some(hit) = self.rule_holds(combo, (*r, ids), seen, &text, &mut views, agg) {
                agg.add(*r, no, t, &text, || self.line_reason(*r, ids, &hit));
            }
        }
    }

    /// Records the captures of a correlate rule's `first` / `then` patterns on one line, once
    /// per pattern however many rules share it.
    #[allow(clippy::too_many_arguments)]
    fn capture(
        &self,
        r: usize,
        local: &PatternIds,
        matched: impl Fn(usize) -> bool,
        (no, time): (u64, Option<RelTime>),
        line: &[u8],
        cache: &mut Vec<usize>,
        agg: &mut LineHits,
    ) {
        let global = &self.rules.patterns_of(r).any;
        for (&l, &g) in local.any.iter().zip(global) {
            if !matched(l) || cache.contains(&g) {
                continue;
            }
            cache.push(g);
            let Some(caps) = self.rules.pattern(g).captures(line) else {
                continue;
            };
            let field = |name: &str| caps.name(name).map_or(&b""[..], |m| m.as_bytes());
            let c = Captured {
                key: field("key"),
                value: field("value"),
                actor: field("actor"),
                no,
                time,
            };
            agg.records.capture(&self.corr, g, &c);
        }
    }
}

/// True when one of a rule's own `any` / `all` patterns matched the raw text: the blanked
/// command views can only remove matches, so without one they need not be computed.
fn own_match(ids: &PatternIds, m: &Matched) -> bool {
    ids.any.iter().chain(&ids.all).any(|&i| m.matched(i))
}

/// Most distinct commands whose run view is kept per file (cron runs the same jobs every
/// minute); past it, views are computed again.
const RUN_CACHE: usize = 4096;

/// Matches of the command views of one line or record, computed once per view.
#[derive(Default)]
struct Views(Vec<(View, Matched)>);

impl Views {
    fn get(
        &mut self,
        combo: &Combo,
        v: View,
        text: &[u8],
        system_crontab: bool,
        cache: &mut HashMap<Vec<u8>, Matched>,
    ) -> &Matched {
        let at = match self.0.iter().position(|(x, _)| *x == v) {
            Some(i) => i,
            None => {
                let m = if v == View::Run {
                    run_matches(combo, text, system_crontab, cache)
                } else {
                    combo.set.matches(&commands::view(text, v, system_crontab))
                };
                self.0.push((v, m));
                self.0.len() - 1
            }
        };
        &self.0[at].1
    }
}

/// The run view's matches, kept per command: the view depends on the command alone.
fn run_matches(
    combo: &Combo,
    text: &[u8],
    system_crontab: bool,
    cache: &mut HashMap<Vec<u8>, Matched>,
) -> Matched {
    let Some(cmd) = commands::command(text, system_crontab) else {
        return combo.set.matches(b"");
    };
    if let Some(m) = cache.get(cmd) {
        return m.clone();
    }
    let m = combo
        .set
        .matches(&commands::view(text, View::Run, system_crontab));
    if cache.len() < RUN_CACHE {
        cache.insert(cmd.to_vec(), m.clone());
    }
    m
}

/// Line hits of one file, collapsed: identical lines (ignoring timestamps and process ids)
/// become one finding with a count, first and last line.
#[derive(Default)]
pub(super) struct LineHits {
    /// The stamp formats of the appliance's logs.
    stamps: Stamps,
    /// rule → normalised line → aggregate; BTreeMap keeps the output deterministic.
    by_rule: BTreeMap<usize, RuleLines>,
    /// Records captured for correlate rules, compared after every file was read.
    records: FileRecords,
    /// The syslog record being assembled: first line number, text, and whether one of its
    /// lines matched a pattern (records none of whose lines match are not examined).
    pending: Option<(u64, Vec<u8>, bool, Option<RelTime>)>,
    /// Year roll-overs and first/last dated line of the file.
    tracker: time::YearTracker,
    times: LogTimes,
    /// The file is a system crontab: its lines carry a user field.
    system_crontab: bool,
    /// Run-view matches per command (see [`run_matches`]).
    run_cache: HashMap<Vec<u8>, Matched>,
}

/// Distinct normalised lines of one rule in first-seen order, and their aggregates.
type RuleLines = (Vec<Vec<u8>>, HashMap<Vec<u8>, Agg>);

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
        let t = match self.stamps.parse(line)? {
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
        if self.times.last.is_none_or(|l| !t.earlier_than(&l)) {
            self.times.last = Some(t);
        }
        self.times.rollovers = self.tracker.rollovers;
        Some(t)
    }

    /// For a chunk not examined line by line: dates only its first dated line and the dated
    /// lines among its last [`SAMPLE`] (in order, so that a request logged late does not end
    /// the range), enough for the file's time range and for counting year roll-overs.
    fn sample_times(&mut self, chunk: &[u8]) {
        self.date_head(chunk);
        self.date_tail(chunk);
    }

    /// Dates the first dated line among the first [`SAMPLE`] lines of `text`.
    fn date_head(&mut self, text: &[u8]) {
        let stamps = self.stamps;
        if let Some((_, l)) = read::lines(text, 0)
            .take(SAMPLE)
            .find(|(_, l)| stamps.parse(l).is_some())
        {
            self.stamp(l);
        }
    }

    /// Dates the dated lines among the last [`SAMPLE`] lines of `text`, in order.
    fn date_tail(&mut self, text: &[u8]) {
        let stamps = self.stamps;
        let tail: Vec<&[u8]> = read::lines_rev(text)
            .take(SAMPLE)
            .filter(|l| stamps.parse(l).is_some())
            .collect();
        for l in tail.into_iter().rev() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn starts_syslog_record(line: &[u8]) -> bool {
        record_head(crate::appliance::netscaler::stamps::RECORD_HEADS).is_match(line)
    }

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
}
