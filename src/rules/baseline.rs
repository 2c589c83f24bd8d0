//! The stock baseline: what the firmware itself puts on an appliance, per firmware family, as
//! data (`src/appliance/netscaler/baseline.toml`, schema `sporen.baseline/1`, documented at the top of that
//! file). Rules consult it through the `baseline` condition of `[rule.file]` instead of keeping
//! private allowlists, so that a set-id program or a file the web server writes by design is
//! judged the same way by every rule.
//!
//! The file is parsed by hand with spans, like rule files: every problem is a located
//! [`Diagnostic`], all reported at once, and a rule set is never built while one exists. Every
//! entry must name its source. Nothing here reads evidence.

use super::FileType;
use super::diag::{Code, Diagnostic};
use super::load::{Ctx, Tbl, parse_file_type, parse_globs, parse_octal};
use crate::input::{Entry as EvEntry, EntryKind};
use crate::util::glob;
use crate::util::version::parse_build;
use globset::GlobMatcher;
use serde::Serialize;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// The schema this loader reads.
pub(crate) const SCHEMA: &str = "sporen.baseline/1";

/// The uid of the web server user.
pub(crate) const NOBODY: u32 = 65534;

const ROOT_KEYS: &[&str] = &["schema", "family", "setid", "nobody", "stock", "expected"];
const FAMILY_KEYS: &[&str] = &[
    "id", "title", "os", "python", "passwd", "tarball", "builds", "source", "status", "note",
];
const COMMON_KEYS: &[&str] = &["path", "families", "from", "source", "status", "note"];
const SETID_KEYS: &[&str] = &["mode", "uid", "gid"];
const NOBODY_KEYS: &[&str] = &["type", "gid", "mode", "writer"];
const STOCK_KEYS: &[&str] = &["type", "mode", "uid", "gid"];
const EXPECTED_KEYS: &[&str] = &["who", "persistent", "holds"];

/// What kind of fact an entry states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// A set-uid or set-gid file the firmware ships.
    Setid,
    /// A file or folder the firmware writes as `nobody` by design.
    Nobody,
    /// A stock template, script, page or configuration file.
    Stock,
    /// A place where administrators' or responders' own files are expected.
    Expected,
}

impl Kind {
    /// The table name in the baseline file.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Setid => "setid",
            Kind::Nobody => "nobody",
            Kind::Stock => "stock",
            Kind::Expected => "expected",
        }
    }
}

/// One firmware branch.
#[derive(Clone, Debug, Serialize)]
pub struct Family {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) os: String,
    pub(crate) python: String,
    pub(crate) passwd: String,
    pub(crate) tarball: String,
    pub(crate) builds: Vec<String>,
    pub(crate) source: String,
    pub(crate) status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

/// The branch and build number from which an entry holds: `((13, 0), (47, 24))`.
type FirstBuild = ((u32, u32), (u32, u32));

/// One stated fact about stock firmware.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Entry {
    pub kind: Kind,
    pub path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) families: Vec<String>,
    /// First build (`13.0-47.24`) from which the entry holds, within the listed branches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
    /// `file`, `dir` or `any`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub(crate) file_type: Option<&'static str>,
    /// Accepted permission bits (all 12), as octal strings; empty means any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mode: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Accepted group ids; empty means any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gid: Vec<u32>,
    /// Who writes it (`nobody`), who leaves files there (`expected`), or what it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) what: Option<String>,
    pub(crate) source: String,
    pub(crate) status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
    /// Line of the entry in its file.
    pub(crate) line: usize,
    #[serde(skip)]
    modes: Vec<u32>,
    #[serde(skip)]
    from_build: Option<FirstBuild>,
    #[serde(skip)]
    matcher: Option<GlobMatcher>,
    #[serde(skip)]
    kind_filter: Option<FileType>,
}

/// The firmware a scan compares with: a branch (`13.0`) and, when known, the build number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Firmware {
    /// `None`: the family is unknown, every family's entries apply (their union).
    pub(crate) branch: Option<(u32, u32)>,
    pub(crate) build: Option<(u32, u32)>,
    /// Where the version was read (`/flash/boot/loader.conf`).
    pub(crate) source: String,
}

