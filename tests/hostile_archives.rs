//! Archives and streams shaped by an attacker, or just by an unusual tar: every member is read
//! with its own bytes or named in a gap, and no input makes sporen hold an archive or an image
//! in memory.

mod common;

use common::archive::{
    archive, dir, file, gunzip, gzip, gzip_zeros, hard_link, header, pax, probe_rules, probe_scan,
    symlink, tar_of, typed,
};
use common::report::{finding_paths, found_paths, gap_list};
use common::run::{Outcome, fake_ssh, finish, run_with_stdin, sporen_bounded};
use common::tree::{put, sha256_hex};
use common::{fixture, materialise, scan_json, sporen};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

const MARK: &str = "HOSTILE-ARCHIVE-MARKER";

fn marked(what: &str) -> Vec<u8> {
    format!("{what}\n{MARK}\n").into_bytes()
}

fn has_gap(v: &serde_json::Value, path: &str, words: &str) -> bool {
    gap_list(v)
        .iter()
        .any(|(_, p, d)| p == path && d.contains(words))
}

/// Time limit of the runs under an address-space limit (a guard against a hang, not a measure).
const CAPPED_SECS: u64 = 120;

/// [`probe_scan`] under an address-space limit of 256 MiB, so that an input that makes sporen
/// allocate without bound fails here instead of exhausting the test machine.
fn probe_scan_capped(target: &Path, rules: &Path) -> Outcome {
    sporen_bounded(
        &[
            OsStr::new("scan"),
            target.as_os_str(),
            OsStr::new("--no-builtin-rules"),
            OsStr::new("--rules"),
            rules.as_os_str(),
            OsStr::new("--format"),
            OsStr::new("json"),
        ],
        CAPPED_SECS,
        256 << 20,
    )
}

// ---------------------------------------------------------------------------------------------
// Support bundles

#[test]
fn support_bundle_members_keep_their_own_bytes_and_digests() {
    let d = tempfile::tempdir().unwrap();
    let top = d.path().join("collector_x");
    std::fs::create_dir(&top).unwrap();
    for (n, body) in [("a", "AAA\n"), ("b", "BBB\n"), ("c", "CCC\n")] {
        std::fs::write(top.join(n), body).unwrap();
    }
    let rules = probe_rules(d.path(), "BBB", &["**"]);
    // `tar -cf x.tar collector_x/` puts the folder itself first; a list of files does not.
    for (name, with_dir) in [("bundle.tar", true), ("files.tar", false)] {
        let mut members = Vec::new();
        if with_dir {
            members.push(dir("collector_x/"));
        }
        for (n, body) in [("a", "AAA\n"), ("b", "BBB\n"), ("c", "CCC\n")] {
            members.push(file(&format!("collector_x/{n}"), body.as_bytes()));
        }
        let t = put(d.path(), name, archive(&members));
        let (_, v) = probe_scan(&t, &rules, &[]);
        assert_eq!(
            finding_paths(&v),
            [("/b".to_owned(), Some(sha256_hex(b"BBB\n")))],
            "{name}: {v}"
        );
        assert_eq!(gap_list(&v), [], "{name}");
    }
}

#[test]
fn clean_appliance_as_a_support_bundle_scans_like_the_folder() {
    let d = tempfile::tempdir().unwrap();
    let top = d.path().join("collector_P_192.0.2.10_26Nov2026_10_12");
    materialise("clean-13.0-47.24", &top);
    let want = scan_json(&top, &[]).1;
    assert_eq!(want["verdict"], "clean");
    let tgz = d
        .path()
        .join("collector_P_192.0.2.10_26Nov2026_10_12.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .arg("-C")
        .arg(d.path())
        .arg("collector_P_192.0.2.10_26Nov2026_10_12")
        .status()
        .unwrap();
    assert!(status.success());
    let got = scan_json(&tgz, &[]).1;
    assert_eq!(got["target"]["input"], "support-bundle");
    assert_eq!(got["verdict"], "clean", "{}", got["coverage"]["gaps"]);
    assert_eq!(got["coverage"]["sources"], want["coverage"]["sources"]);
}

#[test]
fn bundle_with_flash_nsconfig_keeps_its_own_nsconfig_folder() {
    let d = tempfile::tempdir().unwrap();
    let t = put(
        d.path(),
        "bundle.tar",
        archive(&[
            file(
                "collector_P_192.0.2.10_x/flash/nsconfig/ns.conf",
                b"#NS13.0 Build 47.24\nset ns hostName gw\n",
            ),
            file(
                "collector_P_192.0.2.10_x/nsconfig/ns.conf",
                &marked("#NS13.0 Build 47.24"),
            ),
        ]),
    );
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (_, v) = probe_scan(&t, &rules, &[]);
    let found = found_paths(&v);
    assert_eq!(found, ["/nsconfig/ns.conf"], "{v}");
}

// ---------------------------------------------------------------------------------------------
// Members that used to be dropped or emptied

/// A 6 MiB file with seven data stretches between holes; the marker is in the last one.
fn sparse_file(path: &Path) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::create(path).unwrap();
    f.set_len(6 << 20).unwrap();
    for i in 0..7u64 {
        let at = i * (896 << 10);
        let text = if i == 6 {
            marked("last stretch")
        } else {
            format!("stretch {i}\n").into_bytes()
        };
        f.write_all_at(&text, at).unwrap();
    }
    drop(f);
    std::fs::read(path).unwrap()
}

