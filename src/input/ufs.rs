//! Raw disk images of the appliance: UFS2 (and UFS1) read-only in pure Rust.
//!
//! `/dev/da0` holds `/flash` and `/var` as UFS partitions inside an MBR slice with a BSD label
//! (or a GPT); `/dev/md0` is the RAM disk with `/`; a partition image or a `makefs -t ffs` image
//! is a bare filesystem. Every UFS found is mounted where its content says it belongs (a root
//! with `nsconfig/` is `/flash`, one with `netscaler/` and `log/` or `nslog/` is `/var`, one with
//! `bin/` and `etc/` is `/`). The 6 bytes the NetScaler CLI puts before `shell dd` output are
//! skipped, trailing bytes ignored. Images are read with positioned reads (never mmap); a
//! `.gz` image is decompressed into memory. Nothing is written, nothing extracted.

use super::{Entry, EntryKind, Evidence, Listing};
use crate::model::{EvPath, Gap, GapCause};
use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Arc;

/// Random-access, read-only bytes of an image.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `off`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize>;
}

impl ReadAt for std::fs::File {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, off)
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        let start = usize::try_from(off).unwrap_or(usize::MAX).min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

fn read_exact_at(dev: &dyn ReadAt, buf: &mut [u8], off: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = dev.read_at(&mut buf[done..], off + done as u64)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "image ends at byte {} (wanted {} bytes at {off})",
                    off + done as u64,
                    buf.len()
                ),
            ));
        }
        done += n;
    }
    Ok(())
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn le64(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

const UFS1_MAGIC: u32 = 0x0001_1954;
const UFS2_MAGIC: u32 = 0x1954_0119;
/// Where FreeBSD looks for a superblock.
const SBLOCK_SEARCH: [u64; 4] = [65_536, 8_192, 0, 262_144];
const NDADDR: usize = 12;

/// One UFS filesystem inside an image.
pub struct Ufs {
    dev: Arc<dyn ReadAt>,
    /// Byte offset of the filesystem in the image.
    base: u64,
    ufs2: bool,
    bsize: u64,
    fsize: u64,
    frag: u64,
    ipg: u64,
    fpg: u64,
    iblkno: u64,
    inopb: u64,
    old_cgoffset: u64,
    old_cgmask: u64,
    ncg: u64,
}

/// The parts of an inode sporen needs.
#[derive(Clone, Debug)]
pub struct Inode {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub btime: Option<i64>,
    blocks: u64,
    db: [u64; NDADDR],
    ib: [u64; 3],
    /// Short symlink targets live in the block pointers.
    inline: Vec<u8>,
}

impl Ufs {
    /// Finds a UFS superblock at `base`; `None` if there is none.
    pub fn open(dev: Arc<dyn ReadAt>, base: u64) -> Option<Ufs> {
        for sb in SBLOCK_SEARCH {
            let mut b = vec![0u8; 1536];
            if read_exact_at(dev.as_ref(), &mut b, base + sb).is_err() {
                continue;
            }
            let magic = le32(&b, 1372);
            if magic != UFS2_MAGIC && magic != UFS1_MAGIC {
                continue;
            }
            let ufs2 = magic == UFS2_MAGIC;
            let g = |o| u64::from(le32(&b, o));
            let fs = Ufs {
                dev: dev.clone(),
                base,
                ufs2,
                iblkno: g(16),
                old_cgoffset: g(24),
                old_cgmask: g(28),
                ncg: g(44),
                bsize: g(48),
                fsize: g(52),
                frag: g(56),
                inopb: g(120),
                ipg: g(184),
                fpg: g(188),
            };
            let sane = fs.bsize.is_power_of_two()
                && (4096..=65_536).contains(&fs.bsize)
                && fs.fsize.is_power_of_two()
                && fs.fsize >= 512
                && fs.frag == fs.bsize / fs.fsize
                && fs.ipg > 0
                && fs.fpg > 0
                && fs.ncg > 0
                && fs.inopb > 0;
            if sane {
                return Some(fs);
            }
        }
        None
    }

    fn inode_size(&self) -> u64 {
        if self.ufs2 { 256 } else { 128 }
    }

    /// Reads inode `ino`.
    pub fn inode(&self, ino: u64) -> io::Result<Inode> {
        let cg = ino / self.ipg;
        if cg >= self.ncg {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("inode {ino} out of range"),
            ));
        }
        let cgbase = self.fpg * cg;
        let cgstart = if self.ufs2 {
            cgbase
        } else {
            cgbase + self.old_cgoffset * (cg & !self.old_cgmask)
        };
        let idx = ino % self.ipg;
        let frag = cgstart + self.iblkno + (idx / self.inopb) * self.frag;
        let off = self.base + frag * self.fsize + (idx % self.inopb) * self.inode_size();
        let mut b = vec![0u8; self.inode_size() as usize];
        read_exact_at(self.dev.as_ref(), &mut b, off)?;
        let mode = u32::from(u16::from_le_bytes([b[0], b[1]]));
        Ok(if self.ufs2 {
            let mut db = [0u64; NDADDR];
            for (i, d) in db.iter_mut().enumerate() {
                *d = le64(&b, 112 + 8 * i);
            }
            let ib = [le64(&b, 208), le64(&b, 216), le64(&b, 224)];
            Inode {
                mode,
                uid: le32(&b, 4),
                gid: le32(&b, 8),
                size: le64(&b, 16),
                blocks: le64(&b, 24),
                mtime: le64(&b, 40) as i64,
                btime: Some(le64(&b, 56) as i64),
                db,
                ib,
                inline: b[112..232].to_vec(),
            }
        } else {
            let mut db = [0u64; NDADDR];
            for (i, d) in db.iter_mut().enumerate() {
                *d = u64::from(le32(&b, 40 + 4 * i));
            }
            let ib = [
                u64::from(le32(&b, 88)),
                u64::from(le32(&b, 92)),
                u64::from(le32(&b, 96)),
            ];
            Inode {
                mode,
                uid: le32(&b, 112),
                gid: le32(&b, 116),
                size: le64(&b, 8),
                blocks: u64::from(le32(&b, 104)),
                mtime: i64::from(le32(&b, 24) as i32),
                btime: None,
                db,
                ib,
                inline: b[40..100].to_vec(),
            }
        })
    }

    /// Fragment address of logical block `lbn` of an inode (0 for a hole).
    fn block_addr(&self, ino: &Inode, lbn: u64) -> io::Result<u64> {
        if (lbn as usize) < NDADDR {
            return Ok(ino.db[lbn as usize]);
        }
        let per = self.bsize / if self.ufs2 { 8 } else { 4 };
        let mut rest = lbn - NDADDR as u64;
        let mut span = per;
        for (level, &top) in ino.ib.iter().enumerate() {
            if rest < span {
                let mut addr = top;
                let mut div = span / per;
                for _ in 0..=level {
                    if addr == 0 {
                        return Ok(0);
                    }
                    let idx = (rest / div) % per;
                    addr = self.pointer(addr, idx)?;
                    div /= per;
                    if div == 0 {
                        div = 1;
                    }
                }
                return Ok(addr);
            }
            rest -= span;
            span *= per;
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "block beyond triple indirection",
        ))
    }

    fn pointer(&self, block: u64, idx: u64) -> io::Result<u64> {
        let w = if self.ufs2 { 8 } else { 4 };
        let mut b = [0u8; 8];
        read_exact_at(
            self.dev.as_ref(),
            &mut b[..w],
            self.base + block * self.fsize + idx * w as u64,
        )?;
        Ok(if self.ufs2 {
            le64(&b, 0)
        } else {
            u64::from(le32(&b, 0))
        })
    }

    /// Reads `buf.len()` bytes of a file's content at `pos`.
    fn read_file_at(&self, ino: &Inode, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        if pos >= ino.size {
            return Ok(0);
        }
        let lbn = pos / self.bsize;
        let within = pos % self.bsize;
        let n = (buf.len() as u64)
            .min(self.bsize - within)
            .min(ino.size - pos) as usize;
        let addr = self.block_addr(ino, lbn)?;
        if addr == 0 {
            buf[..n].fill(0); // a hole
        } else {
            read_exact_at(
                self.dev.as_ref(),
                &mut buf[..n],
                self.base + addr * self.fsize + within,
            )?;
        }
        Ok(n)
    }

    /// The whole content of a small file (directories, symlinks).
    fn read_all(&self, ino: &Inode, max: u64) -> io::Result<Vec<u8>> {
        let mut out = vec![0u8; ino.size.min(max) as usize];
        let mut pos = 0;
        while pos < out.len() {
            let n = self.read_file_at(ino, pos as u64, &mut out[pos..])?;
            if n == 0 {
                break;
            }
            pos += n;
        }
        Ok(out)
    }

    /// Target of a symbolic link.
    fn link_target(&self, ino: &Inode) -> io::Result<Vec<u8>> {
        if ino.blocks == 0 && (ino.size as usize) <= ino.inline.len() {
            return Ok(ino.inline[..ino.size as usize].to_vec());
        }
        self.read_all(ino, 4096)
    }

    /// Entries of a directory: (name, inode number), without `.` and `..`.
    fn read_dir(&self, ino: &Inode) -> io::Result<Vec<(Vec<u8>, u64)>> {
        let data = self.read_all(ino, 64 << 20)?;
        let mut out = Vec::new();
        let mut off = 0;
        while off + 8 <= data.len() {
            let d_ino = u64::from(le32(&data, off));
            let reclen = usize::from(u16::from_le_bytes([data[off + 4], data[off + 5]]));
            let namlen = usize::from(data[off + 7]);
            if reclen < 8 || off + reclen > data.len() {
                break;
            }
            if d_ino != 0 && 8 + namlen <= reclen {
                let name = data[off + 8..off + 8 + namlen].to_vec();
                if name != b"." && name != b".." && !name.is_empty() && !name.contains(&b'/') {
                    out.push((name, d_ino));
                }
            }
            off += reclen;
        }
        Ok(out)
    }

    /// The names in the root directory (for deciding where this filesystem is mounted).
    fn root_names(&self) -> Vec<Vec<u8>> {
        self.inode(2)
            .and_then(|r| self.read_dir(&r))
            .map(|v| v.into_iter().map(|x| x.0).collect())
            .unwrap_or_default()
    }
}

