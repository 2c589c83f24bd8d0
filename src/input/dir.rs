//! Evidence in a directory: a mounted or copied appliance filesystem. Never writes to it,
//! never follows a link out of it, never opens a FIFO or a device.
//!
//! Read-only by construction: files are opened with `O_RDONLY | O_NOFOLLOW | O_NONBLOCK` (and
//! `O_NOATIME` where the kernel allows it; when it does not, and for folders, which are listed
//! without it, the coverage says access times may have changed unless the mount is read-only or
//! `noatime`), checked with `fstat` to still be the regular file that was listed, and read
//! sequentially (no mmap). Symbolic links are listed, never followed by the walk, and resolved
//! only inside the root: against the listing once it is made (the tree the scan saw, no system
//! call per name), against the folder before (`resolve_in_root`).

use super::{Entry, EntryKind, Evidence, Limits, Listing, Lookup, Namespace, ResolveError};
use crate::model::{EvPath, Gap, GapCause};
use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory holding an appliance filesystem.
#[derive(Debug)]
pub struct DirEvidence {
    root: PathBuf,
    limits: Limits,
    /// The listing, made once, with its index for resolving links.
    listed: OnceLock<(Listing, Namespace)>,
    /// Files opened without `O_NOATIME` because the kernel refused it (not their owner).
    atime_exposed: AtomicU64,
    /// The folder is on a read-only or `noatime` mount: reading changes no access time.
    atimes_frozen: bool,
}

impl DirEvidence {
    /// Opens `root`, which must be a directory (a symlink to one is followed for the root only).
    pub fn new(root: &Path) -> io::Result<DirEvidence> {
        DirEvidence::with_limits(root, &Limits::default())
    }

    /// Opens `root`; the listing stops at `limits` with a gap.
    pub fn with_limits(root: &Path, limits: &Limits) -> io::Result<DirEvidence> {
        let meta = std::fs::metadata(root)?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        // A root that cannot be listed is not evidence with a gap: it is no evidence at all.
        std::fs::read_dir(root)?;
        Ok(DirEvidence {
            root: root.to_path_buf(),
            limits: *limits,
            listed: OnceLock::new(),
            atime_exposed: AtomicU64::new(0),
            atimes_frozen: atimes_frozen(root),
        })
    }

    fn host_path(&self, path: &EvPath) -> PathBuf {
        self.root.join(OsStr::from_bytes(path.relative()))
    }

