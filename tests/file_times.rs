//! The body file carries every time the input holds: atime, ctime and crtime from UFS2 inodes,
//! atime and ctime from tar PAX records and old GNU headers, atime and ctime of a folder's files;
//! 0 only where the input holds none.

mod common;

use common::archive::{archive, file, header, padded, pax, probe_rules};
use common::image::{Builder, Image, Node};
use common::run::run;
use std::path::Path;

/// `sporen scan TARGET` with only a rule that flags files holding MARKER, as a body file: the
/// fields of the one line that names `path`.
fn body_line(target: &Path, dir: &Path, path: &str) -> Vec<String> {
    let rules = probe_rules(dir, "MARKER", &["**"]);
    let out = run(&[
        "scan".as_ref(),
        target.as_os_str(),
        "--no-builtin-rules".as_ref(),
        "--rules".as_ref(),
        rules.as_os_str(),
        "--format".as_ref(),
        "bodyfile".as_ref(),
    ]);
    out.assert_verdict("body file scan");
    let text = out.stdout_str();
    let line = text
        .lines()
        .find(|l| l.split('|').nth(1) == Some(path))
        .unwrap_or_else(|| panic!("no line for {path} in:\n{text}\n{}", out.stderr));
    line.split('|').map(str::to_owned).collect()
}

/// The mtime every member of `common::archive::header` has (2020-01-11T06:07:12Z).
const HEADER_MTIME: i64 = 1_578_722_832;

/// Fields 7..=10 of a body-file line: atime, mtime, ctime, crtime.
fn times(fields: &[String]) -> [i64; 4] {
    let n = |i: usize| fields[i].parse::<i64>().expect("a number");
    [n(7), n(8), n(9), n(10)]
}

#[test]
fn a_ufs2_image_gives_all_four_times() {
    let tree = Node::dir([(
        "var",
        Node::dir([("tmp", Node::dir([("x.txt", Node::file("MARKER"))]))]),
    )]);
    let mut img = Builder::image(&tree);
    let mut im = Image::new(&mut img);
    let at = im.inode(im.lookup("var/tmp/x.txt"));
    im.set_u64(at + 32, 1_600_000_001); // di_atime
    im.set_u64(at + 48, 1_600_000_002); // di_ctime
    im.set_u64(at + 56, 1_500_000_000); // di_birthtime
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("var.img");
    std::fs::write(&path, &img).expect("write");
    let f = body_line(&path, dir.path(), "/var/tmp/x.txt");
    assert_eq!(
        times(&f),
        [1_600_000_001, 1_580_000_000, 1_600_000_002, 1_500_000_000]
    );
}

#[test]
fn a_tar_gives_pax_atime_and_ctime() {
    let tar = archive(&[
        pax(&[("atime", b"1600000001.25"), ("ctime", b"1600000002")]),
        file("var/tmp/x.txt", b"MARKER"),
        file("var/tmp/y.txt", b"MARKER"),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("collect.tar");
    std::fs::write(&path, &tar).expect("write");
    let x = body_line(&path, dir.path(), "/var/tmp/x.txt");
    assert_eq!(times(&x), [1_600_000_001, HEADER_MTIME, 1_600_000_002, 0]);
    // The PAX records applied to one member only: the next has no such times.
    let y = body_line(&path, dir.path(), "/var/tmp/y.txt");
    assert_eq!(times(&y), [0, HEADER_MTIME, 0, 0]);
}

/// A member in the old GNU format with its access and change time fields set.
fn gnu_member(name: &str, data: &[u8], atime: u64, ctime: u64) -> Vec<u8> {
    let mut h = header(name.as_bytes(), b'0', data.len() as u64, b"");
    h[257..265].copy_from_slice(b"ustar  \0");
    h[345..357].copy_from_slice(format!("{atime:011o}\0").as_bytes());
    h[357..369].copy_from_slice(format!("{ctime:011o}\0").as_bytes());
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    [h.to_vec(), padded(data)].concat()
}

#[test]
fn a_gnu_tar_gives_its_header_times() {
    let tar = archive(&[gnu_member(
        "var/tmp/x.txt",
        b"MARKER",
        1_600_000_003,
        1_600_000_004,
    )]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gnu.tar");
    std::fs::write(&path, &tar).expect("write");
    let x = body_line(&path, dir.path(), "/var/tmp/x.txt");
    assert_eq!(times(&x), [1_600_000_003, HEADER_MTIME, 1_600_000_004, 0]);
}

#[test]
fn a_folder_gives_atime_and_ctime_but_no_birth_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("var/tmp")).expect("mkdir");
    let x = root.join("var/tmp/x.txt");
    std::fs::write(&x, "MARKER").expect("write");
    let atime = filetime::FileTime::from_unix_time(1_600_000_005, 0);
    let mtime = filetime::FileTime::from_unix_time(1_580_000_000, 0);
    filetime::set_file_times(&x, atime, mtime).expect("set times");
    let ctime = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&x).expect("stat").ctime()
    };
    let f = body_line(&root, dir.path(), "/var/tmp/x.txt");
    // sporen opens files with O_NOATIME where it may: the access time is the one set here.
    let t = times(&f);
    assert_eq!([t[1], t[2], t[3]], [1_580_000_000, ctime, 0]);
    assert!(t[0] == 1_600_000_005 || t[0] >= ctime, "atime {}", t[0]);
}
