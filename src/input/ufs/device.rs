//! The bytes of an image: positioned reads only (never mmap, never a write), at offsets that
//! are checked before they are added.

use super::error::UfsError;
use std::io;

/// Random-access, read-only bytes of an image.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `off`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize>;

    /// The image's length in bytes, when known: a filesystem or partition that claims more is
    /// a truncated copy, reported as such.
    fn size(&self) -> Option<u64> {
        None
    }
}

impl ReadAt for std::fs::File {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, off)
    }

    fn size(&self) -> Option<u64> {
        // A device node reports 0: its size is not known this way.
        self.metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        let start = usize::try_from(off).unwrap_or(usize::MAX).min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }

    fn size(&self) -> Option<u64> {
        u64::try_from(self.len()).ok()
    }
}

/// Fills `buf` from `off`; an image that ends first is an error naming where.
pub fn read_exact_at(dev: &dyn ReadAt, buf: &mut [u8], off: u64) -> Result<(), UfsError> {
    let mut done = 0;
    while done < buf.len() {
        let at = off
            .checked_add(done as u64)
            .ok_or(UfsError::Offset { at: off })?;
        match dev.read_at(&mut buf[done..], at) {
            Ok(0) => {
                return Err(UfsError::Short {
                    at: off,
                    len: buf.len(),
                    end: at,
                });
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(UfsError::Io { at, err: e }),
        }
    }
    Ok(())
}
