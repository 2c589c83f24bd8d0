//! The floor a scan cannot beat: every file of a tree read, every gzip member inflated with the
//! same inflate backend sporen uses, on N threads, largest first; nothing matched. `bench/run`
//! compares the scan's wall time with this one's.
//!
//! usage: cargo run --release --example inflate_floor -- ROOT [THREADS]

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn files(root: &Path, out: &mut Vec<(u64, PathBuf)>) -> io::Result<()> {
    for e in std::fs::read_dir(root)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            files(&e.path(), out)?;
        } else if t.is_file() {
            out.push((e.metadata()?.len(), e.path()));
        }
    }
    Ok(())
}

/// Reads `path` to the end, inflating it when it is gzip; the bytes of text.
fn drain(path: &Path) -> io::Result<u64> {
    let mut r = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut head = [0u8; 2];
    let n = r.read(&mut head)?;
    let joined = (&head[..n]).chain(r);
    if n == 2 && head == [0x1f, 0x8b] {
        io::copy(
            &mut flate2::bufread::MultiGzDecoder::new(BufReader::new(joined)),
            &mut io::sink(),
        )
    } else {
        io::copy(&mut { joined }, &mut io::sink())
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().expect("usage: inflate_floor ROOT [THREADS]"));
    let threads: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let start = Instant::now();
    let mut list = Vec::new();
    files(&root, &mut list)?;
    list.sort_by_key(|f| std::cmp::Reverse(f.0));
    let next = AtomicUsize::new(0);
    let total: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut bytes = 0;
                    while let Some((_, p)) = list.get(next.fetch_add(1, Ordering::Relaxed)) {
                        bytes += drain(p).unwrap_or(0);
                    }
                    bytes
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    println!(
        "{} files, {} MB of text, {:.2} s on {threads} threads",
        list.len(),
        total / 1_000_000,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
