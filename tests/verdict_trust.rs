//! A verdict that can be trusted both ways: one CVE table decides which windows concern an
//! appliance, every change the examiner makes is recorded, a tree that is not an appliance is
//! never `compromised` or `clean`, and what was not checked is said.

mod common;

use common::fixture;
use common::report::window;
use common::run::{GIB, scan_bounded, sporen_bounded};
use serde_json::Value;
use std::path::Path;

fn scan(root: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let r = scan_bounded(root, "json", extra, 120, 2 * GIB);
    let json = if r.stdout.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    (r.code, json, r.stderr)
}

fn reasons(r: &Value) -> String {
    r["reasons"].to_string()
}

/// The 2023 gateway turned into a regular 12.1 build that never got a fix for CVE-2023-3519:
/// only the FIPS line of 12.1 was fixed (55.297), so the window concerns it.
#[test]
fn a_regular_12_1_build_after_the_fips_fix_is_still_exposed() {
    let (_dir, root) = fixture("clean-13.1-49.15");
    let flash = root.join("flash");
    std::fs::write(
        flash.join("boot/loader.conf"),
        "autoboot_delay=3\nkernel=\"/ns-12.1-56.22\"\n",
    )
    .unwrap();
    std::fs::write(flash.join(".version"), "NetScaler 12.1 build 56\n").unwrap();
    for old in ["ns-13.1-49.13.gz", "ns-13.1-49.15.gz"] {
        std::fs::remove_file(flash.join(old)).unwrap();
    }
    for n in 0..4 {
        std::fs::remove_file(flash.join(format!("nsconfig/ns.conf.{n}"))).unwrap();
    }
    let conf = flash.join("nsconfig/ns.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replacen("#NS13.1 Build 49.15", "#NS12.1 Build 56.22", 1),
    )
    .unwrap();
    let (code, r, _) = scan(&root, &[]);
    assert_eq!(r["posture"]["firmware"], "12.1-56.22");
    let w = window(&r, "cve-2023-3519");
    assert_eq!(w["status"], "not_covered", "{w}");
    assert_eq!(r["verdict"], "inconclusive", "{}", reasons(&r));
    assert_eq!(code, Some(3));
}

#[test]
fn every_change_the_examiner_makes_to_a_window_is_in_the_reasons() {
    let (_dir, root) = fixture("logs-after-window-13.0");
    let (_, plain, _) = scan(&root, &[]);
    assert_eq!(plain["verdict"], "inconclusive");
    let (code, moved, _) = scan(
        &root,
        &[
            "--since",
            "cve-2019-19781=2020-01-16",
            "--since",
            "post-2020=2020-01-16",
        ],
    );
    assert_eq!(moved["verdict"], "clean", "{}", reasons(&moved));
    assert_eq!(code, Some(0));
    let w = window(&moved, "cve-2019-19781");
    assert_eq!(w["from"], "2020-01-16T00:00:00Z");
    assert!(
        w["examiner"]
            .to_string()
            .contains("from 2020-01-09 to 2020-01-16"),
        "{w}"
    );
    let text = reasons(&moved);
    assert!(
        text.contains("The examiner changed the CVE-2019-19781"),
        "{text}"
    );
    assert!(text.contains("as set by the examiner"), "{text}");
}

#[test]
fn a_date_for_every_window_never_moves_a_later_window_earlier() {
    let (_dir, root) = fixture("clean-13.1-49.15");
    let (_, r, _) = scan(&root, &["--since", "2020-01-05"]);
    let w = window(&r, "cve-2023-3519");
    assert_eq!(w["from"], "2023-06-01T00:00:00Z", "{w}");
    assert!(w["examiner"].as_array().unwrap().is_empty(), "{w}");
    let (_, r, _) = scan(&root, &["--since", "2023-07-01"]);
    let w = window(&r, "cve-2023-3519");
    assert_eq!(w["from"], "2023-07-01T00:00:00Z", "{w}");
    assert!(reasons(&r).contains("start moved by the examiner from 2023-06-01 to 2023-07-01"));
}

