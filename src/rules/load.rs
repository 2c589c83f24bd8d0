//! Reads one rule file into validated [`Pack`] and [`Rule`] values, collecting every problem.
//!
//! The TOML is parsed with spans (`toml::de::DeTable`) and walked by hand instead of through
//! `serde`: serde stops at the first error, while a rule author needs all of them, each with
//! `file:line:col`. Nothing here touches evidence.

use super::diag::{Code, Diagnostic, did_you_mean};
use super::{
    BaselineCond, Bounds, Check, CorrelateMatch, Example, FileMatch, FileType, HashLists,
    IndicatorCond, LineMatch, Matcher, ModeCond, Origin, Pack, Pattern, Patterns, RecordMode, Rule,
    TimelineCheck, TimelineMatch, Window,
};
use crate::model::{EvPath, Severity};
use std::ops::Range;
use toml::de::{DeTable, DeValue};

type Spanned<T> = toml::Spanned<T>;

/// The result of reading one rule source.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) pack: Option<Pack>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

const PACK_KEYS: &[&str] = &["id", "title", "description", "window"];
const WINDOW_KEYS: &[&str] = &["title", "advisory", "from", "sources", "cve", "fixed"];
const RULE_KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "severity",
    "cves",
    "campaign",
    "references",
    "file",
    "lines",
    "correlate",
    "timeline",
    "example",
];
const CORRELATE_KEYS: &[&str] = &[
    "logs",
    "exclude_paths",
    "first",
    "then",
    "check",
    "network_prefix",
    "network_prefix_v6",
    "min_actors",
    "within_hours",
    "first_paths",
    "then_paths",
];
const FILE_KEYS: &[&str] = &[
    "paths",
    "exclude_paths",
    "name",
    "type",
    "size",
    "mode",
    "uid",
    "gid",
    "mtime",
    "timestomp",
    "content",
    "max_bytes",
    "sha256",
    "md5",
    "baseline",
    "executable",
    "indicators",
];
const INDICATOR_KEYS: &[&str] = &["from", "list", "min", "min_rules", "as_data"];
const LINE_KEYS: &[&str] = &[
    "logs",
    "records",
    "exclude_paths",
    "any",
    "all",
    "none",
    "commands",
];
const TIMELINE_KEYS: &[&str] = &[
    "check",
    "logs",
    "exclude_paths",
    "min_hours",
    "usual_factor",
    "others",
];
const GROUP_KEYS: &[&str] = &["any", "all", "none"];
const PATTERN_KEYS: &[&str] = &["literal", "regex", "ignore_case"];
const BOUND_KEYS: &[&str] = &["min", "max"];
const TIME_KEYS: &[&str] = &["after", "before"];
const MODE_KEYS: &[&str] = &["exact", "any", "all", "none"];
const HASH_KEYS: &[&str] = &["bad", "good"];
const EXAMPLE_KEYS: &[&str] = &[
    "expect",
    "path",
    "type",
    "content",
    "hex",
    "line",
    "mode",
    "uid",
    "gid",
    "mtime",
    "btime",
    "sha256",
    "md5",
    "also",
    "lookalike",
];
const ALSO_KEYS: &[&str] = &["path", "content"];

/// Upper bound on the compiled size of one pattern, so a rule cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 8 << 20;

pub(crate) struct Ctx<'a> {
    pub(crate) file: &'a str,
    pub(crate) src: &'a str,
    pub(crate) diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &mut self,
        code: Code,
        span: Range<usize>,
        msg: impl Into<String>,
        help: Option<String>,
    ) {
        self.diags
            .push(Diagnostic::at(code, self.file, self.src, span, msg, help));
    }

    pub(crate) fn origin(&self, span: Range<usize>) -> Origin {
        let d = Diagnostic::at(Code::E001, self.file, self.src, span, "", None);
        Origin {
            file: self.file.to_owned(),
            line: d.line,
            column: d.column,
        }
    }
}

/// A table together with its span, checked for unknown keys once on creation.
pub(crate) struct Tbl<'t, 'i> {
    t: &'t DeTable<'i>,
    span: Range<usize>,
}

impl<'t, 'i> Tbl<'t, 'i> {
    pub(crate) fn new(
        ctx: &mut Ctx<'_>,
        t: &'t DeTable<'i>,
        span: Range<usize>,
        allowed: &[&str],
        what: &str,
    ) -> Self {
        for (k, _) in t.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                let name = k.get_ref().as_ref();
                let help = match did_you_mean(name, allowed) {
                    Some(s) => format!("did you mean `{s}`? {what} fields: {}", allowed.join(", ")),
                    None => format!("{what} fields: {}", allowed.join(", ")),
                };
                ctx.err(
                    Code::E002,
                    k.span(),
                    format!("unknown field `{name}` in {what}"),
                    Some(help),
                );
            }
        }
        Tbl { t, span }
    }

    /// The span of the whole table.
    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.t
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    /// The array under `key`: `None` when absent, and when not an array (reported as E003,
    /// `want` naming what was expected).
    pub(crate) fn array(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        want: &str,
    ) -> Option<&'t toml::de::DeArray<'i>> {
        let v = self.get(key)?;
        let DeValue::Array(arr) = v.get_ref() else {
            Self::type_err(ctx, key, v, want);
            return None;
        };
        Some(arr)
    }

    pub(crate) fn type_err(ctx: &mut Ctx<'_>, key: &str, v: &Spanned<DeValue<'_>>, want: &str) {
        ctx.err(
            Code::E003,
            v.span(),
            format!("`{key}` must be {want}, found {}", v.get_ref().type_str()),
            None,
        );
    }

    pub(crate) fn str(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(String, Range<usize>)> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            _ => {
                Self::type_err(ctx, key, v, "a string");
                None
            }
        }
    }

    pub(crate) fn req_str(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        what: &str,
    ) -> Option<(String, Range<usize>)> {
        if self.get(key).is_none() {
            ctx.err(
                Code::E004,
                self.span.clone(),
                format!("{what} is missing required field `{key}`"),
                None,
            );
            return None;
        }
        self.str(ctx, key)
    }

    pub(crate) fn strs(&self, ctx: &mut Ctx<'_>, key: &str) -> Vec<(String, Range<usize>)> {
        let Some(arr) = self.array(ctx, key, "an array of strings") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in arr.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), item.span())),
                _ => Self::type_err(ctx, key, item, "an array of strings"),
            }
        }
        out
    }

    pub(crate) fn u64(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(u64, Range<usize>)> {
        let v = self.get(key)?;
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        if parsed.is_none() {
            Self::type_err(ctx, key, v, "a non-negative integer");
        }
        parsed.map(|n| (n, v.span()))
    }

    pub(crate) fn table(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
    ) -> Option<(&'t DeTable<'i>, Range<usize>)> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some((t, v.span())),
            _ => {
                Self::type_err(ctx, key, v, "a table");
                None
            }
        }
    }

    pub(crate) fn tables(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
    ) -> Vec<(&'t DeTable<'i>, Range<usize>)> {
        let Some(arr) = self.array(ctx, key, "an array of tables ([[...]])") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in arr.iter() {
            match item.get_ref() {
                DeValue::Table(t) => out.push((t, item.span())),
                _ => Self::type_err(ctx, key, item, "an array of tables ([[...]])"),
            }
        }
        out
    }
}

