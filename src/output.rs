//! Where the report goes: standard output, or `--output` written whole or not at all.
//!
//! It must never replace, write through or land inside the evidence: an output that is a
//! TARGET (compared by device and inode, so hard links and bind mounts count), lies inside a
//! TARGET folder (by identity up the `..` chain, and by place in the filesystem whatever mount
//! shows it), or exists and is not a regular file is refused before any evidence is read, and
//! so is a folder in which no file can be created.
//! The report is written to a temporary file created exclusively (`O_EXCL | O_NOFOLLOW`, a
//! random name, mode 0600) in the output folder, held open from the check to the rename, so a
//! planted link or a folder swapped during the scan cannot redirect it.

use crate::report::sanitize::escape_bytes;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, FileType, Metadata, OpenOptions, Permissions};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{self, BufWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file's identity. Two names with the same (device, inode) are the same file, whatever
/// their paths say (hard links, bind mounts, `..`, symbolic links).
type Identity = (u64, u64);

fn identity(m: &Metadata) -> Identity {
    (m.dev(), m.ino())
}

/// Folder levels climbed when looking for a TARGET above the output; deeper is refused
/// rather than guessed.
const MAX_DEPTH: usize = 1000;

/// Names tried for the temporary file before giving up (a collision of random names means
/// someone is guessing them).
const TEMP_ATTEMPTS: u32 = 16;

/// Why the report cannot go where it was asked to.
#[derive(Debug)]
pub enum OutputError {
    /// `--output` names no file (`/`, `..`, an empty string).
    NoFileName(PathBuf),
    /// The folder the report would go into cannot be opened (it does not exist, is a file).
    NoFolder { output: PathBuf, source: io::Error },
    /// No file can be created in the folder the report would go into (no permission, a
    /// read-only filesystem).
    Unwritable { output: PathBuf, source: io::Error },
    /// The output is a TARGET, or another name of one.
    IsInput { output: PathBuf, input: PathBuf },
    /// The output lies inside a TARGET folder.
    InsideInput { output: PathBuf, input: PathBuf },
    /// The output exists and is not a regular file (or a link to one).
    NotRegular { output: PathBuf, kind: &'static str },
    /// Where the output lies could not be established.
    Unverifiable { output: PathBuf, source: io::Error },
    /// Creating, writing or renaming the report file failed.
    Write { output: PathBuf, source: io::Error },
    /// Writing to standard output failed (a closed pipe, a full disk).
    Stdout(io::Error),
}

fn shown(p: &Path) -> String {
    escape_bytes(p.as_os_str().as_bytes())
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const OUTSIDE: &str = "choose a location outside every TARGET";
        match self {
            OutputError::NoFileName(o) => {
                write!(
                    f,
                    "cannot write the report to {}: --output needs a file name",
                    shown(o)
                )
            }
            OutputError::NoFolder { output, source }
                if source.kind() == io::ErrorKind::NotFound =>
            {
                write!(
                    f,
                    "cannot write the report to {}: its folder does not exist",
                    shown(output)
                )
            }
            OutputError::NoFolder { output, .. } => {
                write!(
                    f,
                    "cannot write the report to {}: its folder cannot be opened",
                    shown(output)
                )
            }
            OutputError::Unwritable { output, .. } => {
                write!(
                    f,
                    "cannot write the report to {}: no file can be created in its folder",
                    shown(output)
                )
            }
            OutputError::IsInput { output, input } => write!(
                f,
                "refusing to write the report to {}: it is the evidence {} (the same file); {OUTSIDE}",
                shown(output),
                shown(input)
            ),
            OutputError::InsideInput { output, input } => write!(
                f,
                "refusing to write the report to {}: it lies inside the evidence {}; {OUTSIDE}",
                shown(output),
                shown(input)
            ),
            OutputError::NotRegular { output, kind } => write!(
                f,
                "refusing to write the report to {}: it exists and is not a regular file ({kind})",
                shown(output)
            ),
            OutputError::Unverifiable { output, .. } => write!(
                f,
                "refusing to write the report to {}: cannot tell whether it lies inside the evidence",
                shown(output)
            ),
            OutputError::Write { output, .. } => {
                write!(f, "cannot write the report to {}", shown(output))
            }
            OutputError::Stdout(_) => f.write_str("cannot write the report to standard output"),
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutputError::NoFolder { source, .. }
            | OutputError::Unwritable { source, .. }
            | OutputError::Unverifiable { source, .. }
            | OutputError::Write { source, .. }
            | OutputError::Stdout(source) => Some(source),
            _ => None,
        }
    }
}

/// What a non-regular file is, for messages.
pub(crate) fn file_kind(ft: &FileType) -> &'static str {
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a folder"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else {
        "an unknown file type"
    }
}

