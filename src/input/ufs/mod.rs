//! Raw disk images of the appliance: UFS2 (and UFS1) read-only in pure Rust. Never writes,
//! never maps the image, never trusts a number from it unchecked.
//!
//! `/dev/da0` holds `/flash` and `/var` as UFS partitions inside an MBR slice with a BSD label
//! (or a GPT); `/dev/md0` is the RAM disk with `/`; a partition image or a `makefs -t ffs` image
//! is a bare filesystem. Every UFS found is mounted where its content says it belongs (a root
//! with `nsconfig/` is `/flash`, one with `netscaler/` and `log/` or `nslog/` is `/var`, one with
//! `bin/` and `etc/` is `/`). The 6 bytes the NetScaler CLI puts before `shell dd` output are
//! skipped, trailing bytes ignored. Images are read with positioned reads ([`ReadAt`]).
//!
//! Images are evidence shaped by an attacker: the walk is bounded ([`Limits`]), and every
//! inconsistency (a damaged directory record, a block outside the filesystem, a size no file can
//! have, a directory reachable twice, a truncated copy, a damaged partition table) becomes a gap
//! naming the inode and the path, or an error when nothing can be read. A fuzz target can open
//! an image from bytes (`Arc<Vec<u8>>` is a [`ReadAt`]), list it and read every file.

mod device;
mod dirent;
mod error;
mod fs;
mod inode;
mod superblock;
mod walk;

pub use device::{ReadAt, read_exact_at};
pub use error::UfsError;

use super::partition::{self, Table};
use super::{Entry, EntryKind, Evidence, Layout, Limits, Listing, Namespace};
use crate::model::{EvPath, Gap, GapCause};
use fs::{Probe, Ufs};
use inode::Inode;
use std::io::{self, Read};
use std::sync::Arc;
use walk::{Budget, Walk};

/// Root directory bytes read to decide where a filesystem is mounted.
const ROOT_NAMES_BYTES: u64 = 64 * 1024;

/// What one image holds.
struct Found {
    /// Filesystems with what they are (`GPT partition 1`).
    fss: Vec<(Ufs, String)>,
    /// Damage that may hide a filesystem: gaps that block `clean`.
    problems: Vec<String>,
    notes: Vec<String>,
    /// Bytes before the image (a CLI banner).
    skipped: u64,
}

fn kind_name(fs: &Ufs) -> &'static str {
    if fs.g.ufs2 { "UFS2" } else { "UFS1" }
}

/// Finds the filesystems of one image: a bare UFS, an MBR with FreeBSD slices, or a GPT.
fn find(dev: &Arc<dyn ReadAt>) -> Result<Found, String> {
    let size = dev.size();
    // The CLI banner before `shell dd` output: look for a start within the first 512 bytes.
    for skip in [0, 6].into_iter().chain((1..512).filter(|&s| s != 6)) {
        let avail = size.map(|s| s.saturating_sub(skip));
        match Ufs::probe(dev, skip, avail) {
            Probe::Found(fs) => {
                let what = format!("{} filesystem", kind_name(&fs));
                return Ok(Found {
                    fss: vec![(fs, what)],
                    problems: Vec::new(),
                    notes: Vec::new(),
                    skipped: skip,
                });
            }
            // A UFS magic number marks where the image starts, even when the rest is damaged.
            Probe::Damaged(e) => return Err(e.to_string()),
            Probe::Nothing => {}
        }
        if let Some(t) = partition::read_table(dev.as_ref(), skip, size) {
            return mount_table(dev, t, skip);
        }
    }
    Err("no UFS filesystem, BSD label or GPT found".to_owned())
}

