//! Timeline rules (`[rule.timeline] check = "hole"`): a log that has a hole the other logs do
//! not share. For each log a rule names, its silences (inside a file, between two consecutive
//! rotations, after its last line), with downtime taken out, are judged against the log's own
//! usual silence and the rule's thresholds; one that other logs wrote lines in is a finding.
//! Silences where rotations are missing are left to coverage: deleting whole rotations is also
//! what administrators do to free space. So is a log whose files are not all there and read
//! (a current log linked to `/dev/null`, a damaged rotation): that is missing evidence.

use super::sources::{Ctx, join, threshold};
use super::track::minus;
use super::{Family, LogFile, Stretch, duration, minute};
use crate::model::{Bytes, Finding, TimeGapKind, Timestamp};
use crate::rules::{Matcher, Rule, RuleSet, TimelineMatch};
use crate::scan::{Mark, ScanOutput};

/// True when `older` and `newer` are consecutive rotations (the current file follows `.0`).
fn consecutive(older: &LogFile<'_>, newer: &LogFile<'_>) -> bool {
    match (older.rotation, newer.rotation) {
        (Some(o), Some(n)) => o == n + 1 || o == n,
        (Some(o), None) => o == 0,
        (None, _) => true,
    }
}

/// The findings of every timeline rule.
pub(super) fn findings(
    rules: &RuleSet,
    out: &ScanOutput,
    fams: &[Family<'_, '_>],
    ctx: &Ctx<'_>,
) -> Vec<Finding> {
    let mut found = Vec::new();
    for (i, rule) in rules.rules().iter().enumerate() {
        let Matcher::Timeline(t) = &rule.matcher else {
            continue;
        };
        for fam in fams {
            let applies = fam
                .files
                .iter()
                .any(|f| rules.line_rules_for(f.read.path.relative()).contains(&i));
            if applies && complete(fam, out) {
                holes_of(rule, t, fam, fams, out, ctx, &mut found);
            }
        }
    }
    found
}

/// True when every file of the log is in the evidence as a regular file and was read without a
/// gap: a silence of a log whose current file is a link to `/dev/null`, or whose rotation is
/// damaged, is missing evidence (a coverage gap says so), not a log edited.
fn complete(fam: &Family<'_, '_>, out: &ScanOutput) -> bool {
    out.listing.entries.iter().all(|e| {
        let rel = e.path.relative();
        crate::util::glob::log_family(rel) != fam.name.as_slice()
            || (e.kind == crate::input::EntryKind::File
                && !out.gaps.iter().any(|g| g.path == e.path))
    })
}

/// The holes of one log that other logs do not share.
fn holes_of(
    rule: &Rule,
    t: &TimelineMatch,
    fam: &Family<'_, '_>,
    fams: &[Family<'_, '_>],
    out: &ScanOutput,
    ctx: &Ctx<'_>,
    found: &mut Vec<Finding>,
) {
    let stretches = super::stretches(&fam.files, &fam.track, ctx.end, ctx.index);
    let (usual, limit) = threshold(&fam.track, &stretches, ctx, t.min_hours, t.usual_factor);
    for s in &stretches {
        if let (Some((o, _)), Some((n, _))) = (s.before, s.after)
            && !consecutive(o, n)
        {
            continue;
        }
        for (a, b) in minus(&[(s.from, s.to)], ctx.off) {
            if b - a < limit {
                continue;
            }
            let witnesses: Vec<String> = fams
                .iter()
                .filter(|w| w.name != fam.name && w.track.active_within(a, b))
                .map(|w| format!("/{}", String::from_utf8_lossy(&w.name)))
                .collect();
            if (witnesses.len() as u64) < t.others {
                continue;
            }
            let why = reason(s, (a, b), usual, &witnesses, ctx.end);
            if let Some(f) = finding(rule, s, a, why, out) {
                found.push(f);
            }
        }
    }
}

/// "no line from ... to ...", in words.
fn reason(
    s: &Stretch<'_>,
    (a, b): (i64, i64),
    usual: i64,
    witnesses: &[String],
    end: i64,
) -> String {
    let at = |m: Option<(&LogFile<'_>, &Mark)>| {
        m.map_or(String::new(), |(f, m)| {
            format!(" (line {} of {})", m.line, f.read.path.to_lossless_string())
        })
    };
    let what = if s.kind == TimeGapKind::AfterLastLine && b == end {
        format!(
            "the log's last line is from {}{}, while the other logs go on until {}: {} without a line",
            minute(a),
            at(s.before),
            minute(b),
            duration(b - a)
        )
    } else {
        let off = if a != s.from || b != s.to {
            " (with the time the appliance was off taken out)"
        } else {
            ""
        };
        format!(
            "no line from {}{} to {}{}: {}{off}",
            minute(a),
            at(s.before.filter(|_| a == s.from)),
            minute(b),
            at(s.after.filter(|_| b == s.to)),
            duration(b - a)
        )
    };
    format!(
        "{what}; this log usually goes at most {} without a line (silences that long fill half of its time); other logs wrote lines then: {}",
        duration(usual),
        join(witnesses)
    )
}

/// The finding, on the file that holds the last line before the hole.
fn finding(
    rule: &Rule,
    s: &Stretch<'_>,
    a: i64,
    reason: String,
    out: &ScanOutput,
) -> Option<Finding> {
    let (file, mark) = s.before.or(s.after)?;
    let path = file.read.path.clone();
    let entry = out
        .listing
        .entries
        .binary_search_by(|e| e.path.cmp(&path))
        .ok()
        .map(|i| &out.listing.entries[i]);
    let here = s.before.filter(|_| a == s.from).map(|(_, m)| m);
    Some(Finding {
        rule: rule.id.clone(),
        pack: rule.pack.clone(),
        severity: rule.severity,
        title: rule.title.clone(),
        path_base64: path.base64_if_inexact(),
        path,
        line: Some(here.unwrap_or(mark).line),
        excerpt: Some(Bytes(here.unwrap_or(mark).text.0.clone())).filter(|b| !b.0.is_empty()),
        count: 1,
        last_line: None,
        last_excerpt: None,
        reason,
        sha256: file.read.sha256.clone(),
        mtime: entry.map(|e| Timestamp::from_unix(e.mtime)),
        time: Some(Timestamp::from_unix(a)),
        last_time: None,
        time_inferred: file.read.year_inferred_from.is_some(),
    })
}
