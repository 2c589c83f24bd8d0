//! Reading a JSON report: findings and gaps by rule, cause and path (a path as its exact bytes,
//! through `path_base64` when it is not UTF-8), exposure windows and evidence sources.

use super::Expect;
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeSet;

/// The findings of a report.
pub fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings array")
}

/// The coverage gaps of a report.
pub fn gaps(v: &Value) -> &Vec<Value> {
    v["coverage"]["gaps"]
        .as_array()
        .expect("coverage.gaps array")
}

/// The exact path bytes of a finding or gap: `path_base64` when present, else `path`.
pub fn path_bytes(item: &Value) -> Vec<u8> {
    match item.get("path_base64").and_then(Value::as_str) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|e| panic!("path_base64 {b64:?} is not base64: {e}")),
        None => item["path"]
            .as_str()
            .expect("path string")
            .as_bytes()
            .to_vec(),
    }
}

/// The findings of `rule`.
pub fn findings_of<'v>(v: &'v Value, rule: &str) -> Vec<&'v Value> {
    findings(v).iter().filter(|f| f["rule"] == rule).collect()
}

/// The findings at `path`.
pub fn findings_at<'v>(v: &'v Value, path: &[u8]) -> Vec<&'v Value> {
    findings(v)
        .iter()
        .filter(|f| path_bytes(f) == path)
        .collect()
}

/// The finding of `rule` at `path`; fails listing every finding when there is none.
pub fn finding<'v>(v: &'v Value, rule: &str, path: &[u8]) -> &'v Value {
    findings_at(v, path)
        .into_iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| {
            panic!(
                "no {rule} finding at {}; findings:\n{:#}",
                String::from_utf8_lossy(path),
                v["findings"]
            )
        })
}

/// The gap of `cause` at `path`; fails listing every gap when there is none.
pub fn gap<'v>(v: &'v Value, cause: &str, path: &[u8]) -> &'v Value {
    gaps(v)
        .iter()
        .find(|g| g["cause"] == cause && path_bytes(g) == path)
        .unwrap_or_else(|| {
            panic!(
                "no {cause} gap at {}; gaps:\n{:#}",
                String::from_utf8_lossy(path),
                v["coverage"]["gaps"]
            )
        })
}

/// The gaps whose `path` is `path`.
pub fn gaps_with_path(v: &Value, path: &str) -> Vec<Value> {
    gaps(v)
        .iter()
        .filter(|g| g["path"] == path)
        .cloned()
        .collect()
}

/// The gaps of a report whose cause is `cause`, as (path, detail, blocks_clean).
pub fn gaps_of(report: &Value, cause: &str) -> Vec<(String, String, bool)> {
    gaps(report)
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

/// (cause, path, detail) of every gap; none when there is no report.
pub fn gap_list(v: &Value) -> Vec<(String, String, String)> {
    v["coverage"]["gaps"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|g| {
            (
                g["cause"].as_str().unwrap_or_default().to_owned(),
                g["path"].as_str().unwrap_or_default().to_owned(),
                g["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The (rule, path) pairs of a report's findings.
pub fn finding_set(report: &Value) -> BTreeSet<Expect> {
    findings(report)
        .iter()
        .map(|f| Expect {
            rule: f["rule"].as_str().unwrap().to_owned(),
            path: f["path"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// (path, sha256) of every finding, sorted; none when there is no report.
pub fn finding_paths(v: &Value) -> Vec<(String, Option<String>)> {
    let mut f: Vec<_> = v["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_owned(),
                f["sha256"].as_str().map(str::to_owned),
            )
        })
        .collect();
    f.sort();
    f
}

/// The paths of every finding, sorted; none when there is no report.
pub fn found_paths(v: &Value) -> Vec<String> {
    finding_paths(v).into_iter().map(|f| f.0).collect()
}

/// The exposure window of rule pack `pack`.
pub fn window<'v>(r: &'v Value, pack: &str) -> &'v Value {
    r["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["pack"] == pack)
        .unwrap_or_else(|| panic!("no window {pack}: {}", r["windows"]))
}

/// The evidence source `id` of the coverage.
pub fn source<'v>(r: &'v Value, id: &str) -> &'v Value {
    r["coverage"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no source {id}"))
}

/// Decodes `%XX` escapes (SARIF URIs) back to bytes.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ASCII escape");
            out.push(
                u8::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("bad escape in {s:?}: {e}")),
            );
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The raw control characters (other than `allowed`) and raw bidi or invisible characters in
/// `s`: what a report must never print unescaped.
pub fn raw_hostile_chars(s: &str, allowed: &[char]) -> Vec<char> {
    s.chars()
        .filter(|c| !allowed.contains(c))
        .filter(|&c| c.is_control() || sporen::report::sanitize::is_hidden_char(c))
        .collect()
}

/// The posture's mitigation `id` (`CTX267679`), or `null` when the posture has none.
pub fn mitigation<'v>(r: &'v Value, id: &str) -> &'v Value {
    r["posture"]["mitigations"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["id"] == id))
        .unwrap_or(&Value::Null)
}

/// The posture of one CVE.
pub fn cve_posture<'v>(r: &'v Value, id: &str) -> &'v Value {
    r["posture"]["cves"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no posture for {id}"))
}

/// The rows of a fleet report (`sporen.fleet/1`) as (appliance name, status), in its order.
pub fn fleet_rows(v: &Value) -> Vec<(&str, &str)> {
    v["rows"]
        .as_array()
        .expect("rows array")
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect()
}
