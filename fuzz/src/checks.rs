//! The invariants of every fuzz target, one function per target: no panic, bounded work and
//! allocation, and nothing dropped silently (every entry is read or a gap). Shared by the
//! libFuzzer targets and by `tests/fuzz_regressions.rs`, which replays kept inputs on the
//! stable toolchain. A broken invariant panics with what broke; no input is ever skipped.

use crate::peak;
use sporen::input::mem::{MemEvidence, Meta};
use sporen::input::tar::TarEvidence;
use sporen::input::ufs::{ImageEvidence, ReadAt};
use sporen::input::{EntryKind, Evidence};
use sporen::model::{EvPath, Finding, GapCause};
use sporen::rules::{Diagnostic, RuleSet};
use sporen::scan::time::{self, LogTimes, RelTime, Stamp, YearResolver, YearTracker};
use sporen::scan::{ScanOptions, ScanOutput, Scanner};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The stock baseline the rules are compiled with: the default family's.
const BASELINE: (&str, &str) = sporen::appliance::netscaler::BASELINE;

const MIB: usize = 1 << 20;

/// The name a fuzzed rule file is loaded under.
const RULE_FILE: &str = "fuzz.toml";

/// Arbitrary bytes as a rule file: a rule set or diagnostics, never a panic; every diagnostic
/// points inside the input; a rule set's examples run through the scanner.
pub fn rules_load(data: &[u8]) {
    let src = String::from_utf8_lossy(data).into_owned();
    let files = vec![(RULE_FILE.to_owned(), src.clone())];
    let (loaded, peak) = peak::measure(|| RuleSet::from_sources(files, Vec::new(), BASELINE));
    peak::assert_within("loading a rule file", peak, 256 * MIB + 1024 * data.len());
    match loaded {
        Ok(set) => check_rule_set(&set, &src),
        Err(diags) => check_diagnostics(&diags, &src),
    }
}

fn check_rule_set(set: &RuleSet, src: &str) {
    assert!(!set.rules().is_empty(), "a rule set without rules");
    assert!(
        set.rules().windows(2).all(|w| w[0].id < w[1].id),
        "rule ids not sorted and unique"
    );
    for (r, rule) in set.rules().iter().enumerate() {
        assert_eq!(rule.origin.file, RULE_FILE);
        assert_inside(src, rule.origin.line, rule.origin.column, "rule origin");
        for i in set.patterns_of(r).iter() {
            assert!(i < set.pattern_count(), "pattern id {i} out of range");
        }
    }
    let examples: usize = set.rules().iter().map(|r| r.examples.len()).sum();
    let appliance = sporen::appliance::Appliance::embedded().expect("embedded knowledge");
    let (count, _failures) = sporen::selftest::run_examples(set, &appliance);
    assert_eq!(count, examples, "every example runs");
}

fn check_diagnostics(diags: &[Diagnostic], src: &str) {
    assert!(!diags.is_empty(), "refused without a diagnostic");
    for d in diags {
        assert!(
            d.file == RULE_FILE || d.file == "<rules>",
            "diagnostic names {:?}",
            d.file
        );
        assert_inside(src, d.line, d.column, &d.message);
        assert!(d.width >= 1);
        if !d.source_line.is_empty() {
            let line = src.split('\n').nth(d.line - 1).unwrap_or_default();
            assert_eq!(d.source_line, line.trim_end_matches('\r'), "{d:?}");
        }
        let shown = d.to_string();
        assert!(shown.contains(d.code.meaning()) || shown.starts_with("error["));
    }
    let keys: Vec<_> = diags.iter().map(|d| (&d.file, d.line, d.column)).collect();
    assert!(keys.is_sorted(), "diagnostics not sorted by place");
}

/// A 1-based line and column (in characters) inside `src`: at most one past the line's end.
fn assert_inside(src: &str, line: usize, column: usize, what: &str) {
    let lines: Vec<&str> = src.split('\n').collect();
    assert!(
        (1..=lines.len()).contains(&line),
        "{what}: line {line} of {}",
        lines.len()
    );
    let width = lines[line - 1].chars().count();
    assert!(
        (1..=width + 1).contains(&column),
        "{what}: column {column} on a line of {width} characters"
    );
}

