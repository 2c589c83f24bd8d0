//! Every fixture appliance scanned as a folder, as a tar file, as a gzip tar, as a tar on
//! standard input and over (a stand-in for) SSH gives the same verdict and findings.

mod common;

use common::{materialise, sporen};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

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

/// A tar of `root` keeping modes, owners, times and symbolic links, as `tar -cf` would.
fn tar_of(root: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    b.append_dir_all(".", root).unwrap();
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn stdin_scan(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sporen"))
        .args(["scan", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out.stdout
}

#[test]
fn every_fixture_gives_the_same_answer_from_every_input() {
    let mut failures = Vec::new();
    for name in common::case_names() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        materialise(&name, &root);
        let want = summary(&sporen(&["scan", root.to_str().unwrap(), "--format", "json"]).stdout);
        let tar = tar_of(&root);
        let tar_path = dir.path().join("evidence.tar");
        std::fs::write(&tar_path, &tar).unwrap();
        let tgz_path = dir.path().join("evidence.tgz");
        std::fs::write(&tgz_path, gzip(&tar)).unwrap();
        let runs = [
            (
                "tar",
                sporen(&["scan", tar_path.to_str().unwrap(), "--format", "json"]).stdout,
            ),
            (
                "tgz",
                sporen(&["scan", tgz_path.to_str().unwrap(), "--format", "json"]).stdout,
            ),
            ("stdin", stdin_scan(&gzip(&tar))),
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
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    materialise("notrobin", &root);
    let args_file = dir.path().join("args");
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake-ssh");
    let out = Command::new(env!("CARGO_BIN_EXE_sporen"))
        .args([
            "scan",
            "--ssh",
            "nsroot@192.0.2.10",
            "--format",
            "json",
            "--ssh-program",
        ])
        .arg(&fake)
        .env("FAKE_SSH_ROOT", &root)
        .env("FAKE_SSH_ARGS", &args_file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sporen: running: ") && err.contains("shell \"tar -cf - -C / "),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    assert_eq!(
        args[..4],
        ["-o", "BatchMode=yes", "--", "nsroot@192.0.2.10"]
    );
    assert!(args[4].starts_with("shell \"tar -cf - -C / "));
    for word in ["rm ", "mv ", ">", "chmod", "touch"] {
        assert!(
            !args[4].replace("2>/dev/null", "").contains(word),
            "remote command writes: {}",
            args[4]
        );
    }
    let direct = sporen(&["scan", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(summary(&out.stdout), summary(&direct.stdout));
}

#[test]
fn support_bundle_layout_is_mapped_and_damaged_archives_are_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    materialise("notrobin", &root);
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
    let out = sporen(&["scan", tgz.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    let out = sporen(&["scan", cut.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        materialise(&name, &root);
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
        let bytes = std::fs::read(&img).unwrap();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&bytes).unwrap();
        let out = common::project()
            .join("fixtures")
            .join(&name)
            .join("disk.img.gz");
        std::fs::write(out, e.finish().unwrap()).unwrap();
    }
}

fn walk_size(p: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        n += 4096 + m.len();
        if m.is_dir() {
            n += walk_size(&e.path());
        }
    }
    n
}

/// Rebuilds `fixtures/images/`: the notrobin case's persistent disk as separate `flash` and
/// `var` UFS2 partition images, and `var` again as UFS1, for the partition-table tests.
#[test]
#[ignore = "needs makefs; regenerates the committed images"]
fn regenerate_partition_images() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    materialise("notrobin", &root);
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
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&std::fs::read(&img).unwrap()).unwrap();
        std::fs::write(out_dir.join(file), e.finish().unwrap()).unwrap();
    }
}

fn gunzip(p: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn sectors(n: usize) -> usize {
    n.div_ceil(512)
}

/// A whole disk as `dd if=/dev/da0` gives it: an MBR with one FreeBSD slice holding a BSD
/// label with the flash (`a`) and var (`e`) partitions.
fn mbr_disk(flash: &[u8], var: &[u8]) -> Vec<u8> {
    let slice = 63usize;
    let a_off = 16usize; // sectors into the slice
    let e_off = a_off + sectors(flash.len()) + 8;
    let slice_len = e_off + sectors(var.len()) + 8;
    let mut d = vec![0u8; (slice + slice_len) * 512];
    let e = &mut d[446..462];
    e[4] = 0xa5;
    e[8..12].copy_from_slice(&(slice as u32).to_le_bytes());
    e[12..16].copy_from_slice(&(slice_len as u32).to_le_bytes());
    d[510] = 0x55;
    d[511] = 0xaa;
    let l = (slice + 1) * 512;
    d[l..l + 4].copy_from_slice(&0x8256_4557u32.to_le_bytes());
    d[l + 138..l + 140].copy_from_slice(&8u16.to_le_bytes());
    // Offsets relative to the slice, as newer labels have them: partition c covers the slice
    // and starts at 0.
    let mut part = |i: usize, size: usize, off: usize, fstype: u8| {
        let p = l + 148 + 16 * i;
        d[p..p + 4].copy_from_slice(&(size as u32).to_le_bytes());
        d[p + 4..p + 8].copy_from_slice(&(off as u32).to_le_bytes());
        d[p + 12] = fstype;
    };
    part(0, sectors(flash.len()), a_off, 7);
    part(2, slice_len, 0, 0);
    part(4, sectors(var.len()), e_off, 7);
    d[(slice + a_off) * 512..][..flash.len()].copy_from_slice(flash);
    d[(slice + e_off) * 512..][..var.len()].copy_from_slice(var);
    d
}

/// The same two partitions in a GPT (freebsd-ufs type).
fn gpt_disk(flash: &[u8], var: &[u8]) -> Vec<u8> {
    let a = 40usize;
    let b = a + sectors(flash.len()) + 8;
    let total = b + sectors(var.len()) + 40;
    let mut d = vec![0u8; total * 512];
    d[446 + 4] = 0xee;
    d[510] = 0x55;
    d[511] = 0xaa;
    d[512..520].copy_from_slice(b"EFI PART");
    d[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
    d[512 + 80..512 + 84].copy_from_slice(&128u32.to_le_bytes());
    d[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
    let ufs = [
        0xb6, 0x7c, 0x6e, 0x51, 0xcf, 0x6e, 0xd6, 0x11, 0x8f, 0xf8, 0x00, 0x02, 0x2d, 0x09, 0x71,
        0x2b,
    ];
    for (i, (start, len)) in [(a, flash.len()), (b, var.len())].into_iter().enumerate() {
        let e = 1024 + 128 * i;
        d[e..e + 16].copy_from_slice(&ufs);
        d[e + 32..e + 40].copy_from_slice(&(start as u64).to_le_bytes());
        d[e + 40..e + 48].copy_from_slice(&((start + sectors(len)) as u64).to_le_bytes());
    }
    d[a * 512..][..flash.len()].copy_from_slice(flash);
    d[b * 512..][..var.len()].copy_from_slice(var);
    d
}

#[test]
fn partitioned_disk_images_mount_flash_and_var_by_content() {
    let images = common::project().join("fixtures/images");
    let flash = gunzip(&images.join("flash.img.gz"));
    let var = gunzip(&images.join("var.img.gz"));
    let dir = tempfile::tempdir().unwrap();
    // The reference: the same tree as a folder holding only flash/ and var/.
    let root = dir.path().join("root");
    materialise("notrobin", &root);
    let pd = dir.path().join("persistent");
    std::fs::create_dir_all(&pd).unwrap();
    std::fs::rename(root.join("flash"), pd.join("flash")).unwrap();
    std::fs::rename(root.join("var"), pd.join("var")).unwrap();
    let want = summary(&sporen(&["scan", pd.to_str().unwrap(), "--format", "json"]).stdout);
    assert_eq!(want.0, "compromised");
    // dd over `ssh ... shell` adds a 6-byte banner before and a few bytes after the image.
    let mut banner = b" Done\n".to_vec();
    banner.extend(mbr_disk(&flash, &var));
    banner.extend(b"Done.\n");
    for (how, disk) in [
        ("mbr", mbr_disk(&flash, &var)),
        ("mbr+banner", banner),
        ("gpt", gpt_disk(&flash, &var)),
    ] {
        let p = dir.path().join(format!("{how}.img"));
        std::fs::write(&p, &disk).unwrap();
        let out = sporen(&["scan", p.to_str().unwrap(), "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    let ev = sporen::input::ufs::ImageEvidence::open(vec![(
        "large-file.img".into(),
        std::sync::Arc::new(bytes),
    )])
    .expect("image opens");
    let listing = ev.list();
    let e = listing
        .entries
        .iter()
        .find(|e| e.path.as_bytes() == b"/var/log/big.log")
        .expect("big.log listed");
    let mut data = Vec::new();
    ev.open(e).unwrap().read_to_end(&mut data).unwrap();
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
        sporen::rules::set::hex(&sha2::Sha256::digest(&data)),
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
        &sporen::input::Limits::default(),
    )
    .unwrap();
    let listing = ev.list();
    let get = |p: &[u8]| {
        listing
            .entries
            .iter()
            .find(|e| e.path.as_bytes() == p)
            .unwrap()
            .clone()
    };
    let sh = get(b"/var/tmp/sh");
    let mut data = String::new();
    ev.open(&sh).unwrap().read_to_string(&mut data).unwrap();
    assert_eq!(data, "hello");
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

    let ev = sporen::input::ufs::ImageEvidence::open(vec![(
        "large-file.img".into(),
        std::sync::Arc::new(bytes.clone()),
    )])
    .expect("image opens");
    let e = ev
        .list()
        .entries
        .into_iter()
        .find(|e| e.path.as_bytes() == b"/var/log/big.log")
        .expect("big.log listed");
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
