//! How a log's lines are spread over time, kept in a fixed-size summary while the log is read:
//! its longest silences (stretches between two consecutive dated lines), each with the line
//! before and the line after it, and its first and last dated lines.
//!
//! Not every line is dated. In every chunk the first dated line after each `STRIDE` bytes is
//! (and the chunk's first and last dated lines); only where two such samples lie more than
//! `MIN_SILENCE` apart are the lines between them dated one by one, to find where the
//! silence really is. So every silence of at least `MIN_SILENCE` is found exactly, between
//! two neighbouring dated lines, while a busy log costs one time stamp per `STRIDE` bytes.
//! At most `KEEP` silences are kept (the longest), the `KEEP_TEXT` longest of them with
//! excerpts of at most `TEXT` bytes of the lines around them: the state per file is bounded
//! whatever the log holds. Never reads or writes anything itself.

use super::read;
use super::time::{self, RelTime, Stamp, Stamps, YearResolver, YearTracker};
use crate::model::Bytes;

/// Bytes between two sampled lines of a busy log.
pub(crate) const STRIDE: u64 = 16 * 1024;
/// The shortest silence that is kept, seconds.
pub(crate) const MIN_SILENCE: i64 = 15 * 60;
/// Most silences kept per file (the longest ones).
pub(crate) const KEEP: usize = 256;
/// Most silences per file kept with the text of the lines around them (the longest ones).
pub(crate) const KEEP_TEXT: usize = 16;
/// Longest excerpt kept of a line around a silence.
pub(crate) const TEXT: usize = 240;
/// Lines looked at after a sampling point for one that carries a time.
const LOOK: usize = 64;
/// Bytes of every log in which every stretch between samples that spans a silence is dated
/// line by line (all of a small or quiet log).
pub(crate) const REFINE_FREE: u64 = 1 << 20;
/// Beyond [`REFINE_FREE`], at most one byte in this many is dated line by line.
pub(crate) const REFINE_SHARE: u64 = 8;

/// The time of a line that the log itself wrote. newsyslog's own first line of a fresh rotation
/// (`newsyslog[123]: logfile turned over`) says when the file was started, not that the log
/// was writing then: a rotation started at midnight and quiet until morning has no silence
/// before its first entry, and a silence across a rotation runs from entry to entry.
fn stamp(stamps: Stamps, line: &[u8]) -> Option<Stamp> {
    let st = stamps.parse(line)?;
    let own = memchr::memmem::find(line, b"]: logfile turned over")
        .is_some_and(|i| memchr::memmem::find(&line[..i], b" newsyslog[").is_some());
    (!own).then_some(st)
}

/// A dated line while the file is read: its time before the year is known, and a provisional
/// Unix time used only to measure silences.
#[derive(Clone, Debug, Default)]
struct Point {
    time: Option<RelTime>,
    approx: i64,
    line: u64,
    text: Vec<u8>,
}

impl Point {
    fn set(&mut self, time: RelTime, approx: i64, line: u64, text: &[u8]) {
        self.time = Some(time);
        self.approx = approx;
        self.line = line;
        self.text.clear();
        self.text.extend_from_slice(&text[..text.len().min(TEXT)]);
    }
}

/// A silence found while reading: its provisional length and the lines around it.
#[derive(Clone, Debug)]
struct Found {
    len: i64,
    before: Point,
    after: Point,
}

/// The summary of one log, built while it is read in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sketch {
    /// The stamp formats of the appliance's logs.
    stamps: Stamps,
    tracker: YearTracker,
    first: Option<Point>,
    prev: Option<Point>,
    found: Vec<Found>,
    /// Shorter silences, kept without text.
    more: Vec<Found>,
    /// Longest silence dropped because [`KEEP`] longer ones were kept (provisional seconds).
    dropped: i64,
    /// Bytes of text seen (after decompression).
    bytes: u64,
    /// Lines dated for the summary.
    dated: u64,
    /// Bytes dated line by line so far.
    refined: u64,
    /// The next line follows lines that were not dated: no silence is measured to it.
    skipped: bool,
    /// Sampled lines of the current chunk (kept to reuse the allocation).
    samples: Vec<(u64, usize, usize, Stamp)>,
}