/// Unix seconds of 0000-01-01 and 10000-01-01, less and more a day for UTC offsets: a four
/// digit year cannot name a time outside.
const EARLIEST: i64 = -62_167_219_200 - 86_400;
const LATEST: i64 = 253_402_300_800 + 86_400;

/// Log time stamps: the first 8 bytes are the file's modification time, the rest are lines.
/// Every stamp is a real time within four-digit years; a line without a year is resolved
/// into the anchor's year or one before it, less the year roll-overs after it.
pub fn log_time(data: &[u8]) {
    let (head, text) = data.split_at(data.len().min(8));
    let mut mtime = [0u8; 8];
    mtime[..head.len()].copy_from_slice(head);
    let mtime = i64::from_le_bytes(mtime);
    let mut tracker = YearTracker::default();
    let mut times = LogTimes::default();
    let mut seen = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let stamps = time::Stamps(sporen::appliance::netscaler::stamps::FORMATS);
        let Some(stamp) = stamps.parse(line) else {
            continue;
        };
        let t = match stamp {
            Stamp::Full(x) => {
                assert!((EARLIEST..=LATEST).contains(&x), "{x} from {line:?}");
                RelTime::Full(x)
            }
            Stamp::NoYear { month, day, secs } => {
                assert!((1..=12).contains(&month) && (1..=31).contains(&day) && secs < 86_400);
                let before = tracker.rollovers;
                let rollovers = tracker.see(month);
                assert!(rollovers == before || rollovers == before + 1);
                RelTime::NoYear {
                    rollovers,
                    month,
                    day,
                    secs,
                }
            }
        };
        times.first.get_or_insert(t);
        if let (None, RelTime::Full(x)) = (times.first_full, t) {
            times.first_full = Some(x);
        }
        times.last = Some(t);
        times.rollovers = tracker.rollovers;
        seen.push(t);
    }
    let newest = seen
        .iter()
        .filter_map(|t| match t {
            RelTime::Full(x) => Some(*x),
            RelTime::NoYear { .. } => None,
        })
        .max();
    let resolver = YearResolver::new(&times, mtime, newest, sporen::zone::ZoneRule::default());
    let anchors = [Some(mtime), newest, times.first_full];
    let years: Vec<i32> = anchors.iter().flatten().map(|&a| year_of(a)).collect();
    let (lo, hi) = (years.iter().min().unwrap_or(&1970), years.iter().max());
    for t in seen {
        match (t, resolver.resolve(t)) {
            (RelTime::Full(x), got) => assert_eq!(got, Some((x, false))),
            (RelTime::NoYear { .. }, None) => {}
            (RelTime::NoYear { .. }, Some((x, inferred))) => {
                assert!(inferred, "a year from the line itself?");
                let y = year_of(x);
                let oldest = i64::from(*lo) - 1 - i64::from(times.rollovers);
                assert!(
                    i64::from(y) >= oldest && hi.is_none_or(|&h| y <= h),
                    "year {y} outside {oldest}..={hi:?} for {t:?}"
                );
            }
        }
    }
}

/// The calendar year of Unix seconds; 1970 where the calendar ends (as the resolver does).
fn year_of(t: i64) -> i32 {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp(t, 0).map_or(1970, |d| d.year())
}

/// The shipped rule packs, compiled once.
fn shipped_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let sources = sporen::rules::set::RuleSources {
            embedded: true,
            paths: Vec::new(),
            baseline: BASELINE,
        };
        RuleSet::load(&sources).expect("the shipped rules load")
    })
}

/// An appliance time for fuzzed files (2020-01-27T10:00:00Z).
const MTIME: i64 = 1_580_119_200;

/// The logs a fuzzed log is written to.
const LOGS: [&str; 3] = [
    "var/log/ns.log",
    "var/log/httpaccess.log",
    "var/log/bash.log",
];