fn kind_of(mode: u32) -> EntryKind {
    match mode & 0o170_000 {
        0o100_000 => EntryKind::File,
        0o040_000 => EntryKind::Dir,
        0o120_000 => EntryKind::Symlink,
        0o010_000 => EntryKind::Fifo,
        0o140_000 => EntryKind::Socket,
        0o020_000 => EntryKind::CharDevice,
        0o060_000 => EntryKind::BlockDevice,
        _ => EntryKind::Other,
    }
}

/// A filesystem found in an image, with its place in the image.
struct Found {
    fs: Ufs,
    what: String,
}

/// Finds the filesystems of one image: a bare UFS, an MBR with BSD slices, or a GPT.
fn filesystems(dev: Arc<dyn ReadAt>, name: &str) -> (Vec<Found>, Option<u64>) {
    // The CLI banner before `shell dd` output: look for a start within the first 512 bytes.
    for skip in [0u64, 6].into_iter().chain(1..512) {
        let found = filesystems_at(dev.clone(), skip, name);
        if !found.is_empty() {
            return (found, (skip > 0).then_some(skip));
        }
    }
    (Vec::new(), None)
}

fn filesystems_at(dev: Arc<dyn ReadAt>, skip: u64, name: &str) -> Vec<Found> {
    if let Some(fs) = Ufs::open(dev.clone(), skip) {
        let kind = if fs.ufs2 { "UFS2" } else { "UFS1" };
        return vec![Found {
            fs,
            what: format!("{name}: {kind} filesystem"),
        }];
    }
    let mut mbr = [0u8; 512];
    if read_exact_at(dev.as_ref(), &mut mbr, skip).is_err() || mbr[510..] != [0x55, 0xaa] {
        return Vec::new();
    }
    let mut out = Vec::new();
    for i in 0..4 {
        let e = &mbr[446 + 16 * i..462 + 16 * i];
        let (ty, start) = (e[4], u64::from(le32(e, 8)));
        match ty {
            0xa5 => out.extend(bsd_label(dev.clone(), skip, start, name, i + 1)),
            0xee => out.extend(gpt(dev.clone(), skip, name)),
            _ => {}
        }
    }
    out
}

