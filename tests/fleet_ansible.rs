//! The Ansible role in `contrib/ansible/` against three real OpenSSH servers on loopback that
//! play NetScaler appliances: one takes a password (answered by sshpass from the inventory's
//! `ansible_password`), one a key, one refuses everybody. `ansible-playbook` scans them from
//! the control node and merges the reports; the fleet report must show each appliance, the
//! refused one as a failed row with its error, worst first, and nothing may be written on the
//! appliances.
//!
//! Needs sshd, ssh, ssh-keygen, sshpass, openssl, unshare, ansible-playbook and root (for the
//! password server's private shadow file). Without them the test skips with a note, unless
//! SPOREN_REQUIRE_SSHD is set (CI sets it): then it fails.

mod common;

use common::run::{BIN, finish_within};
use common::sshd::{Login, keygen, start};
use common::tools::{is_root, require};
use common::tree::{assert_same_tree, snapshot};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const REQUIRE: &str = "SPOREN_REQUIRE_SSHD";

/// The inventory: three appliances on loopback, each with its own way in.
fn inventory(dir: &Path, ports: [u16; 3], user: &str) -> String {
    let key = dir.join("client_key");
    let known = dir.join("known_hosts");
    format!(
        "netscalers:
  hosts:
    gw-password:
      ansible_host: 127.0.0.1
      ansible_port: {p0}
      ansible_user: {user}
      ansible_password: 'fleet-test-secret'
    gw-key:
      ansible_host: 127.0.0.1
      ansible_port: {p1}
      ansible_user: {user}
      ansible_ssh_private_key_file: {key}
    gw-refuses:
      ansible_host: 127.0.0.1
      ansible_port: {p2}
      ansible_user: {user}
      ansible_ssh_private_key_file: {key}
  vars:
    sporen_ssh_options:
      - UserKnownHostsFile={known}
      - StrictHostKeyChecking=yes
      - ConnectTimeout=20
      - IdentityAgent=none
",
        p0 = ports[0],
        p1 = ports[1],
        p2 = ports[2],
        key = key.display(),
        known = known.display(),
    )
}

#[test]
fn the_playbook_scans_every_appliance_over_ssh_and_merges_a_fleet_report() {
    let test = "fleet_ansible";
    let programs = [
        "sshd",
        "ssh",
        "ssh-keygen",
        "sshpass",
        "openssl",
        "unshare",
        "ansible-playbook",
    ];
    let Some(found) = require(test, &programs, &["/usr/sbin", "/sbin"], REQUIRE) else {
        return;
    };
    if !is_root() {
        assert!(
            std::env::var_os(REQUIRE).is_none(),
            "{test}: must run as root (the password server needs a private /etc/shadow)"
        );
        eprintln!("NOTE: {test} skipped: needs root for the password-login sshd");
        return;
    }
    let sshd = &found[0];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (_bad_tmp, bad_root) = common::fixture("cve-2019-19781-citrixmash");
    let (_good_tmp, good_root) = common::fixture("clean-14.1-66.59-2026");
    let before = (snapshot(&bad_root), snapshot(&good_root));

    keygen(&dir.join("client_key"));
    let authorized = dir.join("authorized_keys");
    std::fs::copy(dir.join("client_key.pub"), &authorized).unwrap();
    let servers = [
        start(
            sshd,
            &dir.join("s-password"),
            &Login::Password("fleet-test-secret"),
            &bad_root,
        ),
        start(
            sshd,
            &dir.join("s-key"),
            &Login::Key(&authorized),
            &good_root,
        ),
        start(sshd, &dir.join("s-refuses"), &Login::Refuse, &good_root),
    ];
    let known: Vec<&str> = servers.iter().map(|s| s.known_host.as_str()).collect();
    std::fs::write(dir.join("known_hosts"), known.join("\n") + "\n").unwrap();
    let ports = [servers[0].port, servers[1].port, servers[2].port];
    let user = common::sshd::user_name();
    std::fs::write(dir.join("inventory.yml"), inventory(dir, ports, &user)).unwrap();

    let out = run_playbook(dir);
    let logs = || {
        servers
            .iter()
            .map(|s| std::fs::read_to_string(&s.log).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    assert_eq!(
        out.code,
        Some(0),
        "ansible-playbook failed:\n{}\n{}\nsshd logs:\n{}",
        String::from_utf8_lossy(&out.stdout),
        out.stderr,
        logs()
    );
    let play = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(play.contains("worst compromised"), "{play}");

    check_fleet(dir, &play, &logs());
    // Nothing was written on the appliances.
    assert_same_tree(&before.0, &snapshot(&bad_root), "password appliance");
    assert_same_tree(&before.1, &snapshot(&good_root), "key appliance");
}

/// Runs `contrib/ansible/site.yml` with three forks, its files in `dir`.
fn run_playbook(dir: &Path) -> common::run::Outcome {
    let contrib = common::project().join("contrib/ansible");
    let mut cmd = Command::new("ansible-playbook");
    cmd.current_dir(dir)
        .arg("-i")
        .arg(dir.join("inventory.yml"))
        .arg(contrib.join("site.yml"))
        .args(["--forks", "3", "-e"])
        .arg(format!("sporen_binary={BIN}"))
        .arg("-e")
        .arg(format!(
            "sporen_reports_dir={}",
            dir.join("reports").display()
        ))
        .arg("-e")
        .arg(format!("sporen_fleet_dir={}", dir.join("fleet").display()))
        .env("ANSIBLE_CONFIG", contrib.join("ansible.cfg"))
        .env("ANSIBLE_ROLES_PATH", contrib.join("roles"))
        .env("ANSIBLE_HOME", dir.join("ansible-home"))
        .env("ANSIBLE_LOCAL_TEMP", dir.join("ansible-tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("LC_ALL", "C.UTF-8")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped());
    finish_within(cmd, Duration::from_secs(300))
}

/// The reports and the fleet report the playbook left.
fn check_fleet(dir: &Path, play: &str, logs: &str) {
    let reports = dir.join("reports");
    let mut names = common::tree::names(&reports);
    names.sort();
    assert_eq!(
        names,
        ["gw-key.json", "gw-password.json", "gw-refuses.json"],
        "{play}"
    );
    let fleet: Value =
        serde_json::from_slice(&std::fs::read(dir.join("fleet/fleet.json")).unwrap()).unwrap();
    let rows = fleet["rows"].as_array().unwrap();
    let got = common::report::fleet_rows(&fleet);
    assert_eq!(
        got,
        [
            ("gw-password", "compromised"),
            ("gw-refuses", "failed"),
            ("gw-key", "clean")
        ],
        "{play}\n{logs}"
    );
    assert_eq!(rows[0]["nsip"], "192.0.2.10");
    assert_eq!(
        rows[0]["target"],
        format!("ssh://{}@127.0.0.1", common::sshd::user_name())
    );
    let error = rows[1]["error"].as_str().unwrap();
    assert!(error.contains("Permission denied"), "{error}");
    assert_eq!(fleet["totals"]["appliances"], 3);
    for ext in ["txt", "csv", "html"] {
        assert!(
            dir.join("fleet").join(format!("fleet.{ext}")).is_file(),
            "fleet.{ext}"
        );
    }
    // The fleet's exit code is the worst row's: compromised.
    let out = common::run::run(&["fleet", reports.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
}