/// A dated line around a silence, resolved: Unix time, line number, excerpt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub(crate) time: i64,
    pub(crate) line: u64,
    pub(crate) text: Bytes,
}

/// A stretch between two neighbouring dated lines of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    pub(crate) before: Mark,
    pub(crate) after: Mark,
}

impl Silence {
    /// Length in seconds.
    pub(crate) fn len(&self) -> i64 {
        self.after.time - self.before.time
    }

    /// Never true: a silence spans at least `MIN_SILENCE`.
    pub fn is_empty(&self) -> bool {
        self.len() <= 0
    }
}

/// How a log's lines are spread over time, resolved once the evidence was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogShape {
    /// The longest silences, oldest first.
    pub(crate) silences: Vec<Silence>,
    /// A silence shorter than this may be missing from `silences` (more were seen than kept).
    pub(crate) floor: i64,
    pub(crate) first: Option<Mark>,
    pub(crate) last: Option<Mark>,
    /// Bytes of text (after decompression).
    pub(crate) bytes: u64,
    /// Lines dated to find the silences (the work it took).
    pub(crate) dated: u64,
}

/// `m`/`d` at `secs` in the year that puts it nearest to `near`.
fn nearest(month: u32, day: u32, secs: u32, near: i64) -> i64 {
    let y = year_of(near);
    [y - 1, y, y + 1]
        .into_iter()
        .filter_map(|y| time::with_year(y, month, day, secs))
        .min_by_key(|t| (t - near).abs())
        .unwrap_or(near)
}

/// What a provisional time is measured against: the previous dated line's time (before the
/// year is known) and its provisional Unix time.
type Near = (Option<RelTime>, i64);

/// Provisional Unix time of a stamp that follows `prev`. An undated-year stamp after another
/// takes the same year, or the next one when the month goes back by six or more (the rule the
/// year tracker follows), however far apart the two lie; after a fully dated line, the year
/// that puts it nearest.
fn approx(st: Stamp, prev: Option<Near>) -> i64 {
    let Stamp::NoYear { month, day, secs } = st else {
        return match st {
            Stamp::Full(x) => x,
            Stamp::NoYear { .. } => 0,
        };
    };
    match prev {
        Some((Some(RelTime::NoYear { month: pm, .. }), at)) => {
            let y = year_of(at) + i32::from(month + 6 <= pm);
            time::with_year(y, month, day, secs).unwrap_or_else(|| nearest(month, day, secs, at))
        }
        Some((_, at)) => nearest(month, day, secs, at),
        None => time::with_year(2000, month, day, secs).unwrap_or_default(),
    }
}

/// Whether `a` is older than `b`, two stamps of one stretch of a file (without a year, by the
/// calendar within it).
fn older(a: Stamp, b: Stamp) -> bool {
    match (a, b) {
        (Stamp::Full(a), Stamp::Full(b)) => a < b,
        (
            Stamp::NoYear { month, day, secs },
            Stamp::NoYear {
                month: m,
                day: d,
                secs: s,
            },
        ) => (month, day, secs) < (m, d, s),
        _ => false,
    }
}

fn year_of(t: i64) -> i32 {
    chrono::DateTime::from_timestamp(t, 0).map_or(2000, |t| {
        use chrono::Datelike;
        t.year()
    })
}

/// The provisional times of the line before and of `st` after it. An undated-year line before a
/// fully dated one is measured in the year of the latter (an ns.log rotation can start with a
/// syslog line and go on with GMT stamps).
fn gap(prev: Near, st: Stamp) -> (i64, i64) {
    let now = approx(st, Some(prev));
    let before = match (prev.0, st) {
        (
            Some(RelTime::NoYear {
                month, day, secs, ..
            }),
            Stamp::Full(x),
        ) => nearest(month, day, secs, x),
        _ => prev.1,
    };
    (before, now)
}