fn bsd_label(dev: Arc<dyn ReadAt>, skip: u64, slice: u64, name: &str, n: usize) -> Vec<Found> {
    let mut l = [0u8; 512];
    let at = skip + (slice + 1) * 512;
    if read_exact_at(dev.as_ref(), &mut l, at).is_err() || le32(&l, 0) != 0x8256_4557 {
        return Vec::new();
    }
    let parts = usize::from(u16::from_le_bytes([l[138], l[139]])).min(20);
    let entry = |i: usize| {
        (
            u64::from(le32(&l, 148 + 16 * i)),
            u64::from(le32(&l, 152 + 16 * i)),
            l[160 + 16 * i],
        )
    };
    // Offsets are absolute in old labels and relative to the slice in newer ones: the raw
    // partition `c` tells which.
    let raw = if parts > 2 { entry(2).1 } else { 0 };
    (0..parts)
        .filter_map(|i| {
            let (size, offset, fstype) = entry(i);
            (fstype == 7 && size > 0).then_some((i, offset))
        })
        .filter_map(|(i, offset)| {
            let base = skip + (slice + offset.saturating_sub(raw)) * 512;
            Ufs::open(dev.clone(), base).map(|fs| Found {
                what: format!(
                    "{name}: slice {n} partition {} ({})",
                    (b'a' + i as u8) as char,
                    if fs.ufs2 { "UFS2" } else { "UFS1" }
                ),
                fs,
            })
        })
        .collect()
}

