//! Reading a family's data files (profile and CVE table) with spans, the way rule files and
//! the stock baseline are read: every problem is a located [`Diagnostic`], all of them are
//! reported at once, and nothing is built while one exists.

use crate::rules::load::{Ctx, Tbl, compile_regex, regex_error_text};
use crate::rules::{Code, Diagnostic};
use crate::util::glob;
use crate::util::version::{Build, parse_build};
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// Parses `src` as TOML, reporting every syntax error (E001). `None` when there was one.
pub fn document<'i>(ctx: &mut Ctx<'_>, src: &'i str) -> Option<DeTable<'i>> {
    let (doc, errors) = DeTable::parse_recoverable(src);
    for e in &errors {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_owned();
        ctx.err(Code::E001, span, format!("TOML syntax: {msg}"), None);
    }
    errors.is_empty().then(|| doc.into_inner())
}

/// A new checking context for `file`.
pub fn context<'a>(file: &'a str, src: &'a str) -> Ctx<'a> {
    Ctx {
        file,
        src,
        diags: Vec::new(),
    }
}

/// The diagnostics of `ctx`, or `value` when there are none.
pub fn finish<T>(ctx: Ctx<'_>, value: T) -> Result<T, Vec<Diagnostic>> {
    if ctx.diags.is_empty() {
        Ok(value)
    } else {
        Err(ctx.diags)
    }
}

/// True when `key` is present; reports it missing (E004) otherwise.
pub fn present(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str, what: &str) -> bool {
    let found = tbl.get(key).is_some();
    if !found {
        ctx.err(
            Code::E004,
            tbl.span(),
            format!("{what} is missing required field `{key}`"),
            None,
        );
    }
    found
}

/// A required string (empty when missing or of the wrong type, both reported).
pub fn text(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str, what: &str) -> String {
    tbl.req_str(ctx, key, what).map(|s| s.0).unwrap_or_default()
}

/// An optional string (empty when absent).
pub fn note(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str) -> String {
    tbl.str(ctx, key).map(|s| s.0).unwrap_or_default()
}

/// A required table of the keys `keys`.
pub fn table<'t, 'i>(
    ctx: &mut Ctx<'_>,
    tbl: &Tbl<'t, 'i>,
    key: &str,
    keys: &[&str],
    what: &str,
) -> Option<Tbl<'t, 'i>> {
    if !present(ctx, tbl, key, what) {
        return None;
    }
    let (t, span) = tbl.table(ctx, key)?;
    Some(Tbl::new(ctx, t, span, keys, &format!("[{key}]")))
}

/// A required `true` or `false`.
pub fn flag(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str, what: &str) -> bool {
    present(ctx, tbl, key, what) && crate::rules::load::bool_field(ctx, tbl, key).unwrap_or(false)
}

/// A required non-negative integer.
pub fn count(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str, what: &str) -> u64 {
    if !present(ctx, tbl, key, what) {
        return 0;
    }
    tbl.u64(ctx, key).map_or(0, |n| n.0)
}

/// A required array of integers that fit in 32 bits.
pub fn numbers(ctx: &mut Ctx<'_>, tbl: &Tbl<'_, '_>, key: &str, what: &str) -> Vec<u32> {
    if !present(ctx, tbl, key, what) {
        return Vec::new();
    }
    let Some(arr) = tbl.array(ctx, key, "an array of integers") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in arr.iter() {
        let n = match item.get_ref() {
            DeValue::Integer(i) => u32::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        match n {
            Some(n) => out.push(n),
            None => Tbl::type_err(ctx, key, item, "an array of integers from 0 to 4294967295"),
        }
    }
    out
}

/// Globs, each compiled (E006).
pub fn globs(ctx: &mut Ctx<'_>, list: &[(String, Range<usize>)]) {
    for (g, sp) in list {
        if let Err(e) = glob::compile(g) {
            ctx.err(
                Code::E006,
                sp.clone(),
                format!("invalid glob `{g}`: {e}"),
                Some("globs support `*`, `?`, `**`, `[a-z]` and `{a,b}`".into()),
            );
        }
    }
}

/// Regexes, each compiled in the rules' dialect (E005).
pub fn regexes(ctx: &mut Ctx<'_>, list: &[(String, Range<usize>)]) {
    for (r, sp) in list {
        if let Err(e) = compile_regex(r) {
            ctx.err(
                Code::E005,
                sp.clone(),
                format!("invalid regex: {}", regex_error_text(&e)),
                Some("patterns use Rust regex syntax on bytes (https://docs.rs/regex)".into()),
            );
        }
    }
}

/// A branch or build number such as `13.1` or `49.13` (E025).
pub fn build(ctx: &mut Ctx<'_>, what: &str, s: &str, span: Range<usize>) -> Option<Build> {
    let b = parse_build(s);
    let example = if what == "build" { "49.13" } else { "13.1" };
    if b.is_none() {
        ctx.err(
            Code::E025,
            span,
            format!("`{s}` is not a {what}"),
            Some(format!("write the {what} as two numbers: \"{example}\"")),
        );
    }
    b
}

/// True when `s` is a `YYYY-MM-DD` date; reports it otherwise (E019).
pub fn date(ctx: &mut Ctx<'_>, key: &str, s: &str, span: Range<usize>) -> bool {
    let b = s.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !ok {
        ctx.err(
            Code::E019,
            span,
            format!("`{key}` {s} is not YYYY-MM-DD"),
            Some("write the date as \"2023-07-18\"".into()),
        );
    }
    ok
}

/// Reports `s` when it is not one of `allowed` (E009).
pub fn one_of(ctx: &mut Ctx<'_>, key: &str, s: &str, span: Range<usize>, allowed: &[&str]) {
    if !allowed.contains(&s) {
        ctx.err(
            Code::E009,
            span,
            format!("unknown {key} `{s}`"),
            Some(format!("{key} is one of: {}", allowed.join(", "))),
        );
    }
}
