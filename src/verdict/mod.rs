//! Findings + coverage → verdict. The verdict answers only "are there traces of an attack":
//!
//! 1. any `critical` or `high` finding → `compromised`;
//! 2. else any `medium` finding → `review`;
//! 3. else the tree does not look like an appliance, or evidence a clean verdict needs is
//!    missing, unreadable or was not examined → `inconclusive`;
//! 4. else `clean`.
//!
//! What counts as needed evidence comes from the appliance profile (`src/appliance/<family>/profile.toml`), not from
//! code. Coverage problems never downgrade `compromised` or `review`; they are listed as reasons.

mod windows;

pub use windows::{DateArg, WindowOverrides};
use windows::{SourceTimes, check_windows};

use crate::appliance::Facts;
use crate::appliance::profile::{Profile, SourceDef};
use crate::continuity;
use crate::input::{Entry, EntryKind, Namespace};
use crate::model::{
    Coverage, EvPath, Finding, Gap, GapCause, Severity, SourceCoverage, SourceFile, TimeZone,
    Timestamp, Verdict, WindowCheck, WindowStatus,
};
use crate::rules::RuleSet;
use crate::scan::ScanOutput;
use crate::util::glob;
use std::collections::BTreeMap;
use std::collections::HashMap;

/// The verdict with its reasons and the coverage it rests on.
#[derive(Clone, Debug)]
pub(crate) struct Assessment {
    pub(crate) verdict: Verdict,
    pub(crate) reasons: Vec<String>,
    pub(crate) coverage: Coverage,
    pub(crate) windows: Vec<WindowCheck>,
    /// Every finding, those of the scan and those about the logs' continuity, sorted.
    pub(crate) findings: Vec<Finding>,
}

/// The evidence's paths as the appliance resolves them (links followed inside the root), from
/// the scan's listing alone: the verdict reads nothing from the evidence.
struct Names<'a> {
    entries: &'a [Entry],
    ns: Namespace,
}

