//! sporen never writes to the evidence. A scan in every format leaves every entry of a folder
//! target as it was (bytes, modes, owners, times, access times). The report must never destroy
//! or enter the evidence, and what sporen cannot write or read must be an error, never a silent
//! success: `--output` that is, aliases or lies inside a target is refused before anything is
//! read; the report file is created privately and exclusively and appears whole or not at all;
//! a closed standard output is exit 2; rule files that are FIFOs, devices or huge are reported,
//! all at once, instead of hanging the run.
//!
//! Every refusal is paired with a control run that shows the same setup does write a report.

#![cfg(unix)]

mod common;

use common::archive::gzip;
use common::hostile::{Tree, appliance, filler_lines, marker_rules, sporen_in};
use common::output::{Evidence, assert_unchanged};
use common::run::{BIN, Outcome, command_in, fake_ssh, finish, run};
use common::tree::{assert_same_tree, atimes, link, mkfifo, names, primed_fifo, put, snapshot};
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `sporen scan TARGET --format json --output OUT`.
fn scan_to(target: &Path, out: &Path) -> Outcome {
    run(&[
        OsStr::new("scan"),
        target.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new("--output"),
        out.as_os_str(),
    ])
}

fn assert_report_at(p: &Path) {
    let v: serde_json::Value = serde_json::from_slice(&fs::read(p).expect("read report"))
        .unwrap_or_else(|e| panic!("{} is not a JSON report: {e}", p.display()));
    assert_eq!(v["schema"], "sporen.report/1", "{}", p.display());
}

// ---------------------------------------------------------------------------------------------
// A scan never changes the evidence
// ---------------------------------------------------------------------------------------------

/// A tree with every kind of awkward entry the other tests use, all at once.
fn everything_hostile(c: &Tree) -> Vec<File> {
    let r = &c.root;
    appliance(r);
    put(r, b"var/vpn/bookmark/evil\nname.xml", "HOSTILE-FILE-MARKER");
    put(
        r,
        b"var/vpn/bookmark/\x1b[31mred.xml",
        "HOSTILE-FILE-MARKER",
    );
    put(r, b"var/vpn/bookmark/\xff\xfe.xml", "HOSTILE-FILE-MARKER");
    put(r, "var/vpn/bookmark/empty.xml", "");
    put(
        r,
        "var/log/sh.log",
        b"Jan 1 00:00:00 x sh[1]: HOSTILE-LOG-MARKER \x1b]0;pwned\x07\xff\n",
    );
    put(
        r,
        "var/log/bash.log.2",
        gzip(b"HOSTILE-LOG-MARKER in a gzip without suffix\n"),
    );
    let mut truncated = gzip(
        &[
            b"HOSTILE-LOG-MARKER first\n".as_slice(),
            &filler_lines(2000),
        ]
        .concat(),
    );
    truncated.truncate(truncated.len() * 6 / 10);
    put(r, "var/log/bash.log.1.gz", truncated);
    put(r, "var/tmp/bash", "#!/bin/sh\n");
    fs::set_permissions(r.join("var/tmp/bash"), fs::Permissions::from_mode(0o4755))
        .expect("setuid");
    put(r, "var/tmp/secret", "nobody may read this\n");
    fs::set_permissions(r.join("var/tmp/secret"), fs::Permissions::from_mode(0o000))
        .expect("chmod 000");
    put(r, "var/tmp/future", "from the future\n");
    filetime::set_file_mtime(
        r.join("var/tmp/future"),
        filetime::FileTime::from_unix_time(4_102_444_800, 0),
    )
    .expect("future mtime");
    fs::hard_link(r.join("var/log/cron"), r.join("var/log/cron.hardlink")).expect("hard link");
    link(r, "etc/shadowlink", "/etc/shadow");
    link(r, "var/up", "../../../../../../etc/passwd");
    link(r, "var/a", "b");
    link(r, "var/b", "a");
    link(r, "var/loopdir", "..");
    let fifo = primed_fifo(
        &r.join("var/log/notice.log"),
        b"HOSTILE-LOG-MARKER in a FIFO\n",
    );
    let sock = r.join("var/run/sock");
    fs::create_dir_all(sock.parent().expect("parent")).expect("var/run");
    let listener = UnixListener::bind(&sock).expect("bind socket");
    // The listener only needs to exist as a socket file; its descriptor can be dropped.
    drop(listener);
    vec![fifo]
}

