//! Symbolic links resolved the way the appliance would, with the evidence root as `/`; never
//! consults anything outside the evidence and never does unbounded work.
//!
//! Absolute targets restart at the evidence root and `..` never climbs above it. A resolution
//! follows at most `MAX_LINKS` links (Linux's MAXSYMLINKS), reads targets of at most
//! `MAX_TARGET` bytes (PATH_MAX), looks up at most `MAX_STEPS` names and never builds a
//! path longer than `MAX_PATH` bytes: anything beyond is "not resolved", never a guess.
//!
//! Two ways to look names up: `resolve_in_listing` asks a closure about whole paths (inputs
//! without an index), `Namespace` indexes a sorted listing once so that each name costs a
//! binary search, independent of how deep the path is.

use super::{Entry, EntryKind};
use crate::model::{EvPath, Gap, GapCause};
use std::collections::HashMap;

/// Links followed per resolution before it counts as a loop (Linux's MAXSYMLINKS).
pub(crate) const MAX_LINKS: u32 = 40;
/// Longest link target read (Linux's PATH_MAX; FreeBSD's MAXPATHLEN is 1024).
pub(crate) const MAX_TARGET: usize = 4096;
/// Names looked up per resolution.
pub(crate) const MAX_STEPS: u32 = 4096;
/// Longest path a resolution may build.
pub(crate) const MAX_PATH: usize = 4096;

/// Why a path could not be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResolveError {
    /// A component does not exist.
    NotFound,
    /// More than [`MAX_LINKS`] symbolic links (a loop).
    Loop,
    /// A link target longer than [`MAX_TARGET`], or a path longer than [`MAX_PATH`] bytes.
    TooLong,
    /// More than [`MAX_STEPS`] names to look up.
    TooManySteps,
}

impl ResolveError {
    /// Why, in words, for a gap.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ResolveError::NotFound => "points to nothing inside the evidence",
            ResolveError::Loop => "symbolic link loops (more than 40 links)",
            ResolveError::TooLong => "target or resolved path longer than 4096 bytes: not resolved",
            ResolveError::TooManySteps => {
                "resolving it takes more than 4096 name look-ups: not resolved"
            }
        }
    }
}

/// What a path is, for [`resolve_in_listing`].
pub(crate) enum Lookup {
    /// A symbolic link, with its target as stored.
    Link(Vec<u8>),
    /// Anything else that exists (a directory may exist only through the entries below it).
    Exists,
    Missing,
}

/// A position in the evidence tree that a resolution moves through, one name at a time.
trait Cursor {
    fn to_root(&mut self);
    fn to_parent(&mut self);
    /// Steps into `name`, or says it is a symbolic link.
    fn enter(&mut self, name: &[u8]) -> Result<Step, ResolveError>;
    /// Bytes of the path the cursor is at.
    fn path_len(&self) -> usize;
}

/// What stepping into a name did.
enum Step {
    Entered,
    /// A symbolic link with this target, for the caller to follow.
    Link(Vec<u8>),
    /// A symbolic link the cursor followed itself (a memoised expansion): the outcome and
    /// what it spent, the link included.
    Followed {
        outcome: Result<(), ResolveError>,
        links: u32,
        steps: u32,
    },
}

/// What one resolution has spent.
#[derive(Default)]
struct Spent {
    links: u32,
    steps: u32,
}

/// A link target that can be followed at all.
fn check_target(target: &[u8]) -> Result<(), ResolveError> {
    if target.len() > MAX_TARGET {
        return Err(ResolveError::TooLong);
    }
    // An empty target names nothing (ENOENT on Linux and FreeBSD alike).
    if target.is_empty() {
        return Err(ResolveError::NotFound);
    }
    Ok(())
}

