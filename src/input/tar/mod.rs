//! Evidence in a tar archive: a `.tar` file read in place, or a `.tar.gz` / `.tgz`, NetScaler
//! support bundle (`collector_*.tar.gz`), tar on standard input or tar streamed over SSH that
//! was first copied into a private spool file (see [`crate::input::spool`]).
//!
//! The archive is indexed in one pass over its headers ([`index`]); member bytes are read later
//! with positioned reads, so memory holds the index only: hard links share their target's data
//! range, sparse members read their holes as zeros. Paths map to appliance paths (a leading
//! `./` or `/` is dropped, `..` stops at the root and is reported; a support bundle's top folder
//! is removed and its `nsconfig/` mapped to `/flash/nsconfig` when there is no
//! `flash/nsconfig/`). Every header yields an entry or a gap: nothing is dropped silently. A few
//! bytes in front of the archive (the banner the NetScaler CLI prints before a `shell`
//! command's output) are skipped. Nothing is ever extracted or written.

pub mod header;
pub mod index;

use super::ufs::ReadAt;
use super::{Entry, EntryKind, Evidence, Layout, Limits, Listing, Namespace};
use crate::model::{EvPath, Gap, GapCause};
use index::{Data, Ending, RawMember};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::sync::Arc;

/// How far into the input the first tar header is looked for.
pub(crate) const BANNER_MAX: usize = 64 * 1024;

/// An archive indexed in place.
pub struct TarEvidence {
    kind: &'static str,
    src: Arc<dyn ReadAt>,
    /// Sorted by path; shared with the listings handed out.
    entries: Arc<[Entry]>,
    /// The entries while the members are placed.
    placing: Vec<Entry>,
    /// Per entry: where a regular file's bytes are, or why they are not served.
    data: Vec<Option<Result<Data, String>>>,
    gaps: Vec<Gap>,
    /// The entries indexed for link resolution.
    names: Namespace,
    /// What was found, for the report ("tar archive, 412 members; support bundle ...").
    pub(crate) description: String,
}

impl std::fmt::Debug for TarEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TarEvidence")
            .field("kind", &self.kind)
            .field("entries", &self.entries.len())
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// True when `head` (the first bytes of a file) looks like a tar or a gzip stream.
pub fn looks_like_archive(head: &[u8]) -> bool {
    crate::util::bytes::is_gzip(head) || find_tar_start(head).is_some()
}

/// Offset of the first plausible tar header (ustar magic, valid checksum) within the first
/// [`BANNER_MAX`] bytes, on any byte offset (a CLI banner need not be 512-byte aligned).
pub(crate) fn find_tar_start(b: &[u8]) -> Option<usize> {
    let limit = b.len().min(BANNER_MAX);
    (0..limit).find(|&off| {
        let Some(h) = b.get(off..off + 512) else {
            return false;
        };
        let Ok(block) = <&[u8; 512]>::try_from(h) else {
            return false;
        };
        &h[257..262] == b"ustar" && header::checksum_ok(block)
    })
}

/// A cleaned member name: `./` and `/` prefixes and `.` components dropped, `..` climbing at
/// most to the root. The flag says a `..` was met (the name does not mean what it says).
fn clean_path(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut dotdot = false;
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                dotdot = true;
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    (parts.join(&b'/'), dotdot)
}

/// How member names map to appliance paths, per the family's [`Layout`].
struct Mapping {
    /// A support bundle's top folder, removed from every name.
    strip: Option<Vec<u8>>,
    /// The aliases that apply: `from/` becomes `to/` (the archive has no `to/`).
    aliases: Vec<(&'static str, &'static str)>,
}

impl Mapping {
    fn of(members: &[RawMember], layout: &Layout) -> Mapping {
        let mut tops = members
            .iter()
            .filter(|m| !m.name.is_empty())
            .map(|m| m.name.split(|&b| b == b'/').next().unwrap_or_default());
        let first = tops.next();
        let strip = match (first, layout.bundle_top) {
            (Some(t), Some(prefix)) if t.starts_with(prefix.as_bytes()) && tops.all(|x| x == t) => {
                Some(t.to_vec())
            }
            _ => None,
        };
        let mapping = Mapping {
            strip,
            aliases: Vec::new(),
        };
        let has = |dir: &[u8]| {
            members.iter().any(|m| {
                let n = mapping.strip_top(&m.name);
                n == dir || (n.starts_with(dir) && n.get(dir.len()) == Some(&b'/'))
            })
        };
        let aliases = layout
            .aliases
            .iter()
            .filter(|(from, to)| has(from.as_bytes()) && !has(to.as_bytes()))
            .copied()
            .collect();
        Mapping { aliases, ..mapping }
    }

