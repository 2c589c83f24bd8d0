//! The conventions responders expect of a command-line tool: shell completions and a man page,
//! `--quiet`, arguments that need one another, a clear word for inputs sporen cannot read.

mod common;

use common::run::run;
use std::path::Path;

#[test]
fn completions_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.code, Some(0), "{shell}: {}", out.stderr);
        let script = out.stdout_str();
        assert!(script.contains("sporen"), "{shell}");
        assert!(
            script.contains("min-severity"),
            "{shell}: scan options missing"
        );
    }
    run(&["completions", "tcsh"]).assert_refused("invalid value 'tcsh'", "unknown shell");
}

#[test]
fn the_man_page_is_roff_for_every_subcommand() {
    let out = run(&["man"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let page = out.stdout_str();
    for title in [
        ".TH sporen 1",
        ".TH sporen-scan 1",
        ".TH sporen-rules-check 1",
    ] {
        assert!(page.contains(title), "`{title}` missing");
    }
    assert!(page.contains(".SH OPTIONS"));
}

#[test]
fn ssh_options_need_ssh() {
    for extra in [&["--ssh-no-cli"][..], &["--ssh-program", "/bin/true"][..]] {
        let args = [&["scan", "."][..], extra].concat();
        run(&args).assert_refused(
            &format!("{} needs --ssh HOST", extra[0]),
            &format!("{extra:?} without --ssh"),
        );
    }
}

/// `sporen scan ROOT EXTRA...` on a materialised clean appliance.
fn scan_clean(root: &Path, extra: &[&str]) -> common::run::Outcome {
    let mut args = vec!["scan", root.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn quiet_prints_the_verdict_line_and_twice_nothing() {
    let (_dir, root) = common::fixture("cve-2019-19781-citrixmash");
    let full = scan_clean(&root, &[]);
    assert_eq!(full.code, Some(1));
    assert!(full.stdout_str().lines().count() > 50);

    let q = scan_clean(&root, &["-q"]);
    assert_eq!(q.code, Some(1), "{}", q.stderr);
    assert_eq!(q.stdout_str(), "VERDICT: COMPROMISED\n");
    assert_eq!(q.stderr, "");

    let qq = scan_clean(&root, &["-qq", "--format", "json"]);
    assert_eq!(qq.code, Some(1), "{}", qq.stderr);
    assert!(qq.stdout.is_empty());
    assert_eq!(qq.stderr, "");
}

#[test]
fn quiet_still_writes_the_report_file_without_a_note() {
    let (dir, root) = common::fixture("cve-2019-19781-citrixmash");
    let report = dir.path().join("report.json");
    let r = report.to_str().expect("UTF-8 path");
    let loud = scan_clean(&root, &["--format", "json", "-o", r]);
    assert!(loud.stderr.contains("report written to"), "{}", loud.stderr);
    std::fs::remove_file(&report).expect("remove");
    let q = scan_clean(&root, &["--quiet", "--format", "json", "-o", r]);
    assert_eq!(q.code, Some(1));
    assert_eq!(q.stdout_str(), "VERDICT: COMPROMISED\n");
    assert_eq!(q.stderr, "");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report written")).expect("JSON");
    assert_eq!(v["verdict"], "compromised");
}

/// Tiny files in formats sporen does not read: (file name, first bytes, format named, command
/// named).
const UNREAD: &[(&str, &[u8], &str, &str)] = &[
    (
        "logs.tar.xz",
        b"\xfd7zXZ\x00\x00\x04",
        "xz-compressed",
        "xz -dk",
    ),
    (
        "logs.tar.bz2",
        b"BZh91AY&SY",
        "bzip2-compressed",
        "bzip2 -dk",
    ),
    (
        "logs.tar.zst",
        b"\x28\xb5\x2f\xfd\x00",
        "Zstandard-compressed",
        "zstd -dk",
    ),
    ("collect.zip", b"PK\x03\x04\x14\x00", "ZIP archive", "unzip"),
    (
        "collect.7z",
        b"7z\xbc\xaf\x27\x1c\x00\x04",
        "7-Zip archive",
        "7z x",
    ),
    (
        "da0.E01",
        b"EVF\x09\x0d\x0a\xff\x00\x01",
        "Expert Witness (EWF, E01)",
        "ewfexport",
    ),
    (
        "da0.vmdk",
        b"KDMV\x01\x00\x00\x00",
        "VMware disk (VMDK)",
        "qemu-img convert -O raw",
    ),
    (
        "ns.vmdk",
        b"# Disk DescriptorFile\nversion=1\n",
        "VMDK",
        "qemu-img convert -O raw",
    ),
    (
        "ns.vhd",
        b"conectix\x00\x00\x00\x02",
        "(VHD)",
        "qemu-img convert -O raw",
    ),
    (
        "ns.vhdx",
        b"vhdxfile\x00",
        "(VHDX)",
        "qemu-img convert -O raw",
    ),
    (
        "ns.qcow2",
        b"QFI\xfb\x00\x00\x00\x03",
        "QEMU disk (QCOW)",
        "qemu-img convert -O raw",
    ),
];

#[test]
fn unread_formats_are_named_with_the_command_that_converts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, magic, format, command) in UNREAD {
        let path = dir.path().join(name);
        let mut bytes = magic.to_vec();
        bytes.resize(4096, 0);
        std::fs::write(&path, &bytes).expect("write");
        let p = path.to_str().expect("UTF-8 path");
        let out = run(&["scan", p]);
        out.assert_refused(format, name);
        assert!(out.stderr.contains(command), "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains(p),
            "{name}: the file is not named: {}",
            out.stderr
        );
        // Given beside a raw image, as a second disk, it is named all the same.
        let out = run(&["scan", p, p]);
        out.assert_refused(format, &format!("{name} as an image"));
        // Streamed on standard input.
        let out = common::run::run_with_stdin(&["scan", "-"], &bytes);
        out.assert_refused(format, &format!("{name} on standard input"));
        assert!(out.stderr.contains("standard input"), "{}", out.stderr);
        assert_eq!(
            std::fs::read(&path).expect("read"),
            bytes,
            "{name} was changed"
        );
    }
}

#[test]
fn a_fixed_vhd_is_named_by_its_footer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ns-fixed.vhd");
    let mut bytes = vec![0u8; 8192];
    bytes[8192 - 512..8192 - 504].copy_from_slice(b"conectix");
    std::fs::write(&path, &bytes).expect("write");
    let out = run(&["scan", path.to_str().expect("UTF-8 path")]);
    out.assert_refused("(fixed VHD)", "fixed VHD");
    assert!(out.stderr.contains("head -c -512"), "{}", out.stderr);
}

#[test]
fn rules_check_takes_rules_as_scan_does() {
    let shipped = common::project().join("rules/cve-2019-19781.toml");
    let shipped = shipped.to_str().expect("UTF-8 path");
    let ok = run(&["rules", "check", "--no-builtin-rules", "--rules", shipped]);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert!(!ok.stderr.contains("tip:"), "{}", ok.stderr);

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[pack]\nid = \"x\"\n[[rule]]\nid = 3\n").expect("write");
    let bad = bad.to_str().expect("UTF-8 path");
    let out = run(&["rules", "check", "-r", bad]);
    out.assert_refused(
        "`id` must be a string",
        "an invalid rule file given with -r",
    );
    assert!(out.stderr.contains("bad.toml:4:6"), "{}", out.stderr);
    assert!(!out.stderr.contains("tip: to pass"), "{}", out.stderr);
}
