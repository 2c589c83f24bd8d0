//! Evidence in a tar archive: a `.tar`, `.tar.gz` / `.tgz`, a NetScaler support bundle
//! (`collector_*.tar.gz`), a tar on standard input, or a tar streamed over SSH.
//!
//! Nothing is extracted to the host's disk: the archive is read once and member data is kept in
//! memory. Paths map to appliance paths (a leading `./` or `/` is dropped; a support bundle's
//! top folder is removed and its `nsconfig/` mapped to `/flash/nsconfig`). Symlinks, hard links,
//! modes, owners and modification times come from the tar headers. A few bytes in front of the
//! archive (the banner the NetScaler CLI prints before a `shell` command's output) are skipped; a
//! damaged archive keeps the members before the damage and reports a gap with its offset.

use super::{Entry, EntryKind, Evidence, Listing};
use crate::model::{EvPath, Gap, GapCause};
use std::collections::HashMap;
use std::io::{self, Read};

/// How far into the stream the first tar header is looked for.
const BANNER_MAX: usize = 64 * 1024;

/// An archive read into memory.
#[derive(Debug)]
pub struct TarEvidence {
    kind: &'static str,
    entries: Vec<Entry>,
    /// Member data, by index into `entries` (empty for anything but regular files).
    data: Vec<Vec<u8>>,
    index: HashMap<EvPath, usize>,
    gaps: Vec<Gap>,
    /// What was found, for the report ("tar+gzip, 412 members, support bundle layout mapped").
    pub description: String,
}

/// True when `head` (the first bytes of a file) looks like a tar or a gzip stream.
pub fn looks_like_archive(head: &[u8]) -> bool {
    crate::scan::read::is_gzip(head) || find_tar_start(head).is_some()
}

/// Offset of the first plausible tar header (ustar magic, valid checksum) within the first
/// [`BANNER_MAX`] bytes, on any byte offset (a CLI banner need not be 512-byte aligned).
fn find_tar_start(b: &[u8]) -> Option<usize> {
    let limit = b.len().min(BANNER_MAX);
    (0..limit).find(|&off| {
        let Some(h) = b.get(off..off + 512) else {
            return false;
        };
        if &h[257..262] != b"ustar" {
            return false;
        }
        let stored = std::str::from_utf8(&h[148..156])
            .ok()
            .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
            .and_then(|s| u32::from_str_radix(s, 8).ok());
        let sum: u32 = h
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(x)
                }
            })
            .sum();
        stored == Some(sum)
    })
}

/// Drops `./` and `/` prefixes and empty or `.` components; refuses `..` (an archive member
/// must not name a place outside the appliance root).
fn clean_path(raw: &[u8]) -> Option<Vec<u8>> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return None,
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| parts.join(&b'/'))
}