impl Firmware {
    /// A firmware from a version string: `13.0`, `13.0-47.24`. `None` for anything else.
    pub fn parse(v: &str) -> Option<Firmware> {
        let (branch, build) = match v.split_once('-') {
            Some((b, n)) => (parse_build(b)?, Some(parse_build(n)?)),
            None => (parse_build(v)?, None),
        };
        Some(Firmware {
            branch: Some(branch),
            build,
            source: String::new(),
        })
    }

    /// `13.0-47.24`, `13.0` or `unknown`.
    pub(crate) fn label(&self) -> String {
        match (self.branch, self.build) {
            (Some((a, b)), Some((c, d))) => format!("{a}.{b}-{c}.{d}"),
            (Some((a, b)), None) => format!("{a}.{b}"),
            _ => "unknown".to_owned(),
        }
    }
}

impl Entry {
    /// True when the entry holds for `fw`: its branch is listed (or none is) and the build is
    /// at or after `from`. An unknown family or build takes every entry (the union).
    pub(crate) fn applies(&self, fw: &Firmware) -> bool {
        let Some(branch) = fw.branch else {
            return true;
        };
        if !self.families.is_empty()
            && !self.families.iter().any(|f| parse_build(f) == Some(branch))
        {
            return false;
        }
        match (self.from_build, fw.build) {
            (Some((fb, first)), Some(build)) if fb == branch => build >= first,
            _ => true,
        }
    }

    /// True when the glob matches `rel` (a path relative to the appliance root).
    pub(crate) fn matches_path(&self, rel: &[u8]) -> bool {
        self.matcher
            .as_ref()
            .is_some_and(|m| m.is_match(glob::as_path(rel)))
    }

    fn kind_ok(&self, e: &EvEntry) -> bool {
        match self.kind_filter.unwrap_or(FileType::File) {
            FileType::File => e.kind == EntryKind::File,
            FileType::Dir => e.kind == EntryKind::Dir,
            FileType::Symlink => e.kind == EntryKind::Symlink,
            FileType::Any => true,
        }
    }

    fn mode_ok(&self, e: &EvEntry) -> bool {
        self.modes.is_empty() || self.modes.contains(&(e.mode & 0o7777))
    }
}

/// The parsed baseline.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    /// The file it was read from.
    pub(crate) file: String,
    pub(crate) families: Vec<Family>,
    /// Every entry, in file order.
    pub(crate) entries: Vec<Entry>,
}

impl Baseline {
    /// Parses a baseline given as (file name, text), as registered by an appliance family.
    pub fn from_text((name, src): (&str, &str)) -> Result<Baseline, Vec<Diagnostic>> {
        parse_source(name, src)
    }

    /// The family of a branch, if the baseline describes it.
    pub fn family(&self, branch: (u32, u32)) -> Option<&Family> {
        self.families
            .iter()
            .find(|f| parse_build(&f.id) == Some(branch))
    }

    /// The firmware to compare with: `fw` when the baseline describes its branch, else the
    /// unknown family (every entry applies), with the reason.
    pub(crate) fn effective(&self, fw: Option<&Firmware>) -> (Firmware, Option<String>) {
        match fw {
            Some(f) if f.branch.is_some_and(|b| self.family(b).is_some()) => (f.clone(), None),
            Some(f) => (
                Firmware::default(),
                Some(format!(
                    "firmware {} is not a family the baseline describes",
                    f.label()
                )),
            ),
            None => (
                Firmware::default(),
                Some("the firmware family is unknown".to_owned()),
            ),
        }
    }

    /// Entries of one kind that apply to `fw`.
    pub(crate) fn applicable(&self, kind: Kind, fw: &Firmware) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(move |e| e.kind == kind && e.applies(fw))
    }

    /// The set-id entry listing this file (path, mode and owner), if any.
    pub(crate) fn stock_setid(&self, e: &EvEntry, fw: &Firmware) -> Option<&Entry> {
        let rel = e.path.relative();
        self.applicable(Kind::Setid, fw).find(|b| {
            b.kind_ok(e)
                && b.matches_path(rel)
                && b.mode_ok(e)
                && b.uid.is_none_or(|u| u == e.uid)
                && (b.gid.is_empty() || b.gid.contains(&e.gid))
        })
    }

    /// The `nobody` entry listing this file (path, type, group and mode), if any. Only files
    /// owned by nobody can be nobody's by design.
    pub(crate) fn nobody_by_design(&self, e: &EvEntry, fw: &Firmware) -> Option<&Entry> {
        if e.uid != NOBODY {
            return None;
        }
        let rel = e.path.relative();
        self.applicable(Kind::Nobody, fw).find(|b| {
            b.kind_ok(e)
                && b.matches_path(rel)
                && b.mode_ok(e)
                && (b.gid.is_empty() || b.gid.contains(&e.gid))
        })
    }
}