/// Where the report of one run goes, checked and held from before the scan to the rename.
#[derive(Debug)]
pub enum Destination {
    Stdout,
    File(ReportFile),
}

impl Destination {
    /// Checks `output` (`None` and `-` mean standard output) against the `targets` (paths
    /// of folders, archives and images; `-` is skipped), makes sure a file can be created in
    /// its folder and holds that folder open. Call it before any evidence is read or collected.
    pub fn prepare(output: Option<&Path>, targets: &[PathBuf]) -> Result<Destination, OutputError> {
        match output {
            Some(p) if p.as_os_str() != "-" => {
                ReportFile::prepare(p, targets).map(Destination::File)
            }
            _ => Ok(Destination::Stdout),
        }
    }

    /// True when the report goes to standard output.
    pub(crate) fn is_stdout(&self) -> bool {
        matches!(self, Destination::Stdout)
    }

    /// The file the report goes to, as the user named it.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Destination::Stdout => None,
            Destination::File(f) => Some(&f.shown),
        }
    }

    /// Writes the report `render` produces. A file appears under its name only when complete.
    pub fn write(
        &self,
        render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        match self {
            Destination::Stdout => write_stdout(render),
            Destination::File(f) => f.write(render),
        }
    }
}

/// Writes to standard output and flushes; any failure (a closed pipe included) is an error.
pub(crate) fn write_stdout(
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let mut out = BufWriter::new(io::stdout().lock());
    render(&mut out)
        .and_then(|()| out.flush())
        .map_err(OutputError::Stdout)
}

/// A TARGET the report must not touch.
#[derive(Debug)]
struct Input {
    path: PathBuf,
    id: Identity,
    /// For a folder: the filesystem it is on and its path inside that filesystem.
    place: Option<Place>,
}

/// The output folder, held open so that the report goes into this very folder even if its
/// path names another one by the time the report is written.
#[derive(Debug)]
struct Folder {
    fd: File,
    id: Identity,
    shown: PathBuf,
}

impl Folder {
    fn open(path: &Path) -> io::Result<Folder> {
        // O_PATH: the folder is only named through, never read, so search permission is enough.
        let fd = OpenOptions::new()
            .read(true)
            .custom_flags(crate::util::os::O_PATH | libc::O_DIRECTORY)
            .open(path)?;
        let id = identity(&fd.metadata()?);
        Ok(Folder {
            fd,
            id,
            shown: path.to_owned(),
        })
    }

    /// A path naming this very folder: its descriptor's `/proc/self/fd` link, or, where /proc
    /// is not mounted, the path as given while it still is this folder.
    fn path(&self) -> io::Result<PathBuf> {
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()));
        [by_fd, self.shown.clone()]
            .into_iter()
            .find(|p| fs::metadata(p).is_ok_and(|m| identity(&m) == self.id))
            .ok_or_else(|| io::Error::other("the output folder was moved or replaced"))
    }
}

/// A checked `--output` file.
#[derive(Debug)]
pub struct ReportFile {
    shown: PathBuf,
    folder: Folder,
    name: OsString,
    inputs: Vec<Input>,
}

impl ReportFile {
    fn prepare(path: &Path, targets: &[PathBuf]) -> Result<ReportFile, OutputError> {
        let name = path
            .file_name()
            .ok_or_else(|| OutputError::NoFileName(path.to_owned()))?
            .to_owned();
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let folder = Folder::open(folder).map_err(|source| OutputError::NoFolder {
            output: path.to_owned(),
            source,
        })?;
        // A TARGET that cannot be examined is not protected here; opening it fails later
        // with its own error, before anything is written.
        let mounts = mounts();
        let inputs = targets
            .iter()
            .filter(|t| t.as_os_str() != "-")
            .filter_map(|t| {
                let m = fs::metadata(t).ok()?;
                let place = m
                    .is_dir()
                    .then(|| place(&mounts, &fs::canonicalize(t).ok()?))
                    .flatten();
                Some(Input {
                    path: t.clone(),
                    id: identity(&m),
                    place,
                })
            })
            .collect();
        let file = ReportFile {
            shown: path.to_owned(),
            folder,
            name,
            inputs,
        };
        file.check()?;
        file.probe()?;
        Ok(file)
    }

