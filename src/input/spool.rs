//! A private temporary file holding a decompressed or streamed input (`.tar.gz`, `.gz` image,
//! standard input, the SSH stream), so that it is read afterwards like a file on disk, with
//! positioned reads. The spool lives in `--temp-dir` (never inside the evidence), has no name
//! (`O_TMPFILE`, or a random name unlinked at once), mode 0600, and disappears with the
//! process. Blocks of zeros become holes, so a zero-filled bomb costs no disk. It never holds
//! more than `--max-unpacked` bytes and never writes anywhere else. A tar archive in it can be
//! indexed as the bytes arrive, so that a stream that goes on after its archive ended is cut
//! there.

use super::tar::Growing;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

/// Default `--max-unpacked`: above the 20-40 GB of a real VPX disk image.
pub(crate) const DEFAULT_MAX_UNPACKED: u64 = 64 << 30;

/// Granularity of the hole check: a filesystem block.
const HOLE: usize = 4096;

/// How much may follow a tar archive's end marker before the copy is cut there: tar pads its
/// output to whole records (10 KiB by default), nothing real comes near this.
const AFTER_END: u64 = 1 << 20;

/// Why the copy into the spool ended before its source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `--max-unpacked` was reached.
    Budget(u64),
    /// Reading or decompressing failed after this many bytes.
    Failed(u64, String),
    /// The tar archive ended at `end`, and the input went on past `read` bytes.
    AfterArchive { end: u64, read: u64 },
    /// A stream whose first bytes hold no tar archive.
    NotTar,
}

impl Stop {
    /// The sentence the report's gap carries.
    pub(crate) fn detail(&self) -> String {
        match self {
            Stop::Budget(n) => format!(
                "sporen stopped unpacking after {n} bytes (--max-unpacked): the rest of the input was not read"
            ),
            Stop::Failed(n, e) => {
                format!(
                    "the input is damaged after {n} unpacked bytes and was not read further: {e}"
                )
            }
            Stop::AfterArchive { end, read } => format!(
                "the input goes on after the end of the tar archive at byte {end}: sporen stopped reading after {read} bytes (tar ignores what follows the end marker)"
            ),
            Stop::NotTar => "no tar archive (no ustar header) in the first 64 KiB".to_owned(),
        }
    }
}

/// A spool being written.
pub(crate) struct Spool {
    file: Arc<File>,
    len: u64,
    max: u64,
    stop: Option<Stop>,
    tar: Option<Growing>,
    /// A stream: stop at once when it turns out not to hold a tar.
    stream: bool,
}

/// A spool written to the end (or to where it stopped).
pub(crate) struct Filled {
    pub(crate) file: Arc<File>,
    pub(crate) len: u64,
    pub(crate) stop: Option<Stop>,
    /// The archive indexed while copying, when the spool was watched for one.
    pub(crate) tar: Option<Growing>,
}

/// Creates an anonymous read-write file in `dir`.
pub(crate) fn create(dir: &Path) -> io::Result<File> {
    let tmpfile = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(crate::util::os::O_TMPFILE | libc::O_CLOEXEC)
        .open(dir);
    match tmpfile {
        Ok(f) => Ok(f),
        // Filesystems without O_TMPFILE: a random name, exclusive, never through a link, gone
        // from the folder before anything is written.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
            ) =>
        {
            named_then_unlinked(dir)
        }
        Err(e) => Err(e),
    }
}

fn named_then_unlinked(dir: &Path) -> io::Result<File> {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..16 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let p = dir.join(format!(".sporen-spool-{:016x}", h.finish()));
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&p);
        match f {
            Ok(f) => {
                std::fs::remove_file(&p)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free name for a spool file"))
}

impl Spool {
    /// A new, empty spool in `dir` that takes at most `max` bytes.
    pub(crate) fn new(dir: &Path, max: u64) -> io::Result<Spool> {
        Ok(Spool {
            file: Arc::new(create(dir)?),
            len: 0,
            max,
            stop: None,
            tar: None,
            stream: false,
        })
    }

    /// Indexes a tar archive as the bytes arrive (at most `max_entries` entries). For a
    /// `stream`, copying stops as soon as the first bytes show there is no archive.
    pub(crate) fn watch_tar(&mut self, max_entries: u64, stream: bool) {
        self.tar = Some(Growing::new(self.file.clone(), max_entries));
        self.stream = stream;
    }

    /// After bytes were added: index them, and say whether copying should go on.
    fn watched(&mut self) -> bool {
        let Some(g) = &mut self.tar else {
            return true;
        };
        g.grown(self.len, false);
        if self.stream && g.not_tar() {
            self.stop = Some(Stop::NotTar);
            return false;
        }
        if let Some(end) = g.end()
            && self.len > end.saturating_add(AFTER_END)
        {
            self.stop = Some(Stop::AfterArchive {
                end,
                read: self.len,
            });
            return false;
        }
        true
    }

    /// Why copying stopped early, if it did.
    pub(crate) fn stop(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// Copies `src` to the end of the spool until it ends, fails, or the budget is reached.
    /// Returns false when copying must not go on (budget or failure). A failure to write the
    /// spool itself (disk full) is an error of the run, not of the evidence.
    pub(crate) fn copy_from(&mut self, src: &mut dyn Read) -> io::Result<bool> {
        if self.stop.is_some() {
            return Ok(false);
        }
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.stop = Some(Stop::Failed(self.len, e.to_string()));
                    return Ok(false);
                }
            };
            let room = usize::try_from(self.max - self.len).unwrap_or(usize::MAX);
            let take = n.min(room);
            self.write(&buf[..take])?;
            if take < n {
                self.stop = Some(Stop::Budget(self.max));
                return Ok(false);
            }
            if !self.watched() {
                return Ok(false);
            }
        }
    }

    /// Records a failure found by the caller (a damaged stream around the copy).
    pub(crate) fn fail(&mut self, why: String) {
        if self.stop.is_none() {
            self.stop = Some(Stop::Failed(self.len, why));
        }
    }

    /// Appends `data`; whole zero blocks are skipped (left as holes).
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let mut hole_at_end = false;
        // Runs of blocks that are not all zeros go out in one write each.
        let mut run: Option<(u64, usize)> = None;
        for (i, chunk) in data.chunks(HOLE).enumerate() {
            hole_at_end = chunk.iter().all(|&b| b == 0);
            let at = i * HOLE;
            match (hole_at_end, run) {
                (false, None) => run = Some((self.len, at)),
                (true, Some((off, from))) => {
                    self.file.write_all_at(&data[from..at], off)?;
                    run = None;
                }
                _ => {}
            }
            self.len += chunk.len() as u64;
        }
        if let Some((off, from)) = run {
            self.file.write_all_at(&data[from..], off)?;
        }
        if hole_at_end {
            // Readers of the growing spool must see the trailing zeros, not its end.
            self.file.set_len(self.len)?;
        }
        Ok(())
    }

    /// Ends writing: the file gets its full length (trailing holes included), and the
    /// archive being indexed sees its last bytes.
    pub(crate) fn finish(mut self) -> io::Result<Filled> {
        self.file.set_len(self.len)?;
        if let Some(g) = &mut self.tar {
            g.grown(self.len, true);
        }
        Ok(Filled {
            file: self.file,
            len: self.len,
            stop: self.stop,
            tar: self.tar,
        })
    }
}

