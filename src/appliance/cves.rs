//! The CVE table of an appliance family: per CVE its advisory, affected branches, first fixed
//! builds, exposure conditions, exploitation dates, traces and mitigations, with sources. The
//! one place that holds them: posture and the exposure windows both read it. The family's
//! table is data (for NetScaler `src/appliance/netscaler/cves.toml`, whose header documents
//! every field); `status` judges a firmware build against it.

use crate::model::CveStatus;
use crate::util::version::{Build, parse_build};
use anyhow::{Context, Result};
use serde::Deserialize;

/// A CVE table. The family's file documents every field.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CveTable {
    /// Branches whose FIPS / NDcPP builds have build numbers of their own.
    #[serde(default)]
    pub(crate) special_lines: Vec<SpecialLine>,
    pub(crate) cve: Vec<CveDef>,
}

/// A branch whose FIPS / NDcPP builds use their own major build numbers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialLine {
    pub(crate) branch: String,
    pub(crate) majors: Vec<u32>,
    #[serde(default)]
    pub note: String,
}

/// One `[[cve]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CveDef {
    pub(crate) id: String,
    pub(crate) title: String,
    /// `CTXnnnnnn, YYYY-MM-DD`.
    pub(crate) advisory: String,
    /// The exposing configuration in words, as reported.
    pub(crate) requires: String,
    /// Date CISA added the CVE to its Known Exploited Vulnerabilities catalog.
    #[serde(default)]
    pub(crate) kev_added: Option<String>,
    /// Where each fact below was checked; items name one by `source = "id"`.
    #[serde(default)]
    pub(crate) sources: Vec<SourceDef>,
    /// First fixed build per branch and line.
    #[serde(default)]
    pub(crate) fixed: Vec<FixedDef>,
    /// Last affected build, where the record names no fixed one.
    #[serde(default)]
    pub(crate) affected_through: Vec<FixedDef>,
    /// Branches listed as affected without a build number.
    #[serde(default)]
    pub(crate) affected_fix_unknown: Vec<BranchDef>,
    /// Branches whose regular line is affected and never got a fixed build.
    #[serde(default)]
    pub(crate) vulnerable_branch_eol: Vec<String>,
    /// `vulnerable_branch_eol` parsed, filled in when the table is loaded.
    #[serde(skip)]
    pub(crate) eol_branches: Vec<Build>,
    /// Configurations that expose the appliance, as ns.conf command prefixes.
    #[serde(default)]
    pub(crate) exposure: Vec<ExposureDef>,
    /// Earliest published date of exploitation.
    #[serde(default)]
    pub(crate) exploited_since: Option<ExploitedDef>,
    /// Published traces of exploitation.
    #[serde(default)]
    pub(crate) traces: Vec<TraceDef>,
    /// Published mitigations and their parts.
    #[serde(default)]
    pub(crate) mitigations: Vec<MitigationDef>,
    /// `(branch, major)` pairs whose builds may be regular or FIPS/NDcPP builds; filled in from
    /// the table's `special_lines` when it is loaded.
    #[serde(skip)]
    pub(crate) special_majors: Vec<(Build, u32)>,
}

/// One source a fact was checked against.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    pub(crate) id: String,
    /// `cve-record`, `kev`, `vendor`, `restatement` or `report`.
    pub(crate) kind: String,
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default)]
    pub note: String,
}

/// The source kinds a table entry may name.
pub(crate) const SOURCE_KINDS: &[&str] = &["cve-record", "kev", "vendor", "restatement", "report"];

/// The lines a fixed build may belong to besides the regular one.
pub(crate) const SPECIAL_LINES: &[&str] = &["FIPS", "NDcPP", "FIPS/NDcPP"];

/// One first fixed (or last affected) build.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FixedDef {
    pub(crate) branch: String,
    pub(crate) build: String,
    /// Absent for the regular line; `FIPS`, `NDcPP` or `FIPS/NDcPP`.
    pub(crate) line: Option<String>,
    #[serde(default)]
    pub(crate) source: Option<String>,
    /// `branch` and `build` parsed, filled in when the table is loaded.
    #[serde(skip)]
    pub(crate) at: (Build, Build),
}

/// A branch (and line) named without a build number.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BranchDef {
    pub(crate) branch: String,
    pub(crate) line: Option<String>,
    pub(crate) source: String,
    /// `branch` parsed, filled in when the table is loaded.
    #[serde(skip)]
    pub(crate) parsed: Build,
}

