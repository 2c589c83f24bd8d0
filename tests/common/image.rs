//! UFS2 images for tests, built in memory the way FreeBSD lays them out (superblock at 64 KiB,
//! 8 KiB blocks of 1 KiB fragments, 256-byte inodes, directories in 512-byte chunks that no
//! record crosses), and the few look-ups needed to damage them on purpose: the byte offset of
//! an inode, of its block pointers, of a directory's records. Whole disks too: partition images
//! behind a GPT or an MBR slice with a BSD label.

use std::collections::BTreeMap;
use std::path::Path;

pub const BSIZE: usize = 8192;
pub const FSIZE: usize = 1024;
pub const FRAG: usize = BSIZE / FSIZE;
pub const ISIZE: usize = 256;
pub const INOPB: usize = BSIZE / ISIZE;
pub const DIRBLK: usize = 512;
pub const SBLOCK: usize = 65_536;
/// Per cylinder group, in fragments: superblock copy, group header, inode table.
const SBLKNO: usize = 72;
const CBLKNO: usize = 80;
const IBLKNO: usize = 88;
const NDADDR: usize = 12;
const NINDIR: usize = BSIZE / 8;

/// Superblock field offsets (`struct fs`).
pub mod sb {
    pub const IBLKNO: usize = 16;
    pub const NCG: usize = 44;
    pub const BSIZE: usize = 48;
    pub const FSIZE: usize = 52;
    pub const FRAG: usize = 56;
    pub const INOPB: usize = 120;
    pub const IPG: usize = 184;
    pub const FPG: usize = 188;
    pub const SIZE: usize = 1080;
    pub const MAGIC: usize = 1372;
}

/// A tree to put into an image.
pub enum Node {
    Dir(Vec<(Vec<u8>, Node)>),
    File {
        data: Vec<u8>,
        mode: u32,
        mtime: i64,
    },
    Link(Vec<u8>),
    /// An inode whose fields are given as is (a size no file can have, say).
    Raw {
        mode: u32,
        size: u64,
    },
}

impl Node {
    pub fn dir<N: AsRef<[u8]>>(children: impl IntoIterator<Item = (N, Node)>) -> Node {
        Node::Dir(
            children
                .into_iter()
                .map(|(n, c)| (n.as_ref().to_vec(), c))
                .collect(),
        )
    }

    pub fn file(data: impl AsRef<[u8]>) -> Node {
        Node::File {
            data: data.as_ref().to_vec(),
            mode: 0o100_644,
            mtime: 1_580_000_000,
        }
    }

    pub fn link(target: impl AsRef<[u8]>) -> Node {
        Node::Link(target.as_ref().to_vec())
    }

    /// A host folder as it is (regular files, folders, symbolic links), with modes and times.
    pub fn from_host(p: &Path) -> Node {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::MetadataExt;
        let mut names: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        Node::Dir(
            names
                .into_iter()
                .map(|n| {
                    let c = p.join(&n);
                    let m = std::fs::symlink_metadata(&c).unwrap();
                    let node = if m.file_type().is_symlink() {
                        Node::link(std::fs::read_link(&c).unwrap().as_os_str().as_bytes())
                    } else if m.is_dir() {
                        Node::from_host(&c)
                    } else {
                        Node::File {
                            data: std::fs::read(&c).unwrap(),
                            mode: m.mode(),
                            mtime: m.mtime(),
                        }
                    };
                    (n.as_bytes().to_vec(), node)
                })
                .collect(),
        )
    }
}

/// An inode as the builder keeps it.
#[derive(Clone, Default)]
struct Dinode {
    mode: u32,
    size: u64,
    mtime: i64,
    nlink: u16,
    /// Allocated data, in 512-byte sectors.
    sectors: u64,
    db: [u64; NDADDR],
    ib: u64,
    inline: Option<Vec<u8>>,
}

/// Builds one UFS2 filesystem with a single cylinder group.
pub struct Builder {
    ipg: usize,
    next_ino: u32,
    /// Next free fragment (always block aligned).
    next_frag: usize,
    blocks: BTreeMap<usize, Vec<u8>>,
    inodes: BTreeMap<u32, Dinode>,
}

impl Builder {
    /// Room for `inodes` inodes (rounded up to whole inode blocks).
    pub fn new(inodes: usize) -> Builder {
        let ipg = (inodes.max(64)).div_ceil(INOPB) * INOPB;
        Builder {
            ipg,
            next_ino: 3,
            next_frag: IBLKNO + ipg / INOPB * FRAG,
            blocks: BTreeMap::new(),
            inodes: BTreeMap::new(),
        }
    }

