//! Disk images built or damaged by an attacker: damaged directory records, block addresses
//! outside the filesystem, impossible sizes and geometry, aliased directories, damaged partition
//! tables and truncated copies. The image reader must never panic, never read the wrong bytes,
//! never do unbounded work, and list every entry or report a gap naming the inode and the path.
//! Every test has an intact control that shows the same image reads cleanly.

mod common;

use common::archive::gunzip;
use common::image::{Builder, DIRBLK, Image, Node, gpt_disk, sb};
use common::mock::{entry, gaps_at, read_all};
use common::report::{finding_set, gaps, gaps_with_path};
use common::{fixture, scan_json};
use sporen::input::ufs::{ImageEvidence, ReadAt};
use sporen::input::{EntryKind, Evidence, Limits, Listing};
use sporen::model::GapCause;
use std::io::Read;
use std::sync::Arc;

fn open(bytes: &[u8]) -> std::io::Result<ImageEvidence> {
    let dev: Arc<dyn ReadAt> = Arc::new(bytes.to_vec());
    ImageEvidence::open(
        vec![("disk.img".to_owned(), dev)],
        &sporen::appliance::netscaler::LAYOUT,
    )
}

fn listing(bytes: &[u8]) -> Listing {
    open(bytes).expect("the image opens").list()
}

/// `/var/tmp/many` with 120 files (a directory of several 512-byte chunks), a log and a link.
fn tree() -> Node {
    let many = Node::dir((0..120).map(|i| (format!("file-{i:03}"), Node::file(format!("{i}\n")))));
    Node::dir([(
        "var",
        Node::dir([
            (
                "log",
                Node::dir([("ns.log", Node::file("Jan 19 23:00:06 ns: started\n"))]),
            ),
            ("nslog", Node::link("/var/log")),
            ("tmp", Node::dir([("many", many)])),
        ]),
    )])
}

#[test]
fn intact_images_list_every_entry_and_read_every_file() {
    let img = Builder::image(&tree());
    let ev = open(&img).unwrap();
    let l = ev.list();
    assert!(l.gaps.is_empty(), "{:?}", l.gaps);
    assert_eq!(l.entries.len(), 126);
    let last = entry(&l, "/var/tmp/many/file-119").expect("the last file listed");
    assert_eq!(read_all(&ev, last).unwrap(), b"119\n");
    let link = entry(&l, "/var/nslog").unwrap();
    assert_eq!(link.link_target.as_deref(), Some(&b"/var/log"[..]));
}

#[test]
fn damaged_directory_records_are_gaps_naming_the_inode_and_the_rest_is_listed() {
    let intact = Builder::image(&tree());
    let mut img = intact.clone();
    let im = Image::new(&mut img);
    let dir = im.lookup("var/tmp/many");
    let recs = im.records(dir);
    let chunk = |r: &common::image::Record| (r.at - recs[0].at) / DIRBLK;
    let first_in = |c: usize| recs.iter().find(|r| chunk(r) == c).unwrap().clone();
    let (a, b, c) = (first_in(0), first_in(1), first_in(2));
    assert_eq!(a.name, b".");
    im.bytes[a.at + 4..a.at + 6].copy_from_slice(&0u16.to_le_bytes()); // record length 0
    im.bytes[b.at + 4..b.at + 6].copy_from_slice(&0xffffu16.to_le_bytes()); // past the block
    im.bytes[c.at + 7] = 200; // a name longer than its record
    let l = listing(&img);
    let g = gaps_at(&l.gaps, "/var/tmp/many");
    assert_eq!(g.len(), 1, "{:?}", l.gaps);
    assert_eq!(g[0].cause, GapCause::UnlistableDir);
    assert!(g[0].blocks_clean);
    assert!(
        g[0].detail.contains(&format!("inode {dir}")),
        "{}",
        g[0].detail
    );
    // Listing goes on at the next 512-byte chunk: every chunk after the damage is listed.
    let later: Vec<_> = recs.iter().filter(|r| chunk(r) >= 3).collect();
    assert!(!later.is_empty());
    for r in later {
        let p = format!("/var/tmp/many/{}", String::from_utf8_lossy(&r.name));
        assert!(entry(&l, &p).is_some(), "{p} not listed");
    }
    // Control: the intact image lists the same directory without a gap.
    assert!(listing(&intact).gaps.is_empty());
}

