//! The JSON Lines report, for log pipelines: one compact JSON object per line, findings and
//! gaps streamed first, a summary last.
//!
//! Every line is a complete JSON value with no raw newline inside it; this renderer must never
//! write a line that does not parse on its own, nor anything after the summary line.

use super::with_exact_paths;
use crate::model::{
    Coverage, FlaggedFile, Posture, Report, RuleHits, SourceCoverage, TargetInfo, ToolInfo,
    Verdict, WindowCheck,
};
use serde::Serialize;
use std::io::{self, Write};

/// One line: `{"type": ..., "data": ...}`.
#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: &'a T,
}

/// The last line's data: the report without its findings, and coverage without its gaps
/// (both were streamed above it).
#[derive(Serialize)]
struct Summary<'a> {
    schema: &'a str,
    tool: &'a ToolInfo,
    target: &'a TargetInfo,
    verdict: Verdict,
    reasons: &'a [String],
    rules_sha256: &'a str,
    coverage: CoverageSummary<'a>,
    posture: &'a Posture,
    windows: &'a [WindowCheck],
    flagged_files: &'a [FlaggedFile],
    rules: &'a [RuleHits],
}

/// [`Coverage`] without `gaps`. Field for field the same as the model (a test checks it).
#[derive(Serialize)]
struct CoverageSummary<'a> {
    looks_like_appliance: bool,
    entries_seen: u64,
    files_seen: u64,
    files_read: u64,
    bytes_read: u64,
    dirs_seen: u64,
    symlinks_seen: u64,
    special_files_skipped: u64,
    sources: &'a [SourceCoverage],
    notes: &'a [String],
}

impl<'a> CoverageSummary<'a> {
    fn new(c: &'a Coverage) -> CoverageSummary<'a> {
        CoverageSummary {
            looks_like_appliance: c.looks_like_appliance,
            entries_seen: c.entries_seen,
            files_seen: c.files_seen,
            files_read: c.files_read,
            notes: &c.notes,
            bytes_read: c.bytes_read,
            dirs_seen: c.dirs_seen,
            symlinks_seen: c.symlinks_seen,
            special_files_skipped: c.special_files_skipped,
            sources: &c.sources,
        }
    }
}

/// Writes one line per finding, one per gap, then the summary line, each compact JSON.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let report = with_exact_paths(report);
    let r = report.as_ref();
    for f in &r.findings {
        line(out, "finding", f)?;
    }
    for g in &r.coverage.gaps {
        line(out, "gap", g)?;
    }
    let summary = Summary {
        schema: &r.schema,
        tool: &r.tool,
        target: &r.target,
        verdict: r.verdict,
        reasons: &r.reasons,
        rules_sha256: &r.rules_sha256,
        coverage: CoverageSummary::new(&r.coverage),
        posture: &r.posture,
        windows: &r.windows,
        flagged_files: &r.flagged_files,
        rules: &r.rules,
    };
    line(out, "summary", &summary)
}

fn line<T: Serialize>(out: &mut dyn Write, kind: &'static str, data: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &Line { kind, data })?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::REPORT_SCHEMA;
    use crate::report::{Format, raw_controls, render_string, sample_report};
    use serde_json::Value;

    fn lines() -> (String, Vec<Value>) {
        let s = render_string(&sample_report(), Format::Jsonl, false);
        let values = s
            .lines()
            .map(|l| match serde_json::from_str::<Value>(l) {
                Ok(v) => v,
                Err(e) => panic!("line does not parse: {e}: {l}"),
            })
            .collect();
        (s, values)
    }

    #[test]
    fn every_line_parses_and_the_last_is_the_summary() {
        let (s, v) = lines();
        assert!(s.ends_with("}\n"));
        assert_eq!(raw_controls(&s, &['\n']), Vec::<char>::new());
        assert_eq!(v.len(), 4 + 3 + 1);
        let types: Vec<&str> = v.iter().filter_map(|l| l["type"].as_str()).collect();
        assert_eq!(
            types,
            [
                "finding", "finding", "finding", "finding", "gap", "gap", "gap", "summary"
            ]
        );
        let summary = &v[7]["data"];
        assert_eq!(summary["schema"], REPORT_SCHEMA);
        assert_eq!(summary["verdict"], "compromised");
        assert_eq!(summary["rules"].as_array().map(Vec::len), Some(6));
        assert!(summary["coverage"].get("gaps").is_none());
        assert!(summary.get("findings").is_none());
        assert_eq!(summary["coverage"]["files_seen"], 1000);
    }

    #[test]
    fn lines_carry_the_model_serialisation() {
        let (_, v) = lines();
        let r = sample_report();
        let expected = serde_json::to_value(&r.findings[2]).ok();
        assert_eq!(Some(&v[2]["data"]), expected.as_ref());
        assert_eq!(v[4]["data"]["cause"], "special_file");
        assert!(v[4]["data"]["path_base64"].is_string());
        assert_eq!(v[6]["data"]["blocks_clean"], true);
    }

    #[test]
    fn coverage_summary_is_coverage_without_gaps() {
        let r = sample_report();
        let mut full = serde_json::to_value(&r.coverage).unwrap_or_default();
        if let Some(m) = full.as_object_mut() {
            m.remove("gaps");
        }
        let summary = serde_json::to_value(CoverageSummary::new(&r.coverage)).unwrap_or_default();
        assert!(full.is_object());
        assert_eq!(
            summary, full,
            "CoverageSummary no longer mirrors model::Coverage"
        );
    }
}
