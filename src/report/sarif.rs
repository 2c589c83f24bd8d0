//! The SARIF 2.1.0 report, for code-scanning dashboards and other SARIF consumers.
//!
//! One run: every rule in force as a reporting descriptor, one result per finding, one tool
//! notification per gap. It must never invent data that is not in the report (no timestamps,
//! no host names) and must keep evidence bytes exact: paths are percent-encoded URI references,
//! never lossy strings.

use crate::model::{
    Bytes, Finding, Gap, Report, RuleHits, Severity, TargetInfo, Timestamp, Verdict,
};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The SARIF schema the output claims to follow.
pub(crate) const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF version written.
pub(crate) const SARIF_VERSION: &str = "2.1.0";

/// Name of the partial fingerprint each result carries.
pub(crate) const FINGERPRINT_KEY: &str = "sporen/v1";

/// Writes the report as one pretty SARIF document followed by a newline.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &log(report))?;
    out.write_all(b"\n")
}

/// The SARIF level of a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

// Structs rather than `json!` for the parts people read, so that keys keep SARIF's usual order
// (`json!` objects are sorted by key).

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation; 1],
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
struct Driver<'a> {
    name: &'a str,
    version: &'a str,
    rules: Vec<ReportingDescriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'a> {
    id: &'a str,
    name: &'a str,
    short_description: Text<'a>,
    default_configuration: Configuration,
    properties: RuleProperties<'a>,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties<'a> {
    pack: &'a str,
    severity: Severity,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    tool_execution_notifications: Vec<Value>,
}

#[derive(Serialize)]
struct RunProperties<'a> {
    verdict: Verdict,
    reasons: &'a [String],
    rules_sha256: &'a str,
    target: &'a TargetInfo,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: [Location<'a>; 1],
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region<'a>>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region<'a> {
    start_line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Snippet<'a>>,
}

#[derive(Serialize)]
struct Snippet<'a> {
    text: &'a Bytes,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    severity: Severity,
    count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_line: Option<u64>,
    /// An excerpt without a line number: a SARIF region needs a start line, so it goes here.
    #[serde(skip_serializing_if = "Option::is_none")]
    excerpt: Option<&'a Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtime: Option<Timestamp>,
}

fn log(report: &Report) -> Log<'_> {
    // First index of each rule id, for `ruleIndex`; a BTreeMap keeps everything deterministic.
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in report.rules.iter().enumerate() {
        index.entry(r.id.as_str()).or_insert(i);
    }
    let results = report
        .findings
        .iter()
        .map(|f| result(f, index.get(f.rule.as_str()).copied()))
        .collect();
    Log {
        schema: SARIF_SCHEMA,
        version: SARIF_VERSION,
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: &report.tool.name,
                    version: &report.tool.version,
                    rules: report.rules.iter().map(rule).collect(),
                },
            },
            invocations: [Invocation {
                execution_successful: !report.coverage.gaps.iter().any(|g| g.blocks_clean),
                tool_execution_notifications: report
                    .coverage
                    .gaps
                    .iter()
                    .map(notification)
                    .collect(),
            }],
            results,
            properties: RunProperties {
                verdict: report.verdict,
                reasons: &report.reasons,
                rules_sha256: &report.rules_sha256,
                target: &report.target,
            },
        }],
    }
}

fn rule(r: &RuleHits) -> ReportingDescriptor<'_> {
    ReportingDescriptor {
        id: &r.id,
        name: &r.title,
        short_description: Text { text: &r.title },
        default_configuration: Configuration {
            level: level(r.severity),
        },
        properties: RuleProperties {
            pack: &r.pack,
            severity: r.severity,
        },
    }
}