    /// The image of `root` (inode 2).
    pub fn image(root: &Node) -> Vec<u8> {
        let mut b = Builder::new(count(root) + 16);
        b.put(root, 2, 2);
        b.build()
    }

    /// Allocates an inode number.
    pub fn new_ino(&mut self) -> u32 {
        let i = self.next_ino;
        self.next_ino += 1;
        assert!(
            (i as usize) < self.ipg,
            "more inodes than the builder has room for"
        );
        i
    }

    /// Writes one block of data; returns its fragment address.
    pub fn block(&mut self, data: &[u8]) -> u64 {
        assert!(data.len() <= BSIZE);
        let f = self.next_frag;
        self.next_frag += FRAG;
        self.blocks.insert(f, data.to_vec());
        f as u64
    }

    /// Stores `data` in blocks (direct, then one single indirect block); returns the inode.
    fn data_inode(&mut self, data: &[u8], mode: u32, mtime: i64) -> Dinode {
        let mut d = Dinode {
            mode,
            size: data.len() as u64,
            mtime,
            nlink: 1,
            ..Dinode::default()
        };
        let chunks: Vec<&[u8]> = data.chunks(BSIZE).collect();
        assert!(
            chunks.len() <= NDADDR + NINDIR,
            "file too large for the builder"
        );
        let mut indirect = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let a = self.block(c);
            if i < NDADDR {
                d.db[i] = a;
            } else {
                indirect.extend_from_slice(&a.to_le_bytes());
            }
        }
        if !indirect.is_empty() {
            d.ib = self.block(&indirect);
        }
        d.sectors = (chunks.len() as u64 + u64::from(!indirect.is_empty())) * (BSIZE as u64 / 512);
        d
    }

    /// Puts `node` at inode `ino`, with `parent` as `..` for a directory.
    pub fn put(&mut self, node: &Node, ino: u32, parent: u32) {
        let d = match node {
            Node::File { data, mode, mtime } => self.data_inode(data, *mode, *mtime),
            Node::Link(t) if t.len() < 120 => Dinode {
                mode: 0o120_755,
                size: t.len() as u64,
                nlink: 1,
                inline: Some(t.clone()),
                ..Dinode::default()
            },
            Node::Link(t) => self.data_inode(t, 0o120_755, 1_580_000_000),
            Node::Raw { mode, size } => Dinode {
                mode: *mode,
                size: *size,
                nlink: 1,
                ..Dinode::default()
            },
            Node::Dir(children) => {
                let mut recs = vec![(b".".to_vec(), ino, 4u8), (b"..".to_vec(), parent, 4)];
                for (name, child) in children {
                    let c = self.new_ino();
                    self.put(child, c, ino);
                    recs.push((name.clone(), c, dtype(child)));
                }
                let mut d = self.data_inode(&dir_chunks(&recs), 0o040_755, 1_580_000_000);
                d.nlink = 2;
                d
            }
        };
        self.inodes.insert(ino, d);
    }

    /// Sets inode `ino` to a directory whose data is `blocks` (already allocated).
    pub fn dir_inode(&mut self, ino: u32, db: &[u64], size: u64) {
        let mut d = Dinode {
            mode: 0o040_755,
            size,
            nlink: 2,
            sectors: db.len() as u64 * (BSIZE as u64 / 512),
            ..Dinode::default()
        };
        d.db[..db.len()].copy_from_slice(db);
        self.inodes.insert(ino, d);
    }

    /// The image bytes.
    pub fn build(&self) -> Vec<u8> {
        let fpg = self.next_frag + 16 * FRAG;
        let mut img = vec![0u8; fpg * FSIZE];
        superblock(&mut img[SBLOCK..], self.ipg, fpg);
        for (f, data) in &self.blocks {
            img[f * FSIZE..][..data.len()].copy_from_slice(data);
        }
        for (&ino, d) in &self.inodes {
            dinode(
                &mut img[IBLKNO * FSIZE + ino as usize * ISIZE..][..ISIZE],
                d,
            );
        }
        img
    }
}

fn count(n: &Node) -> usize {
    match n {
        Node::Dir(c) => 1 + c.iter().map(|(_, n)| count(n)).sum::<usize>(),
        _ => 1,
    }
}

fn dtype(n: &Node) -> u8 {
    match n {
        Node::Dir(_) => 4,
        Node::Link(_) => 10,
        Node::File { .. } => 8,
        Node::Raw { .. } => 0,
    }
}

