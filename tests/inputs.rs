//! Every fixture appliance scanned as a folder, as a tar file, as a gzip tar, as a tar on
//! standard input and over (a stand-in for) SSH gives the same verdict and findings.

mod common;

use common::{materialise, sporen};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

type Findings = BTreeSet<(String, String, Option<u64>)>;

fn summary(json: &[u8]) -> (String, Findings) {
    let v: serde_json::Value = serde_json::from_slice(json).expect("JSON report");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64(),
            )
        })
        .collect();
    (v["verdict"].as_str().unwrap().to_owned(), f)
}

/// A tar of `root` keeping modes, owners, times and symbolic links, as `tar -cf` would.
fn tar_of(root: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    b.append_dir_all(".", root).unwrap();
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn stdin_scan(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sporen"))
        .args(["scan", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out.stdout
}

#[test]
fn every_fixture_gives_the_same_answer_from_every_input() {
    let mut failures = Vec::new();
    for name in common::case_names() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        materialise(&name, &root);
        let want = summary(&sporen(&["scan", root.to_str().unwrap(), "--format", "json"]).stdout);
        let tar = tar_of(&root);
        let tar_path = dir.path().join("evidence.tar");
        std::fs::write(&tar_path, &tar).unwrap();
        let tgz_path = dir.path().join("evidence.tgz");
        std::fs::write(&tgz_path, gzip(&tar)).unwrap();
        let runs = [
            (
                "tar",
                sporen(&["scan", tar_path.to_str().unwrap(), "--format", "json"]).stdout,
            ),
            (
                "tgz",
                sporen(&["scan", tgz_path.to_str().unwrap(), "--format", "json"]).stdout,
            ),
            ("stdin", stdin_scan(&gzip(&tar))),
        ];
        for (how, out) in runs {
            let got = summary(&out);
            if got.0 != want.0 {
                failures.push(format!(
                    "{name} as {how}: verdict {} instead of {}",
                    got.0, want.0
                ));
            }
            for d in want.1.symmetric_difference(&got.1) {
                failures.push(format!("{name} as {how}: finding differs: {d:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn ssh_runs_a_read_only_tar_through_the_cli_shell_and_scans_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    materialise("notrobin", &root);
    let args_file = dir.path().join("args");
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake-ssh");
    let out = Command::new(env!("CARGO_BIN_EXE_sporen"))
        .args([
            "scan",
            "--ssh",
            "nsroot@192.0.2.10",
            "--format",
            "json",
            "--ssh-program",
        ])
        .arg(&fake)
        .env("FAKE_SSH_ROOT", &root)
        .env("FAKE_SSH_ARGS", &args_file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sporen: running: ") && err.contains("shell \"tar -cf - -C / "),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "compromised");
    assert_eq!(v["target"]["input"], "ssh");
    assert!(
        v["target"]["detail"]
            .as_str()
            .unwrap()
            .contains("6 bytes before the archive skipped")
    );
    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args[..3], ["-o", "BatchMode=yes", "nsroot@192.0.2.10"]);
    assert!(args[3].starts_with("shell \"tar -cf - -C / "));
    for word in ["rm ", "mv ", ">", "chmod", "touch"] {
        assert!(
            !args[3].replace("2>/dev/null", "").contains(word),
            "remote command writes: {}",
            args[3]
        );
    }
    let direct = sporen(&["scan", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(summary(&out.stdout), summary(&direct.stdout));
}

#[test]
fn support_bundle_layout_is_mapped_and_damaged_archives_are_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    materialise("notrobin", &root);
    // A support bundle: one collector_* top folder, configuration in nsconfig/.
    let bundle = dir.path().join("bundle");
    let top = bundle.join("collector_P_192.0.2.10_26Nov2026_10_12");
    std::fs::create_dir_all(&top).unwrap();
    std::fs::rename(root.join("var"), top.join("var")).unwrap();
    std::fs::rename(root.join("flash/nsconfig"), top.join("nsconfig")).unwrap();
    let tgz = dir
        .path()
        .join("collector_P_192.0.2.10_26Nov2026_10_12.tar.gz");
    std::fs::write(&tgz, gzip(&tar_of(&bundle))).unwrap();
    let out = sporen(&["scan", tgz.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["target"]["input"], "support-bundle");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "/var/cron/tabs/nobody")
    );
    assert!(
        v["coverage"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "config"
                && s["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["path"] == "/flash/nsconfig/ns.conf"))
    );
    // Cut the archive in the middle: members before the cut are scanned, the damage is a gap.
    let tar = tar_of(&top);
    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &tar[..tar.len() / 2]).unwrap();
    let out = sporen(&["scan", cut.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["coverage"]["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["cause"] == "corrupt_archive" && g["blocks_clean"] == true),
        "{}",
        v["coverage"]["gaps"]
    );
    assert_ne!(v["verdict"], "clean");
    // Something that is neither a folder nor an archive is an error, not an empty clean scan.
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not an archive at all").unwrap();
    let out = sporen(&["scan", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder or a tar archive"));
}