/// A stamp's time before the year is known (roll-overs are not counted here).
fn rel(st: Stamp) -> RelTime {
    match st {
        Stamp::Full(x) => RelTime::Full(x),
        Stamp::NoYear { month, day, secs } => RelTime::NoYear {
            rollovers: 0,
            month,
            day,
            secs,
        },
    }
}

impl Sketch {
    /// An empty summary of a log whose lines carry `stamps`.
    pub(crate) fn new(stamps: Stamps) -> Sketch {
        Sketch {
            stamps,
            ..Sketch::default()
        }
    }

    /// Takes one chunk of whole lines (as [`read::for_each_chunk`] hands them out), in order.
    pub(crate) fn chunk(&mut self, chunk: &[u8], first: u64) {
        let base = self.bytes;
        self.bytes += chunk.len() as u64;
        let mut samples = std::mem::take(&mut self.samples);
        samples.clear();
        // The chunk's first dated line, then the first after every STRIDE bytes. Line numbers
        // are counted up to each sample only, without walking the lines in between.
        let newlines = |b: &[u8]| memchr::memchr_iter(b'\n', b).count() as u64;
        let (mut at, mut no) = (0usize, first);
        let mut p = 0usize;
        while p < chunk.len() {
            // The first line starting at or after `p`.
            let start = if p == 0 {
                0
            } else {
                match memchr::memchr(b'\n', &chunk[p - 1..]) {
                    Some(k) => p + k,
                    None => break,
                }
            };
            no += newlines(&chunk[at..start]);
            at = start;
            if let Some((n, l, st)) = read::lines(&chunk[start..], no)
                .take(LOOK)
                .find_map(|(n, l)| Some((n, l, stamp(self.stamps, l)?)))
            {
                let s = l.as_ptr() as usize - chunk.as_ptr() as usize;
                samples.push((n, s, s + l.len(), st));
            }
            let next = ((base + start as u64) / STRIDE + 1) * STRIDE;
            p = usize::try_from(next - base)
                .unwrap_or(usize::MAX)
                .max(start + 1);
        }
        // The chunk's last dated line, and the ones before it back to one no older than the
        // last sample: a request logged late (with the older time it began) can be the very
        // last line.
        let last_no = no + newlines(chunk[at..].strip_suffix(b"\n").unwrap_or(&chunk[at..]));
        let (after, newest) = (samples.last().map(|s| s.1), samples.last().map(|s| s.3));
        let mut tail: Vec<(u64, usize, usize, Stamp)> = Vec::new();
        for (back, line) in read::lines_rev(chunk).take(LOOK).enumerate() {
            let Some(st) = stamp(self.stamps, line) else {
                continue;
            };
            let start = line.as_ptr() as usize - chunk.as_ptr() as usize;
            if after.is_some_and(|a| start <= a) {
                break;
            }
            tail.push((last_no - back as u64, start, start + line.len(), st));
            if newest.is_none_or(|n| !older(st, n)) {
                break;
            }
        }
        tail.reverse();
        samples.extend(tail);
        samples.dedup_by_key(|s| s.1);
        self.feed(chunk, &samples);
        self.samples = samples;
    }

