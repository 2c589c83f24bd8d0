//! Writing the report: to standard output, or to `--output` atomically and never inside the
//! evidence.

use anyhow::{Context, Result, bail};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The report must never land inside the evidence.
pub fn refuse_inside_target(output: &Path, target: &Path) -> Result<()> {
    let target = std::fs::canonicalize(target)?;
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = std::fs::canonicalize(&parent).with_context(|| {
        format!(
            "cannot write {}: its folder does not exist",
            output.display()
        )
    })?;
    if parent.starts_with(&target) {
        bail!(
            "refusing to write {} inside the evidence ({}); choose a location outside TARGET",
            output.display(),
            target.display()
        );
    }
    Ok(())
}

/// Writes to a temporary file beside `path`, then renames it into place, so an interrupted
/// run never leaves a half-written report under the final name.
pub fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().context("--output needs a file name")?;
    let tmp = dir.join(format!(
        ".{}.sporen-{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut w = io::BufWriter::new(file);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}
