//! The HTML report: one self-contained page for the people who decide. No script, no external
//! resource (a Content-Security-Policy forbids both), inline CSS and SVG, readable offline and
//! on paper.
//!
//! The order answers their questions in turn: the verdict and its reasons in plain words, the
//! posture, a picture of the evidence in time, the findings by severity, what could not be
//! examined, and the record of the run. Every string from the report goes through
//! `page::esc` or `page::esc_bytes`: paths and excerpts are chosen by the attacker.

pub mod page;
mod picture;

use crate::model::{CveStatus, Finding, Report, Severity, Verdict, WindowStatus};
use page::{END, esc, esc_bytes, start};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Writes the HTML report.
pub(crate) fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let title = format!("sporen: {} — {}", r.verdict, r.target.path);
    let mut s = start(&title);
    verdict_section(r, &mut s);
    posture_section(r, &mut s);
    s.push_str("<section>\n<h2>The evidence in time</h2>\n");
    picture::picture(r, &mut s);
    windows_table(r, &mut s);
    s.push_str("</section>\n");
    findings_section(r, &mut s);
    coverage_section(r, &mut s);
    record_section(r, &mut s);
    s.push_str(END);
    out.write_all(s.as_bytes())
}

/// The verdict in one sentence a manager can act on.
fn plain_words(v: Verdict) -> &'static str {
    match v {
        Verdict::Compromised => {
            "Traces of an attack were found on this appliance. Treat it as compromised: isolate it, keep the evidence, rotate its secrets."
        }
        Verdict::Review => {
            "Something was found that a person must look at. Nothing found proves a compromise."
        }
        Verdict::Inconclusive => {
            "No traces were found, but evidence needed to say the appliance is clean was missing or could not be read. This is not a clean bill of health."
        }
        Verdict::Clean => {
            "The evidence needed was there, was read, and holds no traces of attack. An attacker who cleaned up well leaves nothing to find."
        }
    }
}

fn verdict_section(r: &Report, s: &mut String) {
    let host = r.posture.hostname.as_deref().unwrap_or(&r.target.path);
    let _ = writeln!(
        s,
        "<h1>{} <span class=\"verdict {v}\">{v}</span></h1>\n<p><strong>{}</strong></p>\n<h2>Why</h2>\n<ul class=\"reasons\">",
        esc(host),
        plain_words(r.verdict),
        v = r.verdict.as_str()
    );
    for reason in &r.reasons {
        let _ = writeln!(s, "<li>{}</li>", esc(reason));
    }
    s.push_str("</ul>\n");
}

fn row(s: &mut String, key: &str, value: &str) {
    let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", esc(key), esc(value));
}

fn cve_status(st: CveStatus) -> &'static str {
    match st {
        CveStatus::Vulnerable => "vulnerable",
        CveStatus::Fixed => "fixed",
        CveStatus::Unknown => "unknown",
        CveStatus::NotAffected => "not_affected",
    }
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