impl<'a> Names<'a> {
    fn of(out: &'a ScanOutput) -> Names<'a> {
        Names {
            entries: &out.listing.entries,
            ns: Namespace::new(&out.listing.entries),
        }
    }

    fn resolve(&self, p: &EvPath) -> Option<EvPath> {
        self.ns.resolve(self.entries, p).ok()
    }
}

/// Decides the verdict for one scan.
pub(crate) fn assess(
    profile: &Profile,
    out: &ScanOutput,
    rules: &RuleSet,
    facts: &Facts,
    cves: &crate::appliance::cves::CveTable,
    overrides: &WindowOverrides,
) -> Assessment {
    let names = Names::of(out);
    let ev = &names;
    let cont = continuity::assess(profile, out, rules);
    let mut findings = out.findings.clone();
    findings.extend(cont.findings.iter().cloned());
    crate::scan::sort_findings(&mut findings);
    let mut cov = counted(out);
    let present: Vec<&String> = profile
        .markers
        .paths
        .iter()
        .filter(|p| ev.resolve(&EvPath::new(p.as_bytes().to_vec())).is_some())
        .collect();
    cov.looks_like_appliance = present.len() >= profile.markers.min;
    let mut gaps: Vec<Gap> = out.gaps.clone();
    let mut source_problems = Vec::new();
    // Unix-second ranges per source id, for the window checks.
    let mut ranges: HashMap<String, (Option<i64>, Option<i64>)> = HashMap::new();
    for (i, s) in profile.sources.iter().enumerate() {
        let (sc, range) = source_coverage(
            s,
            &cont.sources[i],
            ev,
            out,
            &mut gaps,
            &mut source_problems,
        );
        ranges.insert(s.id.clone(), range);
        if s.required && cov.looks_like_appliance {
            required_source(s, &sc, &mut gaps, &mut source_problems);
        }
        cov.sources.push(sc);
    }
    let windows = if cov.looks_like_appliance {
        let times = SourceTimes {
            ranges: &ranges,
            cont: &cont,
        };
        check_windows(facts, rules, cves, &times, &cov.sources, overrides)
    } else {
        Vec::new()
    };
    gaps.extend(hole_gaps(profile, &cont, &windows));
    gaps.sort_by(|a, b| (&a.path, a.cause).cmp(&(&b.path, b.cause)));
    gaps.dedup();
    cov.gaps = gaps;
    cov.downtime = cont.downtime.clone();
    let facts = Judged {
        present: &present,
        source_problems: &source_problems,
        windows: &windows,
        findings: &findings,
    };
    let (verdict, reasons) = judge(profile, ev, rules, &cov, &facts);
    Assessment {
        verdict,
        reasons,
        coverage: cov,
        windows,
        findings,
    }
}

/// Entry counts of the listing and what was read.
fn counted(out: &ScanOutput) -> Coverage {
    let mut cov = Coverage::default();
    for e in out.listing.entries.iter() {
        cov.entries_seen += 1;
        match e.kind {
            EntryKind::File => cov.files_seen += 1,
            EntryKind::Dir => cov.dirs_seen += 1,
            EntryKind::Symlink => cov.symlinks_seen += 1,
            k if k.is_special() => cov.special_files_skipped += 1,
            _ => {}
        }
    }
    cov.files_read = out.files_read;
    cov.bytes_read = out.bytes_read;
    cov.timezone = out.zone.as_ref().map(|z| TimeZone {
        zone: z.name.clone(),
        utc_offset: z.utc_offset(),
        daylight_saving: z.daylight_saving.clone(),
        source: z.source.clone(),
        assumed: z.source.is_none(),
        note: z.note.clone(),
    });
    cov
}

/// One evidence source: its files with their times, its time gaps, and its range. A log of the
/// source that is not a regular file becomes a gap.
fn source_coverage(
    s: &SourceDef,
    times: &continuity::SourceTime,
    ev: &Names<'_>,
    out: &ScanOutput,
    gaps: &mut Vec<Gap>,
    problems: &mut Vec<String>,
) -> (SourceCoverage, (Option<i64>, Option<i64>)) {
    let mut sc = SourceCoverage {
        id: s.id.clone(),
        title: s.title.clone(),
        required: s.required,
        from: None,
        to: None,
        year_inferred: false,
        silence_limits: times.limits.clone(),
        time_gaps: times.gaps.clone(),
        files: Vec::new(),
        files_read: 0,
        bytes: 0,
    };
    let (Ok(log_set), Ok(file_set)) = (glob::set(&s.logs), glob::set(&s.files)) else {
        return (sc, (None, None)); // validated in Profile::parse
    };
    let (mut lo, mut hi): (Option<i64>, Option<i64>) = (None, None);
    for e in out.listing.entries.iter() {
        let rel = e.path.relative();
        if !(log_set.is_match(glob::as_path(glob::log_family(rel)))
            || file_set.is_match(glob::as_path(rel)))
        {
            continue;
        }
        if e.kind != EntryKind::File {
            if let Some(g) = not_a_log(ev, out, e, &s.title) {
                problems.push(g.detail.clone());
                gaps.retain(|x| !(x.path == g.path && x.cause == g.cause));
                gaps.push(g);
            }
            continue;
        }
        let read = out
            .reads
            .binary_search_by(|r| r.path.cmp(&e.path))
            .ok()
            .map(|i| &out.reads[i]);
        let (from, to) = read.map_or((None, None), |r| (r.from, r.to));
        if let (Some(a), Some(b)) = (from, to) {
            lo = Some(lo.map_or(a, |x| x.min(a)));
            hi = Some(hi.map_or(b, |x| x.max(b)));
        }
        let inferred = read.and_then(|r| r.year_inferred_from.clone());
        sc.year_inferred |= inferred.is_some();
        sc.files.push(SourceFile {
            path: e.path.clone(),
            bytes: e.size,
            sha256: read.and_then(|r| r.sha256.clone()),
            from: from.map(Timestamp::from_unix),
            to: to.map(Timestamp::from_unix),
            year_inferred_from: inferred,
        });
        sc.bytes += e.size;
        if read.is_some_and(|r| r.complete) {
            sc.files_read += 1;
        }
    }
    // Oldest file first.
    sc.files
        .sort_by(|a, b| (a.from, &a.path).cmp(&(b.from, &b.path)));
    sc.from = lo.map(Timestamp::from_unix);
    sc.to = hi.map(Timestamp::from_unix);
    (sc, (lo, hi))
}

/// A required source that is missing or was not read: a gap and a problem.
fn required_source(
    s: &SourceDef,
    sc: &SourceCoverage,
    gaps: &mut Vec<Gap>,
    problems: &mut Vec<String>,
) {
    let first = s
        .logs
        .first()
        .or(s.files.first())
        .cloned()
        .unwrap_or_default();
    if sc.files.is_empty() {
        gaps.push(Gap::new(
            EvPath::new(first.into_bytes()),
            GapCause::Missing,
            format!("no {} in the evidence", s.title),
            true,
        ));
        problems.push(format!("the {} is missing", s.title));
    } else if sc.files_read == 0 {
        problems.push(format!(
            "the {} ({}) was not read completely by any rule in force",
            s.title,
            plural(sc.files.len(), "file")
        ));
    }
}

/// A gap for every hole of a source: on the file holding the last line before it, or on each
/// missing rotation. It blocks `clean` when it makes a window not covered.
fn hole_gaps(
    profile: &Profile,
    cont: &continuity::Continuity,
    windows: &[WindowCheck],
) -> Vec<Gap> {
    let mut out = Vec::new();
    for (s, st) in profile.sources.iter().zip(&cont.sources) {
        for h in &st.holes {
            let (from, to) = (
                h.from.map(Timestamp::from_unix),
                h.to.map(Timestamp::from_unix),
            );
            let blocks = windows.iter().any(|w| {
                w.status == WindowStatus::NotCovered
                    && w.holes
                        .iter()
                        .any(|x| x.source == s.id && x.from == from && x.to == to)
            });
            let when = match (h.from, h.to) {
                (Some(a), Some(b)) => format!(
                    "no line from {} to {}",
                    continuity::minute(a),
                    continuity::minute(b)
                ),
                (Some(a), None) => format!("no line from {} on", continuity::minute(a)),
                (None, Some(b)) => format!("no line until {}", continuity::minute(b)),
                (None, None) => "a stretch that cannot be placed in time".to_owned(),
            };
            let cause = if h.kind == crate::model::TimeGapKind::MissingRotation {
                GapCause::Missing
            } else {
                GapCause::Hole
            };
            for p in &h.paths {
                out.push(Gap::new(
                    p.clone(),
                    cause,
                    format!("the {} has a hole: {when}: {}", s.title, h.detail),
                    blocks,
                ));
            }
        }
    }
    out
}

/// What the verdict and its reasons are decided from.
struct Judged<'a> {
    present: &'a [&'a String],
    source_problems: &'a [String],
    windows: &'a [WindowCheck],
    findings: &'a [Finding],
}