/// Walks `path` from where the cursor is. Recursion depth is bounded by [`MAX_LINKS`].
fn follow(c: &mut impl Cursor, path: &[u8], spent: &mut Spent) -> Result<(), ResolveError> {
    for name in path.split(|&b| b == b'/') {
        match name {
            b"" | b"." => continue,
            b".." => {
                c.to_parent();
                continue;
            }
            _ => {}
        }
        spent.steps += 1;
        if spent.steps > MAX_STEPS {
            return Err(ResolveError::TooManySteps);
        }
        match c.enter(name)? {
            Step::Entered => {}
            Step::Link(target) => {
                spent.links += 1;
                if spent.links > MAX_LINKS {
                    return Err(ResolveError::Loop);
                }
                check_target(&target)?;
                if target[0] == b'/' {
                    c.to_root();
                }
                follow(c, &target, spent)?;
            }
            Step::Followed {
                outcome,
                links,
                steps,
            } => {
                // The expansion alone is what it is wherever it happens; only the budget
                // spent before it differs.
                spent.links = spent.links.saturating_add(links);
                spent.steps = spent.steps.saturating_add(steps);
                if spent.links > MAX_LINKS {
                    return Err(ResolveError::Loop);
                }
                if spent.steps > MAX_STEPS {
                    return Err(ResolveError::TooManySteps);
                }
                outcome?;
            }
        }
        if c.path_len() > MAX_PATH {
            return Err(ResolveError::TooLong);
        }
    }
    Ok(())
}

/// Asks a closure about whole paths; the path being built is extended and cut in place.
struct PathCursor<F> {
    at: EvPath,
    lookup: F,
}

impl<F: FnMut(&EvPath) -> Lookup> Cursor for PathCursor<F> {
    fn to_root(&mut self) {
        self.at = EvPath::root();
    }

    fn to_parent(&mut self) {
        self.at.pop();
    }

    fn enter(&mut self, name: &[u8]) -> Result<Step, ResolveError> {
        self.at.push(name);
        match (self.lookup)(&self.at) {
            Lookup::Exists => Ok(Step::Entered),
            Lookup::Link(t) => {
                self.at.pop();
                Ok(Step::Link(t))
            }
            Lookup::Missing => Err(ResolveError::NotFound),
        }
    }

    fn path_len(&self) -> usize {
        self.at.len()
    }
}

/// Resolves `path` the way the appliance would, with the evidence root as `/`, asking
/// `lookup` what each path is. Nothing outside the evidence is ever consulted.
///
/// Each look-up is given the whole path so far; inputs that can index their listing should use
/// [`Namespace`], whose look-ups do not grow with the depth of the path.
pub(crate) fn resolve_in_listing(
    path: &EvPath,
    lookup: impl FnMut(&EvPath) -> Lookup,
) -> Result<EvPath, ResolveError> {
    let mut c = PathCursor {
        at: EvPath::root(),
        lookup,
    };
    follow(&mut c, path.relative(), &mut Spent::default())?;
    Ok(c.at)
}

/// Root of a [`Namespace`].
const ROOT: usize = 0;

/// A name in the tree: an entry, or a directory that exists only through the entries below it.
#[derive(Clone, Copy, Debug)]
struct Node {
    parent: usize,
    /// An entry whose path spells this node's path (the node itself when `own`).
    entry: usize,
    /// The node's name is `entries[entry].path[start..end]`; its path is `[..end]`.
    start: usize,
    end: usize,
    own: bool,
}

/// An index of a listing sorted by path, for resolving links in time that depends on the
/// number of names looked up, not on how long the paths are.
#[derive(Debug, Default)]
pub(crate) struct Namespace {
    nodes: Vec<Node>,
    /// Node ids sorted by (parent, name).
    by_name: Vec<usize>,
}

