//! The UFS superblock: the filesystem's geometry. Every field the reader computes addresses
//! from is checked here against the others (FreeBSD's `ffs_sbget` checks in spirit), so that a
//! superblock that does not add up is refused with the reason, never used.

use super::error::UfsError;

const UFS1_MAGIC: u32 = 0x0001_1954;
const UFS2_MAGIC: u32 = 0x1954_0119;
/// Where FreeBSD looks for a superblock, in its order (UFS2, UFS1, floppy, piggy).
pub(crate) const SBLOCK_SEARCH: [u64; 4] = [65_536, 8_192, 0, 262_144];
/// Bytes of a superblock read: the fields used end with the magic number at 1372.
pub(crate) const SB_READ: usize = 1376;
/// Direct block pointers in an inode.
pub(crate) const NDADDR: u64 = 12;
/// Largest filesystem accepted: 1 PiB (an appliance disk holds tens of GB).
const MAX_FS_BYTES: u64 = 1 << 50;
/// Inode numbers are 32 bits in directory records.
const MAX_INODES: u64 = 1 << 32;
/// FreeBSD's MAXFRAG.
const MAX_FRAG: u64 = 8;

/// The geometry of one filesystem, consistent by construction (see [`parse`]).
#[derive(Clone, Debug)]
pub(crate) struct Geometry {
    pub(crate) ufs2: bool,
    pub(crate) bsize: u64,
    pub(crate) fsize: u64,
    /// Fragments per block.
    pub(crate) frag: u64,
    /// Per cylinder group, in fragments from the group's start: superblock copy, inode table.
    pub(crate) sblkno: u64,
    pub(crate) iblkno: u64,
    /// Inodes per group, fragments per group, groups.
    pub(crate) ipg: u64,
    pub(crate) fpg: u64,
    pub(crate) ncg: u64,
    pub(crate) inopb: u64,
    /// UFS1 only: where each group's metadata starts (a rotation of old disks).
    pub(crate) cgoffset: u64,
    pub(crate) cgmask: u64,
    /// Fragments in the filesystem.
    pub(crate) frags: u64,
    /// Block pointers per indirect block.
    pub(crate) nindir: u64,
    /// Fragments of one group's inode table.
    pub(crate) itable: u64,
    /// Largest file size the block pointers address.
    pub(crate) max_file: u64,
}

impl Geometry {
    /// Bytes of an on-disk inode.
    pub(crate) fn inode_size(&self) -> u64 {
        if self.ufs2 { 256 } else { 128 }
    }

    /// Bytes of the filesystem (at most 1 PiB, so this never overflows).
    pub(crate) fn bytes(&self) -> u64 {
        self.frags * self.fsize
    }

    /// Inode numbers in use run below this (at most 2^32).
    pub(crate) fn inodes(&self) -> u64 {
        self.ncg * self.ipg
    }