/// Parses one rule file. `file` is the name used in diagnostics.
pub(crate) fn parse_source(file: &str, src: &str) -> Parsed {
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
    let mut out = Parsed::default();
    if !ctx.diags.is_empty() {
        out.diagnostics = ctx.diags;
        return out;
    }
    let root_span = 0..src.len().min(1);
    let root = Tbl::new(
        &mut ctx,
        doc.get_ref(),
        root_span,
        &["pack", "rule"],
        "a rule file",
    );

    let pack = match root.table(&mut ctx, "pack") {
        Some((t, span)) => parse_pack(&mut ctx, t, span),
        None => {
            if root.get("pack").is_none() {
                ctx.err(
                    Code::E004,
                    0..0,
                    "rule file has no [pack] table",
                    Some("start the file with [pack] and an id, title and description".into()),
                );
            }
            None
        }
    };
    let pack_id = pack.as_ref().map(|p| p.id.clone()).unwrap_or_default();
    let rule_tables = root.tables(&mut ctx, "rule");
    if rule_tables.is_empty() && root.get("rule").is_none() {
        ctx.err(
            Code::E028,
            0..0,
            "rule file defines no [[rule]]",
            Some("a pack must hold at least one rule".into()),
        );
    }
    for (t, span) in rule_tables {
        if let Some(rule) = parse_rule(&mut ctx, t, span, &pack_id) {
            out.rules.push(rule);
        }
    }
    // Duplicate ids inside this file (across files is checked by the rule set).
    let mut seen: Vec<(&str, &Origin)> = Vec::new();
    let mut dups = Vec::new();
    for r in &out.rules {
        if let Some((_, first)) = seen.iter().find(|(id, _)| *id == r.id) {
            dups.push((r.id.clone(), r.origin.clone(), (*first).clone()));
        } else {
            seen.push((&r.id, &r.origin));
        }
    }
    for (id, at, first) in dups {
        ctx.diags.push(Diagnostic {
            code: Code::E007,
            file: at.file.clone(),
            line: at.line,
            column: at.column,
            message: format!("duplicate rule id `{id}`"),
            source_line: src.lines().nth(at.line - 1).unwrap_or("").to_owned(),
            width: 1,
            help: Some(format!("first defined at {first}")),
        });
    }
    out.pack = pack;
    out.diagnostics = ctx.diags;
    out
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && id.as_bytes()[0].is_ascii_alphanumeric()
}

fn check_id(ctx: &mut Ctx<'_>, id: &str, span: Range<usize>) -> bool {
    if valid_id(id) {
        return true;
    }
    ctx.err(
        Code::E016,
        span,
        format!("invalid id `{id}`"),
        Some("ids use lower-case letters, digits, `-`, `_` and `.` (e.g. `cve-2019-19781.template-directive`)".into()),
    );
    false
}

fn parse_pack(ctx: &mut Ctx<'_>, t: &DeTable<'_>, span: Range<usize>) -> Option<Pack> {
    let tbl = Tbl::new(ctx, t, span.clone(), PACK_KEYS, "[pack]");
    let id = tbl.req_str(ctx, "id", "[pack]");
    let title = tbl.req_str(ctx, "title", "[pack]");
    let description = tbl.req_str(ctx, "description", "[pack]");
    let window = tbl
        .table(ctx, "window")
        .and_then(|(wt, ws)| parse_window(ctx, wt, ws));
    let (id, id_span) = id?;
    if !check_id(ctx, &id, id_span) {
        return None;
    }
    Some(Pack {
        id,
        title: title?.0,
        description: description?.0,
        window,
        origin: ctx.origin(span),
    })
}

fn parse_window(ctx: &mut Ctx<'_>, t: &DeTable<'_>, span: Range<usize>) -> Option<Window> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span.clone(), WINDOW_KEYS, "[pack.window]");
    let title = tbl.req_str(ctx, "title", "[pack.window]").map(|s| s.0);
    let advisory = tbl
        .get("advisory")
        .and_then(|v| time_value(ctx, "advisory", v));
    let from_span = tbl.get("from").map(|v| v.span());
    let from = match tbl.get("from") {
        Some(v) => time_value(ctx, "from", v),
        None => {
            ctx.err(
                Code::E004,
                span.clone(),
                "[pack.window] is missing required field `from`",
                None,
            );
            None
        }
    };
    let spot = |ctx: &Ctx<'_>, span: Range<usize>| {
        Diagnostic::at(Code::E013, ctx.file, ctx.src, span, "", None)
    };
    let listed = tbl.strs(ctx, "sources");
    let source_spots = listed.iter().map(|s| spot(ctx, s.1.clone())).collect();
    let sources: Vec<String> = listed.into_iter().map(|s| s.0).collect();
    if sources.is_empty() {
        ctx.err(
            Code::E004,
            span.clone(),
            "[pack.window] needs `sources`: the evidence sources that would show exploitation",
            Some("profile ids such as \"access-log\", \"shell-history\", \"ns-log\"".into()),
        );
    }
    if let Some(v) = tbl.get("fixed") {
        ctx.err(
            Code::E024,
            v.span(),
            "`fixed` is no longer part of a window: first fixed builds live in one table",
            Some("name the CVE instead, e.g. `cve = \"CVE-2019-19781\"`; its affected branches and fixed builds come from the CVE table (`sporen baseline` / README \"Posture\")".into()),
        );
    }
    let cve = tbl.str(ctx, "cve");
    if let Some((c, s)) = &cve
        && !valid_cve_id(c)
    {
        ctx.err(
            Code::E017,
            s.clone(),
            format!("`{c}` is not a CVE id"),
            Some("write it as CVE-YYYY-NNNN".into()),
        );
    }
    if ctx.diags.len() > before {
        return None;
    }
    Some(Window {
        title: title?,
        advisory,
        from: from?,
        from_spot: from_span.map(|s| spot(ctx, s)),
        sources,
        source_spots,
        cve_spot: cve.as_ref().map(|c| spot(ctx, c.1.clone())),
        cve: cve.map(|c| c.0),
    })
}

