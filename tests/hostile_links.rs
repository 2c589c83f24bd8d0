//! Links, loops and special files in a folder target. A link is never followed out of the root
//! (absolute targets resolve inside it), a file swapped for a link or a FIFO after listing is
//! never opened, link loops neither hang nor crash, and FIFOs and sockets are gaps, never opened.
//! Every "never" has a control in the same evidence that shows the positive result.

#![cfg(unix)]

mod common;

use common::hostile::{Tree, appliance};
use common::mock::entry;
use common::report::{finding, findings, findings_at, gap, path_bytes};
use common::run::{Outcome, within};
use common::tree::{drain, link, mkfifo, primed_fifo, put, sha256_hex, snapshot};
use serde_json::Value;
use sporen::input::dir::DirEvidence;
use sporen::input::{EntryKind, Evidence};
use sporen::model::EvPath;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// Evidence whose links lead out of it (to the host's `/etc`, to a folder outside with a
/// matching `ns.log`), plus an in-root `/etc/passwd` as the control; returns the outside folder.
fn links_out_of_the_root(c: &Tree) -> PathBuf {
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
    outside
}

/// `sporen scan ROOT --format FORMAT` with the link rules only.
fn scan_with_link_rules(c: &Tree, format: &str) -> Outcome {
    let rules = c.rules("links.toml", LINK_RULES);
    let run = c.scan_with(&rules, format, &[OsStr::new("--no-builtin-rules")]);
    run.assert_verdict("scan");
    run
}

/// The in-root passwd is found by both rules (the control), every link is reported as a link
/// and never read, and no content comes from anywhere but the in-root passwd.
fn assert_only_the_root_was_read(v: &Value) {
    let inside = finding(v, "links.passwd-content", b"/etc/passwd");
    assert!(
        inside["excerpt"]
            .as_str()
            .unwrap_or("")
            .contains("INSIDE-ROOT"),
        "{inside:#}"
    );
    finding(v, "links.passwd-lines", b"/etc/passwd");

    // The links are reported as links (path rule of type any), never read.
    for p in [
        "/etc/shadowlink",
        "/var/up",
        "/var/log/ns.log.1",
        "/var/vpn/bookmark/passwd.xml",
        "/var/nslog",
        "/hostetc",
    ] {
        let f = finding(v, "links.link-paths", p.as_bytes());
        assert!(
            f.get("sha256").is_none() && f.get("excerpt").is_none(),
            "link {p} was read: {f:#}"
        );
    }
    // Nothing with content comes from anywhere but the in-root passwd.
    for f in findings(v) {
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
}

/// No finding carries the digest of a host file or of the file outside, and no more bytes were
/// read than the root's regular files hold.
fn assert_no_host_bytes(v: &Value, root: &Path, outside: &Path) {
    let mut host_digests = vec![sha256_hex(
        &fs::read(outside.join("ns.log")).expect("outside"),
    )];
    for p in ["/etc/passwd", "/etc/shadow", "/etc/hostname"] {
        if let Ok(b) = fs::read(p) {
            host_digests.push(sha256_hex(&b));
        }
    }
    for f in findings(v) {
        if let Some(s) = f.get("sha256").and_then(Value::as_str) {
            assert!(
                !host_digests.contains(&s.to_owned()),
                "digest of a host file: {f:#}"
            );
        }
    }
    // Bytes read can only come from regular files inside the root.
    let in_root: u64 = snapshot(root)
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
}

#[test]
fn links_out_of_the_root_are_never_followed() {
    let c = Tree::new();
    let outside = links_out_of_the_root(&c);
    let v = scan_with_link_rules(&c, "json").json();
    assert_only_the_root_was_read(&v);
    assert_no_host_bytes(&v, &c.root, &outside);

    // Neither the outside secret nor the host's own root line appear in any output.
    let host_root_line = fs::read_to_string("/etc/passwd").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("root:"))
            .map(str::to_owned)
    });
    for format in ["json", "text", "csv"] {
        let s = scan_with_link_rules(&c, format).stdout_str();
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
    let c = Tree::new();
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
    let nslog = entry(&listing, b"/var/nslog").expect("var/nslog listed");
    assert_eq!(nslog.kind, EntryKind::Symlink);
    assert_eq!(
        nslog.link_target.as_deref(),
        Some(outside.as_os_str().as_bytes())
    );
}

#[test]
fn a_file_swapped_after_listing_is_not_read() {
    let c = Tree::new();
    let r = &c.root;
    put(r, "var/log/ns.log", "inside\n");
    put(r, "var/log/bash.log", "inside\n");
    let outside = c.out.join("outside");
    put(&outside, "ns.log", "OUTSIDE-ROOT-SECRET\n");
    let ev = DirEvidence::new(r).expect("DirEvidence");
    let listing = ev.list();
    let listed = |p: &[u8]| entry(&listing, p).cloned().expect("listed");
    let ns = listed(b"/var/log/ns.log");
    let bash = listed(b"/var/log/bash.log");
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

#[test]
fn symlink_loops_neither_hang_nor_crash() {
    let c = Tree::appliance();
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
    run.assert_verdict("scan");
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
    text.assert_verdict("scan");

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
    let c = Tree::appliance();
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
    run.assert_verdict("scan");
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
    text.assert_verdict("scan");
    let t = text.stdout_str();
    assert!(t.contains("special_file"), "{t}");
    drop(listeners);
}
