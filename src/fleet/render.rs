//! The fleet report in text, JSON, CSV and HTML. Like the scan renderers, these only show what
//! the [`Fleet`] holds, in its order, and escape every string: the reports they come from were
//! written from evidence an attacker shaped, and may have been edited on the way.

use super::{Fleet, Row, Status};
use crate::report::csv::write_record;
use crate::report::html::page::{END, esc, start};
use crate::report::sanitize::escape_text;
use std::fmt::Write as _;
use std::io::{self, Write};

/// An output format of `sporen fleet` (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum FleetFormat {
    /// Table for people: totals, then a block per appliance, worst first.
    Text,
    /// One JSON document (schema sporen.fleet/1).
    Json,
    /// One row per appliance, a column per CVE.
    Csv,
    /// One self-contained page: a table with a link to each appliance's section.
    Html,
}

/// Writes `fleet` to `out` in `format`, buffered and flushed.
pub fn render(fleet: &Fleet, format: FleetFormat, out: &mut dyn Write) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    match format {
        FleetFormat::Text => w.write_all(text(fleet).as_bytes())?,
        FleetFormat::Json => {
            serde_json::to_writer_pretty(&mut w, fleet).map_err(io::Error::other)?;
            w.write_all(b"\n")?;
        }
        FleetFormat::Csv => csv(fleet, &mut w)?,
        FleetFormat::Html => w.write_all(html(fleet).as_bytes())?,
    }
    w.flush()
}

/// `compromised 1, review 0, failed 1, inconclusive 0, clean 2`.
fn totals_line(f: &Fleet) -> String {
    let parts: Vec<String> = Status::DESCENDING
        .iter()
        .map(|&s| format!("{} {}", s.as_str(), f.totals.of(s)))
        .collect();
    parts.join(", ")
}

/// The CVEs a row is vulnerable to, `-` when none.
fn vulnerable(r: &Row) -> String {
    let v: Vec<&str> = r
        .cves
        .iter()
        .filter(|(_, s)| s.as_str() == "vulnerable")
        .map(|(id, _)| id.as_str())
        .collect();
    if v.is_empty() {
        "-".to_owned()
    } else {
        v.join(" ")
    }
}

fn or_dash(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

/// What the table shows as the reason: the error of a host not scanned, else the first reason.
fn first_reason(r: &Row) -> &str {
    r.error
        .as_deref()
        .or(r.reasons.first().map(String::as_str))
        .unwrap_or("-")
}

fn text(f: &Fleet) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "FLEET: {} appliances, worst {} (exit {})",
        f.totals.appliances,
        f.worst.as_str().to_uppercase(),
        f.exit_code().code()
    );
    let _ = writeln!(s, "  {}", totals_line(f));
    for n in &f.notes {
        let _ = writeln!(s, "  note: {}", escape_text(n));
    }
    let _ = writeln!(
        s,
        "\n{:<13} {:<24} {:<16} {:<12} {:>5}  {:<14} VULNERABLE TO",
        "VERDICT", "APPLIANCE", "NSIP", "FIRMWARE", "GAPS", "MITIGATION"
    );
    for r in &f.rows {
        let _ = writeln!(
            s,
            "{:<13} {:<24} {:<16} {:<12} {:>5}  {:<14} {}",
            r.status.as_str(),
            escape_text(&r.name),
            escape_text(or_dash(r.nsip.as_deref())),
            escape_text(or_dash(r.firmware.as_deref())),
            r.gaps,
            or_dash(r.mitigation.as_deref()),
            escape_text(&vulnerable(r))
        );
        if let Some(h) = &r.hostname {
            let _ = writeln!(s, "  host:   {}", escape_text(h));
        }
        let label = if r.error.is_some() {
            "error: "
        } else {
            "reason:"
        };
        let _ = writeln!(s, "  {label} {}", escape_text(first_reason(r)));
        let _ = writeln!(
            s,
            "  report: {}  sha256 {}",
            escape_text(&r.file),
            escape_text(&r.sha256)
        );
    }
    s
}

