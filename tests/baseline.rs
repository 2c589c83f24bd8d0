//! The stock baseline as the product uses it: listed per build by `sporen baseline`, checked by
//! `sporen rules check` with every problem located, and consulted by rules for the firmware
//! family read from the appliance before the scan (every family when it cannot be read).

mod common;

use common::{scan_json, sporen};
use std::os::unix::fs::PermissionsExt;

#[test]
fn sporen_baseline_lists_the_entries_of_a_build() {
    let out = sporen(&["baseline", "13.1-49.15", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["build"], "13.1-49.15");
    assert_eq!(v["family"]["id"], "13.1");
    let paths = |v: &serde_json::Value| -> Vec<String> {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(paths(&v).iter().any(|p| p.starts_with("var/sbin/")));
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["source"].as_str().unwrap().is_empty())
    );
    let old: serde_json::Value =
        serde_json::from_slice(&sporen(&["baseline", "10.5", "--json"]).stdout).unwrap();
    assert!(!paths(&old).iter().any(|p| p.starts_with("var/sbin/")));
    let text = String::from_utf8(sporen(&["baseline"]).stdout).unwrap();
    assert!(text.contains("every family"), "{text}");
    let bad = sporen(&["baseline", "thirteen"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a firmware version"));
}

#[test]
fn rules_check_checks_a_baseline_file_and_locates_every_problem() {
    let shipped = common::project().join("src/appliance/netscaler/baseline.toml");
    let ok = sporen(&["rules", "check", shipped.to_str().unwrap()]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("baseline.toml");
    std::fs::write(
        &f,
        r#"schema = "sporen.baseline/1"
[[family]]
id = "13.1"
title = "t"
os = "o"
python = "p"
passwd = "long"
tarball = "x"
builds = []
source = "cves.md"
status = "sourced"
[[setid]]
path = "usr/bin/[su"
mode = ["4555"]
uid = 0
gid = 0
status = "sourced"
"#,
    )
    .unwrap();
    let out = sporen(&["rules", "check", "--json", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(got.contains(&("E006".into(), 13)), "{got:?}");
    assert!(got.contains(&("E004".into(), 12)), "{got:?}");
}

/// A set-uid shell in /var/tmp on a 13.1 appliance: the finding says which firmware family the
/// baseline was taken for, and where that was read; without a version file, that every family
/// was used and why.
#[test]
fn findings_name_the_firmware_family_the_baseline_was_taken_for() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("var/tmp")).unwrap();
    std::fs::create_dir_all(root.join("var/run")).unwrap();
    std::fs::write(root.join("var/tmp/bash"), b"\x7fELF\x02\x01\x01\x09").unwrap();
    std::fs::set_permissions(root.join("var/tmp/bash"), PermissionsExt::from_mode(0o4755)).unwrap();
    std::fs::write(root.join("var/run/nsfoo.pid"), b"4410\n").unwrap();
    std::fs::set_permissions(
        root.join("var/run/nsfoo.pid"),
        PermissionsExt::from_mode(0o2644),
    )
    .unwrap();
    let scan = |root: &std::path::Path| scan_json(root, &[]).1;
    let finding = |v: &serde_json::Value, rule: &str| -> serde_json::Value {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule}: {v}"))
            .clone()
    };
    let unknown = scan(&root);
    let f = finding(&unknown, "cve-2023-3519.setuid-outside-allowlist");
    assert_eq!(f["severity"], "high");
    assert!(
        f["reason"]
            .as_str()
            .unwrap()
            .contains("any firmware family (the firmware family is unknown)"),
        "{f}"
    );
    let pid = finding(&unknown, "cve-2023-3519.setid-cannot-run");
    assert_eq!(pid["severity"], "info");
    std::fs::create_dir_all(root.join("flash/boot")).unwrap();
    std::fs::write(
        root.join("flash/boot/loader.conf"),
        "kernel=\"/ns-13.1-49.15\"\n",
    )
    .unwrap();
    let known = scan(&root);
    let f = finding(&known, "cve-2023-3519.setuid-outside-allowlist");
    assert!(
        f["reason"]
            .as_str()
            .unwrap()
            .contains("firmware 13.1-49.15 (read from /flash/boot/loader.conf)"),
        "{f}"
    );
}
