//! Bad rules and bad targets are errors before anything is scanned, never a verdict: `rules
//! check` locates every problem of a rule file at once, a scan with invalid rules stops before
//! the target is looked at and changes nothing, and a target that is not a folder (missing, a
//! file, a FIFO, a dangling link) is refused with the reason. A link to a folder is a fine
//! target: the control.

#![cfg(unix)]

mod common;

use common::hostile::{Tree, appliance, sporen};
use common::tree::{assert_same_tree, mkfifo, snapshot};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Four different problems, none a TOML syntax error (which would hide the others).
const BAD_RULES: &str = r#"[pack]
id = "bad"
title = "Broken rules"
description = "Every rule here has a problem."

[[rule]]
id = "bad.severity-and-regex"
title = "t"
description = "d"
severity = "severe"
[rule.lines]
logs = ["var/log/ns.log"]
any = [{ regex = "(unclosed" }]

[[rule]]
id = "bad.field-and-glob"
title = "t"
description = "d"
severity = "high"
colour = "red"
[rule.file]
paths = ["/abs/path"]
"#;

/// `(line, column)` of the first occurrence of `needle` in `src`, both 1-based.
fn position(src: &str, needle: &str) -> (usize, usize) {
    let at = src
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in source"));
    let line = src[..at].matches('\n').count() + 1;
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, src[line_start..at].chars().count() + 1)
}

#[test]
fn rules_check_reports_every_problem_with_its_location() {
    let c = Tree::new();
    let bad = c.rules("bad.toml", BAD_RULES);
    let file = bad.display().to_string();
    let expected = [
        ("E009", position(BAD_RULES, "\"severe\"")),
        ("E005", position(BAD_RULES, "\"(unclosed\"")),
        ("E002", position(BAD_RULES, "colour")),
        ("E015", position(BAD_RULES, "\"/abs/path\"")),
    ];

    let run = sporen(&[OsStr::new("rules"), OsStr::new("check"), bad.as_os_str()]);
    assert_eq!(
        run.code,
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    let all = format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr);
    for (code, (line, col)) in expected {
        assert!(
            all.contains(&format!("error[{code}]")),
            "{code} missing:\n{all}"
        );
        let loc = format!("{file}:{line}:{col}");
        assert!(all.contains(&loc), "{code}: location {loc} missing:\n{all}");
    }
    assert!(all.contains("4 problems"), "{all}");

    let run = sporen(&[
        OsStr::new("rules"),
        OsStr::new("check"),
        OsStr::new("--json"),
        bad.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2));
    let v = run.json();
    let mut got: Vec<(String, usize, usize)> = v
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| {
            assert_eq!(d["file"], file.as_str());
            (
                d["code"].as_str().expect("code").to_owned(),
                d["line"].as_u64().expect("line") as usize,
                d["column"].as_u64().expect("column") as usize,
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, usize, usize)> = expected
        .iter()
        .map(|(c, (l, col))| ((*c).to_owned(), *l, *col))
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn invalid_rules_stop_the_scan_before_the_target_is_touched() {
    let c = Tree::appliance();
    let bad = c.rules("bad.toml", BAD_RULES);
    let missing = c.out.join("no-such-target");
    let run = sporen(&[
        OsStr::new("scan"),
        missing.as_os_str(),
        OsStr::new("--rules"),
        bad.as_os_str(),
        OsStr::new("--no-builtin-rules"),
    ]);
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.is_empty(), "a report was printed");
    assert!(
        run.stderr.contains("error[E009]") && run.stderr.contains("nothing was scanned"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("cannot scan"),
        "the target was looked at first:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("no-such-target"),
        "the target was looked at first:\n{}",
        run.stderr
    );

    // The same with builtin rules and a real target: exit 2, nothing printed, nothing changed.
    let before = snapshot(&c.root);
    let run = sporen(&[
        OsStr::new("scan"),
        c.root.as_os_str(),
        OsStr::new("--rules"),
        bad.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.is_empty());
    assert_same_tree(&before, &snapshot(&c.root), "scan with invalid rules");
}

#[test]
fn a_target_that_is_not_a_directory_is_an_error() {
    let c = Tree::new();
    let file = c.out.join("file");
    fs::write(&file, "not a tree").expect("write");
    let fifo = c.out.join("fifo");
    mkfifo(&fifo);
    let dangling = c.out.join("dangling");
    symlink(c.out.join("nowhere"), &dangling).expect("symlink");
    let missing = c.out.join("missing");
    let cases: [(&Path, &str); 4] = [
        (&missing, "No such file or directory"),
        (&file, "not a folder"),
        (&fifo, "not a folder"),
        (&dangling, "No such file or directory"),
    ];
    for (target, why) in cases {
        let run = sporen(&[OsStr::new("scan"), target.as_os_str()]);
        assert_eq!(run.code, Some(2), "{}: {}", target.display(), run.stderr);
        assert!(run.stdout.is_empty());
        assert!(
            run.stderr.contains("cannot scan"),
            "{}: {}",
            target.display(),
            run.stderr
        );
        assert!(
            run.stderr.contains(&target.display().to_string()),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(why),
            "{}: expected {why:?} in {}",
            target.display(),
            run.stderr
        );
    }
    // Control: a link to a directory is a fine target, scanned like the directory itself.
    let tree = c.out.join("tree");
    appliance(&tree);
    let to_tree = c.out.join("to-tree");
    symlink(&tree, &to_tree).expect("symlink");
    let direct = sporen(&[
        OsStr::new("scan"),
        tree.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("json"),
    ]);
    let linked = sporen(&[
        OsStr::new("scan"),
        to_tree.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("json"),
    ]);
    linked.assert_verdict("scan");
    let (d, l) = (direct.json(), linked.json());
    assert!(d["coverage"]["entries_seen"].as_u64().unwrap_or(0) > 10);
    assert_eq!(d["coverage"]["entries_seen"], l["coverage"]["entries_seen"]);
    assert_eq!(d["verdict"], l["verdict"]);
}