/// `CVE-2019-19781`: the prefix, a four-digit year and at least four digits.
fn valid_cve_id(s: &str) -> bool {
    let Some((year, num)) = s.strip_prefix("CVE-").and_then(|r| r.split_once('-')) else {
        return false;
    };
    year.len() == 4 && num.len() >= 4 && year.bytes().chain(num.bytes()).all(|b| b.is_ascii_digit())
}

fn parse_rule(ctx: &mut Ctx<'_>, t: &DeTable<'_>, span: Range<usize>, pack: &str) -> Option<Rule> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span.clone(), RULE_KEYS, "a [[rule]]");
    let id = tbl.req_str(ctx, "id", "rule");
    let id = id.and_then(|(id, s)| check_id(ctx, &id, s).then_some(id));
    let title = tbl.req_str(ctx, "title", "rule").map(|s| s.0);
    let description = tbl.req_str(ctx, "description", "rule").map(|s| s.0);
    let severity = parse_severity(ctx, &tbl);
    let cves = parse_cves(ctx, &tbl);
    let campaign = tbl.str(ctx, "campaign").map(|s| s.0);
    let references = tbl.strs(ctx, "references");

    let matcher = parse_matcher(ctx, &tbl, &span);
    let examples: Vec<Example> = tbl
        .tables(ctx, "example")
        .into_iter()
        .filter_map(|(et, es)| parse_example(ctx, et, es, matcher.as_ref()))
        .collect();
    if ctx.diags.len() > before {
        return None;
    }
    Some(Rule {
        id: id?,
        pack: pack.to_owned(),
        title: title?,
        description: description?,
        severity: severity?,
        cves,
        campaign,
        references: references.into_iter().map(|r| r.0).collect(),
        matcher: matcher?,
        examples,
        origin: ctx.origin(span),
    })
}

