//! Attacker-chosen names and bytes in reports. File names and log lines may hold newlines,
//! terminal escapes, right-to-left overrides and bytes that are not UTF-8: the text report
//! escapes every one of them, JSON keeps the exact bytes (base64 where they are not UTF-8),
//! SARIF URIs decode to the exact path, and no format prints a raw ESC.

#![cfg(unix)]

mod common;

use base64::Engine;
use common::hostile::Tree;
use common::report::{finding, findings_of, gap, percent_decode, raw_hostile_chars};
use common::tree::{host, mkfifo, put};
use serde_json::Value;

/// Bookmark names an attacker can choose: a newline, terminal escapes, a right-to-left override,
/// bytes that are not UTF-8, and a literal backslash.
const NAMES: [&[u8]; 6] = [
    b"var/vpn/bookmark/evil\nname.xml",
    b"var/vpn/bookmark/\x1b[31mred\x1b[0m.xml",
    "var/vpn/bookmark/a\u{202e}lmx.php".as_bytes(),
    b"var/vpn/bookmark/\xff\xfe.xml",
    b"var/vpn/bookmark/dir\r\n\x1b]0;title\x07/\xc0inner.xml",
    b"var/vpn/bookmark/lit\\xff.xml", // a literal backslash: must not read as byte 0xff
];

/// A special file with a hostile name: it ends up as a gap, whose path must be escaped too.
const FIFO_NAME: &[u8] = b"var/vpn/bookmark/\x1b[2Jfifo\xff\n.xml";

/// The healthy appliance with a marked bookmark under each of [`NAMES`] and a FIFO at
/// [`FIFO_NAME`].
fn hostile_names() -> Tree {
    let c = Tree::appliance();
    for n in NAMES {
        put(&c.root, n, "<bookmark title=\"HOSTILE-FILE-MARKER\"/>");
    }
    mkfifo(&host(&c.root, FIFO_NAME));
    c
}

#[test]
fn hostile_file_names_are_escaped_in_text_and_exact_in_json() {
    let c = hostile_names();
    assert_text_escapes_every_path(&c);
    assert_json_paths_are_exact(&c);
    assert_other_formats_are_safe(&c);
}

/// Text: no raw control or bidi character, every path escaped.
fn assert_text_escapes_every_path(c: &Tree) {
    let run = c.scan("text", &[]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let t = run.stdout_str(); // also proves no invalid UTF-8 byte got through
    assert!(!run.stdout.contains(&0x1b), "raw ESC in text output");
    assert!(!t.contains('\u{202e}'), "raw RLO in text output");
    assert_eq!(raw_hostile_chars(&t, &['\n']), Vec::<char>::new());
    // The marker rule fired on every name: one grouped entry that lists each file (escaped,
    // with its digest) rather than one entry per file.
    for expected in [
        "/var/vpn/bookmark/evil\\nname.xml",
        "/var/vpn/bookmark/\\x1b[31mred\\x1b[0m.xml",
        "/var/vpn/bookmark/a\\u{202e}lmx.php",
        "/var/vpn/bookmark/\\xff\\xfe.xml",
        "/var/vpn/bookmark/dir\\r\\n\\x1b]0;title\\x07/\\xc0inner.xml",
        "/var/vpn/bookmark/lit\\\\xff.xml",
    ] {
        let listed = t.lines().any(|l| {
            let l = l.trim_start().trim_start_matches("files:").trim_start();
            l.starts_with(&format!("{expected}  sha256 "))
        });
        assert!(listed, "missing {expected:?} in:\n{t}");
    }
    assert!(
        t.contains("  /var/vpn/bookmark/\\x1b[2Jfifo\\xff\\n.xml\n"),
        "gap path not escaped:\n{t}"
    );
}

/// JSON: parses, names exact (base64 for the ones that are not UTF-8).
fn assert_json_paths_are_exact(c: &Tree) {
    let run = c.scan("json", &[]);
    let v = run.json();
    assert!(!run.stdout.contains(&0x1b), "raw ESC in JSON output");
    for n in NAMES {
        let abs = [b"/".as_slice(), n].concat();
        let f = finding(&v, "hostile.file-marker", &abs);
        match std::str::from_utf8(&abs) {
            Ok(s) => {
                assert_eq!(f["path"], s, "UTF-8 path must be exact");
                assert!(f.get("path_base64").is_none());
            }
            Err(_) => {
                let b64 = f["path_base64"]
                    .as_str()
                    .expect("path_base64 for a non-UTF-8 path");
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64");
                assert_eq!(decoded, abs, "path_base64 does not round-trip");
                assert_eq!(f["path"], sporen::model::bytes_to_lossless_string(&abs));
            }
        }
    }
    // Built-in rules may add their own findings (a bidi name that really ends in .php is one);
    // the marker rule must have fired exactly once per name.
    let markers = findings_of(&v, "hostile.file-marker").len();
    assert_eq!(markers, NAMES.len(), "{:#}", v["findings"]);
    let fifo_abs = [b"/".as_slice(), FIFO_NAME].concat();
    let g = gap(&v, "special_file", &fifo_abs);
    assert!(g["path_base64"].is_string(), "{g:#}");
}

/// The other formats never let a raw ESC through either; CSV (for spreadsheets) no RLO.
fn assert_other_formats_are_safe(c: &Tree) {
    for format in ["jsonl", "sarif", "csv"] {
        let run = c.scan(format, &[]);
        assert_eq!(run.code, Some(1));
        assert!(!run.stdout.contains(&0x1b), "{format}: raw ESC");
        let s = String::from_utf8_lossy(&run.stdout);
        if format == "jsonl" {
            for line in s.lines() {
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|e| panic!("jsonl line {line:?}: {e}"));
            }
        }
        if format == "csv" {
            assert!(!s.contains('\u{202e}'), "csv: raw RLO");
            assert!(
                std::str::from_utf8(&run.stdout).is_ok(),
                "csv: invalid UTF-8"
            );
        }
        if format == "sarif" {
            assert_sarif_uris_are_the_exact_paths(&run.stdout);
        }
    }
}

