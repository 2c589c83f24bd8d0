//! Reading evidence bytes: one sequential pass that hashes the stored bytes, keeps the first
//! bytes for content rules, and hands a (possibly gunzipped) stream to the line matcher.
//! Never memory-maps: a file truncated while it is read ends the read early, it cannot crash.

use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// Counts and hashes every byte read through it (the file as stored, before decompression).
pub(crate) struct Hashing<R> {
    inner: R,
    sha256: Sha256,
    md5: Option<Md5>,
    /// Bytes read so far.
    pub(crate) bytes: u64,
}

impl<R: Read> Hashing<R> {
    /// Wraps `inner`; MD5 is computed only when a rule needs it.
    pub(crate) fn new(inner: R, with_md5: bool) -> Self {
        Hashing {
            inner,
            sha256: Sha256::new(),
            md5: with_md5.then(Md5::new),
            bytes: 0,
        }
    }

    /// Lower-case hex SHA-256 and MD5 of everything read.
    pub(crate) fn finish(self) -> (String, Option<String>) {
        let sha = crate::util::bytes::hex(&self.sha256.finalize());
        let md5 = self.md5.map(|m| crate::util::bytes::hex(&m.finalize()));
        (sha, md5)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.sha256.update(&buf[..n]);
        if let Some(m) = &mut self.md5 {
            m.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Counts the bytes read through it.
pub(crate) struct Counting<R> {
    inner: R,
    /// Bytes read so far.
    pub(crate) bytes: u64,
}

impl<R: Read> Counting<R> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: R) -> Self {
        Counting { inner, bytes: 0 }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Keeps a copy of the first `cap` bytes that pass through it.
pub(crate) struct Capture<R> {
    pub(crate) inner: R,
    pub(crate) buf: Vec<u8>,
    cap: usize,
}

impl<R: Read> Capture<R> {
    /// Wraps `inner`, keeping at most `cap` bytes.
    pub(crate) fn new(inner: R, cap: usize) -> Self {
        Capture {
            inner,
            buf: Vec::new(),
            cap,
        }
    }

    /// Makes room for `n` bytes at once (at most the cap).
    pub(crate) fn reserve(&mut self, n: usize) {
        self.buf.reserve_exact(n.min(self.cap));
    }
}

impl<R: Read> Read for Capture<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let room = self.cap.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

/// Size of the blocks the line matcher reads.
pub(crate) const CHUNK: usize = 256 * 1024;
/// A "line" longer than this is cut into pieces rather than buffered without bound; the cut is
/// reported (see [`ChunkStats::cut_lines`]) because a match across it can be missed.
pub(crate) const MAX_LINE: usize = 16 * 1024 * 1024;

/// What [`for_each_chunk`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChunkStats {
    /// Lines read (a last line without a newline counts).
    pub(crate) lines: u64,
    /// Lines longer than [`MAX_LINE`] that had to be cut.
    pub(crate) cut_lines: u64,
}

/// Reads `r` in blocks and calls `f(chunk, first_line_number)` with runs of complete lines
/// (the last chunk may end without a newline). Returns what was seen, or the error that
/// stopped the read together with what was seen before it.
pub(crate) fn for_each_chunk(
    r: &mut dyn Read,
    mut f: impl FnMut(&[u8], u64),
) -> Result<ChunkStats, (io::Error, ChunkStats)> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    let mut line_no: u64 = 1;
    let mut cut_lines = 0;
    let mut in_cut = false;
    let mut failure = None;
    loop {
        let old = buf.len();
        buf.resize(old + CHUNK, 0);
        let n = loop {
            match r.read(&mut buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failure = Some(e);
                    break 0;
                }
            }
        };
        buf.truncate(old + n);
        let end_of_input = n == 0;
        let end = if end_of_input {
            buf.len()
        } else {
            // What was kept from the last round holds no newline: search the new bytes only,
            // or a long line would be searched again on every read (quadratic).
            match memchr::memrchr(b'\n', &buf[old..]) {
                Some(i) => old + i + 1,
                None if buf.len() >= MAX_LINE => {
                    if !in_cut {
                        cut_lines += 1;
                        in_cut = true;
                    }
                    buf.len()
                }
                None => continue,
            }
        };
        if end > 0 {
            if buf[end - 1] == b'\n' {
                in_cut = false;
            }
            f(&buf[..end], line_no);
            line_no += memchr::memchr_iter(b'\n', &buf[..end]).count() as u64;
            if buf[end - 1] != b'\n' && end_of_input {
                line_no += 1;
            }
            buf.drain(..end);
        }
        if end_of_input {
            break;
        }
    }
    let stats = ChunkStats {
        lines: line_no - 1,
        cut_lines,
    };
    match failure {
        Some(e) => Err((e, stats)),
        None => Ok(stats),
    }
}