fn gpt(dev: Arc<dyn ReadAt>, skip: u64, name: &str) -> Vec<Found> {
    const FREEBSD_UFS: [u8; 16] = [
        0xb6, 0x7c, 0x6e, 0x51, 0xcf, 0x6e, 0xd6, 0x11, 0x8f, 0xf8, 0x00, 0x02, 0x2d, 0x09, 0x71,
        0x2b,
    ];
    let mut h = [0u8; 512];
    if read_exact_at(dev.as_ref(), &mut h, skip + 512).is_err() || &h[..8] != b"EFI PART" {
        return Vec::new();
    }
    let (lba, count, size) = (
        le64(&h, 72),
        u64::from(le32(&h, 80)).min(256),
        u64::from(le32(&h, 84)),
    );
    let mut out = Vec::new();
    for i in 0..count {
        let mut e = vec![0u8; size as usize];
        if read_exact_at(dev.as_ref(), &mut e, skip + lba * 512 + i * size).is_err() {
            break;
        }
        if e[..16] == FREEBSD_UFS
            && let Some(fs) = Ufs::open(dev.clone(), skip + le64(&e, 32) * 512)
        {
            out.push(Found {
                fs,
                what: format!("{name}: GPT partition {} (UFS)", i + 1),
            });
        }
    }
    out
}

/// Where a filesystem is mounted on the appliance, judged by its root directory.
fn mount_point(names: &[Vec<u8>]) -> Option<&'static str> {
    let has = |n: &[u8]| names.iter().any(|x| x == n);
    if (has(b"bin") && has(b"etc")) || (has(b"flash") && has(b"var")) {
        // The RAM disk (md0), or a whole tree in one filesystem.
        Some("")
    } else if has(b"nsconfig") {
        Some("flash")
    } else if has(b"netscaler") && (has(b"log") || has(b"nslog") || has(b"vpn")) {
        Some("var")
    } else {
        None
    }
}

/// Evidence from one or more disk images.
pub struct ImageEvidence {
    fss: Vec<Ufs>,
    entries: Vec<Entry>,
    /// Per entry: (filesystem, inode).
    origin: Vec<(usize, u64)>,
    index: HashMap<EvPath, usize>,
    gaps: Vec<Gap>,
    description: String,
}