/// Directory records packed into 512-byte chunks; each chunk's last record runs to its end.
pub fn dir_chunks(recs: &[(Vec<u8>, u32, u8)]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut chunk: Vec<u8> = Vec::new();
    let mut last = 0;
    let finish = |chunk: &mut Vec<u8>, last: usize, out: &mut Vec<u8>| {
        let len = (DIRBLK - last) as u16;
        chunk[last + 4..last + 6].copy_from_slice(&len.to_le_bytes());
        chunk.resize(DIRBLK, 0);
        out.append(chunk);
    };
    for (name, ino, ty) in recs {
        let len = (8 + name.len() + 1).div_ceil(4) * 4;
        if chunk.len() + len > DIRBLK {
            finish(&mut chunk, last, &mut out);
        }
        last = chunk.len();
        chunk.extend_from_slice(&ino.to_le_bytes());
        chunk.extend_from_slice(&(len as u16).to_le_bytes());
        chunk.push(*ty);
        chunk.push(name.len() as u8);
        chunk.extend_from_slice(name);
        chunk.resize(last + len, 0);
    }
    finish(&mut chunk, last, &mut out);
    out
}

fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], o: usize, v: u64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

fn superblock(s: &mut [u8], ipg: usize, fpg: usize) {
    for (o, v) in [
        (8, SBLKNO),
        (12, CBLKNO),
        (sb::IBLKNO, IBLKNO),
        (20, IBLKNO + ipg / INOPB * FRAG),
        (sb::NCG, 1),
        (sb::BSIZE, BSIZE),
        (sb::FSIZE, FSIZE),
        (sb::FRAG, FRAG),
        (72, !(BSIZE - 1) & 0xffff_ffff),
        (76, !(FSIZE - 1) & 0xffff_ffff),
        (80, 13),
        (84, 10),
        (96, 3),
        (100, 1),
        (104, 2048),
        (116, NINDIR),
        (sb::INOPB, INOPB),
        (sb::IPG, ipg),
        (sb::FPG, fpg),
        (1320, 120),
        (sb::MAGIC, 0x1954_0119),
    ] {
        put32(s, o, v as u32);
    }
    put64(s, 1000, SBLOCK as u64);
    put64(s, sb::SIZE, fpg as u64);
    put64(s, 1088, (fpg - IBLKNO) as u64);
}

fn dinode(b: &mut [u8], d: &Dinode) {
    b[0..2].copy_from_slice(&(d.mode as u16).to_le_bytes());
    b[2..4].copy_from_slice(&d.nlink.to_le_bytes());
    put64(b, 16, d.size);
    put64(b, 24, d.sectors);
    for o in [32, 40, 48] {
        put64(b, o, d.mtime as u64);
    }
    put64(b, 56, (d.mtime - 86_400) as u64);
    match &d.inline {
        Some(t) => b[112..112 + t.len()].copy_from_slice(t),
        None => {
            for (i, a) in d.db.iter().enumerate() {
                put64(b, 112 + 8 * i, *a);
            }
            put64(b, 208, d.ib);
        }
    }
}

/// One directory record found in an image.
#[derive(Clone, Debug)]
pub struct Record {
    /// Byte offset of the record in the image.
    pub at: usize,
    pub ino: u32,
    pub name: Vec<u8>,
}

/// Finds things in an intact UFS2 image (ours or `makefs`'s) to damage them.
pub struct Image<'a> {
    pub bytes: &'a mut Vec<u8>,
    /// Byte offset of the superblock.
    pub sb: usize,
    fsize: usize,
    bsize: usize,
    iblkno: usize,
    inopb: usize,
    ipg: usize,
    fpg: usize,
}

