//! Hostile-input integration tests: evidence built by an attacker (or damaged by time) must never
//! make `sporen` write to the evidence, follow a link out of it, hang, crash, lose a trace or
//! print attacker-chosen control bytes raw.
//!
//! Most tests run the real binary on a temporary tree (with a timeout, so a hang fails instead of
//! blocking CI); the mid-read failures use a mock [`Evidence`] in-process. Every "must not"
//! assertion is paired with a control that shows the same setup does produce the positive
//! result, so each test is able to fail.

#![cfg(unix)]

use base64::Engine;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sporen::input::dir::DirEvidence;
use sporen::input::{Entry, EntryKind, Evidence, Listing};
use sporen::model::{EvPath, Gap, GapCause, Verdict};
use sporen::rules::RuleSet;
use sporen::scan::{ScanOptions, ScanOutput, Scanner};
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_sporen");

/// Longest a single `sporen` run may take before it counts as a hang.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Every log the embedded NetScaler profile requires (for the marker rules below).
const LOGS: &str = r#"["var/log/httpaccess.log", "var/log/httpaccess-vpn.log", "var/log/httperror.log", "var/log/httperror-vpn.log", "var/log/bash.log", "var/log/sh.log", "var/log/notice.log", "var/log/cron", "var/log/ns.log", "var/nslog/ns.log"]"#;

/// Test rules: one content rule on the config and bookmark files, one line rule on every
/// required log. Besides planting markers, they make sure every required source is read, so
/// that a healthy tree can reach `clean` (the control for every "must not be clean" test).
fn marker_rules() -> String {
    format!(
        r#"[pack]
id = "hostile"
title = "Hostile-input test rules"
description = "Markers planted by tests/hostile.rs."

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

/// The result of one run of the binary.
struct Run {
    args: Vec<OsString>,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn stdout_str(&self) -> String {
        match String::from_utf8(self.stdout.clone()) {
            Ok(s) => s,
            Err(e) => panic!("{:?}: stdout is not UTF-8 ({e})", self.args),
        }
    }

    fn json(&self) -> Value {
        match serde_json::from_slice(&self.stdout) {
            Ok(v) => v,
            Err(e) => panic!(
                "{:?}: stdout is not JSON ({e}); exit {:?}; stderr:\n{}\nstdout:\n{}",
                self.args,
                self.code,
                self.stderr,
                String::from_utf8_lossy(&self.stdout)
            ),
        }
    }

    /// Asserts the scan ran to a verdict (exit 0, 1 or 3, not an error and not a signal).
    fn assert_scanned(&self) {
        assert!(
            matches!(self.code, Some(0 | 1 | 3)),
            "{:?}: expected a verdict exit code, got {:?}; stderr:\n{}",
            self.args,
            self.code,
            self.stderr
        );
    }
}

/// Runs `sporen` with `args`; kills it and fails the test when it takes longer than [`TIMEOUT`].
fn sporen<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    sporen_in(Path::new("."), args)
}

/// [`sporen`] with the working folder `cwd`.
fn sporen_in<I, S>(cwd: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let mut child = Command::new(BIN)
        .current_dir(cwd)
        .args(&args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sporen");
    let mut out = child.stdout.take().expect("stdout pipe");
    let mut err = child.stderr.take().expect("stderr pipe");
    let out_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sporen") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sporen {args:?} hung: killed after {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_t.join().expect("stdout reader");
    let stderr = String::from_utf8_lossy(&err_t.join().expect("stderr reader")).into_owned();
    Run {
        args,
        code: status.code(),
        stdout,
        stderr,
    }
}

/// Runs `f` on another thread and fails when it does not finish within `secs` seconds.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {secs} s"),
    }
}

fn host(root: &Path, rel: &[u8]) -> PathBuf {
    root.join(OsStr::from_bytes(rel))
}

/// Writes `content` at `rel` (bytes, so odd names work) under `root`, creating folders.
fn put(root: &Path, rel: impl AsRef<[u8]>, content: impl AsRef<[u8]>) -> PathBuf {
    let p = host(root, rel.as_ref());
    fs::create_dir_all(p.parent().expect("parent")).expect("create parent folders");
    fs::write(&p, content).expect("write evidence file");
    p
}

fn link(root: &Path, rel: &str, target: impl AsRef<Path>) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("create parent folders");
    symlink(target, &p).expect("create symlink");
}

fn mkfifo(p: &Path) {
    fs::create_dir_all(p.parent().expect("parent")).expect("create parent folders");
    let c = CString::new(p.as_os_str().as_bytes()).expect("no NUL in path");
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(
        rc,
        0,
        "mkfifo {}: {}",
        p.display(),
        io::Error::last_os_error()
    );
}

/// A healthy NetScaler tree: every marker and required source present, no traces. With
/// [`marker_rules`] in force it scans `clean`.
fn appliance(root: &Path) {
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
struct Case {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    out: PathBuf,
}

impl Case {
    fn new() -> Case {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        let out = tmp.path().join("out");
        fs::create_dir_all(&root).expect("root");
        fs::create_dir_all(&out).expect("out");
        Case {
            _tmp: tmp,
            root,
            out,
        }
    }

    fn appliance() -> Case {
        let c = Case::new();
        appliance(&c.root);
        c
    }

    /// Writes a rule file outside the evidence and returns its path.
    fn rules(&self, name: &str, text: &str) -> PathBuf {
        let p = self.out.join(name);
        fs::write(&p, text).expect("write rule file");
        p
    }

    /// `sporen scan ROOT --format FORMAT --color never --rules <marker rules>` plus `extra`.
    fn scan(&self, format: &str, extra: &[&OsStr]) -> Run {
        let rules = self.rules("hostile.toml", &marker_rules());
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("scan"),
            self.root.as_os_str(),
            OsStr::new("--format"),
            OsStr::new(format),
            OsStr::new("--color"),
            OsStr::new("never"),
            OsStr::new("--rules"),
            rules.as_os_str(),
            // The healthy tree's logs hold one day (27 Jan 2020); the exposure windows are
            // tested elsewhere, so they start on that day here.
            OsStr::new("--since"),
            OsStr::new("2020-01-27"),
        ];
        args.extend_from_slice(extra);
        sporen(args)
    }
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings array")
}

fn gaps(v: &Value) -> &Vec<Value> {
    v["coverage"]["gaps"]
        .as_array()
        .expect("coverage.gaps array")
}

/// The exact path bytes of a finding or gap: `path_base64` when present, else `path`.
fn path_bytes(item: &Value) -> Vec<u8> {
    match item.get("path_base64").and_then(Value::as_str) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|e| panic!("path_base64 {b64:?} is not base64: {e}")),
        None => item["path"]
            .as_str()
            .expect("path string")
            .as_bytes()
            .to_vec(),
    }
}

fn findings_at<'v>(v: &'v Value, path: &[u8]) -> Vec<&'v Value> {
    findings(v)
        .iter()
        .filter(|f| path_bytes(f) == path)
        .collect()
}

fn finding<'v>(v: &'v Value, rule: &str, path: &[u8]) -> &'v Value {
    findings_at(v, path)
        .into_iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| {
            panic!(
                "no {rule} finding at {}; findings:\n{:#}",
                String::from_utf8_lossy(path),
                v["findings"]
            )
        })
}

fn gap<'v>(v: &'v Value, cause: &str, path: &[u8]) -> &'v Value {
    gaps(v)
        .iter()
        .find(|g| g["cause"] == cause && path_bytes(g) == path)
        .unwrap_or_else(|| {
            panic!(
                "no {cause} gap at {}; gaps:\n{:#}",
                String::from_utf8_lossy(path),
                v["coverage"]["gaps"]
            )
        })
}

/// Decodes `%XX` escapes (SARIF URIs) back to bytes.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ASCII escape");
            out.push(
                u8::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("bad escape in {s:?}: {e}")),
            );
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip finish")
}

