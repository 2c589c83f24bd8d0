//! The single pass over a tar archive's headers: every header yields a member or a gap, data is
//! skipped by arithmetic (never read), and nothing an attacker states is allocated beyond fixed
//! limits. Members come out in archive order with raw names; mapping them to appliance paths is
//! the caller's business.

use super::header::{
    BLOCK, Header, SparseRun, gnu_sparse_real_size, gnu_sparse_runs, is_zero_block, pax_number,
    pax_records,
};
use crate::input::EntryKind;
use crate::input::ufs::ReadAt;
use std::sync::Arc;

/// The largest PAX header or GNU long name / link read (bigger ones are a gap, not an
/// allocation).
pub(crate) const MAX_EXTENDED: u64 = 1 << 20;

/// The longest member name or link target kept. Linux's PATH_MAX; FreeBSD's MAXPATHLEN is 1024,
/// so no appliance file has a longer one.
pub(crate) const MAX_NAME: usize = 4096;

/// Where a regular file's bytes are in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Data {
    /// `size` bytes stored contiguously at this archive offset.
    Contiguous(u64),
    /// Runs stored one after another from `at`; everything between runs reads as zeros.
    Sparse { at: u64, runs: Arc<[StoredRun]> },
}

/// A sparse run and where its bytes start, counted from the first stored byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredRun {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) stored: u64,
}

/// One member as the archive states it.
#[derive(Debug, Clone)]
pub struct RawMember {
    /// The name as stored (after PAX and GNU long names), not yet cleaned.
    pub(crate) name: Vec<u8>,
    pub(crate) kind: EntryKind,
    /// Logical size of a regular file (the real size of a sparse one).
    pub(crate) size: u64,
    /// Bytes stored in the archive for it (less than `size` for sparse members).
    pub stored: u64,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: i64,
    /// Access and change times, from PAX `atime` / `ctime` or the old GNU header, when set.
    pub(crate) atime: Option<i64>,
    pub(crate) ctime: Option<i64>,
    /// Symbolic link target, or the member a hard link names.
    pub(crate) link: Option<Vec<u8>>,
    pub(crate) hard_link: bool,
    pub(crate) data: Option<Data>,
    /// Archive offset of the header (of its first extended header when it had one).
    pub(crate) header_at: u64,
}

/// A problem found while indexing, tied to a member name when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) name: Option<Vec<u8>>,
    pub(crate) detail: String,
}

/// How the pass ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The end-of-archive marker.
    Marker,
    /// The pass stopped early for the reason given; members before it were kept.
    Stopped(String),
}

/// Everything the pass found.
#[derive(Debug)]
pub struct Indexed {
    pub(crate) members: Vec<RawMember>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) ending: Ending,
}

/// Attributes set by extended headers for the next member.
#[derive(Default, Clone)]
struct Pending {
    name: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    mtime: Option<i64>,
    atime: Option<i64>,
    ctime: Option<i64>,
    uid: Option<u64>,
    gid: Option<u64>,
    sparse_name: Option<Vec<u8>>,
    sparse_size: Option<u64>,
    sparse_runs: Vec<SparseRun>,
    sparse_offset: Option<u64>,
    sparse_v1: bool,
    /// Why the next member cannot be trusted (an extended header was refused).
    broken: Option<String>,
    header_at: Option<u64>,
}

/// Why the pass paused or stopped.
enum Halt {
    /// Bytes beyond what has arrived are needed: try again when more has.
    More,
    /// The pass is over; members before this point were kept.
    Stop(String),
}

impl From<String> for Halt {
    fn from(s: String) -> Halt {
        Halt::Stop(s)
    }
}

impl From<&str> for Halt {
    fn from(s: &str) -> Halt {
        Halt::Stop(s.to_owned())
    }
}