impl ImageEvidence {
    /// Opens images (`name`, bytes); every UFS found in them is mounted by its content.
    pub fn open(images: Vec<(String, Arc<dyn ReadAt>)>) -> io::Result<ImageEvidence> {
        let mut notes = Vec::new();
        let mut mounted: Vec<(String, Ufs)> = Vec::new();
        for (name, dev) in images {
            let (found, skipped) = filesystems(dev.clone(), &name);
            if found.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{name}: no UFS filesystem, BSD label or GPT found"),
                ));
            }
            if let Some(s) = skipped {
                notes.push(format!(
                    "{name}: {s} bytes before the image skipped (CLI banner)"
                ));
            }
            for f in found {
                let names = f.fs.root_names();
                let at = mount_point(&names).unwrap_or("");
                let size = f.fs.ncg * f.fs.fpg * f.fs.fsize;
                notes.push(format!("{} mounted at /{at}, {} KiB", f.what, size >> 10));
                mounted.push((at.to_owned(), f.fs));
            }
        }
        let mut ev = ImageEvidence {
            fss: Vec::new(),
            entries: Vec::new(),
            origin: Vec::new(),
            index: HashMap::new(),
            gaps: Vec::new(),
            description: notes.join("; "),
        };
        // The root filesystem first, so /flash and /var mount over its directories.
        mounted.sort_by_key(|(at, _)| !at.is_empty());
        for (at, fs) in mounted {
            let i = ev.fss.len();
            ev.fss.push(fs);
            ev.walk(i, &at);
        }
        let mut order: Vec<usize> = (0..ev.entries.len()).collect();
        order.sort_by(|&a, &b| ev.entries[a].path.cmp(&ev.entries[b].path));
        let entries: Vec<Entry> = order.iter().map(|&i| ev.entries[i].clone()).collect();
        let origin: Vec<(usize, u64)> = order.iter().map(|&i| ev.origin[i]).collect();
        ev.entries = entries;
        ev.origin = origin;
        ev.index = ev
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
        Ok(ev)
    }

    fn push(&mut self, path: EvPath, fs: usize, ino: u64, inode: &Inode, link: Option<Vec<u8>>) {
        let entry = Entry {
            path: path.clone(),
            kind: kind_of(inode.mode),
            size: inode.size,
            mode: inode.mode,
            uid: inode.uid,
            gid: inode.gid,
            mtime: inode.mtime,
            btime: inode.btime.filter(|&b| b > 0),
            link_target: link,
            identity: Some((fs as u64, ino)),
        };
        match self.index.get(&path) {
            Some(&i) => {
                self.entries[i] = entry;
                self.origin[i] = (fs, ino);
            }
            None => {
                self.index.insert(path, self.entries.len());
                self.entries.push(entry);
                self.origin.push((fs, ino));
            }
        }
    }

    /// Walks one filesystem from its root inode, depth first, refusing directory loops.
    fn walk(&mut self, fsi: usize, at: &str) {
        let mount = EvPath::new(at.as_bytes().to_vec());
        if !at.is_empty()
            && let Ok(root) = self.fss[fsi].inode(2)
        {
            self.push(mount.clone(), fsi, 2, &root, None);
        }
        let mut stack = vec![(mount, 2u64)];
        let mut seen = std::collections::HashSet::new();
        while let Some((dir, ino)) = stack.pop() {
            if !seen.insert(ino) {
                continue;
            }
            let fs = &self.fss[fsi];
            let listing = fs.inode(ino).and_then(|d| fs.read_dir(&d));
            let children = match listing {
                Ok(c) => c,
                Err(e) => {
                    self.gaps
                        .push(Gap::new(dir, GapCause::UnlistableDir, e.to_string(), true));
                    continue;
                }
            };
            for (name, child) in children {
                let path = dir.join(&name);
                let fs = &self.fss[fsi];
                let inode = match fs.inode(child) {
                    Ok(i) => i,
                    Err(e) => {
                        self.gaps
                            .push(Gap::new(path, GapCause::Unreadable, e.to_string(), true));
                        continue;
                    }
                };
                let kind = kind_of(inode.mode);
                let link = (kind == EntryKind::Symlink)
                    .then(|| fs.link_target(&inode).unwrap_or_default());
                if kind == EntryKind::Dir {
                    stack.push((path.clone(), child));
                }
                self.push(path, fsi, child, &inode, link);
            }
        }
    }
}

/// Reads a file of a filesystem sequentially.
struct FileReader<'a> {
    fs: &'a Ufs,
    inode: Inode,
    pos: u64,
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fs.read_file_at(&self.inode, self.pos, buf)?;
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
        let &i = self
            .index
            .get(&entry.path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        if self.entries[i].kind != EntryKind::File {
            return Err(io::Error::other("not a regular file"));
        }
        let (fsi, ino) = self.origin[i];
        let fs = &self.fss[fsi];
        Ok(Box::new(FileReader {
            fs,
            inode: fs.inode(ino)?,
            pos: 0,
        }))
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        super::resolve_in_listing(path, |p| {
            match self.index.get(p).map(|&i| &self.entries[i]) {
                Some(e) if e.kind == EntryKind::Symlink => {
                    super::Lookup::Link(e.link_target.clone().unwrap_or_default())
                }
                Some(_) => super::Lookup::Exists,
                None => super::Lookup::Missing,
            }
        })
        .ok()
    }
}
