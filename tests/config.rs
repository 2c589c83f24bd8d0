//! The config stage: every problem that shows without the evidence (arguments, output, rules)
//! is reported before any evidence is opened or collected, all of them at once, and
//! `rules check` accepts and refuses exactly the rule sets `scan` accepts and refuses.

mod common;

use common::output::{Evidence, assert_unchanged};
use common::run::{Outcome, finish};
use common::tree::names;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sporen");

/// A pack whose TOML is valid but whose window names an evidence source the appliance
/// profile does not have: only the check against the appliance finds it.
const UNKNOWN_SOURCE: &str = "[pack]\nid = \"local\"\ntitle = \"t\"\ndescription = \"d\"\n\n[pack.window]\ntitle = \"W\"\nfrom = 2020-01-10\nsources = [\"access-log\", \"no-such-source\"]\n\n[[rule]]\nid = \"local.r\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"low\"\n[rule.file]\npaths = [\"var/nope\"]\n";

/// A valid pack that takes the id of a built-in pack.
const BUILT_IN_ID: &str = "[pack]\nid = \"cve-2019-19781\"\ntitle = \"t\"\ndescription = \"d\"\n\n[[rule]]\nid = \"local.r\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"low\"\n[rule.file]\npaths = [\"var/nope\"]\n";

/// Runs `sporen args` with standard input closed.
fn sporen<S: AsRef<OsStr>>(args: &[S]) -> Outcome {
    common::run::run(args)
}

/// Writes `text` to `dir/name`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).expect("write");
    p
}

/// The `sporen: error:` lines of a run.
fn errors(r: &Outcome) -> Vec<&str> {
    r.stderr
        .lines()
        .filter(|l| l.starts_with("sporen: error: "))
        .collect()
}

/// `rules check PACK` and `scan TARGET --rules PACK` (with `extra` flags on both).
fn check_and_scan(ev: &Evidence, pack: &Path, extra: &[&str]) -> (Outcome, Outcome) {
    let check = sporen(&[&["rules", "check"], extra, &[pack.to_str().expect("utf-8")]].concat());
    let target = ev.root.to_str().expect("utf-8");
    let rules = pack.to_str().expect("utf-8");
    let scan = sporen(&[&["scan", target, "-f", "json", "--rules", rules], extra].concat());
    (check, scan)
}

#[test]
fn a_pack_only_the_appliance_check_refuses_is_refused_by_rules_check_and_scan_alike() {
    let ev = Evidence::new();
    let pack = write(ev.tmp.path(), "local.toml", UNKNOWN_SOURCE);
    let (check, scan) = check_and_scan(&ev, &pack, &[]);
    check.assert_refused("error[E013]", "rules check");
    scan.assert_refused("error[E013]", "scan");
    assert!(check.stderr.contains("no-such-source"), "{}", check.stderr);
    assert_eq!(check.stderr, scan.stderr, "not the same diagnostics");
}

#[test]
fn a_pack_that_takes_a_built_in_id_is_refused_by_rules_check_as_by_scan() {
    let ev = Evidence::new();
    let pack = write(ev.tmp.path(), "local.toml", BUILT_IN_ID);
    let (check, scan) = check_and_scan(&ev, &pack, &[]);
    check.assert_refused("duplicate pack id `cve-2019-19781`", "rules check");
    scan.assert_refused("duplicate pack id `cve-2019-19781`", "scan");
    assert_eq!(check.stderr, scan.stderr, "not the same diagnostics");
    // Without the built-in packs, as a scan with --no-builtin-rules loads them, it is valid.
    let (check, scan) = check_and_scan(&ev, &pack, &["--no-builtin-rules"]);
    assert_eq!(check.code, Some(0), "{}", check.stderr);
    let ok = String::from_utf8_lossy(&check.stdout);
    assert!(ok.contains("ok: 1 rules in 1 packs"), "{ok}");
    scan.assert_verdict("scan --no-builtin-rules");
}

