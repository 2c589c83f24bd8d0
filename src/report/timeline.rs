//! `--format timeline`: one chronology (CSV) of what was logged and when flagged files changed,
//! in the columns Timesketch imports.
//!
//! Columns `datetime,timestamp,timestamp_desc,message,year_inferred,source,rule,severity,path,
//! line,excerpt`: `datetime` is RFC 3339 UTC and nothing else, `timestamp` the same moment in
//! microseconds since the Unix epoch, `timestamp_desc` what happened then (`Logged`, `File
//! modified`, `File created`), `message` one readable line; `year_inferred` is `true` when the
//! log line had no year and sporen inferred it. A finding from a log gives a row at the time its
//! line was logged (and one for the last line when identical lines were collapsed); a flagged
//! file gives a row at its modification time (and birth time, where known). Rows are sorted by
//! time, then path and rule. Records are written like `csv` (RFC 4180 quoting, formula-guarded,
//! CRLF line ends); attacker bytes are escaped.

use super::csv::write_record;
use super::sanitize::{escape_bytes, escape_str};
use crate::model::{Bytes, Finding, FlaggedFile, Report, Severity, Timestamp};
use std::collections::HashMap;
use std::io::{self, Write};

/// The header: Timesketch's three required columns and `timestamp`, then sporen's own.
pub(crate) const COLUMNS: [&str; 11] = [
    "datetime",
    "timestamp",
    "timestamp_desc",
    "message",
    "year_inferred",
    "source",
    "rule",
    "severity",
    "path",
    "line",
    "excerpt",
];

struct Row {
    time: Timestamp,
    /// The year of `time` was inferred.
    inferred: bool,
    desc: &'static str,
    message: String,
    source: String,
    rule: String,
    severity: Severity,
    path: String,
    line: Option<u64>,
    excerpt: String,
}

impl Row {
    fn cells(&self) -> [String; 11] {
        let (datetime, micros) = moment(self.time);
        [
            datetime,
            micros,
            self.desc.to_owned(),
            self.message.clone(),
            self.inferred.to_string(),
            self.source.clone(),
            self.rule.clone(),
            self.severity.as_str().to_owned(),
            self.path.clone(),
            self.line.map_or(String::new(), |l| l.to_string()),
            self.excerpt.clone(),
        ]
    }
}

/// RFC 3339 and microseconds since the epoch; both empty for a moment no calendar holds (a
/// hostile file time), which is then still listed, never dropped.
fn moment(t: Timestamp) -> (String, String) {
    match chrono::DateTime::from_timestamp(t.unix(), 0) {
        Some(_) => (
            t.to_string(),
            t.unix()
                .checked_mul(1_000_000)
                .map_or(String::new(), |m| m.to_string()),
        ),
        None => (String::new(), String::new()),
    }
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
        let source = source_of.get(f.path.as_bytes()).copied().unwrap_or("log");
        logged_rows(f, source, &mut rows);
    }
    for file in &report.flagged_files {
        file_rows(report, file, &mut rows);
    }
    // Oldest first; at one time, exact times before inferred ones.
    rows.sort_by(|a, b| {
        (a.time, a.inferred, &a.path, &a.rule, &a.source, a.line)
            .cmp(&(b.time, b.inferred, &b.path, &b.rule, &b.source, b.line))
    });
    write_record(out, &COLUMNS)?;
    for r in rows {
        write_record(out, &r.cells())?;
    }
    Ok(())
}

