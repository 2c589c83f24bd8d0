//! Evidence held in memory: entries built from (path, metadata, bytes), for tests, fuzzing and
//! callers that already hold the files (a rule example, a decoded stream). Never touches the
//! host's filesystem, never copies bytes on read, and never lists an entry twice.

use super::{Entry, EntryKind, Evidence, Listing, Namespace};
use crate::model::{EvPath, Gap};
use std::collections::HashMap;
use std::io::{self, Read};

/// The metadata of one in-memory entry: everything an [`Entry`] holds but its path and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub(crate) kind: EntryKind,
    /// Permission bits; the file type bits are added from `kind`.
    pub(crate) perm: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// Modification time, Unix seconds.
    pub(crate) mtime: i64,
    /// Birth time, Unix seconds, when the evidence is to keep one.
    pub(crate) btime: Option<i64>,
    /// For symbolic links: the target as stored.
    pub(crate) link_target: Option<Vec<u8>>,
}

impl Meta {
    /// A regular file, mode 0644, owned by root.
    pub fn file(mtime: i64) -> Meta {
        Meta {
            kind: EntryKind::File,
            perm: 0o644,
            uid: 0,
            gid: 0,
            mtime,
            btime: None,
            link_target: None,
        }
    }

    /// A directory, mode 0755, owned by root.
    pub fn dir(mtime: i64) -> Meta {
        Meta {
            kind: EntryKind::Dir,
            perm: 0o755,
            ..Meta::file(mtime)
        }
    }

    /// A symbolic link to `target`, mode 0755, owned by root.
    pub fn symlink(target: &[u8], mtime: i64) -> Meta {
        Meta {
            kind: EntryKind::Symlink,
            perm: 0o755,
            link_target: Some(target.to_vec()),
            ..Meta::file(mtime)
        }
    }
}

/// `st_mode` file type bits of a kind.
fn type_bits(kind: EntryKind) -> u32 {
    match kind {
        EntryKind::File => 0o100_000,
        EntryKind::Dir => 0o040_000,
        EntryKind::Symlink => 0o120_000,
        EntryKind::Fifo => 0o010_000,
        EntryKind::Socket => 0o140_000,
        EntryKind::CharDevice => 0o020_000,
        EntryKind::BlockDevice => 0o060_000,
        EntryKind::Other => 0,
    }
}

/// Evidence whose entries and bytes are held in memory.
#[derive(Debug, Default)]
pub struct MemEvidence {
    /// Sorted by path, one per path.
    entries: Vec<Entry>,
    /// Bytes of each entry (same index); only regular files' bytes are ever opened.
    contents: Vec<Vec<u8>>,
    index: HashMap<EvPath, usize>,
    /// The entries indexed for link resolution.
    names: Namespace,
    gaps: Vec<Gap>,
}

impl MemEvidence {
    /// Builds the evidence from `(path, metadata, bytes)`. A file's size is the length of its
    /// bytes, a link's the length of its target; a later entry with the same path replaces an
    /// earlier one, as a later member of an archive would.
    pub fn new(items: impl IntoIterator<Item = (EvPath, Meta, Vec<u8>)>) -> MemEvidence {
        let mut by_path: HashMap<EvPath, (Entry, Vec<u8>)> = HashMap::new();
        for (path, meta, bytes) in items {
            let size = match (&meta.kind, &meta.link_target) {
                (EntryKind::Symlink, Some(t)) => t.len(),
                (EntryKind::File, _) => bytes.len(),
                _ => 0,
            } as u64;
            let entry = Entry {
                path: path.clone(),
                kind: meta.kind,
                size,
                mode: type_bits(meta.kind) | (meta.perm & 0o7777),
                uid: meta.uid,
                gid: meta.gid,
                mtime: meta.mtime,
                btime: meta.btime,
                atime: None,
                ctime: None,
                link_target: meta.link_target.filter(|_| meta.kind == EntryKind::Symlink),
                identity: None,
            };
            by_path.insert(path, (entry, bytes));
        }
        let mut pairs: Vec<(Entry, Vec<u8>)> = by_path.into_values().collect();
        pairs.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let (entries, contents): (Vec<Entry>, Vec<Vec<u8>>) = pairs.into_iter().unzip();
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
        MemEvidence {
            names: Namespace::new(&entries),
            entries,
            contents,
            index,
            gaps: Vec::new(),
        }
    }

    /// Adds a listing gap (an entry the evidence is to report as not listable).
    pub fn with_gap(mut self, gap: Gap) -> MemEvidence {
        self.gaps.push(gap);
        self
    }
}

impl Evidence for MemEvidence {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn list(&self) -> Listing {
        Listing {
            entries: self.entries.clone().into(),
            gaps: self.gaps.clone(),
        }
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        match self.index.get(&entry.path) {
            Some(&i) if self.entries[i].kind == EntryKind::File => {
                Ok(Box::new(&self.contents[i][..]))
            }
            Some(_) => Err(io::Error::other("not a regular file")),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        self.names.resolve(&self.entries, path).ok()
    }

    fn describe(&self) -> Option<String> {
        Some(format!(
            "in-memory evidence, {} entries",
            self.entries.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> EvPath {
        EvPath::new(s.as_bytes().to_vec())
    }

    fn sample() -> MemEvidence {
        MemEvidence::new([
            (p("var/log/ns.log"), Meta::file(10), b"old".to_vec()),
            (
                p("nsconfig"),
                Meta::symlink(b"/flash/nsconfig", 1),
                Vec::new(),
            ),
            (
                p("flash/nsconfig/ns.conf"),
                Meta::file(2),
                b"set ns".to_vec(),
            ),
            (
                p("var/log/ns.log"),
                Meta::file(20),
                b"newer line\n".to_vec(),
            ),
            (p("var/tmp"), Meta::dir(3), Vec::new()),
        ])
    }

    #[test]
    fn lists_once_sorted_with_sizes_and_modes() {
        let l = sample().list();
        let paths: Vec<_> = l.entries.iter().map(|e| e.path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                p("flash/nsconfig/ns.conf"),
                p("nsconfig"),
                p("var/log/ns.log"),
                p("var/tmp")
            ]
        );
        let log = &l.entries[2];
        assert_eq!((log.size, log.mtime, log.mode), (11, 20, 0o100_644));
        assert_eq!(l.entries[1].size, 15);
        assert_eq!(l.entries[3].mode, 0o040_755);
        assert!(l.gaps.is_empty());
    }

    #[test]
    fn opens_regular_files_only() {
        let ev = sample();
        let l = ev.list();
        let mut text = String::new();
        ev.open(&l.entries[2])
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "newer line\n");
        assert!(ev.open(&l.entries[1]).is_err());
        assert!(ev.open(&l.entries[3]).is_err());
        let mut gone = l.entries[2].clone();
        gone.path = p("var/log/bash.log");
        assert_eq!(
            ev.open(&gone).err().map(|e| e.kind()),
            Some(io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn resolves_links_and_implied_folders_inside_the_evidence() {
        let ev = sample();
        assert_eq!(
            ev.resolve(&p("nsconfig/ns.conf")),
            Some(p("flash/nsconfig/ns.conf"))
        );
        assert_eq!(ev.resolve(&p("var/log")), Some(p("var/log")));
        assert_eq!(ev.resolve(&p("var/log/../../..")), Some(EvPath::root()));
        assert_eq!(ev.resolve(&p("var/missing")), None);
    }
}
