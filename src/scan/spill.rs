//! Correlation records kept out of memory while the scan runs.
//!
//! Every log file hands its correlation records over in batches (when it ends, or when it holds
//! [`FLUSH_AT`] of them): each batch is cut into [`PARTITIONS`] segments by the digest of the
//! record's key and appended to one unnamed temporary file in the temporary folder (never inside
//! the evidence; it disappears with the process). Only a small index stays in memory. Once every
//! file was read, the records are compared one partition at a time: a key's records are all in
//! its partition, so the memory of the comparison is that of one partition, whatever the size of
//! the logs. Without a usable temporary folder the same bytes are kept in memory instead.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Partitions of the records, chosen by the low byte of the key digest.
pub(super) const PARTITIONS: usize = 256;

/// Records a file holds in memory before they are handed over.
pub(super) const FLUSH_AT: usize = 1 << 13;

/// The partition of a key digest.
pub(super) fn partition(key: u128) -> usize {
    (key & 0xff) as usize
}

/// A batch to read back: its segment, and the entry of its file.
#[derive(Clone, Copy, Debug)]
pub(super) struct Batch {
    entry: usize,
    seg: Segment,
}

/// One batch of one file in one partition.
#[derive(Clone, Copy, Debug)]
struct Segment {
    part: u16,
    file: u32,
    /// The batch's number within its file: batches are read back in the order they were made.
    batch: u32,
    off: u64,
    len: u64,
}

enum Store {
    /// Not created yet: created at the first batch.
    Unopened(Option<PathBuf>),
    File(File),
    Memory(Vec<u8>),
}

struct Inner {
    dir: Option<PathBuf>,
    store: Store,
    len: u64,
    segments: Vec<Segment>,
}

/// The store of the correlation records of one scan.
pub(super) struct Spill {
    inner: Mutex<Inner>,
    files: AtomicU32,
}

impl Spill {
    /// A store whose records go to an unnamed file in `dir`; `None`, or a folder where no file
    /// can be made: in memory.
    pub(super) fn new(dir: Option<PathBuf>) -> Spill {
        Spill {
            inner: Mutex::new(Inner {
                store: Store::Unopened(dir.clone()),
                dir,
                len: 0,
                segments: Vec::new(),
            }),
            files: AtomicU32::new(0),
        }
    }

    /// A number for a file that will hand over records.
    pub(super) fn new_file(&self) -> u32 {
        self.files.fetch_add(1, Ordering::Relaxed)
    }

    /// Appends one batch of `file`: `parts[p]` holds the encoded records of partition `p`.
    pub(super) fn put(&self, file: u32, batch: u32, parts: &[Vec<u8>]) {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let inner = &mut *g;
        if let Store::Unopened(dir) = &inner.store {
            inner.store = dir
                .as_ref()
                .and_then(|d| crate::input::spool::create(d).ok())
                .map_or_else(|| Store::Memory(Vec::new()), Store::File);
        }
        for (p, bytes) in parts.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
            let off = inner.len;
            let written = match &mut inner.store {
                Store::File(f) => f.write_all(bytes).is_ok(),
                Store::Memory(m) => {
                    m.extend_from_slice(bytes);
                    true
                }
                Store::Unopened(_) => false,
            };
            if !written {
                // A full or failing temporary folder: the rest stays in memory. What was
                // written before remains readable at its offsets.
                inner.store = Store::Memory(Self::read_all(&inner.store, inner.len));
                if let Store::Memory(m) = &mut inner.store {
                    m.extend_from_slice(bytes);
                }
            }
            inner.len += bytes.len() as u64;
            inner.segments.push(Segment {
                part: p as u16,
                file,
                batch,
                off,
                len: bytes.len() as u64,
            });
        }
    }

    fn read_all(store: &Store, len: u64) -> Vec<u8> {
        let mut all = vec![0; usize::try_from(len).unwrap_or(0)];
        match store {
            Store::File(f) if f.read_exact_at(&mut all, 0).is_ok() => all,
            Store::Memory(m) => m.clone(),
            _ => Vec::new(),
        }
    }

    /// The batches of every partition, in one pass over the index: per partition, in the
    /// order `order` gives their files (files it maps to `None` are left out), each file's
    /// batches in the order they were made.
    pub(super) fn partitions(&self, order: impl Fn(u32) -> Option<usize>) -> Vec<Vec<Batch>> {
        let g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut parts: Vec<Vec<Batch>> = (0..PARTITIONS).map(|_| Vec::new()).collect();
        for s in &g.segments {
            if let Some(entry) = order(s.file) {
                parts[usize::from(s.part)].push(Batch { entry, seg: *s });
            }
        }
        for p in &mut parts {
            p.sort_by_key(|b| (b.entry, b.seg.batch));
        }
        parts
    }

    /// Reads `batches` back: each with the entry its file is.
    pub(super) fn read(&self, batches: &[Batch]) -> std::io::Result<Vec<(usize, Vec<u8>)>> {
        let g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::with_capacity(batches.len());
        for &Batch { entry, seg: s } in batches {
            let len = usize::try_from(s.len).map_err(std::io::Error::other)?;
            let mut buf = vec![0; len];
            match &g.store {
                Store::File(f) => f.read_exact_at(&mut buf, s.off)?,
                Store::Memory(m) => {
                    let start = usize::try_from(s.off).map_err(std::io::Error::other)?;
                    let bytes = m
                        .get(start..start.saturating_add(len))
                        .ok_or_else(|| std::io::Error::other("segment beyond the store"))?;
                    buf.copy_from_slice(bytes);
                }
                Store::Unopened(_) => return Err(std::io::Error::other("no store")),
            }
            out.push((entry, buf));
        }
        Ok(out)
    }

    /// Forgets every batch (the temporary file is closed, and with it gone): the store is
    /// ready for the next scan.
    pub(super) fn clear(&self) {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Store::File(_) | Store::Memory(_) = g.store {
            g.store = Store::Unopened(g.dir.clone());
        }
        g.len = 0;
        g.segments = Vec::new();
    }
}

