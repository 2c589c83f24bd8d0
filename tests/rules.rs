//! The shipped rule packs: valid, every example behaves, every rule has both kinds of example,
//! and `rules check` reports problems with positions.

mod common;

use common::sporen;
use sporen::rules::RuleSet;
use sporen::rules::set::RuleSources;

fn shipped() -> RuleSet {
    RuleSet::load(&RuleSources {
        embedded: true,
        paths: vec![],
    })
    .unwrap_or_else(|d| panic!("shipped rules invalid: {d:#?}"))
}

#[test]
fn every_shipped_example_behaves() {
    let rules = shipped();
    let (count, failures) = sporen::rules::examples::run_examples(&rules);
    assert!(count >= 2 * rules.rules.len());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_shipped_rule_has_a_positive_and_a_negative_example() {
    for r in &shipped().rules {
        assert!(
            r.examples.iter().any(|e| e.expect_match),
            "{} has no match example",
            r.id
        );
        assert!(
            r.examples.iter().any(|e| !e.expect_match),
            "{} has no no-match example",
            r.id
        );
        assert!(
            r.id.starts_with(&format!("{}.", r.pack)),
            "{} is not prefixed by its pack",
            r.id
        );
        assert!(!r.references.is_empty(), "{} has no reference", r.id);
    }
}

#[test]
fn rules_test_command_passes_and_a_broken_example_fails() {
    let out = sporen(&["rules", "test"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("wrong.toml");
    std::fs::write(
        &f,
        r#"[pack]
id = "w"
title = "t"
description = "d"
[[rule]]
id = "w.x"
title = "t"
description = "d"
severity = "low"
references = ["https://example.org"]
[rule.lines]
logs = ["var/log/cron"]
any = ["(nobody) CMD"]
[[rule.example]]
expect = "match"
line = "(root) CMD (nsfsyncd -p)"
"#,
    )
    .unwrap();
    let out = sporen(&[
        "rules",
        "test",
        "--no-builtin-rules",
        "--rules",
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL w.x (") && text.contains("wrong.toml:14:1"),
        "{text}"
    );
}

#[test]
fn rules_check_reports_every_problem_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "[pack]\nid = \"b\"\ntitle = \"t\"\ndescription = \"d\"\n[[rule]]\nid = \"b.x\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"urgent\"\n[rule.file]\npaths = [\"var/[x\"]\nsha256 = { bad = [\"123\"] }\n[rule.file.content]\nany = [{ regex = \"a(\" }]\n",
    )
    .unwrap();
    let out = sporen(&["rules", "check", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = f.display().to_string();
    for (code, pos) in [
        ("E009", ":9:12"),
        ("E006", ":11:10"),
        ("E008", ":12:19"),
        ("E005", ":14:18"),
    ] {
        assert!(
            err.contains(&format!("error[{code}]")) && err.contains(&format!("{name}{pos}")),
            "missing {code} at {pos} in:\n{err}"
        );
    }
    let json = sporen(&["rules", "check", "--json", f.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
}