fn csv(f: &Fleet, w: &mut dyn Write) -> io::Result<()> {
    let mut head: Vec<String> = [
        "name",
        "verdict",
        "hostname",
        "nsip",
        "firmware",
        "first_reason",
        "mitigation",
        "gaps",
        "gaps_blocking_clean",
        "report",
        "report_sha256",
        "sporen_version",
        "error",
    ]
    .map(str::to_owned)
    .to_vec();
    head.extend(f.cves.iter().cloned());
    write_record(w, &head)?;
    for r in &f.rows {
        let mut cells: Vec<String> = vec![
            r.name.clone(),
            r.status.as_str().to_owned(),
            r.hostname.clone().unwrap_or_default(),
            r.nsip.clone().unwrap_or_default(),
            r.firmware.clone().unwrap_or_default(),
            r.reasons.first().cloned().unwrap_or_default(),
            r.mitigation.clone().unwrap_or_default(),
            r.gaps.to_string(),
            r.gaps_blocking.to_string(),
            r.file.clone(),
            r.sha256.clone(),
            r.tool_version.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
        ];
        cells.extend(
            f.cves
                .iter()
                .map(|c| r.cves.get(c).cloned().unwrap_or_default()),
        );
        let cells: Vec<String> = cells.iter().map(|c| escape_text(c)).collect();
        write_record(w, &cells)?;
    }
    Ok(())
}

fn html(f: &Fleet) -> String {
    let mut s = start("sporen fleet report");
    let _ = writeln!(
        s,
        "<h1>Fleet: {} appliances, worst <span class=\"verdict {}\">{}</span></h1>",
        f.totals.appliances,
        f.worst.as_str(),
        f.worst.as_str()
    );
    let _ = writeln!(s, "<p>{}</p>", esc(&totals_line(f)));
    for n in &f.notes {
        let _ = writeln!(s, "<p class=\"muted\">Note: {}</p>", esc(n));
    }
    s.push_str(
        "<table>\n<tr><th>Appliance</th><th>Verdict</th><th>NSIP</th><th>Firmware</th>\
<th>First reason</th><th>Vulnerable to</th><th>Mitigation</th><th>Gaps</th></tr>\n",
    );
    for (i, r) in f.rows.iter().enumerate() {
        let _ = writeln!(
            s,
            "<tr><td><a href=\"#appliance-{i}\">{}</a>{}</td><td><span class=\"verdict {}\">{}</span></td>\
<td>{}</td><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.name),
            r.hostname
                .as_deref()
                .filter(|h| *h != r.name)
                .map(|h| format!("<br><span class=\"muted\">{}</span>", esc(h)))
                .unwrap_or_default(),
            r.status.as_str(),
            r.status.as_str(),
            esc(or_dash(r.nsip.as_deref())),
            esc(or_dash(r.firmware.as_deref())),
            esc(first_reason(r)),
            esc(&vulnerable(r)),
            esc(or_dash(r.mitigation.as_deref())),
            r.gaps
        );
    }
    s.push_str("</table>\n");
    for (i, r) in f.rows.iter().enumerate() {
        section(&mut s, i, r);
    }
    s.push_str(END);
    s
}

