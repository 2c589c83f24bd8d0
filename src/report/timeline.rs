//! `--format timeline`: one chronology (CSV) of what was logged and when flagged files changed.
//!
//! Columns `time,source,rule,severity,path,excerpt`. A finding from a log gives a row at the
//! time its line was logged (and one for the last line when identical lines were collapsed); a
//! flagged file gives a row at its modification time (and birth time, where known). Rows are
//! sorted by time, then path and rule. Records are written like `csv` (escaped, formula-guarded,
//! CRLF line ends). Times with an inferred year carry a `~` suffix in the time column.

use super::csv::write_record;
use super::sanitize::{escape_bytes, escape_str};
use crate::model::{Bytes, Report, Severity, Timestamp};
use std::collections::HashMap;
use std::io::{self, Write};

struct Row {
    time: Timestamp,
    /// The year of `time` was inferred (written with a `~`).
    inferred: bool,
    source: String,
    rule: String,
    severity: String,
    path: String,
    excerpt: String,
}

/// Writes the timeline CSV.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let source_of: HashMap<&[u8], &str> = report
        .coverage
        .sources
        .iter()
        .flat_map(|s| {
            s.files
                .iter()
                .map(move |f| (f.path.as_bytes(), s.id.as_str()))
        })
        .collect();
    let mut rows = Vec::new();
    for f in &report.findings {
        let Some(t) = f.time else { continue };
        let source = source_of.get(f.path.as_bytes()).copied().unwrap_or("log");
        let mut push = |time: Timestamp, excerpt: Option<&Bytes>| {
            rows.push(Row {
                time,
                inferred: f.time_inferred,
                source: source.to_owned(),
                rule: f.rule.clone(),
                severity: f.severity.as_str().to_owned(),
                path: escape_bytes(f.path.as_bytes()),
                excerpt: excerpt.map_or(String::new(), |e| escape_bytes(&e.0)),
            });
        };
        push(t, f.excerpt.as_ref());
        if let Some(l) = f.last_time {
            push(l, f.last_excerpt.as_ref());
        }
    }
    for file in &report.flagged_files {
        let worst = report
            .findings
            .iter()
            .filter(|f| f.path == file.path)
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info);
        let mut push = |time: Timestamp, what: &str| {
            rows.push(Row {
                time,
                inferred: false,
                source: what.to_owned(),
                rule: file.rules.join(" "),
                severity: worst.as_str().to_owned(),
                path: escape_bytes(file.path.as_bytes()),
                excerpt: String::new(),
            });
        };
        push(file.mtime, "file modified");
        if let Some(b) = file.btime {
            push(b, "file created");
        }
    }
    // Oldest first; at one time, exact times before inferred ones.
    rows.sort_by(|a, b| {
        (a.time, a.inferred, &a.path, &a.rule, &a.source)
            .cmp(&(b.time, b.inferred, &b.path, &b.rule, &b.source))
    });
    write_record(
        out,
        &["time", "source", "rule", "severity", "path", "excerpt"],
    )?;
    for r in rows {
        let mark = if r.inferred { "~" } else { "" };
        let cells = [
            format!("{}{mark}", r.time),
            escape_str(&r.source),
            r.rule,
            r.severity,
            r.path,
            r.excerpt,
        ];
        write_record(out, &cells)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample_report;

    #[test]
    fn rows_are_chronological_and_escaped() {
        let mut out = Vec::new();
        render(&sample_report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "time,source,rule,severity,path,excerpt");
        let times: Vec<&str> = lines[1..]
            .iter()
            .map(|l| l.split(',').next().unwrap())
            .collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("2020-01-11T23:41:07Z~,")),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'));
    }
}