/// The clean fixture as a UFS2 image, with a template file an exploit leaves behind.
fn clean_appliance_with_a_template() -> Vec<u8> {
    let (_dir, root) = fixture("clean-13.0-47.24");
    std::fs::write(
        root.join("netscaler/portal/templates/znpekddugm.xml"),
        "<user username=\"../../../netscaler/portal/templates/znpekddugm\"><bookmarks>\
         <bookmark title=\"[% template.new({'BLOCK'='print readpipe(chr(105) . chr(100))'})%]\" />\
         </bookmarks></user>\n",
    )
    .unwrap();
    Builder::image(&Node::from_host(&root))
}

fn scan_image(img: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("disk.img");
    std::fs::write(&p, img).unwrap();
    scan_json(&p, &[]).1
}

#[test]
fn a_damaged_template_directory_is_never_clean() {
    let intact = clean_appliance_with_a_template();
    assert_eq!(scan_image(&intact)["verdict"], "compromised");
    for (dir, name, reclen) in [
        ("netscaler/portal/templates", ".", 0u16),
        ("netscaler", "portal", 0xffff),
    ] {
        let mut img = intact.clone();
        let r = Image::new(&mut img).record(dir, name);
        img[r.at + 4..r.at + 6].copy_from_slice(&reclen.to_le_bytes());
        let v = scan_image(&img);
        assert_ne!(
            v["verdict"], "clean",
            "{dir}: {name} with record length {reclen}"
        );
        let g = gaps_with_path(&v, &format!("/{dir}"));
        assert!(
            g.iter().any(|g| g["cause"] == "unlistable_dir"),
            "{dir}: {:#}",
            v["coverage"]["gaps"]
        );
    }
}

#[test]
fn block_addresses_outside_the_filesystem_are_gaps_never_other_bytes() {
    let big: Vec<u8> = (0..20 * 8192).map(|i| (i % 251) as u8).collect();
    let t = Node::dir([
        ("dir", Node::dir([("a", Node::file("a\n"))])),
        ("small", Node::file("small file\n")),
        ("big", Node::file(&big)),
    ]);
    let intact = Builder::image(&t);
    let fs_frags = {
        let mut c = intact.clone();
        let im = Image::new(&mut c);
        im.u64_at(im.sb + sb::SIZE)
    };
    let inode_table = (Image::new(&mut intact.clone()).inode_table() / 1024) as u64;
    for bad in [1u64 << 62, u64::MAX, fs_frags, inode_table] {
        let mut img = intact.clone();
        let mut im = Image::new(&mut img);
        let (d, s, b) = (im.lookup("dir"), im.lookup("small"), im.lookup("big"));
        // The 15th block of `big` is the third pointer of its single indirect block.
        let third = im.u64_at(im.ib(b, 0)) as usize * 1024 + 2 * 8;
        for at in [im.db(d, 0), im.db(s, 0), third] {
            im.set_u64(at, bad);
        }
        let ev = open(&img).unwrap();
        let l = ev.list();
        let g = gaps_at(&l.gaps, "/dir");
        assert!(
            g.iter().any(|g| g.cause == GapCause::UnlistableDir
                && g.blocks_clean
                && g.detail.contains(&format!("inode {d}"))),
            "pointer {bad}: {:?}",
            l.gaps
        );
        for (name, ino) in [("/small", s), ("/big", b)] {
            let e = entry(&l, name).unwrap();
            let err = read_all(&ev, e).expect_err(name);
            assert!(
                err.to_string().contains(&format!("inode {ino}")),
                "{name}: {err}"
            );
        }
    }
    // Control: the intact image reads every byte.
    let ev = open(&intact).unwrap();
    let l = ev.list();
    assert!(l.gaps.is_empty());
    assert_eq!(read_all(&ev, entry(&l, "/big").unwrap()).unwrap(), big);
}

