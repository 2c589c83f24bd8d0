//! The CVE table of an appliance family: per CVE its advisory, affected branches, first fixed
//! builds, exposure conditions, exploitation dates, traces and mitigations, with sources. The
//! one place that holds them: posture and the exposure windows both read it. The family's
//! table is data (for NetScaler `src/appliance/netscaler/cves.toml`, whose header documents
//! every field); `status` judges a firmware build against it.

use super::data::{self, context, note, present, text};
use crate::model::CveStatus;
use crate::rules::load::{Ctx, Tbl};
use crate::rules::{Code, Diagnostic};
use crate::util::version::Build;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// A CVE table. The family's file documents every field.
#[derive(Clone, Debug)]
pub struct CveTable {
    /// Branches whose FIPS / NDcPP builds have build numbers of their own.
    pub special_lines: Vec<SpecialLine>,
    pub cve: Vec<CveDef>,
}

/// A branch whose FIPS / NDcPP builds use their own major build numbers.
#[derive(Clone, Debug)]
pub struct SpecialLine {
    pub branch: String,
    pub majors: Vec<u32>,
    pub note: String,
}

/// One `[[cve]]`.
#[derive(Clone, Debug)]
pub struct CveDef {
    pub id: String,
    pub title: String,
    /// `CTXnnnnnn, YYYY-MM-DD`.
    pub advisory: String,
    /// The exposing configuration in words, as reported.
    pub requires: String,
    /// Date CISA added the CVE to its Known Exploited Vulnerabilities catalog.
    pub kev_added: Option<String>,
    /// Where each fact below was checked; items name one by `source = "id"`.
    pub sources: Vec<SourceDef>,
    /// First fixed build per branch and line.
    pub fixed: Vec<FixedDef>,
    /// Last affected build, where the record names no fixed one.
    pub affected_through: Vec<FixedDef>,
    /// Branches listed as affected without a build number.
    pub affected_fix_unknown: Vec<BranchDef>,
    /// Branches whose regular line is affected and never got a fixed build.
    pub vulnerable_branch_eol: Vec<String>,
    /// `vulnerable_branch_eol` parsed, filled in when the table is loaded.
    pub eol_branches: Vec<Build>,
    /// Configurations that expose the appliance, as ns.conf command prefixes.
    pub exposure: Vec<ExposureDef>,
    /// Earliest published date of exploitation.
    pub exploited_since: Option<ExploitedDef>,
    /// Published traces of exploitation.
    pub traces: Vec<TraceDef>,
    /// Published mitigations and their parts.
    pub mitigations: Vec<MitigationDef>,
    /// `(branch, major)` pairs whose builds may be regular or FIPS/NDcPP builds; filled in from
    /// the table's `special_lines` when it is loaded.
    pub special_majors: Vec<(Build, u32)>,
}

/// One source a fact was checked against.
#[derive(Clone, Debug)]
pub struct SourceDef {
    pub id: String,
    /// `cve-record`, `kev`, `vendor`, `restatement` or `report`.
    pub kind: String,
    pub reference: String,
    pub note: String,
}

/// The source kinds a table entry may name.
pub const SOURCE_KINDS: &[&str] = &["cve-record", "kev", "vendor", "restatement", "report"];

/// The lines a fixed build may belong to besides the regular one.
pub const SPECIAL_LINES: &[&str] = &["FIPS", "NDcPP", "FIPS/NDcPP"];

/// One first fixed (or last affected) build.
#[derive(Clone, Debug)]
pub struct FixedDef {
    pub branch: String,
    pub build: String,
    /// Absent for the regular line; `FIPS`, `NDcPP` or `FIPS/NDcPP`.
    pub line: Option<String>,
    pub source: Option<String>,
    /// `branch` and `build` parsed, filled in when the table is loaded.
    pub at: (Build, Build),
}

/// A branch (and line) named without a build number.
#[derive(Clone, Debug)]
pub struct BranchDef {
    pub branch: String,
    pub line: Option<String>,
    pub source: String,
    /// `branch` parsed, filled in when the table is loaded.
    pub parsed: Build,
}

