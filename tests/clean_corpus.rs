//! The clean-appliance corpus: every `fixtures/clean-*` appliance was never attacked, and holds
//! what real appliances hold (stock set-id files, bookmarks and upgrade tarballs written by
//! nobody, customer themes, refused probes, admin and responder shell history, detection-tool
//! residue, HA copies, crash dumps). Scanned as a folder, none may give a finding above `low`,
//! and each must be `clean`, or `inconclusive` for the reason its case states. A false
//! `compromised` sends an organisation into incident response, so every violation is listed at
//! once: rule, path, severity and the line or reason that matched.

mod common;

use common::{load_case, materialise, sporen};

fn rank(severity: &str) -> u8 {
    match severity {
        "info" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        other => panic!("unknown severity {other}"),
    }
}

/// What the reasons of an `inconclusive` report must mention for this case: its
/// `inconclusive_reason`, or else the titles of the exposure windows it lists as not covered.
fn expected_reasons(name: &str, report: &serde_json::Value) -> Vec<String> {
    let path = common::project()
        .join("fixtures")
        .join(name)
        .join("case.toml");
    let raw: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if let Some(r) = raw.get("inconclusive_reason").and_then(|r| r.as_str()) {
        return vec![r.to_owned()];
    }
    load_case(name)
        .expect_window
        .iter()
        .filter(|w| w.status == "not_covered")
        .filter_map(|w| {
            report["windows"]
                .as_array()?
                .iter()
                .find(|x| x["pack"] == w.pack.as_str())
                .and_then(|x| x["title"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn clean_appliances_give_no_finding_above_low_and_a_clean_verdict() {
    let names: Vec<String> = common::case_names()
        .into_iter()
        .filter(|n| n.starts_with("clean-"))
        .collect();
    assert!(names.len() >= 10, "the clean corpus is missing: {names:?}");
    let mut violations = Vec::new();
    let mut alarms = 0;
    for name in &names {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let case = materialise(name, &root);
        let out = sporen(&["scan", root.to_str().unwrap(), "--format", "json"]);
        let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                violations.push(format!(
                    "{name}: no JSON report ({e}); stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        for f in report["findings"].as_array().unwrap() {
            let severity = f["severity"].as_str().unwrap();
            if rank(severity) <= rank("low") {
                continue;
            }
            alarms += 1;
            let at = match f["line"].as_u64() {
                Some(n) => format!("{}:{n}", f["path"].as_str().unwrap()),
                None => f["path"].as_str().unwrap().to_owned(),
            };
            let what = f["excerpt"]
                .as_str()
                .or_else(|| f["reason"].as_str())
                .unwrap_or("");
            let what: String = what.chars().take(140).collect();
            violations.push(format!(
                "{name}: {severity} {} at {at}: {what}",
                f["rule"].as_str().unwrap()
            ));
        }
        let verdict = report["verdict"].as_str().unwrap_or("?");
        let reasons = report["reasons"].to_string();
        match verdict {
            "clean" if case.verdict == "clean" => {}
            "inconclusive" if case.verdict == "inconclusive" => {
                let want = expected_reasons(name, &report);
                if want.is_empty() {
                    violations.push(format!(
                        "{name}: inconclusive, but the case states no inconclusive_reason"
                    ));
                }
                for w in want.iter().filter(|w| !reasons.contains(w.as_str())) {
                    violations.push(format!(
                        "{name}: inconclusive, but the reasons do not say {w:?}: {reasons}"
                    ));
                }
            }
            _ => violations.push(format!(
                "{name}: verdict {verdict}, expected {}; reasons: {reasons}",
                case.verdict
            )),
        }
    }
    let summary = format!("{} clean appliances, {alarms} false alarms", names.len());
    println!("{summary}");
    assert!(
        violations.is_empty(),
        "\n{}\n{summary}",
        violations.join("\n")
    );
}