fn result(f: &Finding, rule_index: Option<usize>) -> SarifResult<'_> {
    let region = f.line.map(|start_line| Region {
        start_line,
        snippet: f.excerpt.as_ref().map(|text| Snippet { text }),
    });
    SarifResult {
        rule_id: &f.rule,
        rule_index,
        level: level(f.severity),
        message: Message {
            text: format!("{}: {}", f.title, f.reason),
        },
        locations: [Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: uri_reference(f.path.as_bytes()),
                },
                region,
            },
        }],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint(f))]),
        properties: ResultProperties {
            severity: f.severity,
            count: f.count,
            last_line: f.last_line,
            excerpt: if f.line.is_none() {
                f.excerpt.as_ref()
            } else {
                None
            },
            sha256: f.sha256.as_deref(),
            mtime: f.mtime,
        },
    }
}

fn notification(g: &Gap) -> Value {
    let cause = g.cause.as_str();
    let mut props = serde_json::Map::new();
    props.insert("cause".into(), json!(cause));
    props.insert("blocks_clean".into(), json!(g.blocks_clean));
    if let Some(b64) = &g.path_base64 {
        props.insert("path_base64".into(), json!(b64));
    }
    json!({
        "level": if g.blocks_clean { "error" } else { "warning" },
        "message": { "text": format!("{cause}: {}", g.detail) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri_reference(g.path.as_bytes()) }
            }
        }],
        "properties": Value::Object(props),
    })
}

