//! The one test-support module of every integration test. Here: the fixture appliances
//! (`fixtures/<case>/`), materialised with the owners, modes and times git cannot store, and the
//! plain way to run the binary on one. Beside it:
//!
//! - [`run`]: running the binary with a time limit, or a time and a memory limit;
//! - [`report`]: reading a JSON report (findings, gaps, windows, sources);
//! - [`tree`]: evidence trees on the host (odd names, links, FIFOs) and snapshots of them;
//! - [`hostile`]: the hostile-input tests' healthy appliance and marker rules;
//! - [`mock`]: in-process evidence, listings and a mock whose reads fail on purpose;
//! - [`archive`]: tar members header by header, gzip, probe rules;
//! - [`image`]: UFS2 images and partition tables, built in memory;
//! - [`output`]: one clean appliance as a folder, a tar and a disk image, for `--output`;
//! - [`tools`]: outside programs (sshd, ansible, Chromium) and the skip-or-fail rule;
//! - [`sshd`]: real OpenSSH servers on loopback that play NetScaler appliances.
//! - [`schema`]: the published JSON schema of the report, and checking a report against it.
//!
//! Every test binary compiles this module on its own and uses only a part of it, so dead code is
//! allowed here.

#![allow(dead_code)]

pub mod archive;
pub mod hostile;
pub mod image;
pub mod mock;
pub mod output;
pub mod report;
pub mod run;
pub mod schema;
pub mod sshd;
pub mod tools;
pub mod tree;

use serde::Deserialize;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `fixtures/<case>/case.toml`.
#[derive(Debug, Deserialize)]
pub struct Case {
    pub description: String,
    pub verdict: String,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub dirs: Vec<String>,
    #[serde(default)]
    pub meta: Vec<Meta>,
    #[serde(default)]
    pub artefact: Vec<toml::Value>,
    #[serde(default)]
    pub lookalike: Vec<toml::Value>,
    /// The exact (rule, path) findings a scan must give.
    #[serde(default)]
    pub expect: Vec<Expect>,
    /// Time coverage of evidence sources a scan must report.
    #[serde(default)]
    pub expect_source: Vec<ExpectSource>,
    /// Window checks a scan must report.
    #[serde(default)]
    pub expect_window: Vec<ExpectWindow>,
    /// Posture a scan must report.
    #[serde(default)]
    pub expect_posture: Vec<ExpectPosture>,
}

