//! Open flags that only Linux has, as constants that are `0` (no effect) on other Unix
//! systems, so that a plain `cargo build` works on macOS and the BSDs too. Callers already
//! cope with a kernel that ignores or refuses them: a spool without `O_TMPFILE` falls back
//! to a random name unlinked at once, and [`NOATIME_KNOWN`] says whether reads keep access
//! times.

/// `O_NOATIME`: reads do not update the file's access time (Linux, owner or root only).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const O_NOATIME: libc::c_int = libc::O_NOATIME;
/// `O_NOATIME` does not exist here: no flag.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const O_NOATIME: libc::c_int = 0;

/// True where [`O_NOATIME`] is a real flag: elsewhere a read may update access times.
pub(crate) const NOATIME_KNOWN: bool = O_NOATIME != 0;

/// `O_PATH`: a descriptor that only names a folder (search permission is enough).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const O_PATH: libc::c_int = libc::O_PATH;
/// No `O_PATH` here: the folder is opened read-only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const O_PATH: libc::c_int = 0;

/// `O_TMPFILE`: an unnamed file in a folder.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const O_TMPFILE: libc::c_int = libc::O_TMPFILE;
/// No `O_TMPFILE` here: opening the folder for writing fails with `EISDIR`, and the spool
/// falls back to a random name unlinked at once.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const O_TMPFILE: libc::c_int = 0;