#[test]
fn sizes_no_file_can_have_are_gaps_and_holes_read_as_zeros() {
    let t = Node::dir([
        (
            "huge",
            Node::Raw {
                mode: 0o100_644,
                size: 1 << 63,
            },
        ),
        (
            "hugedir",
            Node::Raw {
                mode: 0o040_755,
                size: 1 << 63,
            },
        ),
        (
            "sparse",
            Node::Raw {
                mode: 0o100_644,
                size: 1 << 30,
            },
        ),
    ]);
    let img = Builder::image(&t);
    let ev = open(&img).unwrap();
    let l = ev.list();
    let mut im_bytes = img.clone();
    let im = Image::new(&mut im_bytes);
    for name in ["huge", "hugedir"] {
        let g = gaps_at(&l.gaps, &format!("/{name}"));
        let ino = im.lookup(name);
        assert!(
            g.iter()
                .any(|g| g.blocks_clean && g.detail.contains(&format!("inode {ino}"))),
            "{name}: {:?}",
            l.gaps
        );
    }
    assert!(read_all(&ev, entry(&l, "/huge").unwrap()).is_err());
    // A sparse file is no damage: listed without a gap, its holes read as zeros.
    assert!(gaps_at(&l.gaps, "/sparse").is_empty());
    let sparse = entry(&l, "/sparse").unwrap();
    assert_eq!(sparse.size, 1 << 30);
    let mut head = vec![1u8; 100_000];
    ev.open(sparse).unwrap().read_exact(&mut head).unwrap();
    assert!(head.iter().all(|&b| b == 0));
}

#[test]
fn odd_names_and_inodes_in_a_directory_are_gaps() {
    let mut b = Builder::new(64);
    let put = |b: &mut Builder, n: Node| {
        let i = b.new_ino();
        b.put(&n, i, 2);
        i
    };
    let first = put(&mut b, Node::file("first\n"));
    let second = put(&mut b, Node::file("second\n"));
    let hidden = put(&mut b, Node::dir([("secret", Node::file("s"))]));
    let free = b.new_ino(); // never written: mode 0
    let mut recs: Vec<(Vec<u8>, u32, u8)> = [
        (".", 2),
        ("..", 2),
        ("x", first),
        ("x", second),
        ("a/b", first),
        ("free", free),
        ("far", 1 << 30),
    ]
    .iter()
    .map(|&(n, i)| (n.as_bytes().to_vec(), i, 8))
    .collect();
    // Hard links fill the first chunk; a second `..` follows in the next one.
    recs.extend((0..40).map(|i| (format!("link{i:02}").into_bytes(), first, 8)));
    recs.push((b"..".to_vec(), hidden, 4));
    let data = common::image::dir_chunks(&recs);
    let block = b.block(&data);
    b.dir_inode(2, &[block], data.len() as u64);
    let img = b.build();

    let ev = open(&img).unwrap();
    let l = ev.list();
    let x = entry(&l, "/x").unwrap();
    assert_eq!(read_all(&ev, x).unwrap(), b"first\n");
    let has = |path: &str, words: &[String]| {
        assert!(
            gaps_at(&l.gaps, path)
                .iter()
                .any(|g| g.blocks_clean && words.iter().all(|w| g.detail.contains(w.as_str()))),
            "{path} {words:?}: {:?}",
            l.gaps
        );
    };
    has("/x", &["twice".into(), format!("inode {second}")]);
    has("/", &["'/'".into(), format!("'..' names inode {hidden}")]);
    has("/free", &[format!("inode {free}"), "not in use".into()]);
    has("/far", &["inode 1073741824".into()]);
    assert_eq!(l.entries.len(), 41, "x and 40 hard links");
}

#[test]
fn files_hidden_under_a_mount_are_gaps() {
    let empty = || Node::Dir(Vec::new());
    let md0 = Builder::image(&Node::dir([
        ("bin", empty()),
        ("etc", empty()),
        (
            "var",
            Node::dir([("log", Node::dir([("ns.log", Node::file("ram disk\n"))]))]),
        ),
    ]));
    let var = Builder::image(&Node::dir([
        ("netscaler", empty()),
        ("log", Node::dir([("ns.log", Node::file("disk\n"))])),
    ]));
    let dev = |b: Vec<u8>| -> Arc<dyn ReadAt> { Arc::new(b) };
    let ev = ImageEvidence::open(
        vec![
            ("md0.img".to_owned(), dev(md0)),
            ("var.img".to_owned(), dev(var)),
        ],
        &sporen::appliance::netscaler::LAYOUT,
    )
    .unwrap();
    let l = ev.list();
    let log = entry(&l, "/var/log/ns.log").unwrap();
    assert_eq!(read_all(&ev, log).unwrap(), b"disk\n");
    let g = gaps_at(&l.gaps, "/var/log/ns.log");
    assert!(
        g.iter().any(|g| g.blocks_clean
            && g.detail.contains("md0.img")
            && g.detail.contains("hidden by var.img")),
        "{:?}",
        l.gaps
    );
    // A folder under a mount point is no news.
    assert!(gaps_at(&l.gaps, "/var/log").is_empty() && gaps_at(&l.gaps, "/var").is_empty());
}