/// The verdict and its reasons, most important first.
fn judge(
    profile: &Profile,
    ev: &Names<'_>,
    rules: &RuleSet,
    cov: &Coverage,
    j: &Judged<'_>,
) -> (Verdict, Vec<String>) {
    let mut reasons = Vec::new();
    let by_sev = count_by_severity(j.findings);
    // Missing sources and holes are explained by their own reasons.
    let blocking: Vec<&Gap> = cov
        .gaps
        .iter()
        .filter(|g| g.blocks_clean && !matches!(g.cause, GapCause::Missing | GapCause::Hole))
        .collect();
    let verdict = if cov.looks_like_appliance {
        decide(j.findings, &by_sev, &mut reasons)
    } else {
        not_an_appliance(profile, j.present, j.findings, &by_sev, &mut reasons)
    };
    let not_covered = j
        .windows
        .iter()
        .any(|w| w.status == WindowStatus::NotCovered);
    let verdict = match verdict {
        Verdict::Clean if !j.source_problems.is_empty() || !blocking.is_empty() || not_covered => {
            Verdict::Inconclusive
        }
        Verdict::Clean => {
            clean_reasons(rules, cov, j.windows, &mut reasons);
            Verdict::Clean
        }
        v => v,
    };
    for w in j.windows.iter().filter(|w| !w.examiner.is_empty()) {
        reasons.push(format!(
            "The examiner changed the {}: {}.",
            w.title,
            w.examiner.join("; ")
        ));
    }
    coverage_reasons(verdict, j, &blocking, &mut reasons);
    context_reasons(profile, ev, cov, j.windows, &by_sev, &mut reasons);
    (verdict, reasons)
}

