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

use crate::input::{EntryKind, Evidence};
use crate::model::{Coverage, EvPath, Finding, Gap, GapCause, Severity, SourceCoverage, Verdict};
use crate::rules::RuleSet;
use crate::scan::{ScanOutput, glob};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

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
}

/// Decides the verdict for one scan.
pub fn assess(
    profile: &Profile,
    ev: &dyn Evidence,
    out: &ScanOutput,
    rules: &RuleSet,
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
    cov.bytes_read = out.reads.iter().map(|r| r.bytes).sum();

    let present: Vec<&String> = profile
        .markers
        .paths
        .iter()
        .filter(|p| ev.resolve(&EvPath::new(p.as_bytes().to_vec())).is_some())
        .collect();
    cov.looks_like_appliance = present.len() >= profile.markers.min;

    let complete: HashSet<&EvPath> = out
        .reads
        .iter()
        .filter(|r| r.complete)
        .map(|r| &r.path)
        .collect();
    let mut source_problems = Vec::new();
    for s in &profile.sources {
        let (log_set, file_set) = match (glob::set(&s.logs), glob::set(&s.files)) {
            (Ok(l), Ok(f)) => (l, f),
            _ => continue, // validated in Profile::parse
        };
        let mut sc = SourceCoverage {
            id: s.id.clone(),
            title: s.title.clone(),
            required: s.required,
            files: Vec::new(),
            files_read: 0,
            bytes: 0,
        };
        for e in out
            .listing
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
        {
            let rel = e.path.relative();
            if log_set.is_match(glob::as_path(glob::log_family(rel)))
                || file_set.is_match(glob::as_path(rel))
            {
                sc.files.push(e.path.clone());
                sc.bytes += e.size;
                if complete.contains(&e.path) {
                    sc.files_read += 1;
                }
            }
        }
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
    let verdict = match worst {
        Some(Severity::Critical | Severity::High) => {
            reasons.push(format!(
                "Evidence of compromise: {}.",
                summarise(
                    &out.findings,
                    &[Severity::Critical, Severity::High],
                    &by_sev
                )
            ));
            if by_sev.contains_key(&Severity::Medium) {
                reasons.push(format!(
                    "Also to review: {}.",
                    summarise(&out.findings, &[Severity::Medium], &by_sev)
                ));
            }
            Verdict::Compromised
        }
        Some(Severity::Medium) => {
            reasons.push(format!(
                "Traces that need a human to review, none proving compromise on its own: {}.",
                summarise(&out.findings, &[Severity::Medium], &by_sev)
            ));
            Verdict::Review
        }
        _ if !cov.looks_like_appliance => {
            reasons.push(format!(
                "The evidence does not look like a {}: only {} of the marker paths exist ({}), at least {} are needed. Check that TARGET is the appliance root (the folder holding flash/ and var/).",
                profile.profile.title,
                present.len(),
                profile.markers.paths.iter().map(|p| format!("/{p}")).collect::<Vec<_>>().join(", "),
                profile.markers.min
            ));
            Verdict::Inconclusive
        }
        _ if !source_problems.is_empty() || !blocking.is_empty() => Verdict::Inconclusive,
        _ => {
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
            Verdict::Clean
        }
    };
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
    if volatile_missing && cov.looks_like_appliance {
        reasons.push(profile.volatile.note.clone());
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
    }
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