    fn strip_top(&self, n: &[u8]) -> Vec<u8> {
        match &self.strip {
            Some(s) if n == s.as_slice() => Vec::new(),
            Some(s) => n
                .strip_prefix(s.as_slice())
                .and_then(|r| r.strip_prefix(b"/"))
                .unwrap_or(n)
                .to_vec(),
            None => n.to_vec(),
        }
    }

    fn map(&self, n: &[u8]) -> Vec<u8> {
        let n = self.strip_top(n);
        for (from, to) in &self.aliases {
            let from = from.as_bytes();
            if n == from || (n.starts_with(from) && n.get(from.len()) == Some(&b'/')) {
                return [to.as_bytes(), &n[from.len()..]].concat();
            }
        }
        n
    }

    fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.strip.is_some() {
            parts.push("support bundle: top folder removed".to_owned());
        }
        parts.extend(
            self.aliases
                .iter()
                .map(|(from, to)| format!("{from}/ mapped to /{to}")),
        );
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

fn not_a_tar() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "no tar archive found (no ustar header in the first 64 KiB)",
    )
}

/// Offset of the first tar header among the first bytes of `src` (`len` long).
fn tar_start(src: &dyn ReadAt, len: u64) -> io::Result<Option<u64>> {
    let head_len = usize::try_from(len.min(BANNER_MAX as u64 + 512)).unwrap_or(0);
    let mut head = vec![0u8; head_len];
    let mut got = 0;
    while got < head.len() {
        match src.read_at(&mut head[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(find_tar_start(&head[..got]).map(|s| s as u64))
}

/// An archive indexed while it is still being written (a spool being filled): it looks for
/// the first header once enough has arrived, then indexes as far as the bytes allow. Knowing
/// where the archive ends lets a stream that goes on after it be cut there.
pub(crate) struct Growing {
    src: Arc<dyn ReadAt>,
    max_entries: u64,
    state: GrowState,
}

enum GrowState {
    Sniffing,
    Indexing { start: u64, ix: Box<index::Indexer> },
    NotTar,
}

impl Growing {
    pub fn new(src: Arc<dyn ReadAt>, max_entries: u64) -> Growing {
        Growing {
            src,
            max_entries,
            state: GrowState::Sniffing,
        }
    }

    /// The source now holds `len` bytes; `eof`: no more will come.
    pub(crate) fn grown(&mut self, len: u64, eof: bool) {
        if let GrowState::Sniffing = self.state
            && (eof || len >= BANNER_MAX as u64 + 512)
        {
            self.state = match tar_start(self.src.as_ref(), len) {
                Ok(Some(start)) => GrowState::Indexing {
                    start,
                    ix: Box::new(index::Indexer::new(
                        self.src.clone(),
                        start,
                        self.max_entries,
                    )),
                },
                _ => GrowState::NotTar,
            };
        }
        if let GrowState::Indexing { ix, .. } = &mut self.state {
            ix.advance(len, eof);
        }
    }

    /// True once the first bytes were seen to hold no tar archive.
    pub(crate) fn not_tar(&self) -> bool {
        matches!(self.state, GrowState::NotTar)
    }

    /// The offset just after the end-of-archive marker, once met.
    pub(crate) fn end(&self) -> Option<u64> {
        match &self.state {
            GrowState::Indexing { ix, .. } => ix.end(),
            _ => None,
        }
    }

    /// The evidence, once the source is complete (after `grown(len, true)`); an error when
    /// it holds no tar archive.
    pub(crate) fn into_evidence(
        self,
        kind: &'static str,
        layout: &Layout,
        limits: &Limits,
    ) -> io::Result<TarEvidence> {
        match self.state {
            GrowState::Indexing { start, ix } => Ok(TarEvidence::from_index(
                self.src,
                start,
                ix.finish(),
                kind,
                layout,
                limits,
            )),
            _ => Err(not_a_tar()),
        }
    }
}

/// One member on its way into the index.
struct Placed {
    raw: RawMember,
    path: Vec<u8>,
    /// Its data came through a hard link (the bytes are served again).
    linked: bool,
    data: Option<Result<Data, String>>,
}

impl TarEvidence {
    /// Indexes the archive in `src` (`len` bytes), skipping a banner before it. `kind` names
    /// the input for the report. Fails when no tar header is found near the start.
    pub fn open(
        src: Arc<dyn ReadAt>,
        len: u64,
        kind: &'static str,
        layout: &Layout,
        limits: &Limits,
    ) -> io::Result<TarEvidence> {
        let start = tar_start(src.as_ref(), len)?.ok_or_else(not_a_tar)?;
        let found = index::index(src.clone(), start, len, limits.max_entries);
        Ok(TarEvidence::from_index(
            src, start, found, kind, layout, limits,
        ))
    }

    /// Builds the evidence from a finished pass over `src` whose archive starts at `start`.
    pub(crate) fn from_index(
        src: Arc<dyn ReadAt>,
        start: u64,
        found: index::Indexed,
        kind: &'static str,
        layout: &Layout,
        limits: &Limits,
    ) -> TarEvidence {
        let mut ev = TarEvidence {
            kind,
            src,
            entries: Arc::from([]),
            placing: Vec::new(),
            data: Vec::new(),
            gaps: Vec::new(),
            names: Namespace::default(),
            description: String::new(),
        };
        let members = found.members.len();
        for p in found.problems {
            let path = p
                .name
                .map_or_else(EvPath::root, |n| EvPath::new(clean_path(&n).0));
            ev.gaps
                .push(Gap::new(path, GapCause::CorruptArchive, p.detail, true));
        }
        if let Ending::Stopped(why) = found.ending {
            ev.gaps.push(Gap::new(
                EvPath::root(),
                GapCause::CorruptArchive,
                why,
                true,
            ));
        }
        let layout = ev.place(found.members, layout, limits);
        ev.entries = std::mem::take(&mut ev.placing).into();
        ev.names = Namespace::new(&ev.entries);
        if layout.strip.is_some() && kind == "tar" {
            ev.kind = "support-bundle";
        }
        let mut notes = vec![format!("tar archive, {members} members")];
        if start > 0 {
            notes.push(format!("{start} bytes before the archive skipped"));
        }
        notes.extend(layout.describe());
        ev.description = notes.join("; ");
        ev
    }

    /// Maps names, resolves hard links, settles duplicates and the link budget, and fills the
    /// sorted index. Returns the layout applied.
    fn place(&mut self, mut members: Vec<RawMember>, layout: &Layout, limits: &Limits) -> Mapping {
        // Names are cleaned in place; the few that climbed with `..` keep their raw form for
        // the gap.
        let mut climbed = Vec::new();
        for (i, m) in members.iter_mut().enumerate() {
            let (clean, dotdot) = clean_path(&m.name);
            let raw = std::mem::replace(&mut m.name, clean);
            if dotdot {
                climbed.push((i, raw));
            }
        }
        let layout = Mapping::of(&members, layout);
        let mut climbed = climbed.into_iter().peekable();
        let mut placed = Vec::with_capacity(members.len());
        for (i, mut raw) in members.into_iter().enumerate() {
            // From here on the path holds the name.
            let path = layout.map(&std::mem::take(&mut raw.name));
            if let Some((_, name)) = climbed.next_if(|c| c.0 == i) {
                self.gaps.push(Gap::new(
                    EvPath::new(path.clone()),
                    GapCause::CorruptArchive,
                    format!(
                        "the member at byte {} is named `{}`, which climbs with `..`: read here, where its name ends inside the archive's root",
                        raw.header_at,
                        crate::model::bytes_to_lossless_string(&name)
                    ),
                    true,
                ));
            }
            if path.is_empty() {
                // The archive's own top folder (`./`, `collector_x/`): the root itself.
                if raw.kind != EntryKind::Dir {
                    self.gaps.push(Gap::new(
                        EvPath::root(),
                        GapCause::CorruptArchive,
                        format!("the member at byte {} has no usable name", raw.header_at),
                        true,
                    ));
                }
                continue;
            }
            let data = raw.data.clone().map(Ok);
            placed.push(Placed {
                raw,
                path,
                linked: false,
                data,
            });
        }
        self.resolve_links(&mut placed, &layout);
        let winners = self.settle_duplicates(placed);
        self.fill(winners, limits);
        layout
    }

    /// Gives each hard link its target's data: the latest member of that name before it (as
    /// extraction would), else one after it (a forward link), following links to links.
    fn resolve_links(&mut self, placed: &mut [Placed], layout: &Mapping) {
        let target_of = |p: &Placed| {
            p.raw
                .link
                .as_deref()
                .map(|t| layout.map(&clean_path(t).0))
                .unwrap_or_default()
        };
        // Only paths that some link names are remembered (not every path of the archive).
        let wanted: HashSet<Vec<u8>> = placed
            .iter()
            .filter(|p| p.raw.hard_link)
            .map(target_of)
            .collect();
        let mut latest: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut pending = Vec::new();
        for i in 0..placed.len() {
            if placed[i].raw.hard_link {
                let target = target_of(&placed[i]);
                match latest.get(&target) {
                    Some(&j) if placed[j].data.is_some() => {
                        placed[i].data = placed[j].data.clone();
                        placed[i].raw.size = placed[j].raw.size;
                        placed[i].linked = true;
                    }
                    _ => pending.push((i, target)),
                }
            }
            if wanted.contains(&placed[i].path) {
                latest.insert(placed[i].path.clone(), i);
            }
        }
        // Forward links, and links to links resolved later: settle in rounds until nothing
        // changes (each round resolves at least one, so at most `pending.len()` rounds).
        loop {
            let before = pending.len();
            pending.retain(|(i, target)| {
                let found = latest
                    .get(target)
                    .filter(|&&j| j != *i)
                    .and_then(|&j| Some((placed[j].data.clone()?, placed[j].raw.size)));
                match found {
                    Some((d, size)) => {
                        placed[*i].data = Some(d);
                        placed[*i].raw.size = size;
                        placed[*i].linked = true;
                        false
                    }
                    None => true,
                }
            });
            if pending.len() == before {
                break;
            }
        }
        for (i, target) in pending {
            placed[i].data = Some(Err(format!(
                "hard link to `{}`, which the archive does not hold",
                crate::model::bytes_to_lossless_string(&target)
            )));
        }
    }

    /// Keeps the last member of each path, as extraction would; earlier members whose bytes
    /// or link differ are a gap (they were not examined).
    fn settle_duplicates(&mut self, mut placed: Vec<Placed>) -> Vec<Placed> {
        // A stable sort keeps archive order among members of one path.
        placed.sort_by(|a, b| a.path.cmp(&b.path));
        let mut out = Vec::with_capacity(placed.len());
        let mut members = placed.into_iter().peekable();
        while let Some(mut last) = members.next() {
            let mut shadowed = 0u64;
            while let Some(next) = members.next_if(|n| n.path == last.path) {
                let same = last.raw.kind == next.raw.kind
                    && last.data == next.data
                    && last.raw.link == next.raw.link;
                let empty = last.raw.kind == EntryKind::Dir
                    || (last.raw.kind == EntryKind::File && last.raw.size == 0);
                if !same && !empty {
                    shadowed += 1;
                }
                last = next;
            }
            if shadowed > 0 {
                self.gaps.push(Gap::new(
                    EvPath::new(last.path.clone()),
                    GapCause::CorruptArchive,
                    format!(
                        "{} members have this name; only the last was examined (extraction keeps the last)",
                        shadowed + 1
                    ),
                    true,
                ));
            }
            out.push(last);
        }
        out
    }

    /// Fills the index from members sorted by path, applying the link budget in that order.
    fn fill(&mut self, winners: Vec<Placed>, limits: &Limits) {
        let mut unstored: u64 = 0;
        for p in winners {
            let m = p.raw;
            let again = match &p.data {
                Some(Ok(_)) if p.linked => m.size,
                Some(Ok(Data::Sparse { runs, .. })) => m
                    .size
                    .saturating_sub(runs.iter().map(|r| r.len).sum::<u64>()),
                _ => 0,
            };
            let mut data = p.data;
            if again > 0 {
                match unstored.checked_add(again) {
                    Some(t) if t <= limits.max_link_bytes => unstored = t,
                    _ => {
                        data = Some(Err(format!(
                            "not read: hard links and sparse holes already present {unstored} bytes the archive does not store, and this one would pass --max-link-bytes ({} bytes)",
                            limits.max_link_bytes
                        )));
                    }
                }
            }
            let type_bits = match m.kind {
                EntryKind::Dir => 0o040_000,
                EntryKind::Symlink => 0o120_000,
                EntryKind::Fifo => 0o010_000,
                EntryKind::CharDevice => 0o020_000,
                EntryKind::BlockDevice => 0o060_000,
                _ => 0o100_000,
            };
            self.placing.push(Entry {
                path: EvPath::new(p.path),
                kind: m.kind,
                size: m.size,
                mode: type_bits | m.mode,
                uid: m.uid,
                gid: m.gid,
                mtime: m.mtime,
                btime: None,
                atime: m.atime,
                ctime: m.ctime,
                link_target: if m.kind == EntryKind::Symlink {
                    m.link
                } else {
                    None
                },
                identity: None,
            });
            self.data.push(data);
        }
    }

    fn find(&self, p: &EvPath) -> Option<usize> {
        self.entries.binary_search_by(|e| e.path.cmp(p)).ok()
    }
}

/// Reads one member with positioned reads; sparse holes read as zeros. Where the archive ends
/// before the member does (a cut archive), the read fails: the bytes not there are a gap, not
/// a shorter file.
struct MemberReader<'a> {
    src: &'a dyn ReadAt,
    data: Data,
    size: u64,
    pos: u64,
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size.saturating_sub(self.pos);
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let n = match &self.data {
            Data::Contiguous(at) => {
                let off = at.checked_add(self.pos).ok_or_else(overflow)?;
                self.src.read_at(&mut buf[..want], off)?
            }
            Data::Sparse { at, runs } => {
                sparse_read(self.src, *at, runs, self.pos, &mut buf[..want])?
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the archive ends {} bytes into this member of {} bytes: it was cut",
                    self.pos, self.size
                ),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

fn overflow() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "archive offset overflows")
}

/// Reads at logical `pos` of a sparse member whose runs are stored one after another from
/// `at`. Zeros up to the next run; a run's stored bytes otherwise.
fn sparse_read(
    src: &dyn ReadAt,
    at: u64,
    runs: &[index::StoredRun],
    pos: u64,
    buf: &mut [u8],
) -> io::Result<usize> {
    // The first run that ends after `pos` (runs are sorted and checked at indexing).
    let i = runs.partition_point(|r| r.offset + r.len <= pos);
    let Some(run) = runs.get(i) else {
        buf.fill(0);
        return Ok(buf.len());
    };
    if pos < run.offset {
        let n = usize::try_from(run.offset - pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        buf[..n].fill(0);
        return Ok(n);
    }
    let within = pos - run.offset;
    let n = usize::try_from(run.len - within)
        .unwrap_or(usize::MAX)
        .min(buf.len());
    let off = at
        .checked_add(run.stored)
        .and_then(|x| x.checked_add(within))
        .ok_or_else(overflow)?;
    src.read_at(&mut buf[..n], off)
}

impl Evidence for TarEvidence {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn describe(&self) -> Option<String> {
        Some(self.description.clone())
    }

    fn list(&self) -> Listing {
        Listing {
            entries: Arc::clone(&self.entries),
            gaps: self.gaps.clone(),
        }
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        let i = self
            .find(&entry.path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        match &self.data[i] {
            Some(Ok(d)) if self.entries[i].kind == EntryKind::File => Ok(Box::new(MemberReader {
                src: self.src.as_ref(),
                data: d.clone(),
                size: self.entries[i].size,
                pos: 0,
            })),
            Some(Err(why)) => Err(io::Error::other(why.clone())),
            _ => Err(io::Error::other("not a regular file")),
        }
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        self.names.resolve(&self.entries, path).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_dotdot_stops_at_the_root() {
        assert_eq!(
            clean_path(b"./var/log/ns.log"),
            (b"var/log/ns.log".to_vec(), false)
        );
        assert_eq!(
            clean_path(b"/flash//nsconfig/"),
            (b"flash/nsconfig".to_vec(), false)
        );
        assert_eq!(
            clean_path(b"var/log/../tmp/x"),
            (b"var/tmp/x".to_vec(), true)
        );
        assert_eq!(
            clean_path(b"../../../etc/passwd"),
            (b"etc/passwd".to_vec(), true)
        );
        assert_eq!(clean_path(b"./"), (Vec::new(), false));
    }

    #[test]
    fn sparse_reads_fill_holes_with_zeros() {
        let stored: Vec<u8> = b"AABBB".to_vec();
        let runs = [
            index::StoredRun {
                offset: 2,
                len: 2,
                stored: 0,
            },
            index::StoredRun {
                offset: 6,
                len: 3,
                stored: 2,
            },
        ];
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < 10 {
            let mut b = [9u8; 3];
            let want = b.len().min(10 - pos as usize);
            let n = sparse_read(&stored, 0, &runs, pos, &mut b[..want]).unwrap();
            out.extend_from_slice(&b[..n]);
            pos += n as u64;
        }
        assert_eq!(out, b"\0\0AA\0\0BBB\0");
    }
}