/// SHA-256 (lower-case hex) of `rule \0 path-bytes \0 line`, the line in decimal or empty.
pub fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.rule.as_bytes());
    h.update([0u8]);
    h.update(f.path.as_bytes());
    h.update([0u8]);
    if let Some(line) = f.line {
        h.update(line.to_string().as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encodes path bytes as an RFC 3986 URI reference: every byte other than the
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`) and `/` becomes `%XX`.
pub(crate) fn uri_reference(path: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, raw_controls, render_string, sample_report};

    fn parsed() -> (String, Value) {
        let s = render_string(&sample_report(), Format::Sarif, false);
        match serde_json::from_str(&s) {
            Ok(v) => (s, v),
            Err(e) => panic!("SARIF does not parse: {e}\n{s}"),
        }
    }

    #[test]
    fn header_and_driver() {
        let (s, v) = parsed();
        // SARIF's usual key order, not alphabetical.
        assert!(s.starts_with("{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n  \"runs\": ["));
        assert!(s.ends_with("}\n"));
        assert_eq!(raw_controls(&s, &['\n']), Vec::<char>::new());
        assert_eq!(v["version"], "2.1.0");
        assert_eq!(v["$schema"], SARIF_SCHEMA);
        assert_eq!(v["runs"].as_array().map(Vec::len), Some(1));
        let driver = &v["runs"][0]["tool"]["driver"];
        assert_eq!(driver["name"], "sporen");
        assert_eq!(driver["version"], "0.1.0");
        assert!(driver.get("informationUri").is_none());
        let rules = driver["rules"].as_array().cloned().unwrap_or_default();
        assert_eq!(rules.len(), 6);
        assert_eq!(rules[1]["id"], "cve-2019-19781.template-directive");
        assert_eq!(rules[1]["defaultConfiguration"]["level"], "error");
        assert_eq!(rules[1]["properties"]["severity"], "critical");
        assert_eq!(rules[5]["defaultConfiguration"]["level"], "note");
        assert_eq!(rules[3]["shortDescription"]["text"], rules[3]["name"]);
        let props = &v["runs"][0]["properties"];
        assert_eq!(props["verdict"], "compromised");
        assert_eq!(props["rules_sha256"], "d".repeat(64));
        assert_eq!(props["reasons"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn results_levels_and_locations() {
        let (_, v) = parsed();
        let results = v["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(results.len(), 4);
        let levels: Vec<&str> = results.iter().filter_map(|r| r["level"].as_str()).collect();
        assert_eq!(levels, ["error", "error", "warning", "note"]);
        let indexes: Vec<u64> = results
            .iter()
            .filter_map(|r| r["ruleIndex"].as_u64())
            .collect();
        assert_eq!(indexes, [1, 2, 4, 0]);

        let first = &results[0];
        let loc = &first["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["artifactLocation"]["uri"],
            "/netscaler/portal/templates/evil%FF%0A.xml"
        );
        assert_eq!(loc["region"]["startLine"], 1);
        assert!(
            loc["region"]["snippet"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("\x1b[31mred"))
        );
        assert_eq!(
            first["message"]["text"],
            "Portal template with a Perl template directive: content matches `template.new`"
        );
        assert_eq!(first["properties"]["sha256"], "a".repeat(64));
        assert_eq!(first["properties"]["mtime"], "2020-01-11T23:41:07Z");
        assert_eq!(results[2]["properties"]["count"], 5);
        assert_eq!(results[2]["properties"]["last_line"], 42);
        // Bidi override in a path is percent-encoded (U+202E is E2 80 AE).
        assert_eq!(
            results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "/var/netscaler/logon/themes/a%E2%80%AEgnp.php"
        );
        // No line: no region at all.
        assert!(
            results[3]["locations"][0]["physicalLocation"]
                .get("region")
                .is_none()
        );
        assert!(results[3]["properties"].get("sha256").is_none());
        let fp = results[0]["partialFingerprints"][FINGERPRINT_KEY].as_str();
        assert_eq!(fp.map(str::len), Some(64));
    }

    #[test]
    fn excerpt_without_line_goes_to_properties() {
        let mut r = sample_report();
        r.findings[1].line = None;
        let s = render_string(&r, Format::Sarif, false);
        let v: Value = serde_json::from_str(&s).unwrap_or_default();
        let res = &v["runs"][0]["results"][1];
        assert!(
            res["locations"][0]["physicalLocation"]
                .get("region")
                .is_none()
        );
        assert_eq!(res["properties"]["excerpt"], "=cmd|' /C calc'!A0,\"x\"");
        // With a line, the excerpt is the region's snippet and not repeated.
        assert!(
            v["runs"][0]["results"][0]["properties"]
                .get("excerpt")
                .is_none()
        );
    }

    #[test]
    fn fingerprint_covers_rule_path_and_line() {
        let r = sample_report();
        let f = &r.findings[2];
        let mut expected = Sha256::new();
        expected.update(b"history.curl-pipe-shell\0/root/.bash_history\x0010");
        let hex: String = expected
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(fingerprint(f), hex);
        let mut moved = f.clone();
        moved.line = Some(11);
        assert_ne!(fingerprint(&moved), hex);
    }

    #[test]
    fn gaps_become_notifications() {
        let (_, v) = parsed();
        let inv = &v["runs"][0]["invocations"][0];
        assert_eq!(inv["executionSuccessful"], false);
        let n = inv["toolExecutionNotifications"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(n.len(), 3);
        let levels: Vec<&str> = n.iter().filter_map(|x| x["level"].as_str()).collect();
        assert_eq!(levels, ["warning", "warning", "error"]);
        assert_eq!(
            n[2]["message"]["text"],
            "unreadable: Permission denied (os error 13)"
        );
        assert_eq!(
            n[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "/tmp/%1B%5D0%3Bpwned%07%FE"
        );

        let mut r = sample_report();
        r.coverage.gaps.retain(|g| !g.blocks_clean);
        let s = render_string(&r, Format::Sarif, false);
        let v: Value = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], true);
    }

    #[test]
    fn uri_reference_encodes_everything_but_unreserved_and_slash() {
        assert_eq!(uri_reference(b"/a-b_c.d~e/F9"), "/a-b_c.d~e/F9");
        assert_eq!(
            uri_reference(b"/a b%?#[]@!$&'()*+,;=:"),
            "/a%20b%25%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A"
        );
        assert_eq!(uri_reference("/é".as_bytes()), "/%C3%A9");
    }
}