/// Arbitrary bytes as ns.log, httpaccess.log and bash.log, scanned with the shipped rules. The
/// first byte picks the form: plain, gzip of the rest (a `.gz` rotation), or the rest as a
/// raw deflate stream behind a gzip header. Findings, gaps and reads come out sorted; a log
/// not read completely has a gap; allocation stays within a budget of the input's size.
pub fn log_scan(data: &[u8]) {
    let (&form, body) = data.split_first().unwrap_or((&0, &[]));
    let (suffix, bytes) = match form % 3 {
        0 => ("", body.to_vec()),
        1 => (".0.gz", gzip(body)),
        _ => (".0.gz", [&GZIP_HEADER[..], body].concat()),
    };
    let names: Vec<String> = LOGS.iter().map(|l| format!("{l}{suffix}")).collect();
    let ev = MemEvidence::new(
        names
            .iter()
            .map(|n| (EvPath::new(n.as_bytes()), Meta::file(MTIME), bytes.clone())),
    );
    static SCANNER: OnceLock<Scanner<'static>> = OnceLock::new();
    let scanner = SCANNER.get_or_init(|| {
        let opts = ScanOptions {
            threads: 1,
            max_file_bytes: 4 << 20,
            ..ScanOptions::default()
        };
        warmed(
            Scanner::new(
                shipped_rules(),
                opts,
                &sporen::appliance::netscaler::NetScaler,
            ),
            LOGS.iter()
                .flat_map(|l| [l.to_string(), format!("{l}.0.gz")]),
        )
    });
    let (out, peak) = peak::measure(|| scanner.scan(&ev));
    peak::assert_within("scanning three logs", peak, 64 * MIB + 8 * data.len());
    check_scan_output(&out);
    for n in &names {
        assert_read_or_gap(&out, n);
    }
}

/// `scanner` after one scan of empty files at `paths`: the pattern sets it compiles once per
/// group of rules are then built, and a measurement counts the scan alone.
fn warmed(scanner: Scanner<'static>, paths: impl IntoIterator<Item = String>) -> Scanner<'static> {
    let empty = MemEvidence::new(
        paths
            .into_iter()
            .map(|p| (EvPath::new(p.into_bytes()), Meta::file(MTIME), Vec::new())),
    );
    scanner.scan(&empty);
    scanner
}

/// A gzip member header (deflate, no flags, no time, Unix).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}

/// Sorted findings and gaps (and no duplicate gap), reads sorted, findings in files.
fn check_scan_output(out: &ScanOutput) {
    let order = |f: &Finding| {
        (
            std::cmp::Reverse(f.severity),
            f.rule.clone(),
            f.path.clone(),
            f.line,
        )
    };
    assert!(
        out.findings.iter().map(order).is_sorted(),
        "findings not sorted"
    );
    let gap_keys: Vec<_> = out.gaps.iter().map(|g| (&g.path, g.cause)).collect();
    assert!(gap_keys.is_sorted(), "gaps not sorted");
    assert!(
        out.gaps.windows(2).all(|w| w[0] != w[1]),
        "a gap reported twice"
    );
    assert!(
        out.reads.windows(2).all(|w| w[0].path < w[1].path),
        "reads not sorted"
    );
    for f in &out.findings {
        assert!(f.count >= 1 && f.line.is_none_or(|l| l >= 1), "{f:?}");
        assert!(
            out.listing.entries.iter().any(|e| e.path == f.path),
            "finding for an unlisted path {:?}",
            f.path
        );
    }
}

/// The log `name` was read to its end, or a gap says why not.
fn assert_read_or_gap(out: &ScanOutput, name: &str) {
    let path = EvPath::new(name.as_bytes());
    let entry = out
        .listing
        .entries
        .iter()
        .find(|e| e.path == path)
        .expect("listed");
    let read = out.reads.iter().find(|r| r.path == path);
    let gap = out.gaps.iter().any(|g| g.path == path && g.blocks_clean);
    match read {
        Some(r) if r.complete => assert_eq!(r.bytes, entry.size, "{name} read in full"),
        _ => assert!(gap, "{name} not read completely and no gap: {read:?}"),
    }
}

/// How many opening records a correlate check may keep.
pub const MAX_RECORDS: usize = 16;

/// ns.log rotations with LOGIN and TCPCONNSTAT records, in `tail` form: a line
/// `==> var/log/ns.log.1 <==` starts the next file (the first file is `var/log/ns.log`; a
/// name ending in `.gz` is gzipped). Scanned with the CitrixBleed rules and a small record
/// budget: the same findings and gaps on one thread and on two; a file with more distinct
/// sessions opened than the budget holds has a budget gap; allocation stays bounded.
pub fn correlate(text: &[u8]) {
    let files = split_tail(text);
    let ev = MemEvidence::new(files.iter().map(|(name, body)| {
        let bytes = if name.ends_with(".gz") {
            gzip(body)
        } else {
            body.clone()
        };
        (EvPath::new(name.as_bytes()), Meta::file(MTIME), bytes)
    }));
    static SCANNERS: OnceLock<[Scanner<'static>; 2]> = OnceLock::new();
    let [one_thread, two_threads] = SCANNERS.get_or_init(|| {
        [1, 2].map(|threads| {
            let opts = ScanOptions {
                threads,
                max_records: MAX_RECORDS,
                ..ScanOptions::default()
            };
            warmed(
                Scanner::new(
                    citrixbleed_rules(),
                    opts,
                    &sporen::appliance::netscaler::NetScaler,
                ),
                ROTATIONS.map(str::to_owned),
            )
        })
    });
    let (one, peak) = peak::measure(|| one_thread.scan(&ev));
    peak::assert_within("correlating sessions", peak, 32 * MIB + 8 * text.len());
    let two = two_threads.scan(&ev);
    check_scan_output(&one);
    assert_eq!(one.findings, two.findings, "findings depend on threads");
    assert_eq!(one.gaps, two.gaps, "gaps depend on threads");
    assert_eq!(one.reads, two.reads, "reads depend on threads");
    let login = login_pattern(citrixbleed_rules());
    for (name, body) in &files {
        assert_read_or_gap(&one, name);
        let sessions = distinct_keys(&login, body);
        if sessions > MAX_RECORDS {
            let path = EvPath::new(name.as_bytes());
            assert!(
                one.gaps
                    .iter()
                    .any(|g| g.path == path && g.cause == GapCause::Budget && g.blocks_clean),
                "{name}: {sessions} sessions opened, more than --max-records {MAX_RECORDS}, and no gap"
            );
        }
    }
}

fn citrixbleed_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let (name, src) = sporen::rules::embedded::PACKS
            .iter()
            .find(|(n, _)| n.ends_with("cve-2023-4966.toml"))
            .expect("the CitrixBleed pack is shipped");
        RuleSet::from_sources(
            vec![((*name).to_owned(), (*src).to_owned())],
            Vec::new(),
            BASELINE,
        )
        .expect("the CitrixBleed pack loads")
    })
}