#[test]
fn rules_check_of_a_valid_local_pack_counts_the_built_in_packs_a_scan_loads() {
    let ev = Evidence::new();
    let pack = write(
        ev.tmp.path(),
        "local.toml",
        &BUILT_IN_ID.replace("id = \"cve-2019-19781\"", "id = \"local\""),
    );
    let alone = sporen(&["rules", "check"]);
    let with = sporen(&["rules", "check", pack.to_str().expect("utf-8")]);
    assert_eq!(with.code, Some(0), "{}", with.stderr);
    let count = |r: &Outcome| {
        let text = String::from_utf8_lossy(&r.stdout).into_owned();
        let n: usize = text["ok: ".len()..]
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no rule count in {text}"));
        n
    };
    assert_eq!(count(&with), count(&alone) + 1);
}

/// `scan --ssh` through the fake ssh, which records its arguments in `args` when it runs.
fn ssh_scan(fake_root: &Path, args: &Path, extra: &[&OsStr]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["scan", "--ssh", "nsroot@192.0.2.10", "-f", "json"])
        .arg("--ssh-program")
        .arg(common::project().join("tests/support/fake-ssh"))
        .args(extra)
        .env("FAKE_SSH_ROOT", fake_root)
        .env("FAKE_SSH_ARGS", args)
        .stdout(Stdio::piped());
    cmd
}

#[test]
fn an_output_in_a_missing_folder_stops_an_ssh_scan_before_the_collection() {
    let ev = Evidence::new();
    let args = ev.tmp.path().join("ssh-args");
    let missing = OsStr::new("/nonexistent/dir/r.json");
    let r = finish(ssh_scan(&ev.root, &args, &[OsStr::new("-o"), missing]));
    r.assert_refused("its folder does not exist", "--output in a missing folder");
    assert!(!r.stderr.contains("sporen: running:"), "{}", r.stderr);
    assert!(!args.exists(), "the ssh program was run");
    // With invalid rules as well, both are reported, and still nothing is collected.
    let bad = write(ev.tmp.path(), "bad.toml", "[pack\n");
    let r = finish(ssh_scan(
        &ev.root,
        &args,
        &[
            OsStr::new("-o"),
            missing,
            OsStr::new("--rules"),
            bad.as_os_str(),
        ],
    ));
    r.assert_refused("its folder does not exist", "--output and --rules");
    assert!(r.stderr.contains("error[E001]"), "{}", r.stderr);
    assert!(!args.exists(), "the ssh program was run");
    // Control: a usable --output lets the collection run.
    let ok = ev.out.join("r.json");
    finish(ssh_scan(
        &ev.root,
        &args,
        &[OsStr::new("-o"), ok.as_os_str()],
    ))
    .assert_verdict("ssh scan");
    assert!(args.exists() && ok.is_file());
}