/// Whatever matched, rules written for an appliance say little about another tree.
fn not_an_appliance(
    profile: &Profile,
    present: &[&String],
    findings: &[Finding],
    by_sev: &BTreeMap<Severity, u64>,
    reasons: &mut Vec<String>,
) -> Verdict {
    reasons.push(format!(
        "The evidence does not look like a {}: only {} of the marker paths exist ({}), at least {} are needed. Check that TARGET is the appliance root (the folder holding flash/ and var/).",
        profile.profile.title,
        present.len(),
        profile.markers.paths.iter().map(|p| format!("/{p}")).collect::<Vec<_>>().join(", "),
        profile.markers.min
    ));
    if findings.iter().any(|f| f.severity >= Severity::Medium) {
        reasons.push(format!(
            "Findings are listed nonetheless: {}.",
            summarise(
                findings,
                &[Severity::Critical, Severity::High, Severity::Medium],
                by_sev
            )
        ));
    }
    Verdict::Inconclusive
}

/// Coverage reasons: the cause of `inconclusive`, or context for the other verdicts.
fn coverage_reasons(
    verdict: Verdict,
    j: &Judged<'_>,
    blocking: &[&Gap],
    reasons: &mut Vec<String>,
) {
    let context = verdict != Verdict::Inconclusive;
    for p in j.source_problems {
        reasons.push(if context {
            format!("Coverage is incomplete: {p}.")
        } else {
            format!("Cannot say clean: {p}.")
        });
    }
    if !blocking.is_empty() {
        let mut by_cause: BTreeMap<GapCause, usize> = BTreeMap::new();
        for g in blocking {
            *by_cause.entry(g.cause).or_default() += 1;
        }
        let parts: Vec<String> = by_cause.iter().map(|(c, n)| cause_words(*c, *n)).collect();
        let prefix = if context {
            "Coverage is incomplete"
        } else {
            "Cannot say clean"
        };
        reasons.push(format!(
            "{prefix}: {} (listed under coverage gaps).",
            parts.join(", ")
        ));
    }
    for w in j
        .windows
        .iter()
        .filter(|w| w.status == WindowStatus::NotCovered)
    {
        let lead = if context {
            "Coverage is incomplete for the"
        } else {
            "Cannot say clean for the"
        };
        reasons.push(format!("{lead} {}: {}", w.title, w.detail));
    }
}

/// Reasons that give context whatever the verdict: downtime, the RAM disk, sources not
/// checked, windows that do not apply, low findings.
fn context_reasons(
    profile: &Profile,
    ev: &Names<'_>,
    cov: &Coverage,
    windows: &[WindowCheck],
    by_sev: &BTreeMap<Severity, u64>,
    reasons: &mut Vec<String>,
) {
    for d in &cov.downtime {
        reasons.push(format!(
            "The appliance was off from {} to {}: every log is silent then, the last record is {} line {} and the boot record {} line {}; nothing is logged while it is off, so that time counts as covered.",
            d.from.minute(),
            d.to.minute(),
            d.last_record.path.to_lossless_string(),
            d.last_record.line,
            d.boot_record.path.to_lossless_string(),
            d.boot_record.line
        ));
    }
    let volatile_missing = profile
        .volatile
        .paths
        .iter()
        .all(|p| ev.resolve(&EvPath::new(p.as_bytes().to_vec())).is_none());
    if volatile_missing && cov.looks_like_appliance {
        reasons.push(volatile_note(profile, ev));
    }
    for s in cov
        .sources
        .iter()
        .filter(|s| !s.required && !s.files.is_empty() && s.files_read == 0)
    {
        reasons.push(format!(
            "The {} is in the evidence ({}) but no rule in force reads it: it was not checked.",
            s.title,
            plural(s.files.len(), "file")
        ));
    }
    for w in windows
        .iter()
        .filter(|w| w.status == WindowStatus::NotRelevant)
    {
        reasons.push(format!(
            "The {} does not concern this evidence: {}.",
            w.title, w.detail
        ));
    }
    let low: u64 = [Severity::Low, Severity::Info]
        .iter()
        .map(|s| by_sev.get(s).copied().unwrap_or(0))
        .sum();
    if low > 0 {
        reasons.push(format!(
            "{low} low or informational findings (such as failed attempts) are listed; they do not change the verdict."
        ));
    }
}

