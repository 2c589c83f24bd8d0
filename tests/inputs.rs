//! Every fixture appliance scanned as a folder, as a tar file, as a gzip tar, as a tar on
//! standard input and over (a stand-in for) SSH gives the same verdict and findings.

mod common;

use common::archive::{gunzip, gzip, gzip_best, tar_of};
use common::image::{gpt_disk, mbr_disk};
use common::mock::{entry, read_all};
use common::run::{fake_ssh, finish, run_with_stdin};
use common::{fixture, scan_json, sporen};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

type Findings = BTreeSet<(String, String, Option<u64>)>;

fn summary(json: &[u8]) -> (String, Findings) {
    let v: serde_json::Value = serde_json::from_slice(json).expect("JSON report");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64(),
            )
        })
        .collect();
    (v["verdict"].as_str().unwrap().to_owned(), f)
}

#[test]
fn every_fixture_gives_the_same_answer_from_every_input() {
    let mut failures = Vec::new();
    for name in common::case_names() {
        let (dir, root) = fixture(&name);
        let want = summary(&scan_json(&root, &[]).0.stdout);
        let tar = tar_of(&root);
        let tar_path = dir.path().join("evidence.tar");
        std::fs::write(&tar_path, &tar).unwrap();
        let tgz_path = dir.path().join("evidence.tgz");
        std::fs::write(&tgz_path, gzip(&tar)).unwrap();
        let runs = [
            ("tar", scan_json(&tar_path, &[]).0.stdout),
            ("tgz", scan_json(&tgz_path, &[]).0.stdout),
            (
                "stdin",
                run_with_stdin(&["scan", "-", "--format", "json"], &gzip(&tar)).stdout,
            ),
        ];
        for (how, out) in runs {
            let got = summary(&out);
            if got.0 != want.0 {
                failures.push(format!(
                    "{name} as {how}: verdict {} instead of {}",
                    got.0, want.0
                ));
            }
            for d in want.1.symmetric_difference(&got.1) {
                failures.push(format!("{name} as {how}: finding differs: {d:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn ssh_runs_a_read_only_tar_through_the_cli_shell_and_scans_the_stream() {
    let (dir, root) = fixture("notrobin");
    let args_file = dir.path().join("args");
    let mut cmd = fake_ssh(&["--ssh", "nsroot@192.0.2.10"], &root, &args_file);
    cmd.args(["--format", "json"]);
    let out = finish(cmd);
    let err = &out.stderr;
    assert!(
        err.contains("sporen: running: ") && err.contains("shell \"tar -cf - -C / "),
        "{err}"
    );
    let v = out.json();
    assert_eq!(v["verdict"], "compromised");
    assert_eq!(v["target"]["input"], "ssh");
    assert!(
        v["target"]["detail"]
            .as_str()
            .unwrap()
            .contains("6 bytes before the archive skipped")
    );
    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    // No batch mode unless asked: ssh may prompt on the terminal as for an administrator.
    assert_eq!(args[..2], ["--", "nsroot@192.0.2.10"]);
    assert!(args[2].starts_with("shell \"tar -cf - -C / "));
    for word in ["rm ", "mv ", ">", "chmod", "touch", "/dev/null"] {
        assert!(
            !args[2].contains(word),
            "remote command writes or hides errors: {}",
            args[2]
        );
    }
    let direct = scan_json(&root, &[]).0;
    assert_eq!(summary(&out.stdout), summary(&direct.stdout));
}

#[test]
fn ssh_batch_mode_and_options_are_passed_and_remote_tar_errors_are_gaps() {
    let (dir, root) = fixture("clean-14.1-66.59-2026");
    let args_file = dir.path().join("args");
    let ssh = [
        "--ssh",
        "nsroot@192.0.2.10",
        "--ssh-batch",
        "--ssh-option",
        "Port=2222",
        "--ssh-option",
        "UserKnownHostsFile=/cases/known_hosts",
    ];
    let mut cmd = fake_ssh(&ssh, &root, &args_file);
    cmd.args(["--format", "json"]).env(
        "FAKE_SSH_STDERR",
        "tar: var/vpn/bookmarks: Cannot open: Permission denied\n\
         tar: tmp: Cannot stat: No such file or directory",
    );
    let out = finish(cmd);
    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(
        args[..7],
        [
            "-o",
            "BatchMode=yes",
            "-o",
            "Port=2222",
            "-o",
            "UserKnownHostsFile=/cases/known_hosts",
            "--"
        ]
    );
    let v = out.json();
    // An unreadable file is a gap with the remote text that keeps the verdict from clean;
    // a path absent on the appliance is not.
    assert_eq!(v["verdict"], "inconclusive", "{}", out.stderr);
    let gaps = v["coverage"]["gaps"].as_array().unwrap();
    let remote: Vec<&serde_json::Value> = gaps
        .iter()
        .filter(|g| g["detail"].as_str().unwrap().contains("remote tar"))
        .collect();
    assert_eq!(remote.len(), 1, "{gaps:?}");
    assert_eq!(remote[0]["path"], "/var/vpn/bookmarks");
    assert_eq!(remote[0]["blocks_clean"], true);
    assert!(
        remote[0]["detail"]
            .as_str()
            .unwrap()
            .contains("Cannot open: Permission denied")
    );
    assert!(
        out.stderr
            .contains("sporen: remote: tar: var/vpn/bookmarks")
    );

    let bad = finish(fake_ssh(
        &["--ssh", "ns", "--ssh-option=-oProxyCommand=x"],
        &root,
        &args_file,
    ));
    bad.assert_refused("--ssh-option `-oProxyCommand=x`", "bad ssh option");
}

#[test]
fn support_bundle_layout_is_mapped_and_damaged_archives_are_gaps() {
    let (dir, root) = fixture("notrobin");
    // A support bundle: one collector_* top folder, configuration in nsconfig/.
    let bundle = dir.path().join("bundle");
    let top = bundle.join("collector_P_192.0.2.10_26Nov2026_10_12");
    std::fs::create_dir_all(&top).unwrap();
    std::fs::rename(root.join("var"), top.join("var")).unwrap();
    std::fs::rename(root.join("flash/nsconfig"), top.join("nsconfig")).unwrap();
    let tgz = dir
        .path()
        .join("collector_P_192.0.2.10_26Nov2026_10_12.tar.gz");
    std::fs::write(&tgz, gzip(&tar_of(&bundle))).unwrap();
    let v = scan_json(&tgz, &[]).1;
    assert_eq!(v["target"]["input"], "support-bundle");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "/var/cron/tabs/nobody")
    );
    assert!(
        v["coverage"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "config"
                && s["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["path"] == "/flash/nsconfig/ns.conf"))
    );
    // Cut the archive in the middle: members before the cut are scanned, the damage is a gap.
    let tar = tar_of(&top);
    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &tar[..tar.len() / 2]).unwrap();
    let v = scan_json(&cut, &[]).1;
    assert!(
        v["coverage"]["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["cause"] == "corrupt_archive" && g["blocks_clean"] == true),
        "{}",
        v["coverage"]["gaps"]
    );
    assert_ne!(v["verdict"], "clean");
    // Something that is neither a folder nor an archive is an error, not an empty clean scan.
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not an archive at all").unwrap();
    let out = sporen(&["scan", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not a folder, a tar archive or a UFS disk image")
    );
}

/// Rebuilds `fixtures/<case>/disk.img.gz`: the materialised tree (owners, modes and times
/// applied) as one UFS2 filesystem made with `makefs -t ffs` (Debian package `makefs`), gzip'd.
/// Run by hand when a fixture changes: `cargo test --test inputs -- --ignored`
/// (`SPOREN_IMAGES=case1,case2` limits it to those cases).
#[test]
#[ignore = "needs makefs; regenerates the committed images"]
fn regenerate_disk_images() {
    let only = std::env::var("SPOREN_IMAGES").ok();
    for name in common::case_names() {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == name))
        {
            continue;
        }
        let (dir, root) = fixture(&name);
        let size: u64 = walk_size(&root);
        let img = dir.path().join("disk.img");
        let status = Command::new("makefs")
            .args(["-t", "ffs", "-o", "version=2", "-M"])
            .arg(format!("{}k", size / 1024 * 3 + 2048))
            .arg(&img)
            .arg(&root)
            .output()
            .expect("makefs (apt-get install makefs)");
        assert!(
            status.status.success(),
            "makefs failed for {name}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let out = common::project()
            .join("fixtures")
            .join(&name)
            .join("disk.img.gz");
        std::fs::write(out, gzip_best(&std::fs::read(&img).unwrap())).unwrap();
    }
}

/// Room a tree needs in an image: its bytes and 4 KiB per entry.
fn walk_size(p: &Path) -> u64 {
    common::tree::walk(p)
        .iter()
        .map(|e| 4096 + std::fs::symlink_metadata(e).unwrap().len())
        .sum()
}

/// Rebuilds `fixtures/images/`: the notrobin case's persistent disk as separate `flash` and
/// `var` UFS2 partition images, and `var` again as UFS1, for the partition-table tests.
#[test]
#[ignore = "needs makefs; regenerates the committed images"]
fn regenerate_partition_images() {
    let (dir, root) = fixture("notrobin");
    let out_dir = common::project().join("fixtures/images");
    std::fs::create_dir_all(&out_dir).unwrap();
    for (part, version, file) in [
        ("flash", "2", "flash.img.gz"),
        ("var", "2", "var.img.gz"),
        ("var", "1", "var-ufs1.img.gz"),
    ] {
        let img = dir.path().join(file);
        let out = Command::new("makefs")
            .args(["-t", "ffs", "-o", &format!("version={version}"), "-M"])
            .arg(format!(
                "{}k",
                walk_size(&root.join(part)) / 1024 * 3 + 2048
            ))
            .arg(&img)
            .arg(root.join(part))
            .output()
            .expect("makefs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(out_dir.join(file), gzip_best(&std::fs::read(&img).unwrap())).unwrap();
    }
}

#[test]
fn partitioned_disk_images_mount_flash_and_var_by_content() {
    let images = common::project().join("fixtures/images");
    let flash = gunzip(&images.join("flash.img.gz"));
    let var = gunzip(&images.join("var.img.gz"));
    // The reference: the same tree as a folder holding only flash/ and var/.
    let (dir, root) = fixture("notrobin");
    let pd = dir.path().join("persistent");
    std::fs::create_dir_all(&pd).unwrap();
    std::fs::rename(root.join("flash"), pd.join("flash")).unwrap();
    std::fs::rename(root.join("var"), pd.join("var")).unwrap();
    let want = summary(&scan_json(&pd, &[]).0.stdout);
    assert_eq!(want.0, "compromised");
    // dd over `ssh ... shell` adds a 6-byte banner before and a few bytes after the image.
    let mut banner = b" Done\n".to_vec();
    banner.extend(mbr_disk(&flash, &var));
    banner.extend(b"Done.\n");
    for (how, disk) in [
        ("mbr", mbr_disk(&flash, &var)),
        ("mbr+banner", banner),
        ("gpt", gpt_disk(&[&flash, &var])),
    ] {
        let p = dir.path().join(format!("{how}.img"));
        std::fs::write(&p, &disk).unwrap();
        let (out, v) = scan_json(&p, &[]);
        let detail = v["target"]["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.contains("mounted at /flash") && detail.contains("mounted at /var"),
            "{how}: {detail}"
        );
        if how == "mbr+banner" {
            assert!(
                detail.contains("6 bytes before the image skipped"),
                "{detail}"
            );
        }
        assert_eq!(summary(&out.stdout), want, "{how}");
    }
    // Two partition images given separately, one of them UFS1.
    let f = dir.path().join("flash.img");
    let u1 = dir.path().join("var1.img");
    std::fs::write(&f, &flash).unwrap();
    std::fs::write(&u1, gunzip(&images.join("var-ufs1.img.gz"))).unwrap();
    let out = sporen(&[
        "scan",
        f.to_str().unwrap(),
        u1.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let got = summary(&out.stdout);
    assert_eq!(got.0, want.0);
    // UFS1 keeps no birth times; everything else matches.
    assert_eq!(got.1, want.1);
}

#[test]
fn damaged_disk_images_give_errors_or_gaps_never_panics() {
    let images = common::project().join("fixtures/images");
    let var = gunzip(&images.join("var.img.gz"));
    let dir = tempfile::tempdir().unwrap();
    for (i, cut) in [
        var.len() / 3,
        var.len() / 2,
        var.len() * 9 / 10,
        70_000,
        9_000,
    ]
    .into_iter()
    .enumerate()
    {
        let p = dir.path().join(format!("cut{i}.img"));
        std::fs::write(&p, &var[..cut]).unwrap();
        let out = sporen(&["scan", p.to_str().unwrap(), "--format", "json"]);
        let code = out.status.code();
        assert!(
            matches!(code, Some(1..=3)),
            "cut at {cut}: exit {code:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if code == Some(2) {
            assert!(String::from_utf8_lossy(&out.stderr).contains("cannot scan"));
        } else {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_ne!(v["verdict"], "clean", "a cut image is never clean");
        }
    }
    // Random bytes with a UFS2 magic planted are rejected by the sanity checks.
    let mut junk = vec![0x5au8; 200_000];
    junk[65_536 + 1372..65_536 + 1376].copy_from_slice(&0x1954_0119u32.to_le_bytes());
    let p = dir.path().join("junk.img");
    std::fs::write(&p, &junk).unwrap();
    assert_eq!(
        sporen(&["scan", p.to_str().unwrap()]).status.code(),
        Some(2)
    );
}

/// A 9 MiB file in a UFS2 image uses direct, single and double indirect blocks; read back
/// through the image reader it must be byte for byte what was written.
#[test]
fn large_files_in_images_read_through_indirect_blocks() {
    use sha2::Digest;
    use sporen::input::Evidence;
    let bytes = gunzip(&common::project().join("fixtures/images/large-file.img.gz"));
    let ev = sporen::input::ufs::ImageEvidence::open(
        vec![("large-file.img".into(), std::sync::Arc::new(bytes))],
        &sporen::appliance::netscaler::LAYOUT,
    )
    .expect("image opens");
    let listing = ev.list();
    let e = entry(&listing, b"/var/log/big.log").expect("big.log listed");
    let data = read_all(&ev, e).unwrap();
    // The same content as fixtures/images was made from.
    let n = 9 * 1024 * 1024 + 1234;
    let mut want = Vec::new();
    let mut i = 0;
    while want.len() < n {
        want.extend(format!("block {i:08} ").repeat(512).into_bytes());
        i += 1;
    }
    want.truncate(n);
    assert_eq!(data.len(), n);
    assert_eq!(sha2::Sha256::digest(&data), sha2::Sha256::digest(&want));
    assert_eq!(
        sporen::util::bytes::hex(&sha2::Sha256::digest(&data)),
        "24d544390a89867c45a4ad847cb0b985c50231ab75a8486fbaf91529144b719d"
    );
}

/// Hard links take the data of their target; symbolic links resolve inside the archive.
#[test]
fn tar_hard_links_and_symlinks() {
    use sporen::input::Evidence;
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o4755);
    h.set_uid(0);
    h.set_mtime(1_578_786_067);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "./var/tmp/bash", &b"hello"[..])
        .unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Link);
    l.set_size(0);
    l.set_mode(0o4755);
    b.append_link(&mut l, "var/tmp/sh", "./var/tmp/bash")
        .unwrap();
    let mut s = tar::Header::new_gnu();
    s.set_entry_type(tar::EntryType::Symlink);
    s.set_size(0);
    b.append_link(&mut s, "nsconfig", "/flash/nsconfig")
        .unwrap();
    let mut d = tar::Header::new_gnu();
    d.set_size(3);
    d.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut d, "flash/nsconfig/ns.conf", &b"#NS"[..])
        .unwrap();
    let bytes = b.into_inner().unwrap();
    let len = bytes.len() as u64;
    let ev = sporen::input::tar::TarEvidence::open(
        std::sync::Arc::new(bytes),
        len,
        "tar",
        &sporen::appliance::netscaler::LAYOUT,
        &sporen::input::Limits::default(),
    )
    .unwrap();
    let listing = ev.list();
    let get = |p: &[u8]| entry(&listing, p).unwrap().clone();
    let sh = get(b"/var/tmp/sh");
    assert_eq!(read_all(&ev, &sh).unwrap(), b"hello");
    assert_eq!(sh.mode & 0o7777, 0o4755);
    assert_eq!(get(b"/var/tmp/bash").mtime, 1_578_786_067);
    let resolved = ev
        .resolve(&sporen::model::EvPath::new(&b"nsconfig/ns.conf"[..]))
        .unwrap();
    assert_eq!(resolved.as_bytes(), b"/flash/nsconfig/ns.conf");
}

/// A UFS2 image keeps birth times, so a file whose modification time was set back before its
/// creation is seen as timestomped. The fixture image (made by makefs, birth time 0) gets a
/// birth time one day after the modification time of `/var/log/big.log`.
#[test]
fn timestomped_files_in_images_are_found_through_birth_times() {
    use sporen::input::Evidence;
    let mut bytes = gunzip(&common::project().join("fixtures/images/large-file.img.gz"));
    // UFS2 dinode: di_mode at 0, di_size at 16, di_mtime at 40, di_birthtime at 56; inodes
    // are 256 bytes and aligned.
    let size = (9u64 * 1024 * 1024 + 1234).to_le_bytes();
    let inode = (0..bytes.len() - 256)
        .step_by(256)
        .find(|&at| {
            bytes[at + 16..at + 24] == size
                && u16::from_le_bytes([bytes[at], bytes[at + 1]]) & 0o170000 == 0o100000
        })
        .expect("the inode of big.log");
    let mtime = i64::from_le_bytes(bytes[inode + 40..inode + 48].try_into().unwrap());
    assert!(mtime > 0);
    let btime = mtime + 86_400;
    bytes[inode + 56..inode + 64].copy_from_slice(&btime.to_le_bytes());

    let ev = sporen::input::ufs::ImageEvidence::open(
        vec![("large-file.img".into(), std::sync::Arc::new(bytes.clone()))],
        &sporen::appliance::netscaler::LAYOUT,
    )
    .expect("image opens");
    let listing = ev.list();
    let e = entry(&listing, b"/var/log/big.log").expect("big.log listed");
    assert_eq!((e.mtime, e.btime), (mtime, Some(btime)));

    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("var.img");
    std::fs::write(&image, &bytes).unwrap();
    let rules = dir.path().join("stomp.toml");
    std::fs::write(
        &rules,
        r#"[pack]
id = "t"
title = "Timestomping"
description = "Time stamps set back."

[[rule]]
id = "t.stomped"
title = "Modified before created"
description = "The modification time is earlier than the birth time."
severity = "high"
[rule.file]
paths = ["var/log/**"]
timestomp = true
[[rule.example]]
expect = "match"
path = "var/log/x.log"
mtime = "2019-01-01T00:00:00Z"
btime = "2025-07-01T00:00:00Z"
[[rule.example]]
expect = "no-match"
path = "var/log/x.log"
mtime = "2025-07-02T00:00:00Z"
btime = "2025-07-01T00:00:00Z"
"#,
    )
    .unwrap();
    let out = sporen(&[
        "scan",
        image.to_str().unwrap(),
        "--no-builtin-rules",
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let hits: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(hits, [("t.stomped", "/var/log/big.log")], "{v}");
    let why = v["findings"][0]["reason"].to_string();
    assert!(why.contains("time stamp set back"), "{why}");
}
