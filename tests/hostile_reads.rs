//! Files that shrink, fail or trickle while they are read, through a mock evidence in-process:
//! a short or failed read is a gap that blocks `clean`, what was read before it is still
//! examined, an interrupted read is retried, and a log delivered one byte per read is decoded
//! and matched like any other. The first test is the control: the complete mock is `clean`.

#![cfg(unix)]

mod common;

use common::archive::gzip;
use common::hostile::{filler_lines, marker_rule_set};
use common::mock::{Behaviour, MockEvidence, gaps_at, mock_scan, mock_verdict};
use sporen::model::{GapCause, Verdict};
use sporen::scan::ScanOutput;

/// A log of `lines` filler lines with the log marker on line 1.
fn marked_log(lines: usize) -> Vec<u8> {
    [
        b"Jan 11 23:41:12 ns sh[1]: HOSTILE-LOG-MARKER\n".as_slice(),
        &filler_lines(lines),
    ]
    .concat()
}

/// A configuration with the file marker in its first line, then 10,000 bytes of comment.
fn marked_conf() -> Vec<u8> {
    [b"HOSTILE-FILE-MARKER\n".as_slice(), &vec![b'#'; 10_000]].concat()
}

/// Whether the scan has a finding of `rule` at `path`.
fn hit(out: &ScanOutput, rule: &str, path: &str) -> bool {
    out.findings
        .iter()
        .any(|f| f.rule == rule && f.path.as_bytes() == path.as_bytes())
}

/// The verdict on `ev` under the marker rules is `inconclusive`.
fn assert_inconclusive(ev: &MockEvidence) {
    let report = mock_verdict(ev, &marker_rule_set());
    assert_eq!(
        report.verdict,
        Verdict::Inconclusive,
        "{:#?}",
        report.reasons
    );
}

#[test]
fn mock_control_complete_appliance_is_clean() {
    let rules = marker_rule_set();
    let ev = MockEvidence::appliance(vec![]);
    let out = mock_scan(&ev, &rules, 1);
    assert!(out.gaps.is_empty(), "{:#?}", out.gaps);
    let report = mock_verdict(&ev, &rules);
    assert_eq!(report.verdict, Verdict::Clean, "{:#?}", report.reasons);
}

#[test]
fn mock_file_that_shrinks_mid_read_is_a_blocking_gap() {
    let rules = marker_rule_set();
    let log = marked_log(2000);
    let half = log.len() / 2;
    let conf = marked_conf();
    let ev = MockEvidence::appliance(vec![
        ("var/log/bash.log", log, Behaviour::Shrinks(half)),
        ("flash/nsconfig/ns.conf", conf, Behaviour::Shrinks(100)),
        (
            "var/log/ns.log",
            b"HOSTILE-LOG-MARKER\n".to_vec(),
            Behaviour::Shrinks(0),
        ),
    ]);
    for threads in [1, 0] {
        let out = mock_scan(&ev, &rules, threads);
        for (path, read) in [
            ("/var/log/bash.log", half),
            ("/flash/nsconfig/ns.conf", 100),
            ("/var/log/ns.log", 0),
        ] {
            let g = gaps_at(&out.gaps, path);
            assert!(
                g.iter()
                    .any(|g| g.cause == GapCause::Shrank && g.blocks_clean),
                "{path}: no blocking shrank gap in {:#?}",
                out.gaps
            );
            let r = out
                .reads
                .iter()
                .find(|r| r.path.as_bytes() == path.as_bytes())
                .expect("read recorded");
            assert!(!r.complete, "{path}: a short read counted as complete");
            assert_eq!(r.bytes, read as u64);
            assert!(r.sha256.is_none(), "{path}: digest of a partial read");
        }
        // What was read is still examined.
        assert!(
            hit(&out, "hostile.log-marker", "/var/log/bash.log"),
            "{:#?}",
            out.findings
        );
        assert!(
            hit(&out, "hostile.file-marker", "/flash/nsconfig/ns.conf"),
            "{:#?}",
            out.findings
        );
    }
    let report = mock_verdict(&ev, &rules);
    assert_eq!(report.verdict, Verdict::Compromised);
    assert!(
        report.reasons.iter().any(|r| r.contains("shrank")),
        "{:#?}",
        report.reasons
    );

    // Without the markers, the shrink alone must prevent `clean`.
    let ev = MockEvidence::appliance(vec![(
        "var/log/cron",
        filler_lines(500),
        Behaviour::Shrinks(1000),
    )]);
    assert_inconclusive(&ev);
}