    /// Feeds the sampled lines in order; where two lie a silence apart, every line between, the
    /// widest such stretches first while the refinement budget lasts: [`REFINE_FREE`] bytes,
    /// then one byte in [`REFINE_SHARE`] of the log. A stretch left unrefined may hide a silence
    /// as long as itself: it raises the floor (silences shorter than the floor may be missing),
    /// so what is kept stays true, and a log whose every line is a silence apart costs a
    /// bounded share of its lines.
    fn feed(&mut self, chunk: &[u8], samples: &[(u64, usize, usize, Stamp)]) {
        let mut wide: Vec<(i64, usize)> = Vec::new();
        let mut chain: Option<Near> = self.prev.as_ref().map(|p| (p.time, p.approx));
        for (i, &(_, _, _, st)) in samples.iter().enumerate() {
            if let (true, Some(p)) = (i > 0, chain) {
                let (before, now) = gap(p, st);
                if now - before >= MIN_SILENCE {
                    wide.push((now - before, i));
                }
            }
            // Measured from the newest line so far (see `see`).
            let a = approx(st, chain);
            if chain.is_none_or(|c| a >= c.1) {
                chain = Some((Some(rel(st)), a));
            }
        }
        wide.sort_unstable_by(|x, y| y.cmp(x));
        let allowance = REFINE_FREE + self.bytes / REFINE_SHARE;
        // Per sample: whether the lines before it are dated, or skipped (no silence recorded
        // across them).
        let mut refine = vec![None; samples.len()];
        for (len, i) in wide {
            let span = (samples[i].1 - samples[i - 1].2) as u64;
            if self.refined + span <= allowance {
                self.refined += span;
                refine[i] = Some(true);
            } else {
                self.dropped = self.dropped.max(len);
                refine[i] = Some(false);
            }
        }
        for (i, &(no, start, end, st)) in samples.iter().enumerate() {
            self.skipped = refine[i] == Some(false);
            if refine[i] == Some(true) {
                let (pno, _, pend, _) = samples[i - 1];
                // The lines strictly between the two samples.
                let from =
                    memchr::memchr(b'\n', &chunk[pend..start]).map_or(start, |k| pend + k + 1);
                for (n, l) in read::lines(&chunk[from..start], pno + 1) {
                    if let Some(x) = stamp(self.stamps, l) {
                        self.see(x, n, l);
                    }
                }
            }
            self.see(st, no, &chunk[start..end]);
        }
    }

    /// Takes the next dated line of the file.
    fn see(&mut self, st: Stamp, line: u64, text: &[u8]) {
        self.dated += 1;
        let rel = match st {
            Stamp::Full(x) => RelTime::Full(x),
            Stamp::NoYear { month, day, secs } => RelTime::NoYear {
                rollovers: self.tracker.see(month),
                month,
                day,
                secs,
            },
        };
        let near = self.prev.as_ref().map(|p| (p.time, p.approx));
        let now = approx(st, near);
        // A line older than the newest so far (a long request logged when it ended) is no
        // point in time the log moved on to: silences are measured from the newest line, and
        // the log still starts at its first line (an older stamp logged later does not make
        // it reach further back).
        if self.prev.as_ref().is_some_and(|p| now < p.approx) {
            return;
        }
        let mut prev = self.prev.take().unwrap_or_default();
        if let (Some(near), false) = (near, std::mem::take(&mut self.skipped)) {
            let (before, _) = gap(near, st);
            if now - before >= MIN_SILENCE {
                let mut after = Point::default();
                after.set(rel, now, line, text);
                self.keep(now - before, prev.clone(), after);
            }
        }
        prev.set(rel, now, line, text);
        if self.first.is_none() {
            self.first = Some(prev.clone());
        }
        self.prev = Some(prev);
    }

    /// Keeps a silence if it is among the [`KEEP`] longest; only the [`KEEP_TEXT`] longest keep
    /// their lines' text.
    fn keep(&mut self, len: i64, before: Point, after: Point) {
        self.found.push(Found { len, before, after });
        let shortest = |v: &[Found]| {
            v.iter()
                .enumerate()
                .min_by_key(|(_, f)| f.len)
                .map_or(0, |(i, _)| i)
        };
        if self.found.len() > KEEP_TEXT {
            let mut f = self.found.swap_remove(shortest(&self.found));
            f.before.text = Vec::new();
            f.after.text = Vec::new();
            self.more.push(f);
        }
        if self.more.len() > KEEP - KEEP_TEXT {
            let f = self.more.swap_remove(shortest(&self.more));
            self.dropped = self.dropped.max(f.len);
        }
    }