fn posture_section(r: &Report, s: &mut String) {
    let p = &r.posture;
    s.push_str("<section>\n<h2>Posture</h2>\n<p class=\"muted\">Beside the verdict, never part of it.</p>\n<table>\n");
    row(s, "Firmware", p.firmware.as_deref().unwrap_or("unknown"));
    for e in &p.firmware_evidence {
        row(s, "read from", e);
    }
    for d in &p.disagreements {
        row(s, "disagreement", d);
    }
    row(s, "Host name", p.hostname.as_deref().unwrap_or("-"));
    row(s, "NSIP", p.nsip.as_deref().unwrap_or("-"));
    row(s, "Time zone", p.timezone.as_deref().unwrap_or("-"));
    for m in &p.mitigations {
        let since = m.since.map(|t| t.minute()).unwrap_or_default();
        let parts: Vec<String> = m
            .parts
            .iter()
            .map(|x| format!("{} {}", x.name, yes_no(x.present)))
            .collect();
        let mut text = format!(
            "{}: effective {}; {}",
            m.cve,
            yes_no(m.effective),
            parts.join("; ")
        );
        if !since.is_empty() {
            text.push_str(&format!("; since {since}"));
        }
        if let Some(h) = &m.held {
            text.push_str(&format!("; {}", h.summary));
        }
        row(s, &format!("Mitigation ({})", m.id), &text);
    }
    for secret in &p.secrets_to_rotate {
        row(s, "Rotate", secret);
    }
    s.push_str("</table>\n");
    if !p.cves.is_empty() {
        s.push_str("<table>\n<tr><th>CVE</th><th>What</th><th>Status</th><th>Why</th></tr>\n");
        for c in &p.cves {
            let st = cve_status(c.status);
            // Why, then what the configuration shows and when the build was left.
            let mut why = esc(&c.evidence);
            if let Some(x) = &c.exposure {
                why.push_str(&format!("<br>{}", esc(&x.summary)));
            }
            if let Some(l) = &c.left_vulnerable {
                why.push_str(&format!(
                    "<br>left the vulnerable build {} on {}",
                    esc(&l.vulnerable_build),
                    l.at.date()
                ));
            }
            let _ = writeln!(
                s,
                "<tr><td class=\"nowrap\">{}</td><td>{}</td><td class=\"{st} nowrap\">{}</td><td>{why}</td></tr>",
                esc(&c.id),
                esc(&c.title),
                st.replace('_', " "),
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("</section>\n");
}

fn windows_table(r: &Report, s: &mut String) {
    if r.windows.is_empty() {
        return;
    }
    s.push_str("<table>\n<tr><th>Exposure window</th><th>From</th><th>Until</th><th>Logs</th><th>Why</th></tr>\n");
    for w in &r.windows {
        let status = match w.status {
            WindowStatus::Covered => "covered",
            WindowStatus::NotCovered => "not covered",
            WindowStatus::NotRelevant => "not relevant",
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{}</td></tr>",
            esc(&w.title),
            w.from.date(),
            w.until.map(|u| u.date()).unwrap_or_else(|| "-".to_owned()),
            esc(&w.detail)
        );
    }
    s.push_str("</table>\n");
}

fn findings_section(r: &Report, s: &mut String) {
    let _ = writeln!(s, "<section>\n<h2>Findings ({})</h2>", r.findings.len());
    if r.findings.is_empty() {
        s.push_str("<p>None.</p>\n");
    }
    for sev in Severity::DESCENDING {
        let of: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if of.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "<h3 class=\"sev-{sev}\">{sev} ({})</h3>\n<table>\n<tr><th>Rule</th><th>Where</th><th>When</th><th>What</th></tr>",
            of.len()
        );
        for f in of {
            finding(f, s);
        }
        s.push_str("</table>\n");
    }
    s.push_str("</section>\n");
}

fn finding(f: &Finding, s: &mut String) {
    let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
    let when = match (f.time, f.mtime) {
        (Some(t), _) => format!(
            "logged {}{}",
            t.minute(),
            if f.time_inferred {
                " (year inferred)"
            } else {
                ""
            }
        ),
        (None, Some(m)) => format!("modified {}", m.minute()),
        (None, None) => "-".to_owned(),
    };
    let count = if f.count > 1 {
        format!(" ({} times)", f.count)
    } else {
        String::new()
    };
    let _ = write!(
        s,
        "<tr><td><strong>{}</strong><br><code>{}</code></td><td><code>{}{line}</code></td><td>{}{count}</td><td>{}",
        esc(&f.title),
        esc(&f.rule),
        esc_bytes(f.path.as_bytes()),
        esc(&when),
        esc(&f.reason)
    );
    if let Some(e) = &f.excerpt {
        let _ = write!(s, "<br><code>{}</code>", esc_bytes(&e.0));
    }
    if let Some(h) = &f.sha256 {
        let _ = write!(s, "<br><span class=\"muted\">sha256 {}</span>", esc(h));
    }
    s.push_str("</td></tr>\n");
}

fn coverage_section(r: &Report, s: &mut String) {
    let c = &r.coverage;
    let _ = writeln!(
        s,
        "<section>\n<h2>What could not be examined</h2>\n<p>{} entries seen, {} files read ({} bytes); {} gaps.</p>",
        c.entries_seen,
        c.files_read,
        c.bytes_read,
        c.gaps.len()
    );
    if !c.gaps.is_empty() {
        s.push_str("<table>\n<tr><th>Path</th><th>Cause</th><th>Keeps it from clean</th><th>Detail</th></tr>\n");
        for g in &c.gaps {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc_bytes(g.path.as_bytes()),
                g.cause.as_str(),
                if g.blocks_clean { "yes" } else { "no" },
                esc(&g.detail)
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("<table>\n<tr><th>Log source</th><th>From</th><th>To</th><th>Files</th><th>Required</th></tr>\n");
    for src in &c.sources {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({} read)</td><td>{}</td></tr>",
            esc(&src.title),
            src.from
                .map(|t| t.minute())
                .unwrap_or_else(|| "-".to_owned()),
            src.to.map(|t| t.minute()).unwrap_or_else(|| "-".to_owned()),
            src.files.len(),
            src.files_read,
            if src.required { "yes" } else { "no" }
        );
    }
    s.push_str("</table>\n");
    for n in &c.notes {
        let _ = writeln!(s, "<p class=\"muted\">{}</p>", esc(n));
    }
    s.push_str("</section>\n");
}

fn record_section(r: &Report, s: &mut String) {
    s.push_str("<section>\n<h2>Record of the run</h2>\n<table>\n");
    row(s, "Tool", &format!("{} {}", r.tool.name, r.tool.version));
    row(s, "Report schema", &r.schema);
    row(s, "Rules SHA-256", &r.rules_sha256);
    row(s, "Target", &r.target.path);
    row(s, "Read as", &r.target.input);
    if let Some(d) = &r.target.detail {
        row(s, "Input", d);
    }
    for i in &r.target.inputs {
        let digest = i.sha256.as_deref().unwrap_or("not hashed");
        let whole = if i.complete {
            ""
        } else {
            " (not read to the end)"
        };
        row(
            s,
            "Input digest",
            &format!("{}: {} bytes, sha256 {digest}{whole}", i.path, i.bytes),
        );
    }
    if !r.arguments.is_empty() {
        row(s, "Arguments", &r.arguments.join(" "));
    }
    let fired = r.rules.iter().filter(|h| h.findings > 0).count();
    row(
        s,
        "Rules",
        &format!("{} in force, {fired} with findings", r.rules.len()),
    );
    s.push_str("</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use crate::report::{Format, render_string, sample_report};

    #[test]
    fn verdict_and_reasons_come_first_and_the_page_stands_alone() {
        let h = render_string(&sample_report(), Format::Html, false);
        let verdict = h.find("class=\"verdict compromised\"").unwrap();
        let reasons = h.find("2 findings of critical or high severity.").unwrap();
        let picture = h.find("<svg ").unwrap();
        let findings = h.find("<h2>Findings").unwrap();
        let record = h.find("Record of the run").unwrap();
        assert!(verdict < reasons && reasons < picture && picture < findings && findings < record);
        for external in [
            "<script",
            "src=\"http",
            "href=\"http",
            "url(",
            "@import",
            "<link",
        ] {
            assert!(!h.contains(external), "{external}");
        }
        assert!(h.contains("default-src 'none'"));
        assert!(h.ends_with("</html>\n"));
    }

    #[test]
    fn attacker_bytes_cannot_make_markup() {
        let mut r = sample_report();
        r.findings[0].path = crate::model::EvPath::new(
            &b"var/tmp/<script>alert(1)</script>\"'</svg><img src=x onerror=alert(2)>\xff"[..],
        );
        r.findings[0].rule = "x\"><script>alert(3)</script>".into();
        r.coverage.gaps[0].detail = "</td></table><script>alert(4)</script>".into();
        let h = render_string(&r, Format::Html, false);
        for bad in ["<script", "<img", "onerror=alert(2)>", "</svg><"] {
            assert!(!h.contains(bad), "{bad} got through");
        }
        assert!(h.contains("var/tmp/&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&lt;/svg&gt;"));
        assert_eq!(h.matches("<svg ").count(), 1);
        assert_eq!(h.matches("</svg>").count(), 1);
    }
}