/// Opens the filesystem of each region of a partition table.
fn mount_table(dev: &Arc<dyn ReadAt>, t: Table, skip: u64) -> Result<Found, String> {
    let mut found = Found {
        fss: Vec::new(),
        problems: t.problems,
        notes: t.notes,
        skipped: skip,
    };
    let mut offsets = std::collections::HashSet::new();
    for r in t.regions {
        if !offsets.insert(r.offset) {
            found
                .notes
                .push(format!("{} repeats a partition already read", r.what));
            continue;
        }
        match Ufs::probe(dev, r.offset, r.len) {
            Probe::Found(fs) => {
                let what = format!("{}: {} filesystem", r.what, kind_name(&fs));
                found.fss.push((fs, what));
            }
            Probe::Damaged(e) => found.problems.push(format!("{}: {e}", r.what)),
            Probe::Nothing => found
                .problems
                .push(format!("{}: no UFS superblock", r.what)),
        }
    }
    if found.fss.is_empty() {
        return Err(if found.problems.is_empty() {
            "a partition table without a UFS partition".to_owned()
        } else {
            found.problems.join("; ")
        });
    }
    Ok(found)
}

/// The names in a filesystem's root directory, for deciding where it is mounted.
fn root_names(fs: &Ufs) -> Vec<Vec<u8>> {
    let Ok(root) = fs.inode(2) else {
        return Vec::new();
    };
    let (mut out, mut damage) = (Vec::new(), dirent::Damage::default());
    let size = root.size.min(ROOT_NAMES_BYTES);
    for lbn in 0..size.div_ceil(fs.g.bsize) {
        if let Ok((addr, data)) = fs.dir_block(&root, lbn)
            && addr != 0
        {
            dirent::parse(&data, lbn * fs.g.bsize, 2, &mut out, &mut damage);
        }
    }
    out.into_iter().map(|r| r.name).collect()
}

/// One filesystem to walk, where it is mounted.
struct Mount {
    fs: Ufs,
    what: String,
    at: EvPath,
}

/// An entry from one of the filesystems, before mounts are merged.
struct Item {
    entry: Entry,
    fsi: usize,
    ino: u64,
}

/// Evidence from one or more disk images.
pub struct ImageEvidence {
    fss: Vec<Ufs>,
    /// Sorted by path.
    entries: std::sync::Arc<[Entry]>,
    /// Per entry: (filesystem, inode).
    origin: Vec<(usize, u64)>,
    names: Namespace,
    gaps: Vec<Gap>,
    description: String,
}

impl ImageEvidence {
    /// Opens images (`name`, bytes) with the default [`Limits`]; every UFS found in them is
    /// mounted where `layout` says by its content.
    pub fn open(
        images: Vec<(String, Arc<dyn ReadAt>)>,
        layout: &Layout,
    ) -> io::Result<ImageEvidence> {
        ImageEvidence::with_limits(images, layout, &Limits::default())
    }

    /// Opens images and lists them within `limits`. Fails when an image holds no filesystem
    /// that can be read; damage inside a filesystem is a gap, not an error.
    pub fn with_limits(
        images: Vec<(String, Arc<dyn ReadAt>)>,
        layout: &Layout,
        limits: &Limits,
    ) -> io::Result<ImageEvidence> {
        let mut notes = Vec::new();
        let mut gaps = Vec::new();
        let mut mounts = Vec::new();
        for (name, dev) in images {
            let found = find(&dev)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {e}")))?;
            if found.skipped > 0 {
                notes.push(format!(
                    "{name}: {} bytes before the image skipped (CLI banner)",
                    found.skipped
                ));
            }
            notes.extend(found.notes.iter().map(|n| format!("{name}: {n}")));
            gaps.extend(found.problems.iter().map(|p| {
                Gap::new(
                    EvPath::root(),
                    GapCause::Unreadable,
                    format!("{name}: {p}"),
                    true,
                )
            }));
            for (fs, what) in found.fss {
                let at = layout.mount_point(&root_names(&fs)).unwrap_or("");
                let what = format!("{name}: {what}");
                notes.push(format!(
                    "{what} mounted at /{at}, {} KiB",
                    fs.g.bytes() >> 10
                ));
                mounts.push(Mount {
                    fs,
                    what,
                    at: EvPath::new(at.as_bytes().to_vec()),
                });
            }
        }
        // The root filesystem first, so /flash and /var mount over its directories.
        mounts.sort_by_key(|m| m.at != EvPath::root());
        let (fss, items) = walk_all(mounts, limits, &mut gaps);
        let (entries, origin) = merge(items, &fss, &mut gaps);
        let names = Namespace::new(&entries);
        gaps.extend(names.link_gaps(&entries));
        Ok(ImageEvidence {
            fss: fss.into_iter().map(|(fs, _)| fs).collect(),
            entries: entries.into(),
            origin,
            names,
            gaps,
            description: notes.join("; "),
        })
    }