#[test]
fn scanning_never_modifies_the_evidence() {
    let c = Tree::new();
    let _fifos = everything_hostile(&c);
    // Old access times: a plain read (relatime) would move them forward.
    let old = filetime::FileTime::from_unix_time(978_307_200, 0);
    for p in atimes(&c.root).keys() {
        if fs::symlink_metadata(p).expect("lstat").is_file() {
            filetime::set_file_atime(p, old).expect("set atime");
        }
    }
    let before = snapshot(&c.root);
    let atimes_before = atimes(&c.root);

    for format in ["json", "text", "jsonl", "sarif", "csv"] {
        let r = c.scan(format, &[]);
        r.assert_verdict("scan");
        assert!(!r.stdout.is_empty(), "{format}: empty report");
    }
    let report = c.out.join("report.json");
    let r = c.scan(
        "json",
        &[
            OsStr::new("--output"),
            report.as_os_str(),
            OsStr::new("-j"),
            OsStr::new("1"),
        ],
    );
    r.assert_verdict("scan");
    let v: Value = serde_json::from_slice(&fs::read(&report).expect("report written outside"))
        .expect("report JSON");
    // The scan really went through the hostile entries (this is not a no-op run).
    assert_eq!(v["verdict"], "compromised");
    assert!(
        v["coverage"]["files_read"].as_u64().unwrap_or(0) >= 10,
        "{:#}",
        v["coverage"]
    );

    assert_same_tree(&before, &snapshot(&c.root), "after six scans");
    assert_eq!(
        atimes_before,
        atimes(&c.root),
        "access times of evidence files changed"
    );
}

// ---------------------------------------------------------------------------------------------
// An output that is, aliases or lies inside a target
// ---------------------------------------------------------------------------------------------

#[test]
fn output_that_is_the_archive_or_image_target_is_refused() {
    let ev = Evidence::new();
    let before = ev.digests();
    fs::hard_link(&ev.tar, ev.out.join("hard.tar")).expect("hard link");
    symlink(&ev.image, ev.out.join("link.img")).expect("symlink");
    let cases: Vec<(&Path, PathBuf)> = vec![
        (&ev.tar, ev.tar.clone()),
        (&ev.image, ev.image.clone()),
        (&ev.tar, ev.out.join("../evidence.tar")),
        (&ev.tar, ev.out.join("hard.tar")),
        (&ev.image, ev.out.join("link.img")),
    ];
    for (target, out) in &cases {
        let what = format!("scan {} -o {}", target.display(), out.display());
        scan_to(target, out).assert_refused("refusing", &what);
        assert_unchanged(&before, &ev, &what);
    }
    // An image given with another image: each of them is protected.
    let r = run(&[
        OsStr::new("scan"),
        ev.image.as_os_str(),
        ev.tar.as_os_str(),
        OsStr::new("-o"),
        ev.tar.as_os_str(),
    ]);
    r.assert_refused("refusing", "second target as output");
    assert_unchanged(&before, &ev, "scan");

    // Control: the same scans with the report beside the evidence write it.
    for target in [&ev.tar, &ev.image] {
        let out = ev.out.join("report.json");
        scan_to(target, &out).assert_verdict("report outside the evidence");
        assert_report_at(&out);
    }
    assert_unchanged(&before, &ev, "scan");
}

