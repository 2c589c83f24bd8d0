//! Every fixture appliance is scanned by the real binary; the verdict, the exact set of
//! (rule, path) findings and the exit code must be what `fixtures/<case>/case.toml` says.

mod common;

use common::report::finding_set;
use common::{Case, ExpectPosture, fixture, scan_json, sporen, try_scan_json};
use serde_json::Value;
use std::collections::BTreeSet;

fn exit_for(verdict: &str) -> i32 {
    match verdict {
        "clean" => 0,
        "review" | "compromised" => 1,
        "inconclusive" => 3,
        v => panic!("unknown verdict {v}"),
    }
}

#[test]
fn every_fixture_gives_its_expected_verdict_and_findings() {
    let names = common::case_names();
    assert!(names.len() >= 6, "fixtures missing: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let (_dir, root) = fixture(name);
        let case = common::load_case(name);
        let (out, report) = try_scan_json(&root, &[]);
        let report = match report {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        // SPOREN_DUMP_REPORTS=DIR keeps each report, for reviewing expectations.
        if let Some(dump) = std::env::var_os("SPOREN_DUMP_REPORTS") {
            std::fs::write(
                std::path::Path::new(&dump).join(format!("{name}.json")),
                &out.stdout,
            )
            .unwrap();
        }
        let mut fail = |what: String| failures.push(format!("{name}: {what}"));
        check_verdict(&case, &report, out.status.code(), &mut fail);
        check_sources(&case, &report, &mut fail);
        check_windows(&case, &report, &mut fail);
        check_posture(&case, &report, &mut fail);
        check_findings(&case, &report, &mut fail);
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The verdict the case states, and the exit code of that verdict.
fn check_verdict(case: &Case, report: &Value, code: Option<i32>, fail: &mut impl FnMut(String)) {
    let verdict = report["verdict"].as_str().unwrap_or("?");
    if verdict != case.verdict {
        fail(format!(
            "verdict {verdict}, expected {}; reasons: {}",
            case.verdict, report["reasons"]
        ));
    }
    if code != Some(exit_for(verdict)) {
        fail(format!("exit code {code:?} for verdict {verdict}"));
    }
}

/// The time coverage of the sources the case lists.
fn check_sources(case: &Case, report: &Value, fail: &mut impl FnMut(String)) {
    for es in &case.expect_source {
        let src = report["coverage"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == es.id.as_str());
        let Some(src) = src else {
            fail(format!("no source {}", es.id));
            continue;
        };
        for (field, want) in [("from", &es.from), ("to", &es.to)] {
            if let Some(w) = want
                && src[field] != w.as_str()
            {
                fail(format!(
                    "source {} {field} {}, expected {w}",
                    es.id, src[field]
                ));
            }
        }
        if let Some(w) = es.year_inferred
            && src["year_inferred"].as_bool().unwrap_or(false) != w
        {
            fail(format!("source {} year_inferred is not {w}", es.id));
        }
    }
}

/// The status of the windows the case lists.
fn check_windows(case: &Case, report: &Value, fail: &mut impl FnMut(String)) {
    for ew in &case.expect_window {
        let got = report["windows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["pack"] == ew.pack.as_str())
            .map(|w| w["status"].as_str().unwrap_or("?").to_owned());
        if got.as_deref() != Some(ew.status.as_str()) {
            fail(format!(
                "window {} is {got:?}, expected {}",
                ew.pack, ew.status
            ));
        }
    }
}

/// The posture the case lists: firmware, CVE status, mitigation, disagreements, secrets.
fn check_posture(case: &Case, report: &Value, fail: &mut impl FnMut(String)) {
    let posture = &report["posture"];
    for ep in &case.expect_posture {
        let mut fail = |what: String| fail(format!("posture: {what}"));
        if let Some(f) = &ep.firmware
            && posture["firmware"] != f.as_str()
        {
            fail(format!("firmware {} instead of {f}", posture["firmware"]));
        }
        if let (Some(id), Some(st)) = (&ep.cve, &ep.status) {
            let got = posture["cves"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id.as_str())
                .map(|c| c["status"].clone());
            if got.as_ref().and_then(|v| v.as_str()) != Some(st.as_str()) {
                fail(format!("{id} is {got:?}, expected {st}"));
            }
        }
        check_mitigation(
            ep,
            common::report::mitigation(report, "CTX267679"),
            &mut fail,
        );
        if let Some(d) = &ep.disagreement
            && !posture["disagreements"].to_string().contains(d.as_str())
        {
            fail(format!(
                "no disagreement mentioning {d:?}: {}",
                posture["disagreements"]
            ));
        }
        if let Some(x) = &ep.secrets
            && !posture["secrets_to_rotate"]
                .to_string()
                .contains(x.as_str())
        {
            fail(format!(
                "no secret mentioning {x:?}: {}",
                posture["secrets_to_rotate"]
            ));
        }
    }
}

/// Whether the mitigation is effective, and since when.
fn check_mitigation(ep: &ExpectPosture, m: &Value, fail: &mut impl FnMut(String)) {
    if let Some(e) = ep.mitigation_effective
        && m["effective"].as_bool() != Some(e)
    {
        fail(format!(
            "mitigation effective {}, expected {e}",
            m["effective"]
        ));
    }
    if let Some(since) = &ep.mitigation_since
        && !m["since"]
            .as_str()
            .unwrap_or("")
            .starts_with(since.as_str())
    {
        fail(format!("mitigation since {}, expected {since}", m["since"]));
    }
}

/// Exactly the (rule, path) findings the case lists.
fn check_findings(case: &Case, report: &Value, fail: &mut impl FnMut(String)) {
    let got = finding_set(report);
    let want: BTreeSet<_> = case.expect.iter().cloned().collect();
    for missing in want.difference(&got) {
        fail(format!(
            "missing finding {} at {}",
            missing.rule, missing.path
        ));
    }
    for extra in got.difference(&want) {
        fail(format!(
            "unexpected finding {} at {}",
            extra.rule, extra.path
        ));
    }
}

#[test]
fn two_scans_of_the_same_evidence_give_identical_reports() {
    let (_dir, root) = fixture("notrobin");
    for format in [
        "json", "text", "sarif", "csv", "jsonl", "timeline", "bodyfile",
    ] {
        let a = sporen(&["scan", root.to_str().unwrap(), "--format", format]);
        let b = sporen(&[
            "scan",
            root.to_str().unwrap(),
            "--format",
            format,
            "-j",
            "1",
        ]);
        assert_eq!(a.stdout, b.stdout, "{format} output differs between runs");
        assert!(!a.stdout.is_empty());
    }
}

/// Rules that no directory fixture can make fire, with the reason.
const NO_DIRECTORY_FIXTURE: &[(&str, &str)] = &[
    (
        "persist.timestomped",
        "needs birth times, which a copied directory does not keep (disk-image input)",
    ),
    (
        "post-2020.known-bad-md5",
        "matches digests of real malware, which the fixtures do not ship; its examples state the digest",
    ),
];

#[test]
fn every_shipped_rule_fires_in_some_fixture() {
    let rules = common::shipped_rules();
    let fired: std::collections::BTreeSet<String> = common::case_names()
        .iter()
        .flat_map(|c| common::load_case(c).expect)
        .map(|e| e.rule)
        .collect();
    let silent: Vec<&str> = rules
        .rules()
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !fired.contains(*id) && !NO_DIRECTORY_FIXTURE.iter().any(|(x, _)| x == id))
        .collect();
    assert!(
        silent.is_empty(),
        "rules with no fixture where they fire: {silent:#?}"
    );
}

/// Findings from logs carry the time they were logged: exact for Apache lines, with an
/// inferred year (and the flag) for syslog lines; rules carry first and last seen.
#[test]
fn findings_carry_logged_times() {
    let (_dir, root) = fixture("cve-2019-19781-citrixmash");
    let v = scan_json(&root, &[]).1;
    let find = |rule: &str, line: u64| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule && f["line"] == line)
            .unwrap_or_else(|| panic!("no {rule} at line {line}"))
            .clone()
    };
    let access = find("cve-2019-19781.access-template-fetch", 51);
    assert_eq!(access["time"], "2020-01-11T23:41:09Z");
    assert!(access.get("time_inferred").is_none());
    let shell = find("cve-2019-19781.shell-as-nobody", 9);
    assert_eq!(shell["time"], "2020-01-11T23:41:31Z");
    assert_eq!(shell["time_inferred"], true);
    let rule = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "cve-2019-19781.shell-as-nobody")
        .unwrap();
    assert_eq!(rule["first_seen"], "2020-01-11T23:41:31Z");
    assert_eq!(rule["last_seen"], "2020-01-11T23:43:05Z");
}

