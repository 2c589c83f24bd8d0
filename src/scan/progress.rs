//! How far a scan is: counters the workers update and a display may read at any time. The scan
//! itself never prints; `crate::app` draws the line on a terminal. Work is counted in the units
//! the scheduler orders files by (stored bytes, eight times that for a gzip log), so that the
//! time left follows the inflating, not the bytes on disk.

use crate::model::EvPath;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Files and work planned and done, and a file being read.
#[derive(Debug, Default)]
pub struct Progress {
    files_total: AtomicU64,
    files_done: AtomicU64,
    work_total: AtomicU64,
    work_done: AtomicU64,
    current: Mutex<Option<EvPath>>,
}

/// What [`Progress::snapshot`] gives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub files_total: u64,
    pub files_done: u64,
    pub work_total: u64,
    pub work_done: u64,
    /// A file being read.
    pub current: Option<EvPath>,
}

impl Progress {
    /// Sets what the scan will read: `files` costing `work` in all.
    pub(super) fn plan(&self, files: u64, work: u64) {
        self.files_total.store(files, Ordering::Relaxed);
        self.work_total.store(work, Ordering::Relaxed);
    }

    /// A worker starts reading `path`.
    pub(super) fn start(&self, path: &EvPath) {
        if let Ok(mut c) = self.current.lock() {
            *c = Some(path.clone());
        }
    }

    /// A worker finished a file that cost `work`.
    pub(super) fn done(&self, work: u64) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
        self.work_done.fetch_add(work, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            files_total: self.files_total.load(Ordering::Relaxed),
            files_done: self.files_done.load(Ordering::Relaxed),
            work_total: self.work_total.load(Ordering::Relaxed),
            work_done: self.work_done.load(Ordering::Relaxed),
            current: self.current.lock().ok().and_then(|c| c.clone()),
        }
    }
}

impl Snapshot {
    /// One line: `1,234/99,000 files, 40% of the work, ETA 12 s: /var/log/ns.log.3.gz`, the
    /// path escaped and the line cut to `width` characters. `elapsed` is the seconds since the
    /// scan started; the time left assumes the work goes on at the rate so far.
    pub fn line(&self, elapsed: f64, width: usize) -> String {
        let share = if self.work_total > 0 {
            self.work_done as f64 / self.work_total as f64
        } else {
            0.0
        };
        let eta = if self.work_done > 0 && elapsed > 1.0 {
            let left = elapsed * (1.0 - share) / share;
            format!(", ETA {left:.0} s")
        } else {
            String::new()
        };
        let mut s = format!(
            "sporen: {}/{} files, {:.0}% of the work{eta}",
            self.files_done,
            self.files_total,
            share * 100.0
        );
        if let Some(p) = &self.current {
            s.push_str(": ");
            s.push_str(&crate::report::sanitize::escape_str(
                &p.to_lossless_string(),
            ));
        }
        s.chars().take(width).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_escapes_and_is_cut() {
        let p = Progress::default();
        p.plan(10, 2_000_000_000);
        p.start(&EvPath::new(&b"var/log/\x1b[31mns.log"[..]));
        p.done(1_000_000_000);
        let s = p.snapshot();
        assert_eq!((s.files_done, s.work_done), (1, 1_000_000_000));
        let line = s.line(10.0, 200);
        assert!(
            line.starts_with("sporen: 1/10 files, 50% of the work, ETA 10 s: "),
            "{line}"
        );
        assert!(!line.contains('\x1b'), "{line}");
        assert_eq!(s.line(10.0, 12).chars().count(), 12);
    }
}