/// SARIF result locations are percent-encoded URI references of the exact path bytes.
fn assert_sarif_uris_are_the_exact_paths(stdout: &[u8]) {
    let sarif: Value = serde_json::from_slice(stdout).expect("SARIF parses");
    let mut uris: Vec<Vec<u8>> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["ruleId"] == "hostile.file-marker")
        .map(|r| {
            percent_decode(
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .expect("uri"),
            )
        })
        .collect();
    uris.sort();
    let mut want: Vec<Vec<u8>> = NAMES
        .iter()
        .map(|n| [b"/".as_slice(), n].concat())
        .collect();
    want.sort();
    assert_eq!(uris, want, "SARIF URIs do not decode to the exact paths");
}

#[test]
fn hostile_bytes_in_a_matching_log_line_are_escaped() {
    let c = Tree::appliance();
    let mut line =
        b"Jan 11 23:41:12 <local7.notice> ns-gw01 sh[9911]: nobody on (null) shell_command=\""
            .to_vec();
    line.extend_from_slice(
        b"\x1b]0;pwned\x07\x1b[2J\xff\xfe\rfake\x08\x7f\x00 \xe2\x80\xae".as_slice(),
    );
    line.extend_from_slice("\u{202e}gpj.php\" HOSTILE-LOG-MARKER".as_bytes());
    // A second, long line whose excerpt is cut inside a multi-byte bidi character.
    let mut long =
        b"Jan 11 23:41:13 <local7.notice> ns-gw01 sh[9911]: nobody on (null) shell_command=\""
            .to_vec();
    while long.len() < 398 {
        long.push(b'A');
    }
    for _ in 0..200 {
        long.extend_from_slice("\u{202e}\x1b".as_bytes());
    }
    long.extend_from_slice(b"\" HOSTILE-LOG-MARKER");
    let log = [b"first line\n".as_slice(), &line, b"\n", &long, b"\n"].concat();
    put(&c.root, "var/log/bash.log", &log);

    let run = c.scan("text", &[]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let t = run.stdout_str();
    assert!(!run.stdout.contains(&0x1b), "raw ESC in text output");
    assert!(!t.contains('\u{202e}'), "raw RLO in text output");
    assert_eq!(raw_hostile_chars(&t, &['\n']), Vec::<char>::new());
    assert!(
        t.contains("\\x1b]0;pwned\\x07\\x1b[2J\\xff\\xfe\\rfake\\x08\\x7f\\x00 \\u{202e}\\u{202e}gpj.php\" HOSTILE-LOG-MARKER"),
        "escaped excerpt not found in:\n{t}"
    );
    // Both the builtin rule and the marker rule point at line 2.
    let v = c.scan("json", &[]).json();
    let f = finding(&v, "cve-2019-19781.shell-as-nobody", b"/var/log/bash.log");
    assert_eq!(f["line"], 2);
    assert_eq!(f["excerpt"], sporen::model::bytes_to_lossless_string(&line));
    let m = finding(&v, "hostile.log-marker", b"/var/log/bash.log");
    assert_eq!(m["line"], 2);
}
