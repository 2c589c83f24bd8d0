//! `--format bodyfile`: The Sleuth Kit 3.x body file of the flagged files, for `mactime` and
//! plaso: `MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime`.
//!
//! sporen hashes with SHA-256, so the MD5 field is `0`. atime, ctime and crtime are the times
//! the input holds (a UFS image: all three; a tar: PAX `atime` / `ctime` or the old GNU fields;
//! a folder: its atime and ctime, those of the copy unless it is the mounted filesystem itself)
//! and `0` only where it holds none. Names are escaped like the text report (a `|` becomes
//! `\x7c`), so a hostile name cannot add fields.

use super::sanitize::escape_bytes;
use crate::model::{Report, Timestamp};
use std::io::{self, Write};

/// Writes one body-file line per flagged file.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.flagged_files {
        let name = escape_bytes(f.path.as_bytes()).replace('|', "\\x7c");
        writeln!(
            out,
            "0|{name}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            f.inode.unwrap_or(0),
            f.mode,
            f.uid,
            f.gid,
            f.size,
            f.atime.map_or(0, Timestamp::unix),
            f.mtime.unix(),
            f.ctime.map_or(0, Timestamp::unix),
            f.btime.map_or(0, Timestamp::unix)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample_report;

    #[test]
    fn eleven_fields_per_line() {
        let mut out = Vec::new();
        render(&sample_report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.is_empty());
        for l in text.lines() {
            assert_eq!(l.split('|').count(), 11, "{l}");
            assert!(l.starts_with("0|/"));
        }
        assert!(text.contains("|-rwsr-xr-x|0|0|"), "{text}");
        // atime, mtime, ctime of the sample's set-id file; no birth time: 0.
        assert!(
            text.ends_with("|1234567|1689926400|1689847200|1689847205|0\n"),
            "{text}"
        );
    }
}