/// Parses one baseline file. `file` is the name used in diagnostics.
pub fn parse_source(file: &str, src: &str) -> Result<Baseline, Vec<Diagnostic>> {
    let mut ctx = Ctx {
        file,
        src,
        diags: Vec::new(),
    };
    let (doc, errors) = DeTable::parse_recoverable(src);
    for e in errors {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_owned();
        ctx.err(Code::E001, span, format!("TOML syntax: {msg}"), None);
    }
    if !ctx.diags.is_empty() {
        return Err(ctx.diags);
    }
    let root = Tbl::new(
        &mut ctx,
        doc.get_ref(),
        0..src.len().min(1),
        ROOT_KEYS,
        "a baseline",
    );
    match root.req_str(&mut ctx, "schema", "a baseline") {
        Some((s, _)) if s == SCHEMA => {}
        Some((s, sp)) => ctx.err(
            Code::E009,
            sp,
            format!("unknown baseline schema `{s}`"),
            Some(format!("this sporen reads schema = \"{SCHEMA}\"")),
        ),
        None => {}
    }
    let families: Vec<Family> = root
        .tables(&mut ctx, "family")
        .into_iter()
        .filter_map(|(t, sp)| parse_family(&mut ctx, t, sp))
        .collect();
    if families.is_empty() && ctx.diags.is_empty() {
        ctx.err(
            Code::E004,
            0..0,
            "the baseline describes no [[family]]",
            Some("add one [[family]] table per firmware branch".into()),
        );
    }
    let mut entries = Vec::new();
    for kind in [Kind::Setid, Kind::Nobody, Kind::Stock, Kind::Expected] {
        for (t, sp) in root.tables(&mut ctx, kind.as_str()) {
            if let Some(e) = parse_entry(&mut ctx, kind, t, sp, &families) {
                entries.push(e);
            }
        }
    }
    if !ctx.diags.is_empty() {
        return Err(ctx.diags);
    }
    Ok(Baseline {
        file: file.to_owned(),
        families,
        entries,
    })
}

fn required_source(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, what: &str) -> String {
    match tbl.req_str(ctx, "source", what) {
        Some((s, sp)) if s.trim().is_empty() => {
            ctx.err(
                Code::E021,
                sp,
                "empty `source`",
                Some(
                    "name the research file and section or the public URL the fact comes from"
                        .into(),
                ),
            );
            s
        }
        Some((s, _)) => s,
        None => String::new(),
    }
}

fn status(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, what: &str) -> String {
    match tbl.req_str(ctx, "status", what) {
        Some((s, _)) if matches!(s.as_str(), "sourced" | "assumed" | "synthetic") => s,
        Some((s, sp)) => {
            ctx.err(
                Code::E009,
                sp,
                format!("unknown status `{s}`"),
                Some("status is sourced, assumed or synthetic".into()),
            );
            s
        }
        None => String::new(),
    }
}

fn parse_family(ctx: &mut Ctx<'_>, t: &DeTable<'_>, span: Range<usize>) -> Option<Family> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span, FAMILY_KEYS, "a [[family]]");
    let id = tbl.req_str(ctx, "id", "[[family]]");
    if let Some((id, sp)) = &id
        && parse_build(id).is_none()
    {
        ctx.err(
            Code::E025,
            sp.clone(),
            format!("`{id}` is not a branch"),
            Some("write the branch as in src/appliance/netscaler/cves.toml: \"13.0\"".into()),
        );
    }
    let mut text = |key: &str| {
        tbl.req_str(ctx, key, "[[family]]")
            .map(|s| s.0)
            .unwrap_or_default()
    };
    let (title, os, python, passwd, tarball) = (
        text("title"),
        text("os"),
        text("python"),
        text("passwd"),
        text("tarball"),
    );
    let builds = tbl.strs(ctx, "builds");
    for (b, sp) in &builds {
        let ok = id.as_ref().is_some_and(|(id, _)| {
            b.split_once('-')
                .is_some_and(|(br, n)| br == id && parse_build(n).is_some())
        });
        if !ok {
            ctx.err(
                Code::E025,
                sp.clone(),
                format!("`{b}` is not a build of this branch"),
                Some("builds are written \"13.0-47.24\"".into()),
            );
        }
    }
    let source = required_source(ctx, &tbl, "[[family]]");
    let status = status(ctx, &tbl, "[[family]]");
    let note = tbl.str(ctx, "note").map(|s| s.0);
    (ctx.diags.len() == before).then(|| Family {
        id: id.map(|s| s.0).unwrap_or_default(),
        title,
        os,
        python,
        passwd,
        tarball,
        builds: builds.into_iter().map(|b| b.0).collect(),
        source,
        status,
        note,
    })
}

