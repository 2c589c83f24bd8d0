//! The hostile-input tests' evidence: a healthy NetScaler tree built in place, marker rules that
//! find what a test plants in it, and a run of the binary that fails when it hangs. With the
//! marker rules in force the healthy tree scans `clean`, so every "must not be clean" assertion
//! of those tests has a control.

use super::run::{Outcome, command_in, finish_within};
use super::tree::put;
use sporen::rules::RuleSet;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest a single `sporen` run of a hostile-input test may take before it counts as a hang.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Every log the embedded NetScaler profile requires (for the marker rules below).
const LOGS: &str = r#"["var/log/httpaccess.log", "var/log/httpaccess-vpn.log", "var/log/httperror.log", "var/log/httperror-vpn.log", "var/log/bash.log", "var/log/sh.log", "var/log/notice.log", "var/log/cron", "var/log/ns.log", "var/nslog/ns.log"]"#;

/// Test rules: one content rule on the config and bookmark files, one line rule on every
/// required log. Besides planting markers, they make sure every required source is read, so
/// that a healthy tree can reach `clean` (the control for every "must not be clean" test).
pub fn marker_rules() -> String {
    format!(
        r#"[pack]
id = "hostile"
title = "Hostile-input test rules"
description = "Markers planted by the hostile-input tests."

[[rule]]
id = "hostile.file-marker"
title = "Test marker in a file"
description = "A planted file holds the file marker."
severity = "high"
[rule.file]
paths = ["flash/nsconfig/ns.conf", "var/vpn/bookmark/**"]
[rule.file.content]
any = ["HOSTILE-FILE-MARKER"]

[[rule]]
id = "hostile.log-marker"
title = "Test marker in a log line"
description = "A planted log line holds the log marker."
severity = "high"
[rule.lines]
logs = {LOGS}
any = ["HOSTILE-LOG-MARKER"]
"#
    )
}

/// The marker rules, compiled for an in-process scan.
pub fn marker_rule_set() -> RuleSet {
    super::rule_set("hostile.toml", &marker_rules())
}

/// Runs `sporen` with `args`; kills it and fails the test when it takes longer than
/// [`TIMEOUT`].
pub fn sporen<S: AsRef<OsStr>>(args: &[S]) -> Outcome {
    sporen_in(Path::new("."), args)
}

/// [`sporen`] with the working folder `cwd`.
pub fn sporen_in<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Outcome {
    finish_within(command_in(cwd, args), TIMEOUT)
}

/// A healthy NetScaler tree: every marker and required source present, no traces. With
/// [`marker_rules`] in force it scans `clean`.
pub fn appliance(root: &Path) {
    put(
        root,
        "flash/nsconfig/ns.conf",
        "#NS13.0 Build 47.22\nset ns config -IPAddress 192.0.2.10 -netmask 255.255.255.0\n",
    );
    put(root, "flash/boot/loader.conf", "autoboot_delay=\"3\"\n");
    put(root, "flash/.version", "NS13.0 Build 47.22\n");
    put(
        root,
        "var/vpn/bookmark/jdoe.xml",
        "<?xml version=\"1.0\"?>\n<user username=\"jdoe\"><bookmarks/></user>\n",
    );
    put(
        root,
        "var/log/httpaccess.log",
        "198.51.100.23 - - [27/Jan/2020:08:14:03 +0000] \"GET /vpn/index.html HTTP/1.1\" 200 2534 \"-\" \"Mozilla/5.0\"\n",
    );
    put(
        root,
        "var/log/httperror.log",
        "[Mon Jan 27 08:14:03 2020] [notice] Apache configured -- resuming normal operations\n",
    );
    put(
        root,
        "var/log/bash.log",
        "Jan 27 10:01:58 <local7.notice> ns-gw01 bash[2231]: root on /dev/pts/0 shell_command=\"show ns ip\"\n",
    );
    put(
        root,
        "var/log/cron",
        "Jan 19 23:01:05 <cron.info> ns-gw01 /usr/sbin/cron[14605]: (root) CMD (   nsfsyncd -p)\n",
    );
    put(
        root,
        "var/log/ns.log",
        "Jan 27 10:02:00 <local0.info> 192.0.2.10 01/27/2020:10:02:00 GMT ns-gw01 0-PPE-0 : default UI CMD_EXECUTED 1 0 : User nsroot - Command \"show ns ip\"\n",
    );
    for d in [
        "var/nslog",
        "var/netscaler/logon",
        "netscaler/portal/templates",
        "tmp",
        "etc",
    ] {
        fs::create_dir_all(root.join(d)).expect("create appliance folder");
    }
}

/// A temporary folder holding `root/` (the evidence) and `out/` (a place for reports and rule
/// files, outside the evidence).
pub struct Tree {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub out: PathBuf,
}

impl Tree {
    /// Empty evidence.
    pub fn new() -> Tree {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        let out = tmp.path().join("out");
        fs::create_dir_all(&root).expect("root");
        fs::create_dir_all(&out).expect("out");
        Tree {
            _tmp: tmp,
            root,
            out,
        }
    }

    /// The healthy [`appliance`] as evidence.
    pub fn appliance() -> Tree {
        let c = Tree::new();
        appliance(&c.root);
        c
    }

    /// Writes a rule file outside the evidence and returns its path.
    pub fn rules(&self, name: &str, text: &str) -> PathBuf {
        let p = self.out.join(name);
        fs::write(&p, text).expect("write rule file");
        p
    }

    /// `sporen scan ROOT --format FORMAT --color never --rules <marker rules>` plus `extra`.
    pub fn scan(&self, format: &str, extra: &[&OsStr]) -> Outcome {
        let rules = self.rules("hostile.toml", &marker_rules());
        // The healthy tree's logs hold one day (27 Jan 2020); the exposure windows are tested
        // elsewhere, so they start on that day here.
        let mut args = vec![OsStr::new("--since"), OsStr::new("2020-01-27")];
        args.extend_from_slice(extra);
        self.scan_with(&rules, format, &args)
    }

    /// `sporen scan ROOT --format FORMAT --color never --rules RULES` plus `extra`.
    pub fn scan_with(&self, rules: &Path, format: &str, extra: &[&OsStr]) -> Outcome {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("scan"),
            self.root.as_os_str(),
            OsStr::new("--format"),
            OsStr::new(format),
            OsStr::new("--color"),
            OsStr::new("never"),
            OsStr::new("--rules"),
            rules.as_os_str(),
        ];
        args.extend_from_slice(extra);
        sporen(&args)
    }
}

/// `n` shell-history lines of hard-to-compress filler (no rule matches them).
pub fn filler_lines(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::new();
    for i in 0..n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.extend_from_slice(
            format!(
                "Jan 27 10:{:02}:{:02} <local7.notice> ns-gw01 bash[{}]: root on /dev/pts/0 shell_command=\"echo {x:016x}{:016x}\"\n",
                (i / 60) % 60,
                i % 60,
                1000 + i,
                x.rotate_left(17)
            )
            .as_bytes(),
        );
    }
    out
}