#[derive(Debug, Deserialize)]
pub struct ExpectPosture {
    pub firmware: Option<String>,
    pub cve: Option<String>,
    pub status: Option<String>,
    pub mitigation_effective: Option<bool>,
    pub mitigation_since: Option<String>,
    pub disagreement: Option<String>,
    pub secrets: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ExpectSource {
    pub id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub year_inferred: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct ExpectWindow {
    pub pack: String,
    pub status: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Defaults {
    pub mtime: Option<String>,
    /// Empty directories to create (git cannot store them).
    #[serde(default)]
    pub dirs: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Meta {
    pub path: String,
    pub mode: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mtime: Option<String>,
}

#[derive(Debug, Deserialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expect {
    pub rule: String,
    pub path: String,
}

/// The project root.
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every fixture case name, sorted.
pub fn case_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(project().join("fixtures"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("case.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Reads a case description.
pub fn load_case(name: &str) -> Case {
    let p = project().join("fixtures").join(name).join("case.toml");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn parse_time(s: &str) -> filetime::FileTime {
    let t = sporen::util::bytes::parse_time(s).unwrap_or_else(|| panic!("bad time {s}"));
    filetime::FileTime::from_unix_time(t, 0)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        let dst = to.join(e.file_name());
        if ft.is_symlink() {
            symlink(std::fs::read_link(e.path()).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// True when this process may change file owners (root).
pub fn can_chown() -> bool {
    // SAFETY-free check: try to chown a temp file to its own owner and then to uid 65534.
    let t = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::chown(t.path(), Some(65534), Some(0)).is_ok()
}

/// Copies `fixtures/<name>/root` into `dir` and applies the case metadata.
pub fn materialise(name: &str, dir: &Path) -> Case {
    let case = load_case(name);
    let src = project().join("fixtures").join(name).join("root");
    copy_tree(&src, dir);
    for d in case.dirs.iter().chain(&case.defaults.dirs) {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let chown_ok = can_chown();
    for m in &case.meta {
        let p = dir.join(&m.path);
        // Owner first: chown clears the setuid and setgid bits.
        if m.uid.is_some() || m.gid.is_some() {
            if chown_ok {
                std::os::unix::fs::lchown(&p, m.uid, m.gid).unwrap();
            } else if std::env::var_os("CI").is_some() {
                panic!("fixture {name} needs chown; run the tests as root");
            }
        }
        if let Some(mode) = &m.mode {
            let v = u32::from_str_radix(mode, 8).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(v)).unwrap();
        }
    }
    // Times last, deepest first, so creating files does not disturb directory times.
    let mut paths = tree::walk(dir);
    paths.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    if let Some(t) = &case.defaults.mtime {
        let ft = parse_time(t);
        for p in &paths {
            filetime::set_symlink_file_times(p, ft, ft).unwrap();
        }
    }
    for m in &case.meta {
        if let Some(t) = &m.mtime {
            let ft = parse_time(t);
            filetime::set_symlink_file_times(dir.join(&m.path), ft, ft).unwrap();
        }
    }
    case
}

/// `fixtures/<name>` materialised under `dir/root`; returns that root.
pub fn root_in(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join("root");
    materialise(name, &root);
    root
}

/// `fixtures/<name>` materialised under `root/` of a new temporary folder, which is removed
/// when the returned guard is dropped.
pub fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = root_in(dir.path(), name);
    (dir, root)
}

/// The rule packs built into the binary.
pub fn shipped_rules() -> sporen::rules::RuleSet {
    sporen::rules::RuleSet::load(&sporen::rules::set::RuleSources {
        embedded: true,
        paths: vec![],
        baseline: sporen::appliance::Registered::default_family().baseline,
    })
    .unwrap_or_else(|d| panic!("shipped rules invalid: {d:#?}"))
}

/// The rule pack `text` (named `name` in diagnostics), compiled; fails listing its problems.
pub fn rule_set(name: &str, text: &str) -> sporen::rules::RuleSet {
    sporen::rules::RuleSet::from_sources(
        vec![(name.to_owned(), text.to_owned())],
        vec![],
        sporen::appliance::Registered::default_family().baseline,
    )
    .unwrap_or_else(|d| panic!("{name} invalid: {d:#?}"))
}

/// Runs every example of `rules` through the scanner with the default appliance family's
/// knowledge: the number of examples and the failures.
pub fn run_examples(
    rules: &sporen::rules::RuleSet,
) -> (usize, Vec<sporen::rules::examples::ExampleFailure>) {
    let appliance = sporen::appliance::Appliance::embedded().expect("embedded knowledge");
    sporen::selftest::run_examples(rules, &appliance)
}

/// Runs the sporen binary (no time limit: see [`run`] for runs that must not hang).
pub fn sporen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sporen"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run sporen")
}

/// `sporen scan TARGET --format json EXTRA...`: the run and its JSON report (fails, with the
/// run's stderr, when there is none).
pub fn scan_json(target: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let (out, report) = try_scan_json(target, extra);
    (out, report.unwrap_or_else(|e| panic!("{e}")))
}

/// `sporen scan TARGET --format json EXTRA...`: the run and its JSON report, or what went wrong.
pub fn try_scan_json(target: &Path, extra: &[&str]) -> (Output, Result<serde_json::Value, String>) {
    let mut args = vec![
        "scan",
        target.to_str().expect("UTF-8 path"),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = sporen(&args);
    let report = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "no JSON report ({e}), exit {:?}; stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report)
}