/// The pass over an archive that may still be growing (a spool being written): it indexes as
/// far as the bytes that have arrived allow, and goes on when more have.
pub(crate) struct Indexer {
    src: Arc<dyn ReadAt>,
    /// Bytes of `src` that may be read.
    available: u64,
    /// No more bytes will arrive.
    eof: bool,
    pos: u64,
    /// Index entries left (headers and sparse runs).
    budget: u64,
    out: Indexed,
    pending: Pending,
    /// Where the end-of-archive marker ended, once it was met.
    end: Option<u64>,
    over: bool,
}

/// Indexes the archive in `src` from `start` to `len`. `max_entries` bounds the headers and
/// sparse runs indexed (`--max-entries`).
pub fn index(src: Arc<dyn ReadAt>, start: u64, len: u64, max_entries: u64) -> Indexed {
    let mut ix = Indexer::new(src, start, max_entries);
    ix.advance(len, true);
    ix.finish()
}

/// Reads exactly `buf.len()` bytes at `off` of the first `available` bytes of `src`; pauses
/// (`Halt::More`) when they have not arrived and more will.
fn read_exact(
    src: &dyn ReadAt,
    available: u64,
    eof: bool,
    buf: &mut [u8],
    off: u64,
) -> Result<(), Halt> {
    let end = off
        .checked_add(buf.len() as u64)
        .ok_or("archive offset overflows")?;
    if end > available {
        if eof {
            return Err(format!("the archive ends at byte {available}").into());
        }
        return Err(Halt::More);
    }
    let mut done = 0;
    while done < buf.len() {
        let at = off + done as u64;
        match src.read_at(&mut buf[done..], at) {
            Ok(0) => return Err(format!("the archive ends at byte {at}").into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read error at byte {at}: {e}").into()),
        }
    }
    Ok(())
}

/// `n` rounded up to whole blocks, or `None` when that overflows.
fn blocks(n: u64) -> Option<u64> {
    n.checked_add(BLOCK - 1).map(|x| x / BLOCK * BLOCK)
}

impl Indexer {
    /// A pass over `src` whose first header is at `start`.
    pub fn new(src: Arc<dyn ReadAt>, start: u64, max_entries: u64) -> Indexer {
        Indexer {
            src,
            available: 0,
            eof: false,
            pos: start,
            budget: max_entries,
            out: Indexed {
                members: Vec::new(),
                problems: Vec::new(),
                ending: Ending::Marker,
            },
            pending: Pending::default(),
            end: None,
            over: false,
        }
    }

    /// Indexes what the first `available` bytes hold; `eof` says no more will come. Returns
    /// true once the pass is over (end marker, damage, a budget, or the end of the input).
    pub(crate) fn advance(&mut self, available: u64, eof: bool) -> bool {
        if self.over {
            return true;
        }
        self.available = available;
        self.eof = eof;
        loop {
            // A header is handled whole or not at all: a pause puts everything back.
            let snap = (
                self.pos,
                self.budget,
                self.pending.clone(),
                self.out.members.len(),
                self.out.problems.len(),
            );
            match self.step() {
                Ok(true) => {}
                Ok(false) => {
                    self.end = Some(self.pos.saturating_add(BLOCK));
                    self.over = true;
                    return true;
                }
                Err(Halt::More) => {
                    self.pos = snap.0;
                    self.budget = snap.1;
                    self.pending = snap.2;
                    self.out.members.truncate(snap.3);
                    self.out.problems.truncate(snap.4);
                    return false;
                }
                Err(Halt::Stop(why)) => {
                    self.out.ending = Ending::Stopped(why);
                    self.over = true;
                    return true;
                }
            }
        }
    }

    /// The offset just after the end-of-archive marker, once met.
    pub(crate) fn end(&self) -> Option<u64> {
        self.end
    }

    /// Everything found.
    pub(crate) fn finish(self) -> Indexed {
        self.out
    }

    /// Reads exactly `buf.len()` bytes at `off`, or pauses when they have not arrived yet.
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> Result<(), Halt> {
        read_exact(self.src.as_ref(), self.available, self.eof, buf, off)
    }

    /// Handles the header at `pos`; false at the end-of-archive marker.
    fn step(&mut self) -> Result<bool, Halt> {
        if self.eof && self.pos >= self.available {
            return Err(format!(
                "the archive ends at byte {} without the end-of-archive marker: it may have been cut",
                self.pos
            )
            .into());
        }
        let mut b = [0u8; 512];
        self.read_exact_at(&mut b, self.pos).map_err(|e| match e {
            Halt::Stop(e) => Halt::Stop(format!(
                "the archive ends inside a header at byte {}: {e}",
                self.pos
            )),
            more => more,
        })?;
        if is_zero_block(&b) {
            return Ok(false);
        }
        if self.budget == 0 {
            return Err(format!(
                "more index entries than --max-entries allows: members from byte {} on were not read",
                self.pos
            )
            .into());
        }
        self.budget -= 1;
        let h = Header::parse(&b).map_err(|e| {
            format!(
                "archive damaged at byte {}: {e}; members from there on could not be read",
                self.pos
            )
        })?;
        let at = self.pos;
        let data_at = at.checked_add(BLOCK).ok_or("archive offset overflows")?;
        self.header(at, data_at, &b, h)?;
        Ok(true)
    }

    /// Handles one header at `at`; moves `pos` past its data.
    fn header(&mut self, at: u64, data_at: u64, b: &[u8; 512], h: Header) -> Result<(), Halt> {
        self.pending.header_at.get_or_insert(at);
        let size = match h.typeflag {
            b'x' | b'g' | b'L' | b'K' | b'S' => h.size,
            _ => self.pending.size.unwrap_or(h.size),
        };
        let mut data_end = self.skip(data_at, size)?;
        match h.typeflag {
            b'x' => self.pax(data_at, size, false)?,
            b'g' => self.pax(data_at, size, true)?,
            b'L' | b'K' => self.long_name(data_at, size, h.typeflag == b'L')?,
            b'V' => {} // a volume label, not a member
            b'S' => data_end = self.gnu_sparse(at, b, h)?,
            _ => self.member(at, data_at, h, size)?,
        }
        self.pos = data_end;
        Ok(())
    }

    /// The offset after `size` bytes of data at `data_at`, rounded to blocks.
    fn skip(&self, data_at: u64, size: u64) -> Result<u64, String> {
        blocks(size)
            .and_then(|s| data_at.checked_add(s))
            .ok_or_else(|| format!("member size {size} at byte {data_at} overflows"))
    }

    /// Reads an extended header's data when it is small enough; `None` (and the next member
    /// marked untrustworthy) otherwise.
    fn extended(&mut self, data_at: u64, size: u64, what: &str) -> Result<Option<Vec<u8>>, Halt> {
        if size > MAX_EXTENDED {
            self.pending.broken = Some(format!(
                "its {what} is {size} bytes, more than the {MAX_EXTENDED} read"
            ));
            return Ok(None);
        }
        let fits = data_at
            .checked_add(size)
            .is_some_and(|e| e <= self.available);
        if !fits {
            if self.eof {
                // The archive ends inside it: the next header read reports that.
                return Ok(None);
            }
            return Err(Halt::More);
        }
        let mut v = vec![0u8; usize::try_from(size).map_err(|_| "size overflows")?];
        match self.read_exact_at(&mut v, data_at) {
            Ok(()) => Ok(Some(v)),
            Err(Halt::More) => Err(Halt::More),
            Err(Halt::Stop(e)) => {
                self.pending.broken = Some(format!("its {what} could not be read: {e}"));
                Ok(None)
            }
        }
    }

    fn long_name(&mut self, data_at: u64, size: u64, name: bool) -> Result<(), Halt> {
        let what = if name {
            "GNU long name"
        } else {
            "GNU long link name"
        };
        let Some(v) = self.extended(data_at, size, what)? else {
            return Ok(());
        };
        let v = v[..memchr::memchr(0, &v).unwrap_or(v.len())].to_vec();
        if v.len() > MAX_NAME {
            self.pending.broken = Some(format!(
                "its {what} is {} bytes long, more than {MAX_NAME}",
                v.len()
            ));
            return Ok(());
        }
        if name {
            self.pending.name = Some(v);
        } else {
            self.pending.link = Some(v);
        }
        Ok(())
    }

    fn pax(&mut self, data_at: u64, size: u64, global: bool) -> Result<(), Halt> {
        let Some(v) = self.extended(data_at, size, "PAX header")? else {
            return Ok(());
        };
        let recs = match pax_records(&v) {
            Ok(r) => r,
            Err(e) => {
                self.pending.broken = Some(format!("its PAX header is damaged: {e}"));
                return Ok(());
            }
        };
        for r in recs {
            // A global header's names would rename every member: only its numbers apply, and
            // only to the next member (sporen keeps no global state an archive can poison).
            if global && matches!(r.key, b"path" | b"linkpath") {
                continue;
            }
            if let Err(e) = self.pax_record(r.key, r.value) {
                self.pending.broken = Some(e);
            }
        }
        Ok(())
    }

    fn pax_record(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        let num = |what: &str| {
            pax_number(value).ok_or_else(|| format!("its PAX `{what}` is not a number"))
        };
        let unsigned = |what: &str| {
            num(what).and_then(|n| u64::try_from(n).map_err(|_| format!("PAX `{what}` < 0")))
        };
        let p = &mut self.pending;
        match key {
            b"path" => p.name = Some(bounded(value, "PAX path")?),
            b"linkpath" => p.link = Some(bounded(value, "PAX linkpath")?),
            b"size" => p.size = Some(unsigned("size")?),
            b"mtime" => {
                p.mtime = Some(i64::try_from(num("mtime")?).map_err(|_| "PAX mtime too large")?);
            }
            b"atime" => {
                p.atime = Some(i64::try_from(num("atime")?).map_err(|_| "PAX atime too large")?);
            }
            b"ctime" => {
                p.ctime = Some(i64::try_from(num("ctime")?).map_err(|_| "PAX ctime too large")?);
            }
            b"uid" => p.uid = Some(unsigned("uid")?),
            b"gid" => p.gid = Some(unsigned("gid")?),
            b"GNU.sparse.name" => p.sparse_name = Some(bounded(value, "GNU.sparse.name")?),
            b"GNU.sparse.size" | b"GNU.sparse.realsize" => {
                p.sparse_size = Some(unsigned("GNU.sparse.size")?);
            }
            b"GNU.sparse.major" => p.sparse_v1 = value == b"1",
            b"GNU.sparse.offset" => p.sparse_offset = Some(unsigned("GNU.sparse.offset")?),
            b"GNU.sparse.numbytes" => {
                let offset = p
                    .sparse_offset
                    .take()
                    .ok_or("GNU.sparse.numbytes without an offset")?;
                let len = unsigned("GNU.sparse.numbytes")?;
                self.push_run(SparseRun { offset, len })?;
            }
            b"GNU.sparse.map" => {
                let nums: Vec<&[u8]> = value.split(|&c| c == b',').collect();
                if !nums.len().is_multiple_of(2) {
                    return Err("GNU.sparse.map has an odd number of fields".into());
                }
                for pair in nums.chunks(2) {
                    let get = |v: &[u8]| {
                        pax_number(v)
                            .and_then(|n| u64::try_from(n).ok())
                            .ok_or("GNU.sparse.map holds a field that is not a number")
                    };
                    let run = SparseRun {
                        offset: get(pair[0])?,
                        len: get(pair[1])?,
                    };
                    self.push_run(run)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds a sparse run, counting it against the index budget.
    fn push_run(&mut self, run: SparseRun) -> Result<(), String> {
        if self.budget == 0 {
            return Err("its sparse map has more entries than --max-entries allows".into());
        }
        self.budget -= 1;
        self.pending.sparse_runs.push(run);
        Ok(())
    }

    /// An old GNU sparse member: the map in the header and in extension blocks after it.
    /// Returns the offset after its data.
    fn gnu_sparse(&mut self, at: u64, b: &[u8; 512], h: Header) -> Result<u64, Halt> {
        let bad = |e: super::header::HeaderError| format!("old GNU sparse header damaged: {e}");
        let (runs, mut more) = gnu_sparse_runs(b, false).map_err(bad)?;
        for r in runs {
            self.push_run(r)?;
        }
        let real = gnu_sparse_real_size(b).map_err(bad)?;
        let mut next = at.checked_add(BLOCK).ok_or("archive offset overflows")?;
        while more {
            let mut ext = [0u8; 512];
            self.read_exact_at(&mut ext, next).map_err(|e| match e {
                Halt::Stop(e) => Halt::Stop(format!("the archive ends inside a sparse map: {e}")),
                more => more,
            })?;
            let (runs, m) = gnu_sparse_runs(&ext, true).map_err(bad)?;
            for r in runs {
                self.push_run(r)?;
            }
            more = m;
            next = next.checked_add(BLOCK).ok_or("archive offset overflows")?;
        }
        self.pending.sparse_size = Some(real);
        let end = self.skip(next, h.size)?;
        self.member(at, next, h.clone(), h.size)?;
        Ok(end)
    }

    /// A member proper (not an extended header): builds it from the header and what the
    /// extended headers before it said.
    fn member(&mut self, at: u64, data_at: u64, h: Header, size: u64) -> Result<(), Halt> {
        let p = std::mem::take(&mut self.pending);
        let name = p
            .sparse_name
            .clone()
            .or(p.name.clone())
            .unwrap_or(h.name.clone());
        if let Some(why) = p.broken {
            self.problem(Some(name), format!("member at byte {at} not read: {why}"));
            return Ok(());
        }
        if name.len() > MAX_NAME {
            self.problem(
                Some(name[..64].to_vec()),
                format!("member at byte {at} not read: its name is longer than {MAX_NAME} bytes"),
            );
            return Ok(());
        }
        let (kind, hard_link) = match h.typeflag {
            b'1' => (EntryKind::File, true),
            b'2' => (EntryKind::Symlink, false),
            b'3' => (EntryKind::CharDevice, false),
            b'4' => (EntryKind::BlockDevice, false),
            b'5' | b'D' => (EntryKind::Dir, false),
            b'6' => (EntryKind::Fifo, false),
            // Regular, contiguous, and (as POSIX asks) any typeflag not known.
            _ => (EntryKind::File, false),
        };
        if h.typeflag == b'M' {
            self.problem(
                Some(name.clone()),
                "continued from an earlier volume of a multi-volume archive: only this part is here"
                    .into(),
            );
        }
        let link = p.link.or((!h.link.is_empty()).then_some(h.link.clone()));
        if link.as_ref().is_some_and(|l| l.len() > MAX_NAME) {
            self.problem(
                Some(name),
                format!(
                    "member at byte {at} not read: its link target is longer than {MAX_NAME} bytes"
                ),
            );
            return Ok(());
        }
        let sparse = !p.sparse_runs.is_empty() || p.sparse_v1 || p.sparse_size.is_some();
        let regular = kind == EntryKind::File && !hard_link;
        let (data, logical) = if !regular {
            (None, 0)
        } else if sparse {
            match self.sparse_data(data_at, size, p.sparse_v1, p.sparse_runs, p.sparse_size) {
                Ok(d) => d,
                Err(Halt::More) => return Err(Halt::More),
                Err(Halt::Stop(e)) => {
                    self.problem(
                        Some(name),
                        format!("sparse member at byte {at} not read: {e}"),
                    );
                    return Ok(());
                }
            }
        } else {
            (Some(Data::Contiguous(data_at)), size)
        };
        let clamp = |v: Option<u64>, h: u64| u32::try_from(v.unwrap_or(h)).unwrap_or(u32::MAX);
        self.out.members.push(RawMember {
            name,
            kind,
            size: logical,
            stored: if regular { size } else { 0 },
            mode: h.mode,
            uid: clamp(p.uid, h.uid),
            gid: clamp(p.gid, h.gid),
            mtime: p.mtime.unwrap_or(h.mtime),
            atime: p.atime.or(h.atime),
            ctime: p.ctime.or(h.ctime),
            link: if kind == EntryKind::Symlink || hard_link {
                link
            } else {
                None
            },
            hard_link,
            data,
            header_at: p.header_at.unwrap_or(at),
        });
        Ok(())
    }

    /// The data of a sparse member: the map (read from the data for format 1.0), checked to be
    /// sorted, non-overlapping, inside the real size and inside the stored bytes.
    fn sparse_data(
        &mut self,
        data_at: u64,
        stored: u64,
        v1: bool,
        mut runs: Vec<SparseRun>,
        real: Option<u64>,
    ) -> Result<(Option<Data>, u64), Halt> {
        let mut at = data_at;
        if v1 {
            let (map, used) = self.sparse_map_v1(data_at, stored)?;
            runs = map;
            at = data_at.checked_add(used).ok_or("offset overflows")?;
        }
        let real = real.ok_or("no real size given")?;
        let stored_after_map = stored
            .checked_sub(at - data_at)
            .ok_or("the map is larger than the member")?;
        let mut end = 0u64;
        let mut total = 0u64;
        let mut placed = Vec::with_capacity(runs.len());
        for r in &runs {
            let run_end = r.offset.checked_add(r.len).ok_or("a run overflows")?;
            if r.offset < end || run_end > real {
                return Err("its sparse map is out of order or past the real size".into());
            }
            end = run_end;
            placed.push(StoredRun {
                offset: r.offset,
                len: r.len,
                stored: total,
            });
            total = total.checked_add(r.len).ok_or("the runs overflow")?;
        }
        if total > stored_after_map {
            return Err(format!(
                "its sparse map holds {total} bytes but only {stored_after_map} are stored"
            )
            .into());
        }
        Ok((
            Some(Data::Sparse {
                at,
                runs: placed.into(),
            }),
            real,
        ))
    }

    /// The map GNU sparse format 1.0 keeps at the start of the data: decimal numbers, one per
    /// line (count, then offset and length pairs), padded to a block. Returns it and the
    /// bytes it took.
    fn sparse_map_v1(&mut self, data_at: u64, stored: u64) -> Result<(Vec<SparseRun>, u64), Halt> {
        let mut buf = Vec::new();
        let mut used = 0usize;
        let (src, available, eof) = (self.src.clone(), self.available, self.eof);
        let next_line = |buf: &mut Vec<u8>, used: &mut usize| -> Result<u64, Halt> {
            loop {
                if let Some(nl) = memchr::memchr(b'\n', &buf[*used..]) {
                    let line = &buf[*used..*used + nl];
                    *used += nl + 1;
                    return pax_number(line)
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| "its sparse map holds a line that is not a number".into());
                }
                if buf.len() as u64 >= stored.min(MAX_EXTENDED) {
                    return Err("its sparse map is larger than the data or 1 MiB".into());
                }
                let mut block = [0u8; 512];
                let off = data_at
                    .checked_add(buf.len() as u64)
                    .ok_or("offset overflows")?;
                read_exact(src.as_ref(), available, eof, &mut block, off)?;
                buf.extend_from_slice(&block);
            }
        };
        let count = next_line(&mut buf, &mut used)?;
        let mut runs = Vec::new();
        for _ in 0..count {
            let offset = next_line(&mut buf, &mut used)?;
            let len = next_line(&mut buf, &mut used)?;
            if self.budget == 0 {
                return Err("its sparse map has more entries than --max-entries allows".into());
            }
            self.budget -= 1;
            runs.push(SparseRun { offset, len });
        }
        let used = blocks(used as u64).ok_or("offset overflows")?;
        Ok((runs, used))
    }

    fn problem(&mut self, name: Option<Vec<u8>>, detail: String) {
        self.out.problems.push(Problem { name, detail });
    }
}

fn bounded(v: &[u8], what: &str) -> Result<Vec<u8>, String> {
    if v.len() > MAX_NAME {
        return Err(format!(
            "its {what} is {} bytes long, more than {MAX_NAME}",
            v.len()
        ));
    }
    Ok(v.to_vec())
}
