//! The published JSON schema of the report (`docs/report.schema.json`), and checking a report
//! against it: every problem, each with where in the report it is.

use serde_json::Value;

/// `docs/report.schema.json`, parsed.
pub fn report_schema() -> Value {
    let p = super::project().join("docs/report.schema.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every way `report` breaks `schema`, one line each (`/findings/3/line: ...`); empty when it
/// conforms.
pub fn problems(schema: &Value, report: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("schema: {e}"));
    validator
        .iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Fails, listing every problem, unless `report` conforms to the published schema.
pub fn assert_conforms(report: &Value, what: &str) {
    let found = problems(&report_schema(), report);
    assert!(
        found.is_empty(),
        "{what}: the report does not conform to docs/report.schema.json:\n{}",
        found.join("\n")
    );
}