/// The verdict from the findings of an appliance: any critical or high finding is
/// `compromised`, any medium one `review`; otherwise `clean` for now (coverage decides next).
fn decide(
    findings: &[Finding],
    by_sev: &BTreeMap<Severity, u64>,
    reasons: &mut Vec<String>,
) -> Verdict {
    match findings.iter().map(|f| f.severity).max() {
        Some(Severity::Critical | Severity::High) => {
            reasons.push(format!(
                "Evidence of compromise: {}.",
                summarise(findings, &[Severity::Critical, Severity::High], by_sev)
            ));
            if by_sev.contains_key(&Severity::Medium) {
                reasons.push(format!(
                    "Also to review: {}.",
                    summarise(findings, &[Severity::Medium], by_sev)
                ));
            }
            Verdict::Compromised
        }
        Some(Severity::Medium) => {
            reasons.push(format!(
                "Traces that need a human to review, none proving compromise on its own: {}.",
                summarise(findings, &[Severity::Medium], by_sev)
            ));
            Verdict::Review
        }
        _ => Verdict::Clean,
    }
}

/// What a `clean` verdict rests on: the rules applied, the sources read, the windows covered.
fn clean_reasons(
    rules: &RuleSet,
    cov: &Coverage,
    windows: &[WindowCheck],
    reasons: &mut Vec<String>,
) {
    reasons.push(format!(
        "No traces of an attack were found: {} rules were applied to {} entries ({} files read, {} bytes).",
        rules.rules().len(),
        cov.entries_seen,
        cov.files_read,
        cov.bytes_read
    ));
    let read: Vec<String> = cov
        .sources
        .iter()
        .filter(|s| s.required)
        .map(|s| format!("{} ({})", s.id, plural(s.files.len(), "file")))
        .collect();
    reasons.push(format!(
        "Every required evidence source was present and read: {}.",
        read.join(", ")
    ));
    let covered: Vec<String> = windows
        .iter()
        .filter(|w| w.status == WindowStatus::Covered)
        .map(|w| {
            let by = if w.examiner.is_empty() {
                ""
            } else {
                ", as set by the examiner"
            };
            format!("{} (from {}{by})", w.title, w.from.date())
        })
        .collect();
    if !covered.is_empty() {
        reasons.push(format!(
            "The logs reach back to the start of the {}.",
            covered.join(" and the ")
        ));
    }
}

/// The RAM disk is not in the evidence: say so, and which persistent filesystems were.
fn volatile_note(profile: &Profile, ev: &Names<'_>) -> String {
    let here: Vec<String> = profile
        .volatile
        .persistent
        .iter()
        .filter(|p| ev.resolve(&EvPath::new(p.as_bytes().to_vec())).is_some())
        .map(|p| format!("/{p}"))
        .collect();
    let note = &profile.volatile.note;
    match here.len() {
        0 => note.clone(),
        n if n == profile.volatile.persistent.len() => {
            format!("{note} {} were examined.", here.join(" and "))
        }
        _ => format!(
            "{note} Of the persistent disk only {} is in the evidence.",
            here.join(" and ")
        ),
    }
}