#[test]
fn gnu_and_pax_sparse_members_are_read_with_their_holes_as_zeros() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(src.join("var/tmp")).unwrap();
    let bytes = sparse_file(&src.join("var/tmp/sparse"));
    let rules = probe_rules(d.path(), MARK, &["var/tmp/*"]);
    for (name, args) in [
        ("gnu", &["--format=gnu"][..]),
        ("pax-0.0", &["--format=posix", "--sparse-version=0.0"]),
        ("pax-0.1", &["--format=posix", "--sparse-version=0.1"]),
        ("pax-1.0", &["--format=posix", "--sparse-version=1.0"]),
    ] {
        let t = d.path().join(format!("{name}.tar"));
        let ok = Command::new("tar")
            .args(args)
            .arg("-cSf")
            .arg(&t)
            .arg("-C")
            .arg(&src)
            .arg("var/tmp/sparse")
            .status()
            .unwrap();
        assert!(ok.success());
        assert!(
            std::fs::metadata(&t).unwrap().len() < 1 << 20,
            "{name}: tar did not store the file as sparse"
        );
        let (_, v) = probe_scan(&t, &rules, &[]);
        assert_eq!(
            finding_paths(&v),
            [("/var/tmp/sparse".to_owned(), Some(sha256_hex(&bytes)))],
            "{name}: {}",
            v["coverage"]["gaps"]
        );
    }
}

#[test]
fn unknown_typeflags_are_read_as_regular_files() {
    let d = tempfile::tempdir().unwrap();
    let t = put(
        d.path(),
        "z.tar",
        archive(&[typed("var/tmp/zed", b'Z', &marked("z"))]),
    );
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (_, v) = probe_scan(&t, &rules, &[]);
    assert_eq!(
        finding_paths(&v),
        [("/var/tmp/zed".to_owned(), Some(sha256_hex(&marked("z"))))]
    );
}

#[test]
fn names_with_dotdot_are_read_at_the_root_and_reported() {
    let d = tempfile::tempdir().unwrap();
    let t = put(
        d.path(),
        "dotdot.tar",
        archive(&[
            file("var/log/../tmp/up", &marked("up")),
            file("../../outside", &marked("out")),
        ]),
    );
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (_, v) = probe_scan(&t, &rules, &[]);
    let found = found_paths(&v);
    assert_eq!(found, ["/outside", "/var/tmp/up"]);
    assert!(has_gap(&v, "/var/tmp/up", "var/log/../tmp/up"), "{v}");
    assert!(has_gap(&v, "/outside", "../../outside"), "{v}");
    assert_ne!(v["verdict"], "clean");
}

#[test]
fn hard_links_resolve_forward_and_a_missing_target_is_a_gap() {
    let d = tempfile::tempdir().unwrap();
    let t = put(
        d.path(),
        "links.tar",
        archive(&[
            hard_link("var/tmp/early", "var/tmp/later"),
            file("var/tmp/later", &marked("later")),
            hard_link("var/tmp/chain", "var/tmp/early"),
            hard_link("var/tmp/dangling", "var/tmp/nowhere"),
        ]),
    );
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (_, v) = probe_scan(&t, &rules, &[]);
    let sha = Some(sha256_hex(&marked("later")));
    assert_eq!(
        finding_paths(&v),
        [
            ("/var/tmp/chain".to_owned(), sha.clone()),
            ("/var/tmp/early".to_owned(), sha.clone()),
            ("/var/tmp/later".to_owned(), sha),
        ]
    );
    assert!(has_gap(&v, "/var/tmp/dangling", "var/tmp/nowhere"), "{v}");
}