/// Runs `sporen scan ROOT -o ALIAS/REL` where ALIAS is a bind mount of `source`, in a private
/// mount namespace so the mount vanishes with the run. `None` when mounts are not permitted.
fn scan_through_bind_mount(root: &Path, source: &Path, alias: &Path, rel: &str) -> Option<Outcome> {
    let probe = Command::new("unshare")
        .args(["--mount", "true"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "bind mounts need root (unshare --mount); run the tests as root"
        );
        return None;
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$1" "$2" && exec "$3" scan "$4" -f json -o "$2$5""#)
        .arg("sh")
        .args([source, alias, Path::new(BIN), root])
        .arg(rel)
        .stdout(Stdio::piped());
    Some(finish(cmd))
}

#[test]
fn output_through_a_bind_mount_of_the_target_is_refused() {
    let ev = Evidence::new();
    let before = ev.digests();
    let alias = ev.out.join("alias");
    fs::create_dir(&alias).expect("mount point");
    let Some(r) = scan_through_bind_mount(&ev.root, &ev.root, &alias, "/var/REPORT.json") else {
        return;
    };
    r.assert_refused("refusing", "report in a bind mount of the target folder");
    assert!(!ev.root.join("var/REPORT.json").exists());
    assert_unchanged(&before, &ev, "scan");

    // A bind mount of a folder inside the target: `..` from the mount leads out of the
    // evidence, but the folder is still part of it.
    let var = ev.root.join("var");
    let r = scan_through_bind_mount(&ev.root, &var, &alias, "/REPORT.json").expect("mounts work");
    r.assert_refused(
        "refusing",
        "report in a bind mount of a folder of the target",
    );
    assert!(!var.join("REPORT.json").exists());
    assert_unchanged(&before, &ev, "scan");

    let file_alias = ev.out.join("alias.tar");
    fs::write(&file_alias, "").expect("mount point");
    let r = scan_through_bind_mount(&ev.tar, &ev.tar, &file_alias, "").expect("mounts work");
    r.assert_refused("refusing", "report on a bind mount of the tar target");
    assert_unchanged(&before, &ev, "scan");

    // Control: a bind mount of a folder outside the evidence takes the report.
    let elsewhere = ev.tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("folder");
    let r = scan_through_bind_mount(&ev.root, &elsewhere, &alias, "/report.json").expect("mounts");
    r.assert_verdict("report in a bind mount outside the evidence");
    assert_report_at(&elsewhere.join("report.json"));
}

#[test]
fn output_is_checked_before_the_ssh_collection_runs() {
    let ev = Evidence::new();
    let args_file = ev.tmp.path().join("ssh-args");
    let ssh_to = |out: &Path| {
        let mut cmd = fake_ssh(&["--ssh", "nsroot@192.0.2.10"], &ev.root, &args_file);
        cmd.args(["-f", "json", "--output"]).arg(out);
        finish(cmd)
    };
    let missing = ev.out.join("no-such-folder/report.json");
    ssh_to(&missing).assert_refused("does not exist", "report in a missing folder");
    assert!(
        !args_file.exists(),
        "the collection ran before --output was checked"
    );
    ssh_to(&ev.out).assert_refused("refusing", "report onto a folder");
    assert!(
        !args_file.exists(),
        "the collection ran before --output was checked"
    );

    // Control: with a usable --output the collection runs and the report is written.
    let ok = ev.out.join("report.json");
    ssh_to(&ok).assert_verdict("ssh scan");
    assert!(args_file.exists());
    assert_report_at(&ok);
}

#[test]
fn output_inside_the_target_is_refused_and_creates_nothing() {
    let c = Tree::appliance();
    put(&c.root, "var/vpn/bookmark/x.xml", "HOSTILE-FILE-MARKER");
    // A link outside the evidence that points into it, to a sub-folder of it, and a file link.
    symlink(&c.root, c.out.join("to-root")).expect("symlink");
    symlink(c.root.join("var/log"), c.out.join("to-logs")).expect("symlink");
    let before = snapshot(&c.root);

    let inside: Vec<PathBuf> = vec![
        c.root.join("report.json"),
        c.root.join("var/log/report.json"),
        c.root.join("var/log/ns.log"), // an existing evidence file
        c.root.join("var/../var/report.json"),
        c.out.join("to-root/report.json"),
        c.out.join("to-logs/ns.log"),
        c.root.join("no-such-folder/report.json"),
    ];
    for out in &inside {
        let r = c.scan("json", &[OsStr::new("--output"), out.as_os_str()]);
        assert_eq!(
            r.code,
            Some(2),
            "--output {} was not refused; stderr: {}",
            out.display(),
            r.stderr
        );
        assert!(
            r.stdout.is_empty(),
            "a report was printed although the run failed"
        );
        assert!(
            r.stderr.contains("refusing") || r.stderr.contains("does not exist"),
            "unclear message for --output {}: {}",
            out.display(),
            r.stderr
        );
        assert_same_tree(
            &before,
            &snapshot(&c.root),
            &format!("--output {}", out.display()),
        );
    }
    // The target folder itself, and `TARGET/.`: cannot be replaced by a report either.
    for out in [c.root.clone(), c.root.join(".")] {
        let r = c.scan("json", &[OsStr::new("--output"), out.as_os_str()]);
        assert_eq!(r.code, Some(2), "--output {}: {}", out.display(), r.stderr);
        assert!(r.stdout.is_empty());
        assert_same_tree(
            &before,
            &snapshot(&c.root),
            &format!("--output {}", out.display()),
        );
    }
    // A relative --output while the working folder is inside the target.
    let rules = c.rules("hostile.toml", &marker_rules());
    let r = sporen_in(
        &c.root.join("var/log"),
        &[
            OsStr::new("scan"),
            OsStr::new("../.."),
            OsStr::new("--rules"),
            rules.as_os_str(),
            OsStr::new("--output"),
            OsStr::new("report.json"),
        ],
    );
    assert_eq!(
        r.code,
        Some(2),
        "relative --output inside the target: {}",
        r.stderr
    );
    assert!(r.stderr.contains("refusing"), "{}", r.stderr);
    assert_same_tree(&before, &snapshot(&c.root), "relative --output");

    // Control: the same run with the report outside the evidence succeeds and writes it.
    let ok = c.out.join("report.json");
    let r = c.scan("json", &[OsStr::new("--output"), ok.as_os_str()]);
    assert_eq!(r.code, Some(1), "stderr: {}", r.stderr);
    assert!(ok.is_file());
    assert_same_tree(&before, &snapshot(&c.root), "--output outside");
}

#[test]
fn output_through_a_link_or_hard_link_outside_never_writes_into_evidence() {
    let c = Tree::appliance();
    let ns_log = c.root.join("var/log/ns.log");
    let original = fs::read(&ns_log).expect("read ns.log");
    // out/link.json -> evidence file; out/hard.json is the evidence file's inode.
    symlink(&ns_log, c.out.join("link.json")).expect("symlink");
    fs::hard_link(c.root.join("var/log/cron"), c.out.join("hard.json")).expect("hard link");
    let cron = fs::read(c.root.join("var/log/cron")).expect("read cron");
    let mtimes = |p: &Path| {
        fs::metadata(p)
            .map(|m| (m.mtime(), m.mtime_nsec()))
            .expect("stat")
    };
    let (ns_mtime, cron_mtime) = (mtimes(&ns_log), mtimes(&c.root.join("var/log/cron")));

    for name in ["link.json", "hard.json"] {
        let out = c.out.join(name);
        let r = c.scan("json", &[OsStr::new("--output"), out.as_os_str()]);
        r.assert_verdict("scan");
        let v: Value =
            serde_json::from_slice(&fs::read(&out).expect("report")).expect("report JSON");
        assert_eq!(v["schema"], "sporen.report/1");
    }
    assert_eq!(
        fs::read(&ns_log).expect("read ns.log"),
        original,
        "written through a symlink"
    );
    assert_eq!(
        fs::read(c.root.join("var/log/cron")).expect("read cron"),
        cron,
        "written through a hard link"
    );
    assert_eq!(mtimes(&ns_log), ns_mtime);
    assert_eq!(mtimes(&c.root.join("var/log/cron")), cron_mtime);
}

// ---------------------------------------------------------------------------------------------
// Creating the report file
// ---------------------------------------------------------------------------------------------

#[test]
fn a_link_planted_at_the_temporary_name_is_never_written_through() {
    let ev = Evidence::new();
    let before = ev.digests();
    // A shared case folder anyone can write to; the link is planted at the name the temporary
    // file would get from this very process id.
    fs::set_permissions(&ev.out, fs::Permissions::from_mode(0o777)).expect("chmod");
    let victim = ev.root.join("var/log/ns.log");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"ln -s "$1" "$2/.report.json.sporen-$$.tmp" && exec "$3" scan "$4" -f json -o "$2/report.json""#)
        .arg("sh")
        .args([&victim, &ev.out, Path::new(BIN), &ev.root])
        .stdout(Stdio::piped());
    let r = finish(cmd);
    r.assert_verdict("scan with a planted link");
    assert_unchanged(&before, &ev, "planted link at the temporary name");
    let report = ev.out.join("report.json");
    let meta = fs::symlink_metadata(&report).expect("report");
    assert!(meta.is_file(), "the report is not a regular file: {meta:?}");
    assert_report_at(&report);
}

#[test]
fn an_existing_output_link_is_replaced_never_written_through() {
    let ev = Evidence::new();
    let before = ev.digests();
    let other = ev.out.join("other.txt");
    fs::write(&other, "not a report").expect("write");
    for (name, points_to) in [
        ("to-file.json", other.clone()),
        ("dangling.json", ev.out.join("nowhere")),
        ("to-evidence-file.json", ev.root.join("var/log/ns.log")),
    ] {
        let out = ev.out.join(name);
        symlink(&points_to, &out).expect("symlink");
        scan_to(&ev.root, &out).assert_verdict(name);
        let meta = fs::symlink_metadata(&out).expect("report");
        assert!(meta.is_file(), "{name}: the link was not replaced");
        assert_report_at(&out);
    }
    assert_eq!(fs::read(&other).expect("read"), b"not a report");
    assert!(
        !ev.out.join("nowhere").exists(),
        "written through a dangling link"
    );
    assert_unchanged(&before, &ev, "scan");
}

#[test]
fn an_existing_output_that_is_not_a_regular_file_is_refused() {
    let ev = Evidence::new();
    let fifo = ev.out.join("fifo.json");
    mkfifo(&fifo);
    let folder = ev.out.join("folder.json");
    fs::create_dir(&folder).expect("folder");
    let socket = ev.out.join("socket.json");
    let _listener = UnixListener::bind(&socket).expect("socket");
    let to_folder = ev.out.join("to-folder.json");
    symlink(&folder, &to_folder).expect("symlink");
    for out in [&fifo, &folder, &socket, &to_folder] {
        let what = format!("--output {}", out.display());
        scan_to(&ev.root, out).assert_refused("not a regular file", &what);
    }
    assert!(
        fs::symlink_metadata(&fifo)
            .expect("fifo")
            .file_type()
            .is_fifo()
    );
    assert!(folder.is_dir() && names(&folder).is_empty());
    assert!(fs::symlink_metadata(&to_folder).expect("link").is_symlink());
    // Only what the test made: no report, no temporary file.
    let mut expected = vec!["fifo.json", "folder.json", "socket.json", "to-folder.json"];
    expected.sort_unstable();
    assert_eq!(names(&ev.out), expected);
}

#[test]
fn a_report_cut_short_leaves_the_previous_file_and_no_temporary_file() {
    let ev = Evidence::new();
    let out = ev.out.join("report.json");
    fs::write(&out, "previous report").expect("write");
    // A file size limit of 4 KiB (SIGXFSZ ignored, so the write fails with EFBIG) cuts the
    // report short half-way.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"trap "" XFSZ; ulimit -f 8 && exec "$0" "$@""#)
        .arg(BIN)
        .args([OsStr::new("scan"), ev.root.as_os_str(), OsStr::new("-f")])
        .args([OsStr::new("json"), OsStr::new("-o"), out.as_os_str()])
        .stdout(Stdio::piped());
    let r = finish(cmd);
    r.assert_refused("cannot write", "report larger than the file size limit");
    assert_eq!(fs::read(&out).expect("read"), b"previous report");
    assert_eq!(
        names(&ev.out),
        ["report.json"],
        "a temporary file was left behind"
    );
}

#[test]
fn dash_output_is_standard_output() {
    let ev = Evidence::new();
    let r = finish(command_in(
        &ev.out,
        &[
            OsStr::new("scan"),
            ev.root.as_os_str(),
            OsStr::new("-f"),
            OsStr::new("json"),
            OsStr::new("-o"),
            OsStr::new("-"),
        ],
    ));
    r.assert_verdict("-o -");
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).expect("JSON on stdout");
    assert_eq!(v["schema"], "sporen.report/1");
    assert!(
        names(&ev.out).is_empty(),
        "a file was written: {:?}",
        names(&ev.out)
    );
}

