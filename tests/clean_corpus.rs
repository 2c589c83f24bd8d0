//! The clean-appliance corpus: every `fixtures/clean-*` appliance was never attacked, and holds
//! what real appliances hold (stock set-id files, bookmarks and upgrade tarballs written by
//! nobody, customer themes, refused probes, admin and responder shell history, detection-tool
//! residue, HA copies, crash dumps). Scanned as a folder, none may give a finding above `low`,
//! and each must be `clean`, or `inconclusive` for the reason its case states. A false
//! `compromised` sends an organisation into incident response, so every violation is listed at
//! once: rule, path, severity and the line or reason that matched.

mod common;

use common::{fixture, load_case, try_scan_json};
use std::path::Path;

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
    let mut counts = std::collections::BTreeMap::new();
    let mut alarms = 0;
    for name in &names {
        let (_dir, root) = fixture(name);
        let case = load_case(name);
        let report = match try_scan_json(&root, &[]).1 {
            Ok(v) => v,
            Err(e) => {
                violations.push(format!("{name}: {e}"));
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
        *counts.entry(verdict.to_owned()).or_insert(0usize) += 1;
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
    let summary = format!(
        "{} never-attacked appliances, {alarms} false alarms",
        names.len()
    );
    println!("{summary}");
    assert!(
        violations.is_empty(),
        "\n{}\n{summary}",
        violations.join("\n")
    );
    // The README states the result of this test; it must state this run's count.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let count = |v: &str| counts.get(v).copied().unwrap_or(0);
    let stated = format!(
        "{} never-attacked appliances, 0 false alarms**: {} are `clean`, {} `inconclusive`",
        names.len(),
        count("clean"),
        count("inconclusive")
    );
    assert!(
        readme.contains(&stated),
        "README.md does not say {stated:?}"
    );
}

/// The build a tree boots, from `flash/boot/loader.conf` (`kernel="/ns-13.1-50.23"`).
fn booted_build(root: &Path) -> String {
    let conf = std::fs::read_to_string(root.join("flash/boot/loader.conf")).unwrap();
    conf.lines()
        .find_map(|l| l.strip_prefix("kernel=\"/ns-"))
        .map(|v| v.trim_end_matches('"').to_owned())
        .unwrap()
}

/// "13.0-47.24" as (branch, (47, 24)).
fn split_build(b: &str) -> (&str, (u32, u32)) {
    let (branch, num) = b.split_once('-').unwrap();
    let (major, minor) = num.split_once('.').unwrap();
    (branch, (major.parse().unwrap(), minor.parse().unwrap()))
}

/// Does a baseline entry apply to this build (its `families` and `from`)?
fn applies(entry: &toml::Value, build: &str) -> bool {
    let (branch, num) = split_build(build);
    let families = entry.get("families").and_then(|f| f.as_array());
    if families.is_some_and(|f| !f.iter().any(|x| x.as_str() == Some(branch))) {
        return false;
    }
    match entry.get("from").and_then(|f| f.as_str()) {
        Some(from) => {
            let (fb, fnum) = split_build(from);
            fb != branch || num >= fnum
        }
        None => true,
    }
}

/// Every set-id file and every file or folder owned by nobody in a clean appliance is stock: the
/// baseline in `src/appliance/netscaler/baseline.toml` lists it for the appliance's firmware family, with its
/// mode and owner. Every baseline entry names its source and how sure it is.
#[test]
fn the_stock_baseline_lists_every_set_id_and_nobody_file_of_the_clean_appliances() {
    let text =
        std::fs::read_to_string(common::project().join("src/appliance/netscaler/baseline.toml"))
            .unwrap();
    let baseline: toml::Value = toml::from_str(&text).unwrap();
    let families: Vec<&str> = baseline["family"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let mut problems = entry_problems(&baseline, &families);
    let owners_applied = common::can_chown();
    for name in common::case_names()
        .iter()
        .filter(|n| n.starts_with("clean-"))
    {
        let (_dir, root) = fixture(name);
        let build = booted_build(&root);
        let (branch, _) = split_build(&build);
        if !families.contains(&branch) {
            problems.push(format!(
                "{name}: boots {build}, a family the baseline does not describe"
            ));
            continue;
        }
        let stock = Stock::of(&baseline, &build, owners_applied);
        let mut paths: Vec<_> = common::tree::walk(&root)
            .into_iter()
            .filter(|p| !p.is_symlink())
            .collect();
        paths.sort();
        for p in paths {
            let rel = p.strip_prefix(&root).unwrap();
            problems.extend(
                stock
                    .unlisted(&p, rel)
                    .into_iter()
                    .map(|what| format!("{name} ({build}): {what}")),
            );
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Every baseline entry is a glob of the rules' dialect, names its source and how sure it is,
/// and names only families the baseline describes.
fn entry_problems(baseline: &toml::Value, families: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for kind in ["setid", "nobody", "stock", "expected"] {
        for e in baseline[kind].as_array().unwrap() {
            let path = e["path"].as_str().unwrap();
            if sporen::util::glob::compile(path).is_err() || path.starts_with('/') {
                problems.push(format!(
                    "baseline {kind} {path}: not a glob of the rules' dialect"
                ));
            }
            if e.get("source")
                .and_then(|s| s.as_str())
                .is_none_or(str::is_empty)
            {
                problems.push(format!("baseline {kind} {path}: no source"));
            }
            let status = e.get("status").and_then(|s| s.as_str());
            if !matches!(status, Some("sourced" | "assumed" | "synthetic")) {
                problems.push(format!("baseline {kind} {path}: status {status:?}"));
            }
            for f in e
                .get("families")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
            {
                if !families.contains(&f.as_str().unwrap_or("")) {
                    problems.push(format!("baseline {kind} {path}: unknown family {f}"));
                }
            }
        }
    }
    problems
}

/// The baseline entries for the set-id files and the entries owned by nobody of one build.
struct Stock {
    setid: Vec<toml::Value>,
    nobody: Vec<toml::Value>,
    /// Whether the fixture's owners were applied (only root can).
    owners_applied: bool,
}

impl Stock {
    fn of(baseline: &toml::Value, build: &str, owners_applied: bool) -> Stock {
        let entries = |kind: &str| -> Vec<toml::Value> {
            baseline[kind]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| applies(e, build))
                .cloned()
                .collect()
        };
        Stock {
            setid: entries("setid"),
            nobody: entries("nobody"),
            owners_applied,
        }
    }

    /// What the baseline fails to list about the entry at `p` (`rel` inside the tree): a
    /// set-id file with its mode and owner, a file or folder owned by nobody with its mode and
    /// group.
    fn unlisted(&self, p: &Path, rel: &Path) -> Vec<String> {
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::symlink_metadata(p).unwrap();
        let mode = format!("{:04o}", md.mode() & 0o7777);
        let matches = |e: &toml::Value| {
            sporen::util::glob::compile(e["path"].as_str().unwrap())
                .unwrap()
                .compile_matcher()
                .is_match(rel)
        };
        let listed = |e: &toml::Value, key: &str, v: &str| {
            e.get(key)
                .and_then(|m| m.as_array())
                .is_none_or(|m| m.iter().any(|x| x.as_str() == Some(v)))
        };
        let mut problems = Vec::new();
        if md.is_file() && md.mode() & 0o6000 != 0 {
            let ok = self.setid.iter().any(|e| {
                matches(e)
                    && listed(e, "mode", &mode)
                    && (!self.owners_applied
                        || (e["uid"].as_integer() == Some(md.uid().into())
                            && e["gid"].as_integer() == Some(md.gid().into())))
            });
            if !ok {
                problems.push(format!(
                    "set-id /{} mode {mode} {}:{} is not in the baseline",
                    rel.display(),
                    md.uid(),
                    md.gid()
                ));
            }
        }
        if self.owners_applied && md.uid() == 65534 {
            let kind = if md.is_dir() { "dir" } else { "file" };
            let ok = self.nobody.iter().any(|e| {
                let t = e["type"].as_str().unwrap_or("file");
                matches(e)
                    && (t == "any" || t == kind)
                    && listed(e, "mode", &mode)
                    && e["gid"]
                        .as_array()
                        .is_some_and(|g| g.iter().any(|x| x.as_integer() == Some(md.gid().into())))
            });
            if !ok {
                problems.push(format!(
                    "/{} ({kind}, mode {mode}, gid {}) owned by nobody is not in the baseline",
                    rel.display(),
                    md.gid()
                ));
            }
        }
        problems
    }
}
