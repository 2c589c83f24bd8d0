//! Golden tests of rule diagnostics, kept the way yara-x keeps its own: every
//! `tests/diagnostics/<name>.toml` is checked with `sporen rules check
//! tests/diagnostics/<name>.toml` (run from the project root) and its standard error must equal
//! `tests/diagnostics/<name>.out` byte for byte. A file named after a code (`E005.toml`) shows
//! that code and no other; the `multi-*.toml` files show that every problem is reported at once,
//! each with its file, line and column.
//!
//! Problems no single file in the repository can be (a path that does not exist, a FIFO, rule
//! files over the size budgets, several sources at once) are created in a temporary folder;
//! their standard error, with that folder written `<tmp>`, must equal
//! `tests/diagnostics/generated/<name>.out`.
//!
//! Every run exits 2 and prints nothing on standard output. Every code of [`Code`] appears in at
//! least one golden output and has its row in the table of codes of `rules/README.md`, so a new
//! code without a golden test fails.
//!
//! After changing a message on purpose, rewrite the golden outputs and review the difference:
//!
//! ```sh
//! SPOREN_BLESS=1 cargo test --test diagnostics
//! git diff tests/diagnostics
//! ```

mod common;

use common::{project, sporen};
use sporen::rules::Code;
use sporen::rules::set::{MAX_RULE_BYTES, MAX_RULE_FILE};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The golden files, relative to the project root.
const DIR: &str = "tests/diagnostics";

/// What the temporary folder of a generated case is written as in its golden output.
const PLACEHOLDER: &str = "<tmp>";

/// Creates the input of a generated case in a folder; returns the paths to check.
type Make = fn(&Path) -> Vec<PathBuf>;

/// The generated cases, by the name of their golden output.
const GENERATED: &[(&str, Make)] = &[
    ("E011", missing_path),
    ("E012", fifo),
    ("E029", too_large),
    ("E030", too_large_together),
    ("sources", several_sources),
];

fn blessing() -> bool {
    std::env::var_os("SPOREN_BLESS").is_some_and(|v| v == "1")
}

