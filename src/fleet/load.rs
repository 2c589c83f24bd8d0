//! Reading scan reports for the fleet: files and folders of `*.json`, each read with a size
//! limit and checked for its schema before any field is used. Nothing here trusts a field's
//! type or length beyond the file's limit; every problem is collected, so that the user sees
//! them all at once.

use super::{ERROR_SCHEMA, Row, Status};
use crate::model::REPORT_SCHEMA;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Largest report read: a scan report of a real appliance is well under a megabyte; a file
/// larger than this is no report sporen wrote for one appliance.
pub const MAX_REPORT_BYTES: u64 = 64 << 20;

/// Most files a folder may hold for the fleet.
const MAX_FILES: usize = 100_000;

/// The report files named by `args`: files as given, and the `*.json` files of folders (not
/// their subfolders), sorted by name. Every problem is returned together.
pub fn report_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for a in args {
        let shown = shown(a);
        match std::fs::metadata(a) {
            Ok(m) if m.is_dir() => match json_in(a) {
                Ok(found) if found.is_empty() => {
                    problems.push(format!("{shown}: the folder holds no *.json report"));
                }
                Ok(found) => files.extend(found),
                Err(e) => problems.push(format!("{shown}: cannot list the folder: {e}")),
            },
            Ok(m) if m.is_file() => files.push(a.clone()),
            Ok(_) => problems.push(format!(
                "{shown}: not a file or a folder (refused unopened)"
            )),
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    files.dedup();
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

fn json_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let is_json = name.as_encoded_bytes().ends_with(b".json")
            && !name.as_encoded_bytes().starts_with(b".");
        if is_json && e.file_type()?.is_file() {
            found.push(e.path());
            if found.len() > MAX_FILES {
                return Err(std::io::Error::other(format!(
                    "more than {MAX_FILES} reports"
                )));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A path as messages show it, escaped.
fn shown(p: &Path) -> String {
    crate::report::sanitize::escape_bytes(p.as_os_str().as_encoded_bytes())
}

/// Reads and checks every file; the rows, or every problem found.
pub fn load_rows(files: &[PathBuf]) -> Result<Vec<Row>, Vec<String>> {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        match load_row(f) {
            Ok(r) => rows.push(r),
            Err(e) => problems.push(format!("{}: {e}", shown(f))),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Reads one file (at most [`MAX_REPORT_BYTES`]) and turns it into a row.
pub fn load_row(path: &Path) -> Result<Row, String> {
    let bytes = read_bounded(path)?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("not a sporen report: not JSON ({e})"))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .map(|n| n.strip_suffix(".json").unwrap_or(&n).to_owned())
        .unwrap_or_default();
    let schema = v.get("schema").and_then(Value::as_str).unwrap_or("");
    let base = RowBase {
        name,
        file: path.to_string_lossy().into_owned(),
        sha256,
    };
    match schema {
        REPORT_SCHEMA => report_row(&v, base),
        ERROR_SCHEMA => error_row(&v, base),
        "" => Err(format!(
            "not a sporen report: no \"schema\" (sporen fleet reads {REPORT_SCHEMA} reports and {ERROR_SCHEMA} records)"
        )),
        s if s.starts_with("sporen.report/") => Err(format!(
            "a report of schema {} that this sporen ({}) does not read: it reads {REPORT_SCHEMA}; merge it with the sporen version that wrote it",
            cut(s),
            env!("CARGO_PKG_VERSION")
        )),
        s if s.starts_with("sporen.fleet/") => {
            Err("a fleet report, not the report of one appliance".to_owned())
        }
        s => Err(format!(
            "not a sporen report: schema {} (sporen fleet reads {REPORT_SCHEMA} reports and {ERROR_SCHEMA} records)",
            cut(s)
        )),
    }
}

/// A schema name as messages quote it: escaped and cut to 80 characters.
fn cut(s: &str) -> String {
    let short: String = s.chars().take(80).collect();
    format!("`{}`", crate::report::sanitize::escape_str(&short))
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    // Not blocking on a FIFO put in place of a report; no controlling terminal either.
    let f: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let meta = f.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file (refused)".to_owned());
    }
    let mut bytes = Vec::new();
    f.take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(format!(
            "larger than {} MiB: not the report of one appliance (refused)",
            MAX_REPORT_BYTES >> 20
        ));
    }
    Ok(bytes)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What every row has, whatever the file held.
struct RowBase {
    name: String,
    file: String,
    sha256: String,
}

fn empty_row(b: RowBase, status: Status) -> Row {
    Row {
        name: b.name,
        file: b.file,
        sha256: b.sha256,
        status,
        hostname: None,
        nsip: None,
        firmware: None,
        target: None,
        reasons: Vec::new(),
        cves: BTreeMap::new(),
        mitigation: None,
        gaps: 0,
        gaps_blocking: 0,
        findings: BTreeMap::new(),
        tool_version: None,
        error: None,
    }
}

fn string_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str().map(str::to_owned)
}

fn array_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    let mut cur = v;
    for k in path {
        match cur.get(k) {
            Some(next) => cur = next,
            None => return &[],
        }
    }
    cur.as_array().map_or(&[], Vec::as_slice)
}

/// A `sporen.report/1` report: the fields the fleet shows.
fn report_row(v: &Value, base: RowBase) -> Result<Row, String> {
    let tool = string_at(v, &["tool", "name"]);
    if tool.as_deref() != Some("sporen") {
        return Err("a report of another tool (tool.name is not \"sporen\")".to_owned());
    }
    let verdict = v.get("verdict").and_then(Value::as_str).unwrap_or("");
    let status = Status::from_verdict(verdict)
        .ok_or_else(|| format!("the report has no valid verdict ({})", cut(verdict)))?;
    let mut row = empty_row(base, status);
    row.tool_version = string_at(v, &["tool", "version"]);
    row.hostname = string_at(v, &["posture", "hostname"]);
    row.nsip = string_at(v, &["posture", "nsip"]);
    row.firmware = string_at(v, &["posture", "firmware"]);
    row.target = string_at(v, &["target", "path"]);
    row.reasons = array_at(v, &["reasons"])
        .iter()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    for c in array_at(v, &["posture", "cves"]) {
        if let (Some(id), Some(st)) = (c["id"].as_str(), c["status"].as_str()) {
            row.cves.insert(id.to_owned(), st.to_owned());
        }
    }
    // The CVE-2019-19781 mitigation (CTX267679), from `posture.mitigations[]`.
    row.mitigation = array_at(v, &["posture", "mitigations"])
        .iter()
        .find(|m| m["cve"] == "CVE-2019-19781")
        .map(|m| {
            let state = match m.get("effective").and_then(Value::as_bool) {
                Some(true) => "effective",
                Some(false) => "not effective",
                None => "unknown",
            };
            match m["missing"].as_array().map_or(0, Vec::len) {
                0 => state.to_owned(),
                n => format!(
                    "{state} ({n} part{} missing)",
                    if n == 1 { "" } else { "s" }
                ),
            }
        });
    let gaps = array_at(v, &["coverage", "gaps"]);
    row.gaps = gaps.len() as u64;
    row.gaps_blocking = gaps.iter().filter(|g| g["blocks_clean"] == true).count() as u64;
    for f in array_at(v, &["findings"]) {
        if let Some(s) = f["severity"].as_str() {
            *row.findings.entry(s.to_owned()).or_default() += 1;
        }
    }
    Ok(row)
}

/// A `sporen.fleet-error/1` record: `{"schema", "host", "error"}` for a host that could not
/// be scanned.
fn error_row(v: &Value, base: RowBase) -> Result<Row, String> {
    let error = string_at(v, &["error"])
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| format!("a {ERROR_SCHEMA} record without an \"error\""))?;
    let mut row = empty_row(base, Status::Failed);
    row.target = string_at(v, &["host"]);
    let code = v.get("exit_code").and_then(|c| {
        c.as_i64()
            .or_else(|| c.as_str().and_then(|s| s.trim().parse().ok()))
    });
    if let Some(code) = code {
        row.reasons.push(format!(
            "sporen scan exited with {code}; no report was written"
        ));
    } else {
        row.reasons.push("no report was written".to_owned());
    }
    row.error = Some(error);
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn a_scan_report_becomes_a_row() {
        let d = tmp();
        let r = crate::report::sample_report();
        let mut buf = Vec::new();
        crate::report::render(&r, crate::report::Format::Json, &mut buf, false).unwrap();
        let p = d.path().join("gw01.json");
        std::fs::write(&p, &buf).unwrap();
        let row = load_row(&p).unwrap();
        assert_eq!(row.name, "gw01");
        assert_eq!(row.status.as_str(), r.verdict.as_str());
        assert_eq!(row.reasons, r.reasons);
        assert_eq!(row.gaps, r.coverage.gaps.len() as u64);
        assert_eq!(row.sha256, hex(&Sha256::digest(&buf)));
        assert_eq!(row.sha256.len(), 64);
    }

    #[test]
    fn error_records_are_failed_rows() {
        let d = tmp();
        let p = write(
            d.path(),
            "gw03.json",
            r#"{"schema":"sporen.fleet-error/1","host":"nsroot@127.0.0.1","error":"Permission denied","exit_code":2}"#,
        );
        let row = load_row(&p).unwrap();
        assert_eq!(row.status, Status::Failed);
        assert_eq!(row.error.as_deref(), Some("Permission denied"));
        let p = write(d.path(), "bad.json", r#"{"schema":"sporen.fleet-error/1"}"#);
        assert!(load_row(&p).unwrap_err().contains("without an \"error\""));
    }

    #[test]
    fn other_schemas_tools_and_files_are_refused_with_a_reason() {
        let d = tmp();
        let cases = [
            (
                r#"{"schema":"sporen.report/2"}"#,
                "does not read: it reads sporen.report/1",
            ),
            (r#"{"schema":"sporen.fleet/1"}"#, "a fleet report"),
            (
                r#"{"schema":"x.y/1"}"#,
                "not a sporen report: schema `x.y/1`",
            ),
            (r#"{"verdict":"clean"}"#, "no \"schema\""),
            ("not json", "not JSON"),
            (
                r#"{"schema":"sporen.report/1","tool":{"name":"other"}}"#,
                "another tool",
            ),
            (
                r#"{"schema":"sporen.report/1","tool":{"name":"sporen"},"verdict":"fine"}"#,
                "no valid verdict",
            ),
        ];
        for (text, why) in cases {
            let p = write(d.path(), "r.json", text);
            let e = load_row(&p).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn oversized_files_are_refused_without_being_read_whole() {
        let d = tmp();
        let p = d.path().join("big.json");
        let f = File::create(&p).unwrap();
        f.set_len(MAX_REPORT_BYTES + 10).unwrap();
        assert!(load_row(&p).unwrap_err().contains("larger than 64 MiB"));
    }

    #[test]
    fn folders_give_their_json_files_sorted_and_empty_ones_are_refused() {
        let d = tmp();
        write(d.path(), "b.json", "{}");
        write(d.path(), "a.json", "{}");
        write(d.path(), "notes.txt", "x");
        write(d.path(), ".hidden.json", "{}");
        let files = report_files(&[d.path().to_owned()]).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap()).collect();
        assert_eq!(names, ["a.json", "b.json"]);
        let empty = d.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let e = report_files(&[empty, d.path().join("missing")]).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("no *.json report"));
    }
}
