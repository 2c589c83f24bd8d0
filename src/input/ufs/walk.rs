//! Walks one UFS filesystem from its root, breadth first: each directory inode once, each
//! directory block once, within a budget of entries, directory bytes and path bytes.
//!
//! A crafted image can name the same directory many times, share blocks between directories
//! or claim absurd sizes; none of that may cost more than the budget, and whatever is not
//! listed becomes a gap that names the inode and the path. It never lists silently less.

use super::dirent::{self, Damage, Record};
use super::fs::Ufs;
use super::inode::Inode;
use crate::input::resolve::{MAX_PATH, MAX_TARGET};
use crate::input::{Entry, EntryKind, Limits};
use crate::model::{EvPath, Gap, GapCause};
use std::collections::{HashMap, VecDeque};

/// What a walk may still spend, shared by the filesystems of one evidence.
pub(crate) struct Budget {
    max_entries: u64,
    entries: u64,
    dir_bytes: u64,
    path_bytes: u64,
    /// Set once spent: the walk stops.
    pub(crate) stopped: bool,
}

impl Budget {
    pub fn new(l: &Limits) -> Budget {
        Budget {
            max_entries: l.max_entries,
            entries: l.max_entries,
            dir_bytes: l.max_entries.saturating_mul(512),
            path_bytes: l.max_entries.saturating_mul(256),
            stopped: false,
        }
    }

    fn take_entry(&mut self, path_len: usize) -> bool {
        let path_len = path_len as u64;
        if self.entries == 0 || self.path_bytes < path_len {
            self.stopped = true;
            return false;
        }
        self.entries -= 1;
        self.path_bytes -= path_len;
        true
    }

    fn take_dir_bytes(&mut self, n: u64) -> bool {
        if self.dir_bytes < n {
            self.stopped = true;
            return false;
        }
        self.dir_bytes -= n;
        true
    }

    fn stop_detail(&self, what: &str) -> String {
        format!(
            "listing stopped at the budget of {} entries (--max-entries; directory data and path bytes count too): the rest of {what} is not listed",
            self.max_entries
        )
    }
}

/// An entry listed, with the inode it came from.
pub(crate) struct Listed {
    pub(crate) entry: Entry,
    pub(crate) ino: u64,
}

/// The walk of one filesystem.
pub(crate) struct Walk<'a> {
    fs: &'a Ufs,
    fsi: usize,
    what: &'a str,
    budget: &'a mut Budget,
    pub(crate) listed: Vec<Listed>,
    pub(crate) gaps: Vec<Gap>,
    /// Directory inode → the path it was walked as.
    dirs: HashMap<u64, EvPath>,
    /// Directory block (fragment address) → the directory inode it was read for.
    blocks: HashMap<u64, u64>,
    queue: VecDeque<(EvPath, Inode)>,
}

