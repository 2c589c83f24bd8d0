//! Report renderers: turn a finished [`Report`] into text for people, or into JSON, JSON Lines,
//! SARIF or CSV for machines, or into one HTML page for the people who decide.
//!
//! Renderers only show what is in the report, in the report's order. They must never re-sort
//! or add to the findings, write timestamps or anything else that changes from run to run, or
//! let attacker-chosen bytes reach a terminal or a spreadsheet unescaped. Only the text view
//! may show less: it groups findings of one shape into one entry and, with `--min-severity`,
//! counts the findings it leaves out instead of listing them; the machine formats keep all.

pub mod bodyfile;
pub mod csv;
mod group;
pub mod html;
pub mod json;
pub mod jsonl;
#[cfg(test)]
mod sample;
pub mod sanitize;
pub mod sarif;
pub mod text;
pub mod timeline;

use crate::model::{EvPath, Report};
use clap::ValueEnum;
use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

#[cfg(test)]
pub(crate) use sample::sample_report;

/// An output format for [`render`]. The command line takes the same names (`--format`); the
/// variants' comments are its help.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub(crate) enum Format {
    /// Report for people: verdict and reasons first.
    Text,
    /// One JSON document (schema sporen.report/1).
    Json,
    /// One JSON object per line: findings, gaps, then a summary.
    Jsonl,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
    /// One row per finding.
    Csv,
    /// CSV chronology: logged findings and flagged files' times, oldest first.
    Timeline,
    /// The Sleuth Kit 3.x body file of flagged files (for mactime / plaso).
    Bodyfile,
    /// One self-contained page for people who decide: verdict, posture, the evidence in time.
    Html,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_possible_value() {
            Some(v) => f.write_str(v.get_name()),
            None => Ok(()),
        }
    }
}

/// Writes `report` to `out` in `format`.
///
/// `color` only affects [`Format::Text`]: when true the verdict line and severities get ANSI
/// colours; when false the output holds no escape sequence at all. Output is buffered here and
/// flushed before returning; the only errors are those of `out`.
pub(crate) fn render(
    report: &Report,
    format: Format,
    out: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    match format {
        Format::Text => text::render(report, &mut w, color)?,
        Format::Json => json::render(report, &mut w)?,
        Format::Jsonl => jsonl::render(report, &mut w)?,
        Format::Sarif => sarif::render(report, &mut w)?,
        Format::Timeline => timeline::render(report, &mut w)?,
        Format::Bodyfile => bodyfile::render(report, &mut w)?,
        Format::Csv => csv::render(report, &mut w)?,
        Format::Html => html::render(report, &mut w)?,
    }
    w.flush()
}

/// Writes `report` to `out` in `format`; the text report as `view` asks (patterns, a severity
/// floor), every other format whole, with only `view.color` looked at.
pub(crate) fn render_view(
    report: &Report,
    format: Format,
    out: &mut dyn Write,
    view: &text::TextView,
) -> io::Result<()> {
    if format != Format::Text {
        return render(report, format, out, view.color);
    }
    let mut w = io::BufWriter::new(out);
    text::render_view(report, &mut w, view)?;
    w.flush()
}

/// The report as the machine formats show it: every finding and gap whose path is not valid
/// UTF-8 carries the exact path bytes in `path_base64` (the model asks renderers to add them).
/// Paths that already have one are left as they are; the report is only cloned when something
/// is missing.
pub(crate) fn with_exact_paths(report: &Report) -> Cow<'_, Report> {
    let missing = |path: &EvPath, b64: &Option<String>| b64.is_none() && !path.is_utf8();
    let needs = report
        .findings
        .iter()
        .any(|f| missing(&f.path, &f.path_base64))
        || report
            .coverage
            .gaps
            .iter()
            .any(|g| missing(&g.path, &g.path_base64));
    if !needs {
        return Cow::Borrowed(report);
    }
    let mut owned = report.clone();
    for f in &mut owned.findings {
        if missing(&f.path, &f.path_base64) {
            f.path_base64 = Some(base64_of(&f.path));
        }
    }
    for g in &mut owned.coverage.gaps {
        if missing(&g.path, &g.path_base64) {
            g.path_base64 = Some(base64_of(&g.path));
        }
    }
    Cow::Owned(owned)
}

fn base64_of(path: &EvPath) -> String {
    crate::model::base64(path.as_bytes())
}

/// Renders the sample (or any) report to a string, for the tests of every renderer.
#[cfg(test)]
pub(crate) fn render_string(report: &Report, format: Format, color: bool) -> String {
    let mut buf = Vec::new();
    let res = render(report, format, &mut buf, color);
    assert!(res.is_ok(), "render failed: {res:?}");
    match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => panic!("{format} output is not UTF-8: {e}"),
    }
}

/// The control characters in `s` other than those in `allowed`, for "no raw control byte"
/// assertions.
#[cfg(test)]
pub(crate) fn raw_controls(s: &str, allowed: &[char]) -> Vec<char> {
    s.chars()
        .filter(|c| c.is_control() && !allowed.contains(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_paths_are_filled_only_where_missing() {
        let r = sample_report();
        let filled = with_exact_paths(&r);
        assert!(matches!(filled, Cow::Owned(_)));
        // The finding already had its base64; it is unchanged.
        assert_eq!(filled.findings[0].path_base64, r.findings[0].path_base64);
        // UTF-8 paths get none.
        assert_eq!(filled.findings[1].path_base64, None);
        // The non-UTF-8 gap path gets its exact bytes.
        assert_eq!(
            filled.coverage.gaps[0].path_base64.as_deref(),
            Some(base64_of(&r.coverage.gaps[0].path).as_str())
        );
        assert_eq!(filled.coverage.gaps[1].path_base64, None);

        let again = with_exact_paths(&filled);
        assert!(matches!(again, Cow::Borrowed(_)));
    }

    #[test]
    fn every_format_is_deterministic_and_follows_report_order() {
        let r = sample_report();
        for &f in Format::value_variants() {
            assert_eq!(render_string(&r, f, false), render_string(&r, f, false));
        }
        // Reversing the findings in the report reverses them in the output: no re-sorting.
        let mut rev = r.clone();
        rev.findings.reverse();
        let out = render_string(&rev, Format::Jsonl, false);
        let first = out.lines().next().unwrap_or_default();
        assert!(first.contains("appliance.version"), "{first}");
    }

    #[test]
    fn color_only_changes_text() {
        let r = sample_report();
        for &f in Format::value_variants() {
            let plain = render_string(&r, f, false);
            let colored = render_string(&r, f, true);
            if f == Format::Text {
                assert_ne!(plain, colored);
                assert!(colored.contains('\x1b'));
            } else {
                assert_eq!(plain, colored);
            }
            assert!(!plain.contains('\x1b'), "{f} without colour holds ESC");
        }
    }
}
