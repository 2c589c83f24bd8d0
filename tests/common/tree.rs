//! Evidence trees on the host: writing files under any byte name, links, FIFOs and device nodes,
//! walking a tree, and snapshots of everything a write, rename, chmod, chown or touch would
//! change, to prove the evidence was left as it was.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, symlink};
use std::path::{Path, PathBuf};

/// `root/rel` for a relative path given as bytes (so odd names work).
pub fn host(root: &Path, rel: &[u8]) -> PathBuf {
    root.join(OsStr::from_bytes(rel))
}

/// Writes `content` at `rel` under `root`, creating folders.
pub fn put(root: &Path, rel: impl AsRef<[u8]>, content: impl AsRef<[u8]>) -> PathBuf {
    let p = host(root, rel.as_ref());
    fs::create_dir_all(p.parent().expect("parent")).expect("create parent folders");
    fs::write(&p, content).expect("write evidence file");
    p
}

/// A symbolic link at `rel` under `root` to `target`, creating folders.
pub fn link(root: &Path, rel: &str, target: impl AsRef<Path>) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("create parent folders");
    symlink(target, &p).expect("create symlink");
}

/// `mknod(2)`: a FIFO, a device or another special file at `path`.
pub fn mknod(path: &Path, mode: libc::mode_t, dev: libc::dev_t) {
    let c = CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::mknod(c.as_ptr(), mode, dev) };
    assert_eq!(
        rc,
        0,
        "mknod {}: {}",
        path.display(),
        io::Error::last_os_error()
    );
}

/// A FIFO at `p`, creating folders.
pub fn mkfifo(p: &Path) {
    fs::create_dir_all(p.parent().expect("parent")).expect("create parent folders");
    mknod(p, libc::S_IFIFO | 0o644, 0);
}

/// Creates a FIFO and keeps it open read-write (so opening it never blocks anybody) with `data`
/// waiting in it: if the scanner ever read the FIFO it would see (and consume) the data.
pub fn primed_fifo(p: &Path, data: &[u8]) -> File {
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
pub fn drain(f: &mut File) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    match f.read(&mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Vec::new(),
        Err(e) => panic!("read FIFO: {e}"),
    }
}

/// Every entry below `root` (folders, files, links, special files; links not followed).
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk_into(root, &mut out);
    out
}

fn walk_into(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("dir entry");
        if e.file_type().expect("file type").is_dir() {
            walk_into(&e.path(), out);
        }
        out.push(e.path());
    }
}

/// Names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("list folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The SHA-256 of `data`, in hex.
pub fn sha256_hex(data: &[u8]) -> String {
    sporen::util::bytes::hex(&Sha256::digest(data))
}

/// The SHA-256 of the file at `p`, in hex.
pub fn sha256_file(p: &Path) -> String {
    sha256_hex(&fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())))
}

/// What a snapshot keeps of one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub kind: &'static str,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ino: u64,
    pub nlink: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    /// sha256 of a regular file's bytes, or the target of a symlink.
    pub content: Option<String>,
}

impl Meta {
    fn of(m: &fs::Metadata, kind: &'static str, content: Option<String>) -> Meta {
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
        }
    }
}

/// A regular file's digest, read through `O_NOATIME` so taking it does not disturb access
/// times; `None` for a file this user may not read (its metadata still covers it).
fn digest_noatime(p: &Path) -> Option<String> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME | libc::O_NOFOLLOW)
        .open(p);
    match opened {
        Ok(mut f) => {
            let mut b = Vec::new();
            f.read_to_end(&mut b).expect("read for snapshot");
            Some(sha256_hex(&b))
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => None,
        Err(e) => panic!("open {} for snapshot: {e}", p.display()),
    }
}

/// Every entry under `root` by relative path (links not followed, special files never opened).
pub fn snapshot(root: &Path) -> BTreeMap<Vec<u8>, Meta> {
    let mut out = BTreeMap::new();
    let m = fs::symlink_metadata(root).expect("lstat root");
    out.insert(b".".to_vec(), Meta::of(&m, "dir", None));
    for p in walk(root) {
        let m = fs::symlink_metadata(&p).expect("lstat");
        let ft = m.file_type();
        let (kind, content) = if ft.is_symlink() {
            let t = fs::read_link(&p).expect("readlink");
            let t = String::from_utf8_lossy(t.as_os_str().as_bytes()).into_owned();
            ("symlink", Some(t))
        } else if ft.is_file() {
            ("file", digest_noatime(&p))
        } else if ft.is_dir() {
            ("dir", None)
        } else {
            ("special", None)
        };
        let rel = p.strip_prefix(root).expect("under root").as_os_str();
        out.insert(rel.as_bytes().to_vec(), Meta::of(&m, kind, content));
    }
    out
}

/// Fails with the list of entries that appeared, vanished or changed.
pub fn assert_same_tree(
    before: &BTreeMap<Vec<u8>, Meta>,
    after: &BTreeMap<Vec<u8>, Meta>,
    what: &str,
) {
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
pub fn atimes(root: &Path) -> BTreeMap<PathBuf, (i64, i64)> {
    walk(root)
        .into_iter()
        .filter_map(|p| {
            let m = fs::symlink_metadata(&p).expect("lstat");
            (!m.is_dir() && !m.file_type().is_symlink()).then(|| (p, (m.atime(), m.atime_nsec())))
        })
        .collect()
}