#[test]
fn an_output_folder_nobody_may_write_to_stops_an_ssh_scan_before_the_collection() {
    let ev = Evidence::new();
    // The fake ssh could record its run here whoever it runs as.
    let shared = ev.tmp.path().join("shared");
    fs::create_dir(&shared).expect("folder");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod");
    fs::set_permissions(ev.tmp.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let args = shared.join("ssh-args");
    let out = ev.out.join("r.json");
    let extra = [OsStr::new("-o"), out.as_os_str()];
    let cmd = if common::can_chown() {
        // Root may write anywhere: run as nobody, for whom the root-owned folder is closed.
        fs::set_permissions(&ev.out, fs::Permissions::from_mode(0o755)).expect("chmod");
        let inner = ssh_scan(&ev.root, &args, &extra);
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(inner.get_program())
            .args(inner.get_args())
            .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .stdout(Stdio::piped());
        cmd
    } else {
        fs::set_permissions(&ev.out, fs::Permissions::from_mode(0o555)).expect("chmod");
        ssh_scan(&ev.root, &args, &extra)
    };
    let r = finish(cmd);
    r.assert_refused("no file can be created in its folder", "read-only --output");
    assert!(!args.exists(), "the ssh program was run");
    assert!(names(&ev.out).is_empty(), "{:?}", names(&ev.out));
}

#[test]
fn an_output_inside_a_folder_target_is_refused_before_the_folder_is_read() {
    let ev = Evidence::new();
    let before = ev.digests();
    let inside = ev.root.join("var/log/r.json");
    // An unknown window name is reported with it: both are found before the scan.
    let r = sporen(&[
        OsStr::new("scan"),
        ev.root.as_os_str(),
        OsStr::new("-o"),
        inside.as_os_str(),
        OsStr::new("--since"),
        OsStr::new("no-such-window=2020-01-01"),
    ]);
    r.assert_refused("lies inside the evidence", "--output inside the target");
    assert_eq!(errors(&r).len(), 2, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-window"), "{}", r.stderr);
    assert!(!inside.exists());
    assert_unchanged(&before, &ev, "refused scan");
}

#[test]
fn every_argument_problem_is_reported_at_once() {
    let ev = Evidence::new();
    let r = sporen(&[
        "scan",
        "/nonexistent/target",
        "-o",
        "/nonexistent/dir/r.json",
        "--temp-dir",
        "/nonexistent/tmp",
        "--max-entries",
        "0",
        "--max-records",
        "0",
        "--since",
        "no-such-window=2020-01-01",
        "--since",
        "2020-01-10",
        "--until",
        "2020-01-05",
    ]);
    let expected = [
        "cannot scan /nonexistent/target",
        "--temp-dir /nonexistent/tmp",
        "cannot write the report to /nonexistent/dir/r.json",
        "--max-entries 0",
        "--max-records 0",
        "no exposure window is named no-such-window",
        "--until 2020-01-05 is before --since 2020-01-10",
    ];
    r.assert_refused(expected[0], "seven problems");
    let lines = errors(&r);
    for part in expected {
        assert!(
            lines.iter().any(|l| l.contains(part)),
            "`{part}` not reported:\n{}",
            r.stderr
        );
    }
    assert_eq!(lines.len(), expected.len(), "{}", r.stderr);
    // Rule problems come with them, located as `rules check` locates them.
    let bad = write(ev.tmp.path(), "bad.toml", "[pack\n");
    let r = sporen(&[
        OsStr::new("scan"),
        OsStr::new("--ssh=-oProxyCommand=x"),
        OsStr::new("--rules"),
        bad.as_os_str(),
        OsStr::new("-o"),
        OsStr::new("/nonexistent/dir/r.json"),
    ]);
    r.assert_refused("starts with `-`", "ssh host, rules and output");
    assert_eq!(errors(&r).len(), 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("error[E001]") && r.stderr.contains("1 problem in the rules"),
        "{}",
        r.stderr
    );
}

#[test]
fn invalid_rules_are_reported_with_the_other_arguments_but_no_target_is_looked_at() {
    let ev = Evidence::new();
    let bad = write(ev.tmp.path(), "bad.toml", "[pack\n");
    let r = sporen(&[
        OsStr::new("scan"),
        OsStr::new("/nonexistent/target"),
        OsStr::new("-o"),
        OsStr::new("/nonexistent/dir/r.json"),
        OsStr::new("--max-records"),
        OsStr::new("0"),
        OsStr::new("--rules"),
        bad.as_os_str(),
    ]);
    r.assert_refused("error[E001]", "invalid rules");
    assert_eq!(
        errors(&r),
        ["sporen: error: --max-records 0: nothing could be examined (give at least 1)"]
    );
    assert!(!r.stderr.contains("/nonexistent/"), "{}", r.stderr);
}

/// A thread count no machine needs (`-j 10000` once spent two minutes starting threads) is
/// refused before anything runs; 0 (one per core) and 256 are accepted.
#[test]
fn thread_counts_beyond_256_are_refused() {
    let ev = Evidence::new();
    let root = ev.root.to_str().expect("UTF-8 path");
    let r = sporen(&["scan", root, "-j", "10000"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("0..=256"), "{}", r.stderr);
    for ok in ["0", "256"] {
        let r = sporen(&["scan", root, "-j", ok, "--format", "json"]);
        assert_ne!(r.code, Some(2), "-j {ok}: {}", r.stderr);
    }
}