/// A logged finding's rows: its first line, and its last when identical lines were collapsed.
fn logged_rows(f: &Finding, source: &str, rows: &mut Vec<Row>) {
    let Some(t) = f.time else { return };
    let path = escape_bytes(f.path.as_bytes());
    let mut push = |time: Timestamp, line: Option<u64>, excerpt: Option<&Bytes>, desc| {
        let at = line.map_or(String::new(), |l| format!(":{l}"));
        rows.push(Row {
            time,
            inferred: f.time_inferred,
            desc,
            message: format!(
                "{} ({}): {} in {path}{at}",
                escape_str(&f.rule),
                f.severity,
                escape_str(&f.title)
            ),
            source: escape_str(source),
            rule: escape_str(&f.rule),
            severity: f.severity,
            path: path.clone(),
            line,
            excerpt: excerpt.map_or(String::new(), |e| escape_bytes(&e.0)),
        });
    };
    push(t, f.line, f.excerpt.as_ref(), "Logged");
    if let Some(l) = f.last_time {
        let line = f.last_line.or(f.line);
        push(
            l,
            line,
            f.last_excerpt.as_ref(),
            "Logged (last of identical lines)",
        );
    }
}

/// A flagged file's rows: modified, and created where the input holds a birth time.
fn file_rows(report: &Report, file: &FlaggedFile, rows: &mut Vec<Row>) {
    let worst = report
        .findings
        .iter()
        .filter(|f| f.path == file.path)
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Info);
    let path = escape_bytes(file.path.as_bytes());
    let rules = escape_str(&file.rules.join(" "));
    let mut push = |time: Timestamp, desc: &'static str, verb: &str| {
        rows.push(Row {
            time,
            inferred: false,
            desc,
            message: format!("{path} {verb} (flagged by {rules})"),
            source: "file".to_owned(),
            rule: rules.clone(),
            severity: worst,
            path: path.clone(),
            line: None,
            excerpt: String::new(),
        });
    };
    push(file.mtime, "File modified", "modified");
    if let Some(b) = file.btime {
        push(b, "File created", "created");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::csv::tests::parse;
    use crate::report::sample_report;

    fn rows(r: &Report) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        render(r, &mut out).expect("writes to memory");
        parse(&String::from_utf8(out).expect("utf-8"))
    }

    #[test]
    fn rows_are_chronological_rfc3339_and_escaped() {
        let rows = rows(&sample_report());
        assert_eq!(rows[0], COLUMNS);
        let times: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
        let mut sorted = times.clone();
        sorted.sort_unstable();
        assert_eq!(times, sorted);
        for r in &rows[1..] {
            assert_eq!(r.len(), COLUMNS.len(), "{r:?}");
            let t = Timestamp::parse_rfc3339(&r[0]).expect("datetime is RFC 3339");
            assert_eq!(r[0], t.to_string(), "nothing after the time");
            assert_eq!(r[1], (t.unix() * 1_000_000).to_string());
            assert!(["true", "false"].contains(&r[4].as_str()));
            for cell in r {
                assert!(!cell.contains('\u{1b}') && !cell.contains('\n'), "{cell:?}");
            }
        }
        // The critical template line had its year inferred: a column says so, not the time.
        let inferred = rows
            .iter()
            .find(|r| r[0] == "2020-01-11T23:41:07Z" && r[2] == "Logged")
            .expect("the logged template line");
        assert_eq!(inferred[4], "true");
        assert!(inferred[3].starts_with("cve-2019-19781.template-directive (critical): "));
        assert!(rows.iter().any(|r| r[2] == "File modified"));
    }

    #[test]
    fn attacker_text_stays_in_its_cell() {
        let mut r = sample_report();
        r.findings[0].excerpt = Some(Bytes(b"=HYPERLINK(\"x\"),\"a\"\r\nb".to_vec()));
        let rows = rows(&r);
        let row = rows
            .iter()
            .find(|x| x[6] == "cve-2019-19781.template-directive" && x[2] == "Logged")
            .expect("row");
        assert_eq!(row.len(), COLUMNS.len());
        assert_eq!(row[10], "'=HYPERLINK(\"x\"),\"a\"\\r\\nb");
    }

    #[test]
    fn a_time_no_calendar_holds_is_listed_without_a_date() {
        assert_eq!(
            moment(Timestamp::from_unix(i64::MAX)),
            (String::new(), String::new())
        );
        assert_eq!(
            moment(Timestamp::from_unix(1)),
            ("1970-01-01T00:00:01Z".to_owned(), "1000000".to_owned())
        );
    }
}
