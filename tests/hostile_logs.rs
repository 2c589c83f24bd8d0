//! Logs as time and attackers leave them: gzip rotations cut short, with a bad checksum or
//! garbage after a member, gzip under any name and plain text under a `.gz` name, empty files,
//! files larger than the read cap and log lines longer than the line cut. A trace before the
//! damage is still found; what could not be read is a gap that blocks `clean`.
//!
//! The first test is the control of every "must not be clean" assertion here: the healthy tree
//! is `clean` under the marker rules, and a planted marker is found.

#![cfg(unix)]

mod common;

use common::archive::gzip;
use common::hostile::{Tree, filler_lines};
use common::report::{finding, findings, findings_at, gap, gaps, path_bytes};
use common::tree::put;
use std::ffi::OsStr;

#[test]
fn control_healthy_appliance_is_clean() {
    let c = Tree::appliance();
    let r = c.scan("json", &[]);
    let v = r.json();
    assert_eq!(
        v["verdict"], "clean",
        "reasons: {:#}\ngaps: {:#}",
        v["reasons"], v["coverage"]["gaps"]
    );
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(findings(&v).is_empty());
    assert!(gaps(&v).is_empty(), "{:#}", v["coverage"]["gaps"]);

    // ...and a planted marker is found, so the marker rules work.
    put(
        &c.root,
        "var/vpn/bookmark/x.xml",
        "<bookmark title=\"HOSTILE-FILE-MARKER\"/>",
    );
    put(
        &c.root,
        "var/log/cron.0",
        "Jan 19 23:00:06 <cron.info> ns cron[1]: HOSTILE-LOG-MARKER\n",
    );
    let r = c.scan("json", &[]);
    let v = r.json();
    assert_eq!(r.code, Some(1));
    finding(&v, "hostile.file-marker", b"/var/vpn/bookmark/x.xml");
    finding(&v, "hostile.log-marker", b"/var/log/cron.0");
}

/// A gzip of a log whose first line matches, cut after 60 % of its bytes.
fn truncated_gzip(first: &[u8]) -> Vec<u8> {
    let mut data = first.to_vec();
    data.extend_from_slice(&filler_lines(3000));
    data.extend_from_slice(
        b"Jan 27 23:59:59 <local7.notice> ns bash[1]: HOSTILE-LOG-MARKER lost in the damage\n",
    );
    let mut gz = gzip(&data);
    assert!(
        gz.len() > 50_000,
        "filler compressed too well: {}",
        gz.len()
    );
    gz.truncate(gz.len() * 6 / 10);
    gz
}

#[test]
fn truncated_gzip_rotation_keeps_lines_before_the_damage() {
    let c = Tree::appliance();
    let first = b"Jan 11 23:41:12 <local7.notice> ns-gw01 sh[9911]: nobody on (null) shell_command=\"id\" HOSTILE-LOG-MARKER\n";
    put(&c.root, "var/log/bash.log.1.gz", truncated_gzip(first));

    let run = c.scan("json", &[]);
    let v = run.json();
    let f = finding(&v, "hostile.log-marker", b"/var/log/bash.log.1.gz");
    assert_eq!(f["line"], 1);
    assert!(
        f["excerpt"]
            .as_str()
            .unwrap_or("")
            .contains("shell_command=\"id\""),
        "{f:#}"
    );
    finding(
        &v,
        "cve-2019-19781.shell-as-nobody",
        b"/var/log/bash.log.1.gz",
    );
    let g = gap(&v, "corrupt_gzip", b"/var/log/bash.log.1.gz");
    assert_eq!(g["blocks_clean"], true);
    assert_ne!(v["verdict"], "clean");
    assert_eq!(v["verdict"], "compromised");
    assert_eq!(run.code, Some(1));
}