    /// Creates a temporary file in the held folder and removes it again: a folder the report
    /// cannot be written into is refused before the scan, not after it. Run only once the
    /// folder is known to lie outside every TARGET.
    fn probe(&self) -> Result<(), OutputError> {
        let unwritable = |source| OutputError::Unwritable {
            output: self.shown.clone(),
            source,
        };
        let dir = self.folder.path().map_err(unwritable)?;
        let (tmp, file) = create_temp(&dir).map_err(unwritable)?;
        drop(file);
        fs::remove_file(&tmp).map_err(unwritable)
    }

    /// Refuses an output that is a TARGET, lies inside one, or is not a regular file. Run
    /// when the destination is prepared and again just before the rename.
    fn check(&self) -> Result<(), OutputError> {
        let unverifiable = |source| OutputError::Unverifiable {
            output: self.shown.clone(),
            source,
        };
        let dir = self.folder.path().map_err(unverifiable)?;
        if let Some(input) = self.enclosing_input(&dir).map_err(unverifiable)? {
            return Err(OutputError::InsideInput {
                output: self.shown.clone(),
                input: input.path.clone(),
            });
        }
        self.check_name(&dir)
    }

    /// The TARGET folder that `dir` is or lies below: by identity, climbing `..` as the kernel
    /// resolves it (so a bind mount of a TARGET is recognised), and by place inside the
    /// filesystem (so is a second mount or a bind mount of a folder of a TARGET, from which
    /// `..` leads out of the evidence).
    fn enclosing_input(&self, dir: &Path) -> io::Result<Option<&Input>> {
        if let Some(input) = self.climb(dir)? {
            return Ok(Some(input));
        }
        let Some(here) = fs::canonicalize(dir)
            .ok()
            .and_then(|p| place(&mounts(), &p))
        else {
            return Ok(None);
        };
        Ok(self.inputs.iter().find(|i| {
            i.place
                .as_ref()
                .is_some_and(|t| t.fs == here.fs && here.path.starts_with(&t.path))
        }))
    }

    fn climb(&self, dir: &Path) -> io::Result<Option<&Input>> {
        let mut at = dir.to_path_buf();
        let mut here = identity(&fs::metadata(&at)?);
        for _ in 0..MAX_DEPTH {
            if let Some(input) = self.inputs.iter().find(|i| i.id == here) {
                return Ok(Some(input));
            }
            at.push("..");
            let up = identity(&fs::metadata(&at)?);
            if up == here {
                return Ok(None);
            }
            here = up;
        }
        Err(io::Error::other(format!(
            "the folder is nested more than {MAX_DEPTH} levels deep"
        )))
    }

    /// Checks what already exists under the output's name. A symbolic link there is replaced
    /// by the rename, never written through; what it points to is only looked at to refuse a
    /// link to the evidence or to something that is not a file, which can only be a mistake.
    fn check_name(&self, dir: &Path) -> Result<(), OutputError> {
        let at = dir.join(&self.name);
        let existing = match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => match fs::metadata(&at) {
                Ok(target) => target,
                Err(_) => return Ok(()), // dangling: the link itself is replaced
            },
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(OutputError::Unverifiable {
                    output: self.shown.clone(),
                    source,
                });
            }
        };
        if let Some(input) = self.inputs.iter().find(|i| i.id == identity(&existing)) {
            return Err(OutputError::IsInput {
                output: self.shown.clone(),
                input: input.path.clone(),
            });
        }
        if !existing.is_file() {
            return Err(OutputError::NotRegular {
                output: self.shown.clone(),
                kind: file_kind(&existing.file_type()),
            });
        }
        Ok(())
    }

    /// Writes a temporary file in the held folder, checks again, then renames it into place.
    /// On any failure the temporary file is removed and the final name is left as it was.
    fn write(
        &self,
        render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        let failed = |source| OutputError::Write {
            output: self.shown.clone(),
            source,
        };
        let dir = self.folder.path().map_err(failed)?;
        let (tmp, file) = create_temp(&dir).map_err(failed)?;
        let result = fill(file, render)
            .map_err(failed)
            .and_then(|()| self.check())
            .and_then(|()| fs::rename(&tmp, dir.join(&self.name)).map_err(failed));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
            return result;
        }
        // The report itself is synced; syncing the folder makes the new name durable too where
        // the file system allows it (some refuse fsync on folders, which loses nothing more).
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// One line of `/proc/self/mountinfo`: which folder of which filesystem is seen where.
#[derive(Debug)]
struct Mount {
    fs: String,
    root: PathBuf,
    point: PathBuf,
}

/// Where a folder lies regardless of the mount it is seen through: the filesystem (device
/// numbers as the kernel lists mounts) and the path inside it.
#[derive(Debug, PartialEq, Eq)]
struct Place {
    fs: String,
    path: PathBuf,
}