/// Fields of every entry kind: path, families, from, source, status, note.
struct Common {
    path: String,
    matcher: GlobMatcher,
    families: Vec<String>,
    from: Option<(String, FirstBuild)>,
    source: String,
    status: String,
    note: Option<String>,
}

fn parse_common(
    ctx: &mut Ctx<'_>,
    tbl: &Tbl<'_, '_>,
    what: &str,
    known: &[Family],
) -> Option<Common> {
    let path = match tbl.req_str(ctx, "path", what) {
        Some(p) => parse_globs(ctx, vec![p]).pop(),
        None => None,
    };
    let families = tbl.strs(ctx, "families");
    for (f, sp) in &families {
        if !known.iter().any(|k| &k.id == f) {
            let ids: Vec<&str> = known.iter().map(|k| k.id.as_str()).collect();
            ctx.err(
                Code::E009,
                sp.clone(),
                format!("unknown family `{f}`"),
                Some(format!("families of this baseline: {}", ids.join(", "))),
            );
        }
    }
    let from = tbl.str(ctx, "from").and_then(|(v, sp)| {
        let parsed = v
            .split_once('-')
            .and_then(|(b, n)| Some((parse_build(b)?, parse_build(n)?)));
        let listed =
            families.is_empty() || families.iter().any(|f| v.starts_with(&format!("{}-", f.0)));
        match parsed {
            Some(p) if listed => Some((v, p)),
            _ => {
                ctx.err(
                    Code::E025,
                    sp,
                    format!("`{v}` is not a build of a listed family"),
                    Some(
                        "write the first build as \"13.0-47.24\", of a branch in `families`".into(),
                    ),
                );
                None
            }
        }
    });
    let source = required_source(ctx, tbl, what);
    let status = status(ctx, tbl, what);
    let note = tbl.str(ctx, "note").map(|s| s.0);
    let path = path?;
    let matcher = glob::compile(&path).ok()?.compile_matcher();
    Some(Common {
        path,
        matcher,
        families: families.into_iter().map(|f| f.0).collect(),
        from,
        source,
        status,
        note,
    })
}

fn modes(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, setid: bool) -> (Vec<String>, Vec<u32>) {
    let mut out = (Vec::new(), Vec::new());
    for (m, sp) in tbl.strs(ctx, "mode") {
        let Some(v) = parse_octal(ctx, &m, sp.clone()) else {
            continue;
        };
        if setid && v & 0o6000 == 0 {
            ctx.err(
                Code::E026,
                sp,
                format!("mode {m} has neither the set-uid nor the set-gid bit"),
                Some("a [[setid]] entry lists modes such as \"4555\" or \"2644\"".into()),
            );
            continue;
        }
        out.0.push(m);
        out.1.push(v);
    }
    if setid && out.1.is_empty() && tbl.get("mode").is_none() {
        ctx.err(
            Code::E004,
            tbl.span(),
            "[[setid]] is missing required field `mode`",
            None,
        );
    }
    out
}

fn id_value(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str) -> Option<u32> {
    let (v, sp) = tbl.u64(ctx, key)?;
    u32::try_from(v).ok().or_else(|| {
        ctx.err(Code::E020, sp, format!("`{key}` is out of range"), None);
        None
    })
}

fn id_list(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str) -> Vec<u32> {
    let Some(arr) = tbl.array(ctx, key, "an array of ids") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in arr.iter() {
        match item.get_ref() {
            DeValue::Integer(i) => match u32::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => out.push(n),
                Err(_) => Tbl::type_err(ctx, key, item, "an array of ids"),
            },
            _ => Tbl::type_err(ctx, key, item, "an array of ids"),
        }
    }
    out
}