/// `k` directory inodes sharing the same blocks, which name all `k` of them: `/alias` and
/// `/alias2` are two names for the first.
fn alias_bomb(k: u32) -> Vec<u8> {
    let mut b = Builder::new(k as usize + 64);
    let inos: Vec<u32> = (0..k).map(|_| b.new_ino()).collect();
    let mut recs = vec![(b".".to_vec(), inos[0], 4u8), (b"..".to_vec(), 2, 4)];
    recs.extend(
        inos.iter()
            .enumerate()
            .map(|(i, &n)| (format!("n{i:05}").into_bytes(), n, 4)),
    );
    let data = common::image::dir_chunks(&recs);
    let blocks: Vec<u64> = data.chunks(8192).map(|c| b.block(c)).collect();
    assert!(blocks.len() <= 12);
    for &i in &inos {
        b.dir_inode(i, &blocks, data.len() as u64);
    }
    let root = common::image::dir_chunks(&[
        (b".".to_vec(), 2, 4),
        (b"..".to_vec(), 2, 4),
        (b"alias".to_vec(), inos[0], 4),
        (b"alias2".to_vec(), inos[0], 4),
    ]);
    let rb = b.block(&root);
    b.dir_inode(2, &[rb], root.len() as u64);
    b.build()
}

#[test]
fn aliased_directories_are_walked_once() {
    let k = 60;
    let l = listing(&alias_bomb(k));
    // Each directory inode and each directory block is listed once: about k entries, not k².
    assert!(
        l.entries.len() < 3 * k as usize,
        "{} entries",
        l.entries.len()
    );
    let second = entry(&l, "/alias2").expect("the second name is listed");
    assert_eq!(second.kind, EntryKind::Dir);
    let g = gaps_at(&l.gaps, "/alias2");
    assert!(
        g.iter()
            .any(|g| g.blocks_clean && g.detail.contains("also reachable as /alias")),
        "{:?}",
        l.gaps
    );
    // The other inodes share the blocks of /alias: each is a gap, none is listed again.
    let g = gaps_at(&l.gaps, "/alias/n00001");
    assert!(g.iter().any(|g| g.blocks_clean), "{:?}", l.gaps);
    assert!(entry(&l, "/alias/n00001/n00002").is_none());
}

#[test]
fn the_entry_budget_stops_the_walk_with_a_gap() {
    let img = Builder::image(&tree());
    let dev: Arc<dyn ReadAt> = Arc::new(img);
    let ev = ImageEvidence::with_limits(
        vec![("disk.img".to_owned(), dev)],
        &sporen::appliance::netscaler::LAYOUT,
        &Limits {
            max_entries: 50,
            ..Limits::default()
        },
    )
    .unwrap();
    let l = ev.list();
    assert!(l.entries.len() <= 50, "{}", l.entries.len());
    assert!(
        l.gaps
            .iter()
            .any(|g| g.blocks_clean && g.detail.contains("--max-entries")),
        "{:?}",
        l.gaps
    );
    assert_eq!(Limits::default().max_entries, 250_000);
    // The budget is shared: a second filesystem after it is spent is a gap, not silence.
    let dev = |b: Vec<u8>| -> Arc<dyn ReadAt> { Arc::new(b) };
    let var = Builder::image(&Node::dir([
        ("netscaler", Node::Dir(Vec::new())),
        ("log", Node::dir([("ns.log", Node::file("x\n"))])),
    ]));
    let ev = ImageEvidence::with_limits(
        vec![
            ("md0.img".to_owned(), dev(Builder::image(&tree()))),
            ("var.img".to_owned(), dev(var)),
        ],
        &sporen::appliance::netscaler::LAYOUT,
        &Limits {
            max_entries: 50,
            ..Limits::default()
        },
    )
    .unwrap();
    let l = ev.list();
    assert!(
        l.gaps.iter().any(|g| g.path.as_bytes() == b"/var"
            && g.blocks_clean
            && g.detail.contains("var.img")
            && g.detail.contains("--max-entries")),
        "{:?}",
        l.gaps
    );
}

