//! Evidence in every shape a report could land on (a folder, a tar, a disk image) and a way to
//! run the binary with full control of its standard streams, for the `--output` tests.

use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Longest one run may take before it counts as a hang (a guard, not a measurement).
const HANG: Duration = Duration::from_secs(30);

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
        let root = tmp.path().join("root");
        super::materialise("clean-13.0-47.24", &root);
        let tar = tmp.path().join("evidence.tar");
        fs::write(&tar, tar_of(&root)).expect("write tar");
        let image = tmp.path().join("da0.img");
        let gz = super::project().join("fixtures/clean-13.0-47.24/disk.img.gz");
        let mut img = Vec::new();
        flate2::read::GzDecoder::new(fs::File::open(gz).expect("open disk image"))
            .read_to_end(&mut img)
            .expect("gunzip disk image");
        fs::write(&image, img).expect("write disk image");
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
        walk(&self.root, &mut files);
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

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("list evidence") {
        let e = e.expect("evidence entry");
        let t = e.file_type().expect("file type");
        if t.is_dir() {
            walk(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}

/// A tar of `root` as `tar -cf` would write it.
pub fn tar_of(root: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    b.append_dir_all(".", root).expect("tar evidence");
    b.into_inner().expect("finish tar")
}

pub fn sha256_file(p: &Path) -> String {
    let bytes = fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    format!("{:x}", Sha256::digest(bytes))
}

/// Names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("list folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    /// Asserts the run was refused: exit 2, no report on standard output, `why` on stderr.
    pub fn assert_refused(&self, why: &str, what: &str) {
        assert_eq!(
            self.code,
            Some(2),
            "{what}: not refused; stderr:\n{}",
            self.stderr
        );
        assert!(self.stdout.is_empty(), "{what}: a report was printed");
        assert!(
            self.stderr.contains(why),
            "{what}: stderr does not say `{why}`:\n{}",
            self.stderr
        );
    }

    /// Asserts the run reached a verdict (exit 0, 1 or 3).
    pub fn assert_verdict(&self, what: &str) {
        assert!(
            matches!(self.code, Some(0 | 1 | 3)),
            "{what}: no verdict, exit {:?}; stderr:\n{}",
            self.code,
            self.stderr
        );
    }
}

/// `sporen <args>` with standard input closed and standard output captured.
pub fn sporen<S: AsRef<OsStr>>(args: &[S]) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sporen"));
    cmd.args(args).stdout(Stdio::piped());
    finish(cmd)
}

/// Runs `cmd` (standard input closed, standard error captured) and kills it when it hangs.
pub fn finish(mut cmd: Command) -> Outcome {
    cmd.env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let out = child.stdout.take().map(|mut s| {
        thread::spawn(move || {
            let mut v = Vec::new();
            let _ = s.read_to_end(&mut v);
            v
        })
    });
    let mut err = child.stderr.take().expect("stderr pipe");
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let code = wait_or_kill(&mut child, &cmd);
    Outcome {
        code,
        stdout: out.map_or_else(Vec::new, |t| t.join().expect("stdout reader")),
        stderr: String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned(),
    }
}

fn wait_or_kill(child: &mut Child, cmd: &Command) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} hung: killed after {HANG:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}