#[test]
fn a_duplicate_member_name_keeps_the_last_and_reports_the_earlier() {
    let d = tempfile::tempdir().unwrap();
    let t = put(
        d.path(),
        "dup.tar",
        archive(&[
            file("var/tmp/dup", &marked("first")),
            file("var/tmp/dup", b"second, harmless\n"),
        ]),
    );
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (_, v) = probe_scan(&t, &rules, &[]);
    assert_eq!(finding_paths(&v), []);
    assert!(has_gap(&v, "/var/tmp/dup", "2 members"), "{v}");
    assert_ne!(v["verdict"], "clean");
}

#[test]
fn long_names_links_and_sizes_from_pax_and_gnu_headers() {
    let d = tempfile::tempdir().unwrap();
    let long = format!("var/tmp/{}/deep", "d".repeat(150));
    let gnu_long = format!("var/tmp/{}/gnu", "g".repeat(150));
    let mut gnu_name = typed("././@LongLink", b'L', format!("{gnu_long}\0").as_bytes());
    gnu_name.extend(file("var/tmp/placeholder", &marked("gnu")));
    let t = put(
        d.path(),
        "long.tar",
        archive(&[
            pax(&[("path", long.as_bytes())]),
            file("var/tmp/short-stand-in", &marked("pax")),
            gnu_name,
            pax(&[("linkpath", long.as_bytes())]),
            symlink("var/tmp/to-deep", "ignored"),
        ]),
    );
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (_, v) = probe_scan(&t, &rules, &[]);
    let found = found_paths(&v);
    assert_eq!(found, [format!("/{long}"), format!("/{gnu_long}")], "{v}");
}

#[test]
fn oversized_pax_records_and_names_are_gaps_not_allocations() {
    let d = tempfile::tempdir().unwrap();
    // A PAX header that claims 1 TiB of records, then a normal member.
    let mut t = header(b"PaxHeaders/huge", b'x', 1 << 40, b"").to_vec();
    t.extend(vec![0u8; 4096]);
    let small = archive(&[
        typed("././@LongLink", b'L', &vec![b'n'; 2 << 20]),
        file("var/tmp/after-long-name", b"x"),
        file("var/tmp/fine", &marked("fine")),
    ]);
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let huge = put(d.path(), "huge-pax.tar", &t);
    let out = probe_scan_capped(&huge, &rules);
    let v = out.json_or_null();
    assert!(
        gap_list(&v).iter().any(|g| g.0 == "corrupt_archive"),
        "{}: {v}",
        out.stderr
    );
    let small = put(d.path(), "long-name.tar", &small);
    let (_, v) = probe_scan(&small, &rules, &[]);
    let found = found_paths(&v);
    assert_eq!(found, ["/var/tmp/fine"], "{v}");
    assert!(
        gap_list(&v)
            .iter()
            .any(|g| g.0 == "corrupt_archive" && g.2.contains("name")),
        "{v}"
    );
}

// ---------------------------------------------------------------------------------------------
// Memory and disk: nothing held in memory, budgets stop with a gap

/// 64 MiB of zeros plus links to it, gzip'd: 66 KB that used to need 64 MiB per link.
fn linked_zeros(links: usize) -> Vec<u8> {
    let mut links_then_end = Vec::new();
    for i in 0..links {
        links_then_end.push(hard_link(&format!("var/db/link{i:03}"), "var/db/big"));
    }
    links_then_end.push(hard_link("var/tmp/read-me", "var/db/big"));
    [
        gzip(&header(b"var/db/big", b'0', 64 << 20, b"")),
        gzip_zeros(64),
        gzip(&archive(&links_then_end)),
    ]
    .concat()
}

#[test]
fn hard_links_share_their_target_bytes() {
    let d = tempfile::tempdir().unwrap();
    let tgz = put(d.path(), "links.tar.gz", linked_zeros(20));
    let rules = probe_rules(d.path(), MARK, &["var/tmp/read-me"]);
    let out = probe_scan_capped(&tgz, &rules);
    let v = out.json_or_null();
    assert_eq!(v["coverage"]["files_seen"], 22, "{}", out.stderr);
    assert_eq!(gap_list(&v), []);
}

#[test]
fn link_and_hole_bytes_beyond_the_budget_are_not_served() {
    let d = tempfile::tempdir().unwrap();
    let tgz = put(d.path(), "links.tar.gz", linked_zeros(3));
    let rules = probe_rules(d.path(), MARK, &["var/**"]);
    let (_, v) = probe_scan(&tgz, &rules, &["--max-link-bytes", "100M"]);
    // The data member and one link fit in 100 MiB of repeated bytes; the others are gaps.
    let unread: Vec<String> = gap_list(&v)
        .into_iter()
        .filter(|g| g.2.contains("--max-link-bytes"))
        .map(|g| g.1)
        .collect();
    assert_eq!(
        unread,
        ["/var/db/link001", "/var/db/link002", "/var/tmp/read-me"],
        "{v}"
    );
}