/// A configuration that exposes the appliance.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExposureDef {
    pub(crate) what: String,
    /// ns.conf command prefixes; empty when ns.conf cannot tell (see `note`).
    pub(crate) ns_conf: Vec<String>,
    /// When given, the line must also hold one of these words.
    #[serde(default)]
    pub with_any: Vec<String>,
    #[serde(default)]
    pub(crate) note: String,
    pub(crate) source: String,
}

/// When exploitation began, as published.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExploitedDef {
    /// `YYYY-MM-DD`; with `precision = "month"` the first day of the month the source names.
    pub(crate) date: String,
    /// `day` or `month`.
    pub(crate) precision: String,
    pub(crate) source: String,
    #[serde(default)]
    pub note: String,
}

/// A published trace of exploitation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceDef {
    pub(crate) what: String,
    /// `file`, `log` or `config`.
    pub(crate) kind: String,
    pub pattern: String,
    pub(crate) source: String,
}

/// A published mitigation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MitigationDef {
    pub what: String,
    #[serde(default)]
    pub commands: Vec<String>,
    pub(crate) source: String,
}

impl ExposureDef {
    /// The ns.conf lines that match this configuration.
    pub fn matches<'a>(&self, conf: &'a str) -> Vec<&'a str> {
        conf.lines()
            .filter(|l| {
                let l = l.trim_start();
                self.ns_conf.iter().any(|p| {
                    l.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))
                        && l[p.len()..].starts_with(' ')
                })
            })
            .filter(|l| {
                self.with_any.is_empty()
                    || l.split_whitespace()
                        .any(|w| self.with_any.iter().any(|x| w.eq_ignore_ascii_case(x)))
            })
            .collect()
    }
}

