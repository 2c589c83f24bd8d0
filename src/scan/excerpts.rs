//! The excerpts of correlation findings, read again from their files once every file was
//! compared. Correlation keeps line numbers and times only, so its state per session does not
//! grow with the lines it saw; the few records that become findings get their text here.

use super::{Hit, Scanner, read};
use crate::input::{Entry, Evidence};
use crate::util::bytes::excerpt;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read};

/// A reader that ends (returns 0) once `stop` is set: the lines wanted have all been read.
struct Until<'a, R> {
    inner: R,
    stop: &'a Cell<bool>,
}

impl<R: Read> Read for Until<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.get() {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

impl Scanner<'_> {
    /// Fills the first and last excerpts of `hits` (entry index, hit) that have none, reading
    /// each file concerned once more, up to its last wanted line. A line that cannot be read
    /// again (the file changed or became unreadable) leaves its excerpt empty.
    pub(super) fn fill_excerpts(
        &self,
        ev: &dyn Evidence,
        entries: &[Entry],
        hits: &mut [(usize, Hit)],
    ) {
        let mut wanted: BTreeMap<usize, BTreeSet<u64>> = BTreeMap::new();
        for (i, h) in hits.iter() {
            if let (None, Some(no)) = (&h.excerpt, h.line) {
                wanted.entry(*i).or_default().insert(no);
            }
            if let Some((no, text)) = &h.last
                && text.is_empty()
            {
                wanted.entry(*i).or_default().insert(*no);
            }
        }
        let found: HashMap<usize, HashMap<u64, Vec<u8>>> = wanted
            .into_iter()
            .map(|(i, nos)| (i, self.lines_at(ev, &entries[i], &nos)))
            .collect();
        for (i, h) in hits.iter_mut() {
            let Some(lines) = found.get(i) else { continue };
            if h.excerpt.is_none() {
                h.excerpt = h.line.and_then(|no| lines.get(&no).cloned());
            }
            if let Some((no, text)) = &mut h.last
                && text.is_empty()
                && let Some(t) = lines.get(no)
            {
                text.clone_from(t);
            }
        }
    }

    /// Excerpts of the lines `nos` of `entry`, split and numbered as the scan did (gzip
    /// rotations inflated, at most `--max-file-bytes` of text).
    fn lines_at(
        &self,
        ev: &dyn Evidence,
        entry: &Entry,
        nos: &BTreeSet<u64>,
    ) -> HashMap<u64, Vec<u8>> {
        let mut out = HashMap::new();
        let (Some(&last), Ok(mut src)) = (nos.last(), ev.open(entry)) else {
            return out;
        };
        let mut head = [0u8; 2];
        let Ok(n) = read::read_head(&mut src, &mut head) else {
            return out;
        };
        let joined = io::BufReader::with_capacity(read::CHUNK, (&head[..n]).chain(src));
        let cap = self.opts.max_file_bytes.saturating_add(1);
        let text: Box<dyn Read + '_> = if crate::util::bytes::is_gzip(&head[..n]) {
            Box::new(flate2::bufread::MultiGzDecoder::new(joined).take(cap))
        } else {
            Box::new(joined)
        };
        let stop = Cell::new(false);
        let mut until = Until {
            inner: text,
            stop: &stop,
        };
        let _ = read::for_each_chunk(&mut until, |chunk, first| {
            for (no, line) in read::lines(chunk, first) {
                if nos.contains(&no) {
                    out.insert(no, excerpt(line, 0));
                }
                if no >= last {
                    stop.set(true);
                    break;
                }
            }
        });
        out
    }
}