#[test]
fn damaged_gzip_without_a_trace_blocks_clean() {
    // Control: the healthy tree is clean (see control_healthy_appliance_is_clean).
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("var/log/bash.log.1.gz", truncated_gzip(b"nothing to see\n")),
        ("var/log/cron.2.gz", {
            // Valid stream, wrong CRC in the trailer.
            let mut gz = gzip(b"Jan 19 23:01:05 <cron.info> ns cron[1]: (root) CMD (x)\n");
            let n = gz.len();
            gz[n - 8] ^= 0xff;
            gz
        }),
        ("var/log/ns.log.3.gz", {
            // A valid member followed by garbage.
            let mut gz = gzip(b"ok\n");
            gz.extend_from_slice(b"\x1f\x8bgarbage that is not a gzip member");
            gz
        }),
        ("var/log/httpaccess.log.0.gz", b"\x1f\x8b\x08".to_vec()), // header cut short
    ];
    for (path, bytes) in damaged {
        let c = Tree::appliance();
        put(&c.root, path, &bytes);
        let run = c.scan("json", &[]);
        let v = run.json();
        let g = gap(&v, "corrupt_gzip", format!("/{path}").as_bytes());
        assert_eq!(g["blocks_clean"], true, "{path}");
        assert_eq!(v["verdict"], "inconclusive", "{path}: {:#}", v["reasons"]);
        assert_eq!(run.code, Some(3), "{path}");
    }
}

#[test]
fn gzip_is_detected_by_magic_bytes_not_by_name() {
    let c = Tree::appliance();
    let hit = b"Jan 11 23:41:12 <local7.notice> ns-gw01 sh[9911]: nobody on (null) shell_command=\"id\"\n";
    // Gzip without a .gz suffix: the match is on line 3 of the decompressed text.
    put(
        &c.root,
        "var/log/bash.log.2",
        gzip(&[b"a\nb\n".as_slice(), hit].concat()),
    );
    // A plain-text file with a .gz suffix.
    put(
        &c.root,
        "var/log/sh.log.3.gz",
        [b"plain\n".as_slice(), hit].concat(),
    );
    // Two concatenated gzip members; the match is on line 2 of the second (line 5 overall).
    let multi = [
        gzip(b"one\ntwo\nthree\n"),
        gzip(&[b"four\n".as_slice(), hit].concat()),
    ]
    .concat();
    put(&c.root, "var/log/notice.log.4.gz", multi);

    let run = c.scan("json", &[]);
    let v = run.json();
    for (path, line) in [
        (&b"/var/log/bash.log.2"[..], 3),
        (b"/var/log/sh.log.3.gz", 2),
        (b"/var/log/notice.log.4.gz", 5),
    ] {
        let f = finding(&v, "cve-2019-19781.shell-as-nobody", path);
        assert_eq!(f["line"], line, "{f:#}");
        assert_eq!(
            f["excerpt"].as_str(),
            std::str::from_utf8(&hit[..hit.len() - 1]).ok()
        );
        assert!(
            gaps(&v).iter().all(|g| path_bytes(g) != path),
            "unexpected gap for {}: {:#}",
            String::from_utf8_lossy(path),
            v["coverage"]["gaps"]
        );
    }
    assert_eq!(v["verdict"], "compromised");
}

#[test]
fn empty_files_and_logs_produce_no_findings() {
    let c = Tree::appliance();
    for p in [
        "var/log/bash.log",
        "var/log/httpaccess.log",
        "var/log/cron.1",
        "var/log/ns.log.0.gz",
        "var/vpn/bookmark/empty.xml",
        "var/vpn/theme/empty.css",
        "var/tmp/empty",
        "netscaler/portal/templates/empty.html",
    ] {
        put(&c.root, p, "");
    }
    put(&c.root, "var/log/sh.log", "\n\n\n");
    put(&c.root, "var/log/notice.log", b"\x1f"); // half a gzip magic
    put(&c.root, "var/log/notice.log.1.gz", gzip(b"")); // a valid gzip of nothing
    for format in ["json", "text"] {
        let run = c.scan(format, &[]);
        run.assert_verdict("scan");
        if format == "json" {
            let v = run.json();
            assert!(findings(&v).is_empty(), "{:#}", v["findings"]);
            assert!(
                gaps(&v).iter().all(|g| g["blocks_clean"] == false),
                "{:#}",
                v["coverage"]["gaps"]
            );
        }
    }
}