impl CveTable {
    /// Parses and checks a CVE table.
    pub fn parse(name: &str, src: &str) -> Result<CveTable> {
        let mut t: CveTable = toml::from_str(src).with_context(|| format!("invalid {name}"))?;
        let mut special = Vec::new();
        for s in &t.special_lines {
            let b = parse_build(&s.branch)
                .with_context(|| format!("{name}: special_lines: bad branch {}", s.branch))?;
            special.extend(s.majors.iter().map(|m| (b, *m)));
        }
        let mut ids = Vec::new();
        for c in &mut t.cve {
            check_cve(c).with_context(|| format!("{name}: {}", c.id))?;
            if ids.contains(&c.id) {
                anyhow::bail!("{name}: {} is listed twice", c.id);
            }
            ids.push(c.id.clone());
            c.special_majors = special.clone();
        }
        Ok(t)
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Every build parses, every line is known, every `source` names an entry of `sources`. Fills
/// in the parsed branches and builds.
fn check_cve(c: &mut CveDef) -> Result<()> {
    let mut seen = Vec::new();
    for s in &c.sources {
        if seen.contains(&s.id.as_str()) {
            anyhow::bail!("source {} is listed twice", s.id);
        }
        if !SOURCE_KINDS.contains(&s.kind.as_str()) {
            anyhow::bail!("source {} has an unknown kind {}", s.id, s.kind);
        }
        seen.push(s.id.as_str());
    }
    let known = |id: &str| -> Result<()> {
        if seen.contains(&id) {
            Ok(())
        } else {
            anyhow::bail!("names a source {id} that `sources` does not list")
        }
    };
    let line_ok = |l: &Option<String>| -> Result<()> {
        match l {
            Some(l) if !SPECIAL_LINES.contains(&l.as_str()) => {
                anyhow::bail!("unknown line {l} (FIPS, NDcPP or FIPS/NDcPP)")
            }
            _ => Ok(()),
        }
    };
    for f in c.fixed.iter_mut().chain(&mut c.affected_through) {
        let (Some(branch), Some(build)) = (parse_build(&f.branch), parse_build(&f.build)) else {
            anyhow::bail!("bad branch or build {}-{}", f.branch, f.build);
        };
        f.at = (branch, build);
        line_ok(&f.line)?;
        if let Some(s) = &f.source {
            known(s)?;
        }
    }
    for b in &mut c.affected_fix_unknown {
        b.parsed = parse_build(&b.branch).with_context(|| format!("bad branch {}", b.branch))?;
        line_ok(&b.line)?;
        known(&b.source)?;
    }
    c.eol_branches = c
        .vulnerable_branch_eol
        .iter()
        .map(|b| parse_build(b).with_context(|| format!("bad branch {b}")))
        .collect::<Result<_>>()?;
    if c.fixed.is_empty()
        && c.affected_through.is_empty()
        && c.affected_fix_unknown.is_empty()
        && c.vulnerable_branch_eol.is_empty()
    {
        anyhow::bail!("lists no affected branch");
    }
    if let Some(d) = &c.kev_added
        && !is_date(d)
    {
        anyhow::bail!("kev_added {d} is not YYYY-MM-DD");
    }
    for e in &c.exposure {
        known(&e.source)?;
        if e.ns_conf.iter().any(|p| p.trim().is_empty()) {
            anyhow::bail!("exposure {}: empty ns.conf prefix", e.what);
        }
        if e.ns_conf.is_empty() && e.note.is_empty() {
            anyhow::bail!(
                "exposure {}: no ns.conf prefix and no note saying why",
                e.what
            );
        }
    }
    if let Some(x) = &c.exploited_since {
        known(&x.source)?;
        if !is_date(&x.date) || !["day", "month"].contains(&x.precision.as_str()) {
            anyhow::bail!("exploited_since: date {} precision {}", x.date, x.precision);
        }
        if x.precision == "month" && !x.date.ends_with("-01") {
            anyhow::bail!("exploited_since: a month-precision date is the first of the month");
        }
    }
    for t in &c.traces {
        known(&t.source)?;
        if !["file", "log", "config"].contains(&t.kind.as_str()) {
            anyhow::bail!("trace {}: unknown kind {}", t.what, t.kind);
        }
    }
    for m in &c.mitigations {
        known(&m.source)?;
    }
    Ok(())
}

/// What one line (regular, or FIPS/NDcPP) of a branch says about a build.
enum Verdict {
    Fixed(String),
    Vulnerable(String),
    Unknown(String),
    /// The CVE says nothing about this line of the branch.
    NotListed,
}

fn on(f: &FixedDef, branch: Build) -> bool {
    f.at.0 == branch
}

/// The regular line.
fn regular_verdict(def: &CveDef, branch: Build, build: Build) -> Verdict {
    let b = format!("{}.{}", branch.0, branch.1);
    let regular = |f: &&FixedDef| on(f, branch) && f.line.is_none();
    if let Some(f) = def.fixed.iter().find(regular) {
        return if build >= f.at.1 {
            Verdict::Fixed(format!("at or above the first fixed build {b}-{}", f.build))
        } else {
            Verdict::Vulnerable(format!("below the first fixed build {b}-{}", f.build))
        };
    }
    if let Some(f) = def.affected_through.iter().find(regular) {
        return if build <= f.at.1 {
            Verdict::Vulnerable(format!(
                "at or below the last affected build {b}-{}",
                f.build
            ))
        } else {
            Verdict::Unknown(format!(
                "above the last affected build {b}-{} the vendor names, but the vendor names no fixed build",
                f.build
            ))
        };
    }
    if def
        .affected_fix_unknown
        .iter()
        .any(|a| a.line.is_none() && a.parsed == branch)
    {
        return Verdict::Unknown(format!(
            "branch {b} is affected, and its first fixed build is not in the vendor's record"
        ));
    }
    if def.eol_branches.contains(&branch) {
        return Verdict::Vulnerable(format!(
            "branch {b} is affected and end of life: no regular fixed build"
        ));
    }
    let special_listed = def
        .fixed
        .iter()
        .chain(&def.affected_through)
        .any(|f| on(f, branch) && f.line.is_some())
        || def
            .affected_fix_unknown
            .iter()
            .any(|a| a.line.is_some() && a.parsed == branch);
    if special_listed {
        return Verdict::Unknown(format!(
            "the vendor lists only the FIPS/NDcPP line of {b}: regular {b} builds never got a fixed build, and the record does not say whether they are affected"
        ));
    }
    Verdict::NotListed
}

/// The FIPS / NDcPP line, for a build whose major number that line uses.
fn special_verdict(def: &CveDef, branch: Build, build: Build) -> Verdict {
    let b = format!("{}.{}", branch.0, branch.1);
    let same = |f: &&FixedDef| on(f, branch) && f.line.is_some() && f.at.1.0 == build.0;
    let fixes: Vec<&FixedDef> = def.fixed.iter().filter(same).collect();
    let builds: Vec<Build> = fixes.iter().map(|f| f.at.1).collect();
    if let (Some(lo), Some(hi)) = (builds.iter().min(), builds.iter().max()) {
        let names = fixes
            .iter()
            .map(|f| format!("{b}-{} {}", f.build, f.line.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", ");
        return if build >= *hi {
            Verdict::Fixed(format!("at or above the first fixed build {names}"))
        } else if build < *lo {
            Verdict::Vulnerable(format!("below the first fixed build {names}"))
        } else {
            Verdict::Unknown(format!("fixed only on some of its lines ({names})"))
        };
    }
    if let Some(f) = def.affected_through.iter().find(same) {
        return if build <= f.at.1 {
            Verdict::Vulnerable(format!(
                "at or below the last affected build {b}-{}",
                f.build
            ))
        } else {
            Verdict::Unknown(format!(
                "above the last affected build {b}-{}, but the vendor names no fixed build",
                f.build
            ))
        };
    }
    if def
        .affected_fix_unknown
        .iter()
        .any(|a| a.line.is_some() && a.parsed == branch)
    {
        return Verdict::Unknown(format!(
            "the FIPS/NDcPP line of {b} is affected, and its first fixed build is not in the vendor's record"
        ));
    }
    let listed = def
        .fixed
        .iter()
        .chain(&def.affected_through)
        .any(|f| on(f, branch))
        || def.affected_fix_unknown.iter().any(|a| a.parsed == branch)
        || def.eol_branches.contains(&branch);
    if listed {
        Verdict::Unknown(format!(
            "the vendor does not list the FIPS/NDcPP line of {b} for this CVE"
        ))
    } else {
        Verdict::NotListed
    }
}

/// Status of one CVE for a firmware version.
///
/// A build whose major number the FIPS/NDcPP line of its branch also uses (`special_lines`)
/// may be either kind of build, and nothing on disk tells which: it is `fixed` or `vulnerable`
/// only when both lines agree, `unknown` otherwise.
pub(crate) fn status(def: &CveDef, branch: Build, build: Build) -> (CveStatus, String) {
    let v = format!("{}.{}-{}.{}", branch.0, branch.1, build.0, build.1);
    let ambiguous = def.special_majors.contains(&(branch, build.0));
    let regular = regular_verdict(def, branch, build);
    let (st, why) = if ambiguous {
        let special = special_verdict(def, branch, build);
        match (regular, special) {
            (Verdict::NotListed, Verdict::NotListed) => return fallback(def, &v, branch),
            (Verdict::Fixed(r), Verdict::Fixed(s)) => (
                CveStatus::Fixed,
                format!("as a regular build {r}; as a FIPS/NDcPP build {s}"),
            ),
            (Verdict::Vulnerable(r), Verdict::Vulnerable(s)) => (
                CveStatus::Vulnerable,
                format!("as a regular build {r}; as a FIPS/NDcPP build {s}"),
            ),
            (r, s) => (
                CveStatus::Unknown,
                format!(
                    "may be a regular or a FIPS/NDcPP build, and the two differ: as a regular build {}; as a FIPS/NDcPP build {}",
                    said(&r, branch),
                    said(&s, branch)
                ),
            ),
        }
    } else {
        match regular {
            Verdict::Fixed(r) => (CveStatus::Fixed, r),
            Verdict::Vulnerable(r) => (CveStatus::Vulnerable, r),
            Verdict::Unknown(r) => (CveStatus::Unknown, r),
            Verdict::NotListed => return fallback(def, &v, branch),
        }
    };
    (st, format!("{v}: {why}"))
}

fn said(v: &Verdict, branch: Build) -> String {
    match v {
        Verdict::Fixed(s) => format!("fixed ({s})"),
        Verdict::Vulnerable(s) => format!("vulnerable ({s})"),
        Verdict::Unknown(s) => format!("unknown ({s})"),
        Verdict::NotListed => format!("not listed for branch {}.{} (unknown)", branch.0, branch.1),
    }
}

/// A branch the CVE does not list: never affected if it is newer than every branch the CVE
/// lists (it came later, or the vendor assessed it); unknown otherwise, since the vendor lists
/// supported branches only and says nothing of older ones.
fn fallback(def: &CveDef, v: &str, branch: Build) -> (CveStatus, String) {
    let listed: Vec<Build> = def
        .fixed
        .iter()
        .chain(&def.affected_through)
        .map(|f| f.at.0)
        .chain(def.affected_fix_unknown.iter().map(|a| a.parsed))
        .chain(def.eol_branches.iter().copied())
        .collect();
    match listed.iter().max() {
        Some(&newest) if branch > newest => (
            CveStatus::NotAffected,
            format!("{v}: branch {}.{} was not affected", branch.0, branch.1),
        ),
        _ => (
            CveStatus::Unknown,
            format!(
                "{v}: branch {}.{} is not listed by the vendor, which lists newer branches, and the vendor does not say whether it is affected",
                branch.0, branch.1
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::version::split_version;

    fn st(id: &str, v: &str) -> CveStatus {
        let t = crate::appliance::netscaler::cve_table().unwrap();
        let c = t.cve.iter().find(|c| c.id == id).unwrap();
        let (b, n) = split_version(v).unwrap();
        status(c, b, n).0
    }

    use CveStatus::{Fixed, NotAffected, Unknown, Vulnerable};

    #[test]
    fn statuses() {
        // Shitrix: fixed builds restated from CTX267027; 12.1-55.x may be a FIPS build.
        assert_eq!(st("CVE-2019-19781", "13.0-47.22"), Vulnerable);
        assert_eq!(st("CVE-2019-19781", "13.0-47.24"), Fixed);
        assert_eq!(st("CVE-2019-19781", "12.1-50.28"), Vulnerable);
        assert_eq!(st("CVE-2019-19781", "12.1-55.18"), Unknown);
        assert_eq!(st("CVE-2019-19781", "13.1-49.15"), NotAffected);
        assert_eq!(st("CVE-2019-19781", "10.1-100.1"), Unknown);
        // CTX276688: regular lines only.
        assert_eq!(st("CVE-2020-8193", "13.0-58.29"), Vulnerable);
        assert_eq!(st("CVE-2020-8193", "13.0-58.30"), Fixed);
        assert_eq!(st("CVE-2020-8193", "12.1-57.18"), Fixed);
        assert_eq!(st("CVE-2020-8193", "10.5-70.17"), Vulnerable);
        assert_eq!(st("CVE-2020-8196", "11.1-64.14"), Fixed);
        assert_eq!(st("CVE-2020-8195", "13.1-49.15"), NotAffected);
        // A 12.1-55.x build may be a FIPS build, a line the 2020 record does not list.
        assert_eq!(st("CVE-2020-8193", "12.1-55.18"), Unknown);
        // SAML: fixed builds restated by the Norwegian NCSC; 13.1 not affected.
        assert_eq!(st("CVE-2022-27518", "13.0-58.32"), Fixed);
        assert_eq!(st("CVE-2022-27518", "13.0-58.30"), Vulnerable);
        assert_eq!(st("CVE-2022-27518", "12.1-55.291"), Unknown);
        assert_eq!(st("CVE-2022-27518", "13.1-37.38"), NotAffected);
        // 2023: regular and FIPS lines.
        assert_eq!(st("CVE-2023-3519", "13.1-48.47"), Vulnerable);
        assert_eq!(st("CVE-2023-3519", "13.1-49.13"), Fixed);
        assert_eq!(st("CVE-2023-3519", "13.1-37.160"), Unknown);
        assert_eq!(st("CVE-2023-3519", "13.1-37.150"), Vulnerable);
        assert_eq!(st("CVE-2023-3519", "13.0-91.13"), Fixed);
        // 12.1 below the FIPS fix is vulnerable if FIPS, unassessed if regular.
        assert_eq!(st("CVE-2023-3519", "12.1-55.200"), Unknown);
        assert_eq!(st("CVE-2023-3519", "12.1-55.297"), Unknown);
        // Regular 12.1 after 55.x never got a fix and is not assessed: never `fixed`.
        assert_eq!(st("CVE-2023-3519", "12.1-65.35"), Unknown);
        assert_eq!(st("CVE-2023-4966", "12.1-65.35"), Unknown);
        assert_eq!(st("CVE-2023-4966", "14.1-8.50"), Fixed);
        assert_eq!(st("CVE-2023-4966", "14.1-4.42"), Vulnerable);
        assert_eq!(st("CVE-2023-4966", "13.1-49.13"), Vulnerable);
        assert_eq!(st("CVE-2023-4966", "13.1-37.164"), Unknown);
        assert_eq!(st("CVE-2023-4966", "12.0-63.21"), Unknown);
        assert_eq!(st("CVE-2023-6548", "13.0-92.21"), Fixed);
        assert_eq!(st("CVE-2023-6549", "14.1-12.30"), Vulnerable);
        // 2025: CitrixBleed 2 lists no FIPS line and no 12.1 or 13.0.
        assert_eq!(st("CVE-2025-5777", "14.1-43.56"), Fixed);
        assert_eq!(st("CVE-2025-5777", "13.1-58.31"), Vulnerable);
        assert_eq!(st("CVE-2025-5777", "13.1-37.235"), Unknown);
        assert_eq!(st("CVE-2025-5777", "13.0-92.21"), Unknown);
        assert_eq!(st("CVE-2025-5777", "12.1-55.328"), Unknown);
        // 12.1-FIPS is not listed for CVE-2025-6543: unknown, not vulnerable.
        assert_eq!(st("CVE-2025-6543", "12.1-55.330"), Unknown);
        assert_eq!(st("CVE-2025-6543", "12.1-65.35"), Unknown);
        assert_eq!(st("CVE-2025-6543", "14.1-47.46"), Fixed);
        assert_eq!(st("CVE-2025-6543", "13.1-59.18"), Vulnerable);
        assert_eq!(st("CVE-2025-6543", "13.1-37.236"), Unknown);
        assert_eq!(st("CVE-2025-7775", "12.1-55.329"), Unknown);
        assert_eq!(st("CVE-2025-7775", "12.1-55.330"), Unknown);
        assert_eq!(st("CVE-2025-7775", "14.1-47.48"), Fixed);
        // 13.0 lies between listed branches (12.1-FIPS, 13.1) and is not itself listed.
        assert_eq!(st("CVE-2025-7775", "13.0-92.21"), Unknown);
        assert_eq!(st("CVE-2020-8193", "11.0-70.12"), Unknown);
        // Newer than every listed branch.
        assert_eq!(st("CVE-2023-3519", "14.1-4.42"), NotAffected);
        // 2026.
        assert_eq!(st("CVE-2026-3055", "14.1-66.54"), Vulnerable);
        assert_eq!(st("CVE-2026-3055", "14.1-66.59"), Fixed);
        assert_eq!(st("CVE-2026-8452", "14.1-72.61"), Fixed);
        assert_eq!(st("CVE-2026-8452", "13.1-63.17"), Vulnerable);
        assert_eq!(st("CVE-2026-8452", "13.0-92.21"), Unknown);
        // The record names the last affected build, not the first fixed one.
        assert_eq!(st("CVE-2026-19490", "14.1-73.32"), Vulnerable);
        assert_eq!(st("CVE-2026-19490", "14.1-73.37"), Unknown);
        assert_eq!(st("CVE-2026-19490", "13.1-63.21"), Vulnerable);
        assert_eq!(st("CVE-2026-88771", "14.1-73.37"), Fixed);
        assert_eq!(st("CVE-2026-88771", "13.1-37.279"), Unknown);
        assert_eq!(st("CVE-2026-88772", "13.1-64.22"), Vulnerable);
        assert_eq!(st("CVE-2026-88779", "14.1-73.40"), Vulnerable);
        assert_eq!(st("CVE-2026-88779", "13.1-37.282"), Unknown);
    }

    #[test]
    fn statuses_say_why() {
        let t = crate::appliance::netscaler::cve_table().unwrap();
        let c = t.cve.iter().find(|c| c.id == "CVE-2025-6543").unwrap();
        let (why_fips, why_regular) = (
            status(c, (12, 1), (55, 330)).1,
            status(c, (13, 1), (59, 18)).1,
        );
        assert!(why_fips.contains("does not say"), "{why_fips}");
        assert!(why_regular.contains("below the first fixed build 13.1-59.19"));
        let c = t.cve.iter().find(|c| c.id == "CVE-2023-3519").unwrap();
        let why = status(c, (12, 1), (65, 35)).1;
        assert!(why.contains("only the FIPS/NDcPP line of 12.1"), "{why}");
        let why = status(c, (13, 1), (37, 160)).1;
        assert!(why.contains("regular or a FIPS/NDcPP build"), "{why}");
    }

    #[test]
    fn every_cve_of_the_table_is_sourced() {
        let t = crate::appliance::netscaler::cve_table().unwrap();
        for c in &t.cve {
            assert!(
                c.sources.iter().any(|s| s.kind == "cve-record"),
                "{}: no CVE record",
                c.id
            );
            for f in c.fixed.iter().chain(&c.affected_through) {
                assert!(
                    f.source.is_some(),
                    "{}: {}-{} has no source",
                    c.id,
                    f.branch,
                    f.build
                );
            }
        }
        let ids: Vec<&str> = t.cve.iter().map(|c| c.id.as_str()).collect();
        for id in [
            "CVE-2019-19781",
            "CVE-2020-8193",
            "CVE-2020-8195",
            "CVE-2020-8196",
            "CVE-2022-27518",
            "CVE-2023-3519",
            "CVE-2023-4966",
            "CVE-2023-6548",
            "CVE-2023-6549",
            "CVE-2025-5777",
            "CVE-2025-6543",
            "CVE-2025-7775",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
    }

    #[test]
    fn bad_tables_are_refused() {
        let ok = "[[cve]]\nid = \"CVE-1\"\ntitle = \"t\"\nadvisory = \"a\"\nrequires = \"r\"\nsources = [{ id = \"record\", kind = \"cve-record\", ref = \"x\" }]\nfixed = [{ branch = \"13.1\", build = \"49.13\", source = \"record\" }]\n";
        assert!(CveTable::parse("t", ok).is_ok());
        for (bad, why) in [
            (
                ok.replace("source = \"record\" }]\n", "source = \"nope\" }]\n"),
                "unknown source",
            ),
            (
                ok.replace("build = \"49.13\"", "build = \"49\""),
                "bad build",
            ),
            (
                ok.replace(
                    "source = \"record\" }]\n",
                    "source = \"record\", line = \"FIPs\" }]\n",
                ),
                "unknown line",
            ),
            (
                ok.replace("kind = \"cve-record\"", "kind = \"blog\""),
                "unknown kind",
            ),
            (
                format!(
                    "{ok}exploited_since = {{ date = \"2025-06-15\", precision = \"month\", source = \"record\" }}\n"
                ),
                "month not on the 1st",
            ),
            (
                format!("{ok}exposure = [{{ what = \"w\", ns_conf = [], source = \"record\" }}]\n"),
                "exposure without prefix or note",
            ),
            (format!("{ok}{ok}"), "listed twice"),
            (format!("{ok}colour = \"red\"\n"), "unknown field"),
        ] {
            assert!(CveTable::parse("t", &bad).is_err(), "accepted: {why}");
        }
    }

    #[test]
    fn exposure_is_checkable_in_ns_conf() {
        let t = crate::appliance::netscaler::cve_table().unwrap();
        let c = t.cve.iter().find(|c| c.id == "CVE-2025-7775").unwrap();
        let conf = "add lb vserver lb_web SSL 192.0.2.5 443\nadd lb vserver lb_dns DNS 192.0.2.6 53\nadd cr vserver cr_hdx HDX 192.0.2.7 80\nadd vpn vserver gw SSL 192.0.2.8 443\nadd authentication vserver aaa SSL 192.0.2.9 443\n";
        let hits: Vec<(&str, Vec<&str>)> = c
            .exposure
            .iter()
            .map(|e| (e.what.as_str(), e.matches(conf)))
            .collect();
        let of = |w: &str| {
            hits.iter()
                .find(|(x, _)| x.starts_with(w))
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(of("Gateway"), vec!["add vpn vserver gw SSL 192.0.2.8 443"]);
        assert_eq!(
            of("AAA"),
            vec!["add authentication vserver aaa SSL 192.0.2.9 443"]
        );
        assert_eq!(of("LB"), vec!["add lb vserver lb_web SSL 192.0.2.5 443"]);
        assert_eq!(of("CR"), vec!["add cr vserver cr_hdx HDX 192.0.2.7 80"]);
        let saml = t.cve.iter().find(|c| c.id == "CVE-2022-27518").unwrap();
        let conf = "add authentication samlAction sp1 -samlIdPCertName c\nadd authentication samlActionX y\n";
        assert_eq!(
            saml.exposure[0].matches(conf),
            vec!["add authentication samlAction sp1 -samlIdPCertName c"]
        );
        assert!(saml.exposure[1].matches(conf).is_empty());
    }
}