/// `n` shell-history lines of hard-to-compress filler (no rule matches them).
fn filler_lines(n: usize) -> Vec<u8> {
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

/// True when `s` holds a raw control character (other than `allowed`) or a raw bidi / invisible
/// character.
fn raw_hostile_chars(s: &str, allowed: &[char]) -> Vec<char> {
    s.chars()
        .filter(|c| !allowed.contains(c))
        .filter(|&c| c.is_control() || sporen::report::sanitize::is_hidden_char(c))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Snapshot of a tree: everything that a write, rename, chmod, chown or touch would change
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct Meta {
    kind: &'static str,
    size: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    ino: u64,
    nlink: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    /// sha256 of a regular file's bytes, or the target of a symlink.
    content: Option<String>,
}

/// Every entry under `root` (links not followed, special files never opened). Regular files are
/// hashed through `O_NOATIME`, so taking a snapshot does not disturb access times.
fn snapshot(root: &Path) -> BTreeMap<Vec<u8>, Meta> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Meta>) {
        let mut names: Vec<PathBuf> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("dir entry").path())
            .collect();
        names.sort();
        for p in names {
            let m = fs::symlink_metadata(&p).expect("lstat");
            let ft = m.file_type();
            let (kind, content) = if ft.is_symlink() {
                let t = fs::read_link(&p).expect("readlink");
                (
                    "symlink",
                    Some(String::from_utf8_lossy(t.as_os_str().as_bytes()).into_owned()),
                )
            } else if ft.is_file() {
                let opened = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOATIME | libc::O_NOFOLLOW)
                    .open(&p);
                match opened {
                    Ok(mut f) => {
                        let mut b = Vec::new();
                        f.read_to_end(&mut b).expect("read for snapshot");
                        ("file", Some(sha256_hex(&b)))
                    }
                    // Mode 000 when not running as root: metadata still covers it.
                    Err(e) if e.kind() == io::ErrorKind::PermissionDenied => ("file", None),
                    Err(e) => panic!("open {} for snapshot: {e}", p.display()),
                }
            } else if ft.is_dir() {
                ("dir", None)
            } else {
                ("special", None)
            };
            let rel = p
                .strip_prefix(root)
                .expect("under root")
                .as_os_str()
                .as_bytes()
                .to_vec();
            out.insert(
                rel,
                Meta {
                    kind,
                    size: m.len(),
                    mode: m.mode(),
                    uid: m.uid(),
                    gid: m.gid(),
                    ino: m.ino(),
                    nlink: m.nlink(),
                    mtime: (m.mtime(), m.mtime_nsec()),
                    ctime: (m.ctime(), m.ctime_nsec()),
                    content,
                },
            );
            if ft.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    let m = fs::symlink_metadata(root).expect("lstat root");
    out.insert(
        b".".to_vec(),
        Meta {
            kind: "dir",
            size: m.len(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            ino: m.ino(),
            nlink: m.nlink(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            content: None,
        },
    );
    walk(root, root, &mut out);
    out
}

/// Fails with the list of entries that appeared, vanished or changed.
fn assert_same_tree(before: &BTreeMap<Vec<u8>, Meta>, after: &BTreeMap<Vec<u8>, Meta>, what: &str) {
    let mut diffs = Vec::new();
    for (p, m) in before {
        match after.get(p) {
            None => diffs.push(format!("vanished: {}", String::from_utf8_lossy(p))),
            Some(a) if a != m => diffs.push(format!(
                "changed: {}\n  before {m:?}\n  after  {a:?}",
                String::from_utf8_lossy(p)
            )),
            Some(_) => {}
        }
    }
    for p in after.keys().filter(|p| !before.contains_key(*p)) {
        diffs.push(format!("appeared: {}", String::from_utf8_lossy(p)));
    }
    assert!(
        diffs.is_empty(),
        "{what}: the evidence was modified:\n{}",
        diffs.join("\n")
    );
}

/// Access times (seconds, nanoseconds) of every non-directory, non-link entry.
fn atimes(root: &Path) -> BTreeMap<PathBuf, (i64, i64)> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, (i64, i64)>) {
        for e in fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("dir entry").path();
            let m = fs::symlink_metadata(&p).expect("lstat");
            if m.is_dir() {
                walk(&p, out);
            } else if !m.file_type().is_symlink() {
                out.insert(p, (m.atime(), m.atime_nsec()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

/// Creates a FIFO and keeps it open read-write (so opening it never blocks anybody) with `data`
/// waiting in it: if the scanner ever read the FIFO it would see (and consume) the data.
fn primed_fifo(p: &Path, data: &[u8]) -> File {
    mkfifo(p);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p)
        .expect("open FIFO read-write");
    f.write_all(data).expect("prime FIFO");
    f
}

/// Reads what is still waiting in a primed FIFO (non-blocking).
fn drain(f: &mut File) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    match f.read(&mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Vec::new(),
        Err(e) => panic!("read FIFO: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Control: the healthy tree is clean, so "not clean" assertions elsewhere mean something
// ---------------------------------------------------------------------------------------------

#[test]
fn control_healthy_appliance_is_clean() {
    let c = Case::appliance();
    let r = c.scan("json", &[]);
    let v = r.json();
    assert_eq!(
        v["verdict"], "clean",
        "reasons: {:#}\ngaps: {:#}",
        v["reasons"], v["coverage"]["gaps"]
    );
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(findings(&v).is_empty());
    assert!(gaps(&v).is_empty(), "{:#}", v["coverage"]["gaps"]);

    // ...and a planted marker is found, so the marker rules work.
    put(
        &c.root,
        "var/vpn/bookmark/x.xml",
        "<bookmark title=\"HOSTILE-FILE-MARKER\"/>",
    );
    put(
        &c.root,
        "var/log/cron.0",
        "Jan 19 23:00:06 <cron.info> ns cron[1]: HOSTILE-LOG-MARKER\n",
    );
    let r = c.scan("json", &[]);
    let v = r.json();
    assert_eq!(r.code, Some(1));
    finding(&v, "hostile.file-marker", b"/var/vpn/bookmark/x.xml");
    finding(&v, "hostile.log-marker", b"/var/log/cron.0");
}

// ---------------------------------------------------------------------------------------------
// Never write to the evidence
// ---------------------------------------------------------------------------------------------

/// A tree with every kind of awkward entry the other tests use, all at once.
fn everything_hostile(c: &Case) -> Vec<File> {
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
    let c = Case::new();
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
        r.assert_scanned();
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
    r.assert_scanned();
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

#[test]
fn output_inside_the_target_is_refused_and_creates_nothing() {
    let c = Case::appliance();
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
        [
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
    let c = Case::appliance();
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
        r.assert_scanned();
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
// Never follow a link out of the root
// ---------------------------------------------------------------------------------------------

const LINK_RULES: &str = r#"[pack]
id = "links"
title = "Link escape test rules"
description = "Would match the host's /etc/passwd if a link were followed out of the evidence."

[[rule]]
id = "links.passwd-content"
title = "passwd root line in a file"
description = "Content rule on every entry of any type."
severity = "high"
[rule.file]
type = "any"
paths = ["**"]
[rule.file.content]
any = [{ regex = 'root:x:0:0:[^\n]*' }, { regex = 'OUTSIDE-ROOT-SECRE[T]' }]

[[rule]]
id = "links.link-paths"
title = "One of the planted link paths"
description = "Path-only rule of any type on the links."
severity = "info"
[rule.file]
type = "any"
paths = ["etc/shadowlink", "var/up", "var/log/ns.log.1", "var/vpn/bookmark/passwd.xml", "var/nslog", "var/nslog/**", "hostetc", "hostetc/**"]

[[rule]]
id = "links.passwd-lines"
title = "passwd root line in a log"
description = "Line rule on the link paths and on the in-root passwd."
severity = "high"
[rule.lines]
logs = ["etc/shadowlink", "etc/passwd", "var/up", "var/log/ns.log", "var/nslog/ns.log", "var/vpn/bookmark/passwd.xml", "hostetc/*"]
any = ["root:x:0:0", { regex = 'OUTSIDE-ROOT-SECRE[T]' }]
"#;

#[test]
fn links_out_of_the_root_are_never_followed() {
    let c = Case::new();
    let r = &c.root;
    appliance(r);
    fs::remove_dir(r.join("var/nslog")).expect("rmdir var/nslog");
    // Outside the evidence: a folder with a matching ns.log.
    let outside = c.out.join("outside");
    put(
        &outside,
        "ns.log",
        "OUTSIDE-ROOT-SECRET root:x:0:0:OUTSIDE:/root:/bin/sh\n",
    );
    link(r, "etc/shadowlink", "/etc/shadow");
    link(r, "var/up", "../../../../../../etc/passwd");
    link(r, "var/log/ns.log.1", "/etc/passwd");
    link(r, "var/vpn/bookmark/passwd.xml", "/etc/passwd");
    link(r, "var/nslog", &outside);
    link(r, "hostetc", "/etc");
    // In-root control: the same rules do match a real file inside the evidence.
    put(r, "etc/passwd", "root:x:0:0:INSIDE-ROOT:/root:/bin/sh\n");

    let rules = c.rules("links.toml", LINK_RULES);
    let args = |format: &'static str| {
        vec![
            OsString::from("scan"),
            r.as_os_str().to_owned(),
            "--format".into(),
            format.into(),
            "--color".into(),
            "never".into(),
            "--rules".into(),
            rules.as_os_str().to_owned(),
            "--no-builtin-rules".into(),
        ]
    };
    let run = sporen(args("json"));
    run.assert_scanned();
    let v = run.json();

    // Control: the in-root passwd is found by both the content and the line rule.
    let inside = finding(&v, "links.passwd-content", b"/etc/passwd");
    assert!(
        inside["excerpt"]
            .as_str()
            .unwrap_or("")
            .contains("INSIDE-ROOT"),
        "{inside:#}"
    );
    finding(&v, "links.passwd-lines", b"/etc/passwd");

    // The links are reported as links (path rule of type any), never read.
    for p in [
        "/etc/shadowlink",
        "/var/up",
        "/var/log/ns.log.1",
        "/var/vpn/bookmark/passwd.xml",
        "/var/nslog",
        "/hostetc",
    ] {
        let f = finding(&v, "links.link-paths", p.as_bytes());
        assert!(
            f.get("sha256").is_none() && f.get("excerpt").is_none(),
            "link {p} was read: {f:#}"
        );
    }
    // Nothing with content comes from anywhere but the in-root passwd.
    for f in findings(&v) {
        if let Some(e) = f.get("excerpt") {
            assert_eq!(
                path_bytes(f),
                b"/etc/passwd",
                "content from a link target: {f:#}"
            );
            assert!(
                e.as_str().unwrap_or("").contains("INSIDE-ROOT"),
                "host content: {f:#}"
            );
        }
        assert!(
            !path_bytes(f).starts_with(b"/var/nslog/"),
            "walked into a linked folder: {f:#}"
        );
        assert!(
            !path_bytes(f).starts_with(b"/hostetc/"),
            "walked into a linked folder: {f:#}"
        );
    }
    // Host digests never show up either.
    let mut host_digests = vec![sha256_hex(
        &fs::read(outside.join("ns.log")).expect("outside"),
    )];
    for p in ["/etc/passwd", "/etc/shadow", "/etc/hostname"] {
        if let Ok(b) = fs::read(p) {
            host_digests.push(sha256_hex(&b));
        }
    }
    for f in findings(&v) {
        if let Some(s) = f.get("sha256").and_then(Value::as_str) {
            assert!(
                !host_digests.contains(&s.to_owned()),
                "digest of a host file: {f:#}"
            );
        }
    }
    // Bytes read can only come from regular files inside the root.
    let in_root: u64 = snapshot(r)
        .values()
        .filter(|m| m.kind == "file")
        .map(|m| m.size)
        .sum();
    let read = v["coverage"]["bytes_read"].as_u64().expect("bytes_read");
    assert!(
        read <= in_root,
        "read {read} bytes but the root only holds {in_root}"
    );
    assert!(read > 0);

    // Neither the outside secret nor the host's own root line appear in any output.
    let host_root_line = fs::read_to_string("/etc/passwd").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("root:"))
            .map(str::to_owned)
    });
    for format in ["json", "text", "csv"] {
        let out = sporen(args(format));
        out.assert_scanned();
        let s = out.stdout_str();
        assert!(
            !s.contains("OUTSIDE-ROOT-SECRET") && !s.contains(":OUTSIDE:"),
            "{format}: outside content leaked"
        );
        if let Some(l) = &host_root_line {
            assert!(!s.contains(l.as_str()), "{format}: the host's {l:?} leaked");
        }
    }
}

#[test]
fn dir_evidence_resolves_absolute_links_inside_the_root() {
    let c = Case::new();
    let r = &c.root;
    put(r, "flash/nsconfig/ns.conf", "#NS13.0\n");
    link(r, "nsconfig", "/flash/nsconfig");
    link(r, "var/lib/cfg", "/flash/nsconfig"); // absolute target from a nested link
    link(r, "var/lib/rel", "../../flash/./nsconfig/../nsconfig"); // relative, with `.` and `..`
    link(r, "etc/shadowlink", "/etc/shadow");
    link(r, "var/up", "../../../../../../etc/passwd");
    link(r, "var/esc", "../../../../../../../../../tmp");
    let outside = c.out.join("outside");
    put(&outside, "ns.log", "OUTSIDE-ROOT-SECRET\n");
    link(r, "var/nslog", &outside);
    let ev = DirEvidence::new(r).expect("DirEvidence");
    let res = |p: &str| {
        ev.resolve(&EvPath::new(p.as_bytes().to_vec()))
            .map(|p| p.as_bytes().to_vec())
    };

    assert_eq!(
        res("/nsconfig/ns.conf").as_deref(),
        Some(&b"/flash/nsconfig/ns.conf"[..])
    );
    assert_eq!(res("/nsconfig").as_deref(), Some(&b"/flash/nsconfig"[..]));
    for p in ["/var/lib/cfg/ns.conf", "/var/lib/rel/ns.conf"] {
        assert_eq!(
            res(p).as_deref(),
            Some(&b"/flash/nsconfig/ns.conf"[..]),
            "{p}"
        );
    }
    // The host has /etc/shadow, /etc/passwd, /tmp and `outside`; the evidence has none of them.
    assert_eq!(
        res("/etc/shadowlink"),
        None,
        "resolved against the host's /etc/shadow"
    );
    assert_eq!(
        res("/var/up"),
        None,
        "resolved against the host's /etc/passwd"
    );
    assert_eq!(
        res("/var/nslog/ns.log"),
        None,
        "resolved into a folder outside the root"
    );
    assert_eq!(res("/var/esc"), None, "`..` climbed above the root");
    assert_eq!(res("/../../etc/passwd"), None);

    // Once the evidence has its own /etc/passwd and /tmp, the links land there.
    put(r, "etc/passwd", "root:x:0:0:INSIDE-ROOT:/root:/bin/sh\n");
    fs::create_dir_all(r.join("tmp")).expect("tmp");
    assert_eq!(res("/var/up").as_deref(), Some(&b"/etc/passwd"[..]));
    assert_eq!(res("/var/esc").as_deref(), Some(&b"/tmp"[..]));
    assert_eq!(
        res("/var/../../../etc/passwd").as_deref(),
        Some(&b"/etc/passwd"[..])
    );

    // The listing shows links as links, never what is behind them, and refuses to open them.
    let listing = ev.list();
    assert!(
        listing
            .entries
            .iter()
            .all(|e| !e.path.as_bytes().starts_with(b"/var/nslog/")),
        "the walk followed a folder link"
    );
    for e in listing
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Symlink)
    {
        assert!(ev.open(e).is_err(), "opened symlink {:?}", e.path);
    }
    let nslog = listing
        .entries
        .iter()
        .find(|e| e.path.as_bytes() == b"/var/nslog")
        .expect("var/nslog listed");
    assert_eq!(nslog.kind, EntryKind::Symlink);
    assert_eq!(
        nslog.link_target.as_deref(),
        Some(outside.as_os_str().as_bytes())
    );
}

#[test]
fn a_file_swapped_after_listing_is_not_read() {
    let c = Case::new();
    let r = &c.root;
    put(r, "var/log/ns.log", "inside\n");
    put(r, "var/log/bash.log", "inside\n");
    let outside = c.out.join("outside");
    put(&outside, "ns.log", "OUTSIDE-ROOT-SECRET\n");
    let ev = DirEvidence::new(r).expect("DirEvidence");
    let listing = ev.list();
    let entry = |p: &[u8]| {
        listing
            .entries
            .iter()
            .find(|e| e.path.as_bytes() == p)
            .cloned()
            .expect("listed")
    };
    let ns = entry(b"/var/log/ns.log");
    let bash = entry(b"/var/log/bash.log");
    // Control: the listed file opens.
    let mut s = String::new();
    ev.open(&ns)
        .expect("open")
        .read_to_string(&mut s)
        .expect("read");
    assert_eq!(s, "inside\n");

    // Swap the folder for a link to the outside: the path now leads to a different file.
    fs::rename(r.join("var/log"), r.join("var/log.real")).expect("rename");
    symlink(&outside, r.join("var/log")).expect("symlink");
    let root = r.clone();
    let moved = ns.clone();
    let swapped = within(5, "open after a swap", move || {
        let ev = DirEvidence::new(&root).expect("DirEvidence");
        ev.open(&moved).map(|mut f| {
            let mut s = String::new();
            let _ = f.read_to_string(&mut s);
            s
        })
    });
    if let Ok(s) = swapped {
        panic!("opened a file that was replaced after listing; read {s:?}");
    }
    fs::remove_file(r.join("var/log")).expect("unlink");
    fs::rename(r.join("var/log.real"), r.join("var/log")).expect("rename back");
    // The last component replaced by a link to the outside, then by another regular file.
    let ns_path = r.join("var/log/ns.log");
    // Keeps the listed inode allocated, so no later file can get its number.
    fs::hard_link(&ns_path, r.join("var/keep-inode")).expect("hard link");
    symlink(outside.join("ns.log"), r.join("var/log/ns.link")).expect("symlink");
    fs::rename(r.join("var/log/ns.link"), &ns_path).expect("swap in link");
    assert!(
        ev.open(&ns).is_err(),
        "opened a symlink swapped in after listing"
    );
    fs::write(r.join("var/log/ns.new"), "OUTSIDE-ROOT-SECRET\n").expect("write");
    fs::rename(r.join("var/log/ns.new"), &ns_path).expect("swap in file");
    assert!(
        ev.open(&ns).is_err(),
        "opened a different file than the one listed"
    );

    // A FIFO in place of a listed regular file: open must fail and must not block.
    fs::remove_file(r.join("var/log/bash.log")).expect("rm bash.log");
    mkfifo(&r.join("var/log/bash.log"));
    let root = r.clone();
    let opened = within(5, "open of a FIFO swapped in after listing", move || {
        let ev = DirEvidence::new(&root).expect("DirEvidence");
        ev.open(&bash).map(|_| ()).map_err(|e| e.to_string())
    });
    assert!(
        opened.is_err(),
        "a FIFO swapped in after listing was opened"
    );
}

// ---------------------------------------------------------------------------------------------
// Loops, FIFOs, sockets
// ---------------------------------------------------------------------------------------------

#[test]
fn symlink_loops_neither_hang_nor_crash() {
    let c = Case::appliance();
    let r = &c.root;
    link(r, "var/a", "b");
    link(r, "var/b", "a");
    link(r, "var/self", "self");
    link(r, "var/loopdir", ".."); // a folder link to its own parent
    link(r, "var/vpn/bookmark/up", "/var/vpn"); // absolute link to its own parent
    link(r, "var/grow", "grow/x"); // each turn adds a component
    link(r, "var/log/sh.log", "sh.log"); // a required log that is a loop
    fs::remove_dir_all(r.join("var/netscaler")).expect("rm var/netscaler");
    link(r, "var/netscaler", "netscaler"); // a marker path that is a loop
    put(r, "var/vpn/bookmark/x.xml", "HOSTILE-FILE-MARKER");
    let links = 8;

    let run = c.scan("json", &[]);
    run.assert_scanned();
    let v = run.json();
    assert_eq!(v["coverage"]["symlinks_seen"], links, "{:#}", v["coverage"]);
    // The scan went on past the loops and still found the planted trace.
    finding(&v, "hostile.file-marker", b"/var/vpn/bookmark/x.xml");
    assert!(
        findings(&v)
            .iter()
            .all(|f| !path_bytes(f).starts_with(b"/var/loopdir/"))
    );
    assert!(
        findings(&v)
            .iter()
            .all(|f| !path_bytes(f).starts_with(b"/var/vpn/bookmark/up/"))
    );
    let text = c.scan("text", &[]);
    text.assert_scanned();

    let root = r.clone();
    within(5, "DirEvidence::resolve on loops", move || {
        let ev = DirEvidence::new(&root).expect("DirEvidence");
        for p in [
            "/var/a",
            "/var/self",
            "/var/grow",
            "/var/netscaler",
            "/var/log/sh.log",
            "/var/a/b/c",
        ] {
            assert_eq!(
                ev.resolve(&EvPath::new(p.as_bytes().to_vec())),
                None,
                "{p} resolved"
            );
        }
        // A link to the parent resolves (it is not a loop by itself), deep repetition too.
        let deep = format!("/var{}/log/bash.log", "/loopdir/var".repeat(30));
        assert_eq!(
            ev.resolve(&EvPath::new(deep.into_bytes()))
                .map(|p| p.as_bytes().to_vec()),
            Some(b"/var/log/bash.log".to_vec())
        );
        assert_eq!(
            ev.resolve(&EvPath::new(
                &b"/var/vpn/bookmark/up/bookmark/up/bookmark/x.xml"[..]
            ))
            .map(|p| p.as_bytes().to_vec()),
            Some(b"/var/vpn/bookmark/x.xml".to_vec())
        );
    });
}

#[test]
fn fifos_and_sockets_are_never_opened() {
    let c = Case::appliance();
    let r = &c.root;
    fs::remove_file(r.join("var/log/bash.log")).expect("rm bash.log");
    let shell_line = b"Jan 11 23:41:12 <local7.notice> ns sh[9911]: nobody on (null) shell_command=\"id\" HOSTILE-LOG-MARKER\n";
    let mut fifos = vec![
        (
            b"/var/log/bash.log".to_vec(),
            primed_fifo(&r.join("var/log/bash.log"), shell_line),
        ),
        (
            b"/var/log/bash.log.1.gz".to_vec(),
            primed_fifo(&r.join("var/log/bash.log.1.gz"), shell_line),
        ),
        (
            b"/var/vpn/bookmark/fifo.xml".to_vec(),
            primed_fifo(
                &r.join("var/vpn/bookmark/fifo.xml"),
                b"HOSTILE-FILE-MARKER template.new",
            ),
        ),
    ];
    // An unprimed FIFO nobody holds open: a blocking open() would wait forever.
    mkfifo(&r.join("var/log/httpaccess.log.1"));
    let sockets = ["var/log/ns.log.1", "var/vpn/bookmark/sock.xml"];
    let listeners: Vec<UnixListener> = sockets
        .iter()
        .map(|s| UnixListener::bind(r.join(s)).expect("bind"))
        .collect();

    let start = Instant::now();
    let run = c.scan("json", &[]);
    run.assert_scanned();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "slow: {:?}",
        start.elapsed()
    );
    let v = run.json();
    let specials: Vec<Vec<u8>> = fifos
        .iter()
        .map(|(p, _)| p.clone())
        .chain([b"/var/log/httpaccess.log.1".to_vec()])
        .chain(sockets.iter().map(|s| format!("/{s}").into_bytes()))
        .collect();
    for p in &specials {
        let g = gap(&v, "special_file", p);
        assert!(
            findings_at(&v, p).is_empty(),
            "finding on a special file {}",
            String::from_utf8_lossy(p)
        );
        assert!(g["detail"].is_string());
    }
    assert_eq!(v["coverage"]["special_files_skipped"], specials.len());
    // Nothing was consumed from the FIFOs.
    for (p, f) in &mut fifos {
        assert!(
            !drain(f).is_empty(),
            "{} was read",
            String::from_utf8_lossy(p)
        );
    }
    // The only shell history is a FIFO: that is not a readable log, so no clean verdict.
    assert_eq!(v["verdict"], "inconclusive", "{:#}", v["reasons"]);
    assert_eq!(run.code, Some(3));

    let text = c.scan("text", &[]);
    text.assert_scanned();
    let t = text.stdout_str();
    assert!(t.contains("special_file"), "{t}");
    drop(listeners);
}

// ---------------------------------------------------------------------------------------------
// Attacker-chosen names and bytes in reports
// ---------------------------------------------------------------------------------------------

#[test]
fn hostile_file_names_are_escaped_in_text_and_exact_in_json() {
    let c = Case::appliance();
    let names: [&[u8]; 6] = [
        b"var/vpn/bookmark/evil\nname.xml",
        b"var/vpn/bookmark/\x1b[31mred\x1b[0m.xml",
        "var/vpn/bookmark/a\u{202e}lmx.php".as_bytes(),
        b"var/vpn/bookmark/\xff\xfe.xml",
        b"var/vpn/bookmark/dir\r\n\x1b]0;title\x07/\xc0inner.xml",
        b"var/vpn/bookmark/lit\\xff.xml", // a literal backslash: must not read as byte 0xff
    ];
    for n in names {
        put(&c.root, n, "<bookmark title=\"HOSTILE-FILE-MARKER\"/>");
    }
    // Special files with hostile names end up as gaps: their paths must be escaped too.
    let fifo_name: &[u8] = b"var/vpn/bookmark/\x1b[2Jfifo\xff\n.xml";
    mkfifo(&host(&c.root, fifo_name));

    // Text: no raw control or bidi character, every path escaped.
    let run = c.scan("text", &[]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let t = run.stdout_str(); // also proves no invalid UTF-8 byte got through
    assert!(!run.stdout.contains(&0x1b), "raw ESC in text output");
    assert!(!t.contains('\u{202e}'), "raw RLO in text output");
    assert_eq!(raw_hostile_chars(&t, &['\n']), Vec::<char>::new());
    for expected in [
        "    path:    /var/vpn/bookmark/evil\\nname.xml\n",
        "    path:    /var/vpn/bookmark/\\x1b[31mred\\x1b[0m.xml\n",
        "    path:    /var/vpn/bookmark/a\\u{202e}lmx.php\n",
        "    path:    /var/vpn/bookmark/\\xff\\xfe.xml\n",
        "    path:    /var/vpn/bookmark/dir\\r\\n\\x1b]0;title\\x07/\\xc0inner.xml\n",
        "    path:    /var/vpn/bookmark/lit\\\\xff.xml\n",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in:\n{t}");
    }
    assert!(
        t.contains("  /var/vpn/bookmark/\\x1b[2Jfifo\\xff\\n.xml\n"),
        "gap path not escaped:\n{t}"
    );

    // JSON: parses, names exact (base64 for the ones that are not UTF-8).
    let run = c.scan("json", &[]);
    let v = run.json();
    assert!(!run.stdout.contains(&0x1b), "raw ESC in JSON output");
    for n in names {
        let abs = [b"/".as_slice(), n].concat();
        let f = finding(&v, "hostile.file-marker", &abs);
        match std::str::from_utf8(&abs) {
            Ok(s) => {
                assert_eq!(f["path"], s, "UTF-8 path must be exact");
                assert!(f.get("path_base64").is_none());
            }
            Err(_) => {
                let b64 = f["path_base64"]
                    .as_str()
                    .expect("path_base64 for a non-UTF-8 path");
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64");
                assert_eq!(decoded, abs, "path_base64 does not round-trip");
                assert_eq!(f["path"], sporen::model::bytes_to_lossless_string(&abs));
            }
        }
    }
    // Built-in rules may add their own findings (a bidi name that really ends in .php is one);
    // the marker rule must have fired exactly once per name.
    let markers = findings(&v)
        .iter()
        .filter(|f| f["rule"] == "hostile.file-marker")
        .count();
    assert_eq!(markers, names.len(), "{:#}", v["findings"]);
    let fifo_abs = [b"/".as_slice(), fifo_name].concat();
    let g = gap(&v, "special_file", &fifo_abs);
    assert!(g["path_base64"].is_string(), "{g:#}");

    // The other formats never let a raw ESC through either; CSV (for spreadsheets) no RLO.
    for format in ["jsonl", "sarif", "csv"] {
        let run = c.scan(format, &[]);
        assert_eq!(run.code, Some(1));
        assert!(!run.stdout.contains(&0x1b), "{format}: raw ESC");
        let s = String::from_utf8_lossy(&run.stdout);
        if format == "jsonl" {
            for line in s.lines() {
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|e| panic!("jsonl line {line:?}: {e}"));
            }
        }
        if format == "csv" {
            assert!(!s.contains('\u{202e}'), "csv: raw RLO");
            assert!(
                std::str::from_utf8(&run.stdout).is_ok(),
                "csv: invalid UTF-8"
            );
        }
        if format == "sarif" {
            // Result locations are percent-encoded URI references of the exact path bytes.
            let sarif: Value = serde_json::from_slice(&run.stdout).expect("SARIF parses");
            let mut uris: Vec<Vec<u8>> = sarif["runs"][0]["results"]
                .as_array()
                .expect("results")
                .iter()
                .filter(|r| r["ruleId"] == "hostile.file-marker")
                .map(|r| {
                    percent_decode(
                        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                            .as_str()
                            .expect("uri"),
                    )
                })
                .collect();
            uris.sort();
            let mut want: Vec<Vec<u8>> = names
                .iter()
                .map(|n| [b"/".as_slice(), n].concat())
                .collect();
            want.sort();
            assert_eq!(uris, want, "SARIF URIs do not decode to the exact paths");
        }
    }
}

#[test]
fn hostile_bytes_in_a_matching_log_line_are_escaped() {
    let c = Case::appliance();
    let mut line =
        b"Jan 11 23:41:12 <local7.notice> ns-gw01 sh[9911]: nobody on (null) shell_command=\""
            .to_vec();
    line.extend_from_slice(
        b"\x1b]0;pwned\x07\x1b[2J\xff\xfe\rfake\x08\x7f\x00 \xe2\x80\xae".as_slice(),
    );
    line.extend_from_slice("\u{202e}gpj.php\" HOSTILE-LOG-MARKER".as_bytes());
    // A second, long line whose excerpt is cut inside a multi-byte bidi character.
    let mut long =
        b"Jan 11 23:41:13 <local7.notice> ns-gw01 sh[9911]: nobody on (null) shell_command=\""
            .to_vec();
    while long.len() < 398 {
        long.push(b'A');
    }
    for _ in 0..200 {
        long.extend_from_slice("\u{202e}\x1b".as_bytes());
    }
    long.extend_from_slice(b"\" HOSTILE-LOG-MARKER");
    let log = [b"first line\n".as_slice(), &line, b"\n", &long, b"\n"].concat();
    put(&c.root, "var/log/bash.log", &log);

    let run = c.scan("text", &[]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let t = run.stdout_str();
    assert!(!run.stdout.contains(&0x1b), "raw ESC in text output");
    assert!(!t.contains('\u{202e}'), "raw RLO in text output");
    assert_eq!(raw_hostile_chars(&t, &['\n']), Vec::<char>::new());
    assert!(
        t.contains("\\x1b]0;pwned\\x07\\x1b[2J\\xff\\xfe\\rfake\\x08\\x7f\\x00 \\u{202e}\\u{202e}gpj.php\" HOSTILE-LOG-MARKER"),
        "escaped excerpt not found in:\n{t}"
    );
    // Both the builtin rule and the marker rule point at line 2.
    let v = c.scan("json", &[]).json();
    let f = finding(&v, "cve-2019-19781.shell-as-nobody", b"/var/log/bash.log");
    assert_eq!(f["line"], 2);
    assert_eq!(f["excerpt"], sporen::model::bytes_to_lossless_string(&line));
    let m = finding(&v, "hostile.log-marker", b"/var/log/bash.log");
    assert_eq!(m["line"], 2);
}

// ---------------------------------------------------------------------------------------------
// Compressed, damaged and empty logs
// ---------------------------------------------------------------------------------------------

/// A gzip of a log whose first line matches, cut after 60 % of its bytes.
fn truncated_gzip(first: &[u8]) -> Vec<u8> {
    let mut data = first.to_vec();
    data.extend_from_slice(&filler_lines(3000));
    data.extend_from_slice(
        b"Jan 27 23:59:59 <local7.notice> ns bash[1]: HOSTILE-LOG-MARKER lost in the damage\n",
    );
    let mut gz = gzip(&data);
    assert!(
        gz.len() > 50_000,
        "filler compressed too well: {}",
        gz.len()
    );
    gz.truncate(gz.len() * 6 / 10);
    gz
}

#[test]
fn truncated_gzip_rotation_keeps_lines_before_the_damage() {
    let c = Case::appliance();
    let first = b"Jan 11 23:41:12 <local7.notice> ns-gw01 sh[9911]: nobody on (null) shell_command=\"id\" HOSTILE-LOG-MARKER\n";
    put(&c.root, "var/log/bash.log.1.gz", truncated_gzip(first));

    let run = c.scan("json", &[]);
    let v = run.json();
    let f = finding(&v, "hostile.log-marker", b"/var/log/bash.log.1.gz");
    assert_eq!(f["line"], 1);
    assert!(
        f["excerpt"]
            .as_str()
            .unwrap_or("")
            .contains("shell_command=\"id\""),
        "{f:#}"
    );
    finding(
        &v,
        "cve-2019-19781.shell-as-nobody",
        b"/var/log/bash.log.1.gz",
    );
    let g = gap(&v, "corrupt_gzip", b"/var/log/bash.log.1.gz");
    assert_eq!(g["blocks_clean"], true);
    assert_ne!(v["verdict"], "clean");
    assert_eq!(v["verdict"], "compromised");
    assert_eq!(run.code, Some(1));
}

#[test]
fn damaged_gzip_without_a_trace_blocks_clean() {
    // Control: the healthy tree is clean (see control_healthy_appliance_is_clean).
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("var/log/bash.log.1.gz", truncated_gzip(b"nothing to see\n")),
        ("var/log/cron.2.gz", {
            // Valid stream, wrong CRC in the trailer.
            let mut gz = gzip(b"Jan 19 23:01:05 <cron.info> ns cron[1]: (root) CMD (x)\n");
            let n = gz.len();
            gz[n - 8] ^= 0xff;
            gz
        }),
        ("var/log/ns.log.3.gz", {
            // A valid member followed by garbage.
            let mut gz = gzip(b"ok\n");
            gz.extend_from_slice(b"\x1f\x8bgarbage that is not a gzip member");
            gz
        }),
        ("var/log/httpaccess.log.0.gz", b"\x1f\x8b\x08".to_vec()), // header cut short
    ];
    for (path, bytes) in damaged {
        let c = Case::appliance();
        put(&c.root, path, &bytes);
        let run = c.scan("json", &[]);
        let v = run.json();
        let g = gap(&v, "corrupt_gzip", format!("/{path}").as_bytes());
        assert_eq!(g["blocks_clean"], true, "{path}");
        assert_eq!(v["verdict"], "inconclusive", "{path}: {:#}", v["reasons"]);
        assert_eq!(run.code, Some(3), "{path}");
    }
}

#[test]
fn gzip_is_detected_by_magic_bytes_not_by_name() {
    let c = Case::appliance();
    let hit = b"Jan 11 23:41:12 <local7.notice> ns-gw01 sh[9911]: nobody on (null) shell_command=\"id\"\n";
    // Gzip without a .gz suffix: the match is on line 3 of the decompressed text.
    put(
        &c.root,
        "var/log/bash.log.2",
        gzip(&[b"a\nb\n".as_slice(), hit].concat()),
    );
    // A plain-text file with a .gz suffix.
    put(
        &c.root,
        "var/log/sh.log.3.gz",
        [b"plain\n".as_slice(), hit].concat(),
    );
    // Two concatenated gzip members; the match is on line 2 of the second (line 5 overall).
    let multi = [
        gzip(b"one\ntwo\nthree\n"),
        gzip(&[b"four\n".as_slice(), hit].concat()),
    ]
    .concat();
    put(&c.root, "var/log/notice.log.4.gz", multi);

    let run = c.scan("json", &[]);
    let v = run.json();
    for (path, line) in [
        (&b"/var/log/bash.log.2"[..], 3),
        (b"/var/log/sh.log.3.gz", 2),
        (b"/var/log/notice.log.4.gz", 5),
    ] {
        let f = finding(&v, "cve-2019-19781.shell-as-nobody", path);
        assert_eq!(f["line"], line, "{f:#}");
        assert_eq!(
            f["excerpt"].as_str(),
            std::str::from_utf8(&hit[..hit.len() - 1]).ok()
        );
        assert!(
            gaps(&v).iter().all(|g| path_bytes(g) != path),
            "unexpected gap for {}: {:#}",
            String::from_utf8_lossy(path),
            v["coverage"]["gaps"]
        );
    }
    assert_eq!(v["verdict"], "compromised");
}

#[test]
fn empty_files_and_logs_produce_no_findings() {
    let c = Case::appliance();
    for p in [
        "var/log/bash.log",
        "var/log/httpaccess.log",
        "var/log/cron.1",
        "var/log/ns.log.0.gz",
        "var/vpn/bookmark/empty.xml",
        "var/vpn/theme/empty.css",
        "var/tmp/empty",
        "netscaler/portal/templates/empty.html",
    ] {
        put(&c.root, p, "");
    }
    put(&c.root, "var/log/sh.log", "\n\n\n");
    put(&c.root, "var/log/notice.log", b"\x1f"); // half a gzip magic
    put(&c.root, "var/log/notice.log.1.gz", gzip(b"")); // a valid gzip of nothing
    for format in ["json", "text"] {
        let run = c.scan(format, &[]);
        run.assert_scanned();
        if format == "json" {
            let v = run.json();
            assert!(findings(&v).is_empty(), "{:#}", v["findings"]);
            assert!(
                gaps(&v).iter().all(|g| g["blocks_clean"] == false),
                "{:#}",
                v["coverage"]["gaps"]
            );
        }
    }
}

#[test]
fn a_file_larger_than_max_read_is_a_blocking_gap() {
    // 600 KiB: more than the scanner's read buffer, so the cap is noticed.
    let c = Case::appliance();
    let big = [vec![b'A'; 600 * 1024], b"HOSTILE-FILE-MARKER".to_vec()].concat();
    put(&c.root, "var/vpn/bookmark/big.xml", &big);
    let run = c.scan("json", &[OsStr::new("--max-read"), OsStr::new("64K")]);
    let v = run.json();
    let g = gap(&v, "too_large", b"/var/vpn/bookmark/big.xml");
    assert_eq!(g["blocks_clean"], true);
    assert_eq!(v["verdict"], "inconclusive", "{:#}", v["reasons"]);
    // Control: with the default cap the marker is found.
    let v = c.scan("json", &[]).json();
    finding(&v, "hostile.file-marker", b"/var/vpn/bookmark/big.xml");
}

#[test]

fn a_small_file_just_over_max_read_is_never_silently_cut() {
    let c = Case::appliance();
    let file = [
        vec![b'A'; 5000],
        b"HOSTILE-FILE-MARKER".to_vec(),
        vec![b'B'; 5000],
    ]
    .concat();
    put(&c.root, "var/vpn/bookmark/cut.xml", &file);
    let run = c.scan("json", &[OsStr::new("--max-read"), OsStr::new("1K")]);
    let v = run.json();
    let found = !findings_at(&v, b"/var/vpn/bookmark/cut.xml").is_empty();
    let flagged = gaps(&v).iter().any(|g| {
        g["cause"] == "too_large"
            && g["blocks_clean"] == true
            && path_bytes(g) == b"/var/vpn/bookmark/cut.xml"
    });
    assert!(
        found || flagged,
        "marker beyond --max-read neither found nor reported as a gap; verdict {}, gaps {:#}",
        v["verdict"],
        v["coverage"]["gaps"]
    );
    assert_ne!(v["verdict"], "clean");
}

#[test]

fn a_trace_in_an_overlong_log_line_is_found_or_reported() {
    let c = Case::appliance();
    // Plain files are read in 256 KiB blocks, so the first cut falls at exactly 1 MiB.
    let cut = 1 << 20;
    let line = [
        vec![b'x'; cut - 8],
        b"HOSTILE-LOG-MARKER".to_vec(),
        vec![b'y'; 2 * cut],
        b"\n".to_vec(),
    ]
    .concat();
    put(&c.root, "var/log/bash.log", &line);
    let v = c.scan("json", &[]).json();
    let found = !findings_at(&v, b"/var/log/bash.log").is_empty();
    let flagged = gaps(&v)
        .iter()
        .any(|g| g["blocks_clean"] == true && path_bytes(g) == b"/var/log/bash.log");
    assert!(
        found || flagged,
        "trace across the 1 MiB line cut neither found nor reported; verdict {}",
        v["verdict"]
    );
    assert_ne!(v["verdict"], "clean");
}

#[test]
fn a_trace_in_a_long_log_line_before_the_cut_is_found() {
    // Control for the test above: the same line with the marker well before the cut.
    let c = Case::appliance();
    let cut = 1 << 20;
    let line = [
        vec![b'x'; cut / 2],
        b"HOSTILE-LOG-MARKER".to_vec(),
        vec![b'y'; 2 * cut],
        b"\n".to_vec(),
    ]
    .concat();
    put(&c.root, "var/log/bash.log", &line);
    let v = c.scan("json", &[]).json();
    let f = finding(&v, "hostile.log-marker", b"/var/log/bash.log");
    assert_eq!(f["line"], 1);
    assert!(
        f["excerpt"].as_str().unwrap_or("").len() < 1000,
        "excerpt not bounded"
    );
}

// ---------------------------------------------------------------------------------------------
// Files that shrink or fail mid-read: a mock Evidence
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Returns every byte.
    Whole,
    /// Listed with its full size, but the reader ends after this many bytes.
    Shrinks(usize),
    /// Returns this many bytes, then fails with an I/O error.
    FailsAfter(usize),
    /// `open` fails.
    OpenFails,
    /// Every other read is interrupted (EINTR); the data is all there.
    Interrupted,
    /// One byte per read.
    Trickle,
}

struct MockFile {
    entry: Entry,
    content: Vec<u8>,
    behaviour: Behaviour,
}

struct MockEvidence {
    files: Vec<MockFile>,
}

impl MockEvidence {
    /// A complete appliance (all markers and required sources) plus `extra`.
    fn appliance(extra: Vec<(&str, Vec<u8>, Behaviour)>) -> MockEvidence {
        let mut files: Vec<(&str, Vec<u8>, Behaviour)> = vec![
            (
                "flash/nsconfig/ns.conf",
                b"#NS13.0\n".to_vec(),
                Behaviour::Whole,
            ),
            ("flash/boot/loader.conf", b"x\n".to_vec(), Behaviour::Whole),
            (
                "var/vpn/bookmark/jdoe.xml",
                b"<user username=\"jdoe\"/>\n".to_vec(),
                Behaviour::Whole,
            ),
            (
                "var/log/httpaccess.log",
                b"GET / 200\n".to_vec(),
                Behaviour::Whole,
            ),
            (
                "var/log/httperror.log",
                b"notice\n".to_vec(),
                Behaviour::Whole,
            ),
            (
                "var/log/bash.log",
                b"root on /dev/pts/0 shell_command=\"ls\"\n".to_vec(),
                Behaviour::Whole,
            ),
            (
                "var/log/cron",
                b"(root) CMD (x)\n".to_vec(),
                Behaviour::Whole,
            ),
            ("var/log/ns.log", b"ok\n".to_vec(), Behaviour::Whole),
        ];
        for (p, content, b) in extra {
            files.retain(|(q, _, _)| *q != p);
            files.push((p, content, b));
        }
        let mut files: Vec<MockFile> = files
            .into_iter()
            .map(|(p, content, behaviour)| MockFile {
                entry: Entry {
                    path: EvPath::new(p.as_bytes().to_vec()),
                    kind: EntryKind::File,
                    size: content.len() as u64,
                    mode: 0o100_644,
                    uid: 0,
                    gid: 0,
                    mtime: 1_600_000_000,
                    btime: None,
                    link_target: None,
                    identity: None,
                },
                content,
                behaviour,
            })
            .collect();
        files.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
        MockEvidence { files }
    }

    fn file(&self, entry: &Entry) -> &MockFile {
        self.files
            .iter()
            .find(|f| f.entry.path == entry.path)
            .expect("listed by the mock")
    }
}

struct MockReader {
    data: Vec<u8>,
    pos: usize,
    behaviour: Behaviour,
    calls: usize,
}

impl Read for MockReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        let end = match self.behaviour {
            Behaviour::Shrinks(n) | Behaviour::FailsAfter(n) => n.min(self.data.len()),
            _ => self.data.len(),
        };
        if self.pos >= end {
            if let Behaviour::FailsAfter(_) = self.behaviour {
                return Err(io::Error::other("simulated I/O error (EIO)"));
            }
            return Ok(0);
        }
        let mut n = (end - self.pos).min(buf.len());
        match self.behaviour {
            Behaviour::Interrupted if self.calls % 2 == 1 => {
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            Behaviour::Trickle => n = n.min(1),
            _ => {}
        }
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Evidence for MockEvidence {
    fn kind(&self) -> &'static str {
        "mock"
    }

    fn list(&self) -> Listing {
        Listing {
            entries: self.files.iter().map(|f| f.entry.clone()).collect(),
            gaps: Vec::new(),
        }
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        let f = self.file(entry);
        if f.behaviour == Behaviour::OpenFails {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok(Box::new(MockReader {
            data: f.content.clone(),
            pos: 0,
            behaviour: f.behaviour,
            calls: 0,
        }))
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        let p = path.as_bytes();
        self.files
            .iter()
            .any(|f| {
                let e = f.entry.path.as_bytes();
                e == p || (e.starts_with(p) && e.get(p.len()) == Some(&b'/'))
            })
            .then(|| path.clone())
    }
}

fn marker_rule_set() -> RuleSet {
    RuleSet::from_sources(vec![("hostile.toml".to_owned(), marker_rules())], vec![])
        .unwrap_or_else(|d| panic!("marker rules invalid: {d:#?}"))
}

fn mock_scan(ev: &MockEvidence, rules: &RuleSet, threads: usize) -> ScanOutput {
    Scanner::new(
        rules,
        ScanOptions {
            threads,
            ..ScanOptions::default()
        },
    )
    .scan(ev)
}

fn gaps_at<'g>(gaps: &'g [Gap], path: &str) -> Vec<&'g Gap> {
    gaps.iter()
        .filter(|g| g.path.as_bytes() == path.as_bytes())
        .collect()
}

fn mock_verdict(ev: &MockEvidence, rules: &RuleSet) -> sporen::model::Report {
    let appliance = sporen::appliance::Appliance::embedded().expect("embedded knowledge");
    let since = sporen::rules::load::parse_time("2020-01-27").expect("date");
    sporen::app::build_report(
        ev,
        rules,
        &appliance,
        "mock",
        &ScanOptions::default(),
        &sporen::verdict::WindowOverrides {
            since: vec![sporen::verdict::DateArg::All(since)],
            until: Vec::new(),
        },
    )
}

/// A log of `lines` filler lines with the log marker on line 1.
fn marked_log(lines: usize) -> Vec<u8> {
    [
        b"Jan 11 23:41:12 ns sh[1]: HOSTILE-LOG-MARKER\n".as_slice(),
        &filler_lines(lines),
    ]
    .concat()
}

#[test]
fn mock_control_complete_appliance_is_clean() {
    let rules = marker_rule_set();
    let ev = MockEvidence::appliance(vec![]);
    let out = mock_scan(&ev, &rules, 1);
    assert!(out.gaps.is_empty(), "{:#?}", out.gaps);
    let report = mock_verdict(&ev, &rules);
    assert_eq!(report.verdict, Verdict::Clean, "{:#?}", report.reasons);
}

#[test]
fn mock_file_that_shrinks_mid_read_is_a_blocking_gap() {
    let rules = marker_rule_set();
    let log = marked_log(2000);
    let half = log.len() / 2;
    let conf = [b"HOSTILE-FILE-MARKER\n".as_slice(), &vec![b'#'; 10_000]].concat();
    let ev = MockEvidence::appliance(vec![
        ("var/log/bash.log", log, Behaviour::Shrinks(half)),
        ("flash/nsconfig/ns.conf", conf, Behaviour::Shrinks(100)),
        (
            "var/log/ns.log",
            b"HOSTILE-LOG-MARKER\n".to_vec(),
            Behaviour::Shrinks(0),
        ),
    ]);
    for threads in [1, 0] {
        let out = mock_scan(&ev, &rules, threads);
        for (path, read) in [
            ("/var/log/bash.log", half),
            ("/flash/nsconfig/ns.conf", 100),
            ("/var/log/ns.log", 0),
        ] {
            let g = gaps_at(&out.gaps, path);
            assert!(
                g.iter()
                    .any(|g| g.cause == GapCause::Shrank && g.blocks_clean),
                "{path}: no blocking shrank gap in {:#?}",
                out.gaps
            );
            let r = out
                .reads
                .iter()
                .find(|r| r.path.as_bytes() == path.as_bytes())
                .expect("read recorded");
            assert!(!r.complete, "{path}: a short read counted as complete");
            assert_eq!(r.bytes, read as u64);
            assert!(r.sha256.is_none(), "{path}: digest of a partial read");
        }
        // What was read is still examined.
        let hit = |rule: &str, path: &str| {
            out.findings
                .iter()
                .any(|f| f.rule == rule && f.path.as_bytes() == path.as_bytes())
        };
        assert!(
            hit("hostile.log-marker", "/var/log/bash.log"),
            "{:#?}",
            out.findings
        );
        assert!(
            hit("hostile.file-marker", "/flash/nsconfig/ns.conf"),
            "{:#?}",
            out.findings
        );
    }
    let report = mock_verdict(&ev, &rules);
    assert_eq!(report.verdict, Verdict::Compromised);
    assert!(
        report.reasons.iter().any(|r| r.contains("shrank")),
        "{:#?}",
        report.reasons
    );

    // Without the markers, the shrink alone must prevent `clean`.
    let ev = MockEvidence::appliance(vec![(
        "var/log/cron",
        filler_lines(500),
        Behaviour::Shrinks(1000),
    )]);
    let report = mock_verdict(&ev, &rules);
    assert_eq!(
        report.verdict,
        Verdict::Inconclusive,
        "{:#?}",
        report.reasons
    );
}

#[test]
fn mock_read_error_mid_file_is_a_blocking_gap() {
    let rules = marker_rule_set();
    let log = marked_log(2000);
    let conf = [b"HOSTILE-FILE-MARKER\n".as_slice(), &vec![b'#'; 10_000]].concat();
    let ev = MockEvidence::appliance(vec![
        (
            "var/log/bash.log",
            log.clone(),
            Behaviour::FailsAfter(log.len() / 3),
        ),
        ("var/log/ns.log", gzip(&log), Behaviour::FailsAfter(10)),
        ("flash/nsconfig/ns.conf", conf, Behaviour::FailsAfter(5000)),
        (
            "var/log/cron",
            b"(root) CMD (x)\n".to_vec(),
            Behaviour::FailsAfter(0),
        ),
    ]);
    for threads in [1, 0] {
        let out = mock_scan(&ev, &rules, threads);
        for path in [
            "/var/log/bash.log",
            "/flash/nsconfig/ns.conf",
            "/var/log/cron",
        ] {
            let g = gaps_at(&out.gaps, path);
            assert!(
                g.iter().any(|g| g.cause == GapCause::Unreadable
                    && g.blocks_clean
                    && g.detail.contains("simulated")),
                "{path}: no blocking unreadable gap in {:#?}",
                out.gaps
            );
        }
        // A gzip log that fails to read is damaged or unreadable; either way it blocks clean.
        assert!(
            gaps_at(&out.gaps, "/var/log/ns.log")
                .iter()
                .any(
                    |g| matches!(g.cause, GapCause::Unreadable | GapCause::CorruptGzip)
                        && g.blocks_clean
                ),
            "{:#?}",
            out.gaps
        );
        for r in out
            .reads
            .iter()
            .filter(|r| r.path.as_bytes() != b"/var/vpn/bookmark/jdoe.xml")
        {
            let whole = ["/var/log/httpaccess.log", "/var/log/httperror.log"]
                .contains(&String::from_utf8_lossy(r.path.as_bytes()).as_ref());
            assert_eq!(r.complete, whole, "{r:?}");
        }
        let hit = |rule: &str, path: &str| {
            out.findings
                .iter()
                .any(|f| f.rule == rule && f.path.as_bytes() == path.as_bytes())
        };
        assert!(
            hit("hostile.log-marker", "/var/log/bash.log"),
            "lines before the error lost: {:#?}",
            out.findings
        );
        assert!(
            hit("hostile.file-marker", "/flash/nsconfig/ns.conf"),
            "bytes before the error lost: {:#?}",
            out.findings
        );
    }
    let ev = MockEvidence::appliance(vec![(
        "var/log/httperror.log",
        filler_lines(100),
        Behaviour::FailsAfter(700),
    )]);
    assert_eq!(mock_verdict(&ev, &rules).verdict, Verdict::Inconclusive);
}

#[test]
fn mock_open_failure_is_a_blocking_gap_and_the_scan_goes_on() {
    let rules = marker_rule_set();
    let ev = MockEvidence::appliance(vec![
        ("var/log/bash.log", marked_log(10), Behaviour::OpenFails),
        (
            "flash/nsconfig/ns.conf",
            b"HOSTILE-FILE-MARKER".to_vec(),
            Behaviour::OpenFails,
        ),
        (
            "var/vpn/bookmark/x.xml",
            b"HOSTILE-FILE-MARKER".to_vec(),
            Behaviour::Whole,
        ),
    ]);
    for threads in [1, 0] {
        let out = mock_scan(&ev, &rules, threads);
        for path in ["/var/log/bash.log", "/flash/nsconfig/ns.conf"] {
            assert!(
                gaps_at(&out.gaps, path)
                    .iter()
                    .any(|g| g.cause == GapCause::Unreadable && g.blocks_clean),
                "{path}: {:#?}",
                out.gaps
            );
            assert!(
                out.findings
                    .iter()
                    .all(|f| f.path.as_bytes() != path.as_bytes())
            );
        }
        assert!(
            out.findings
                .iter()
                .any(|f| f.path.as_bytes() == b"/var/vpn/bookmark/x.xml"),
            "the scan stopped at the first unreadable file"
        );
    }
    let ev = MockEvidence::appliance(vec![(
        "var/log/httpaccess.log",
        b"x\n".to_vec(),
        Behaviour::OpenFails,
    )]);
    let report = mock_verdict(&ev, &rules);
    assert_eq!(
        report.verdict,
        Verdict::Inconclusive,
        "{:#?}",
        report.reasons
    );
}

#[test]
fn mock_interrupted_reads_are_retried_not_reported() {
    let rules = marker_rule_set();
    let log = marked_log(500);
    let ev = MockEvidence::appliance(vec![
        ("var/log/bash.log", log.clone(), Behaviour::Interrupted),
        ("var/log/ns.log", gzip(&log), Behaviour::Interrupted),
        (
            "flash/nsconfig/ns.conf",
            b"HOSTILE-FILE-MARKER\n".to_vec(),
            Behaviour::Interrupted,
        ),
    ]);
    let out = mock_scan(&ev, &rules, 1);
    assert!(out.gaps.is_empty(), "{:#?}", out.gaps);
    assert!(out.reads.iter().all(|r| r.complete));
    for path in [
        "/var/log/bash.log",
        "/var/log/ns.log",
        "/flash/nsconfig/ns.conf",
    ] {
        assert!(
            out.findings
                .iter()
                .any(|f| f.path.as_bytes() == path.as_bytes()),
            "{path}"
        );
    }
}

#[test]

fn mock_gzip_log_delivered_one_byte_per_read_is_still_decoded() {
    let rules = marker_rule_set();
    let ev = MockEvidence::appliance(vec![(
        "var/log/bash.log.1.gz",
        gzip(&marked_log(20)),
        Behaviour::Trickle,
    )]);
    let out = mock_scan(&ev, &rules, 1);
    assert!(
        out.findings
            .iter()
            .any(|f| f.rule == "hostile.log-marker"
                && f.path.as_bytes() == b"/var/log/bash.log.1.gz"),
        "gzip log read in 1-byte pieces was not decoded: findings {:#?}, gaps {:#?}",
        out.findings,
        out.gaps
    );
}

#[test]
fn mock_plain_log_delivered_one_byte_per_read_is_matched() {
    let rules = marker_rule_set();
    let ev = MockEvidence::appliance(vec![(
        "var/log/bash.log",
        marked_log(20),
        Behaviour::Trickle,
    )]);
    let out = mock_scan(&ev, &rules, 1);
    assert!(out.gaps.is_empty(), "{:#?}", out.gaps);
    assert!(
        out.findings.iter().any(|f| f.rule == "hostile.log-marker"),
        "{:#?}",
        out.findings
    );
}

// ---------------------------------------------------------------------------------------------
// Invalid rules and bad targets
// ---------------------------------------------------------------------------------------------

/// Four different problems, none a TOML syntax error (which would hide the others).
const BAD_RULES: &str = r#"[pack]
id = "bad"
title = "Broken rules"
description = "Every rule here has a problem."

[[rule]]
id = "bad.severity-and-regex"
title = "t"
description = "d"
severity = "severe"
[rule.lines]
logs = ["var/log/ns.log"]
any = [{ regex = "(unclosed" }]

[[rule]]
id = "bad.field-and-glob"
title = "t"
description = "d"
severity = "high"
colour = "red"
[rule.file]
paths = ["/abs/path"]
"#;

/// `(line, column)` of the first occurrence of `needle` in `src`, both 1-based.
fn position(src: &str, needle: &str) -> (usize, usize) {
    let at = src
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in source"));
    let line = src[..at].matches('\n').count() + 1;
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, src[line_start..at].chars().count() + 1)
}

