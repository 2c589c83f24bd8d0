//! The shipped rule packs: valid, every example behaves, every rule has both kinds of example,
//! and `rules check` reports problems with positions.

mod common;

use common::shipped_rules;
use common::sporen;
use std::path::Path;
use std::process::Output;

/// `sporen rules test` with the rules of `file` only.
fn rules_test(file: &Path) -> Output {
    sporen(&[
        "rules",
        "test",
        "--no-builtin-rules",
        "--rules",
        file.to_str().unwrap(),
    ])
}

#[test]
fn every_shipped_example_behaves() {
    let rules = shipped_rules();
    let (count, failures) = common::run_examples(&rules);
    assert!(count >= 2 * rules.rules().len());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_shipped_rule_has_a_positive_and_a_negative_example() {
    for r in shipped_rules().rules() {
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

/// Severity discipline: a rule may be high or critical only for what a clean appliance cannot
/// produce, so each one names its nearest legitimate look-alike in a `no-match` example, and that
/// example must stay silent.
#[test]
fn every_high_or_critical_rule_names_its_nearest_lookalike() {
    use sporen::model::Severity;
    let rules = shipped_rules();
    let missing: Vec<&str> = rules
        .rules()
        .iter()
        .filter(|r| r.severity >= Severity::High)
        .filter(|r| {
            !r.examples
                .iter()
                .any(|e| !e.expect_match && e.lookalike.is_some())
        })
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "high or critical rules without a `lookalike` no-match example: {missing:#?}"
    );
    assert!(
        rules
            .rules()
            .iter()
            .flat_map(|r| &r.examples)
            .all(|e| e.lookalike.is_none() || !e.expect_match)
    );
}

#[test]
fn a_lookalike_on_a_match_example_is_an_error_and_a_missing_one_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l.toml");
    std::fs::write(
        &f,
        r#"[pack]
id = "l"
title = "t"
description = "d"
[[rule]]
id = "l.x"
title = "t"
description = "d"
severity = "high"
references = ["https://example.org"]
[rule.file]
paths = ["var/tmp/x"]
[[rule.example]]
expect = "match"
path = "var/tmp/x"
lookalike = "not here"
[[rule.example]]
expect = "no-match"
path = "var/tmp/y"
"#,
    )
    .unwrap();
    let out = sporen(&["rules", "check", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error[E010]") && err.contains(":16:13") && err.contains("no-match"),
        "{err}"
    );
    std::fs::write(
        &f,
        std::fs::read_to_string(&f)
            .unwrap()
            .replace("lookalike = \"not here\"\n", ""),
    )
    .unwrap();
    let out = rules_test(&f);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("note: l.x is high but names no look-alike"),
        "{text}"
    );
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
    let out = rules_test(&f);
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