/// What followed the last gzip member, when it was not gzip.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trailing(pub u64);

/// Decompresses every gzip member of `src` into `spool`. Bytes after the last member that are
/// not gzip (the `Done.` the NetScaler CLI prints after `shell dd`) are counted and dropped.
pub(crate) fn gunzip_into(spool: &mut Spool, src: impl Read) -> io::Result<Trailing> {
    let mut r = io::BufReader::with_capacity(256 << 10, src);
    let mut members = 0u64;
    loop {
        let head = match r.fill_buf() {
            Ok(h) => h,
            Err(e) => {
                spool.fail(e.to_string());
                return Ok(Trailing(0));
            }
        };
        if head.is_empty() {
            return Ok(Trailing(0));
        }
        if members > 0 && !head.starts_with(&[0x1f, 0x8b]) {
            return Ok(Trailing(drain(&mut r)));
        }
        let mut d = flate2::bufread::GzDecoder::new(r);
        if !spool.copy_from(&mut d)? {
            return Ok(Trailing(0));
        }
        r = d.into_inner();
        members += 1;
    }
}

/// Reads `r` to its end (or first error), returning the byte count. For trailing bytes of a
/// file, so that the input's digest covers the whole file.
pub(crate) fn drain(r: &mut dyn Read) -> u64 {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return n,
            Ok(k) => n += k as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn zeros_become_holes_and_the_length_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::new(dir.path(), 1 << 30).unwrap();
        let mut data = vec![0u8; 64 << 20];
        data[10] = 1;
        s.copy_from(&mut &data[..]).unwrap();
        let Filled {
            file: f, len, stop, ..
        } = s.finish().unwrap();
        assert_eq!((len, stop), (64 << 20, None));
        assert_eq!(f.metadata().unwrap().len(), 64 << 20);
        // One 4 KiB block written (the kernel counts 512-byte sectors).
        assert!(
            f.metadata().unwrap().blocks() <= 64,
            "{}",
            f.metadata().unwrap().blocks()
        );
        let mut b = [9u8; 16];
        f.read_at(&mut b, 0).unwrap();
        assert_eq!(b[10], 1);
        // Nothing is left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_budget_stops_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::new(dir.path(), 1000).unwrap();
        assert!(!s.copy_from(&mut &[7u8; 5000][..]).unwrap());
        let Filled { len, stop, .. } = s.finish().unwrap();
        assert_eq!((len, stop), (1000, Some(Stop::Budget(1000))));
    }

    #[test]
    fn gzip_members_and_trailing_bytes() {
        let gz = |d: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(d).unwrap();
            e.finish().unwrap()
        };
        let mut input = gz(b"one ");
        input.extend(gz(b"two"));
        input.extend(b"Done.\n");
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::new(dir.path(), 1 << 20).unwrap();
        let t = gunzip_into(&mut s, &input[..]).unwrap();
        let Filled {
            file: f, len, stop, ..
        } = s.finish().unwrap();
        assert_eq!((t, len, stop), (Trailing(6), 7, None));
        let mut b = [0u8; 7];
        f.read_at(&mut b, 0).unwrap();
        assert_eq!(&b, b"one two");
        // Cut inside the second member: a failure after the bytes before it.
        let cut = &input[..input.len() - 12];
        let mut s = Spool::new(dir.path(), 1 << 20).unwrap();
        gunzip_into(&mut s, cut).unwrap();
        assert!(matches!(s.stop(), Some(Stop::Failed(..))), "{:?}", s.stop());
    }
}