/// One appliance's section: its anchor, reasons, posture and where its report is.
fn section(s: &mut String, i: usize, r: &Row) {
    let _ = writeln!(
        s,
        "<section id=\"appliance-{i}\">\n<h2>{} <span class=\"verdict {}\">{}</span></h2>",
        esc(&r.name),
        r.status.as_str(),
        r.status.as_str()
    );
    if let Some(e) = &r.error {
        let _ = writeln!(
            s,
            "<p><strong>Could not be scanned:</strong> {}</p>",
            esc(e)
        );
    }
    s.push_str("<ul class=\"reasons\">\n");
    for reason in &r.reasons {
        let _ = writeln!(s, "<li>{}</li>", esc(reason));
    }
    s.push_str("</ul>\n<table>\n");
    let findings: Vec<String> = r.findings.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let facts = [
        ("Host name", r.hostname.clone()),
        ("Target", r.target.clone()),
        ("NSIP", r.nsip.clone()),
        ("Firmware", r.firmware.clone()),
        ("Mitigation (CTX267679)", r.mitigation.clone()),
        (
            "Findings",
            Some(findings.join(", ")).filter(|f| !f.is_empty()),
        ),
        (
            "Coverage gaps",
            Some(format!(
                "{} ({} keep it from clean)",
                r.gaps, r.gaps_blocking
            )),
        ),
        ("Report", Some(r.file.clone())),
        ("Report SHA-256", Some(r.sha256.clone())),
        ("sporen version", r.tool_version.clone()),
    ];
    for (k, v) in facts {
        if let Some(v) = v {
            let _ = writeln!(
                s,
                "<tr><th>{k}</th><td class=\"mono\">{}</td></tr>",
                esc(&v)
            );
        }
    }
    s.push_str("</table>\n");
    if !r.cves.is_empty() {
        s.push_str("<table>\n<tr><th>CVE</th><th>Status</th></tr>\n");
        for (id, st) in &r.cves {
            let class = match st.as_str() {
                "vulnerable" | "fixed" | "not_affected" => st.as_str(),
                _ => "unknown",
            };
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"{class}\">{}</td></tr>",
                esc(id),
                esc(st)
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("<p><a href=\"#\">back to the table</a></p>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::tests::row;

    fn sample() -> Fleet {
        let mut bad = row("gw<script>alert(1)</script>", Status::Compromised);
        bad.reasons = vec!["\"</svg><img src=x onerror=alert(1)>\u{1b}[31m".to_owned()];
        bad.cves
            .insert("CVE-2019-19781".to_owned(), "vulnerable".to_owned());
        bad.nsip = Some("=cmd|' /C calc'!A0".to_owned());
        let mut failed = row("gw03", Status::Failed);
        failed.error = Some("ssh: Permission denied".to_owned());
        Fleet::new(vec![row("gw02", Status::Clean), failed, bad])
    }

    fn rendered(f: &Fleet, format: FleetFormat) -> String {
        let mut buf = Vec::new();
        render(f, format, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn text_lists_worst_first_with_totals_and_escapes() {
        let t = rendered(&sample(), FleetFormat::Text);
        assert!(
            t.starts_with("FLEET: 3 appliances, worst COMPROMISED (exit 1)"),
            "{t}"
        );
        assert!(t.contains("compromised 1, review 0, failed 1, inconclusive 0, clean 1"));
        let at = |w: &str| t.find(w).unwrap();
        assert!(at("gw<script>") < at("gw03") && at("gw03") < at("gw02"));
        assert!(t.contains("error:  ssh: Permission denied"));
        assert!(!t.contains('\u{1b}'));
    }

    #[test]
    fn html_escapes_everything_and_links_each_section() {
        let h = rendered(&sample(), FleetFormat::Html);
        assert!(!h.contains("<script") && !h.contains("<img") && !h.contains("</svg>"));
        for i in 0..3 {
            assert!(h.contains(&format!("href=\"#appliance-{i}\"")));
            assert!(h.contains(&format!("<section id=\"appliance-{i}\">")));
        }
        assert!(h.contains("gw&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn csv_has_a_column_per_cve_and_guards_formulas() {
        let c = rendered(&sample(), FleetFormat::Csv);
        let first = c.lines().next().unwrap();
        assert!(first.ends_with(",CVE-2019-19781"), "{first}");
        assert!(c.contains("'=cmd|"));
        assert_eq!(c.lines().count(), 4);
    }

    #[test]
    fn json_round_trips_with_its_schema() {
        let v: serde_json::Value =
            serde_json::from_str(&rendered(&sample(), FleetFormat::Json)).unwrap();
        assert_eq!(v["schema"], "sporen.fleet/1");
        assert_eq!(v["worst"], "compromised");
        assert_eq!(v["rows"][1]["status"], "failed");
        assert_eq!(v["totals"]["appliances"], 3);
    }
}
