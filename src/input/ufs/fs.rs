//! One UFS filesystem inside an image: inodes, block maps and file bytes.
//!
//! Every address comes from the evidence, so every one is checked before it is used: inode
//! numbers against the inode tables, block addresses against the filesystem's size and its
//! metadata, byte offsets with checked arithmetic against what the image holds. A check that
//! fails is an error naming the inode and the block; it never wraps to other bytes.

use super::device::{ReadAt, read_exact_at};
use super::error::UfsError;
use super::inode::Inode;
use super::superblock::{self, Geometry, NDADDR, SB_READ, SBLOCK_SEARCH};
use std::sync::Arc;

/// One UFS filesystem inside an image.
pub(crate) struct Ufs {
    dev: Arc<dyn ReadAt>,
    /// Byte offset of the filesystem in the image.
    base: u64,
    /// Bytes readable from `base`: the partition, or what is left of the image (`None`:
    /// unknown, reads find the end).
    avail: Option<u64>,
    pub(crate) g: Geometry,
}

/// What is at a place where a filesystem may start.
pub(crate) enum Probe {
    Found(Ufs),
    /// A superblock with a UFS magic number that does not add up.
    Damaged(UfsError),
    Nothing,
}

impl Ufs {
    /// Looks for a superblock at FreeBSD's places from `base`. The first consistent one wins;
    /// when only inconsistent ones are found, the first one's reason is given.
    pub fn probe(dev: &Arc<dyn ReadAt>, base: u64, avail: Option<u64>) -> Probe {
        let mut damaged = None;
        for at in SBLOCK_SEARCH {
            let mut b = vec![0u8; SB_READ];
            let Some(off) = base.checked_add(at) else {
                continue;
            };
            if avail.is_some_and(|a| at.saturating_add(SB_READ as u64) > a)
                || read_exact_at(dev.as_ref(), &mut b, off).is_err()
            {
                continue;
            }
            match superblock::parse(&b, at) {
                Some(Ok(g)) => {
                    return Probe::Found(Ufs {
                        dev: dev.clone(),
                        base,
                        avail,
                        g,
                    });
                }
                Some(Err(e)) => {
                    damaged.get_or_insert(e);
                }
                None => {}
            }
        }
        damaged.map_or(Probe::Nothing, Probe::Damaged)
    }

    /// Bytes of the filesystem the image does not hold (a truncated copy): `(claimed, held)`.
    pub(crate) fn truncated(&self) -> Option<(u64, u64)> {
        let held = self.avail?;
        (held < self.g.bytes()).then_some((self.g.bytes(), held))
    }

    /// Reads `buf.len()` bytes at byte `off` of the filesystem.
    fn read(&self, off: u64, buf: &mut [u8]) -> Result<(), UfsError> {
        let end = off
            .checked_add(buf.len() as u64)
            .ok_or(UfsError::Offset { at: off })?;
        if let Some(held) = self.avail
            && end > held
        {
            return Err(UfsError::Short {
                at: off,
                len: buf.len(),
                end: held,
            });
        }
        let at = self
            .base
            .checked_add(off)
            .ok_or(UfsError::Offset { at: off })?;
        read_exact_at(self.dev.as_ref(), buf, at)
    }

    /// Reads inode `ino`.
    pub(crate) fn inode(&self, ino: u64) -> Result<Inode, UfsError> {
        let g = &self.g;
        if ino >= g.inodes() {
            return Err(UfsError::InodeRange {
                ino,
                max: g.inodes(),
            });
        }
        let (cg, idx) = (ino / g.ipg, ino % g.ipg);
        let isize = g.inode_size();
        // The inode table must lie inside its group and the filesystem (a UFS1 rotation or a
        // short last group could put it outside).
        let table = g.cg_start(cg).and_then(|s| s.checked_add(g.iblkno));
        let table_end = table.and_then(|t| t.checked_add(g.itable));
        let group_end = g.fpg.saturating_mul(cg + 1).min(g.frags);
        let Some(table) = table.filter(|_| table_end.is_some_and(|e| e <= group_end)) else {
            return Err(UfsError::Table { ino, cg });
        };
        // Inside the filesystem (at most 1 PiB): these sums and products fit.
        let off = (table + idx / g.inopb * g.frag) * g.fsize + idx % g.inopb * isize;
        let mut b = vec![0u8; isize as usize];
        self.read(off, &mut b).map_err(|e| UfsError::Inode {
            ino,
            err: Box::new(e),
        })?;
        Ok(Inode::parse(&b, g.ufs2, ino))
    }

    /// Checks that `frags` fragments from `addr` are data of this filesystem: inside it, within
    /// one block, and not the superblock copy, group header or inode table of their group.
    fn check_range(&self, ino: &Inode, lbn: u64, addr: u64, frags: u64) -> Result<(), UfsError> {
        let g = &self.g;
        let bad = |why: String| UfsError::Block {
            ino: ino.ino,
            lbn,
            addr,
            why,
        };
        let end = addr.checked_add(frags).filter(|&e| e <= g.frags);
        let Some(end) = end else {
            return Err(bad(format!(
                "lies outside the filesystem ({} fragments)",
                g.frags
            )));
        };
        if addr % g.frag + frags > g.frag {
            return Err(bad("crosses a block boundary".to_owned()));
        }
        let cg = addr / g.fpg;
        // Group 0 starts with the boot area and the primary superblock: never file data.
        let start = g.cg_start(cg).unwrap_or(u64::MAX);
        let meta = if cg == 0 {
            0
        } else {
            start.saturating_add(g.sblkno)
        };
        let meta_end = start.saturating_add(g.iblkno + g.itable);
        if addr < meta_end && end > meta {
            return Err(bad(format!("lies in the metadata of cylinder group {cg}")));
        }
        Ok(())
    }