fn parse_severity(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Option<Severity> {
    let (s, sp) = tbl.req_str(ctx, "severity", "rule")?;
    let sev = Severity::parse(&s);
    if sev.is_none() {
        ctx.err(
            Code::E009,
            sp,
            format!("unknown severity `{s}`"),
            Some("severity is one of critical, high, medium, low, info".into()),
        );
    }
    sev
}

fn parse_cves(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Vec<String> {
    let cves = tbl.strs(ctx, "cves");
    for (c, sp) in &cves {
        if !valid_cve_id(c) {
            ctx.err(
                Code::E017,
                sp.clone(),
                format!("`{c}` is not a CVE id"),
                Some("write CVE ids as CVE-YYYY-NNNN".into()),
            );
        }
    }
    cves.into_iter().map(|c| c.0).collect()
}

/// The one condition table of a rule: `[rule.file]`, `[rule.lines]`, `[rule.correlate]` or
/// `[rule.timeline]`.
fn parse_matcher(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, span: &Range<usize>) -> Option<Matcher> {
    let file = tbl.table(ctx, "file");
    let lines = tbl.table(ctx, "lines");
    let correlate = tbl.table(ctx, "correlate");
    let timeline = tbl.table(ctx, "timeline");
    let given = [
        file.is_some(),
        lines.is_some(),
        correlate.is_some(),
        timeline.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    match (file, lines, correlate, timeline) {
        _ if given > 1 => {
            let later = ["timeline", "correlate", "lines", "file"]
                .iter()
                .find_map(|k| tbl.get(k))
                .map_or(span.clone(), |v| v.span());
            ctx.err(
                Code::E010,
                later,
                "a rule has exactly one of [rule.file], [rule.lines], [rule.correlate] or [rule.timeline]",
                Some("split it into several rules".into()),
            );
            None
        }
        (Some((ft, fs)), None, None, None) => {
            parse_file_match(ctx, ft, fs).map(|f| Matcher::File(Box::new(f)))
        }
        (None, Some((lt, ls)), None, None) => parse_line_match(ctx, lt, ls).map(Matcher::Lines),
        (None, None, Some((ct, cs)), None) => parse_correlate(ctx, ct, cs).map(Matcher::Correlate),
        (None, None, None, Some((tt, ts))) => parse_timeline(ctx, tt, ts).map(Matcher::Timeline),
        _ => {
            if ["file", "lines", "correlate", "timeline"]
                .iter()
                .all(|k| tbl.get(k).is_none())
            {
                ctx.err(
                    Code::E027,
                    span.clone(),
                    "rule has no conditions",
                    Some(
                        "add a [rule.file], [rule.lines], [rule.correlate] or [rule.timeline] table"
                            .into(),
                    ),
                );
            }
            None
        }
    }
}

pub(crate) fn parse_globs(ctx: &mut Ctx<'_>, globs: Vec<(String, Range<usize>)>) -> Vec<String> {
    let mut out = Vec::new();
    for (g, sp) in globs {
        if g.starts_with('/') {
            ctx.err(
                Code::E015,
                sp,
                format!("glob `{g}` starts with `/`"),
                Some("globs are relative to the appliance root: write `var/log/ns.log`".into()),
            );
            continue;
        }
        match crate::util::glob::compile(&g) {
            Ok(_) => out.push(g),
            Err(e) => ctx.err(
                Code::E006,
                sp,
                format!("invalid glob `{g}`: {e}"),
                Some("globs support `*`, `?`, `**`, `[a-z]` and `{a,b}`".into()),
            ),
        }
    }
    out
}

fn regex_builder(pattern: &str) -> regex::bytes::RegexBuilder {
    let mut b = regex::bytes::RegexBuilder::new(pattern);
    b.unicode(false)
        .multi_line(true)
        .size_limit(REGEX_SIZE_LIMIT);
    b
}

/// Compiles a rule pattern in the engine's dialect (bytes, multi-line, ASCII classes).
pub fn compile_regex(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex_builder(pattern).build()
}

pub(crate) fn regex_error_text(e: &regex::Error) -> String {
    // The regex crate's message spans several lines with its own caret; keep the last line,
    // which says what is wrong.
    let s = e.to_string();
    s.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| l.trim().trim_start_matches("error:").trim().to_owned())
        .unwrap_or(s)
}

fn parse_regex_str(
    ctx: &mut Ctx<'_>,
    src: &str,
    span: Range<usize>,
) -> Option<regex::bytes::Regex> {
    match compile_regex(src) {
        Ok(r) => Some(r),
        Err(e) => {
            let lookaround = src.contains("(?=") || src.contains("(?!") || src.contains("(?<");
            let help = if lookaround {
                "look-around is not supported; use a `none` pattern to exclude instead".to_owned()
            } else {
                "patterns use Rust regex syntax on bytes (https://docs.rs/regex)".to_owned()
            };
            ctx.err(
                Code::E005,
                span,
                format!("invalid regex: {}", regex_error_text(&e)),
                Some(help),
            );
            None
        }
    }
}

fn parse_pattern(ctx: &mut Ctx<'_>, v: &Spanned<DeValue<'_>>, key: &str) -> Option<Pattern> {
    match v.get_ref() {
        DeValue::String(s) => Some(Pattern {
            source: s.to_string(),
            is_regex: false,
            ignore_case: false,
            compiled: regex::escape(s),
        }),
        DeValue::Table(t) => {
            let tbl = Tbl::new(ctx, t, v.span(), PATTERN_KEYS, "a pattern");
            let ignore_case = match tbl.get("ignore_case") {
                None => false,
                Some(b) => match b.get_ref() {
                    DeValue::Boolean(b) => *b,
                    _ => {
                        Tbl::type_err(ctx, "ignore_case", b, "true or false");
                        false
                    }
                },
            };
            let lit = tbl.str(ctx, "literal");
            let re = tbl.str(ctx, "regex");
            let (source, is_regex, span) = match (lit, re) {
                (Some((l, sp)), None) => (l, false, sp),
                (None, Some((r, sp))) => (r, true, sp),
                _ => {
                    ctx.err(
                        Code::E010,
                        v.span(),
                        format!("a pattern in `{key}` needs exactly one of `literal` or `regex`"),
                        Some("write { literal = \"...\" } or { regex = '...' }".into()),
                    );
                    return None;
                }
            };
            if source.is_empty() {
                ctx.err(
                    Code::E021,
                    span,
                    "empty pattern",
                    Some("an empty pattern matches everything".into()),
                );
                return None;
            }
            let body = if is_regex {
                source.clone()
            } else {
                regex::escape(&source)
            };
            let compiled = if ignore_case {
                format!("(?i:{body})")
            } else {
                body
            };
            parse_regex_str(ctx, &compiled, span)?;
            Some(Pattern {
                source,
                is_regex,
                ignore_case,
                compiled,
            })
        }
        _ => {
            Tbl::type_err(ctx, key, v, "a string or a { literal | regex } table");
            None
        }
    }
    .filter(|p| {
        if p.source.is_empty() {
            ctx.err(
                Code::E021,
                v.span(),
                "empty pattern",
                Some("an empty pattern matches everything".into()),
            );
            false
        } else {
            true
        }
    })
}

fn parse_pattern_list(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str) -> Vec<Pattern> {
    let Some(arr) = tbl.array(ctx, key, "an array of patterns") else {
        return Vec::new();
    };
    arr.iter()
        .filter_map(|item| parse_pattern(ctx, item, key))
        .collect()
}

fn parse_group(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Patterns {
    Patterns {
        any: parse_pattern_list(ctx, tbl, "any"),
        all: parse_pattern_list(ctx, tbl, "all"),
        none: parse_pattern_list(ctx, tbl, "none"),
    }
}

pub(crate) fn parse_octal(ctx: &mut Ctx<'_>, s: &str, span: Range<usize>) -> Option<u32> {
    match u32::from_str_radix(s, 8) {
        Ok(v) if v <= 0o7777 && !s.is_empty() => Some(v),
        _ => {
            ctx.err(
                Code::E018,
                span,
                format!("`{s}` is not an octal permission value"),
                Some("write modes as octal strings: \"0644\", \"4000\"".into()),
            );
            None
        }
    }
}

pub(crate) fn time_value(ctx: &mut Ctx<'_>, key: &str, v: &Spanned<DeValue<'_>>) -> Option<i64> {
    let text = match v.get_ref() {
        DeValue::String(s) => s.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        _ => {
            Tbl::type_err(ctx, key, v, "a date (2020-01-10) or date-time");
            return None;
        }
    };
    let t = crate::util::bytes::parse_time(&text);
    if t.is_none() {
        ctx.err(
            Code::E019,
            v.span(),
            format!("`{text}` is not a date"),
            Some("write 2020-01-10 or 2020-01-10T08:00:00Z".into()),
        );
    }
    t
}

fn parse_hashes(ctx: &mut Ctx<'_>, file: &Tbl<'_, '_>, key: &str, hex_len: usize) -> HashLists {
    let Some((t, sp)) = file.table(ctx, key) else {
        return HashLists::default();
    };
    let tbl = Tbl::new(ctx, t, sp, HASH_KEYS, &format!("`{key}`"));
    let bad = tbl.strs(ctx, "bad");
    let good = tbl.strs(ctx, "good");
    let mut check = |list: Vec<(String, Range<usize>)>| -> Vec<String> {
        let mut out = Vec::new();
        for (h, sp) in list {
            let lower = h.to_ascii_lowercase();
            if lower.len() == hex_len && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push(lower);
            } else {
                ctx.err(
                    Code::E008,
                    sp,
                    format!("`{h}` is not a {key} digest"),
                    Some(format!(
                        "a {key} digest is {hex_len} hexadecimal characters"
                    )),
                );
            }
        }
        out.sort();
        out.dedup();
        out
    };
    HashLists {
        bad: check(bad),
        good: check(good),
    }
}

fn parse_indicators(
    ctx: &mut Ctx<'_>,
    t: &DeTable<'_>,
    span: Range<usize>,
) -> Option<IndicatorCond> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span.clone(), INDICATOR_KEYS, "`indicators`");
    let list: Vec<String> = tbl.strs(ctx, "list").into_iter().map(|l| l.0).collect();
    match tbl.req_str(ctx, "from", "`indicators`") {
        Some((f, sp)) if f == "rules" && !list.is_empty() => ctx.err(
            Code::E010,
            sp,
            "`from = \"rules\"` takes the rules' indicators; `list` is for `from = \"list\"`",
            None,
        ),
        Some((f, sp)) if f == "list" && list.is_empty() => ctx.err(
            Code::E004,
            sp,
            "`from = \"list\"` needs a non-empty `list` of indicator strings",
            None,
        ),
        Some((f, _)) if f == "rules" || f == "list" => {}
        Some((f, sp)) => ctx.err(
            Code::E009,
            sp,
            format!("unknown indicator source `{f}`"),
            Some(
                "from is \"rules\" (the literal indicators of every rule in force) or \"list\""
                    .into(),
            ),
        ),
        None => {}
    }
    let count = |ctx: &mut Ctx<'_>, key: &str, default: usize| match tbl.u64(ctx, key) {
        Some((0, sp)) => {
            ctx.err(Code::E020, sp, format!("`{key}` must be at least 1"), None);
            default
        }
        Some((v, _)) => usize::try_from(v).unwrap_or(usize::MAX),
        None => default,
    };
    let min = count(ctx, "min", 5);
    let min_rules = count(ctx, "min_rules", 2);
    let as_data = bool_field(ctx, &tbl, "as_data").unwrap_or(true);
    (ctx.diags.len() == before).then_some(IndicatorCond {
        list,
        min,
        min_rules,
        as_data,
    })
}