fn entry_type(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Option<FileType> {
    let (s, sp) = tbl.str(ctx, "type")?;
    parse_file_type(ctx, &s, sp)
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Dir => "dir",
        FileType::Symlink => "symlink",
        FileType::Any => "any",
    }
}

fn parse_entry(
    ctx: &mut Ctx<'_>,
    kind: Kind,
    t: &DeTable<'_>,
    span: Range<usize>,
    families: &[Family],
) -> Option<Entry> {
    let before = ctx.diags.len();
    let own = match kind {
        Kind::Setid => SETID_KEYS,
        Kind::Nobody => NOBODY_KEYS,
        Kind::Stock => STOCK_KEYS,
        Kind::Expected => EXPECTED_KEYS,
    };
    let allowed: Vec<&str> = COMMON_KEYS.iter().chain(own).copied().collect();
    let what = format!("a [[{}]] entry", kind.as_str());
    let line = ctx.origin(span.clone()).line;
    let tbl = Tbl::new(ctx, t, span, &allowed, &what);
    let common = parse_common(ctx, &tbl, &what, families);
    let (mode, modes_v) = if kind == Kind::Expected {
        (Vec::new(), Vec::new())
    } else {
        modes(ctx, &tbl, kind == Kind::Setid)
    };
    let file_type = if matches!(kind, Kind::Nobody | Kind::Stock) {
        entry_type(ctx, &tbl)
    } else {
        None
    };
    let uid = match kind {
        Kind::Setid | Kind::Stock => id_value(ctx, &tbl, "uid"),
        Kind::Nobody => Some(NOBODY),
        Kind::Expected => None,
    };
    let gid = match kind {
        Kind::Setid | Kind::Stock => id_value(ctx, &tbl, "gid").into_iter().collect(),
        Kind::Nobody => id_list(ctx, &tbl, "gid"),
        Kind::Expected => Vec::new(),
    };
    if kind == Kind::Setid {
        for key in ["uid", "gid"] {
            if tbl.get(key).is_none() {
                ctx.err(
                    Code::E004,
                    tbl.span(),
                    format!("[[setid]] is missing required field `{key}`"),
                    Some("a stock set-id file is known by its path, mode and owner".into()),
                );
            }
        }
    }
    if kind == Kind::Nobody && gid.is_empty() {
        ctx.err(
            Code::E004,
            tbl.span(),
            "[[nobody]] needs `gid`: the groups the file is seen with",
            None,
        );
    }
    let what_text = match kind {
        Kind::Nobody => tbl.req_str(ctx, "writer", &what).map(|s| s.0),
        Kind::Expected => {
            let who = tbl.req_str(ctx, "who", &what).map(|s| s.0);
            let holds = tbl.req_str(ctx, "holds", &what).map(|s| s.0);
            if let Some(v) = tbl.get("persistent")
                && !matches!(v.get_ref(), DeValue::Boolean(_))
            {
                Tbl::type_err(ctx, "persistent", v, "true or false");
            }
            Some(format!(
                "{} ({})",
                holds.unwrap_or_default(),
                who.unwrap_or_default()
            ))
        }
        _ => None,
    };
    if ctx.diags.len() > before {
        return None;
    }
    let c = common?;
    let (from, from_build) = match c.from {
        Some((s, b)) => (Some(s), Some(b)),
        None => (None, None),
    };
    Some(Entry {
        kind,
        path: c.path,
        families: c.families,
        from,
        file_type: file_type.map(type_name),
        mode,
        uid,
        gid,
        what: what_text,
        source: c.source,
        status: c.status,
        note: c.note,
        line,
        modes: modes_v,
        from_build,
        matcher: Some(c.matcher),
        kind_filter: file_type.or(match kind {
            Kind::Setid => Some(FileType::File),
            _ => None,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EvPath;

    fn entry(path: &str, mode: u32, uid: u32, gid: u32) -> EvEntry {
        EvEntry {
            path: EvPath::new(path.as_bytes().to_vec()),
            kind: EntryKind::File,
            size: 0,
            mode,
            uid,
            gid,
            mtime: 0,
            btime: None,
            atime: None,
            ctime: None,
            link_target: None,
            identity: None,
        }
    }

    #[test]
    fn the_embedded_baseline_loads() {
        let b = Baseline::from_text(crate::appliance::netscaler::BASELINE)
            .unwrap_or_else(|d| panic!("{d:#?}"));
        assert!(b.families.iter().any(|f| f.id == "13.1"));
        assert!(b.entries.iter().all(|e| !e.source.is_empty()));
        let fw131 = Firmware::parse("13.1-49.15").unwrap();
        let fw105 = Firmware::parse("10.5-70.12").unwrap();
        let copy = entry("/var/sbin/shutdown", 0o4554, 0, 5);
        assert!(b.stock_setid(&copy, &fw131).is_some());
        assert!(b.stock_setid(&copy, &fw105).is_none());
        assert!(b.stock_setid(&copy, &Firmware::default()).is_some());
        let shell = entry("/var/tmp/bash", 0o4775, 0, 0);
        assert!(b.stock_setid(&shell, &Firmware::default()).is_none());
        let wrong_owner = entry("/usr/bin/su", 0o4555, 65534, 0);
        assert!(b.stock_setid(&wrong_owner, &fw131).is_none());
    }

    const BROKEN: &str = r#"schema = "sporen.baseline/1"

[[family]]
id = "13.1"
title = "NetScaler 13.1"
os = "FreeBSD 11.4"
python = "2.7, 3"
passwd = "long"
tarball = "build-{build}_nc_64.tgz"
builds = ["13.1-49.15", "14.1-8.50"]
source = "cves.md"
status = "sourced"

[[setid]]
path = "/usr/bin/su"
mode = ["0555"]
uid = 0
source = "peer-checkers.md"
status = "sourced"

[[nobody]]
path = "var/vpn/bookmark/*.xml"
families = ["13.2"]
from = "12.1-55.18"
gid = [0]
writer = "portal"
source = ""
status = "guessed"
colour = "red"
"#;

    #[test]
    fn every_problem_of_a_baseline_is_reported_at_once_with_its_position() {
        let d = parse_source("b.toml", BROKEN).unwrap_err();
        let at: Vec<(Code, usize, usize)> = d.iter().map(|d| (d.code, d.line, d.column)).collect();
        for want in [
            (Code::E025, 10, 25), // a build of another branch
            (Code::E015, 15, 8),  // absolute glob
            (Code::E026, 16, 9),  // set-id entry without a set-id bit
            (Code::E004, 14, 1),  // no gid
            (Code::E009, 23, 13), // unknown family
            (Code::E025, 24, 8),  // from of a branch that is not listed
            (Code::E021, 27, 10), // empty source
            (Code::E009, 28, 10), // unknown status
            (Code::E002, 29, 1),  // unknown field
        ] {
            assert!(at.contains(&want), "missing {want:?} in {at:?}");
        }
        assert!(d.iter().all(|x| x.file == "b.toml"));
        let unknown = d.iter().find(|x| x.code == Code::E002).unwrap();
        assert!(unknown.message.contains("colour") && unknown.help.is_some());
        let syntax =
            parse_source("s.toml", "schema = \"sporen.baseline/1\"\n[[setid]\n").unwrap_err();
        assert_eq!((syntax[0].code, syntax[0].line), (Code::E001, 2));
        let schema = parse_source("v.toml", "schema = \"sporen.baseline/9\"\n").unwrap_err();
        assert!(
            schema
                .iter()
                .any(|x| x.code == Code::E009 && x.message.contains("schema"))
        );
    }

    #[test]
    fn from_limits_an_entry_within_its_branch() {
        let b = Baseline::from_text(crate::appliance::netscaler::BASELINE).unwrap();
        let bm = entry("/var/vpn/bookmark/bm_prefix_amRvZQ==", 0o644, NOBODY, 0);
        assert!(
            b.nobody_by_design(&bm, &Firmware::parse("13.0-47.24").unwrap())
                .is_some()
        );
        assert!(
            b.nobody_by_design(&bm, &Firmware::parse("13.0-47.22").unwrap())
                .is_none()
        );
        assert!(
            b.nobody_by_design(&bm, &Firmware::parse("13.0").unwrap())
                .is_some()
        );
        assert!(
            b.nobody_by_design(&bm, &Firmware::parse("12.1-55.18").unwrap())
                .is_none()
        );
    }
}