impl<'a> Walk<'a> {
    /// Walks filesystem `fsi` mounted at `mount`; `what` names it in gaps.
    pub(crate) fn run(
        fs: &'a Ufs,
        fsi: usize,
        mount: &EvPath,
        what: &'a str,
        budget: &'a mut Budget,
    ) -> Walk<'a> {
        let mut w = Walk {
            fs,
            fsi,
            what,
            budget,
            listed: Vec::new(),
            gaps: Vec::new(),
            dirs: HashMap::new(),
            blocks: HashMap::new(),
            queue: VecDeque::new(),
        };
        if w.budget.stopped {
            // An earlier filesystem spent the budget: say that this one is not listed at all.
            let detail = w.budget.stop_detail(what);
            w.gap(mount, GapCause::UnlistableDir, detail);
            return w;
        }
        w.root(mount);
        while let Some((dir, inode)) = w.queue.pop_front() {
            if w.budget.stopped {
                break;
            }
            w.list_dir(&dir, &inode);
        }
        let below_root = w.listed.iter().any(|l| l.entry.path != *mount);
        if !below_root && w.gaps.is_empty() {
            w.gap(
                mount,
                GapCause::UnlistableDir,
                format!("the root directory of {what} lists no entries"),
            );
        }
        w
    }

    fn gap(&mut self, path: &EvPath, cause: GapCause, detail: String) {
        self.gaps.push(Gap::new(path.clone(), cause, detail, true));
    }

    fn root(&mut self, mount: &EvPath) {
        let root = match self.fs.inode(2) {
            Ok(r) if r.kind() == EntryKind::Dir => r,
            Ok(r) => {
                let detail = format!(
                    "{}: root inode 2 is not a directory (mode {:o})",
                    self.what, r.mode
                );
                return self.gap(mount, GapCause::UnlistableDir, detail);
            }
            Err(e) => {
                let detail = format!("{}: root directory: {e}", self.what);
                return self.gap(mount, GapCause::UnlistableDir, detail);
            }
        };
        if *mount != EvPath::root() {
            self.push(mount.clone(), &root, None);
        }
        self.dirs.insert(2, mount.clone());
        self.queue.push_back((mount.clone(), root));
    }

    fn push(&mut self, path: EvPath, inode: &Inode, link_target: Option<Vec<u8>>) {
        self.listed.push(Listed {
            entry: Entry {
                path,
                kind: inode.kind(),
                size: inode.size,
                mode: inode.mode,
                uid: inode.uid,
                gid: inode.gid,
                mtime: inode.mtime,
                btime: inode.btime.filter(|&b| b > 0),
                atime: Some(inode.atime).filter(|&t| t > 0),
                ctime: Some(inode.ctime).filter(|&t| t > 0),
                link_target,
                identity: Some((self.fsi as u64, inode.ino)),
            },
            ino: inode.ino,
        });
    }

    /// Lists one directory: its names, then each name's inode.
    fn list_dir(&mut self, dir: &EvPath, inode: &Inode) {
        let mut records = Vec::new();
        let mut damage = Damage::default();
        self.read_records(dir, inode, &mut records, &mut damage);
        if damage.count > 0 {
            let detail = format!("directory inode {}: {}", inode.ino, damage.describe());
            self.gap(dir, GapCause::UnlistableDir, detail);
        }
        let mut too_long = 0;
        for r in records {
            let path = dir.join(&r.name);
            if path.len() > MAX_PATH {
                too_long += 1;
                continue;
            }
            if !self.budget.take_entry(path.len()) {
                let detail = self.budget.stop_detail(self.what);
                return self.gap(dir, GapCause::UnlistableDir, detail);
            }
            self.child(path, &r, inode.ino);
        }
        if too_long > 0 {
            let detail = format!(
                "directory inode {}: {too_long} names with paths longer than {MAX_PATH} bytes are not listed",
                inode.ino
            );
            self.gap(dir, GapCause::UnlistableDir, detail);
        }
    }

    /// Reads the records of a directory, block by block, each block once for the whole walk.
    fn read_records(
        &mut self,
        dir: &EvPath,
        inode: &Inode,
        out: &mut Vec<Record>,
        damage: &mut Damage,
    ) {
        let fs = self.fs;
        if let Err(e) = fs.check_size(inode) {
            return damage.add(e.to_string());
        }
        let bsize = fs.g.bsize;
        // Directories have no holes: a size beyond the allocated sectors is not read.
        let allocated = inode.blocks.saturating_mul(512);
        let size = inode
            .size
            .min(allocated.div_ceil(bsize).saturating_mul(bsize));
        if size < inode.size {
            damage.add(format!(
                "size {} but {allocated} bytes allocated",
                inode.size
            ));
        }
        for lbn in 0..size.div_ceil(bsize) {
            let len = (size - lbn * bsize).min(bsize);
            if !self.budget.take_dir_bytes(len) {
                let detail = self.budget.stop_detail(self.what);
                return self.gap(dir, GapCause::UnlistableDir, detail);
            }
            match fs.dir_block(inode, lbn) {
                Err(e) => damage.add(e.to_string()),
                Ok((0, _)) => damage.add(format!("block {lbn} is a hole")),
                Ok((addr, data)) => {
                    if let Some(&other) = self.blocks.get(&addr) {
                        damage.add(format!(
                            "block {lbn} (fragment {addr}) also belongs to directory inode {other}: not listed twice"
                        ));
                        continue;
                    }
                    self.blocks.insert(addr, inode.ino);
                    dirent::parse(&data, lbn * bsize, inode.ino, out, damage);
                }
            }
        }
    }

    /// Lists one name of directory inode `parent`.
    fn child(&mut self, path: EvPath, r: &Record, parent: u64) {
        let inode = match self.fs.inode(r.ino) {
            Ok(i) if r.ino >= 2 && !i.is_free() => i,
            Ok(_) => {
                let detail = format!(
                    "directory inode {parent} names inode {}, which is not in use",
                    r.ino
                );
                return self.gap(&path, GapCause::Unreadable, detail);
            }
            Err(e) => return self.gap(&path, GapCause::Unreadable, e.to_string()),
        };
        let kind = inode.kind();
        if kind != EntryKind::Dir
            && let Err(e) = self.fs.check_size(&inode)
        {
            self.gap(&path, GapCause::Unreadable, e.to_string());
        }
        let link = (kind == EntryKind::Symlink)
            .then(|| self.link_target(&path, &inode))
            .flatten();
        if kind == EntryKind::Dir {
            if let Some(first) = self.dirs.get(&inode.ino) {
                let detail = format!(
                    "directory inode {} also reachable as {}: not walked twice",
                    inode.ino,
                    first.to_lossless_string()
                );
                self.gap(&path, GapCause::UnlistableDir, detail);
            } else {
                self.dirs.insert(inode.ino, path.clone());
                self.queue.push_back((path.clone(), inode.clone()));
            }
        }
        self.push(path, &inode, link);
    }

    /// A symbolic link's target; a target that cannot be read is a gap (links are not
    /// content: it does not block `clean`).
    fn link_target(&mut self, path: &EvPath, inode: &Inode) -> Option<Vec<u8>> {
        let why = if inode.size > MAX_TARGET as u64 {
            format!(
                "inode {}: link target of {} bytes, more than {MAX_TARGET}: not read",
                inode.ino, inode.size
            )
        } else {
            match self.fs.link_target(inode) {
                Ok(t) => return Some(t),
                Err(e) => e.to_string(),
            }
        };
        self.gaps
            .push(Gap::new(path.clone(), GapCause::BrokenSymlink, why, false));
        None
    }
}