impl TarEvidence {
    /// Reads a whole archive (plain or gzip) from `r`. `kind` names the input for the report.
    pub fn read(mut r: impl Read, kind: &'static str) -> io::Result<TarEvidence> {
        let mut raw = Vec::new();
        r.read_to_end(&mut raw)?;
        let mut gaps = Vec::new();
        let mut compressed = false;
        // The banner may precede a gzip stream too: look for the magic near the start.
        let gz_at = (0..raw.len().min(BANNER_MAX).saturating_sub(2))
            .find(|&i| raw[i..].starts_with(&[0x1f, 0x8b, 0x08]));
        let bytes = match gz_at {
            Some(at) if find_tar_start(&raw).is_none_or(|t| at < t) => {
                compressed = true;
                let mut out = Vec::new();
                let mut dec = flate2::read::MultiGzDecoder::new(&raw[at..]);
                if let Err(e) = dec.read_to_end(&mut out) {
                    gaps.push(Gap::new(
                        EvPath::root(),
                        GapCause::CorruptArchive,
                        format!(
                            "gzip stream damaged after {} bytes of archive: {e}",
                            out.len()
                        ),
                        true,
                    ));
                }
                out
            }
            _ => raw,
        };
        let start = find_tar_start(&bytes).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "no tar archive found (no ustar header in the first 64 KiB)",
            )
        })?;
        let mut ev = TarEvidence {
            kind,
            entries: Vec::new(),
            data: Vec::new(),
            index: HashMap::new(),
            gaps,
            description: String::new(),
        };
        ev.parse(&bytes[start..], start);
        let mapped = ev.map_layout();
        if mapped.is_some_and(|m| m.starts_with("support bundle")) && ev.kind == "tar" {
            ev.kind = "support-bundle";
        }
        ev.entries_sorted();
        let mut notes = vec![format!(
            "{}tar archive, {} members",
            if compressed { "gzip-compressed " } else { "" },
            ev.entries.len()
        )];
        if start > 0 {
            notes.push(format!("{start} bytes before the archive skipped"));
        }
        if let Some(m) = mapped {
            notes.push(m.to_owned());
        }
        ev.description = notes.join("; ");
        Ok(ev)
    }

    fn parse(&mut self, bytes: &[u8], base: usize) {
        let mut archive = tar::Archive::new(bytes);
        let iter = match archive.entries() {
            Ok(i) => i,
            Err(e) => {
                self.gaps.push(Gap::new(
                    EvPath::root(),
                    GapCause::CorruptArchive,
                    e.to_string(),
                    true,
                ));
                return;
            }
        };
        for item in iter {
            let mut member = match item {
                Ok(m) => m,
                Err(e) => {
                    self.gaps.push(Gap::new(
                        EvPath::root(),
                        GapCause::CorruptArchive,
                        format!("archive damaged, members after this point are missing: {e}"),
                        true,
                    ));
                    break;
                }
            };
            let offset = base as u64 + member.raw_header_position();
            let raw_path = member.path_bytes().into_owned();
            let Some(rel) = clean_path(&raw_path) else {
                continue;
            };
            let h = member.header();
            let mode = h.mode().unwrap_or(0o644) & 0o7777;
            let uid = h
                .uid()
                .ok()
                .and_then(|u| u32::try_from(u).ok())
                .unwrap_or(0);
            let gid = h
                .gid()
                .ok()
                .and_then(|g| u32::try_from(g).ok())
                .unwrap_or(0);
            let mtime = h
                .mtime()
                .ok()
                .and_then(|t| i64::try_from(t).ok())
                .unwrap_or(0);
            let et = h.entry_type();
            let link = member.link_name_bytes().map(|l| l.into_owned());
            let (kind, type_bits) = if et.is_dir() {
                (EntryKind::Dir, 0o040_000)
            } else if et.is_symlink() {
                (EntryKind::Symlink, 0o120_000)
            } else if et.is_fifo() {
                (EntryKind::Fifo, 0o010_000)
            } else if et.is_character_special() {
                (EntryKind::CharDevice, 0o020_000)
            } else if et.is_block_special() {
                (EntryKind::BlockDevice, 0o060_000)
            } else if et.is_file() || et.is_hard_link() || et == tar::EntryType::Continuous {
                (EntryKind::File, 0o100_000)
            } else {
                continue; // PAX / GNU metadata members are consumed by the tar reader
            };
            let mut data = Vec::new();
            if et.is_hard_link() {
                if let Some(target) = link.as_deref().and_then(clean_path)
                    && let Some(&i) = self.index.get(&EvPath::new(target))
                {
                    data = self.data[i].clone();
                }
            } else if kind == EntryKind::File
                && let Err(e) = member.read_to_end(&mut data)
            {
                self.gaps.push(Gap::new(
                    EvPath::new(rel.clone()),
                    GapCause::CorruptArchive,
                    format!("member data damaged at archive offset {offset}: {e}"),
                    true,
                ));
            }
            let path = EvPath::new(rel);
            let entry = Entry {
                path: path.clone(),
                kind,
                size: data.len() as u64,
                mode: type_bits | mode,
                uid,
                gid,
                mtime,
                btime: None,
                link_target: if kind == EntryKind::Symlink {
                    link
                } else {
                    None
                },
                identity: None,
            };
            match self.index.get(&path) {
                // A later member of the same name replaces the earlier one, as extraction would.
                Some(&i) => {
                    self.entries[i] = entry;
                    self.data[i] = data;
                }
                None => {
                    self.index.insert(path, self.entries.len());
                    self.entries.push(entry);
                    self.data.push(data);
                }
            }
        }
    }

    /// A support bundle has one `collector_*` top folder and keeps the configuration in
    /// `nsconfig/`: map it to the appliance layout. Returns what was done.
    fn map_layout(&mut self) -> Option<&'static str> {
        let tops: std::collections::BTreeSet<Vec<u8>> = self
            .entries
            .iter()
            .filter_map(|e| {
                e.path
                    .relative()
                    .split(|&b| b == b'/')
                    .next()
                    .map(<[u8]>::to_vec)
            })
            .collect();
        let strip: Option<Vec<u8>> = match tops.iter().next() {
            Some(t) if tops.len() == 1 && t.starts_with(b"collector_") => Some(t.clone()),
            _ => None,
        };
        let has_flash = self
            .entries
            .iter()
            .any(|e| e.path.relative().starts_with(b"flash/"));
        let mut nsconfig = false;
        for e in &mut self.entries {
            let mut rel = e.path.relative().to_vec();
            if let Some(s) = &strip {
                rel = rel
                    .strip_prefix(s.as_slice())
                    .map(|r| r.strip_prefix(b"/").unwrap_or(r).to_vec())
                    .unwrap_or_default();
            }
            if !has_flash && (rel == b"nsconfig" || rel.starts_with(b"nsconfig/")) {
                rel = [&b"flash/"[..], &rel].concat();
                nsconfig = true;
            }
            e.path = EvPath::new(rel);
        }
        // The removed top folder leaves with its data: entries and data stay index for index.
        let pairs = std::mem::take(&mut self.entries)
            .into_iter()
            .zip(std::mem::take(&mut self.data));
        (self.entries, self.data) = pairs.filter(|(e, _)| e.path.as_bytes() != b"/").unzip();
        match (strip.is_some(), nsconfig) {
            (true, _) => {
                Some("support bundle: top folder removed, nsconfig/ mapped to /flash/nsconfig")
            }
            (false, true) => Some("nsconfig/ mapped to /flash/nsconfig"),
            _ => None,
        }
    }

    fn entries_sorted(&mut self) {
        let mut pairs: Vec<(Entry, Vec<u8>)> = std::mem::take(&mut self.entries)
            .into_iter()
            .zip(std::mem::take(&mut self.data))
            .collect();
        pairs.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        pairs.dedup_by(|a, b| a.0.path == b.0.path);
        for (e, d) in pairs {
            self.entries.push(e);
            self.data.push(d);
        }
        self.index = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
    }
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
            entries: self.entries.clone(),
            gaps: self.gaps.clone(),
        }
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        match self.index.get(&entry.path) {
            Some(&i) if self.entries[i].kind == EntryKind::File => Ok(Box::new(&self.data[i][..])),
            Some(_) => Err(io::Error::other("not a regular file")),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        super::resolve_in_listing(path, |p| {
            match self.index.get(p).map(|&i| &self.entries[i]) {
                Some(e) if e.kind == EntryKind::Symlink => {
                    super::Lookup::Link(e.link_target.clone().unwrap_or_default())
                }
                Some(_) => super::Lookup::Exists,
                None if self.implied_dir(p) => super::Lookup::Exists,
                None => super::Lookup::Missing,
            }
        })
        .ok()
    }
}

impl TarEvidence {
    fn implied_dir(&self, p: &EvPath) -> bool {
        let prefix = [p.as_bytes(), b"/"].concat();
        let i = self
            .entries
            .partition_point(|e| e.path.as_bytes() < prefix.as_slice());
        self.entries
            .get(i)
            .is_some_and(|e| e.path.as_bytes().starts_with(&prefix))
    }
}
