//! `sporen baseline [BUILD]`: the entries of the stock baseline that apply to a firmware build,
//! as text for people or JSON for tools, each with its source and how sure it is. Reads no
//! evidence and never changes the baseline.

use crate::rules::baseline::{Baseline, Entry, Family, Firmware, Kind};
use serde::Serialize;
use std::io::{self, Write};

/// What the listing covers.
#[derive(Serialize)]
struct Listing<'a> {
    schema: &'static str,
    /// The build asked for, or `null` for every family.
    build: Option<String>,
    /// The family it belongs to, when the baseline describes it.
    family: Option<&'a Family>,
    /// Why every family's entries are listed, when they are.
    note: Option<String>,
    entries: Vec<&'a Entry>,
}

/// Parses BUILD (`13.1` or `13.1-49.15`); `Err` with a message for anything else.
pub(crate) fn parse_build_arg(build: Option<&str>) -> Result<Option<Firmware>, String> {
    match build {
        None => Ok(None),
        Some(b) => Firmware::parse(b)
            .map(Some)
            .ok_or_else(|| format!("`{b}` is not a firmware version (write 13.1 or 13.1-49.15)")),
    }
}

fn listing<'a>(b: &'a Baseline, fw: Option<&Firmware>) -> Listing<'a> {
    let (effective, note) = b.effective(fw);
    let family = effective.branch.and_then(|br| b.family(br));
    let entries = [Kind::Setid, Kind::Nobody, Kind::Stock, Kind::Expected]
        .into_iter()
        .flat_map(|k| b.applicable(k, &effective))
        .collect();
    Listing {
        schema: crate::rules::baseline::SCHEMA,
        build: fw.map(Firmware::label),
        family,
        note: fw.and(note).or_else(|| {
            fw.is_none()
                .then(|| "no build given: every family's entries are listed".to_owned())
        }),
        entries,
    }
}

/// Writes the entries of `b` that apply to `fw` (every entry without one).
pub fn write(
    out: &mut dyn Write,
    b: &Baseline,
    fw: Option<&Firmware>,
    json: bool,
) -> io::Result<()> {
    let l = listing(b, fw);
    if json {
        serde_json::to_writer_pretty(&mut *out, &l)?;
        return writeln!(out);
    }
    match (&l.build, l.family) {
        (Some(build), Some(f)) => writeln!(
            out,
            "Stock baseline for {build}: {} ({}, Python {}, {} passwd; {})",
            f.title, f.os, f.python, f.passwd, b.file
        )?,
        _ => writeln!(out, "Stock baseline, every family ({})", b.file)?,
    }
    if let Some(n) = &l.note {
        writeln!(out, "note: {n}")?;
    }
    for kind in [Kind::Setid, Kind::Nobody, Kind::Stock, Kind::Expected] {
        let of_kind: Vec<&&Entry> = l.entries.iter().filter(|e| e.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        writeln!(out, "\n{} ({})", heading(kind), of_kind.len())?;
        for e in of_kind {
            write_entry(out, e, &b.file)?;
        }
    }
    writeln!(
        out,
        "\n{} entries; sources are the research files in the project and public checkers' allowlists",
        l.entries.len()
    )
}

fn heading(kind: Kind) -> &'static str {
    match kind {
        Kind::Setid => "SET-ID FILES THE FIRMWARE SHIPS",
        Kind::Nobody => "FILES WRITTEN AS NOBODY BY DESIGN",
        Kind::Stock => "STOCK FILES",
        Kind::Expected => "PLACES WHERE PEOPLE'S OWN FILES ARE EXPECTED",
    }
}

fn write_entry(out: &mut dyn Write, e: &Entry, file: &str) -> io::Result<()> {
    let mut facts = Vec::new();
    if !e.mode.is_empty() {
        facts.push(format!("mode {}", e.mode.join("|")));
    }
    if e.kind != Kind::Nobody
        && let Some(u) = e.uid
    {
        facts.push(format!("uid {u}"));
    }
    if !e.gid.is_empty() {
        let g: Vec<String> = e.gid.iter().map(u32::to_string).collect();
        facts.push(format!("gid {}", g.join("|")));
    }
    if let Some(t) = e.file_type {
        facts.push(t.to_owned());
    }
    if !e.families.is_empty() {
        facts.push(format!("families {}", e.families.join(", ")));
    }
    if let Some(f) = &e.from {
        facts.push(format!("from {f}"));
    }
    writeln!(out, "  /{}  [{}]", e.path, e.status)?;
    if !facts.is_empty() {
        writeln!(out, "      {}", facts.join("; "))?;
    }
    if let Some(w) = &e.what {
        writeln!(out, "      {w}")?;
    }
    writeln!(out, "      source: {} ({file}:{})", e.source, e.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_lists_its_family_only_and_no_build_lists_every_family() {
        let b = Baseline::from_text(crate::appliance::netscaler::BASELINE).unwrap();
        let fw = parse_build_arg(Some("10.5-70.12")).unwrap();
        let mut text = Vec::new();
        write(&mut text, &b, fw.as_ref(), false).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("Stock baseline for 10.5-70.12: NetScaler 10.5"));
        assert!(text.contains("opieinfo") && !text.contains("/var/sbin/"));
        let mut all = Vec::new();
        write(&mut all, &b, None, true).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&all).unwrap();
        assert!(v["build"].is_null());
        let paths: Vec<&str> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(paths.iter().any(|p| p.starts_with("var/sbin/")));
        assert!(parse_build_arg(Some("thirteen")).is_err());
        let unknown = parse_build_arg(Some("11.0-70.16")).unwrap();
        let mut out = Vec::new();
        write(&mut out, &b, unknown.as_ref(), false).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("not a family the baseline describes")
        );
    }
}