/// `sporen rules check ARGS`, which must refuse (exit 2, nothing on standard output); its
/// standard error.
fn check(args: &[&str]) -> String {
    let mut all = vec!["rules", "check"];
    all.extend_from_slice(args);
    let out = sporen(&all);
    let stderr = String::from_utf8(out.stderr).expect("diagnostics are UTF-8");
    assert_eq!(out.status.code(), Some(2), "{all:?}:\n{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{all:?} printed on standard output:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// Compares `got` with the golden output `out`, or rewrites it when blessing. A difference is
/// returned as a message.
fn compare(out: &Path, got: &str) -> Option<String> {
    if blessing() {
        // Written aside and renamed: a test reading golden outputs meanwhile sees whole files.
        let new = out.with_extension("out.new");
        fs::write(&new, got).expect("write golden output");
        fs::rename(&new, out).expect("replace golden output");
        return None;
    }
    let want = fs::read_to_string(out)
        .unwrap_or_else(|e| format!("<{} cannot be read: {e}>\n", out.display()));
    (want != got).then(|| format!("{}\n--- expected\n{want}--- got\n{got}", out.display()))
}

fn assert_no_failures(failures: &[String], of: usize) {
    assert!(
        failures.is_empty(),
        "{} of {of} golden outputs differ (SPOREN_BLESS=1 rewrites them; review the diff):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Names (without extension) of the files in `dir` ending in `.ext`, sorted.
fn names(dir: &Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("folder entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    v.sort();
    v
}

/// The codes of the `error[...]` lines of a rendered output.
fn codes_in(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("error["))
        .filter_map(|rest| rest.split_once("]: "))
        .map(|(code, _)| code.to_owned())
        .collect()
}

#[test]
fn every_golden_rule_file_renders_its_recorded_diagnostics() {
    let dir = project().join(DIR);
    let inputs = names(&dir, "toml");
    assert!(inputs.len() >= 20, "golden rule files: {inputs:?}");
    let mut failures = Vec::new();
    for name in &inputs {
        let got = check(&[&format!("{DIR}/{name}.toml")]);
        if Code::ALL.iter().any(|c| c.to_string() == *name) {
            assert_eq!(
                codes_in(&got),
                BTreeSet::from([name.clone()]),
                "{name}.toml must show its code and no other:\n{got}"
            );
        }
        failures.extend(compare(&dir.join(format!("{name}.out")), &got));
    }
    assert_no_failures(&failures, inputs.len());
}

#[test]
fn inputs_no_rule_file_can_hold_render_their_recorded_diagnostics() {
    let golden = project().join(DIR).join("generated");
    let mut failures = Vec::new();
    for (name, make) in GENERATED {
        let tmp = tempfile::tempdir().expect("temporary folder");
        let paths = make(tmp.path());
        let args: Vec<&str> = paths
            .iter()
            .map(|p| p.to_str().expect("UTF-8 temporary path"))
            .collect();
        let root = tmp.path().to_str().expect("UTF-8 temporary path");
        let got = check(&args).replace(root, PLACEHOLDER);
        if name.starts_with('E') {
            assert!(codes_in(&got).contains(*name), "{name} not shown:\n{got}");
        }
        failures.extend(compare(&golden.join(format!("{name}.out")), &got));
    }
    assert_no_failures(&failures, GENERATED.len());
}

#[test]
fn every_code_has_a_golden_output_and_a_row_in_the_rules_readme() {
    let dir = project().join(DIR);
    let mut outputs = Vec::new();
    for d in [dir.clone(), dir.join("generated")] {
        for name in names(&d, "out") {
            outputs.push(fs::read_to_string(d.join(format!("{name}.out"))).expect("read"));
        }
    }
    let shown: BTreeSet<String> = outputs.iter().flat_map(|o| codes_in(o)).collect();
    let codes: BTreeSet<String> = Code::ALL.iter().map(ToString::to_string).collect();
    let untested: Vec<&String> = codes.difference(&shown).collect();
    assert!(
        untested.is_empty(),
        "codes without a golden output: {untested:?}"
    );
    let unknown: Vec<&String> = shown.difference(&codes).collect();
    assert!(
        unknown.is_empty(),
        "golden outputs of codes that do not exist: {unknown:?}"
    );

    let readme = fs::read_to_string(project().join("rules/README.md")).expect("rules/README.md");
    for c in Code::ALL {
        let row = format!("| {c} | {}", c.meaning());
        assert!(
            readme.lines().any(|l| l.starts_with(&row)),
            "rules/README.md has no row starting `{row}`"
        );
    }
}

#[test]
fn every_golden_output_has_its_input() {
    let dir = project().join(DIR);
    let inputs = names(&dir, "toml");
    let orphans: Vec<String> = names(&dir, "out")
        .into_iter()
        .filter(|n| !inputs.contains(n))
        .collect();
    assert!(
        orphans.is_empty(),
        "{DIR}: outputs without a .toml: {orphans:?}"
    );
    let generated: Vec<String> = names(&dir.join("generated"), "out")
        .into_iter()
        .filter(|n| !GENERATED.iter().any(|(g, _)| g == n))
        .collect();
    assert!(
        generated.is_empty(),
        "outputs of no generated case: {generated:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Generated inputs

fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().expect("run mkfifo");
    assert!(st.success(), "mkfifo {}", p.display());
}

/// A sparse file of `len` bytes: its size is refused before anything is read.
fn sparse(p: &Path, len: u64) {
    fs::File::create(p)
        .and_then(|f| f.set_len(len))
        .expect("sparse file");
}

const VALID: &str = "[pack]\nid = \"golden\"\ntitle = \"t\"\ndescription = \"d\"\n\n[[rule]]\nid = \"golden.x\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"low\"\n[rule.file]\npaths = [\"var/tmp/x\"]\n";

fn missing_path(dir: &Path) -> Vec<PathBuf> {
    vec![dir.join("missing.toml")]
}

fn fifo(dir: &Path) -> Vec<PathBuf> {
    let p = dir.join("fifo.toml");
    mkfifo(&p);
    vec![p]
}

fn too_large(dir: &Path) -> Vec<PathBuf> {
    let p = dir.join("huge.toml");
    sparse(&p, MAX_RULE_FILE + 1);
    vec![p]
}

/// One file of the largest size allowed, given as often as the total budget holds, then one
/// more rule file. The large file starts with a byte that is not UTF-8, so that it is read
/// (and counted) but not parsed.
fn too_large_together(dir: &Path) -> Vec<PathBuf> {
    let filler = dir.join("filler.toml");
    fs::write(&filler, [0xff]).expect("write");
    fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .and_then(|f| f.set_len(MAX_RULE_FILE))
        .expect("grow");
    let last = dir.join("last.toml");
    fs::write(&last, VALID).expect("write");
    let times = usize::try_from(MAX_RULE_BYTES / MAX_RULE_FILE).expect("count");
    let mut paths = vec![filler; times];
    paths.push(last);
    paths
}

/// A folder holding a FIFO, a file over the size budget and a syntax error; a folder without
/// rule files; a path that does not exist: all reported at once.
fn several_sources(dir: &Path) -> Vec<PathBuf> {
    let rules = dir.join("rules");
    let empty = dir.join("empty");
    fs::create_dir(&rules).expect("folder");
    fs::create_dir(&empty).expect("folder");
    fs::write(empty.join("notes.txt"), "not a rule file\n").expect("write");
    mkfifo(&rules.join("a-fifo.toml"));
    sparse(&rules.join("b-huge.toml"), MAX_RULE_FILE + 1);
    fs::write(rules.join("c-broken.toml"), "[pack\n").expect("write");
    fs::write(rules.join("d-valid.toml"), VALID).expect("write");
    vec![rules, empty, dir.join("missing.toml")]
}