/// A `true` / `false` field; `None` when absent (or of the wrong type, which is reported).
pub(crate) fn bool_field(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str) -> Option<bool> {
    let v = tbl.get(key)?;
    match v.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        _ => {
            Tbl::type_err(ctx, key, v, "true or false");
            None
        }
    }
}

pub(crate) fn parse_file_type(ctx: &mut Ctx<'_>, s: &str, span: Range<usize>) -> Option<FileType> {
    Some(match s {
        "file" => FileType::File,
        "dir" => FileType::Dir,
        "symlink" => FileType::Symlink,
        "any" => FileType::Any,
        _ => {
            ctx.err(
                Code::E009,
                span,
                format!("unknown file type `{s}`"),
                Some("type is one of file, dir, symlink, any".into()),
            );
            return None;
        }
    })
}

fn parse_file_match(ctx: &mut Ctx<'_>, t: &DeTable<'_>, span: Range<usize>) -> Option<FileMatch> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span.clone(), FILE_KEYS, "[rule.file]");
    let paths = tbl.strs(ctx, "paths");
    let paths = parse_globs(ctx, paths);
    let excl = tbl.strs(ctx, "exclude_paths");
    let exclude_paths = parse_globs(ctx, excl);
    let name = tbl
        .str(ctx, "name")
        .and_then(|(s, sp)| parse_regex_str(ctx, &s, sp).map(|r| (s, r)));
    let file_type = match tbl.str(ctx, "type") {
        Some((s, sp)) => parse_file_type(ctx, &s, sp).unwrap_or(FileType::File),
        None => FileType::File,
    };
    let fm = FileMatch {
        paths,
        exclude_paths,
        name,
        file_type,
        size: parse_size(ctx, &tbl),
        mode: parse_mode(ctx, &tbl),
        uid: id_field(ctx, &tbl, "uid"),
        gid: id_field(ctx, &tbl, "gid"),
        mtime: parse_mtime(ctx, &tbl),
        timestomp: bool_field(ctx, &tbl, "timestomp").unwrap_or(false),
        content: parse_content(ctx, &tbl),
        max_bytes: tbl.u64(ctx, "max_bytes").map(|v| v.0),
        sha256: parse_hashes(ctx, &tbl, "sha256", 64),
        md5: parse_hashes(ctx, &tbl, "md5", 32),
        baseline: parse_baseline_cond(ctx, &tbl),
        executable: bool_field(ctx, &tbl, "executable"),
        indicators: tbl
            .table(ctx, "indicators")
            .and_then(|(it, is)| parse_indicators(ctx, it, is)),
    };
    let has_condition = !fm.paths.is_empty()
        || fm.name.is_some()
        || !fm.mode.is_empty()
        || fm.uid.is_some()
        || fm.gid.is_some()
        || fm.timestomp
        || fm.baseline.is_some()
        || fm.needs_read();
    if !has_condition && ctx.diags.len() == before {
        ctx.err(
            Code::E027,
            span,
            "[rule.file] would match every file",
            Some("add `paths`, `name`, `mode`, `uid`/`gid`, `baseline`, `content`, `executable`, `indicators` or a hash list".into()),
        );
    }
    (ctx.diags.len() == before).then_some(fm)
}

fn parse_size(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Option<Bounds<u64>> {
    let (st, ss) = tbl.table(ctx, "size")?;
    let b = Tbl::new(ctx, st, ss.clone(), BOUND_KEYS, "`size`");
    let min = b.u64(ctx, "min").map(|v| v.0);
    let max = b.u64(ctx, "max").map(|v| v.0);
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        ctx.err(Code::E020, ss, "size.min is larger than size.max", None);
    }
    Some(Bounds { min, max })
}

