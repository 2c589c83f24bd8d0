//! `sporen fleet`: reports of real fixture scans merged into one, worst first, with the exit
//! code of the worst row; foreign and oversized files refused; the output never among the
//! reports.

mod common;

use common::run::{finish, run};
use common::{fixture, scan_json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Scans fixture `case` and writes its JSON report as `dir/name.json`.
fn report_of(case: &str, dir: &Path, name: &str) -> PathBuf {
    let (_tmp, root) = fixture(case);
    let (out, _) = scan_json(&root, &[]);
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, &out.stdout).unwrap();
    p
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn reports_merge_worst_first_with_totals_hashes_and_the_worst_exit_code() {
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let bad = report_of("cve-2019-19781-citrixmash", &reports, "gw01");
    report_of("clean-14.1-66.59-2026", &reports, "gw02");
    std::fs::write(
        reports.join("gw03.json"),
        r#"{"schema":"sporen.fleet-error/1","host":"nsroot@198.51.100.3","error":"ssh: connect to host 198.51.100.3 port 22: Connection refused","exit_code":2}"#,
    )
    .unwrap();

    let out = run(&["fleet", reports.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let v = out.json();
    let rows = v["rows"].as_array().unwrap();
    let got = common::report::fleet_rows(&v);
    assert_eq!(
        got,
        [
            ("gw01", "compromised"),
            ("gw03", "failed"),
            ("gw02", "clean")
        ]
    );
    assert_eq!(rows[0]["nsip"], "192.0.2.10");
    assert_eq!(rows[0]["firmware"], "13.0-47.22");
    assert_eq!(rows[0]["cves"]["CVE-2019-19781"], "vulnerable");
    assert_eq!(
        rows[0]["sha256"],
        hex(&Sha256::digest(std::fs::read(&bad).unwrap()))
    );
    assert!(
        rows[1]["error"]
            .as_str()
            .unwrap()
            .contains("Connection refused")
    );
    assert_eq!(v["totals"]["appliances"], 3);
    assert_eq!(v["totals"]["failed"], 1);

    // Text, CSV and HTML say the same; the output goes beside the reports, not among them.
    let html = d.path().join("fleet.html");
    let out = run(&[
        "fleet",
        reports.to_str().unwrap(),
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("href=\"#appliance-2\"") && page.contains("Connection refused"));
    let text = run(&["fleet", reports.to_str().unwrap()]).stdout_str();
    assert!(
        text.starts_with("FLEET: 3 appliances, worst COMPROMISED (exit 1)"),
        "{text}"
    );
    let csv = run(&["fleet", reports.to_str().unwrap(), "-f", "csv"]).stdout_str();
    assert_eq!(csv.lines().count(), 4);

    let inside = reports.join("fleet.json");
    let out = run(&[
        "fleet",
        reports.to_str().unwrap(),
        "-o",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(!inside.exists());
}

#[test]
fn the_exit_code_follows_the_worst_row() {
    let d = tempfile::tempdir().unwrap();
    let clean = report_of("clean-14.1-66.59-2026", d.path(), "clean");
    let out = run(&["fleet", clean.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let missing = report_of("missing-logs", d.path(), "missing");
    let out = run(&["fleet", clean.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    let failed = d.path().join("failed.json");
    std::fs::write(
        &failed,
        r#"{"schema":"sporen.fleet-error/1","error":"timeout"}"#,
    )
    .unwrap();
    let out = run(&["fleet", d.path().to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stdout_str().contains("failed"));
}

#[test]
fn foreign_reports_are_all_refused_with_their_reasons() {
    let d = tempfile::tempdir().unwrap();
    let good = report_of("clean-14.1-66.59-2026", d.path(), "good");
    let newer = d.path().join("newer.json");
    std::fs::write(
        &newer,
        r#"{"schema":"sporen.report/2","tool":{"name":"sporen"}}"#,
    )
    .unwrap();
    let sarif = d.path().join("scan.sarif");
    std::fs::write(&sarif, r#"{"version":"2.1.0","runs":[]}"#).unwrap();
    let big = d.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    let out = finish({
        let mut c = common::run::command_in(Path::new("."), &["fleet"]);
        c.args([&good, &newer, &sarif, &big]);
        c
    });
    assert_eq!(out.code, Some(2));
    assert!(out.stdout.is_empty());
    for why in [
        "newer.json: a report of schema `sporen.report/2`",
        "scan.sarif: not a sporen report: no \"schema\"",
        "big.json: larger than 64 MiB",
        "no fleet report was written",
    ] {
        assert!(out.stderr.contains(why), "no `{why}`:\n{}", out.stderr);
    }
}
