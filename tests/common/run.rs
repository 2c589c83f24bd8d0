//! Running the binary with a time limit and an address-space limit, and reading its JSON
//! report: a hang or a memory blow-up fails the test instead of blocking CI.

use serde_json::Value;
use std::ffi::OsStr;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one bounded run produced.
pub struct Bounded {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Bounded {
    /// The JSON report on standard output.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON report ({e}), exit {:?}; stderr:\n{}",
                self.code, self.stderr
            )
        })
    }
}

/// Runs `sporen args` under `prlimit --as=<mem_bytes>` and fails the test when it runs longer
/// than `secs` (it is killed then).
pub fn sporen_bounded<S: AsRef<OsStr>>(args: &[S], secs: u64, mem_bytes: u64) -> Bounded {
    let mut child = Command::new("prlimit")
        .arg(format!("--as={mem_bytes}"))
        .arg(env!("CARGO_BIN_EXE_sporen"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run prlimit (util-linux) and sporen");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sporen did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Bounded {
        code: status.code(),
        stdout: out_t.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&err_t.join().expect("stderr reader")).into_owned(),
    }
}

/// The gaps of a report whose cause is `cause`, as (path, detail, blocks_clean).
pub fn gaps_of(report: &Value, cause: &str) -> Vec<(String, String, bool)> {
    report["coverage"]["gaps"]
        .as_array()
        .expect("coverage.gaps")
        .iter()
        .filter(|g| g["cause"] == cause)
        .map(|g| {
            (
                g["path"].as_str().unwrap_or_default().to_owned(),
                g["detail"].as_str().unwrap_or_default().to_owned(),
                g["blocks_clean"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}