#[test]
fn inconsistent_superblocks_are_refused_with_the_reason() {
    let intact = gunzip(&common::project().join("fixtures/clean-13.0-47.24/disk.img.gz"));
    let at = Image::new(&mut intact.clone()).sb;
    assert!(listing(&intact).entries.len() > 100);
    for (field, value, why) in [
        (sb::INOPB, 1u32, "inodes per block"),
        (sb::INOPB, 0, "inodes per block"),
        (sb::IPG, 0, "inodes per group"),
        (sb::IPG, 33, "inodes per group"),
        (sb::FPG, 0, "fragments per group"),
        (sb::FPG, 100, "fragments per group"),
        (sb::NCG, 0, "cylinder groups"),
        (sb::NCG, 0xffff_ffff, "cylinder groups"),
        (sb::FRAG, 4, "fragments per block"),
        (sb::BSIZE, 3000, "block size"),
        (sb::FSIZE, 256, "fragment size"),
        (sb::IBLKNO, 0xffff_fff0, "inode table"),
    ] {
        let mut img = intact.clone();
        img[at + field..at + field + 4].copy_from_slice(&value.to_le_bytes());
        let err = open(&img)
            .err()
            .unwrap_or_else(|| panic!("{why} = {value} accepted"));
        let msg = err.to_string();
        assert!(msg.contains(why), "{why} = {value}: {msg}");
        assert!(
            msg.contains("8192"),
            "the superblock's place is named: {msg}"
        );
    }
}

/// Places in a small image that the reader trusts: superblock fields, inode fields and
/// directory records.
fn fields(img: &[u8]) -> Vec<usize> {
    let mut c = img.to_vec();
    let im = Image::new(&mut c);
    let mut at: Vec<usize> = [
        8, 12, 16, 24, 28, 36, 44, 48, 52, 56, 120, 184, 188, 1000, 1080,
    ]
    .iter()
    .map(|o| im.sb + o)
    .collect();
    for ino in 2..12 {
        at.extend([0, 16, 24, 112, 120, 128, 208].map(|o| im.inode(ino) + o));
    }
    for dir in ["", "var", "var/log", "var/tmp", "var/tmp/many"] {
        for r in im.records(im.lookup(dir)) {
            at.extend(r.at..r.at + 8);
        }
    }
    at
}

/// A small image damaged in the places the reader trusts must open with an error, or list
/// entries or gaps; every file listed must read to its end or fail, never panic.
#[test]
fn mutated_images_never_panic_and_never_list_nothing_silently() {
    let intact = Builder::image(&tree());
    let places = fields(&intact);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut opened, mut with_gaps) = (0, 0);
    for round in 0..400 {
        let mut img = intact.clone();
        for _ in 0..1 + next() % 4 {
            let at = places[(next() % places.len() as u64) as usize];
            let v = next();
            match v % 4 {
                0 => img[at] = v as u8 >> 2,
                1 => img[at] ^= 1 << (v % 8),
                2 => img[at..at + 4].copy_from_slice(&0xffff_ffffu32.to_le_bytes()),
                _ => img[at..at + 8].copy_from_slice(&(1u64 << (v % 64)).to_le_bytes()),
            }
        }
        let Ok(ev) = open(&img) else { continue };
        let l = ev.list();
        opened += 1;
        with_gaps += usize::from(!l.gaps.is_empty());
        assert!(
            !l.entries.is_empty() || !l.gaps.is_empty(),
            "round {round}: an empty tree without a gap"
        );
        for e in l.entries.iter().filter(|e| e.kind == EntryKind::File) {
            if let Ok(f) = ev.open(e) {
                let _ = std::io::copy(&mut f.take(1 << 20), &mut std::io::sink());
            }
        }
    }
    // The damage reaches the walk: most images open, many of them with gaps.
    assert!(
        opened > 150 && with_gaps > 100,
        "{opened} opened, {with_gaps} with gaps"
    );
    eprintln!("MUT {opened} {with_gaps}");
}