#[test]
fn a_gzip_image_is_not_inflated_into_memory() {
    // A real UFS2 partition image followed by 256 MiB of zeros, gzip'd (about 300 KB): it
    // used to be unpacked in memory twice, more than the 256 MiB allowed here.
    let d = tempfile::tempdir().unwrap();
    let img = gunzip(&common::project().join("fixtures/images/var.img.gz"));
    let gz = put(
        d.path(),
        "var.img.gz",
        [gzip(&img), gzip_zeros(256)].concat(),
    );
    let out = sporen_bounded(
        &[
            OsStr::new("scan"),
            gz.as_os_str(),
            OsStr::new("--format"),
            OsStr::new("json"),
        ],
        CAPPED_SECS,
        256 << 20,
    );
    let v = out.json_or_null();
    assert_eq!(v["target"]["input"], "disk-image", "{}", out.stderr);
    assert_eq!(
        v["target"]["inputs"][0]["sha256"],
        sha256_hex(&std::fs::read(&gz).unwrap())
    );
}

#[test]
fn a_gzip_bomb_stops_at_max_unpacked_with_a_gap() {
    let d = tempfile::tempdir().unwrap();
    let tgz = put(
        d.path(),
        "bomb.tar.gz",
        gzip(&archive(&[
            file("var/tmp/first", &marked("first")),
            typed("var/tmp/zeros", b'0', &vec![0u8; 32 << 20]),
            file("var/tmp/never", &marked("never")),
        ])),
    );
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (out, v) = probe_scan(&tgz, &rules, &["--max-unpacked", "4M"]);
    let found = found_paths(&v);
    assert_eq!(
        found,
        ["/var/tmp/first"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        gap_list(&v)
            .iter()
            .any(|g| g.0 == "too_large" && g.2.contains("--max-unpacked")),
        "{v}"
    );
    assert_ne!(v["verdict"], "clean");
    // Nothing usable at all is an error, not an empty scan.
    let (out, _) = probe_scan(&tgz, &rules, &["--max-unpacked", "100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-unpacked"));
}

/// Runs `--ssh` with a stand-in client that sends `prefix` (a file) and then `yes` forever.
fn endless_ssh(dir: &Path, prefix: &[u8]) -> (Outcome, serde_json::Value) {
    let head = put(dir, "prefix.bin", prefix);
    let fake = put(
        dir,
        "endless-ssh",
        format!("#!/bin/sh\ncat '{}'\nexec yes\n", head.display()),
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut args: Vec<&OsStr> = ["scan", "--ssh", "nsroot@192.0.2.10", "--max-unpacked", "8M"]
        .into_iter()
        .chain(["--format", "json", "--ssh-program"])
        .map(OsStr::new)
        .collect();
    args.push(fake.as_os_str());
    let out = sporen_bounded(&args, CAPPED_SECS, 512 << 20);
    let v = out.json_or_null();
    (out, v)
}

#[test]
fn an_endless_ssh_stream_is_cut_after_the_archive_or_at_max_unpacked() {
    let (d, root) = fixture("notrobin");
    let whole = tar_of(&root);
    // The archive ends, then the stream goes on: cut a little after the end marker.
    let (out, v) = endless_ssh(d.path(), &whole);
    assert_eq!(v["verdict"], "compromised", "{}", out.stderr);
    let after: Vec<_> = v["coverage"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            g["detail"]
                .as_str()
                .unwrap()
                .contains("after the end of the tar archive")
        })
        .collect();
    assert_eq!(after.len(), 1, "{v}");
    assert_eq!(after[0]["blocks_clean"], false);
    // An archive that never ends (a member claiming 1 TiB): stopped at --max-unpacked.
    let mut endless = whole[..whole.len() - 1024].to_vec();
    endless.extend(header(b"var/log/endless.log", b'0', 1 << 40, b""));
    let (out, v) = endless_ssh(d.path(), &endless);
    assert_eq!(v["verdict"], "compromised", "{}", out.stderr);
    assert!(
        gap_list(&v)
            .iter()
            .any(|g| g.0 == "too_large" && g.2.contains("--max-unpacked")),
        "{v}"
    );
    // The digest covers what was received, which is more than was unpacked.
    let input = &v["target"]["inputs"][0];
    assert_eq!(input["complete"], false);
    assert!(input["bytes"].as_u64().unwrap() >= 8 << 20, "{input}");
}

// ---------------------------------------------------------------------------------------------
// SSH host, targets, temporary folder, input digests

#[test]
fn an_ssh_host_that_looks_like_an_option_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let args_file = d.path().join("args");
    let out = finish(fake_ssh(
        &["--ssh=-oProxyCommand=touch /tmp/x"],
        d.path(),
        &args_file,
    ));
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("starts with `-`"), "{}", out.stderr);
    assert!(!args_file.exists(), "the ssh program was run");
}