/// Writes the little-endian fields of records.
#[derive(Default)]
pub(super) struct Enc(pub(super) Vec<u8>);

impl Enc {
    pub(super) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// Bytes with their length first.
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.0
            .extend_from_slice(&b[..b.len().min(u32::MAX as usize)]);
    }
}

/// Reads what [`Enc`] wrote; every read is checked, a short or damaged batch is an error.
pub(super) struct Dec<'a> {
    b: &'a [u8],
}

/// A batch that does not decode.
#[derive(Debug)]
pub(super) struct Damaged;

impl<'a> Dec<'a> {
    pub(super) fn new(b: &'a [u8]) -> Dec<'a> {
        Dec { b }
    }
    pub(super) fn done(&self) -> bool {
        self.b.is_empty()
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], Damaged> {
        if self.b.len() < n {
            return Err(Damaged);
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Damaged> {
        self.take(N)?.try_into().map_err(|_| Damaged)
    }
    pub(super) fn u8(&mut self) -> Result<u8, Damaged> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u32(&mut self) -> Result<u32, Damaged> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub(super) fn u64(&mut self) -> Result<u64, Damaged> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub(super) fn i64(&mut self) -> Result<i64, Damaged> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub(super) fn u128(&mut self) -> Result<u128, Damaged> {
        Ok(u128::from_le_bytes(self.array()?))
    }
    pub(super) fn bytes(&mut self) -> Result<&'a [u8], Damaged> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_come_back_per_partition_in_file_and_batch_order() {
        for dir in [Some(std::env::temp_dir()), None] {
            let s = Spill::new(dir);
            let (a, b) = (s.new_file(), s.new_file());
            let mut parts = vec![Vec::new(); PARTITIONS];
            parts[3] = b"b0".to_vec();
            s.put(b, 0, &parts);
            parts[3] = b"a0".to_vec();
            parts[7] = b"a0-7".to_vec();
            s.put(a, 0, &parts);
            parts[3] = b"a1".to_vec();
            s.put(a, 1, &parts);
            // Entry order: b is the first file in path order.
            let order = |f: u32| Some(if f == b { 0 } else { 1 });
            let read = |part: usize, order: &dyn Fn(u32) -> Option<usize>| {
                s.read(&s.partitions(order)[part]).unwrap()
            };
            let got = read(3, &order);
            let texts: Vec<&[u8]> = got.iter().map(|(_, v)| v.as_slice()).collect();
            assert_eq!(texts, [&b"b0"[..], b"a0", b"a1"]);
            let only_a = read(3, &|f| (f == a).then_some(1));
            assert_eq!(only_a.len(), 2);
            assert_eq!(read(9, &order).len(), 0);
        }
    }

    #[test]
    fn damaged_batches_are_errors() {
        let mut e = Enc::default();
        e.bytes(b"abc");
        let mut d = Dec::new(&e.0[..5]);
        assert!(d.bytes().is_err());
        let mut d = Dec::new(&e.0);
        assert_eq!(d.bytes().unwrap(), b"abc");
        assert!(d.done());
    }
}