/// The mounts of this process; none where /proc is not mounted (the climb by identity still
/// protects the TARGET folders themselves and whatever is mounted below them).
fn mounts() -> Vec<Mount> {
    fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mounts(&t))
        .unwrap_or_default()
}

/// Parses mountinfo lines: `id parent major:minor root mount-point options...`.
fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(' ').skip(2);
            let (fs, root, point) = (f.next()?, f.next()?, f.next()?);
            Some(Mount {
                fs: fs.to_owned(),
                root: unescape_mount_path(root),
                point: unescape_mount_path(point),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in paths as `\ooo` (octal).
fn unescape_mount_path(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) if b[i] == b'\\' => {
                let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// The place of `path` (absolute, without links): through the mount with the deepest mount
/// point above it, the last listed when several are stacked on the same point.
fn place(mounts: &[Mount], path: &Path) -> Option<Place> {
    let m = mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| path.starts_with(&m.point))
        .max_by_key(|(i, m)| (m.point.components().count(), *i))?
        .1;
    let rest = path.strip_prefix(&m.point).ok()?;
    Some(Place {
        fs: m.fs.clone(),
        path: m.root.join(rest),
    })
}

/// Creates a new temporary file in `dir`: never an existing name, never through a link,
/// readable by its owner only until it is complete.
fn create_temp(dir: &Path) -> io::Result<(PathBuf, File)> {
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for attempt in 0..TEMP_ATTEMPTS {
        let path = dir.join(temp_name(attempt));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// A name nobody can predict: 128 bits from hashers keyed by the operating system's random
/// source, so a link cannot be planted in advance.
fn temp_name(attempt: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let word = |salt: u8| {
        let mut h = RandomState::new().build_hasher();
        h.write_u8(salt);
        h.write_u32(attempt);
        h.write_u32(std::process::id());
        h.write_u128(nanos);
        h.finish()
    };
    format!(".sporen-{:016x}{:016x}.tmp", word(0), word(1))
}

/// Writes, gives the file its final mode and syncs it.
fn fill(file: File, render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut w = BufWriter::new(file);
    render(&mut w)?;
    let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.set_permissions(Permissions::from_mode(final_mode()))?;
    file.sync_all()
}

/// The mode any new file of the user gets (0666 without the umask bits); 0600 when the umask
/// cannot be read, which errs on the side of privacy.
fn final_mode() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .map_or(0o600, |umask| 0o666 & !umask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_fresh_and_hidden() {
        let a = temp_name(0);
        let b = temp_name(0);
        assert_ne!(a, b);
        assert!(
            a.starts_with(".sporen-") && a.ends_with(".tmp") && a.len() == 44,
            "{a}"
        );
    }

    #[test]
    fn a_folder_is_placed_inside_its_filesystem_whatever_mount_shows_it() {
        let mounts = parse_mounts(
            "22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n\
             40 22 8:1 /cases/root/var /mnt/var\\040copy rw - ext4 /dev/sda1 rw\n\
             41 22 8:2 / /cases/root/var rw - ufs /dev/sdb8 ro\n\
             42 22 8:2 / /mnt/ufs rw - ufs /dev/sdb8 ro\n",
        );
        let at = |p: &str| place(&mounts, Path::new(p)).expect("placed");
        let on = |fs: &str, p: &str| Place {
            fs: fs.to_owned(),
            path: PathBuf::from(p),
        };
        assert_eq!(at("/cases/root"), on("8:1", "/cases/root"));
        // A bind mount of a folder, with a space in its mount point.
        assert_eq!(at("/mnt/var copy/log"), on("8:1", "/cases/root/var/log"));
        // The partition mounted twice: both places are the same folder.
        assert_eq!(at("/cases/root/var/log"), on("8:2", "/log"));
        assert_eq!(at("/mnt/ufs/log"), on("8:2", "/log"));
        assert!(place(&[], Path::new("/x")).is_none());
    }

    #[test]
    fn dash_and_none_are_standard_output() {
        assert!(Destination::prepare(None, &[]).expect("stdout").is_stdout());
        let dash = Destination::prepare(Some(Path::new("-")), &[]).expect("stdout");
        assert!(dash.is_stdout());
        assert!(dash.path().is_none());
    }

    #[test]
    fn names_that_are_no_file_are_refused() {
        for p in ["", "/", "..", "a/.."] {
            let r = Destination::prepare(Some(Path::new(p)), &[]);
            assert!(matches!(r, Err(OutputError::NoFileName(_))), "{p:?}: {r:?}");
        }
    }
}
