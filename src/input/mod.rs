//! Where evidence comes from. Every input (a directory, a tar archive or stream, UFS disk
//! images, files held in memory) produces the same thing: a sorted list of [`Entry`] values
//! with appliance paths and metadata, plus a way to open a regular file's bytes read-only.
//!
//! Inputs never write to the evidence, never follow a symbolic link out of it, and never open
//! FIFOs, sockets or devices.

pub mod dir;
pub mod mem;
pub mod open;
pub mod tar;
pub mod ufs;

use crate::model::{EvPath, Gap};
use std::io::Read;

/// The kind of a filesystem entry, from `lstat` (links are not followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

impl EntryKind {
    /// FIFOs, sockets and devices: never opened.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            EntryKind::Fifo
                | EntryKind::Socket
                | EntryKind::CharDevice
                | EntryKind::BlockDevice
                | EntryKind::Other
        )
    }
}

/// One entry of the evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path inside the evidence (`/var/log/ns.log`).
    pub path: EvPath,
    pub kind: EntryKind,
    pub size: u64,
    /// Permission bits and file type bits (`st_mode`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time, Unix seconds.
    pub mtime: i64,
    /// Birth (creation) time, Unix seconds, when the input preserves the original one. A copied
    /// or mounted directory does not (its birth times are those of the copy): `None`.
    pub btime: Option<i64>,
    /// For symbolic links: the target as stored in the link.
    pub link_target: Option<Vec<u8>>,
    /// Host-side identity used to detect a file swapped between listing and reading.
    pub identity: Option<(u64, u64)>,
}

/// The result of listing an input.
#[derive(Debug, Default)]
pub struct Listing {
    /// Sorted by path.
    pub entries: Vec<Entry>,
    /// Entries that could not be listed or resolved.
    pub gaps: Vec<Gap>,
}

/// A source of evidence with random access to file contents.
pub trait Evidence: Sync {
    /// The input kind for the report (`directory`).
    fn kind(&self) -> &'static str;

    /// Lists every entry once, sorted by path.
    fn list(&self) -> Listing;

    /// Opens a regular file for reading. Fails (never blocks) for anything that is not a
    /// regular file at read time, or that is no longer the file that was listed.
    fn open(&self, entry: &Entry) -> std::io::Result<Box<dyn Read + Send + '_>>;

    /// Resolves `path` inside the evidence, following symbolic links as the appliance would
    /// (absolute targets are relative to the evidence root, `..` stops at the root). Returns
    /// the final path, or `None` if it does not exist or the links loop.
    fn resolve(&self, path: &EvPath) -> Option<EvPath>;

    /// What the input held, for the report (archive kind, members, layout mapping).
    fn describe(&self) -> Option<String> {
        None
    }

    /// Digests (sha256, md5) to use instead of hashing the bytes. Only rule examples stand
    /// in for malware this way; real evidence is always hashed.
    fn stated_digests(&self, _entry: &Entry) -> Option<(Option<String>, Option<String>)> {
        None
    }
}

/// What a path is, for [`resolve_in_listing`].
pub enum Lookup {
    /// A symbolic link, with its target as stored.
    Link(Vec<u8>),
    /// Anything else that exists (a directory may exist only through the entries below it).
    Exists,
    Missing,
}

/// Why a path could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// A component does not exist.
    NotFound,
    /// More than 40 symbolic links (a loop).
    Loop,
}

/// Resolves `path` the way the appliance would, with the evidence root as `/`: absolute link
/// targets restart at the root, `..` never climbs above it, at most 40 links (as Linux's
/// MAXSYMLINKS). `lookup` says what a path is; nothing outside the evidence is ever consulted.
pub fn resolve_in_listing(
    path: &EvPath,
    lookup: impl Fn(&EvPath) -> Lookup,
) -> Result<EvPath, ResolveError> {
    let split = |b: &[u8]| {
        b.split(|&c| c == b'/')
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>()
    };
    let mut pending: Vec<Vec<u8>> = split(path.relative()).into_iter().rev().collect();
    let mut done: Vec<Vec<u8>> = Vec::new();
    let mut links = 0;
    while let Some(c) = pending.pop() {
        if c.is_empty() || c == b"." {
            continue;
        }
        if c == b".." {
            done.pop();
            continue;
        }
        let mut candidate = done.clone();
        candidate.push(c.clone());
        match lookup(&EvPath::new(candidate.join(&b'/'))) {
            Lookup::Link(t) => {
                links += 1;
                if links > 40 {
                    return Err(ResolveError::Loop);
                }
                if t.first() == Some(&b'/') {
                    done.clear();
                }
                pending.extend(split(&t).into_iter().rev());
            }
            Lookup::Exists => done.push(c),
            Lookup::Missing => return Err(ResolveError::NotFound),
        }
    }
    Ok(EvPath::new(done.join(&b'/')))
}
