//! Outside programs some tests drive (OpenSSH's sshd, ansible-playbook, Chromium), and the rule
//! for their absence: a test that needs one skips with a note on a developer's machine, but
//! fails when the environment variable CI sets says the program must be there (so that CI
//! never passes by skipping).

use std::path::{Path, PathBuf};

/// The program `name` on `PATH` or in one of `extra` folders (sshd lives in /usr/sbin, which is
/// not on every user's `PATH`).
pub fn find_program(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds every program of `names`; when one is missing, panics if `require_var` is set (CI),
/// else prints a note naming what to install and returns `None` (the test then does nothing).
pub fn require(
    test: &str,
    names: &[&str],
    extra: &[&str],
    require_var: &str,
) -> Option<Vec<PathBuf>> {
    let found: Vec<Option<PathBuf>> = names.iter().map(|n| find_program(n, extra)).collect();
    let missing: Vec<&str> = names
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        return Some(found.into_iter().flatten().collect());
    }
    let what = missing.join(", ");
    if std::env::var_os(require_var).is_some_and(|v| !v.is_empty()) {
        panic!(
            "{test}: {what} missing, and {require_var} says this test must run (.ci/run installs them)"
        );
    }
    eprintln!(
        "NOTE: {test} skipped: {what} not installed (set {require_var}=1 to make that a failure; .ci/run installs them)"
    );
    None
}

/// True when this process runs as root (some tests need it to start a password-login sshd).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