/// The rules' own LOGIN record pattern.
fn login_pattern(rules: &RuleSet) -> regex::bytes::Regex {
    let first = rules.rules().iter().find_map(|r| match &r.matcher {
        sporen::rules::Matcher::Correlate(c) => c.first.clone(),
        _ => None,
    });
    let first = first.expect("a correlate rule with a first record");
    sporen::rules::load::compile_regex(&first.compiled).expect("compiles")
}

/// Distinct `key` captures of `re` over the lines of `body`.
fn distinct_keys(re: &regex::bytes::Regex, body: &[u8]) -> usize {
    let keys: std::collections::HashSet<&[u8]> = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter_map(|l| Some(re.captures(l)?.name("key")?.as_bytes()))
        .collect();
    keys.len()
}

/// Splits `tail`-style text into (path, bytes) files; see [`correlate`].
pub fn split_tail(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = vec![("var/log/ns.log".to_owned(), Vec::new())];
    for line in text.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let header = bare
            .strip_prefix(b"==> ")
            .and_then(|r| r.strip_suffix(b" <=="))
            .and_then(|n| std::str::from_utf8(n).ok())
            .filter(|n| is_rotation(n));
        match header {
            Some(n) => match files.iter().position(|(f, _)| f == n) {
                Some(i) => {
                    let again = files.remove(i);
                    files.push(again);
                }
                None => files.push((n.to_owned(), Vec::new())),
            },
            None => files
                .last_mut()
                .expect("one file")
                .1
                .extend_from_slice(line),
        }
    }
    files
}

/// Rotations as the `correlate` target writes them.
pub const ROTATIONS: [&str; 4] = [
    "var/log/ns.log",
    "var/log/ns.log.0",
    "var/log/ns.log.1",
    "var/log/ns.log.2.gz",
];