    /// Roll-overs counted by this summary's own year tracker.
    #[cfg(test)]
    pub(crate) fn rollovers(&self) -> u32 {
        self.tracker.rollovers
    }

    /// The summary with years (and the appliance's zone) applied. Silences that turn out
    /// shorter than [`MIN_SILENCE`] once resolved (a local clock going forward in spring) are
    /// dropped.
    pub fn resolve(&self, years: &YearResolver) -> LogShape {
        let years = years.with_rollovers(self.tracker.rollovers);
        let mark = |p: &Point| -> Option<Mark> {
            Some(Mark {
                time: years.resolve(p.time?)?.0,
                line: p.line,
                text: Bytes(p.text.clone()),
            })
        };
        let mut silences: Vec<Silence> = self
            .found
            .iter()
            .chain(&self.more)
            .filter_map(|f| {
                Some(Silence {
                    before: mark(&f.before)?,
                    after: mark(&f.after)?,
                })
            })
            .filter(|s| s.len() >= MIN_SILENCE)
            .collect();
        silences.sort_by_key(|s| (s.before.time, s.before.line));
        LogShape {
            silences,
            floor: if self.dropped > 0 {
                self.dropped
            } else {
                MIN_SILENCE
            },
            first: self.first.as_ref().and_then(mark),
            last: self.prev.as_ref().and_then(mark),
            bytes: self.bytes,
            dated: self.dated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::time::LogTimes;
    use crate::zone::ZoneRule;

    fn ts(s: &str) -> i64 {
        crate::util::bytes::parse_time(s).unwrap()
    }

    fn access(t: i64) -> String {
        let d = chrono::DateTime::from_timestamp(t, 0).unwrap();
        format!(
            "198.51.100.7 - - [{}] \"GET /vpn/index.html HTTP/1.1\" 200 1982 \"-\" \"Mozilla/5.0\"\n",
            d.format("%d/%b/%Y:%H:%M:%S +0000")
        )
    }

    fn shape_of(text: &[u8]) -> LogShape {
        let mut sk = Sketch::default();
        read::for_each_chunk(&mut &text[..], |c, first| sk.chunk(c, first)).unwrap();
        let times = LogTimes {
            first: sk.first.as_ref().and_then(|p| p.time),
            last: sk.prev.as_ref().and_then(|p| p.time),
            rollovers: sk.rollovers(),
            first_full: None,
        };
        let mtime = ts("2020-01-20T00:00:00Z");
        sk.resolve(&YearResolver::new(&times, mtime, None, ZoneRule::default()))
    }

    /// A web server logs a long request when it ends, with the time it began: an older line
    /// among newer ones opens no silence, and a late line at the end of the file does not
    /// move the log's end back.
    #[test]
    fn a_request_logged_late_is_no_silence_and_no_early_end() {
        let start = ts("2020-01-10T00:00:00Z");
        let mut text = String::new();
        for i in 0..600 {
            text.push_str(&access(start + 60 * i));
            if i == 400 {
                // A tunnel opened six hours earlier, logged when it closed.
                text.push_str(&access(start + 60 * i - 6 * 3600));
            }
        }
        text.push_str(&access(start + 60 * 590 - 8 * 3600));
        let s = shape_of(text.as_bytes());
        assert!(s.silences.is_empty(), "{:?}", s.silences);
        assert_eq!(s.first.as_ref().unwrap().time, start);
        assert_eq!(s.last.as_ref().unwrap().time, start + 60 * 599);
    }

    /// A busy log (a line every 2 s for two days) with six hours deleted: the silence is found
    /// exactly, between the two neighbouring lines, and only a small share of the lines was
    /// dated to find it.
    #[test]
    fn a_deleted_stretch_of_a_busy_log_is_found_exactly_and_cheaply() {
        let start = ts("2020-01-10T00:00:00Z");
        let (cut_from, cut_to) = (ts("2020-01-11T08:00:00Z"), ts("2020-01-11T14:00:00Z"));
        let mut text = String::new();
        let mut lines = 0;
        let mut t = start;
        while t < start + 2 * 86_400 {
            if t < cut_from || t >= cut_to {
                text.push_str(&access(t));
                lines += 1;
            }
            t += 2;
        }
        let s = shape_of(text.as_bytes());
        assert_eq!(s.silences.len(), 1, "{:?}", s.silences);
        let hole = &s.silences[0];
        assert_eq!(hole.before.time, cut_from - 2);
        assert_eq!(hole.after.time, cut_to);
        assert_eq!(hole.after.line, hole.before.line + 1);
        assert!(String::from_utf8_lossy(&hole.after.text.0).contains("11/Jan/2020:14:00:00"));
        assert_eq!(s.first.as_ref().unwrap().time, start);
        assert_eq!(s.last.as_ref().unwrap().line, lines);
        assert!(s.dated * 50 < lines, "{} of {lines} lines dated", s.dated);
        assert_eq!(s.bytes, text.len() as u64);
    }

    /// Wherever the deleted stretch falls (inside a sampled stretch, across a sampling point,
    /// across two chunks), its edges are the two neighbouring lines.
    #[test]
    fn a_deleted_stretch_is_found_wherever_it_falls() {
        let start = ts("2020-01-10T00:00:00Z");
        for shift in (0..40).map(|k| k * 127) {
            let (cut_from, cut_to) = (start + 10_000 + shift, start + 20_000 + shift);
            let mut text = String::new();
            let mut t = start;
            while t < start + 12 * 3600 {
                if t < cut_from || t >= cut_to {
                    text.push_str(&access(t));
                }
                t += 2;
            }
            let s = shape_of(text.as_bytes());
            assert_eq!(s.silences.len(), 1, "shift {shift}: {:?}", s.silences);
            let hole = &s.silences[0];
            assert!(cut_from - hole.before.time <= 2, "shift {shift}: {hole:?}");
            assert!(hole.after.time - cut_to < 2, "shift {shift}: {hole:?}");
        }
    }

    /// A quiet syslog-style log (a line an hour, and once five hours without one) is dated
    /// line by line: every silence of more than fifteen minutes is found; the longest keep the
    /// text of their lines.
    #[test]
    fn a_quiet_log_keeps_its_silences() {
        let mut text = String::new();
        let mut t = ts("2020-01-10T00:00:00Z");
        for h in 0..48 {
            t += if h == 30 { 5 * 3600 } else { 3600 };
            let d = chrono::DateTime::from_timestamp(t, 0).unwrap();
            text.push_str(&format!(
                "{} <cron.info> ns /usr/sbin/cron[1]: (root) CMD (x)\n",
                d.format("%b %e %H:%M:%S")
            ));
        }
        let s = shape_of(text.as_bytes());
        assert_eq!(s.silences.len(), 47);
        assert_eq!(s.floor, MIN_SILENCE);
        let longest = s.silences.iter().max_by_key(|x| x.len()).unwrap();
        assert_eq!(longest.len(), 5 * 3600);
        assert_eq!(longest.after.line, 31);
        assert!(!longest.after.text.0.is_empty());
        let with_text = s
            .silences
            .iter()
            .filter(|x| !x.before.text.0.is_empty())
            .count();
        assert_eq!(with_text, KEEP_TEXT);
        assert_eq!(s.dated, 48);
    }

    /// However many silences a log has, a fixed number is kept: the longest.
    #[test]
    fn the_number_of_silences_kept_is_bounded() {
        let mut text = String::new();
        let mut t = ts("2020-01-10T00:00:00Z");
        for h in 0..600 {
            t += 3600 + h;
            let d = chrono::DateTime::from_timestamp(t, 0).unwrap();
            text.push_str(&format!("{} ns x[1]: y\n", d.format("%b %e %H:%M:%S")));
        }
        let s = shape_of(text.as_bytes());
        assert_eq!(s.silences.len(), KEEP);
        assert_eq!(s.floor, 3600 + 343);
        assert_eq!(s.silences.iter().map(Silence::len).min(), Some(3600 + 344));
    }

    /// A large log in which every line comes an hour after the one before (every line a
    /// silence): only the free allowance and a share of the rest is dated line by line; what was
    /// not dated raises the floor, and the longest silence is still found.
    #[test]
    fn a_large_log_of_silences_costs_a_bounded_share_of_its_lines() {
        let mut text = String::new();
        let mut t = ts("2019-01-01T00:00:00Z");
        let mut lines = 0u64;
        while text.len() < 8 << 20 {
            t += if lines == 40_000 { 9 * 3600 } else { 3600 };
            text.push_str(&access(t));
            lines += 1;
        }
        let s = shape_of(text.as_bytes());
        let bound = (REFINE_FREE + text.len() as u64 / REFINE_SHARE) / 90 + 2 * lines / 160;
        assert!(s.dated < bound, "{} of {lines} lines dated", s.dated);
        assert!(s.floor >= 3600, "{}", s.floor);
        let longest = s.silences.iter().map(Silence::len).max();
        assert_eq!(longest, Some(9 * 3600));
    }

    /// Months between two lines of a syslog-style log are a silence, not a step back in time.
    #[test]
    fn half_a_year_without_a_line_is_one_silence() {
        let text = "May  1 00:00:00 ns syslogd: kernel boot file is /ns-13.1-45.64\n\
             Jun 14 10:13:30 ns syslogd: kernel boot file is /ns-13.1-48.47\n\
             Nov  2 19:42:40 ns syslogd: kernel boot file is /ns-13.1-50.23\n";
        let s = shape_of(text.as_bytes());
        let lens: Vec<i64> = s.silences.iter().map(|x| x.len() / 86_400).collect();
        assert_eq!(lens, vec![44, 141]);
    }

    /// An ns.log line with its syslog header after another log's: measured against the year
    /// of the GMT stamps that follow, never a silence of years.
    #[test]
    fn a_syslog_line_before_gmt_stamps_is_no_silence_of_years() {
        let text = "Jan 19 15:20:00 ns syslogd: restart\n\
             Jan 19 15:30:45 <local0.info> 192.0.2.10  01/19/2020:15:30:45 GMT ns 0-PPE-0 : EVENT\n\
             Jan 19 15:31:45 <local0.info> 192.0.2.10  01/19/2020:15:31:45 GMT ns 0-PPE-0 : EVENT\n";
        let s = shape_of(text.as_bytes());
        assert!(s.silences.is_empty(), "{:?}", s.silences);
    }

    /// newsyslog's line at the top of a fresh rotation is not an entry of the log: a rotation
    /// started at midnight and quiet until the morning has no silence, and starts with its
    /// first entry.
    #[test]
    fn the_rotation_line_is_no_entry() {
        let text = "Jan  4 00:00:00 ns newsyslog[49496]: logfile turned over due to size>100K\n\
             Jan  6 10:31:36 <local0.info> 192.0.2.10  01/06/2020:10:31:36 GMT ns 0-PPE-0 : SSLVPN LOGIN\n\
             Jan  6 10:38:45 <local0.info> 192.0.2.10  01/06/2020:10:38:45 GMT ns 0-PPE-0 : SSLVPN LOGOUT\n";
        let s = shape_of(text.as_bytes());
        assert!(s.silences.is_empty(), "{:?}", s.silences);
        assert_eq!(s.first.unwrap().line, 2);
    }
}
