//! On-disk inodes (UFS2 `ufs2_dinode`, UFS1 `ufs1_dinode`): the fields sporen needs, parsed
//! from bytes without trusting any of them (sizes and block pointers are checked where used).

use super::superblock::NDADDR;
use crate::input::EntryKind;

/// Room for a short symbolic link target inside the inode (the block pointers' bytes).
const INLINE_MAX: usize = 120;

/// The parts of an inode sporen needs.
#[derive(Clone, Debug)]
pub(crate) struct Inode {
    /// Its number, for errors that name it.
    pub(crate) ino: u64,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) size: u64,
    pub(crate) mtime: i64,
    pub(crate) btime: Option<i64>,
    /// Access time (`di_atime`).
    pub(crate) atime: i64,
    /// Inode change time (`di_ctime`).
    pub(crate) ctime: i64,
    /// Allocated storage in 512-byte sectors.
    pub(crate) blocks: u64,
    pub(crate) db: [u64; NDADDR as usize],
    pub(crate) ib: [u64; 3],
    inline: [u8; INLINE_MAX],
    inline_len: usize,
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn le64(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

impl Inode {
    /// Parses inode `ino` from its 256 (UFS2) or 128 (UFS1) bytes.
    pub fn parse(b: &[u8], ufs2: bool, ino: u64) -> Inode {
        let mode = u32::from(u16::from_le_bytes([b[0], b[1]]));
        let mut db = [0u64; NDADDR as usize];
        let mut inline = [0u8; INLINE_MAX];
        if ufs2 {
            for (i, d) in db.iter_mut().enumerate() {
                *d = le64(b, 112 + 8 * i);
            }
            inline.copy_from_slice(&b[112..232]);
            Inode {
                ino,
                mode,
                uid: le32(b, 4),
                gid: le32(b, 8),
                size: le64(b, 16),
                blocks: le64(b, 24),
                mtime: le64(b, 40) as i64,
                btime: Some(le64(b, 56) as i64),
                atime: le64(b, 32) as i64,
                ctime: le64(b, 48) as i64,
                db,
                ib: [le64(b, 208), le64(b, 216), le64(b, 224)],
                inline,
                inline_len: 120,
            }
        } else {
            for (i, d) in db.iter_mut().enumerate() {
                *d = u64::from(le32(b, 40 + 4 * i));
            }
            inline[..60].copy_from_slice(&b[40..100]);
            Inode {
                ino,
                mode,
                uid: le32(b, 112),
                gid: le32(b, 116),
                size: le64(b, 8),
                blocks: u64::from(le32(b, 104)),
                mtime: i64::from(le32(b, 24) as i32),
                btime: None,
                atime: i64::from(le32(b, 16) as i32),
                ctime: i64::from(le32(b, 32) as i32),
                db,
                ib: [
                    u64::from(le32(b, 88)),
                    u64::from(le32(b, 92)),
                    u64::from(le32(b, 96)),
                ],
                inline,
                inline_len: 60,
            }
        }
    }

    /// What the mode's file type bits say it is.
    pub(crate) fn kind(&self) -> EntryKind {
        match self.mode & 0o170_000 {
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

    /// True when the mode has no file type: the inode is free.
    pub(crate) fn is_free(&self) -> bool {
        self.mode & 0o170_000 == 0
    }

    /// A short symbolic link target kept in the inode itself, when it is one.
    pub(crate) fn inline_target(&self) -> Option<&[u8]> {
        let len = usize::try_from(self.size).ok()?;
        (self.blocks == 0 && len <= self.inline_len).then(|| &self.inline[..len])
    }
}