/// `var/log/ns.log`, `var/log/ns.log.N` or `var/log/ns.log.N.gz` (N a small number).
fn is_rotation(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("var/log/ns.log") else {
        return false;
    };
    let rest = rest.strip_suffix(".gz").unwrap_or(rest);
    rest.is_empty()
        || rest
            .strip_prefix('.')
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Most bytes read from one file of an archive or image.
const FILE_CAP: u64 = 1 << 20;
/// Most bytes read from all files of one archive or image.
const TOTAL_CAP: u64 = 16 << 20;

/// Arbitrary bytes as a tar archive (plain or gzip): opened or refused, never a panic; the
/// listing is sorted and unique; every file reads to its listed size (up to a cap) or fails
/// with an error, which the scanner turns into a gap.
pub fn tar(data: &[u8]) {
    // A gzip archive is unpacked (up to a cap, as the spool's budget would) and indexed like a
    // plain one; the spool itself is a file and is tested elsewhere.
    let plain = if data.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let _ = flate2::read::MultiGzDecoder::new(data)
            .take(16 * MIB as u64)
            .read_to_end(&mut out);
        out
    } else {
        data.to_vec()
    };
    let len = plain.len() as u64;
    let src: Arc<dyn ReadAt> = Arc::new(plain);
    let limits = sporen::input::Limits::default();
    let (opened, peak) = peak::measure(|| {
        TarEvidence::open(
            src,
            len,
            "tar",
            &sporen::appliance::netscaler::LAYOUT,
            &limits,
        )
    });
    peak::assert_within("reading a tar archive", peak, 64 * MIB + 4 * len as usize);
    if let Ok(ev) = opened {
        check_evidence(&ev);
    }
}

/// A device that counts the bytes read from it.
struct Counted {
    bytes: Arc<Vec<u8>>,
    read: AtomicU64,
}

impl ReadAt for Counted {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        let n = self.bytes.read_at(buf, off)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Arbitrary bytes as a disk image: opened or refused, never a panic; listing reads at most a
/// budget of the image's size from it; every file reads to its listed size (up to a cap) or
/// fails with an error; allocation stays bounded.
pub fn ufs(data: &[u8]) {
    let dev = Arc::new(Counted {
        bytes: Arc::new(data.to_vec()),
        read: AtomicU64::new(0),
    });
    let images: Vec<(String, Arc<dyn ReadAt>)> = vec![("fuzz.img".to_owned(), dev.clone())];
    let (opened, peak) =
        peak::measure(|| ImageEvidence::open(images, &sporen::appliance::netscaler::LAYOUT));
    let budget = 64 * MIB + 64 * data.len();
    peak::assert_within("opening a disk image", peak, budget);
    let listed = dev.read.load(Ordering::Relaxed);
    assert!(
        listed <= budget as u64,
        "listing read {listed} bytes from an image of {}",
        data.len()
    );
    if let Ok(ev) = opened {
        check_evidence(&ev);
    }
}

/// The listing is sorted and unique; links resolve (or not) in bounded steps; each file reads
/// to `min(size, cap)` bytes or fails with an error: a short read without one would be a
/// silent drop.
fn check_evidence(ev: &dyn Evidence) {
    let listing = ev.list();
    assert!(
        listing.entries.windows(2).all(|w| w[0].path < w[1].path),
        "listing not sorted and unique"
    );
    let mut total = 0u64;
    for e in listing.entries.iter() {
        if e.kind == EntryKind::Symlink {
            let _ = ev.resolve(&e.path);
        }
        if e.kind != EntryKind::File || total >= TOTAL_CAP {
            continue;
        }
        let want = e.size.min(FILE_CAP).min(TOTAL_CAP - total);
        let Ok(f) = ev.open(e) else { continue };
        let mut got = 0u64;
        let outcome = io::copy(&mut f.take(want), &mut CountingSink(&mut got));
        total += got;
        if outcome.is_ok() {
            assert_eq!(got, want, "{:?}: a short read without an error", e.path);
        }
    }
}

struct CountingSink<'a>(&'a mut u64);

impl Write for CountingSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        *self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
