//! Partition tables of a raw disk image: an MBR whose FreeBSD slices hold BSD labels, or a GPT.
//! Finds the regions that should hold a UFS filesystem.
//!
//! Every offset, size and count in a table is attacker-controlled: each is checked against the
//! image (checked arithmetic, bounded counts and entry sizes) before anything is read or
//! allocated, and whatever is wrong with a table is reported as a problem, never a panic and
//! never a silent drop.

use crate::input::ufs::{ReadAt, read_exact_at};

const SECTOR: u64 = 512;
/// Partitions a BSD label can describe (FreeBSD's `MAXPARTITIONS`).
const BSD_MAX_PARTITIONS: usize = 20;
const BSD_MAGIC: u32 = 0x8256_4557;
/// `FS_BSDFFS` in a BSD label.
const BSD_FFS: u8 = 7;
/// GPT entries read at most.
const GPT_MAX_ENTRIES: u32 = 4096;
const GPT_MAX_ENTRY_SIZE: u32 = 4096;
/// `freebsd-ufs`, 516e7cb6-6ecf-11d6-8ff8-00022d09712b, as stored.
const GPT_FREEBSD_UFS: [u8; 16] = [
    0xb6, 0x7c, 0x6e, 0x51, 0xcf, 0x6e, 0xd6, 0x11, 0x8f, 0xf8, 0x00, 0x02, 0x2d, 0x09, 0x71, 0x2b,
];

/// A part of the image that should hold a UFS filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    /// Byte offset in the image.
    pub(crate) offset: u64,
    /// Bytes the table gives it, cut to what the image holds (`None`: the image size is unknown).
    pub(crate) len: Option<u64>,
    /// For the report: `slice 1 partition e`, `GPT partition 2`.
    pub(crate) what: String,
}

/// What a partition table holds, and what is wrong with it.
#[derive(Debug, Default)]
pub struct Table {
    pub(crate) regions: Vec<Region>,
    /// Damage that may hide a filesystem: each becomes a gap that blocks `clean` (or the
    /// error, when no filesystem is found at all).
    pub(crate) problems: Vec<String>,
    /// Oddities that hide nothing.
    pub(crate) notes: Vec<String>,
}

fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn le64(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// Reads the partition table of an image whose first byte is at `at` (after a CLI banner).
/// `None` when there is no MBR with a FreeBSD slice or a GPT: not a partitioned disk.
pub fn read_table(dev: &dyn ReadAt, at: u64, size: Option<u64>) -> Option<Table> {
    let mut mbr = [0u8; 512];
    read_exact_at(dev, &mut mbr, at).ok()?;
    if mbr[510..] != [0x55, 0xaa] {
        return None;
    }
    let mut t = Table::default();
    let mut ours = false;
    let mut gpt_done = false;
    for n in 1..=4 {
        let e = &mbr[446 + 16 * (n - 1)..446 + 16 * n];
        let (start, sectors) = (u64::from(le32(e, 8)), u64::from(le32(e, 12)));
        match e[4] {
            0xa5 => {
                ours = true;
                slice(dev, at, size, n, start, sectors, &mut t);
            }
            // A hybrid MBR may list the protective entry more than once.
            0xee if !gpt_done => {
                ours = true;
                gpt_done = true;
                gpt(dev, at, size, &mut t);
            }
            _ => {}
        }
    }
    ours.then_some(t)
}

/// Cuts a region to what the image holds; a region that starts past the end is a problem.
fn push_region(
    t: &mut Table,
    size: Option<u64>,
    offset: Option<u64>,
    len: Option<u64>,
    what: String,
) {
    let (Some(offset), Some(len)) = (offset, len) else {
        t.problems
            .push(format!("{what}: its position does not fit in 64 bits"));
        return;
    };
    let Some(size) = size else {
        t.regions.push(Region {
            offset,
            len: Some(len),
            what,
        });
        return;
    };
    if offset >= size {
        t.problems.push(format!(
            "{what} starts at byte {offset}, beyond the end of the image ({size} bytes)"
        ));
        return;
    }
    let held = size - offset;
    if len > held {
        t.problems.push(format!(
            "{what} runs beyond the end of the image: {len} bytes, {held} present"
        ));
    }
    t.regions.push(Region {
        offset,
        len: Some(len.min(held)),
        what,
    });
}

/// A FreeBSD slice: a BSD label in its second sector, or a filesystem of its own.
fn slice(
    dev: &dyn ReadAt,
    at: u64,
    size: Option<u64>,
    n: usize,
    start: u64,
    sectors: u64,
    t: &mut Table,
) {
    let offset = start.checked_mul(SECTOR).and_then(|b| b.checked_add(at));
    let mut label = [0u8; 512];
    let found = offset
        .and_then(|o| o.checked_add(SECTOR))
        .is_some_and(|o| read_exact_at(dev, &mut label, o).is_ok())
        && le32(&label, 0) == BSD_MAGIC;
    if !found {
        push_region(
            t,
            size,
            offset,
            sectors.checked_mul(SECTOR),
            format!("slice {n}"),
        );
        return;
    }
    let claimed = usize::from(le16(&label, 138));
    if claimed > BSD_MAX_PARTITIONS {
        t.notes.push(format!(
            "slice {n}: the BSD label claims {claimed} partitions; the {BSD_MAX_PARTITIONS} a label holds were read"
        ));
    }
    let parts = claimed.min(BSD_MAX_PARTITIONS);
    let entry = |i: usize| {
        let o = 148 + 16 * i;
        (
            u64::from(le32(&label, o)),
            u64::from(le32(&label, o + 4)),
            label[o + 12],
        )
    };
    // Offsets are absolute in old labels and relative to the slice in newer ones: the raw
    // partition `c`, which covers the slice, tells which.
    let raw = if parts > 2 { entry(2).1 } else { 0 };
    for i in 0..parts {
        let (psize, poffset, fstype) = entry(i);
        if fstype != BSD_FFS || psize == 0 {
            continue;
        }
        let what = format!("slice {n} partition {}", char::from(b'a' + i as u8));
        let Some(rel) = poffset.checked_sub(raw) else {
            t.problems.push(format!(
                "{what} starts at sector {poffset}, before its slice"
            ));
            continue;
        };
        if rel.saturating_add(psize) > sectors {
            t.problems.push(format!(
                "{what} (sectors {rel} to {}) runs past the end of its slice ({sectors} sectors)",
                rel.saturating_add(psize)
            ));
        }
        let off = start
            .checked_add(rel)
            .and_then(|s| s.checked_mul(SECTOR))
            .and_then(|b| b.checked_add(at));
        push_region(t, size, off, psize.checked_mul(SECTOR), what);
    }
}

/// The GPT header in sector 1 and its partition entries.
fn gpt(dev: &dyn ReadAt, at: u64, size: Option<u64>, t: &mut Table) {
    let mut h = [0u8; 512];
    if read_exact_at(dev, &mut h, at.saturating_add(SECTOR)).is_err() || &h[..8] != b"EFI PART" {
        t.problems
            .push("the MBR announces a GPT but sector 1 holds no GPT header".to_owned());
        return;
    }
    let (lba, count, esize) = (le64(&h, 72), le32(&h, 80), le32(&h, 84));
    if esize < 128 || esize % 8 != 0 || esize > GPT_MAX_ENTRY_SIZE {
        t.problems.push(format!(
            "GPT header: partition entry size {esize} (must be a multiple of 8 from 128 to {GPT_MAX_ENTRY_SIZE})"
        ));
        return;
    }
    if count > GPT_MAX_ENTRIES {
        t.problems.push(format!(
            "GPT header: {count} partition entries (at most {GPT_MAX_ENTRIES})"
        ));
        return;
    }
    if lba < 2 {
        t.problems.push(format!(
            "GPT header: partition entries at sector {lba} overlap the header"
        ));
        return;
    }
    let start = lba.checked_mul(SECTOR).and_then(|b| b.checked_add(at));
    let array = u64::from(count) * u64::from(esize);
    let Some(start) = start.filter(|s| {
        s.checked_add(array)
            .is_some_and(|end| size.is_none_or(|size| end <= size))
    }) else {
        t.problems.push(format!(
            "GPT header: partition entries at sector {lba} lie beyond the end of the image"
        ));
        return;
    };
    let mut e = vec![0u8; esize as usize];
    for i in 0..u64::from(count) {
        let off = start + i * u64::from(esize);
        if let Err(err) = read_exact_at(dev, &mut e, off) {
            t.problems.push(format!(
                "GPT partition entry {} cannot be read: {err}",
                i + 1
            ));
            return;
        }
        if e[..16] != GPT_FREEBSD_UFS {
            continue;
        }
        let what = format!("GPT partition {}", i + 1);
        let (first, last) = (le64(&e, 32), le64(&e, 40));
        if first > last || first < 2 {
            t.problems.push(format!(
                "{what}: sectors {first} to {last} are not a partition"
            ));
            continue;
        }
        let offset = first.checked_mul(SECTOR).and_then(|b| b.checked_add(at));
        // A length past 64 bits is cut to the image like any other that runs past its end.
        let len = (last - first)
            .checked_add(1)
            .and_then(|s| s.checked_mul(SECTOR))
            .unwrap_or(u64::MAX);
        push_region(t, size, offset, Some(len), what);
    }
}