#[test]
fn mock_read_error_mid_file_is_a_blocking_gap() {
    let rules = marker_rule_set();
    let log = marked_log(2000);
    let conf = marked_conf();
    let ev = MockEvidence::appliance(vec![
        (
            "var/log/bash.log",
            log.clone(),
            Behaviour::FailsAfter(log.len() / 3),
        ),
        ("var/log/ns.log", gzip(&log), Behaviour::FailsAfter(10)),
        ("flash/nsconfig/ns.conf", conf, Behaviour::FailsAfter(5000)),
        (
            "var/log/cron",
            b"(root) CMD (x)\n".to_vec(),
            Behaviour::FailsAfter(0),
        ),
    ]);
    for threads in [1, 0] {
        let out = mock_scan(&ev, &rules, threads);
        for path in [
            "/var/log/bash.log",
            "/flash/nsconfig/ns.conf",
            "/var/log/cron",
        ] {
            let g = gaps_at(&out.gaps, path);
            assert!(
                g.iter().any(|g| g.cause == GapCause::Unreadable
                    && g.blocks_clean
                    && g.detail.contains("simulated")),
                "{path}: no blocking unreadable gap in {:#?}",
                out.gaps
            );
        }
        // A gzip log that fails to read is damaged or unreadable; either way it blocks clean.
        assert!(
            gaps_at(&out.gaps, "/var/log/ns.log")
                .iter()
                .any(
                    |g| matches!(g.cause, GapCause::Unreadable | GapCause::CorruptGzip)
                        && g.blocks_clean
                ),
            "{:#?}",
            out.gaps
        );
        for r in out
            .reads
            .iter()
            .filter(|r| r.path.as_bytes() != b"/var/vpn/bookmark/jdoe.xml")
        {
            let whole = ["/var/log/httpaccess.log", "/var/log/httperror.log"]
                .contains(&String::from_utf8_lossy(r.path.as_bytes()).as_ref());
            assert_eq!(r.complete, whole, "{r:?}");
        }
        assert!(
            hit(&out, "hostile.log-marker", "/var/log/bash.log"),
            "lines before the error lost: {:#?}",
            out.findings
        );
        assert!(
            hit(&out, "hostile.file-marker", "/flash/nsconfig/ns.conf"),
            "bytes before the error lost: {:#?}",
            out.findings
        );
    }
    let ev = MockEvidence::appliance(vec![(
        "var/log/httperror.log",
        filler_lines(100),
        Behaviour::FailsAfter(700),
    )]);
    assert_inconclusive(&ev);
}

#[test]
fn mock_open_failure_is_a_blocking_gap_and_the_scan_goes_on() {
    let rules = marker_rule_set();
    let ev = MockEvidence::appliance(vec![
        ("var/log/bash.log", marked_log(10), Behaviour::OpenFails),
        (
            "flash/nsconfig/ns.conf",
            b"HOSTILE-FILE-MARKER".to_vec(),
            Behaviour::OpenFails,
        ),
        (
            "var/vpn/bookmark/x.xml",
            b"HOSTILE-FILE-MARKER".to_vec(),
            Behaviour::Whole,
        ),
    ]);
    for threads in [1, 0] {
        let out = mock_scan(&ev, &rules, threads);
        for path in ["/var/log/bash.log", "/flash/nsconfig/ns.conf"] {
            assert!(
                gaps_at(&out.gaps, path)
                    .iter()
                    .any(|g| g.cause == GapCause::Unreadable && g.blocks_clean),
                "{path}: {:#?}",
                out.gaps
            );
            assert!(
                out.findings
                    .iter()
                    .all(|f| f.path.as_bytes() != path.as_bytes())
            );
        }
        assert!(
            out.findings
                .iter()
                .any(|f| f.path.as_bytes() == b"/var/vpn/bookmark/x.xml"),
            "the scan stopped at the first unreadable file"
        );
    }
    let ev = MockEvidence::appliance(vec![(
        "var/log/httpaccess.log",
        b"x\n".to_vec(),
        Behaviour::OpenFails,
    )]);
    assert_inconclusive(&ev);
}

#[test]
fn mock_interrupted_reads_are_retried_not_reported() {
    let rules = marker_rule_set();
    let log = marked_log(500);
    let ev = MockEvidence::appliance(vec![
        ("var/log/bash.log", log.clone(), Behaviour::Interrupted),
        ("var/log/ns.log", gzip(&log), Behaviour::Interrupted),
        (
            "flash/nsconfig/ns.conf",
            b"HOSTILE-FILE-MARKER\n".to_vec(),
            Behaviour::Interrupted,
        ),
    ]);
    let out = mock_scan(&ev, &rules, 1);
    assert!(out.gaps.is_empty(), "{:#?}", out.gaps);
    assert!(out.reads.iter().all(|r| r.complete));
    for path in [
        "/var/log/bash.log",
        "/var/log/ns.log",
        "/flash/nsconfig/ns.conf",
    ] {
        assert!(
            out.findings
                .iter()
                .any(|f| f.path.as_bytes() == path.as_bytes()),
            "{path}"
        );
    }
}

#[test]

fn mock_gzip_log_delivered_one_byte_per_read_is_still_decoded() {
    let rules = marker_rule_set();
    let ev = MockEvidence::appliance(vec![(
        "var/log/bash.log.1.gz",
        gzip(&marked_log(20)),
        Behaviour::Trickle,
    )]);
    let out = mock_scan(&ev, &rules, 1);
    assert!(
        out.findings
            .iter()
            .any(|f| f.rule == "hostile.log-marker"
                && f.path.as_bytes() == b"/var/log/bash.log.1.gz"),
        "gzip log read in 1-byte pieces was not decoded: findings {:#?}, gaps {:#?}",
        out.findings,
        out.gaps
    );
}

#[test]
fn mock_plain_log_delivered_one_byte_per_read_is_matched() {
    let rules = marker_rule_set();
    let ev = MockEvidence::appliance(vec![(
        "var/log/bash.log",
        marked_log(20),
        Behaviour::Trickle,
    )]);
    let out = mock_scan(&ev, &rules, 1);
    assert!(out.gaps.is_empty(), "{:#?}", out.gaps);
    assert!(
        out.findings.iter().any(|f| f.rule == "hostile.log-marker"),
        "{:#?}",
        out.findings
    );
}