fn parse_mode(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Vec<ModeCond> {
    let mut mode = Vec::new();
    let Some((mt, ms)) = tbl.table(ctx, "mode") else {
        return mode;
    };
    let m = Tbl::new(ctx, mt, ms.clone(), MODE_KEYS, "`mode`");
    for (key, make) in [
        ("exact", ModeCond::Exact as fn(u32) -> ModeCond),
        ("any", ModeCond::Any),
        ("all", ModeCond::All),
        ("none", ModeCond::None),
    ] {
        if let Some((s, sp)) = m.str(ctx, key)
            && let Some(v) = parse_octal(ctx, &s, sp)
        {
            mode.push(make(v));
        }
    }
    if mt.is_empty() {
        ctx.err(
            Code::E027,
            ms,
            "`mode` has no condition",
            Some("use exact, any, all or none".into()),
        );
    }
    mode
}

fn id_field(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str) -> Option<u32> {
    let (v, sp) = tbl.u64(ctx, key)?;
    u32::try_from(v).ok().or_else(|| {
        ctx.err(Code::E020, sp, format!("`{key}` is out of range"), None);
        None
    })
}

fn parse_mtime(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Option<Bounds<i64>> {
    let (tt, ts) = tbl.table(ctx, "mtime")?;
    let b = Tbl::new(ctx, tt, ts, TIME_KEYS, "`mtime`");
    let min = b.get("after").and_then(|v| time_value(ctx, "after", v));
    let max = b.get("before").and_then(|v| time_value(ctx, "before", v));
    Some(Bounds { min, max })
}

fn parse_content(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Patterns {
    let Some((ct, cs)) = tbl.table(ctx, "content") else {
        return Patterns::default();
    };
    let g = Tbl::new(ctx, ct, cs.clone(), GROUP_KEYS, "`content`");
    let n = ctx.diags.len();
    let p = parse_group(ctx, &g);
    if p.any.is_empty() && p.all.is_empty() && ctx.diags.len() == n {
        ctx.err(
            Code::E027,
            cs,
            "`content` needs at least one `any` or `all` pattern",
            Some("`none` patterns only exclude; they cannot match on their own".into()),
        );
    }
    p
}

fn parse_baseline_cond(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Option<BaselineCond> {
    let (s, sp) = tbl.str(ctx, "baseline")?;
    let c = BaselineCond::parse(&s);
    if c.is_none() {
        ctx.err(
            Code::E009,
            sp,
            format!("unknown baseline condition `{s}`"),
            Some(format!(
                "baseline is one of {}",
                BaselineCond::NAMES.join(", ")
            )),
        );
    }
    c
}

fn parse_line_match(ctx: &mut Ctx<'_>, t: &DeTable<'_>, span: Range<usize>) -> Option<LineMatch> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span.clone(), LINE_KEYS, "[rule.lines]");
    let logs_raw = tbl.strs(ctx, "logs");
    if logs_raw.is_empty() && tbl.get("logs").is_none() {
        ctx.err(
            Code::E004,
            span.clone(),
            "[rule.lines] is missing required field `logs`",
            Some(
                "name the logs, e.g. logs = [\"var/log/bash.log\"]; rotations are included".into(),
            ),
        );
    }
    let logs = parse_globs(ctx, logs_raw);
    let excl = tbl.strs(ctx, "exclude_paths");
    let exclude_paths = parse_globs(ctx, excl);
    let n = ctx.diags.len();
    let patterns = parse_group(ctx, &tbl);
    if patterns.any.is_empty() && patterns.all.is_empty() && ctx.diags.len() == n {
        ctx.err(
            Code::E027,
            span,
            "[rule.lines] needs at least one `any` or `all` pattern",
            Some("`none` patterns only exclude; they cannot match on their own".into()),
        );
    }
    let records = match tbl.str(ctx, "records") {
        None => RecordMode::Line,
        Some((s, _)) if s == "line" => RecordMode::Line,
        Some((s, _)) if s == "syslog" => RecordMode::Syslog,
        Some((s, sp)) => {
            ctx.err(
                Code::E009,
                sp,
                format!("unknown record mode `{s}`"),
                Some("records is \"line\" (default) or \"syslog\"".into()),
            );
            RecordMode::Line
        }
    };
    let commands = tbl.str(ctx, "commands").and_then(|(s, sp)| {
        let v = crate::rules::View::parse(&s);
        if v.is_none() {
            ctx.err(
                Code::E009,
                sp,
                format!("unknown command view `{s}`"),
                Some(format!(
                    "commands is one of {}",
                    crate::rules::View::NAMES.join(", ")
                )),
            );
        }
        v
    });
    (ctx.diags.len() == before).then_some(LineMatch {
        records,
        logs,
        exclude_paths,
        patterns,
        commands,
    })
}

fn parse_correlate(
    ctx: &mut Ctx<'_>,
    t: &DeTable<'_>,
    span: Range<usize>,
) -> Option<CorrelateMatch> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span.clone(), CORRELATE_KEYS, "[rule.correlate]");
    let logs_raw = tbl.strs(ctx, "logs");
    if logs_raw.is_empty() && tbl.get("logs").is_none() {
        ctx.err(
            Code::E004,
            span.clone(),
            "[rule.correlate] is missing required field `logs`",
            None,
        );
    }
    let logs = parse_globs(ctx, logs_raw);
    let excl = tbl.strs(ctx, "exclude_paths");
    let exclude_paths = parse_globs(ctx, excl);
    let check = parse_check(ctx, &tbl);
    // Which named captures each record needs for the chosen check.
    let (first_needs, then_needs): (&[&str], &[&str]) = match check {
        Some(Check::ValueChanges) => (&["key", "value"], &["key", "value"]),
        Some(Check::FirstMissing) => (&["key"], &["key"]),
        Some(Check::ValueShared) => (&[], &["value", "actor"]),
        None => (&[], &[]),
    };
    let first = parse_record(ctx, &tbl, "first", first_needs);
    let then = parse_record(ctx, &tbl, "then", then_needs);
    if then.is_none() && tbl.get("then").is_none() {
        ctx.err(
            Code::E004,
            span.clone(),
            "[rule.correlate] is missing required field `then`",
            None,
        );
    }
    if first.is_none() && tbl.get("first").is_none() && !first_needs.is_empty() {
        ctx.err(
            Code::E004,
            span.clone(),
            format!(
                "check `{}` needs a `first` record",
                check.map_or("", Check::as_str)
            ),
            None,
        );
    }
    let network_prefix = parse_prefix(ctx, &tbl, "network_prefix", 32, "an IPv4");
    let network_prefix_v6 = parse_prefix(ctx, &tbl, "network_prefix_v6", 128, "an IPv6");
    let min_actors = match tbl.u64(ctx, "min_actors") {
        Some((v, _)) if v >= 2 => v as usize,
        Some((_, sp)) => {
            ctx.err(Code::E020, sp, "min_actors must be at least 2", None);
            2
        }
        None => 2,
    };
    let within_hours = parse_within(ctx, &tbl, check);
    let fp = tbl.strs(ctx, "first_paths");
    let first_paths = parse_globs(ctx, fp);
    let tp = tbl.strs(ctx, "then_paths");
    let then_paths = parse_globs(ctx, tp);
    if ctx.diags.len() > before {
        return None;
    }
    Some(CorrelateMatch {
        first_paths,
        then_paths,
        logs,
        exclude_paths,
        first,
        then: then?,
        check: check?,
        network_prefix,
        network_prefix_v6,
        min_actors,
        within_hours,
    })
}

/// `within_hours`: how long before a `then` record a `first` record still counts (the longest
/// a session lives). Only `value-changes` compares records by time.
fn parse_within(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, check: Option<Check>) -> Option<u32> {
    let (v, sp) = tbl.u64(ctx, "within_hours")?;
    if check.is_some_and(|c| c != Check::ValueChanges) {
        ctx.err(
            Code::E010,
            sp,
            "within_hours applies to check = \"value-changes\" only",
            Some("the other checks do not compare records by time".into()),
        );
        return None;
    }
    match u32::try_from(v) {
        Ok(h @ 1..=8784) => Some(h),
        _ => {
            ctx.err(
                Code::E020,
                sp,
                "within_hours is 1 to 8784 (the hours of a leap year)",
                None,
            );
            None
        }
    }
}

fn parse_check(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Option<Check> {
    let (s, sp) = tbl.req_str(ctx, "check", "[rule.correlate]")?;
    let check = match s.as_str() {
        "value-changes" => Some(Check::ValueChanges),
        "first-missing" => Some(Check::FirstMissing),
        "value-shared" => Some(Check::ValueShared),
        _ => None,
    };
    if check.is_none() {
        ctx.err(
            Code::E009,
            sp,
            format!("unknown check `{s}`"),
            Some("check is value-changes, first-missing or value-shared".into()),
        );
    }
    check
}

/// A correlate record: a pattern with the named captures its check needs.
fn parse_record(
    ctx: &mut Ctx<'_>,
    tbl: &Tbl<'_, '_>,
    key: &str,
    needs: &[&str],
) -> Option<Pattern> {
    let v = tbl.get(key)?;
    let p = parse_pattern(ctx, v, key)?;
    if let Ok(re) = compile_regex(&p.compiled) {
        let names: Vec<&str> = re.capture_names().flatten().collect();
        let missing: Vec<&&str> = needs.iter().filter(|n| !names.contains(n)).collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|m| format!("(?P<{m}>...)")).collect();
            ctx.err(
                Code::E022,
                v.span(),
                format!("`{key}` needs the named captures {}", list.join(", ")),
                Some("correlate records are regexes with named groups".into()),
            );
        }
    }
    Some(p)
}

