//! Why part of an image could not be read. Each error names the inode (and the block) it is
//! about, so that the gap it becomes points an examiner at the damage.

use std::fmt;
use std::io;

/// Something in an image that cannot be read as it claims to be.
#[derive(Debug)]
pub enum UfsError {
    /// The image (or partition) ends before the bytes wanted.
    Short { at: u64, len: usize, end: u64 },
    /// An offset that does not fit in 64 bits.
    Offset { at: u64 },
    /// The host could not read the image.
    Io { at: u64, err: io::Error },
    /// A superblock with a magic number whose geometry does not add up.
    Superblock { at: u64, ufs2: bool, why: String },
    /// An inode number beyond the filesystem's inode tables.
    InodeRange { ino: u64, max: u64 },
    /// An inode table that lies outside its cylinder group or the filesystem.
    Table { ino: u64, cg: u64 },
    /// Reading an inode failed.
    Inode { ino: u64, err: Box<UfsError> },
    /// A block address that is outside the filesystem or inside its metadata.
    Block {
        ino: u64,
        lbn: u64,
        addr: u64,
        why: String,
    },
    /// Logical block number beyond what triple indirection addresses.
    Lbn { ino: u64, lbn: u64 },
    /// A size larger than any file this filesystem can address.
    Size { ino: u64, size: u64, max: u64 },
    /// Reading a block failed.
    Read {
        ino: u64,
        lbn: u64,
        err: Box<UfsError>,
    },
}

impl fmt::Display for UfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UfsError::Short { at, len, end } => write!(
                f,
                "the image ends at byte {end} ({len} bytes wanted at byte {at})"
            ),
            UfsError::Offset { at } => write!(f, "offset past 64 bits from byte {at}"),
            UfsError::Io { at, err } => write!(f, "read error at byte {at}: {err}"),
            UfsError::Superblock { at, ufs2, why } => write!(
                f,
                "{} superblock at byte {at} is inconsistent: {why}",
                if *ufs2 { "UFS2" } else { "UFS1" }
            ),
            UfsError::InodeRange { ino, max } => {
                write!(f, "inode {ino} is beyond the filesystem's {max} inodes")
            }
            UfsError::Table { ino, cg } => write!(
                f,
                "inode {ino}: the inode table of cylinder group {cg} lies outside the filesystem"
            ),
            UfsError::Inode { ino, err } => write!(f, "inode {ino} cannot be read: {err}"),
            UfsError::Block {
                ino,
                lbn,
                addr,
                why,
            } => write!(f, "inode {ino}: block {lbn} at fragment {addr} {why}"),
            UfsError::Lbn { ino, lbn } => {
                write!(f, "inode {ino}: block {lbn} is beyond triple indirection")
            }
            UfsError::Size { ino, size, max } => write!(
                f,
                "inode {ino}: size {size} is larger than any file this filesystem can address ({max} bytes)"
            ),
            UfsError::Read { ino, lbn, err } => write!(f, "inode {ino}: block {lbn}: {err}"),
        }
    }
}

impl std::error::Error for UfsError {}

impl From<UfsError> for io::Error {
    fn from(e: UfsError) -> io::Error {
        let kind = match &e {
            UfsError::Short { .. } => io::ErrorKind::UnexpectedEof,
            UfsError::Io { err, .. } => err.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}