impl<'a> Image<'a> {
    pub fn new(bytes: &'a mut Vec<u8>) -> Image<'a> {
        let sb = [SBLOCK, 8192]
            .into_iter()
            .find(|&o| u32le(bytes, o + sb::MAGIC) == 0x1954_0119)
            .expect("a UFS2 superblock");
        let g = |o: usize| u32le(bytes, sb + o) as usize;
        Image {
            sb,
            fsize: g(sb::FSIZE),
            bsize: g(sb::BSIZE),
            iblkno: g(sb::IBLKNO),
            inopb: g(sb::INOPB),
            ipg: g(sb::IPG),
            fpg: g(sb::FPG),
            bytes,
        }
    }

    /// Byte offset of inode `ino`.
    pub fn inode(&self, ino: u32) -> usize {
        let ino = ino as usize;
        let (cg, idx) = (ino / self.ipg, ino % self.ipg);
        let frag = self.fpg * cg + self.iblkno + idx / self.inopb * (self.bsize / self.fsize);
        frag * self.fsize + idx % self.inopb * ISIZE
    }

    /// Byte offset of direct block pointer `i` of inode `ino`.
    pub fn db(&self, ino: u32, i: usize) -> usize {
        self.inode(ino) + 112 + 8 * i
    }

    /// Byte offset of indirect block pointer `i` (0: single) of inode `ino`.
    pub fn ib(&self, ino: u32, i: usize) -> usize {
        self.inode(ino) + 208 + 8 * i
    }

    /// Byte offset of the first data block (after the inode table of group 0).
    pub fn data_start(&self) -> usize {
        (self.iblkno + self.ipg / self.inopb * (self.bsize / self.fsize)) * self.fsize
    }

    /// Byte offset of the inode table of group 0.
    pub fn inode_table(&self) -> usize {
        self.iblkno * self.fsize
    }

    pub fn u64_at(&self, at: usize) -> u64 {
        u64le(self.bytes, at)
    }

    pub fn set_u64(&mut self, at: usize, v: u64) {
        put64(self.bytes, at, v);
    }

    pub fn set_u32(&mut self, at: usize, v: u32) {
        put32(self.bytes, at, v);
    }

    pub fn size(&self, ino: u32) -> u64 {
        u64le(self.bytes, self.inode(ino) + 16)
    }

    /// The records of a directory (direct blocks only), in order.
    pub fn records(&self, ino: u32) -> Vec<Record> {
        let size = self.size(ino) as usize;
        let mut out = Vec::new();
        for i in 0..size.div_ceil(self.bsize).min(NDADDR) {
            let base = u64le(self.bytes, self.db(ino, i)) as usize * self.fsize;
            let len = (size - i * self.bsize).min(self.bsize);
            let mut o = 0;
            while o + 8 <= len {
                let at = base + o;
                let reclen = u16::from_le_bytes([self.bytes[at + 4], self.bytes[at + 5]]) as usize;
                let namlen = self.bytes[at + 7] as usize;
                out.push(Record {
                    at,
                    ino: u32le(self.bytes, at),
                    name: self.bytes[at + 8..at + 8 + namlen].to_vec(),
                });
                assert!(reclen >= 8, "the intact image has a damaged record");
                o += reclen;
            }
        }
        out
    }

    /// The inode of `path` (`var/log`), following the directories from the root.
    pub fn lookup(&self, path: &str) -> u32 {
        path.split('/').filter(|c| !c.is_empty()).fold(2, |dir, c| {
            self.records(dir)
                .into_iter()
                .find(|r| r.name == c.as_bytes())
                .unwrap_or_else(|| panic!("{path}: no {c}"))
                .ino
        })
    }

    /// The record named `name` in directory `dir`.
    pub fn record(&self, dir: &str, name: &str) -> Record {
        self.records(self.lookup(dir))
            .into_iter()
            .find(|r| r.name == name.as_bytes())
            .unwrap_or_else(|| panic!("{dir}: no record {name}"))
    }
}

fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Sectors of 512 bytes needed for `n` bytes.
pub fn sectors(n: usize) -> usize {
    n.div_ceil(512)
}

/// Partition images behind a GPT, one freebsd-ufs partition each: the first at sector 40, each
/// next one 8 sectors after the end of the one before.
pub fn gpt_disk(parts: &[&[u8]]) -> Vec<u8> {
    let mut starts = Vec::new();
    let mut at = 40usize;
    for p in parts {
        starts.push(at);
        at += sectors(p.len()) + 8;
    }
    let mut d = vec![0u8; (at + 32) * 512];
    d[446 + 4] = 0xee;
    d[510] = 0x55;
    d[511] = 0xaa;
    d[512..520].copy_from_slice(b"EFI PART");
    put32(&mut d, 512 + 8, 0x0001_0000);
    put32(&mut d, 512 + 12, 92);
    put64(&mut d, 512 + 24, 1);
    put64(&mut d, 512 + 72, 2);
    put32(&mut d, 512 + 80, 128);
    put32(&mut d, 512 + 84, 128);
    let ufs = [
        0xb6, 0x7c, 0x6e, 0x51, 0xcf, 0x6e, 0xd6, 0x11, 0x8f, 0xf8, 0x00, 0x02, 0x2d, 0x09, 0x71,
        0x2b,
    ];
    for (i, (part, start)) in parts.iter().zip(starts).enumerate() {
        let e = 1024 + 128 * i;
        d[e..e + 16].copy_from_slice(&ufs);
        put64(&mut d, e + 32, start as u64);
        put64(&mut d, e + 40, (start + sectors(part.len()) - 1) as u64);
        d[start * 512..][..part.len()].copy_from_slice(part);
    }
    d
}

/// A whole disk as `dd if=/dev/da0` gives it: an MBR with one FreeBSD slice holding a BSD
/// label with the flash (`a`) and var (`e`) partitions.
pub fn mbr_disk(flash: &[u8], var: &[u8]) -> Vec<u8> {
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
