//! SHA-256 and size of every input (archive, image, the standard-input or SSH stream) as sporen
//! received it, for the report's `target.inputs`. Hashing happens while the input is read, or
//! in one sequential pass on its own thread for a file read in place; it only ever reads.

use crate::model::InputFile;
use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A reader that hashes and counts every byte that passes through it.
pub(crate) struct Hashing<R> {
    inner: R,
    sha: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Hashing {
            inner,
            sha: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes hashed so far.
    pub(crate) fn count(&self) -> u64 {
        self.bytes
    }

    /// The digest of what was read; `complete` says whether that was the whole input.
    pub(crate) fn finish(self, path: &str, complete: bool) -> InputFile {
        InputFile {
            path: path.to_owned(),
            bytes: self.bytes,
            sha256: Some(crate::util::bytes::hex(&self.sha.finalize())),
            complete,
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

enum Slot {
    Ready(InputFile),
    Running(JoinHandle<InputFile>),
    Taken,
}

/// The digests of a run's inputs, in the order the inputs were given; some may still be
/// computed on their own thread.
#[derive(Default)]
pub(crate) struct InputDigests {
    slots: Mutex<Vec<Slot>>,
}

impl InputDigests {
    /// Adds a digest computed while reading.
    pub(crate) fn push(&self, f: InputFile) {
        self.lock().push(Slot::Ready(f));
    }

    /// Hashes `file` from its first to its last byte with positioned reads (so it does not
    /// disturb other readers) on a thread of its own.
    pub(crate) fn hash_in_background(&self, path: String, file: Arc<std::fs::File>) {
        let handle = std::thread::spawn(move || hash_file(&path, &file));
        self.lock().push(Slot::Running(handle));
    }

    /// Every digest, waiting for those still being computed.
    pub(crate) fn collect(&self) -> Vec<InputFile> {
        let mut slots = self.lock();
        for s in slots.iter_mut() {
            if let Slot::Running(_) = s
                && let Slot::Running(h) = std::mem::replace(s, Slot::Taken)
            {
                *s = match h.join() {
                    Ok(f) => Slot::Ready(f),
                    Err(_) => Slot::Taken,
                };
            }
        }
        slots
            .iter()
            .filter_map(|s| match s {
                Slot::Ready(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn hash_file(path: &str, file: &std::fs::File) -> InputFile {
    use std::os::unix::fs::FileExt;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at: u64 = 0;
    loop {
        match file.read_at(&mut buf, at) {
            Ok(0) => break,
            Ok(n) => {
                sha.update(&buf[..n]);
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                return InputFile {
                    path: path.to_owned(),
                    bytes: at,
                    sha256: None,
                    complete: false,
                };
            }
        }
    }
    InputFile {
        path: path.to_owned(),
        bytes: at,
        sha256: Some(crate::util::bytes::hex(&sha.finalize())),
        complete: true,
    }
}