/// A log or file of an evidence source that is not a regular file: a symbolic link to
/// `/dev/null` or to nothing, a FIFO, a device. What it should hold is not in the evidence, so
/// it blocks `clean`. A link to a regular file inside the evidence is fine (that file is read
/// under its own path).
fn not_a_log(
    ev: &Names<'_>,
    out: &ScanOutput,
    e: &crate::input::Entry,
    title: &str,
) -> Option<Gap> {
    let shown = e.path.to_lossless_string();
    let (cause, what) = match e.kind {
        EntryKind::Dir => return None,
        EntryKind::Symlink => {
            let target = e
                .link_target
                .as_deref()
                .map(|t| String::from_utf8_lossy(t).into_owned())
                .unwrap_or_default();
            let resolved = ev.resolve(&e.path);
            let regular = resolved.as_ref().is_some_and(|p| {
                out.listing
                    .entries
                    .binary_search_by(|x| x.path.cmp(p))
                    .is_ok_and(|i| out.listing.entries[i].kind == EntryKind::File)
            });
            if regular {
                return None;
            }
            (
                GapCause::BrokenSymlink,
                format!("a symbolic link to {target}, which is not a file in the evidence"),
            )
        }
        EntryKind::Fifo => (GapCause::SpecialFile, "a FIFO, not a file".to_owned()),
        EntryKind::Socket => (GapCause::SpecialFile, "a socket, not a file".to_owned()),
        EntryKind::CharDevice | EntryKind::BlockDevice => {
            (GapCause::SpecialFile, "a device, not a file".to_owned())
        }
        EntryKind::File | EntryKind::Other => {
            (GapCause::SpecialFile, "not a regular file".to_owned())
        }
    };
    Some(Gap::new(
        e.path.clone(),
        cause,
        format!("{shown} ({title}) is {what}: what it held is not in the evidence"),
        true,
    ))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "1 file could not be read", "3 files could not be read".
fn cause_words(c: GapCause, n: usize) -> String {
    let (one, many) = match c {
        GapCause::Missing => ("expected location missing", "expected locations missing"),
        GapCause::Unreadable => ("file could not be read", "files could not be read"),
        GapCause::UnlistableDir => (
            "directory could not be listed",
            "directories could not be listed",
        ),
        GapCause::TooLarge => (
            "file was too large to examine whole",
            "files were too large to examine whole",
        ),
        GapCause::CorruptGzip => ("compressed log is damaged", "compressed logs are damaged"),
        GapCause::Shrank => (
            "file shrank while being read",
            "files shrank while being read",
        ),
        GapCause::SpecialFile => ("special file was skipped", "special files were skipped"),
        GapCause::BrokenSymlink => (
            "symbolic link could not be resolved",
            "symbolic links could not be resolved",
        ),
        GapCause::CorruptArchive => ("archive is damaged", "archives are damaged"),
        GapCause::Budget => ("read stopped by a budget", "reads stopped by a budget"),
        GapCause::Hole => ("log has holes", "logs have holes"),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

fn count_by_severity(f: &[Finding]) -> BTreeMap<Severity, u64> {
    let mut m = BTreeMap::new();
    for x in f {
        *m.entry(x.severity).or_default() += 1;
    }
    m
}

/// "2 critical and 1 high findings from cve-2019-19781.template-directive (2), ...".
fn summarise(findings: &[Finding], sev: &[Severity], by_sev: &BTreeMap<Severity, u64>) -> String {
    let counts: Vec<String> = sev
        .iter()
        .filter_map(|s| by_sev.get(s).map(|n| format!("{n} {s}")))
        .collect();
    let mut per_rule: BTreeMap<&str, u64> = BTreeMap::new();
    for f in findings.iter().filter(|f| sev.contains(&f.severity)) {
        *per_rule.entry(&f.rule).or_default() += 1;
    }
    let rules: Vec<String> = per_rule.iter().map(|(r, n)| format!("{r} ({n})")).collect();
    let total: u64 = sev.iter().filter_map(|s| by_sev.get(s)).sum();
    let noun = if total == 1 { "finding" } else { "findings" };
    format!("{} {noun} from {}", counts.join(" and "), rules.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(
            cause_words(GapCause::Unreadable, 1),
            "1 file could not be read"
        );
        assert_eq!(
            cause_words(GapCause::Unreadable, 3),
            "3 files could not be read"
        );
        assert_eq!(
            cause_words(GapCause::CorruptArchive, 1),
            "1 archive is damaged"
        );
    }
}