#[test]
fn a_file_larger_than_max_read_is_a_blocking_gap() {
    // 600 KiB: more than the scanner's read buffer, so the cap is noticed.
    let c = Tree::appliance();
    let big = [vec![b'A'; 600 * 1024], b"HOSTILE-FILE-MARKER".to_vec()].concat();
    put(&c.root, "var/vpn/bookmark/big.xml", &big);
    let run = c.scan("json", &[OsStr::new("--max-read"), OsStr::new("64K")]);
    let v = run.json();
    let g = gap(&v, "too_large", b"/var/vpn/bookmark/big.xml");
    assert_eq!(g["blocks_clean"], true);
    assert_eq!(v["verdict"], "inconclusive", "{:#}", v["reasons"]);
    // Control: with the default cap the marker is found.
    let v = c.scan("json", &[]).json();
    finding(&v, "hostile.file-marker", b"/var/vpn/bookmark/big.xml");
}

#[test]
fn a_small_file_just_over_max_read_is_never_silently_cut() {
    let c = Tree::appliance();
    let file = [
        vec![b'A'; 5000],
        b"HOSTILE-FILE-MARKER".to_vec(),
        vec![b'B'; 5000],
    ]
    .concat();
    put(&c.root, "var/vpn/bookmark/cut.xml", &file);
    let run = c.scan("json", &[OsStr::new("--max-read"), OsStr::new("1K")]);
    let v = run.json();
    let found = !findings_at(&v, b"/var/vpn/bookmark/cut.xml").is_empty();
    let flagged = gaps(&v).iter().any(|g| {
        g["cause"] == "too_large"
            && g["blocks_clean"] == true
            && path_bytes(g) == b"/var/vpn/bookmark/cut.xml"
    });
    assert!(
        found || flagged,
        "marker beyond --max-read neither found nor reported as a gap; verdict {}, gaps {:#}",
        v["verdict"],
        v["coverage"]["gaps"]
    );
    assert_ne!(v["verdict"], "clean");
}

/// Plain files are read in 256 KiB blocks, so the first cut of a long line falls at exactly
/// 1 MiB.
const LINE_CUT: usize = 1 << 20;

/// One log line of three times [`LINE_CUT`] with the log marker at byte `at`.
fn long_line(at: usize) -> Vec<u8> {
    [
        vec![b'x'; at],
        b"HOSTILE-LOG-MARKER".to_vec(),
        vec![b'y'; 2 * LINE_CUT],
        b"\n".to_vec(),
    ]
    .concat()
}

#[test]
fn a_trace_in_an_overlong_log_line_is_found_or_reported() {
    let c = Tree::appliance();
    put(&c.root, "var/log/bash.log", long_line(LINE_CUT - 8));
    let v = c.scan("json", &[]).json();
    let found = !findings_at(&v, b"/var/log/bash.log").is_empty();
    let flagged = gaps(&v)
        .iter()
        .any(|g| g["blocks_clean"] == true && path_bytes(g) == b"/var/log/bash.log");
    assert!(
        found || flagged,
        "trace across the 1 MiB line cut neither found nor reported; verdict {}",
        v["verdict"]
    );
    assert_ne!(v["verdict"], "clean");
}

#[test]
fn a_trace_in_a_long_log_line_before_the_cut_is_found() {
    // Control for the test above: the same line with the marker well before the cut.
    let c = Tree::appliance();
    put(&c.root, "var/log/bash.log", long_line(LINE_CUT / 2));
    let v = c.scan("json", &[]).json();
    let f = finding(&v, "hostile.log-marker", b"/var/log/bash.log");
    assert_eq!(f["line"], 1);
    assert!(
        f["excerpt"].as_str().unwrap_or("").len() < 1000,
        "excerpt not bounded"
    );
}