/// Iterates the lines of a chunk with their numbers, without the line terminator.
pub(crate) fn lines(chunk: &[u8], first: u64) -> impl Iterator<Item = (u64, &[u8])> {
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let mut ends = memchr::memchr_iter(b'\n', body);
    let mut start = Some(0);
    let mut no = first;
    std::iter::from_fn(move || {
        let s = start.filter(|_| !chunk.is_empty())?;
        let line = match ends.next() {
            Some(e) => {
                start = Some(e + 1);
                &body[s..e]
            }
            None => {
                start = None;
                &body[s..]
            }
        };
        no += 1;
        Some((no - 1, line.strip_suffix(b"\r").unwrap_or(line)))
    })
}

/// The lines of a chunk from last to first, split and trimmed exactly as [`lines`] does.
pub(crate) fn lines_rev(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let mut starts = memchr::memrchr_iter(b'\n', body);
    let mut end = Some(body.len());
    std::iter::from_fn(move || {
        let e = end.filter(|_| !chunk.is_empty())?;
        let line = match starts.next() {
            Some(s) => {
                end = Some(s);
                &body[s + 1..e]
            }
            None => {
                end = None;
                &body[..e]
            }
        };
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// Reads up to `head.len()` bytes however short the reads are; the number read.
pub(crate) fn read_head(src: &mut dyn Read, head: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match src.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_line_numbers_across_blocks() {
        let mut text = Vec::new();
        for i in 1..=100_000 {
            text.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        text.extend_from_slice(b"tail without newline");
        let mut seen = Vec::new();
        let n = for_each_chunk(&mut &text[..], |c, first| {
            for (no, l) in lines(c, first) {
                if l.ends_with(b"7777") || l.starts_with(b"tail") {
                    seen.push((no, String::from_utf8_lossy(l).into_owned()));
                }
            }
        })
        .unwrap();
        assert_eq!(n.lines, 100_001);
        assert_eq!(n.cut_lines, 0);
        assert_eq!(seen[0], (7777, "line 7777".to_owned()));
        assert_eq!(
            seen.last().unwrap(),
            &(100_001, "tail without newline".to_owned())
        );
    }

    #[test]
    fn backward_lines_mirror_forward_lines() {
        for chunk in [
            &b""[..],
            b"\n",
            b"one",
            b"one\r\ntwo\n",
            b"one\n\nthree\r\n",
            b"a\nb\nc",
        ] {
            let mut forward: Vec<&[u8]> = lines(chunk, 1).map(|(_, l)| l).collect();
            forward.reverse();
            let backward: Vec<&[u8]> = lines_rev(chunk).collect();
            assert_eq!(backward, forward, "{:?}", String::from_utf8_lossy(chunk));
        }
    }

    #[test]
    fn overlong_lines_are_cut_and_counted() {
        let mut text = vec![b'a'; MAX_LINE + 10];
        text.extend_from_slice(b"\nshort\n");
        let mut pieces = 0;
        let s = for_each_chunk(&mut &text[..], |_, _| pieces += 1).unwrap();
        assert_eq!(s.cut_lines, 1);
        assert_eq!(s.lines, 2);
        assert!(pieces >= 2);
    }

    #[test]
    fn hashing_and_capture() {
        let data = b"hello world";
        let mut c = Capture::new(Hashing::new(&data[..], true), 5);
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert_eq!(c.buf, b"hello");
        assert_eq!(c.inner.bytes, 11);
        let (sha, md5) = c.inner.finish();
        assert_eq!(
            sha,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(md5.unwrap(), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    }

    #[test]
    fn lines_split_like_the_plain_split_of_the_body() {
        let naive = |chunk: &[u8]| -> Vec<Vec<u8>> {
            if chunk.is_empty() {
                return Vec::new();
            }
            let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
            body.split(|&b| b == b'\n')
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
                .collect()
        };
        for chunk in [
            &b""[..],
            b"\n",
            b"\n\n",
            b"a",
            b"a\n",
            b"a\r\n\r\nb",
            b"\na\n\nb\r",
            b"x\ny\nz\n\n",
        ] {
            let got: Vec<Vec<u8>> = lines(chunk, 7).map(|(_, l)| l.to_vec()).collect();
            assert_eq!(got, naive(chunk), "{:?}", String::from_utf8_lossy(chunk));
            let numbers: Vec<u64> = lines(chunk, 7).map(|(n, _)| n).collect();
            assert_eq!(numbers, (7..7 + got.len() as u64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn lines_strip_terminators() {
        let got: Vec<(u64, &[u8])> = lines(b"a\r\nb\n", 3).collect();
        assert_eq!(got, vec![(3, &b"a"[..]), (4, &b"b"[..])]);
        assert_eq!(lines(b"", 1).count(), 0);
    }
}