impl Namespace {
    /// Indexes `entries`. Later look-ups must be given the same slice.
    pub(crate) fn new(entries: &[Entry]) -> Namespace {
        let mut nodes = vec![Node {
            parent: ROOT,
            entry: usize::MAX,
            start: 1,
            end: 1,
            own: false,
        }];
        let mut children: HashMap<(usize, &[u8]), usize> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let bytes = e.path.as_bytes();
            let mut cur = ROOT;
            let mut start = 1;
            let mut last = (1, 1);
            for name in bytes.get(1..).unwrap_or_default().split(|&b| b == b'/') {
                let end = start + name.len();
                if !name.is_empty() {
                    last = (start, end);
                    cur = *children.entry((cur, name)).or_insert_with(|| {
                        nodes.push(Node {
                            parent: cur,
                            entry: i,
                            start,
                            end,
                            own: false,
                        });
                        nodes.len() - 1
                    });
                }
                start = end + 1;
            }
            if cur != ROOT {
                // The node may have been made for a path below it: it now takes its name from
                // its own entry.
                nodes[cur] = Node {
                    entry: i,
                    start: last.0,
                    end: last.1,
                    own: true,
                    ..nodes[cur]
                };
            }
        }
        let mut by_name: Vec<usize> = (1..nodes.len()).collect();
        let name = |n: &Node| &entries[n.entry].path.as_bytes()[n.start..n.end];
        by_name.sort_by(|&a, &b| {
            let (a, b) = (&nodes[a], &nodes[b]);
            (a.parent, name(a)).cmp(&(b.parent, name(b)))
        });
        Namespace { nodes, by_name }
    }

    fn child(&self, entries: &[Entry], dir: usize, name: &[u8]) -> Option<usize> {
        let key = |n: usize| {
            let node = &self.nodes[n];
            let path = entries[node.entry].path.as_bytes();
            (node.parent, &path[node.start..node.end])
        };
        self.by_name
            .binary_search_by(|&n| key(n).cmp(&(dir, name)))
            .ok()
            .map(|i| self.by_name[i])
    }

    fn path(&self, entries: &[Entry], n: usize) -> EvPath {
        let node = &self.nodes[n];
        if n == ROOT {
            return EvPath::root();
        }
        EvPath::new(entries[node.entry].path.as_bytes()[..node.end].to_vec())
    }

    /// Resolves `path` the way the appliance would (see [`resolve_in_listing`]).
    pub(crate) fn resolve(&self, entries: &[Entry], path: &EvPath) -> Result<EvPath, ResolveError> {
        self.resolve_with(entries, path, &mut HashMap::new())
    }

    fn resolve_with(
        &self,
        entries: &[Entry],
        path: &EvPath,
        memo: &mut HashMap<usize, Memo>,
    ) -> Result<EvPath, ResolveError> {
        let mut c = NodeCursor {
            ns: self,
            entries,
            at: ROOT,
            memo,
        };
        follow(&mut c, path.relative(), &mut Spent::default())?;
        let at = c.at;
        Ok(self.path(entries, at))
    }

    /// A gap (never blocking) for every symbolic link that loops or cannot be resolved within
    /// the bounds; links that point to nothing are common and not reported. Each link's
    /// target is followed once for all of them.
    pub(crate) fn link_gaps(&self, entries: &[Entry]) -> Vec<Gap> {
        let mut memo = HashMap::new();
        entries
            .iter()
            .filter(|e| e.kind == EntryKind::Symlink)
            .filter_map(|e| match self.resolve_with(entries, &e.path, &mut memo) {
                Err(err) if err != ResolveError::NotFound => Some(Gap::new(
                    e.path.clone(),
                    GapCause::BrokenSymlink,
                    err.describe(),
                    false,
                )),
                _ => None,
            })
            .collect()
    }
}

/// A link's expansion: its target followed from the link's folder with nothing spent before.
/// It is the same wherever the link is met, so it is worked out once.
#[derive(Clone, Copy)]
enum Memo {
    /// Being worked out: meeting the link again inside its own expansion is a loop.
    Busy,
    Done {
        at: Result<usize, ResolveError>,
        links: u32,
        steps: u32,
    },
}

struct NodeCursor<'a> {
    ns: &'a Namespace,
    entries: &'a [Entry],
    at: usize,
    memo: &'a mut HashMap<usize, Memo>,
}

