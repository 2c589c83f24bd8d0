//! Evidence in every shape a report could land on (a folder, a tar, a disk image), with digests
//! of all of it, for the tests of `--output`.

use super::archive::{gunzip, tar_of};
use super::tree::{sha256_file, walk};
use std::fs;
use std::path::PathBuf;

/// A temporary case: the clean appliance as a folder, a tar and a disk image, plus a folder
/// for reports that is not part of the evidence.
pub struct Evidence {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub tar: PathBuf,
    pub image: PathBuf,
    pub out: PathBuf,
}

impl Evidence {
    pub fn new() -> Evidence {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = super::root_in(tmp.path(), "clean-13.0-47.24");
        let tar = tmp.path().join("evidence.tar");
        fs::write(&tar, tar_of(&root)).expect("write tar");
        let image = tmp.path().join("da0.img");
        let gz = super::project().join("fixtures/clean-13.0-47.24/disk.img.gz");
        fs::write(&image, gunzip(&gz)).expect("write disk image");
        let out = tmp.path().join("out");
        fs::create_dir(&out).expect("out folder");
        Evidence {
            tmp,
            root,
            tar,
            image,
            out,
        }
    }

    /// The SHA-256 of every evidence file and of the image and the tar, by path.
    pub fn digests(&self) -> Vec<(PathBuf, String)> {
        let mut files = vec![self.tar.clone(), self.image.clone()];
        files.extend(
            walk(&self.root)
                .into_iter()
                .filter(|p| p.is_file() && !p.is_symlink()),
        );
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let d = sha256_file(&p);
                (p, d)
            })
            .collect()
    }
}

/// Fails with the paths whose digest changed (or that appeared or vanished) since `before`.
pub fn assert_unchanged(before: &[(PathBuf, String)], ev: &Evidence, what: &str) {
    let after = ev.digests();
    let changed: Vec<&PathBuf> = before
        .iter()
        .chain(&after)
        .filter(|x| !before.contains(x) || !after.contains(x))
        .map(|(p, _)| p)
        .collect();
    assert!(
        changed.is_empty(),
        "{what}: the evidence changed: {changed:?}"
    );
}
