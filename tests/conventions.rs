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