#[test]
fn inverted_ranges_and_unknown_windows_are_errors() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    for args in [
        &["--since", "2021-01-01", "--until", "2020-01-01"][..],
        &[
            "--since",
            "cve-2019-19781=2020-02-01",
            "--until",
            "cve-2019-19781=2020-01-20",
        ][..],
        &["--since", "cve-1999-0001=2020-01-05"][..],
        &["--since", "=2020-01-05"][..],
    ] {
        let (code, r, err) = scan(&root, args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(r.is_null(), "{args:?}: no report is written");
        assert!(!err.is_empty());
    }
    let (code, _, err) = scan(&root, &["--since", "CVE-2019-19781=2020-01-05"]);
    assert_eq!(code, Some(0), "a window can be named by its CVE: {err}");
}

#[test]
fn a_tree_that_is_not_an_appliance_is_inconclusive_whatever_matched() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("home/alice")).unwrap();
    std::fs::create_dir_all(root.join("var/tmp")).unwrap();
    // A workstation: a webshell sample in a responder's notes, a setuid helper.
    std::fs::write(
        root.join("var/tmp/bash"),
        b"\x7fELF\x02\x01\x01\0 a copy of a shell",
    )
    .unwrap();
    std::fs::write(
        root.join("home/alice/notes.php"),
        "<?php eval($_POST['c']); ?>\n",
    )
    .unwrap();
    let (code, r, _) = scan(&root, &[]);
    assert_eq!(r["verdict"], "inconclusive", "{}", reasons(&r));
    assert_eq!(code, Some(3));
    let first = r["reasons"][0].as_str().unwrap();
    assert!(first.contains("does not look like"), "{first}");
}

#[test]
fn the_mitigation_is_unknown_without_a_saved_configuration() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    std::fs::remove_file(root.join("flash/nsconfig/ns.conf")).unwrap();
    // With the rc.netscaler line, the parts ns.conf would show are all that is unknown.
    std::fs::write(
        root.join("flash/nsconfig/rc.netscaler"),
        "nsapimgr_wr.sh -ys skip_systemaccess_policyeval=0\n",
    )
    .unwrap();
    let (_, r, _) = scan(&root, &[]);
    let m = common::report::mitigation(&r, "CTX267679");
    let parts = m["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 4, "{m}");
    // The three ns.conf parts are unknown, not absent; the rc.netscaler line is there.
    assert_eq!(
        parts.iter().filter(|p| p["present"].is_null()).count(),
        3,
        "{m}"
    );
    assert!(m["effective"].is_null(), "{m}");
    assert!(m["missing"].is_null(), "{m}");
    let text = sporen_bounded(&["scan", root.to_str().unwrap()], 120, 2 * GIB);
    let out = String::from_utf8_lossy(&text.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        out.contains("Mitigation CTX267679 for CVE-2019-19781"),
        "{out}"
    );
    assert!(
        out.contains("unknown (the evidence does not show every part)"),
        "{out}"
    );
    // Without it, the one part the evidence shows absent decides: not effective, and named.
    std::fs::write(root.join("flash/nsconfig/rc.netscaler"), "").unwrap();
    let (_, r, _) = scan(&root, &[]);
    let m = common::report::mitigation(&r, "CTX267679");
    assert_eq!(m["effective"], false, "{m}");
    assert_eq!(m["missing"].as_array().map(Vec::len), Some(1), "{m}");
}

#[test]
fn the_note_on_the_missing_ram_disk_names_only_what_was_examined() {
    let (_dir, root) = fixture("flash-var-only");
    let (_, r, _) = scan(&root, &[]);
    assert!(
        reasons(&r).contains("/flash and /var were examined"),
        "{}",
        reasons(&r)
    );
    std::fs::remove_dir_all(root.join("flash")).unwrap();
    let (_, r, _) = scan(&root, &[]);
    let text = reasons(&r);
    assert!(text.contains("only /var is in the evidence"), "{text}");
    assert!(!text.contains("/flash and /var were"), "{text}");
}

