//! Where evidence comes from. Every input (a directory, a tar archive or stream, UFS disk
//! images, files held in memory) produces the same thing: a sorted list of [`Entry`] values
//! with appliance paths and metadata, plus a way to open a regular file's bytes read-only.
//!
//! Inputs never write to the evidence, never follow a symbolic link out of it, and never open
//! FIFOs, sockets or devices.

pub mod digest;
pub mod dir;
pub mod mem;
pub mod open;
pub mod partition;
pub mod resolve;
pub mod spool;
pub mod ssh;
pub mod tar;
pub mod ufs;
pub(crate) mod unsupported;

pub(crate) use resolve::{Lookup, Namespace, ResolveError, resolve_in_listing};

use crate::model::{EvPath, Gap, InputFile};
use std::io::Read;

/// How an appliance family's archives, disk images and SSH collection map onto its
/// filesystem. Data only: each family gives its own (see `crate::appliance`); the default maps
/// nothing (names are taken as they are, every image is mounted at `/`, SSH collects nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// The paths an SSH collection asks the appliance for.
    pub(crate) ssh_paths: &'static [&'static str],
    /// Paths under those left out of an SSH collection.
    pub(crate) ssh_exclude: &'static [&'static str],
    /// The command of the appliance's own CLI that runs a Unix shell command (`--ssh` without
    /// `--ssh-no-cli`), if it has such a CLI.
    pub(crate) ssh_shell: Option<&'static str>,
    /// A support bundle puts everything under one top folder whose name starts with this; the
    /// folder is removed from every name.
    pub(crate) bundle_top: Option<&'static str>,
    /// `(from, to)`: an archive's top folder `from/` is `to/` when the archive has no `to/`.
    pub(crate) aliases: &'static [(&'static str, &'static str)],
    /// Where a filesystem image is mounted, judged by the names in its root directory: the
    /// first rule that holds.
    pub(crate) mounts: &'static [MountRule],
}

/// One way to recognise a filesystem by its root directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MountRule {
    /// Where it is mounted (`""`: the root).
    pub(crate) at: &'static str,
    /// Names that must all be in its root.
    pub(crate) all: &'static [&'static str],
    /// Names of which at least one must be in its root (none: no such condition).
    pub(crate) any: &'static [&'static str],
}

impl Layout {
    /// Where a filesystem whose root holds `names` is mounted; `None` when no rule holds.
    pub(crate) fn mount_point(&self, names: &[Vec<u8>]) -> Option<&'static str> {
        let has = |n: &str| names.iter().any(|x| x == n.as_bytes());
        self.mounts
            .iter()
            .find(|r| {
                r.all.iter().all(|n| has(n)) && (r.any.is_empty() || r.any.iter().any(|n| has(n)))
            })
            .map(|r| r.at)
    }
}

/// Bounds on how much of an input is listed. Evidence is shaped by an attacker: a crafted
/// image can name millions of entries in a few megabytes, so the walk stops at a budget and
/// says so with a gap that blocks `clean`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Entries listed at most (`--max-entries`): files, folders and links of a folder or an
    /// image, members and sparse-map entries of an archive. A disk image's walk also stops
    /// after reading this many times 512 bytes of directory data or 256 bytes of paths,
    /// whichever comes first.
    pub max_entries: u64,
    /// Bytes an archive serves that it does not store once (`--max-link-bytes`): hard links'
    /// bytes again, and the zeros of sparse holes. Counted in path order; members past it are
    /// listed, not read.
    pub max_link_bytes: u64,
}

/// Default `--max-entries`: a full appliance holds about 100,000 entries; a scan of this many
/// peaks under 300 MiB.
pub(crate) const DEFAULT_MAX_ENTRIES: u64 = 250_000;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_link_bytes: 4 << 30,
        }
    }
}

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
    pub(crate) fn is_special(self) -> bool {
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
    /// Access time, Unix seconds, where the input holds one: a folder's (the copy's or the
    /// mounted filesystem's), a UFS inode's, a tar member's PAX `atime` or old GNU header field.
    pub atime: Option<i64>,
    /// Inode change time, Unix seconds, where the input holds one (as `atime`; PAX `ctime`).
    pub ctime: Option<i64>,
    /// For symbolic links: the target as stored in the link.
    pub link_target: Option<Vec<u8>>,
    /// Host-side identity used to detect a file swapped between listing and reading.
    pub identity: Option<(u64, u64)>,
}

/// The result of listing an input.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Sorted by path. Shared with the evidence that listed them: a listing of a hundred
    /// thousand entries is held once.
    pub entries: std::sync::Arc<[Entry]>,
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

    /// Every input file or stream with its size and SHA-256 as received, in the order given
    /// (empty for a folder). May wait for a digest still being computed beside the scan.
    fn inputs(&self) -> Vec<InputFile> {
        Vec::new()
    }

    /// Digests (sha256, md5) to use instead of hashing the bytes. Only rule examples stand
    /// in for malware this way; real evidence is always hashed.
    fn stated_digests(&self, _entry: &Entry) -> Option<(Option<String>, Option<String>)> {
        None
    }

    /// Facts about how the evidence was read that belong in the report's coverage but do not
    /// block a verdict, one sentence each (for example that access times may have changed).
    /// Asked after the scan: reading files may add to them.
    fn coverage_notes(&self) -> Vec<String> {
        Vec::new()
    }
}
