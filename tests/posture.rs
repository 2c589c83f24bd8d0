//! Posture beyond the firmware: the configuration that exposes the appliance to each CVE, the
//! day it left a vulnerable build, each part of a published mitigation, and whether the
//! mitigation held according to the logged answers to later attempts.

mod common;

use common::report::{cve_posture, mitigation};
use common::{fixture, scan_json, sporen};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn append(root: &Path, rel: &str, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(root.join(rel))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn edit(root: &Path, rel: &str, from: &str, to: &str) {
    let p = root.join(rel);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{rel} lacks {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

/// The text report with its line wrapping undone (runs of white space as one space).
fn text_report(root: &Path) -> String {
    String::from_utf8_lossy(&sporen(&["scan", root.to_str().unwrap()]).stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn part<'v>(m: &'v Value, name: &str) -> &'v Value {
    m["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no part {name}: {m}"))
}

#[test]
fn every_part_of_ctx267679_is_reported_and_the_later_attempts_were_refused() {
    let (_dir, root) = fixture("clean-10.5-70.12-2020");
    let (_, r) = scan_json(&root, &[]);
    let m = mitigation(&r, "CTX267679");
    assert_eq!(m["cve"], "CVE-2019-19781");
    assert_eq!(m["effective"], true, "{m}");
    assert_eq!(m["parts"].as_array().unwrap().len(), 4, "{m}");
    let feature = part(m, "responder feature enabled");
    assert_eq!(feature["present"], true);
    assert_eq!(feature["where"], "/flash/nsconfig/ns.conf:4");
    assert_eq!(
        part(m, "policy bound globally")["line"],
        "bind responder global ctx267027 1 END -type REQ_OVERRIDE"
    );
    assert_eq!(part(m, "nsapimgr_wr.sh")["present"], true);
    let held = &m["held"];
    assert_eq!(held["held"], true, "{m}");
    let after = held["attempts_after"].as_u64().unwrap();
    assert!(after >= 1, "{held}");
    assert_eq!(held["refused_after"].as_u64(), Some(after), "{held}");
    assert!(
        held["summary"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{after} attempts, all refused (403)")),
        "{held}"
    );
    let text = text_report(&root);
    assert!(text.contains("held: from 2020-01-13 on, "), "{text}");
}

#[test]
fn an_attempt_answered_200_after_the_mitigation_date_means_it_did_not_work() {
    let (_dir, root) = fixture("clean-10.5-70.12-2020");
    append(
        &root,
        "var/log/httpaccess.log",
        "203.0.113.9 - - [25/Jan/2020:16:02:11 +0000] \"POST /vpn/../vpns/portal/scripts/newbm.pl HTTP/1.1\" 200 143 \"-\" \"curl/7.58.0\\x1b[2J\" \"Time: 4121 microsecs\"\n",
    );
    let (_, r) = scan_json(&root, &[]);
    let held = &mitigation(&r, "CTX267679")["held"];
    assert_eq!(held["held"], false, "{held}");
    assert!(
        held["summary"]
            .as_str()
            .unwrap()
            .contains("it did not work"),
        "{held}"
    );
    assert!(
        held["examples"][0]
            .as_str()
            .unwrap()
            .contains("newbm.pl HTTP/1.1\" 200"),
        "{held}"
    );
    let text = text_report(&root);
    assert!(text.contains("DID NOT HOLD: from 2020-01-13 on"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "attacker bytes reach the terminal raw"
    );
}

#[test]
fn a_missing_part_is_named() {
    let (_dir, root) = fixture("clean-10.5-70.12-2020");
    edit(
        &root,
        "flash/nsconfig/ns.conf",
        "enable ns feature LB SSL SSLVPN RESPONDER",
        "enable ns feature LB SSL SSLVPN",
    );
    let (_, r) = scan_json(&root, &[]);
    let m = mitigation(&r, "CTX267679");
    assert_eq!(m["effective"], false, "{m}");
    assert_eq!(
        m["missing"],
        serde_json::json!(["responder feature enabled"])
    );
    assert_eq!(part(m, "responder feature enabled")["present"], false);
    let text = text_report(&root);
    assert!(
        text.contains("NOT in place: missing responder feature enabled"),
        "{text}"
    );
    // A policy that is not bound with REQ_OVERRIDE is a missing part of its own.
    edit(
        &root,
        "flash/nsconfig/ns.conf",
        "1 END -type REQ_OVERRIDE",
        "1 END -type REQ_DEFAULT",
    );
    let (_, r) = scan_json(&root, &[]);
    let m = mitigation(&r, "CTX267679");
    assert!(
        m["missing"]
            .to_string()
            .contains("policy bound globally with -type REQ_OVERRIDE"),
        "{m}"
    );
}

#[test]
fn the_saved_configuration_says_whether_a_vulnerable_build_was_exposed() {
    let (_dir, root) = fixture("apt41-ftp-bsd");
    let (_, r) = scan_json(&root, &[]);
    let bleed = &cve_posture(&r, "CVE-2023-4966")["exposure"];
    assert_eq!(bleed["state"], "exposed", "{bleed}");
    assert_eq!(bleed["summary"], "vulnerable build, exposed configuration");
    assert_eq!(bleed["lines"][0]["path"], "/flash/nsconfig/ns.conf");
    assert!(
        bleed["lines"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("add vpn vserver "),
        "{bleed}"
    );
    let saml = &cve_posture(&r, "CVE-2022-27518")["exposure"];
    assert_eq!(saml["state"], "not_configured", "{saml}");
    assert!(
        saml["summary"]
            .as_str()
            .unwrap()
            .starts_with("vulnerable build, feature not configured"),
        "{saml}"
    );
    // A build that is fixed says nothing about exposure.
    assert!(cve_posture(&r, "CVE-2019-19781")["exposure"]["state"] != "exposed");
    append(
        &root,
        "flash/nsconfig/ns.conf",
        "add authentication samlAction sp_idp -samlIdPCertName idp -samlRedirectUrl \"https://idp.example.nl/\x1b]0;x\x07\"\n",
    );
    let (_, r) = scan_json(&root, &[]);
    let saml = &cve_posture(&r, "CVE-2022-27518")["exposure"];
    assert_eq!(saml["state"], "exposed", "{saml}");
    assert_eq!(saml["lines"][0]["what"], "SAML SP");
    let text = text_report(&root);
    assert!(text.contains("SAML SP (/flash/nsconfig/ns.conf:"), "{text}");
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
    std::fs::remove_file(root.join("flash/nsconfig/ns.conf")).unwrap();
    let (_, r) = scan_json(&root, &[]);
    let bleed = &cve_posture(&r, "CVE-2023-4966")["exposure"];
    assert_eq!(bleed["state"], "unknown", "{bleed}");
    assert_eq!(
        bleed["summary"],
        "vulnerable build, exposure unknown (no saved configuration)"
    );
}

#[test]
fn posture_names_the_day_the_appliance_left_the_vulnerable_build() {
    let (_dir, root) = fixture("clean-10.5-70.12-2020");
    let (_, r) = scan_json(&root, &[]);
    let left = &cve_posture(&r, "CVE-2019-19781")["left_vulnerable"];
    assert_eq!(left["build"], "10.5-70.12", "{left}");
    assert_eq!(left["vulnerable_build"], "10.5-69.3", "{left}");
    assert!(
        left["at"].as_str().unwrap().starts_with("2020-01-2"),
        "{left}"
    );
    let text = text_report(&root);
    assert!(
        text.contains("left the vulnerable build on 2020-01-2"),
        "{text}"
    );
}

#[test]
fn sessions_ended_after_the_upgrade_are_checked_command_by_command() {
    let (_dir, root) = fixture("clean-13.1-49.15");
    let (_, r) = scan_json(&root, &[]);
    let left = &cve_posture(&r, "CVE-2023-4966")["left_vulnerable"];
    assert_eq!(left["build"], "13.1-49.15", "{left}");
    let m = mitigation(&r, "CVE-2023-4966 sessions");
    assert_eq!(m["effective"], true, "{m}");
    let aaa = part(m, "kill aaa session -all");
    assert_eq!(aaa["present"], true, "{m}");
    assert!(
        aaa["where"]
            .as_str()
            .unwrap()
            .starts_with("/var/log/ns.log"),
        "{aaa}"
    );
    // The same commands before the appliance left the vulnerable build do not count: a
    // token stolen afterwards from the still vulnerable build stays valid.
    let later = filetime::FileTime::from_unix_time(1_700_000_000, 0); // 2023-11-14
    let nsinstall = root.join("var/nsinstall");
    for e in std::fs::read_dir(&nsinstall).unwrap() {
        filetime::set_file_mtime(e.unwrap().path(), later).unwrap();
    }
    filetime::set_file_mtime(root.join("flash/ns-13.1-49.15.gz"), later).unwrap();
    edit(
        &root,
        "flash/nsconfig/ns.conf.0",
        "Wed Oct 11 19:31:02 2023",
        "Tue Nov 14 22:13:20 2023",
    );
    let (_, r) = scan_json(&root, &[]);
    let left = &cve_posture(&r, "CVE-2023-4966")["left_vulnerable"];
    assert_eq!(left["at"], "2023-11-02T14:20:07Z", "{left}");
    let m = mitigation(&r, "CVE-2023-4966 sessions");
    assert_eq!(m["effective"], false, "{m}");
    let aaa = part(m, "kill aaa session -all");
    assert_eq!(aaa["present"], false, "{m}");
    assert!(
        aaa["where"]
            .as_str()
            .unwrap()
            .starts_with("only before the upgrade"),
        "{aaa}"
    );
}