    fn index(&self, entry: &Entry) -> Option<usize> {
        self.entries
            .binary_search_by(|e| e.path.cmp(&entry.path))
            .ok()
    }
}

/// Walks every filesystem within one shared budget; a truncated copy is a gap at its mount.
fn walk_all(
    mounts: Vec<Mount>,
    limits: &Limits,
    gaps: &mut Vec<Gap>,
) -> (Vec<(Ufs, String)>, Vec<Item>) {
    let mut budget = Budget::new(limits);
    let mut items = Vec::new();
    let mut fss = Vec::new();
    for (fsi, m) in mounts.into_iter().enumerate() {
        if let Some((claimed, held)) = m.fs.truncated() {
            gaps.push(Gap::new(
                m.at.clone(),
                GapCause::Unreadable,
                format!(
                    "{}: the filesystem is {claimed} bytes but the image holds {held} of them: what lies beyond could not be examined",
                    m.what
                ),
                true,
            ));
        }
        let w = Walk::run(&m.fs, fsi, &m.at, &m.what, &mut budget);
        gaps.extend(w.gaps);
        items.extend(w.listed.into_iter().map(|l| Item {
            entry: l.entry,
            fsi,
            ino: l.ino,
        }));
        fss.push((m.fs, m.what));
    }
    (fss, items)
}

/// Sorts the entries of all filesystems by path. Where two have the same path, the later
/// mount wins (a mount point over a directory is no news); anything else hidden is a gap.
fn merge(
    mut items: Vec<Item>,
    fss: &[(Ufs, String)],
    gaps: &mut Vec<Gap>,
) -> (Vec<Entry>, Vec<(usize, u64)>) {
    // Stable: within one filesystem, the first name walked comes first.
    items.sort_by(|a, b| a.entry.path.cmp(&b.entry.path).then(b.fsi.cmp(&a.fsi)));
    let mut entries: Vec<Entry> = Vec::with_capacity(items.len());
    let mut origin: Vec<(usize, u64)> = Vec::with_capacity(items.len());
    for it in items {
        let Some(last) = entries.last().filter(|e| e.path == it.entry.path) else {
            entries.push(it.entry);
            origin.push((it.fsi, it.ino));
            continue;
        };
        let (wfs, wino) = origin[origin.len() - 1];
        let detail = if wfs == it.fsi {
            format!(
                "a directory of {} names this path twice: inode {} is listed, inode {} is not",
                fss[wfs].1, wino, it.ino
            )
        } else if last.kind == EntryKind::Dir && it.entry.kind == EntryKind::Dir {
            continue;
        } else {
            format!(
                "inode {} of {} is hidden by {} mounted over it: not examined",
                it.ino, fss[it.fsi].1, fss[wfs].1
            )
        };
        gaps.push(Gap::new(it.entry.path, GapCause::Unreadable, detail, true));
    }
    (entries, origin)
}

/// Reads a file of a filesystem sequentially.
struct FileReader<'a> {
    fs: &'a Ufs,
    inode: Inode,
    pos: u64,
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fs.read_at(&self.inode, self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Evidence for ImageEvidence {
    fn kind(&self) -> &'static str {
        "disk-image"
    }

    fn describe(&self) -> Option<String> {
        Some(self.description.clone())
    }

    fn list(&self) -> Listing {
        Listing {
            entries: self.entries.clone(),
            gaps: self.gaps.clone(),
        }
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        let i = self
            .index(entry)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        if self.entries[i].kind != EntryKind::File {
            return Err(io::Error::other("not a regular file"));
        }
        let (fsi, ino) = self.origin[i];
        let fs = &self.fss[fsi];
        let inode = fs.inode(ino)?;
        fs.check_size(&inode)?;
        Ok(Box::new(FileReader { fs, inode, pos: 0 }))
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        self.names.resolve(&self.entries, path).ok()
    }
}
