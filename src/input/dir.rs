//! Evidence in a directory: a mounted or copied appliance filesystem.
//!
//! Read-only by construction: files are opened with `O_RDONLY | O_NOFOLLOW | O_NONBLOCK` (and
//! `O_NOATIME` where the kernel allows it), checked with `fstat` to still be the regular file that
//! was listed, and read sequentially (no mmap). Symbolic links are listed, never followed by the
//! walk, and resolved only inside the root ([`resolve_in_root`]).

use super::{Entry, EntryKind, Evidence, Listing, Lookup, ResolveError};
use crate::model::{EvPath, Gap, GapCause};
use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A directory holding an appliance filesystem.
#[derive(Debug)]
pub struct DirEvidence {
    root: PathBuf,
}

impl DirEvidence {
    /// Opens `root`, which must be a directory (a symlink to one is followed for the root only).
    pub fn new(root: &Path) -> io::Result<DirEvidence> {
        let meta = std::fs::metadata(root)?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(DirEvidence {
            root: root.to_path_buf(),
        })
    }

    fn host_path(&self, path: &EvPath) -> PathBuf {
        self.root.join(OsStr::from_bytes(path.relative()))
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
        let mut listing = Listing::default();
        let walker = walkdir::WalkDir::new(&self.root)
            .follow_links(false)
            .min_depth(1)
            .sort_by(|a, b| a.file_name().as_bytes().cmp(b.file_name().as_bytes()));
        for item in walker {
            match item {
                Ok(de) => {
                    let rel = match de.path().strip_prefix(&self.root) {
                        Ok(r) => r.as_os_str().as_bytes().to_vec(),
                        Err(_) => continue,
                    };
                    let path = EvPath::new(rel);
                    let meta = match de.metadata() {
                        Ok(m) => m,
                        Err(e) => {
                            listing.gaps.push(Gap::new(
                                path,
                                GapCause::Unreadable,
                                e.to_string(),
                                true,
                            ));
                            continue;
                        }
                    };
                    let kind = kind_of(&meta);
                    if kind == EntryKind::Symlink
                        && resolve_in_root(&self.root, path.relative()) == Err(ResolveError::Loop)
                    {
                        listing.gaps.push(Gap::new(
                            path.clone(),
                            GapCause::BrokenSymlink,
                            "symbolic link loops (more than 40 links)".to_owned(),
                            false,
                        ));
                    }
                    let link_target = if kind == EntryKind::Symlink {
                        std::fs::read_link(de.path())
                            .ok()
                            .map(|t| t.as_os_str().as_bytes().to_vec())
                    } else {
                        None
                    };
                    listing.entries.push(Entry {
                        path,
                        kind,
                        size: meta.len(),
                        mode: meta.mode(),
                        uid: meta.uid(),
                        gid: meta.gid(),
                        mtime: meta.mtime(),
                        btime: None,
                        link_target,
                        identity: Some((meta.dev(), meta.ino())),
                    });
                }
                Err(e) => {
                    let path = e
                        .path()
                        .and_then(|p| p.strip_prefix(&self.root).ok())
                        .map(|r| EvPath::new(r.as_os_str().as_bytes().to_vec()))
                        .unwrap_or_else(EvPath::root);
                    let detail = e
                        .io_error()
                        .map(|io| io.to_string())
                        .unwrap_or_else(|| e.to_string());
                    listing
                        .gaps
                        .push(Gap::new(path, GapCause::UnlistableDir, detail, true));
                }
            }
        }
        listing.entries.sort_by(|a, b| a.path.cmp(&b.path));
        listing
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        if entry.kind != EntryKind::File {
            return Err(io::Error::other("not a regular file"));
        }
        let f = open_read_only(&self.host_path(&entry.path))?;
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
        resolve_in_root(&self.root, path.relative()).ok()
    }
}

/// Opens a file read-only without following a final symlink, without blocking on FIFOs, and
/// without updating its access time where the kernel allows that.
pub fn open_read_only(path: &Path) -> io::Result<File> {
    let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    let open = |flags: i32| OpenOptions::new().read(true).custom_flags(flags).open(path);
    match open(base | libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(base),
        other => other,
    }
}

/// Resolves `rel` (relative to `root`) the way the appliance would see it, with `root` as `/`:
/// absolute link targets restart at `root`, `..` never climbs above `root`. The returned path
/// is absolute inside the evidence and free of links; nothing outside `root` is ever touched.
pub fn resolve_in_root(root: &Path, rel: &[u8]) -> Result<EvPath, ResolveError> {
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
}