/// A prefix length of at most `max` bits.
fn parse_prefix(
    ctx: &mut Ctx<'_>,
    tbl: &Tbl<'_, '_>,
    key: &str,
    max: u64,
    what: &str,
) -> Option<u8> {
    let (v, sp) = tbl.u64(ctx, key)?;
    if v <= max {
        return u8::try_from(v).ok();
    }
    ctx.err(
        Code::E020,
        sp,
        format!("{key} is {what} prefix length, 0 to {max}"),
        None,
    );
    None
}

fn parse_timeline(ctx: &mut Ctx<'_>, t: &DeTable<'_>, span: Range<usize>) -> Option<TimelineMatch> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span.clone(), TIMELINE_KEYS, "[rule.timeline]");
    let logs_raw = tbl.strs(ctx, "logs");
    if logs_raw.is_empty() && tbl.get("logs").is_none() {
        ctx.err(
            Code::E004,
            span.clone(),
            "[rule.timeline] is missing required field `logs`",
            Some("name the logs it judges; rotations are included".into()),
        );
    }
    let logs = parse_globs(ctx, logs_raw);
    let excl = tbl.strs(ctx, "exclude_paths");
    let exclude_paths = parse_globs(ctx, excl);
    let check = match tbl.req_str(ctx, "check", "[rule.timeline]") {
        Some((s, _)) if s == "hole" => Some(TimelineCheck::Hole),
        Some((s, sp)) => {
            ctx.err(
                Code::E009,
                sp,
                format!("unknown check `{s}`"),
                Some("check is \"hole\"".into()),
            );
            None
        }
        None => None,
    };
    let mut at_least = |key: &str, min: u64, default: u64| match tbl.u64(ctx, key) {
        Some((v, _)) if v >= min => v,
        Some((_, sp)) => {
            ctx.err(
                Code::E020,
                sp,
                format!("{key} must be at least {min}"),
                None,
            );
            default
        }
        None => default,
    };
    let min_hours = at_least("min_hours", 1, 3);
    let usual_factor = at_least("usual_factor", 1, 4);
    let others = at_least("others", 1, 1);
    if ctx.diags.len() > before {
        return None;
    }
    Some(TimelineMatch {
        check: check?,
        logs,
        exclude_paths,
        min_hours,
        usual_factor,
        others,
    })
}

fn parse_example(
    ctx: &mut Ctx<'_>,
    t: &DeTable<'_>,
    span: Range<usize>,
    matcher: Option<&Matcher>,
) -> Option<Example> {
    let before = ctx.diags.len();
    let tbl = Tbl::new(ctx, t, span.clone(), EXAMPLE_KEYS, "an [[rule.example]]");
    let expect_match = parse_expect(ctx, &tbl);
    let path = match tbl.str(ctx, "path") {
        Some((p, _)) => Some(p),
        None => match matcher {
            Some(Matcher::Lines(l)) => l.logs.first().cloned(),
            Some(Matcher::Correlate(c)) => c.logs.first().cloned(),
            Some(Matcher::Timeline(t)) => t.logs.first().cloned(),
            _ => None,
        },
    };
    if path.is_none() && matcher.is_some() {
        ctx.err(
            Code::E004,
            span.clone(),
            "example is missing `path`",
            Some("file-rule examples name the file they stand for".into()),
        );
    }
    let file_type = match tbl.str(ctx, "type") {
        Some((s, sp)) => parse_file_type(ctx, &s, sp).unwrap_or(FileType::File),
        None => FileType::File,
    };
    let content = example_bytes(ctx, &tbl, span.clone());
    let also = parse_also(ctx, &tbl);
    let mode = match tbl.str(ctx, "mode") {
        Some((s, sp)) => parse_octal(ctx, &s, sp).unwrap_or(0o644),
        None => 0o644,
    };
    let uid = tbl.u64(ctx, "uid").map_or(0, |v| v.0 as u32);
    let gid = tbl.u64(ctx, "gid").map_or(0, |v| v.0 as u32);
    let mtime = tbl
        .get("mtime")
        .and_then(|v| time_value(ctx, "mtime", v))
        .unwrap_or(1_577_836_800); // 2020-01-01
    let btime = tbl.get("btime").and_then(|v| time_value(ctx, "btime", v));
    let digest = |ctx: &mut Ctx<'_>, key: &str, len: usize| -> Option<String> {
        let (h, sp) = tbl.str(ctx, key)?;
        let lower = h.to_ascii_lowercase();
        if lower.len() == len && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(lower)
        } else {
            ctx.err(Code::E008, sp, format!("`{h}` is not a {key} digest"), None);
            None
        }
    };
    let sha256 = digest(ctx, "sha256", 64);
    let md5 = digest(ctx, "md5", 32);
    let lookalike = parse_lookalike(ctx, &tbl, expect_match);
    if ctx.diags.len() > before {
        return None;
    }
    Some(Example {
        lookalike,
        expect_match,
        path: EvPath::new(path?.into_bytes()),
        file_type,
        content,
        mode,
        uid,
        gid,
        mtime,
        btime,
        sha256,
        md5,
        also,
        origin: ctx.origin(span),
    })
}

fn parse_expect(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> bool {
    match tbl.req_str(ctx, "expect", "example") {
        Some((s, _)) if s == "match" => true,
        Some((s, _)) if s == "no-match" => false,
        Some((s, sp)) => {
            ctx.err(
                Code::E009,
                sp,
                format!("unknown expectation `{s}`"),
                Some("expect is \"match\" or \"no-match\"".into()),
            );
            false
        }
        None => false,
    }
}

/// The example file's bytes: one of `content`, `hex` or `line` (a line gets its newline).
fn example_bytes(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, span: Range<usize>) -> Vec<u8> {
    let content = tbl.str(ctx, "content").map(|c| c.0.into_bytes());
    let line = tbl.str(ctx, "line").map(|c| c.0);
    let hex = tbl.str(ctx, "hex").and_then(|(h, sp)| {
        let clean: String = h.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes: Option<Vec<u8>> = clean
            .len()
            .is_multiple_of(2)
            .then(|| {
                (0..clean.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).ok())
                    .collect()
            })
            .flatten();
        if bytes.is_none() {
            ctx.err(
                Code::E023,
                sp,
                "`hex` must be pairs of hexadecimal digits",
                None,
            );
        }
        bytes
    });
    if [content.is_some(), line.is_some(), hex.is_some()]
        .iter()
        .filter(|x| **x)
        .count()
        > 1
    {
        ctx.err(
            Code::E010,
            span,
            "an example has one of `content`, `hex` or `line`",
            None,
        );
    }
    content
        .or(hex)
        .or(line.map(|l| (l + "\n").into_bytes()))
        .unwrap_or_default()
}