    /// Fragment address of logical block `lbn` of a file (0 for a hole), every pointer on the
    /// way checked.
    pub(crate) fn block_addr(&self, ino: &Inode, lbn: u64) -> Result<u64, UfsError> {
        if lbn < NDADDR {
            return Ok(ino.db[lbn as usize]);
        }
        let n = self.g.nindir;
        let mut rest = lbn - NDADDR;
        // Blocks under the indirect block of each level: n, n², n³.
        let mut span = n;
        for &top in &ino.ib {
            if rest < span {
                let mut addr = top;
                let mut per_pointer = span / n;
                loop {
                    if addr == 0 {
                        return Ok(0);
                    }
                    self.check_range(ino, lbn, addr, self.g.frag)?;
                    addr = self.pointer(ino, lbn, addr, rest / per_pointer % n)?;
                    if per_pointer == 1 {
                        return Ok(addr);
                    }
                    per_pointer /= n;
                }
            }
            rest -= span;
            span = span.saturating_mul(n);
        }
        Err(UfsError::Lbn { ino: ino.ino, lbn })
    }

    /// Pointer `idx` of indirect block `block` (checked by the caller).
    fn pointer(&self, ino: &Inode, lbn: u64, block: u64, idx: u64) -> Result<u64, UfsError> {
        let w: u64 = if self.g.ufs2 { 8 } else { 4 };
        // block < frags and idx < nindir: both products fit (the filesystem is at most 1 PiB).
        let off = block * self.g.fsize + idx * w;
        let mut b = [0u8; 8];
        self.read(off, &mut b[..w as usize])
            .map_err(|e| UfsError::Read {
                ino: ino.ino,
                lbn,
                err: Box::new(e),
            })?;
        Ok(if self.g.ufs2 {
            u64::from_le_bytes(b)
        } else {
            u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        })
    }

    /// Fails for a size no file of this filesystem can have.
    pub(crate) fn check_size(&self, ino: &Inode) -> Result<(), UfsError> {
        if ino.size > self.g.max_file {
            return Err(UfsError::Size {
                ino: ino.ino,
                size: ino.size,
                max: self.g.max_file,
            });
        }
        Ok(())
    }

    /// Reads file bytes at `pos`, at most to the end of the block; 0 at the end of the file.
    /// Holes read as zeros.
    pub(crate) fn read_at(&self, ino: &Inode, pos: u64, buf: &mut [u8]) -> Result<usize, UfsError> {
        self.check_size(ino)?;
        if pos >= ino.size || buf.is_empty() {
            return Ok(0);
        }
        let (bsize, fsize) = (self.g.bsize, self.g.fsize);
        let (lbn, within) = (pos / bsize, pos % bsize);
        let n = (buf.len() as u64).min(bsize - within).min(ino.size - pos);
        let buf = &mut buf[..n as usize];
        let addr = self.block_addr(ino, lbn)?;
        if addr == 0 {
            buf.fill(0);
            return Ok(buf.len());
        }
        self.check_range(ino, lbn, addr, (within + n).div_ceil(fsize))?;
        // Checked above: addr lies in the filesystem, so the product fits.
        self.read(addr * fsize + within, buf)
            .map_err(|e| UfsError::Read {
                ino: ino.ino,
                lbn,
                err: Box::new(e),
            })?;
        Ok(buf.len())
    }

    /// Block `lbn` of a directory: its fragment address (0 for a hole) and bytes.
    pub(crate) fn dir_block(&self, ino: &Inode, lbn: u64) -> Result<(u64, Vec<u8>), UfsError> {
        let start = lbn.saturating_mul(self.g.bsize);
        let len = ino.size.saturating_sub(start).min(self.g.bsize);
        let addr = self.block_addr(ino, lbn)?;
        let mut data = vec![0u8; len as usize];
        if addr != 0 {
            let mut done = 0;
            while done < data.len() {
                let n = self.read_at(ino, start + done as u64, &mut data[done..])?;
                if n == 0 {
                    break;
                }
                done += n;
            }
        }
        Ok((addr, data))
    }

    /// Target of a symbolic link of at most `max` bytes (the caller checks the size).
    pub(crate) fn link_target(&self, ino: &Inode) -> Result<Vec<u8>, UfsError> {
        if let Some(t) = ino.inline_target() {
            return Ok(t.to_vec());
        }
        let mut out = vec![0u8; usize::try_from(ino.size).unwrap_or(0)];
        let mut done = 0;
        while done < out.len() {
            let n = self.read_at(ino, done as u64, &mut out[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(out)
    }
}