// ---------------------------------------------------------------------------------------------
// A standard output nobody reads
// ---------------------------------------------------------------------------------------------

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

#[test]
fn a_report_nobody_reads_is_an_error_not_a_verdict() {
    let ev = Evidence::new();
    let runs: Vec<Vec<OsString>> = vec![
        vec![
            "scan".into(),
            ev.root.clone().into(),
            "-f".into(),
            "json".into(),
        ],
        vec![
            "scan".into(),
            ev.root.clone().into(),
            "-f".into(),
            "text".into(),
        ],
        vec![
            "scan".into(),
            ev.root.clone().into(),
            "-o".into(),
            "-".into(),
        ],
        vec!["rules".into(), "list".into()],
        vec!["rules".into(), "check".into()],
    ];
    for args in &runs {
        let mut cmd = Command::new(BIN);
        cmd.args(args).stdout(Stdio::from(closed_pipe()));
        let r = finish(cmd);
        assert_eq!(
            r.code,
            Some(2),
            "{args:?}: exit {:?}, stderr:\n{}",
            r.code,
            r.stderr
        );
        assert!(
            r.stderr.contains("standard output"),
            "{args:?}: stderr does not say what failed:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
    }
    // Control: the same scan with a reader gets the verdict of the clean appliance.
    let r = run(&[
        OsStr::new("scan"),
        ev.root.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("json"),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Rule files that are not files
// ---------------------------------------------------------------------------------------------

fn diagnostics(r: &Outcome) -> Vec<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON diagnostics ({e}); stderr:\n{}", r.stderr));
    v.as_array()
        .expect("array of diagnostics")
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            (s("code"), s("file"), s("message"))
        })
        .collect()
}

#[test]
fn rule_files_that_are_fifos_devices_or_huge_are_reported_together() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let fifo = dir.join("fifo.toml");
    mkfifo(&fifo);
    let huge = dir.join("huge.toml");
    fs::write(&huge, vec![b'\n'; 9 << 20]).expect("write");
    let folder = dir.join("local");
    fs::create_dir(&folder).expect("folder");
    mkfifo(&folder.join("in-folder.toml"));
    let broken = dir.join("broken.toml");
    fs::write(&broken, "[pack\n").expect("write");
    let paths = [
        &fifo,
        Path::new("/dev/null"),
        Path::new("/dev/zero"),
        &huge,
        &folder,
        &broken,
    ];

    let mut cmd = Command::new("sh");
    // An address-space limit turns an unbounded read of /dev/zero into a failure, not a
    // machine out of memory.
    cmd.arg("-c")
        .arg(r#"ulimit -v 4000000 && exec "$0" "$@""#)
        .arg(BIN)
        .args(["rules", "check", "--json"])
        .args(paths)
        .stdout(Stdio::piped());
    let r = finish(cmd);
    assert_eq!(r.code, Some(2), "stderr:\n{}", r.stderr);
    let diags = diagnostics(&r);
    let of = |p: &Path| {
        let name = p.display().to_string();
        diags
            .iter()
            .filter(move |d| d.1 == name)
            .collect::<Vec<_>>()
    };
    for p in [
        &fifo,
        Path::new("/dev/null"),
        Path::new("/dev/zero"),
        &folder.join("in-folder.toml"),
    ] {
        let d = of(p);
        assert!(
            d.iter()
                .any(|d| d.0 == "E012" && d.2.contains("not a regular file")),
            "{}: {d:?}\nall: {diags:?}",
            p.display()
        );
    }
    let d = of(&huge);
    assert!(
        d.iter().any(|d| d.0 == "E029" && d.2.contains("MiB")),
        "huge file: {d:?}"
    );
    assert!(
        of(&broken).iter().any(|d| d.0 == "E001"),
        "the syntax error is reported too"
    );
}

#[test]
fn a_symlinked_rule_file_in_a_folder_is_read_not_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("local");
    fs::create_dir(&folder).expect("folder");
    let shared = tmp.path().join("shared.toml");
    fs::write(&shared, "[pack\n").expect("write");
    symlink(&shared, folder.join("linked.toml")).expect("symlink");
    let r = run(&[
        OsStr::new("rules"),
        OsStr::new("check"),
        OsStr::new("--json"),
        folder.as_os_str(),
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let name = folder.join("linked.toml").display().to_string();
    assert!(
        diagnostics(&r).iter().any(|d| d.0 == "E001" && d.1 == name),
        "{:?}",
        diagnostics(&r)
    );
}
/// The report's final mode follows the umask, like any file the user's shell would create.
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("Umask:"))
        .expect("Umask line");
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).expect("octal umask")
}

#[test]
fn the_report_file_is_private_until_complete() {
    let ev = Evidence::new();
    let out = ev.out.join("report.json");
    let dest = sporen::output::Destination::prepare(Some(&out), std::slice::from_ref(&ev.root))
        .expect("a usable --output");
    let folder = ev.out.clone();
    dest.write(|w| {
        let during = names(&folder);
        assert_eq!(during.len(), 1, "{during:?}");
        assert!(during[0].starts_with('.'), "{during:?}");
        assert!(
            !during[0].contains(&std::process::id().to_string()),
            "{during:?}"
        );
        let meta = fs::symlink_metadata(folder.join(&during[0])).expect("temporary file");
        assert!(meta.is_file());
        assert_eq!(
            meta.mode() & 0o7777,
            0o600,
            "the temporary file is readable by others"
        );
        w.write_all(b"{}\n")
    })
    .expect("write the report");
    assert_eq!(names(&ev.out), ["report.json"]);
    let mode = fs::metadata(&out).expect("report").mode() & 0o7777;
    assert_eq!(mode, 0o666 & !umask());
    assert_eq!(fs::read(&out).expect("read"), b"{}\n");
}