/// `also`: further files of the same virtual appliance.
fn parse_also(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>) -> Vec<(EvPath, Vec<u8>)> {
    let mut also = Vec::new();
    if let Some(v) = tbl.get("also") {
        match v.get_ref() {
            DeValue::Array(arr) => {
                for item in arr.iter() {
                    let DeValue::Table(t) = item.get_ref() else {
                        Tbl::type_err(ctx, "also", item, "an array of { path, content } tables");
                        continue;
                    };
                    let at = Tbl::new(ctx, t, item.span(), ALSO_KEYS, "an `also` file");
                    let p = at.req_str(ctx, "path", "an `also` file");
                    let c = at.str(ctx, "content").map(|c| c.0).unwrap_or_default();
                    if let Some((p, _)) = p {
                        also.push((EvPath::new(p.into_bytes()), c.into_bytes()));
                    }
                }
            }
            _ => Tbl::type_err(ctx, "also", v, "an array of { path, content } tables"),
        }
    }
    also
}

fn parse_lookalike(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, expect_match: bool) -> Option<String> {
    tbl.str(ctx, "lookalike").and_then(|(l, sp)| {
        if expect_match {
            ctx.err(
                Code::E010,
                sp,
                "`lookalike` belongs on a no-match example",
                Some("it says why a benign thing looks like the trace and must not match".into()),
            );
            None
        } else if l.trim().is_empty() {
            ctx.err(Code::E021, sp, "empty `lookalike`", None);
            None
        } else {
            Some(l)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[pack]
id = "demo"
title = "Demo"
description = "Demo pack"

[[rule]]
id = "demo.nobody-crontab"
title = "Crontab of nobody"
description = "The web server user has a crontab."
severity = "high"
cves = ["CVE-2019-19781"]
references = ["https://example.org"]
[rule.file]
paths = ["var/cron/tabs/nobody"]
mode = { any = "0777" }
[[rule.example]]
expect = "match"
path = "var/cron/tabs/nobody"
[[rule.example]]
expect = "no-match"
path = "var/cron/tabs/root"

[[rule]]
id = "demo.cron-nobody"
title = "cron ran a command as nobody"
description = "d"
severity = "high"
[rule.lines]
logs = ["var/log/cron"]
any = ["(nobody) CMD", { regex = 'ci[0-9]?\.sh', ignore_case = true }]
none = ["nsfsyncd"]
"#;

    #[test]
    fn parses_a_valid_file() {
        let p = parse_source("demo.toml", GOOD);
        assert!(p.diagnostics.is_empty(), "{:#?}", p.diagnostics);
        assert_eq!(p.pack.unwrap().id, "demo");
        assert_eq!(p.rules.len(), 2);
        let r = &p.rules[1];
        assert_eq!(r.severity, Severity::High);
        let Matcher::Lines(l) = &r.matcher else {
            panic!()
        };
        assert_eq!(l.patterns.any.len(), 2);
        assert_eq!(l.patterns.any[0].compiled, r"\(nobody\) CMD");
        assert_eq!(l.patterns.any[1].compiled, r"(?i:ci[0-9]?\.sh)");
        assert_eq!(p.rules[0].examples.len(), 2);
        assert_eq!(p.rules[0].origin.line, 7);
    }

    #[test]
    fn reports_every_problem_at_once_with_positions() {
        let src = r#"
[pack]
id = "demo"
title = "Demo"
description = "d"

[[rule]]
id = "demo.a"
title = "a"
description = "d"
severity = "severe"
colour = "red"
[rule.file]
paths = ["/var/tmp/x", "var/[tmp"]
content = { any = [{ regex = "foo(" }] }
sha256 = { bad = ["abc"] }

[[rule]]
id = "demo.a"
title = "b"
description = "d"
severity = "low"
[rule.lines]
logs = ["var/log/cron"]
any = [{ regex = '(?<=x)y' }]
"#;
        let p = parse_source("bad.toml", src);
        let codes: Vec<(Code, usize)> = p.diagnostics.iter().map(|d| (d.code, d.line)).collect();
        assert!(codes.contains(&(Code::E009, 11)), "{codes:?}"); // severity
        assert!(codes.contains(&(Code::E002, 12)), "{codes:?}"); // unknown field
        assert!(codes.contains(&(Code::E015, 14)), "{codes:?}"); // absolute glob
        assert!(codes.contains(&(Code::E006, 14)), "{codes:?}"); // bad glob
        assert_eq!(codes.iter().filter(|c| c.0 == Code::E006).count(), 1);
        assert!(codes.contains(&(Code::E005, 15)), "{codes:?}"); // regex
        assert!(codes.contains(&(Code::E008, 16)), "{codes:?}"); // sha256
        assert!(codes.contains(&(Code::E005, 25)), "{codes:?}"); // look-around
        let la = p.diagnostics.iter().find(|d| d.line == 25).unwrap();
        assert!(la.help.as_deref().unwrap().contains("look-around"));
        let unknown = p.diagnostics.iter().find(|d| d.code == Code::E002).unwrap();
        assert_eq!(unknown.column, 1);
        assert!(unknown.message.contains("colour"));
    }

    #[test]
    fn duplicate_ids_and_syntax_errors() {
        let dup = GOOD.replace("demo.cron-nobody", "demo.nobody-crontab");
        let p = parse_source("d.toml", &dup);
        assert!(p.diagnostics.iter().any(|d| d.code == Code::E007));
        let p = parse_source("s.toml", "[pack\nid = 1");
        assert_eq!(p.diagnostics[0].code, Code::E001);
        assert_eq!(p.diagnostics[0].line, 1);
    }

    #[test]
    fn missing_fields_and_empty_conditions() {
        let src =
            "[pack]\nid = \"p\"\ntitle = \"t\"\ndescription = \"d\"\n[[rule]]\nid = \"p.x\"\n";
        let p = parse_source("m.toml", src);
        let msgs: Vec<&str> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(msgs.iter().any(|m| m.contains("`title`")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("`severity`")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("no conditions")), "{msgs:?}");
    }

    #[test]
    fn times_and_modes() {
        assert!(ModeCond::Any(0o6000).holds(0o4755));
        assert!(!ModeCond::Any(0o6000).holds(0o755));
        assert!(ModeCond::Exact(0o644).holds(0o100644));
        assert!(ModeCond::All(0o4001).holds(0o4755));
        assert!(ModeCond::None(0o022).holds(0o644 & !0o022));
    }
}
