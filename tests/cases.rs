//! Every fixture appliance is scanned by the real binary; the verdict, the exact set of
//! (rule, path) findings and the exit code must be what `fixtures/<case>/case.toml` says.

mod common;

use common::{finding_set, materialise, sporen};
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
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let case = materialise(name, &root);
        let out = sporen(&["scan", root.to_str().unwrap(), "--format", "json"]);
        let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "{name}: no JSON report ({e}); stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
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
        let verdict = report["verdict"].as_str().unwrap_or("?");
        if verdict != case.verdict {
            failures.push(format!(
                "{name}: verdict {verdict}, expected {}; reasons: {}",
                case.verdict, report["reasons"]
            ));
        }
        if out.status.code() != Some(exit_for(verdict)) {
            failures.push(format!(
                "{name}: exit code {:?} for verdict {verdict}",
                out.status.code()
            ));
        }
        let got = finding_set(&report);
        let want: BTreeSet<_> = case.expect.iter().cloned().collect();
        for missing in want.difference(&got) {
            failures.push(format!(
                "{name}: missing finding {} at {}",
                missing.rule, missing.path
            ));
        }
        for extra in got.difference(&want) {
            failures.push(format!(
                "{name}: unexpected finding {} at {}",
                extra.rule, extra.path
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn two_scans_of_the_same_evidence_give_identical_reports() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    materialise("notrobin", &root);
    for format in ["json", "text", "sarif", "csv", "jsonl"] {
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
    let rules = sporen::rules::RuleSet::load(&sporen::rules::set::RuleSources {
        embedded: true,
        paths: vec![],
    })
    .unwrap();
    let fired: std::collections::BTreeSet<String> = common::case_names()
        .iter()
        .flat_map(|c| common::load_case(c).expect)
        .map(|e| e.rule)
        .collect();
    let silent: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !fired.contains(*id) && !NO_DIRECTORY_FIXTURE.iter().any(|(x, _)| x == id))
        .collect();
    assert!(
        silent.is_empty(),
        "rules with no fixture where they fire: {silent:#?}"
    );
}