/// --since WINDOW=DATE moves one window: with logs from 5 January, a window opening on
/// 1 January is not covered and the clean box becomes inconclusive; --until is reported with
/// the window.
#[test]
fn since_and_until_move_the_windows() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    let (out, v) = scan_json(&root, &["--since", "cve-2019-19781=2020-01-01"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(v["verdict"], "inconclusive");
    let w = v["windows"].as_array().unwrap();
    assert!(w.iter().any(|w| w["pack"] == "cve-2019-19781"
        && w["status"] == "not_covered"
        && w["from"] == "2020-01-01T00:00:00Z"));
    let (out, v) = scan_json(&root, &["--until", "2020-01-20"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        v["windows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["until"] == "2020-01-20T00:00:00Z")
    );
    assert_eq!(
        sporen(&["scan", root.to_str().unwrap(), "--since", "last tuesday"])
            .status
            .code(),
        Some(2)
    );
}

/// Posture never changes the verdict, but --fail-on-vulnerable lets automation fail on it.
#[test]
fn fail_on_vulnerable_turns_an_exposed_clean_appliance_into_exit_1() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    let (plain, v) = scan_json(&root, &[]);
    assert_eq!(plain.status.code(), Some(0));
    assert_eq!(v["verdict"], "clean");
    assert!(
        v["posture"]["cves"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "vulnerable")
    );
    let (out, strict) = scan_json(&root, &["--fail-on-vulnerable"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vulnerable"));
    assert_eq!(
        strict["verdict"], "clean",
        "posture never changes the verdict"
    );
}