/// A configuration that exposes the appliance.
#[derive(Clone, Debug)]
pub struct ExposureDef {
    pub what: String,
    /// ns.conf command prefixes; empty when ns.conf cannot tell (see `note`).
    pub ns_conf: Vec<String>,
    /// When given, the line must also hold one of these words.
    pub with_any: Vec<String>,
    pub note: String,
    pub source: String,
}

/// When exploitation began, as published.
#[derive(Clone, Debug)]
pub struct ExploitedDef {
    /// `YYYY-MM-DD`; with `precision = "month"` the first day of the month the source names.
    pub date: String,
    /// `day` or `month`.
    pub precision: String,
    pub source: String,
    pub note: String,
}

/// A published trace of exploitation.
#[derive(Clone, Debug)]
pub struct TraceDef {
    pub what: String,
    /// `file`, `log` or `config`.
    pub kind: String,
    pub pattern: String,
    pub source: String,
}

/// A published mitigation.
#[derive(Clone, Debug)]
pub struct MitigationDef {
    pub what: String,
    pub commands: Vec<String>,
    pub source: String,
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

const ROOT_KEYS: &[&str] = &["special_lines", "cve"];
const SPECIAL_KEYS: &[&str] = &["branch", "majors", "note"];
const CVE_KEYS: &[&str] = &[
    "id",
    "title",
    "advisory",
    "requires",
    "kev_added",
    "sources",
    "fixed",
    "affected_through",
    "affected_fix_unknown",
    "vulnerable_branch_eol",
    "exposure",
    "exploited_since",
    "traces",
    "mitigations",
];
const SOURCE_KEYS: &[&str] = &["id", "kind", "ref", "note"];
const FIXED_KEYS: &[&str] = &["branch", "build", "line", "source"];
const BRANCH_KEYS: &[&str] = &["branch", "line", "source"];
const EXPOSURE_KEYS: &[&str] = &["what", "ns_conf", "with_any", "note", "source"];
const EXPLOITED_KEYS: &[&str] = &["date", "precision", "source", "note"];
const TRACE_KEYS: &[&str] = &["what", "kind", "pattern", "source"];
const MITIGATION_KEYS: &[&str] = &["what", "commands", "source"];

/// The lists that name affected branches; a CVE needs at least one entry in one of them.
const AFFECTED_KEYS: &[&str] = &[
    "fixed",
    "affected_through",
    "affected_fix_unknown",
    "vulnerable_branch_eol",
];

impl CveTable {
    /// Parses and checks a CVE table: every problem, located. `name` is the name used in
    /// diagnostics.
    pub fn parse(name: &str, src: &str) -> Result<CveTable, Vec<Diagnostic>> {
        let mut ctx = context(name, src);
        let Some(doc) = data::document(&mut ctx, src) else {
            return Err(ctx.diags);
        };
        let root = Tbl::new(
            &mut ctx,
            &doc,
            0..src.len().min(1),
            ROOT_KEYS,
            "a CVE table",
        );
        let mut special = Vec::new();
        let mut special_lines = Vec::new();
        for (t, sp) in root.tables(&mut ctx, "special_lines") {
            let t = Tbl::new(&mut ctx, t, sp, SPECIAL_KEYS, "a `special_lines` entry");
            let what = "a `special_lines` entry";
            let branch = t.req_str(&mut ctx, "branch", what);
            let parsed = branch
                .as_ref()
                .and_then(|(b, sp)| data::build(&mut ctx, "branch", b, sp.clone()));
            let majors = data::numbers(&mut ctx, &t, "majors", what);
            if let Some(b) = parsed {
                special.extend(majors.iter().map(|m| (b, *m)));
            }
            special_lines.push(SpecialLine {
                branch: branch.map(|b| b.0).unwrap_or_default(),
                majors,
                note: note(&mut ctx, &t, "note"),
            });
        }
        let mut cve: Vec<CveDef> = Vec::new();
        let tables = if present(&mut ctx, &root, "cve", "a CVE table") {
            root.tables(&mut ctx, "cve")
        } else {
            Vec::new()
        };
        for (t, sp) in tables {
            let (mut c, id_span) = parse_cve(&mut ctx, t, sp);
            if let Some(sp) = id_span
                && cve.iter().any(|o| o.id == c.id)
            {
                ctx.err(
                    Code::E007,
                    sp,
                    format!("{} is listed twice", c.id),
                    Some("give each CVE one [[cve]] entry".into()),
                );
            }
            c.special_majors = special.clone();
            cve.push(c);
        }
        data::finish(ctx, CveTable { special_lines, cve })
    }
}

/// One `[[cve]]`, checked: every build parses, every line is known, every `source` names an
/// entry of its `sources`. Fills in the parsed branches and builds. Returns the entry and the
/// span of its id.
fn parse_cve(
    ctx: &mut Ctx<'_>,
    t: &DeTable<'_>,
    span: Range<usize>,
) -> (CveDef, Option<Range<usize>>) {
    let tbl = Tbl::new(ctx, t, span.clone(), CVE_KEYS, "a [[cve]] entry");
    let what = "[[cve]]";
    let id = tbl.req_str(ctx, "id", what);
    let (title, advisory) = (
        text(ctx, &tbl, "title", what),
        text(ctx, &tbl, "advisory", what),
    );
    let requires = text(ctx, &tbl, "requires", what);
    let kev_added = tbl.str(ctx, "kev_added");
    if let Some((d, sp)) = &kev_added {
        data::date(ctx, "kev_added", d, sp.clone());
    }
    let sources = parse_sources(ctx, &tbl);
    let known: Vec<&str> = sources.iter().map(|s| s.id.as_str()).collect();
    let fixed = parse_builds(ctx, &tbl, "fixed", &known);
    let affected_through = parse_builds(ctx, &tbl, "affected_through", &known);
    let affected_fix_unknown = parse_branches(ctx, &tbl, &known);
    let eol = tbl.strs(ctx, "vulnerable_branch_eol");
    let eol_branches = eol
        .iter()
        .filter_map(|(b, sp)| data::build(ctx, "branch", b, sp.clone()))
        .collect();
    let all_arrays = AFFECTED_KEYS.iter().all(|k| {
        tbl.get(k)
            .is_none_or(|v| matches!(v.get_ref(), DeValue::Array(_)))
    });
    if all_arrays
        && fixed.is_empty()
        && affected_through.is_empty()
        && affected_fix_unknown.is_empty()
        && eol.is_empty()
    {
        ctx.err(
            Code::E033,
            span,
            "the CVE lists no affected branch",
            Some(format!("give one of {}", AFFECTED_KEYS.join(", "))),
        );
    }
    let exposure = parse_exposures(ctx, &tbl, &known);
    let exploited_since = parse_exploited(ctx, &tbl, &known);
    let traces = tbl
        .tables(ctx, "traces")
        .into_iter()
        .map(|(t, sp)| {
            let t = Tbl::new(ctx, t, sp, TRACE_KEYS, "a trace");
            parse_trace(ctx, &t, &known)
        })
        .collect();
    let mitigations = tbl
        .tables(ctx, "mitigations")
        .into_iter()
        .map(|(t, sp)| {
            let m = Tbl::new(ctx, t, sp, MITIGATION_KEYS, "a mitigation");
            MitigationDef {
                what: text(ctx, &m, "what", "a mitigation"),
                commands: m.strs(ctx, "commands").into_iter().map(|s| s.0).collect(),
                source: source_ref(ctx, &m, "a mitigation", &known).unwrap_or_default(),
            }
        })
        .collect();
    let def = CveDef {
        id: id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
        title,
        advisory,
        requires,
        kev_added: kev_added.map(|d| d.0),
        sources,
        fixed,
        affected_through,
        affected_fix_unknown,
        vulnerable_branch_eol: eol.into_iter().map(|b| b.0).collect(),
        eol_branches,
        exposure,
        exploited_since,
        traces,
        mitigations,
        special_majors: Vec::new(),
    };
    (def, id.map(|i| i.1))
}

/// `sources`: ids listed once, kinds known.
fn parse_sources(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Vec<SourceDef> {
    let mut out: Vec<SourceDef> = Vec::new();
    for (t, sp) in tbl.tables(ctx, "sources") {
        let what = "a source";
        let s = Tbl::new(ctx, t, sp, SOURCE_KEYS, what);
        let id = s.req_str(ctx, "id", what);
        if let Some((i, sp)) = &id
            && out.iter().any(|o| o.id == *i)
        {
            ctx.err(
                Code::E007,
                sp.clone(),
                format!("source {i} is listed twice"),
                Some("give each source of a CVE its own id".into()),
            );
        }
        let kind = s.req_str(ctx, "kind", what);
        if let Some((k, sp)) = &kind {
            data::one_of(ctx, "kind", k, sp.clone(), SOURCE_KINDS);
        }
        out.push(SourceDef {
            id: id.map(|i| i.0).unwrap_or_default(),
            kind: kind.map(|k| k.0).unwrap_or_default(),
            reference: text(ctx, &s, "ref", what),
            note: note(ctx, &s, "note"),
        });
    }
    out
}

/// The `source` of an item, which must name an entry of the CVE's `sources` (E032). `None`
/// when absent: reported unless optional.
fn source_ref(ctx: &mut Ctx<'_>, t: &Tbl<'_, '_>, what: &str, known: &[&str]) -> Option<String> {
    let (s, sp) = t.req_str(ctx, "source", what)?;
    if !known.contains(&s.as_str()) {
        ctx.err(
            Code::E032,
            sp,
            format!("source `{s}` is not listed in the CVE's `sources`"),
            Some(format!("sources of this CVE: {}", known.join(", "))),
        );
    }
    Some(s)
}

/// A `line`: absent for the regular line, else FIPS, NDcPP or FIPS/NDcPP.
fn line(ctx: &mut Ctx<'_>, t: &Tbl<'_, '_>) -> Option<String> {
    let (l, sp) = t.str(ctx, "line")?;
    data::one_of(ctx, "line", &l, sp, SPECIAL_LINES);
    Some(l)
}

/// `fixed` or `affected_through`: branches and builds parsed.
fn parse_builds(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str, known: &[&str]) -> Vec<FixedDef> {
    let mut out = Vec::new();
    for (t, sp) in tbl.tables(ctx, key) {
        let what = format!("a `{key}` entry");
        let f = Tbl::new(ctx, t, sp, FIXED_KEYS, &what);
        let branch = f.req_str(ctx, "branch", &what);
        let build = f.req_str(ctx, "build", &what);
        let b = branch
            .as_ref()
            .and_then(|(s, sp)| data::build(ctx, "branch", s, sp.clone()));
        let n = build
            .as_ref()
            .and_then(|(s, sp)| data::build(ctx, "build", s, sp.clone()));
        let line = line(ctx, &f);
        let source = f
            .get("source")
            .is_some()
            .then(|| source_ref(ctx, &f, &what, known))
            .flatten();
        out.push(FixedDef {
            branch: branch.map(|s| s.0).unwrap_or_default(),
            build: build.map(|s| s.0).unwrap_or_default(),
            line,
            source,
            at: (b.unwrap_or_default(), n.unwrap_or_default()),
        });
    }
    out
}

/// `affected_fix_unknown`: branches parsed.
fn parse_branches(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, known: &[&str]) -> Vec<BranchDef> {
    let mut out = Vec::new();
    for (t, sp) in tbl.tables(ctx, "affected_fix_unknown") {
        let what = "an `affected_fix_unknown` entry";
        let f = Tbl::new(ctx, t, sp, BRANCH_KEYS, what);
        let branch = f.req_str(ctx, "branch", what);
        let parsed = branch
            .as_ref()
            .and_then(|(s, sp)| data::build(ctx, "branch", s, sp.clone()));
        out.push(BranchDef {
            branch: branch.map(|s| s.0).unwrap_or_default(),
            line: line(ctx, &f),
            source: source_ref(ctx, &f, what, known).unwrap_or_default(),
            parsed: parsed.unwrap_or_default(),
        });
    }
    out
}

/// `exposure`: prefixes not empty, and a note where there is none.
fn parse_exposures(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, known: &[&str]) -> Vec<ExposureDef> {
    let mut out = Vec::new();
    for (t, sp) in tbl.tables(ctx, "exposure") {
        let what = "an exposure";
        let e = Tbl::new(ctx, t, sp.clone(), EXPOSURE_KEYS, what);
        let name = text(ctx, &e, "what", what);
        let ns_conf = if present(ctx, &e, "ns_conf", what) {
            e.strs(ctx, "ns_conf")
        } else {
            Vec::new()
        };
        for (p, psp) in &ns_conf {
            if p.trim().is_empty() {
                let help = "write the start of an ns.conf command: \"add vpn vserver\"";
                ctx.err(
                    Code::E021,
                    psp.clone(),
                    "empty ns.conf prefix",
                    Some(help.into()),
                );
            }
        }
        let note = note(ctx, &e, "note");
        if ns_conf.is_empty() && note.is_empty() && e.get("ns_conf").is_some() {
            ctx.err(
                Code::E034,
                sp,
                format!("exposure `{name}` has no ns.conf prefix and no note saying why"),
                Some(
                    "list ns.conf command prefixes, or say in `note` why ns.conf cannot tell"
                        .into(),
                ),
            );
        }
        out.push(ExposureDef {
            what: name,
            ns_conf: ns_conf.into_iter().map(|s| s.0).collect(),
            with_any: e.strs(ctx, "with_any").into_iter().map(|s| s.0).collect(),
            note,
            source: source_ref(ctx, &e, what, known).unwrap_or_default(),
        });
    }
    out
}

/// `exploited_since`: a date, its precision, and a month-precision date on the first.
fn parse_exploited(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, known: &[&str]) -> Option<ExploitedDef> {
    let (t, sp) = tbl.table(ctx, "exploited_since")?;
    let what = "`exploited_since`";
    let x = Tbl::new(ctx, t, sp, EXPLOITED_KEYS, what);
    let date = x.req_str(ctx, "date", what);
    let valid = date
        .as_ref()
        .is_some_and(|(d, sp)| data::date(ctx, "date", d, sp.clone()));
    let precision = x.req_str(ctx, "precision", what);
    if let Some((p, psp)) = &precision {
        data::one_of(ctx, "precision", p, psp.clone(), &["day", "month"]);
    }
    if let (Some((d, dsp)), Some((p, _))) = (&date, &precision)
        && valid
        && p == "month"
        && !d.ends_with("-01")
    {
        ctx.err(
            Code::E019,
            dsp.clone(),
            format!("month-precision date {d} is not the first of its month"),
            Some("a month-precision date is the first day of the month the source names".into()),
        );
    }
    Some(ExploitedDef {
        date: date.map(|d| d.0).unwrap_or_default(),
        precision: precision.map(|p| p.0).unwrap_or_default(),
        source: source_ref(ctx, &x, what, known).unwrap_or_default(),
        note: note(ctx, &x, "note"),
    })
}

/// One trace: its kind known.
fn parse_trace(ctx: &mut Ctx<'_>, t: &Tbl<'_, '_>, known: &[&str]) -> TraceDef {
    let what = "a trace";
    let name = text(ctx, t, "what", what);
    let kind = t.req_str(ctx, "kind", what);
    if let Some((k, sp)) = &kind {
        data::one_of(ctx, "kind", k, sp.clone(), &["file", "log", "config"]);
    }
    TraceDef {
        what: name,
        kind: kind.map(|k| k.0).unwrap_or_default(),
        pattern: text(ctx, t, "pattern", what),
        source: source_ref(ctx, t, what, known).unwrap_or_default(),
    }
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
