//! The `--ssh` collection's command line and what the remote side said on standard error.
//!
//! The ssh client runs the way an administrator logs in: password and host-key prompts go to
//! the terminal (ssh asks on `/dev/tty`), `--ssh-batch` turns them off for automation, and
//! `--ssh-option` passes `-o KEY=VALUE` through. The remote `tar`'s complaints are read, not
//! thrown away: each path it could not read becomes a coverage gap carrying the remote text.
//! Nothing here may let a host or an option be read as another option by ssh, or let remote
//! bytes reach the terminal unescaped.

use crate::model::{EvPath, Gap, GapCause};
use crate::report::sanitize::escape_bytes;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::thread::JoinHandle;

/// Most bytes of the client's standard error kept for the report; the rest is still read
/// (so that the client never blocks on a full pipe) and shown, but not kept.
const STDERR_KEPT: usize = 256 << 10;

/// Longest remote line kept whole; longer ones are cut (a hostile appliance controls them).
const LINE_MAX: usize = 4096;

/// Most gaps made from the remote standard error; the rest are counted in one more gap.
const GAPS_MAX: usize = 1000;

/// How the ssh client is run for `--ssh`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SshOptions {
    /// `-o BatchMode=yes`: never prompt (for automation).
    pub(crate) batch: bool,
    /// `-o KEY=VALUE` options passed through, in the order given.
    pub(crate) options: Vec<String>,
}

/// Why a `--ssh-option` is refused: it must be `KEY=VALUE` with a key of letters and digits,
/// and hold no line break (ssh reads each `-o` as one configuration line).
pub(crate) fn check_ssh_option(o: &str) -> Result<(), String> {
    let shown = escape_bytes(o.as_bytes());
    let Some((key, value)) = o.split_once('=') else {
        return Err(format!(
            "--ssh-option `{shown}` is not KEY=VALUE (for example StrictHostKeyChecking=yes)"
        ));
    };
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "--ssh-option `{shown}`: the key must be letters and digits, as in ssh_config(5)"
        ));
    }
    if value.contains(['\n', '\r', '\0']) {
        return Err(format!(
            "--ssh-option `{shown}`: the value holds a line break"
        ));
    }
    Ok(())
}

/// The ssh client's arguments: the options, `--`, the host, the remote command.
pub(crate) fn ssh_args(opts: &SshOptions, host: &str, remote: &str) -> Vec<String> {
    let mut args = Vec::new();
    if opts.batch {
        args.extend(["-o".to_owned(), "BatchMode=yes".to_owned()]);
    }
    for o in &opts.options {
        args.extend(["-o".to_owned(), o.clone()]);
    }
    args.extend(["--".to_owned(), host.to_owned(), remote.to_owned()]);
    args
}

/// Reads the client's standard error in a thread: every line is shown on sporen's standard
/// error (escaped) as it arrives, and the first [`STDERR_KEPT`] bytes are kept.
pub(crate) fn watch_stderr(stderr: impl Read + Send + 'static) -> JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut kept_bytes = 0usize;
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        loop {
            line.clear();
            match read_line_bounded(&mut reader, &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = escape_bytes(trim_eol(&line));
            let _ = writeln!(io::stderr().lock(), "sporen: remote: {text}");
            if kept_bytes.saturating_add(text.len()) <= STDERR_KEPT {
                kept_bytes = kept_bytes.saturating_add(text.len());
                kept.push(text);
            }
        }
        kept
    })
}

/// Reads one line, keeping at most [`LINE_MAX`] bytes of it; the rest of the line is read and
/// dropped. Returns the bytes consumed (0 at the end).
fn read_line_bounded(r: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<usize> {
    let mut consumed = 0usize;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(consumed);
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = LINE_MAX.saturating_sub(line.len());
        line.extend_from_slice(&buf[..take.min(room)]);
        r.consume(take);
        consumed = consumed.saturating_add(take);
        if done {
            return Ok(consumed);
        }
    }
}