    /// Walks the folder without following links, sorted by name, within the entry budget.
    fn walk(&self) -> Listing {
        let mut entries = Vec::new();
        let mut gaps = Vec::new();
        let walker = walkdir::WalkDir::new(&self.root)
            .follow_links(false)
            .min_depth(1)
            .sort_by(|a, b| a.file_name().as_bytes().cmp(b.file_name().as_bytes()));
        for item in walker {
            if entries.len() as u64 >= self.limits.max_entries {
                gaps.push(Gap::new(
                    EvPath::root(),
                    GapCause::UnlistableDir,
                    format!(
                        "listing stopped at the budget of {} entries (--max-entries): the rest of the folder is not listed",
                        self.limits.max_entries
                    ),
                    true,
                ));
                break;
            }
            match item {
                Ok(de) => match self.entry(&de) {
                    Ok((e, gap)) => {
                        entries.push(e);
                        gaps.extend(gap);
                    }
                    Err(gap) => gaps.extend(gap),
                },
                Err(e) => gaps.push(self.walk_error(&e)),
            }
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Listing {
            entries: entries.into(),
            gaps,
        }
    }

    /// The entry for one walked name, and a gap when part of it could not be read.
    fn entry(&self, de: &walkdir::DirEntry) -> Result<(Entry, Option<Gap>), Option<Gap>> {
        let rel = de.path().strip_prefix(&self.root).map_err(|_| None)?;
        let path = EvPath::new(rel.as_os_str().as_bytes().to_vec());
        let meta = de.metadata().map_err(|e| {
            Some(Gap::new(
                path.clone(),
                GapCause::Unreadable,
                e.to_string(),
                true,
            ))
        })?;
        let kind = kind_of(&meta);
        let (link_target, gap) = if kind == EntryKind::Symlink {
            match std::fs::read_link(de.path()) {
                Ok(t) => (Some(t.as_os_str().as_bytes().to_vec()), None),
                Err(e) => {
                    let detail = format!("link target cannot be read: {e}");
                    let g = Gap::new(path.clone(), GapCause::BrokenSymlink, detail, false);
                    (None, Some(g))
                }
            }
        } else {
            (None, None)
        };
        let entry = Entry {
            path,
            kind,
            size: meta.len(),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
            mtime: meta.mtime(),
            btime: None,
            atime: Some(meta.atime()),
            ctime: Some(meta.ctime()),
            link_target,
            identity: Some((meta.dev(), meta.ino())),
        };
        Ok((entry, gap))
    }

    fn walk_error(&self, e: &walkdir::Error) -> Gap {
        let path = e
            .path()
            .and_then(|p| p.strip_prefix(&self.root).ok())
            .map(|r| EvPath::new(r.as_os_str().as_bytes().to_vec()))
            .unwrap_or_else(EvPath::root);
        let detail = e
            .io_error()
            .map(|io| io.to_string())
            .unwrap_or_else(|| e.to_string());
        Gap::new(path, GapCause::UnlistableDir, detail, true)
    }

    fn listed(&self) -> &(Listing, Namespace) {
        self.listed.get_or_init(|| {
            let mut listing = self.walk();
            let names = Namespace::new(&listing.entries);
            listing.gaps.extend(names.link_gaps(&listing.entries));
            (listing, names)
        })
    }
}

fn kind_of(meta: &Metadata) -> EntryKind {
    let ft = meta.file_type();
    if ft.is_file() {
        EntryKind::File
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_fifo() {
        EntryKind::Fifo
    } else if ft.is_socket() {
        EntryKind::Socket
    } else if ft.is_char_device() {
        EntryKind::CharDevice
    } else if ft.is_block_device() {
        EntryKind::BlockDevice
    } else {
        EntryKind::Other
    }
}

impl Evidence for DirEvidence {
    fn kind(&self) -> &'static str {
        "directory"
    }

    fn list(&self) -> Listing {
        self.listed().0.clone()
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        if entry.kind != EntryKind::File {
            return Err(io::Error::other("not a regular file"));
        }
        let (f, no_atime) = open_no_atime(&self.host_path(&entry.path))?;
        if !no_atime {
            self.atime_exposed.fetch_add(1, Ordering::Relaxed);
        }
        let meta = f.metadata()?;
        if !meta.file_type().is_file() {
            return Err(io::Error::other("no longer a regular file"));
        }
        if let Some(id) = entry.identity
            && id != (meta.dev(), meta.ino())
        {
            return Err(io::Error::other("file was replaced after it was listed"));
        }
        Ok(Box::new(f))
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        match self.listed.get() {
            Some((listing, names)) => names.resolve(&listing.entries, path).ok(),
            None => resolve_in_root(&self.root, path.relative()).ok(),
        }
    }

    fn coverage_notes(&self) -> Vec<String> {
        if self.atimes_frozen {
            return Vec::new();
        }
        let mut notes = Vec::new();
        if let Some((listing, _)) = self.listed.get() {
            // Folders are read without O_NOATIME (the standard library cannot ask for it).
            let folders = 1 + listing
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::Dir)
                .count();
            notes.push(format!(
                "access times of the {folders} folders listed may have been updated: mount the evidence read-only or with noatime to keep them"
            ));
        }
        match self.atime_exposed.load(Ordering::Relaxed) {
            0 => {}
            n => notes.push(format!(
                "access times of {n} files may have been updated: sporen is not their owner, so the kernel refused O_NOATIME (scan as root, or mount the evidence read-only)"
            )),
        }
        notes
    }
}

/// True when reading under `root` cannot change access times: its mount is read-only or
/// `noatime`, as `/proc/self/mountinfo` says. Unknown counts as "may change".
fn atimes_frozen(root: &Path) -> bool {
    let Ok(root) = std::fs::canonicalize(root) else {
        return false;
    };
    std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|info| frozen_in(&info, &root))
}

/// [`atimes_frozen`] for a given mountinfo text: the mount holding `root` is the one with the
/// longest mount point above it, the last one listed when several share a place.
fn frozen_in(mountinfo: &str, root: &Path) -> bool {
    let mut best: Option<(usize, bool)> = None;
    for line in mountinfo.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|&x| x == "-") else {
            continue;
        };
        let (Some(point), Some(opts)) = (f.get(4), f.get(5)) else {
            continue;
        };
        let point = unescape_mount_point(point);
        if !root.starts_with(&point) {
            continue;
        }
        let has = |list: Option<&&str>, words: &[&str]| {
            list.is_some_and(|l| l.split(',').any(|o| words.contains(&o)))
        };
        let frozen = has(Some(opts), &["ro", "noatime"]) || has(f.get(sep + 3), &["ro"]);
        let len = point.as_os_str().len();
        if best.is_none_or(|(l, _)| len >= l) {
            best = Some((len, frozen));
        }
    }
    best.is_some_and(|(_, frozen)| frozen)
}

/// Mount points in mountinfo escape space, tab, newline and backslash as `\NNN` (octal).
fn unescape_mount_point(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(
                    d.iter()
                        .fold(0u8, |v, c| v.wrapping_mul(8).wrapping_add(c - b'0')),
                );
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(OsStr::from_bytes(&out))
}