#[test]
fn a_source_in_the_evidence_that_no_rule_reads_is_named() {
    let (dir, root) = fixture("clean-13.0-47.24");
    let (_, r, _) = scan(&root, &[]);
    let auth = r["coverage"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "auth-log")
        .unwrap();
    if auth["files_read"] == 0 {
        assert!(
            reasons(&r).contains(
                "sshd log (auth.log) is in the evidence (1 file) but no rule in force reads it"
            ),
            "{}",
            reasons(&r)
        );
    }
    // With a rule pack that reads no log at all, every log source is named.
    let rules = dir.path().join("one.toml");
    std::fs::write(
        &rules,
        "[pack]\nid = \"one\"\ntitle = \"t\"\ndescription = \"d\"\n\n[[rule]]\nid = \"one.r\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"low\"\n[rule.file]\npaths = [\"var/nope\"]\n",
    )
    .unwrap();
    let (_, r, _) = scan(
        &root,
        &["--no-builtin-rules", "--rules", rules.to_str().unwrap()],
    );
    assert!(
        reasons(&r).contains("sshd log (auth.log) is in the evidence"),
        "{}",
        reasons(&r)
    );
}

#[test]
fn rules_check_and_scan_refuse_the_same_unknown_window_references() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("w.toml");
    std::fs::write(
        &rules,
        "[pack]\nid = \"w\"\ntitle = \"t\"\ndescription = \"d\"\n\n[pack.window]\ntitle = \"W\"\nfrom = 2020-01-10\nsources = [\"access-log\", \"nope\"]\ncve = \"CVE-2001-0001\"\n\n[[rule]]\nid = \"w.r\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"low\"\n[rule.file]\npaths = [\"var/nope\"]\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let check = sporen_bounded(&["rules", "check", rules], 60, 2 * GIB);
    assert_eq!(check.code, Some(2), "{}", check.stderr);
    assert!(check.stderr.contains("error[E013]"), "{}", check.stderr);
    assert!(check.stderr.contains("error[E031]"), "{}", check.stderr);
    assert!(
        check.stderr.contains("w.toml:9:"),
        "located: {}",
        check.stderr
    );
    assert!(
        check.stderr.contains("w.toml:10:"),
        "both at once: {}",
        check.stderr
    );
    let root = common::root_in(dir.path(), "clean-13.0-47.24");
    let (code, r, err) = scan(&root, &["--rules", rules]);
    assert_eq!(code, Some(2));
    assert!(r.is_null());
    assert!(
        err.contains("error[E013]") && err.contains("error[E031]"),
        "{err}"
    );
    // The fixed builds of a window come from the CVE table only.
    let old = dir.path().join("old.toml");
    std::fs::write(
        &old,
        "[pack]\nid = \"o\"\ntitle = \"t\"\ndescription = \"d\"\n\n[pack.window]\ntitle = \"W\"\nfrom = 2020-01-10\nsources = [\"access-log\"]\nfixed = { \"13.0\" = \"47.24\" }\n\n[[rule]]\nid = \"o.r\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"low\"\n[rule.file]\npaths = [\"var/nope\"]\n",
    )
    .unwrap();
    let check = sporen_bounded(&["rules", "check", old.to_str().unwrap()], 60, 2 * GIB);
    assert_eq!(check.code, Some(2));
    assert!(
        check.stderr.contains("error[E024]") && check.stderr.contains("one table"),
        "{}",
        check.stderr
    );
}

#[test]
fn a_target_folder_that_cannot_be_listed_is_an_error_not_a_verdict() {
    if !common::can_chown() {
        eprintln!("needs root to run sporen as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_sporen"))
        .args(["scan", root.to_str().unwrap(), "--format", "json"])
        .output()
        .expect("run setpriv (util-linux)");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ermission denied"));
}