fn trim_eol(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// The coverage gaps the remote `tar`'s complaints stand for: `tar: PATH: message` for a path
/// it could not read (GNU and BSD tar). A path that does not exist on the appliance is no gap
/// (the scan reports missing evidence sources itself); a socket tar skipped is a gap that does
/// not block `clean`; anything else it could not read blocks `clean`, with the remote text.
pub(crate) fn remote_gaps(lines: &[String]) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let mut more = 0usize;
    for line in lines {
        let Some((path, message)) = tar_complaint(line) else {
            continue;
        };
        if gaps.len() >= GAPS_MAX {
            more = more.saturating_add(1);
            continue;
        }
        let (cause, blocks) = if message.contains("socket ignored") {
            (GapCause::SpecialFile, false)
        } else {
            (GapCause::Unreadable, true)
        };
        let detail = format!("the remote tar could not read it: {line}");
        gaps.push(Gap::new(
            EvPath::new(path.as_bytes()),
            cause,
            detail,
            blocks,
        ));
    }
    if more > 0 {
        let detail = format!("the remote tar could not read {more} more paths (not listed)");
        gaps.push(Gap::new(EvPath::root(), GapCause::Unreadable, detail, true));
    }
    gaps
}

/// `tar: PATH: message` → (PATH, message), for a complaint about one path that exists.
fn tar_complaint(line: &str) -> Option<(&str, &str)> {
    let rest = line
        .strip_prefix("tar: ")
        .or_else(|| line.strip_prefix("bsdtar: "))?;
    let (path, message) = rest.split_once(": ")?;
    if path.is_empty() || message.contains("No such file or directory") {
        return None;
    }
    Some((path.trim_start_matches('/'), message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_and_passed_after_batch_and_before_the_host() {
        assert!(check_ssh_option("StrictHostKeyChecking=yes").is_ok());
        assert!(check_ssh_option("Port=2222").is_ok());
        assert!(check_ssh_option("Port").is_err());
        assert!(check_ssh_option("-oProxyCommand=x").is_err());
        assert!(check_ssh_option("=x").is_err());
        assert!(check_ssh_option("ProxyCommand=a\nb").is_err());
        let opts = SshOptions {
            batch: true,
            options: vec!["Port=2222".to_owned()],
        };
        assert_eq!(
            ssh_args(&opts, "nsroot@ns", "shell \"tar\""),
            [
                "-o",
                "BatchMode=yes",
                "-o",
                "Port=2222",
                "--",
                "nsroot@ns",
                "shell \"tar\""
            ]
        );
        let none = ssh_args(&SshOptions::default(), "ns", "tar");
        assert_eq!(none, ["--", "ns", "tar"]);
    }

    #[test]
    fn remote_tar_complaints_become_gaps_and_absent_paths_do_not() {
        let lines: Vec<String> = [
            "tar: var/vpn/bookmark: Cannot open: Permission denied",
            "tar: flash/.version: Cannot stat: No such file or directory",
            "tar: var/run/sock: socket ignored",
            "tar: var/nslog: Couldn't visit directory: Permission denied",
            "Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.",
            "tar: Exiting with failure status due to previous errors",
        ]
        .map(str::to_owned)
        .to_vec();
        let gaps = remote_gaps(&lines);
        let got: Vec<(String, GapCause, bool)> = gaps
            .iter()
            .map(|g| (g.path.to_lossless_string(), g.cause, g.blocks_clean))
            .collect();
        assert_eq!(
            got,
            [
                ("/var/vpn/bookmark".to_owned(), GapCause::Unreadable, true),
                ("/var/run/sock".to_owned(), GapCause::SpecialFile, false),
                ("/var/nslog".to_owned(), GapCause::Unreadable, true),
            ]
        );
        assert!(gaps[0].detail.contains("Cannot open: Permission denied"));
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_is_read() {
        let mut input = vec![b'a'; LINE_MAX * 3];
        input.extend_from_slice(b"\nnext\n");
        let mut r = io::Cursor::new(input);
        let mut line = Vec::new();
        assert_eq!(
            read_line_bounded(&mut r, &mut line).unwrap(),
            LINE_MAX * 3 + 1
        );
        assert_eq!(line.len(), LINE_MAX);
        line.clear();
        read_line_bounded(&mut r, &mut line).unwrap();
        assert_eq!(line, b"next\n");
    }
}
