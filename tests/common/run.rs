//! Running the binary. Every run here has a time limit, so a hang fails the test instead of
//! blocking CI; [`sporen_bounded`] adds an address-space limit, so a memory blow-up fails too.
//! [`within`] does the same for work done in-process.

use serde_json::Value;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sporen");

/// Longest one run may take before it counts as a hang (a guard, not a measurement).
pub const HANG: Duration = Duration::from_secs(30);

/// What one run of the binary did.
#[derive(Debug)]
pub struct Outcome {
    /// The command, for messages.
    pub what: String,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    /// The JSON report (or other JSON) on standard output.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}); exit {:?}; stderr:\n{}\nstdout:\n{}",
                self.what,
                self.code,
                self.stderr,
                String::from_utf8_lossy(&self.stdout)
            )
        })
    }

    /// The JSON on standard output, or `null` when there is none.
    pub fn json_or_null(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or(Value::Null)
    }

    /// Standard output as text; fails when it is not UTF-8.
    pub fn stdout_str(&self) -> String {
        String::from_utf8(self.stdout.clone())
            .unwrap_or_else(|e| panic!("{}: stdout is not UTF-8 ({e})", self.what))
    }

    /// Asserts the run was refused: exit 2, no report on standard output, `why` on stderr.
    pub fn assert_refused(&self, why: &str, what: &str) {
        assert_eq!(
            self.code,
            Some(2),
            "{what}: not refused; stderr:\n{}",
            self.stderr
        );
        assert!(self.stdout.is_empty(), "{what}: a report was printed");
        assert!(
            self.stderr.contains(why),
            "{what}: stderr does not say `{why}`:\n{}",
            self.stderr
        );
    }

    /// Asserts the run reached a verdict (exit 0, 1 or 3: not an error and not a signal).
    pub fn assert_verdict(&self, what: &str) {
        assert!(
            matches!(self.code, Some(0 | 1 | 3)),
            "{what} ({}): no verdict, exit {:?}; stderr:\n{}",
            self.what,
            self.code,
            self.stderr
        );
    }
}

/// `sporen <args>` run from `cwd`, with standard output captured.
pub fn command_in<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd).args(args).stdout(Stdio::piped());
    cmd
}

/// `sporen <args>` with standard input closed and standard output captured, killed after
/// [`HANG`].
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Outcome {
    finish(command_in(Path::new("."), args))
}

/// Runs `cmd` (standard input closed, standard error captured) and kills it after [`HANG`].
pub fn finish(cmd: Command) -> Outcome {
    finish_within(cmd, HANG)
}

/// Runs `cmd` (standard input closed, standard error captured); kills it and fails the test
/// when it takes longer than `limit`.
pub fn finish_within(cmd: Command, limit: Duration) -> Outcome {
    finish_with_input(cmd, None, limit)
}

/// `sporen <args>` with `input` on standard input (written whole, from another thread) and
/// standard output captured, killed after [`HANG`].
pub fn run_with_stdin<S: AsRef<OsStr>>(args: &[S], input: &[u8]) -> Outcome {
    finish_with_input(command_in(Path::new("."), args), Some(input.to_vec()), HANG)
}

fn finish_with_input(mut cmd: Command, input: Option<Vec<u8>>, limit: Duration) -> Outcome {
    cmd.env("NO_COLOR", "1")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let writer = input.map(|data| {
        let mut stdin = child.stdin.take().expect("stdin pipe");
        thread::spawn(move || stdin.write_all(&data))
    });
    let out = child.stdout.take().map(|s| thread::spawn(move || drain(s)));
    let err = child.stderr.take().expect("stderr pipe");
    let err = thread::spawn(move || drain(err));
    let code = wait_or_kill(&mut child, &what, limit);
    if let Some(w) = writer {
        w.join()
            .expect("stdin writer")
            .unwrap_or_else(|e| panic!("{what}: writing standard input: {e}"));
    }
    Outcome {
        what,
        code,
        stdout: out.map_or_else(Vec::new, |t| t.join().expect("stdout reader")),
        stderr: String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned(),
    }
}

fn drain(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = r.read_to_end(&mut v);
    v
}

fn wait_or_kill(child: &mut Child, what: &str, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} hung: killed after {limit:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `sporen args` under `prlimit --as=<mem_bytes>` and fails the test when it runs longer
/// than `secs` (it is killed then).
pub fn sporen_bounded<S: AsRef<OsStr>>(args: &[S], secs: u64, mem_bytes: u64) -> Outcome {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={mem_bytes}"))
        .arg(BIN)
        .args(args)
        .stdout(Stdio::piped());
    finish_within(cmd, Duration::from_secs(secs))
}

/// `sporen scan SSH... --ssh-program tests/support/fake-ssh`, with standard output captured: the
/// stand-in client streams `root` as the appliance would and writes the arguments it was given
/// to `args_file`. Further arguments may follow.
pub fn fake_ssh(ssh: &[&str], root: &Path, args_file: &Path) -> Command {
    let mut cmd = command_in(Path::new("."), &["scan"]);
    cmd.args(ssh)
        .arg("--ssh-program")
        .arg(super::project().join("tests/support/fake-ssh"))
        .env("FAKE_SSH_ROOT", root)
        .env("FAKE_SSH_ARGS", args_file);
    cmd
}

/// A gibibyte, for address-space limits.
pub const GIB: u64 = 1 << 30;

/// `sporen scan TARGET --format FORMAT EXTRA...` under [`sporen_bounded`]: at most `secs`
/// seconds and `mem_bytes` of address space.
pub fn scan_bounded(
    target: &Path,
    format: &str,
    extra: &[&str],
    secs: u64,
    mem_bytes: u64,
) -> Outcome {
    let mut args = vec![
        OsStr::new("scan"),
        target.as_os_str(),
        OsStr::new("--format"),
        OsStr::new(format),
    ];
    args.extend(extra.iter().map(OsStr::new));
    sporen_bounded(&args, secs, mem_bytes)
}

/// Runs `f` on another thread and fails when it does not finish within `secs` seconds.
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {secs} s"),
    }
}
