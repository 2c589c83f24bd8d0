//! Findings + coverage → verdict. The verdict answers only "are there traces of an attack":
//!
//! 1. any `critical` or `high` finding → `compromised`;
//! 2. else any `medium` finding → `review`;
//! 3. else the tree does not look like an appliance, or evidence a clean verdict needs is
//!    missing, unreadable or was not examined → `inconclusive`;
//! 4. else `clean`.
//!
//! What counts as needed evidence comes from the appliance profile (`profiles/*.toml`), not from
//! code. Coverage problems never downgrade `compromised` or `review`; they are listed as reasons.

mod windows;

use windows::check_windows;
pub use windows::{DateArg, WindowOverrides};

use crate::firmware::Facts;
use crate::input::{EntryKind, Evidence};
use crate::model::{
    Coverage, EvPath, Finding, Gap, GapCause, Period, Severity, SourceCoverage, SourceFile,
    TimeZone, Verdict, WindowCheck, WindowStatus, rfc3339,
};
use crate::rules::RuleSet;
use crate::scan::FileRead;
use crate::scan::{ScanOutput, glob};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::collections::HashMap;

/// The shape of an appliance and the evidence sources a `clean` verdict depends on.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub profile: ProfileInfo,
    pub markers: Markers,
    #[serde(rename = "source")]
    pub sources: Vec<SourceDef>,
    pub volatile: Volatile,
}

/// `[profile]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInfo {
    pub id: String,
    pub title: String,
}

/// `[markers]`: paths whose presence identifies the appliance.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Markers {
    pub min: usize,
    pub paths: Vec<String>,
}

/// `[[source]]`: one kind of evidence.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    pub id: String,
    pub title: String,
    pub required: bool,
    #[serde(default)]
    pub logs: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
}

/// `[volatile]`: RAM-disk locations.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volatile {
    pub paths: Vec<String>,
    /// The persistent filesystems, named when the RAM disk is missing.
    pub persistent: Vec<String>,
    pub note: String,
}

impl Profile {
    /// The NetScaler profile embedded in the binary.
    pub fn embedded() -> Result<Profile> {
        let (name, src) = crate::rules::embedded::PROFILES
            .iter()
            .find(|(n, _)| n.ends_with("netscaler.toml"))
            .context("the netscaler profile is not embedded")?;
        Profile::parse(name, src)
    }

    /// Parses a profile file.
    pub fn parse(name: &str, src: &str) -> Result<Profile> {
        let p: Profile = toml::from_str(src).with_context(|| format!("invalid profile {name}"))?;
        for s in &p.sources {
            for g in s.logs.iter().chain(&s.files) {
                glob::compile(g).with_context(|| format!("profile {name}: bad glob `{g}`"))?;
            }
        }
        Ok(p)
    }
}

/// The verdict with its reasons and the coverage it rests on.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub coverage: Coverage,
    pub windows: Vec<WindowCheck>,
}