#[test]
fn a_symlink_to_an_archive_as_target_is_followed() {
    let d = tempfile::tempdir().unwrap();
    let t = put(
        d.path(),
        "real.tar",
        archive(&[file("var/tmp/x", &marked("x"))]),
    );
    let link = d.path().join("evidence.tar");
    std::os::unix::fs::symlink(&t, &link).unwrap();
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (out, v) = probe_scan(&link, &rules, &[]);
    let found = found_paths(&v);
    assert_eq!(
        found,
        ["/var/tmp/x"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_temp_dir_inside_the_target_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    std::fs::create_dir_all(root.join("var/tmp")).unwrap();
    let inside = root.join("var/tmp");
    let out = sporen(&[
        "scan",
        root.to_str().unwrap(),
        "--temp-dir",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--temp-dir") && err.contains("inside"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&inside).unwrap().count(), 0);
    // The default folder ($TMPDIR) matters only when an input needs a temporary copy.
    let scan_with_tmpdir = |target: &Path| {
        Command::new(env!("CARGO_BIN_EXE_sporen"))
            .arg("scan")
            .arg(target)
            .env("TMPDIR", d.path().join("no-such-folder"))
            .output()
            .unwrap()
    };
    assert_ne!(scan_with_tmpdir(&root).status.code(), Some(2));
    let tgz = put(
        d.path(),
        "e.tgz",
        gzip(&archive(&[file("var/tmp/x", b"x")])),
    );
    let out = scan_with_tmpdir(&tgz);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--temp-dir"));
}

#[test]
fn the_report_records_every_input_with_its_digest() {
    let d = tempfile::tempdir().unwrap();
    let tar = archive(&[file("var/tmp/x", &marked("x"))]);
    let t = put(d.path(), "e.tar", &tar);
    let tgz = put(d.path(), "e.tgz", gzip(&tar));
    for p in [&t, &tgz] {
        let v = scan_json(p, &[]).1;
        let bytes = std::fs::read(p).unwrap();
        assert_eq!(
            v["target"]["inputs"],
            serde_json::json!([{
                "path": p.to_str().unwrap(),
                "bytes": bytes.len(),
                "sha256": sha256_hex(&bytes),
                "complete": true,
            }])
        );
        let text = sporen(&["scan", p.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains(&format!("sha256 {}", sha256_hex(&bytes))),
            "{text}"
        );
    }
    // Standard input: the stream as received.
    let stream = gzip(&tar);
    let v = run_with_stdin(&["scan", "-", "--format", "json"], &stream).json();
    assert_eq!(v["target"]["inputs"][0]["sha256"], sha256_hex(&stream));
    assert_eq!(v["target"]["inputs"][0]["path"], "-");
}

/// An archive cut inside a member (a copy that stopped, or a member whose header claims more
/// bytes than follow): the member's bytes that are there are read, and the member is a gap
/// saying the archive was cut, never a shorter file that scans as complete.
#[test]
fn a_member_cut_by_the_end_of_the_archive_is_a_gap() {
    let d = tempfile::tempdir().unwrap();
    let mut bytes = archive(&[file("var/tmp/first", &marked("first"))]);
    // A member of 10,000 bytes of which 700 follow, and no end-of-archive marker.
    bytes.truncate(bytes.len() - 1024);
    bytes.extend_from_slice(&header(b"var/tmp/cut", b'0', 10_000, b""));
    bytes.extend_from_slice(&[b'x'; 700]);
    let t = put(d.path(), "cut.tar", bytes);
    let rules = probe_rules(d.path(), MARK, &["**"]);
    let (out, v) = probe_scan(&t, &rules, &[]);
    assert!(
        has_gap(&v, "/var/tmp/cut", "it was cut"),
        "{}",
        v["coverage"]["gaps"]
    );
    assert_ne!(v["verdict"], "clean");
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(finding_paths(&v).len(), 1, "{:?}", finding_paths(&v));
}