#[test]
fn rules_check_reports_every_problem_with_its_location() {
    let c = Case::new();
    let bad = c.rules("bad.toml", BAD_RULES);
    let file = bad.display().to_string();
    let expected = [
        ("E009", position(BAD_RULES, "\"severe\"")),
        ("E005", position(BAD_RULES, "\"(unclosed\"")),
        ("E002", position(BAD_RULES, "colour")),
        ("E015", position(BAD_RULES, "\"/abs/path\"")),
    ];

    let run = sporen([OsStr::new("rules"), OsStr::new("check"), bad.as_os_str()]);
    assert_eq!(
        run.code,
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    let all = format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr);
    for (code, (line, col)) in expected {
        assert!(
            all.contains(&format!("error[{code}]")),
            "{code} missing:\n{all}"
        );
        let loc = format!("{file}:{line}:{col}");
        assert!(all.contains(&loc), "{code}: location {loc} missing:\n{all}");
    }
    assert!(all.contains("4 problems"), "{all}");

    let run = sporen([
        OsStr::new("rules"),
        OsStr::new("check"),
        OsStr::new("--json"),
        bad.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2));
    let v = run.json();
    let mut got: Vec<(String, usize, usize)> = v
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| {
            assert_eq!(d["file"], file.as_str());
            (
                d["code"].as_str().expect("code").to_owned(),
                d["line"].as_u64().expect("line") as usize,
                d["column"].as_u64().expect("column") as usize,
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, usize, usize)> = expected
        .iter()
        .map(|(c, (l, col))| ((*c).to_owned(), *l, *col))
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn invalid_rules_stop_the_scan_before_the_target_is_touched() {
    let c = Case::appliance();
    let bad = c.rules("bad.toml", BAD_RULES);
    let missing = c.out.join("no-such-target");
    let run = sporen([
        OsStr::new("scan"),
        missing.as_os_str(),
        OsStr::new("--rules"),
        bad.as_os_str(),
        OsStr::new("--no-builtin-rules"),
    ]);
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.is_empty(), "a report was printed");
    assert!(
        run.stderr.contains("error[E009]") && run.stderr.contains("nothing was scanned"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("cannot scan"),
        "the target was looked at first:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("no-such-target"),
        "the target was looked at first:\n{}",
        run.stderr
    );

    // The same with builtin rules and a real target: exit 2, nothing printed, nothing changed.
    let before = snapshot(&c.root);
    let run = sporen([
        OsStr::new("scan"),
        c.root.as_os_str(),
        OsStr::new("--rules"),
        bad.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.is_empty());
    assert_same_tree(&before, &snapshot(&c.root), "scan with invalid rules");
}

#[test]
fn a_target_that_is_not_a_directory_is_an_error() {
    let c = Case::new();
    let file = c.out.join("file");
    fs::write(&file, "not a tree").expect("write");
    let fifo = c.out.join("fifo");
    mkfifo(&fifo);
    let dangling = c.out.join("dangling");
    symlink(c.out.join("nowhere"), &dangling).expect("symlink");
    let missing = c.out.join("missing");
    let cases: [(&Path, &str); 4] = [
        (&missing, "No such file or directory"),
        (&file, "not a folder"),
        (&fifo, "not a folder"),
        (&dangling, "No such file or directory"),
    ];
    for (target, why) in cases {
        let run = sporen([OsStr::new("scan"), target.as_os_str()]);
        assert_eq!(run.code, Some(2), "{}: {}", target.display(), run.stderr);
        assert!(run.stdout.is_empty());
        assert!(
            run.stderr.contains("cannot scan"),
            "{}: {}",
            target.display(),
            run.stderr
        );
        assert!(
            run.stderr.contains(&target.display().to_string()),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(why),
            "{}: expected {why:?} in {}",
            target.display(),
            run.stderr
        );
    }
    // Control: a link to a directory is a fine target, scanned like the directory itself.
    let tree = c.out.join("tree");
    appliance(&tree);
    let to_tree = c.out.join("to-tree");
    symlink(&tree, &to_tree).expect("symlink");
    let direct = sporen([
        OsStr::new("scan"),
        tree.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("json"),
    ]);
    let linked = sporen([
        OsStr::new("scan"),
        to_tree.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("json"),
    ]);
    linked.assert_scanned();
    let (d, l) = (direct.json(), linked.json());
    assert!(d["coverage"]["entries_seen"].as_u64().unwrap_or(0) > 10);
    assert_eq!(d["coverage"]["entries_seen"], l["coverage"]["entries_seen"]);
    assert_eq!(d["verdict"], l["verdict"]);
}