/// Decides the verdict for one scan.
pub fn assess(
    profile: &Profile,
    ev: &dyn Evidence,
    out: &ScanOutput,
    rules: &RuleSet,
    facts: &Facts,
    cves: &crate::posture::CveTable,
    overrides: &WindowOverrides,
) -> Assessment {
    let mut cov = Coverage::default();
    let mut gaps: Vec<Gap> = out.gaps.clone();
    for e in &out.listing.entries {
        cov.entries_seen += 1;
        match e.kind {
            EntryKind::File => cov.files_seen += 1,
            EntryKind::Dir => cov.dirs_seen += 1,
            EntryKind::Symlink => cov.symlinks_seen += 1,
            k if k.is_special() => cov.special_files_skipped += 1,
            _ => {}
        }
    }
    cov.files_read = out.reads.len() as u64;
    cov.timezone = out.zone.as_ref().map(|z| TimeZone {
        zone: z.name.clone(),
        utc_offset: z.utc_offset(),
        daylight_saving: z.daylight_saving.clone(),
        source: z.source.clone(),
        assumed: z.source.is_none(),
        note: z.note.clone(),
    });
    cov.bytes_read = out.reads.iter().map(|r| r.bytes).sum();

    let present: Vec<&String> = profile
        .markers
        .paths
        .iter()
        .filter(|p| ev.resolve(&EvPath::new(p.as_bytes().to_vec())).is_some())
        .collect();
    cov.looks_like_appliance = present.len() >= profile.markers.min;

    let reads: HashMap<&EvPath, &FileRead> = out.reads.iter().map(|r| (&r.path, r)).collect();
    let mut source_problems = Vec::new();
    // Unix-second ranges per source id, for the window checks.
    let mut ranges: HashMap<String, (Option<i64>, Option<i64>)> = HashMap::new();
    for s in &profile.sources {
        let (log_set, file_set) = match (glob::set(&s.logs), glob::set(&s.files)) {
            (Ok(l), Ok(f)) => (l, f),
            _ => continue, // validated in Profile::parse
        };
        let mut sc = SourceCoverage {
            id: s.id.clone(),
            title: s.title.clone(),
            required: s.required,
            from: None,
            to: None,
            year_inferred: false,
            time_gaps: Vec::new(),
            files: Vec::new(),
            files_read: 0,
            bytes: 0,
        };
        let mut dated: Vec<(i64, i64)> = Vec::new();
        for e in &out.listing.entries {
            let rel = e.path.relative();
            if !(log_set.is_match(glob::as_path(glob::log_family(rel)))
                || file_set.is_match(glob::as_path(rel)))
            {
                continue;
            }
            if e.kind != EntryKind::File {
                if let Some(g) = not_a_log(ev, out, e, &s.title) {
                    source_problems.push(g.detail.clone());
                    gaps.retain(|x| !(x.path == g.path && x.cause == g.cause));
                    gaps.push(g);
                }
                continue;
            }
            let read = reads.get(&e.path);
            let (from, to) = read.map_or((None, None), |r| (r.from, r.to));
            if let (Some(a), Some(b)) = (from, to) {
                dated.push((a, b));
            }
            let inferred = read.and_then(|r| r.year_inferred_from.clone());
            sc.year_inferred |= inferred.is_some();
            sc.files.push(SourceFile {
                path: e.path.clone(),
                bytes: e.size,
                sha256: read.and_then(|r| r.sha256.clone()),
                from: from.map(rfc3339),
                to: to.map(rfc3339),
                year_inferred_from: inferred,
            });
            sc.bytes += e.size;
            if read.is_some_and(|r| r.complete) {
                sc.files_read += 1;
            }
        }
        // Oldest file first; then stretches of more than a day with no file at all.
        sc.files
            .sort_by(|a, b| (&a.from, &a.path).cmp(&(&b.from, &b.path)));
        dated.sort_unstable();
        let (lo, hi) = (
            dated.iter().map(|d| d.0).min(),
            dated.iter().map(|d| d.1).max(),
        );
        let mut reach = None;
        for (a, b) in &dated {
            if let Some(r) = reach
                && *a > r + 86_400
            {
                sc.time_gaps.push(Period {
                    from: rfc3339(r),
                    to: rfc3339(*a),
                });
            }
            reach = Some(reach.map_or(*b, |r: i64| r.max(*b)));
        }
        sc.from = lo.map(rfc3339);
        sc.to = hi.map(rfc3339);
        ranges.insert(s.id.clone(), (lo, hi));
        if s.required && cov.looks_like_appliance {
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
                source_problems.push(format!("the {} is missing", s.title));
            } else if sc.files_read == 0 {
                source_problems.push(format!(
                    "the {} ({}) was not read completely by any rule in force",
                    s.title,
                    plural(sc.files.len(), "file")
                ));
            }
        }
        cov.sources.push(sc);
    }
    let windows = if cov.looks_like_appliance {
        check_windows(facts, rules, cves, &ranges, &cov.sources, overrides)
    } else {
        Vec::new()
    };
    gaps.sort_by(|a, b| (&a.path, a.cause).cmp(&(&b.path, b.cause)));
    gaps.dedup();
    cov.gaps = gaps;

    let volatile_missing = profile
        .volatile
        .paths
        .iter()
        .all(|p| ev.resolve(&EvPath::new(p.as_bytes().to_vec())).is_none());

    let mut reasons = Vec::new();
    let by_sev = count_by_severity(&out.findings);
    let worst = out.findings.iter().map(|f| f.severity).max();
    let blocking: Vec<&Gap> = cov
        .gaps
        .iter()
        .filter(|g| g.blocks_clean && g.cause != GapCause::Missing)
        .collect();
    let verdict = if cov.looks_like_appliance {
        decide(&out.findings, &by_sev, &mut reasons)
    } else {
        // Whatever matched, rules written for an appliance say little about another tree.
        reasons.push(format!(
            "The evidence does not look like a {}: only {} of the marker paths exist ({}), at least {} are needed. Check that TARGET is the appliance root (the folder holding flash/ and var/).",
            profile.profile.title,
            present.len(),
            profile.markers.paths.iter().map(|p| format!("/{p}")).collect::<Vec<_>>().join(", "),
            profile.markers.min
        ));
        if worst.is_some_and(|w| w >= Severity::Medium) {
            reasons.push(format!(
                "Findings are listed nonetheless: {}.",
                summarise(
                    &out.findings,
                    &[Severity::Critical, Severity::High, Severity::Medium],
                    &by_sev
                )
            ));
        }
        Verdict::Inconclusive
    };
    let verdict = match verdict {
        Verdict::Clean
            if !source_problems.is_empty()
                || !blocking.is_empty()
                || windows.iter().any(|w| w.status == WindowStatus::NotCovered) =>
        {
            Verdict::Inconclusive
        }
        Verdict::Clean => {
            clean_reasons(rules, &cov, &windows, &mut reasons);
            Verdict::Clean
        }
        v => v,
    };
    for w in windows.iter().filter(|w| !w.examiner.is_empty()) {
        reasons.push(format!(
            "The examiner changed the {}: {}.",
            w.title,
            w.examiner.join("; ")
        ));
    }
    // Coverage reasons: the cause of `inconclusive`, or context for the other verdicts.
    let context = verdict != Verdict::Inconclusive;
    for p in &source_problems {
        reasons.push(if context {
            format!("Coverage is incomplete: {p}.")
        } else {
            format!("Cannot say clean: {p}.")
        });
    }
    if !blocking.is_empty() {
        let mut by_cause: BTreeMap<GapCause, usize> = BTreeMap::new();
        for g in &blocking {
            *by_cause.entry(g.cause).or_default() += 1;
        }
        let parts: Vec<String> = by_cause
            .iter()
            .map(|(c, n)| format!("{n} {}", cause_words(*c)))
            .collect();
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
    for w in windows
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
    Assessment {
        verdict,
        reasons,
        coverage: cov,
        windows,
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
        rules.rules.len(),
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
            format!("{} (from {}{by})", w.title, &w.from[..10.min(w.from.len())])
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
fn volatile_note(profile: &Profile, ev: &dyn Evidence) -> String {
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
    ev: &dyn Evidence,
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

fn cause_words(c: GapCause) -> &'static str {
    match c {
        GapCause::Missing => "expected locations missing",
        GapCause::Unreadable => "files could not be read",
        GapCause::UnlistableDir => "directories could not be listed",
        GapCause::TooLarge => "files were too large to examine whole",
        GapCause::CorruptGzip => "compressed logs are damaged",
        GapCause::Shrank => "files shrank while being read",
        GapCause::SpecialFile => "special files were skipped",
        GapCause::BrokenSymlink => "symbolic links could not be resolved",
        GapCause::CorruptArchive => "archives are damaged",
        GapCause::Budget => "reads stopped by a budget",
    }
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
    format!(
        "{} findings from {}",
        counts.join(" and "),
        rules.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_profile_parses() {
        let p = Profile::embedded().unwrap();
        assert_eq!(p.profile.id, "netscaler");
        assert!(p.sources.iter().any(|s| s.id == "access-log" && s.required));
        assert!(p.markers.min >= 1 && p.markers.min <= p.markers.paths.len());
    }
}