/// Opens a file read-only without following a final symlink, without blocking on FIFOs, and
/// without updating its access time where the kernel allows that.
pub(crate) fn open_read_only(path: &Path) -> io::Result<File> {
    open_no_atime(path).map(|(f, _)| f)
}

/// [`open_read_only`], and whether `O_NOATIME` was granted: the kernel refuses it (EPERM) to
/// anyone but the file's owner and root, and then reads update the access time.
fn open_no_atime(path: &Path) -> io::Result<(File, bool)> {
    let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    let open = |flags: i32| OpenOptions::new().read(true).custom_flags(flags).open(path);
    match open(base | crate::util::os::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(base).map(|f| (f, false)),
        other => other.map(|f| (f, crate::util::os::NOATIME_KNOWN)),
    }
}

/// Resolves `rel` (relative to `root`) the way the appliance would see it, with `root` as `/`:
/// absolute link targets restart at `root`, `..` never climbs above `root`. The returned path
/// is absolute inside the evidence and free of links; nothing outside `root` is ever touched.
/// One `lstat` per name: [`DirEvidence`] uses its listing instead once it has one.
pub(crate) fn resolve_in_root(root: &Path, rel: &[u8]) -> Result<EvPath, ResolveError> {
    super::resolve_in_listing(&EvPath::new(rel.to_vec()), |p| {
        let host = root.join(OsStr::from_bytes(p.relative()));
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&host) {
                Ok(t) => Lookup::Link(t.as_os_str().as_bytes().to_vec()),
                Err(_) => Lookup::Missing,
            },
            Ok(_) => Lookup::Exists,
            Err(_) => Lookup::Missing,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Limits;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolves_absolute_links_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("flash/nsconfig")).unwrap();
        std::fs::write(r.join("flash/nsconfig/ns.conf"), "#NS13.0").unwrap();
        symlink("/flash/nsconfig", r.join("nsconfig")).unwrap();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::write(r.join("etc/shadow"), "inside").unwrap();
        symlink("/etc/shadow", r.join("shadowlink")).unwrap();
        symlink("../../../../../etc/shadow", r.join("flash/up")).unwrap();
        symlink("loop2", r.join("loop1")).unwrap();
        symlink("loop1", r.join("loop2")).unwrap();

        let got = resolve_in_root(r, b"nsconfig/ns.conf").unwrap();
        assert_eq!(got.as_bytes(), b"/flash/nsconfig/ns.conf");
        assert_eq!(
            resolve_in_root(r, b"shadowlink").unwrap().as_bytes(),
            b"/etc/shadow"
        );
        assert_eq!(
            resolve_in_root(r, b"flash/up").unwrap().as_bytes(),
            b"/etc/shadow"
        );
        assert_eq!(resolve_in_root(r, b"loop1"), Err(ResolveError::Loop));
        assert_eq!(resolve_in_root(r, b"nope"), Err(ResolveError::NotFound));
    }

    #[test]
    fn lists_sorted_and_refuses_to_open_non_files() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("b")).unwrap();
        std::fs::write(r.join("b/z"), "z").unwrap();
        std::fs::write(r.join("a"), "a").unwrap();
        symlink("/etc/passwd", r.join("c")).unwrap();
        let ev = DirEvidence::new(r).unwrap();
        let l = ev.list();
        let paths: Vec<&[u8]> = l.entries.iter().map(|e| e.path.as_bytes()).collect();
        assert_eq!(paths, [&b"/a"[..], b"/b", b"/b/z", b"/c"]);
        let link = &l.entries[3];
        assert_eq!(link.kind, EntryKind::Symlink);
        assert!(ev.open(link).is_err());
        let mut s = String::new();
        ev.open(&l.entries[0])
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "a");
    }

    /// After the listing, links resolve against it (the tree the scan saw), with no system
    /// call per name: a folder renamed afterwards does not change the answer.
    #[test]
    fn resolution_after_listing_uses_the_listing() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("flash/nsconfig")).unwrap();
        std::fs::write(r.join("flash/nsconfig/ns.conf"), "#NS13.0").unwrap();
        symlink("/flash/nsconfig", r.join("nsconfig")).unwrap();
        let ev = DirEvidence::new(r).unwrap();
        let _ = ev.list();
        std::fs::rename(r.join("flash"), r.join("flash.moved")).unwrap();
        let got = ev.resolve(&EvPath::new(&b"/nsconfig/ns.conf"[..]));
        assert_eq!(got.unwrap().as_bytes(), b"/flash/nsconfig/ns.conf");
    }

    /// Chains of links with 4 KB targets (`a/../` repeated) cost one resolution each, and
    /// those that need more than 4096 look-ups are reported, not followed to the end.
    #[test]
    fn long_link_chains_are_bounded_and_reported() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("var/tmp/s");
        std::fs::create_dir_all(d.join("a")).unwrap();
        let pad = "a/../".repeat(800);
        for c in 0..3 {
            for i in 0..40 {
                let next = if i < 39 {
                    format!("c{c}_{}", i + 1)
                } else {
                    "a".to_owned()
                };
                symlink(format!("{pad}{next}"), d.join(format!("c{c}_{i}"))).unwrap();
            }
        }
        let l = DirEvidence::new(t.path()).unwrap().list();
        let long: Vec<_> = l
            .gaps
            .iter()
            .filter(|g| g.cause == GapCause::BrokenSymlink && g.detail.contains("4096"))
            .collect();
        // Five links of 801 look-ups fit in 4096: the first 35 of each chain do not.
        assert_eq!(long.len(), 3 * 35, "{:?}", l.gaps);
        assert!(long.iter().all(|g| !g.blocks_clean));
    }

    #[test]
    fn the_entry_budget_stops_the_listing_with_a_gap() {
        let t = tempfile::tempdir().unwrap();
        for i in 0..10 {
            std::fs::write(t.path().join(format!("f{i}")), "x").unwrap();
        }
        let ev = DirEvidence::with_limits(
            t.path(),
            &Limits {
                max_entries: 4,
                ..Limits::default()
            },
        )
        .unwrap();
        let l = ev.list();
        assert_eq!(l.entries.len(), 4);
        assert!(
            l.gaps
                .iter()
                .any(|g| g.blocks_clean && g.detail.contains("--max-entries")),
            "{:?}",
            l.gaps
        );
    }

    /// Run by someone who does not own the files, the kernel refuses O_NOATIME: reading then
    /// updates access times, and the coverage says so. The scan runs in a child process under
    /// another user (`setpriv`), which needs root; as anyone else this test has nothing to do.
    #[test]
    fn access_times_that_may_change_are_reported() {
        const CHILD: &str = "SPOREN_TEST_ATIME_DIR";
        if let Some(dir) = std::env::var_os(CHILD) {
            let ev = DirEvidence::new(Path::new(&dir)).unwrap();
            for e in ev
                .list()
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::File)
            {
                let mut s = Vec::new();
                ev.open(e).unwrap().read_to_end(&mut s).unwrap();
            }
            println!("NOTES {:?}", ev.coverage_notes());
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::write(r.join("a.log"), "a").unwrap();
        std::fs::write(r.join("b.log"), "b").unwrap();
        // As the owner (root), file access times are kept; listing folders reads them
        // without O_NOATIME, which only a read-only or noatime mount makes harmless.
        let ev = DirEvidence::new(r).unwrap();
        for e in ev.list().entries.iter() {
            let _ = ev.open(e).unwrap().read_to_end(&mut Vec::new());
        }
        let notes = ev.coverage_notes();
        assert!(notes.iter().all(|n| !n.contains("files")), "{notes:?}");
        assert_eq!(
            notes.iter().any(|n| n.contains("of the 1 folders listed")),
            !atimes_frozen(r),
            "{notes:?}"
        );
        let setpriv = Path::new("/usr/bin/setpriv");
        let root = std::fs::metadata(r.join("a.log")).unwrap().uid() == 0;
        if !root || !setpriv.exists() {
            eprintln!("not root or no setpriv: the non-owner half was not run");
            return;
        }
        std::fs::set_permissions(r, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let out = std::process::Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "input::dir::tests::access_times_that_may_change_are_reported",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD, r)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("access times of 2 files may have been updated"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn mount_options_say_whether_reading_changes_access_times() {
        let info = "\
22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
30 22 8:2 / /mnt/ns ro,relatime - ufs /dev/nbd1p1 ro
31 22 8:3 / /mnt/na rw,noatime - ufs /dev/nbd1p8 rw
32 30 8:4 / /mnt/ns/var rw,relatime master:1 - ufs /dev/nbd1p9 rw
33 22 8:5 / /mnt/my\\040disk rw - ext4 /dev/vdb ro
34 22 8:6 / /mnt/na rw,relatime - ufs /dev/nbd2 rw
";
        let frozen = |p: &str| frozen_in(info, Path::new(p));
        assert!(!frozen("/tmp/x"));
        assert!(frozen("/mnt/ns/flash"));
        assert!(!frozen("/mnt/ns/var/log"), "the mount below wins");
        assert!(!frozen("/mnt/nsx"), "a prefix of a name is not a parent");
        assert!(
            frozen("/mnt/my disk/a"),
            "read-only filesystem, escaped name"
        );
        assert!(
            !frozen("/mnt/na"),
            "the later mount over the same place wins"
        );
    }
}