impl NodeCursor<'_> {
    /// The expansion of link node `n` with `target`, from the memo or worked out now.
    fn expand(&mut self, n: usize, target: &[u8]) -> Memo {
        match self.memo.get(&n) {
            Some(Memo::Busy) => {
                return Memo::Done {
                    at: Err(ResolveError::Loop),
                    links: MAX_LINKS + 1,
                    steps: 0,
                };
            }
            Some(done) => return *done,
            None => {}
        }
        self.memo.insert(n, Memo::Busy);
        let start = if target.first() == Some(&b'/') {
            ROOT
        } else {
            self.at
        };
        let mut sub = NodeCursor {
            ns: self.ns,
            entries: self.entries,
            at: start,
            memo: &mut *self.memo,
        };
        let mut spent = Spent { links: 1, steps: 0 };
        let outcome = check_target(target).and_then(|()| follow(&mut sub, target, &mut spent));
        let done = Memo::Done {
            at: outcome.map(|()| sub.at),
            links: spent.links,
            steps: spent.steps,
        };
        self.memo.insert(n, done);
        done
    }
}

impl Cursor for NodeCursor<'_> {
    fn to_root(&mut self) {
        self.at = ROOT;
    }

    fn to_parent(&mut self) {
        self.at = self.ns.nodes[self.at].parent;
    }

    fn enter(&mut self, name: &[u8]) -> Result<Step, ResolveError> {
        let n = self
            .ns
            .child(self.entries, self.at, name)
            .ok_or(ResolveError::NotFound)?;
        let node = self.ns.nodes[n];
        let entries = self.entries;
        let e = &entries[node.entry];
        if !(node.own && e.kind == EntryKind::Symlink) {
            self.at = n;
            return Ok(Step::Entered);
        }
        let target = e.link_target.as_deref().ok_or(ResolveError::NotFound)?;
        let Memo::Done { at, links, steps } = self.expand(n, target) else {
            return Err(ResolveError::Loop);
        };
        if let Ok(a) = at {
            self.at = a;
        }
        Ok(Step::Followed {
            outcome: at.map(|_| ()),
            links,
            steps,
        })
    }

    fn path_len(&self) -> usize {
        self.ns.nodes[self.at].end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn entry(path: &str, kind: EntryKind, target: Option<&str>) -> Entry {
        Entry {
            path: EvPath::new(path.as_bytes().to_vec()),
            kind,
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            btime: None,
            atime: None,
            ctime: None,
            link_target: target.map(|t| t.as_bytes().to_vec()),
            identity: None,
        }
    }

    fn listing() -> Vec<Entry> {
        let mut v = vec![
            entry("/flash", EntryKind::Dir, None),
            entry("/flash/nsconfig", EntryKind::Dir, None),
            entry("/flash/nsconfig/ns.conf", EntryKind::File, None),
            entry("/nsconfig", EntryKind::Symlink, Some("/flash/nsconfig")),
            entry("/var/a", EntryKind::Symlink, Some("b")),
            entry("/var/b", EntryKind::Symlink, Some("a")),
            entry("/var/up", EntryKind::Symlink, Some("../../../../etc/x")),
            entry(
                "/var/rel",
                EntryKind::Symlink,
                Some("../flash/./nsconfig/../nsconfig"),
            ),
            // `/etc` exists only through the entry below it, as in a tar without folders.
            entry("/etc/x", EntryKind::File, None),
            entry("/var/tmp/the", EntryKind::File, None),
            entry("/var/tmp-x", EntryKind::File, None),
        ];
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    fn by_path(entries: &[Entry], p: &EvPath) -> Result<EvPath, ResolveError> {
        resolve_in_listing(p, |q| {
            let prefix = [q.as_bytes(), b"/"].concat();
            match entries.iter().find(|e| e.path == *q) {
                Some(e) if e.kind == EntryKind::Symlink => {
                    Lookup::Link(e.link_target.clone().unwrap_or_default())
                }
                Some(_) => Lookup::Exists,
                None if entries
                    .iter()
                    .any(|e| e.path.as_bytes().starts_with(&prefix)) =>
                {
                    Lookup::Exists
                }
                None => Lookup::Missing,
            }
        })
    }

    fn both(path: &str) -> Result<EvPath, ResolveError> {
        let entries = listing();
        let p = EvPath::new(path.as_bytes().to_vec());
        let by_path = by_path(&entries, &p);
        let by_node = Namespace::new(&entries).resolve(&entries, &p);
        assert_eq!(by_path, by_node, "{path}");
        by_node
    }

    #[test]
    fn both_resolvers_agree_inside_the_root() {
        let ok = |p: &str| both(p).map(|r| String::from_utf8(r.as_bytes().to_vec()).unwrap());
        assert_eq!(
            ok("/nsconfig/ns.conf").as_deref(),
            Ok("/flash/nsconfig/ns.conf")
        );
        assert_eq!(
            ok("/var/rel/ns.conf").as_deref(),
            Ok("/flash/nsconfig/ns.conf")
        );
        assert_eq!(ok("/var/up").as_deref(), Ok("/etc/x"));
        assert_eq!(ok("/../../etc").as_deref(), Ok("/etc"));
        assert_eq!(ok("/var/tmp/the").as_deref(), Ok("/var/tmp/the"));
        assert_eq!(ok("/").as_deref(), Ok("/"));
        assert_eq!(both("/var/a"), Err(ResolveError::Loop));
        assert_eq!(both("/var/nope"), Err(ResolveError::NotFound));
        assert_eq!(both("/etc/x/y"), Err(ResolveError::NotFound));
    }

    /// A link target of 20,000 components was resolved with a copy of the whole path per
    /// component: quadratic. Targets longer than PATH_MAX are refused before any look-up.
    #[test]
    fn long_link_targets_are_refused_without_looking_them_up() {
        let deep = vec!["a"; 20_000].join("/");
        let calls = Cell::new(0u32);
        let got = resolve_in_listing(&EvPath::new(&b"/flash/boot"[..]), |p| {
            calls.set(calls.get() + 1);
            if p.as_bytes() == b"/flash" {
                Lookup::Link(deep.clone().into_bytes())
            } else {
                Lookup::Exists
            }
        });
        assert_eq!(got, Err(ResolveError::TooLong));
        assert_eq!(calls.get(), 1);
        // Just under the limit, each name is looked up once.
        let ok = vec!["a"; 2000].join("/");
        calls.set(0);
        let got = resolve_in_listing(&EvPath::new(&b"/flash/boot"[..]), |p| {
            calls.set(calls.get() + 1);
            if p.as_bytes() == b"/flash" {
                Lookup::Link(ok.clone().into_bytes())
            } else {
                Lookup::Exists
            }
        });
        assert_eq!(got.unwrap().len(), 1 + ok.len() + "/boot".len());
        assert_eq!(calls.get(), 1 + 2000 + 1);
    }

    #[test]
    fn work_per_resolution_is_bounded() {
        // Each link adds 801 look-ups: a chain of six goes past 4,096.
        let mut entries = vec![entry("/a", EntryKind::Dir, None)];
        let pad = "a/../".repeat(800);
        for i in 0..10 {
            entries.push(entry(
                &format!("/l{i}"),
                EntryKind::Symlink,
                Some(&format!("{pad}l{}", i + 1)),
            ));
        }
        entries.push(entry("/l10", EntryKind::Dir, None));
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let ns = Namespace::new(&entries);
        let r = |p: &str| ns.resolve(&entries, &EvPath::new(p.as_bytes().to_vec()));
        assert_eq!(r("/l9").unwrap().as_bytes(), b"/l10");
        assert_eq!(r("/l0"), Err(ResolveError::TooManySteps));
        let gaps = ns.link_gaps(&entries);
        assert_eq!(gaps.len(), 5, "{gaps:?}");
        // Each link's expansion is worked out once for all links, with the same answers.
        for e in &entries {
            assert_eq!(by_path(&entries, &e.path), r(&e.path.to_lossless_string()));
        }
        assert!(gaps.iter().all(|g| !g.blocks_clean));
    }
}
