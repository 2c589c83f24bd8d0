//! In-process evidence, for the tests that call the library: look-ups in any evidence's
//! listing, and a mock evidence whose files shrink, fail or trickle mid-read, with the scan and
//! the verdict of the library on it.

use sporen::input::{Entry, EntryKind, Evidence, Listing};
use sporen::model::{EvPath, Gap};
use sporen::rules::RuleSet;
use sporen::scan::{ScanOptions, ScanOutput, Scanner};
use std::io::{self, Read};

/// The entry at `path` of a listing.
pub fn entry(l: &Listing, path: impl AsRef<[u8]>) -> Option<&Entry> {
    l.entries
        .iter()
        .find(|e| e.path.as_bytes() == path.as_ref())
}

/// The gaps at `path`.
pub fn gaps_at<'g>(gaps: &'g [Gap], path: &str) -> Vec<&'g Gap> {
    gaps.iter()
        .filter(|g| g.path.as_bytes() == path.as_bytes())
        .collect()
}

/// Reads an entry whole.
pub fn read_all<E: Evidence + ?Sized>(ev: &E, e: &Entry) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    ev.open(e)?.read_to_end(&mut out)?;
    Ok(out)
}

/// How a mock file behaves when it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Returns every byte.
    Whole,
    /// Listed with its full size, but the reader ends after this many bytes.
    Shrinks(usize),
    /// Returns this many bytes, then fails with an I/O error.
    FailsAfter(usize),
    /// `open` fails.
    OpenFails,
    /// Every other read is interrupted (EINTR); the data is all there.
    Interrupted,
    /// One byte per read.
    Trickle,
}

/// One file of the mock: its entry, its bytes and how it reads.
pub struct MockFile {
    entry: Entry,
    content: Vec<u8>,
    behaviour: Behaviour,
}

/// Evidence whose files read as their [`Behaviour`] says.
pub struct MockEvidence {
    files: Vec<MockFile>,
}

impl MockEvidence {
    /// A complete appliance (all markers and required sources) plus `extra`.
    pub fn appliance(extra: Vec<(&str, Vec<u8>, Behaviour)>) -> MockEvidence {
        let mut files: Vec<(&str, Vec<u8>, Behaviour)> = vec![
            (
                "flash/nsconfig/ns.conf",
                b"#NS13.0\n".to_vec(),
                Behaviour::Whole,
            ),
            ("flash/boot/loader.conf", b"x\n".to_vec(), Behaviour::Whole),
            (
                "var/vpn/bookmark/jdoe.xml",
                b"<user username=\"jdoe\"/>\n".to_vec(),
                Behaviour::Whole,
            ),
            (
                "var/log/httpaccess.log",
                b"GET / 200\n".to_vec(),
                Behaviour::Whole,
            ),
            (
                "var/log/httperror.log",
                b"notice\n".to_vec(),
                Behaviour::Whole,
            ),
            (
                "var/log/bash.log",
                b"root on /dev/pts/0 shell_command=\"ls\"\n".to_vec(),
                Behaviour::Whole,
            ),
            (
                "var/log/cron",
                b"(root) CMD (x)\n".to_vec(),
                Behaviour::Whole,
            ),
            ("var/log/ns.log", b"ok\n".to_vec(), Behaviour::Whole),
        ];
        for (p, content, b) in extra {
            files.retain(|(q, _, _)| *q != p);
            files.push((p, content, b));
        }
        let mut files: Vec<MockFile> = files
            .into_iter()
            .map(|(p, content, behaviour)| MockFile {
                entry: Entry {
                    path: EvPath::new(p.as_bytes().to_vec()),
                    kind: EntryKind::File,
                    size: content.len() as u64,
                    mode: 0o100_644,
                    uid: 0,
                    gid: 0,
                    mtime: 1_600_000_000,
                    btime: None,
                    atime: None,
                    ctime: None,
                    link_target: None,
                    identity: None,
                },
                content,
                behaviour,
            })
            .collect();
        files.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
        MockEvidence { files }
    }

    fn file(&self, entry: &Entry) -> &MockFile {
        self.files
            .iter()
            .find(|f| f.entry.path == entry.path)
            .expect("listed by the mock")
    }
}

struct MockReader {
    data: Vec<u8>,
    pos: usize,
    behaviour: Behaviour,
    calls: usize,
}

impl Read for MockReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        let end = match self.behaviour {
            Behaviour::Shrinks(n) | Behaviour::FailsAfter(n) => n.min(self.data.len()),
            _ => self.data.len(),
        };
        if self.pos >= end {
            if let Behaviour::FailsAfter(_) = self.behaviour {
                return Err(io::Error::other("simulated I/O error (EIO)"));
            }
            return Ok(0);
        }
        let mut n = (end - self.pos).min(buf.len());
        match self.behaviour {
            Behaviour::Interrupted if self.calls % 2 == 1 => {
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            Behaviour::Trickle => n = n.min(1),
            _ => {}
        }
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Evidence for MockEvidence {
    fn kind(&self) -> &'static str {
        "mock"
    }

    fn list(&self) -> Listing {
        Listing {
            entries: self
                .files
                .iter()
                .map(|f| f.entry.clone())
                .collect::<Vec<_>>()
                .into(),
            gaps: Vec::new(),
        }
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        let f = self.file(entry);
        if f.behaviour == Behaviour::OpenFails {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok(Box::new(MockReader {
            data: f.content.clone(),
            pos: 0,
            behaviour: f.behaviour,
            calls: 0,
        }))
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        let p = path.as_bytes();
        self.files
            .iter()
            .any(|f| {
                let e = f.entry.path.as_bytes();
                e == p || (e.starts_with(p) && e.get(p.len()) == Some(&b'/'))
            })
            .then(|| path.clone())
    }
}

/// The library's scan of `ev` with `threads` threads (0: as many as there are cores).
pub fn mock_scan(ev: &MockEvidence, rules: &RuleSet, threads: usize) -> ScanOutput {
    Scanner::new(
        rules,
        ScanOptions {
            threads,
            ..ScanOptions::default()
        },
        &sporen::appliance::netscaler::NetScaler,
    )
    .scan(ev)
}

/// The library's report on `ev`, with the exposure windows starting on 27 January 2020 as in
/// the hostile-input tests.
pub fn mock_verdict(ev: &MockEvidence, rules: &RuleSet) -> sporen::model::Report {
    let appliance = sporen::appliance::Appliance::embedded().expect("embedded knowledge");
    let since = sporen::util::bytes::parse_time("2020-01-27").expect("date");
    sporen::app::build_report(
        ev,
        rules,
        &appliance,
        "mock",
        &ScanOptions::default(),
        &sporen::verdict::WindowOverrides {
            since: vec![sporen::verdict::DateArg::All(since)],
            until: Vec::new(),
        },
    )
}