    /// First fragment of group `cg`'s metadata (`cgstart`), if it fits in 64 bits.
    pub(crate) fn cg_start(&self, cg: u64) -> Option<u64> {
        let base = self.fpg.checked_mul(cg)?;
        if self.ufs2 {
            return Some(base);
        }
        self.cgoffset
            .checked_mul(cg & !self.cgmask)
            .and_then(|r| base.checked_add(r))
    }
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn le64(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// Parses the [`SB_READ`] bytes read at byte `at` of a filesystem: `None` without a UFS magic
/// number, an error naming the first field that does not add up otherwise.
pub fn parse(b: &[u8], at: u64) -> Option<Result<Geometry, UfsError>> {
    let ufs2 = match le32(b, 1372) {
        UFS2_MAGIC => true,
        UFS1_MAGIC => false,
        _ => return None,
    };
    let why = |why: String| UfsError::Superblock { at, ufs2, why };
    let g = |o: usize| u64::from(le32(b, o));
    let mut fs = Geometry {
        ufs2,
        sblkno: g(8),
        iblkno: g(16),
        cgoffset: g(24),
        cgmask: g(28),
        ncg: g(44),
        bsize: g(48),
        fsize: g(52),
        frag: g(56),
        inopb: g(120),
        ipg: g(184),
        fpg: g(188),
        frags: 0,
        nindir: 0,
        itable: 0,
        max_file: 0,
    };
    // FreeBSD records a UFS2 superblock's own place; a copy found elsewhere is not the primary.
    let recorded = le64(b, 1000);
    if ufs2 && recorded != 0 && recorded != at {
        return Some(Err(why(format!("it records its place as byte {recorded}"))));
    }
    // UFS2 keeps the size in 64 bits; UFS1 in the old 32-bit field.
    let size = if ufs2 { le64(b, 1080) } else { g(36) };
    Some(
        check_blocks(&mut fs)
            .and_then(|()| check_groups(&mut fs, size))
            .map_err(why)
            .map(|()| fs),
    )
}

/// Block, fragment and inode sizes.
fn check_blocks(fs: &mut Geometry) -> Result<(), String> {
    if !fs.bsize.is_power_of_two() || !(4096..=65_536).contains(&fs.bsize) {
        return Err(format!(
            "block size {} (must be a power of two from 4096 to 65536)",
            fs.bsize
        ));
    }
    if !fs.fsize.is_power_of_two() || fs.fsize < 512 || fs.fsize > fs.bsize {
        return Err(format!(
            "fragment size {} (must be a power of two from 512 to the block size {})",
            fs.fsize, fs.bsize
        ));
    }
    let frag = fs.bsize / fs.fsize;
    if fs.frag != frag || frag > MAX_FRAG {
        return Err(format!(
            "fragments per block {}, expected {frag} (block size / fragment size, at most {MAX_FRAG})",
            fs.frag
        ));
    }
    let per_block = fs.bsize / fs.inode_size();
    if fs.inopb != per_block {
        return Err(format!(
            "inodes per block {}, expected {per_block} (block size {} / inode size {})",
            fs.inopb,
            fs.bsize,
            fs.inode_size()
        ));
    }
    fs.nindir = fs.bsize / if fs.ufs2 { 8 } else { 4 };
    let n = fs.nindir;
    // bsize × (NDADDR + n + n² + n³): at most 2^16 × 2^40, no overflow.
    fs.max_file = fs.bsize * (NDADDR + n + n * n + n * n * n);
    Ok(())
}

/// Cylinder groups, the inode table within each, and the size they add up to.
fn check_groups(fs: &mut Geometry, size: u64) -> Result<(), String> {
    if fs.ipg == 0 || !fs.ipg.is_multiple_of(fs.inopb) {
        return Err(format!(
            "inodes per group {} (must be a non-zero multiple of the {} inodes per block)",
            fs.ipg, fs.inopb
        ));
    }
    if fs.fpg == 0 || !fs.fpg.is_multiple_of(fs.frag) {
        return Err(format!(
            "fragments per group {} (must be a non-zero multiple of the {} fragments per block)",
            fs.fpg, fs.frag
        ));
    }
    fs.itable = fs.ipg / fs.inopb * fs.frag;
    let table_end = fs.iblkno.checked_add(fs.itable);
    if fs.sblkno > fs.iblkno || table_end.is_none_or(|e| e > fs.fpg) {
        return Err(format!(
            "inode table at fragment {} ({} fragments, superblock copy at {}) does not fit a cylinder group of {} fragments",
            fs.iblkno, fs.itable, fs.sblkno, fs.fpg
        ));
    }
    if !fs.ufs2 && fs.cgoffset >= fs.fpg {
        return Err(format!(
            "cylinder group offset {} is larger than a group of {} fragments",
            fs.cgoffset, fs.fpg
        ));
    }
    if fs.ncg == 0 {
        return Err("0 cylinder groups".to_owned());
    }
    let whole = fs
        .ncg
        .checked_mul(fs.fpg)
        .filter(|&f| f.checked_mul(fs.fsize).is_some_and(|b| b <= MAX_FS_BYTES));
    let Some(whole) = whole else {
        return Err(format!(
            "{} cylinder groups of {} fragments per group are larger than 1 PiB",
            fs.ncg, fs.fpg
        ));
    };
    // The last group may be short: the size lies within it. Zero means not recorded.
    fs.frags = if size == 0 { whole } else { size };
    if fs.frags > whole || fs.frags <= whole - fs.fpg {
        return Err(format!(
            "{} fragments do not fit {} cylinder groups of {} fragments per group",
            fs.frags, fs.ncg, fs.fpg
        ));
    }
    if fs.inodes() > MAX_INODES {
        return Err(format!(
            "{} cylinder groups of {} inodes per group: more than 2^32 inodes",
            fs.ncg, fs.ipg
        ));
    }
    Ok(())
}
