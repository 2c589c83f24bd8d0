//! Shared test helpers: materialise a fixture (copy its root and apply the owners, modes and
//! times git cannot store) and run the real binary.

#![allow(dead_code)]

pub mod archive;
pub mod output;
pub mod run;

use serde::Deserialize;
use std::collections::BTreeSet;
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
    let t = sporen::rules::load::parse_time(s).unwrap_or_else(|| panic!("bad time {s}"));
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

fn all_paths(root: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            all_paths(&p, out);
        }
        out.push(p);
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
    let mut paths = Vec::new();
    all_paths(dir, &mut paths);
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

/// Runs the sporen binary.
pub fn sporen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sporen"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run sporen")
}

/// The (rule, path) pairs of a JSON report.
pub fn finding_set(report: &serde_json::Value) -> BTreeSet<Expect> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Expect {
            rule: f["rule"].as_str().unwrap().to_owned(),
            path: f["path"].as_str().unwrap().to_owned(),
        })
        .collect()
}

pub mod image;