#[test]
fn truncated_images_are_gaps_or_errors_never_a_quiet_tree() {
    let intact = Builder::image(&tree());
    assert!(listing(&intact).gaps.is_empty());
    for cut in [
        100,
        70_000,
        90 * 1024,
        140 * 1024,
        intact.len() / 2,
        intact.len() - 8192,
        intact.len() - 1,
    ] {
        match open(&intact[..cut]) {
            Err(e) => assert!(!e.to_string().is_empty()),
            Ok(ev) => {
                let l = ev.list();
                assert!(
                    l.gaps.iter().any(|g| g.blocks_clean),
                    "cut at {cut}: {} entries, no gap",
                    l.entries.len()
                );
            }
        }
    }
    let junk: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let err = open(&junk).err().expect("junk is not an image");
    assert!(err.to_string().contains("no UFS"), "{err}");
}

#[test]
fn gpt_tables_with_impossible_fields_are_errors_never_panics() {
    let part = Builder::image(&tree());
    let intact = gpt_disk(&[&part]);
    assert_eq!(listing(&intact).entries.len(), 126);
    for (off, value, why) in [
        (84usize, 0u32, "entry size"),
        (84, 16, "entry size"),
        (84, 132, "entry size"),
        (84, 0xffff_ffff, "entry size"),
        (80, 0xffff_ffff, "entries"),
        (72, 0xffff_fff0, "beyond the end"),
    ] {
        let mut d = intact.clone();
        d[512 + off..512 + off + 4].copy_from_slice(&value.to_le_bytes());
        let err = open(&d)
            .err()
            .unwrap_or_else(|| panic!("GPT {why} {value} accepted"));
        let msg = err.to_string();
        assert!(
            msg.contains("GPT") && msg.contains(why),
            "{why} {value}: {msg}"
        );
    }
    // A partition that runs past the end of the disk is read as far as the disk goes.
    let mut d = intact.clone();
    d[1024 + 40..1024 + 48].copy_from_slice(&u64::MAX.to_le_bytes());
    let l = listing(&d);
    assert_eq!(l.entries.len(), 126);
    assert!(
        l.gaps.iter().any(|g| g.blocks_clean
            && g.detail.contains("partition 1")
            && g.detail.contains("beyond the end")),
        "{:?}",
        l.gaps
    );
}

#[test]
fn a_ufs_partition_that_cannot_be_read_is_a_gap() {
    let images = common::project().join("fixtures/images");
    let flash = gunzip(&images.join("flash.img.gz"));
    let mut var = gunzip(&images.join("var.img.gz"));
    let at = Image::new(&mut var).sb;
    var[at + sb::INOPB..at + sb::INOPB + 4].copy_from_slice(&1u32.to_le_bytes());
    // A second freebsd-ufs partition holding the damaged var filesystem.
    let d = gpt_disk(&[&flash, &var]);
    let l = listing(&d);
    assert!(entry(&l, "/flash/nsconfig/ns.conf").is_some());
    let g: Vec<_> = l
        .gaps
        .iter()
        .filter(|g| g.blocks_clean && g.detail.contains("partition 2"))
        .collect();
    assert_eq!(g.len(), 1, "{:?}", l.gaps);
    assert!(g[0].detail.contains("inodes per block"), "{}", g[0].detail);
}

/// Every fixture's committed image gives the verdict and findings of its folder: the checks
/// above must never make an intact `makefs` image look damaged.
#[test]
fn every_fixture_image_gives_the_answer_of_its_folder() {
    let summary = |target: &std::path::Path| {
        let v = scan_json(target, &[]).1;
        let gaps: std::collections::BTreeSet<_> = gaps(&v)
            .iter()
            .filter(|g| g["cause"] != "missing")
            .map(|g| (g["path"].to_string(), g["cause"].to_string()))
            .collect();
        (v["verdict"].clone(), finding_set(&v), gaps)
    };
    let mut failures = Vec::new();
    for name in common::case_names() {
        let (_dir, root) = fixture(&name);
        let want = summary(&root);
        let got = summary(
            &common::project()
                .join("fixtures")
                .join(&name)
                .join("disk.img.gz"),
        );
        if got != want {
            failures.push(format!("{name}: image {got:?}\n  folder {want:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
