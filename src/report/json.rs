//! The JSON report: the whole [`Report`] as one pretty-printed JSON document, for machines and
//! archiving.
//!
//! It must never drop, reorder or reinterpret anything in the report: it is the report's own
//! serialisation (schema `sporen.report/1`), with the exact bytes of non-UTF-8 paths added in
//! `path_base64`. Control characters in strings are escaped by JSON itself.

use super::with_exact_paths;
use crate::model::Report;
use std::io::{self, Write};

/// Writes the report as one pretty JSON document followed by a newline.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let report = with_exact_paths(report);
    serde_json::to_writer_pretty(&mut *out, report.as_ref())?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use crate::model::{REPORT_SCHEMA, bytes_to_lossless_string};
    use crate::report::{Format, raw_controls, render_string, sample_report};
    use serde_json::Value;

    fn parsed() -> (String, Value) {
        let s = render_string(&sample_report(), Format::Json, false);
        match serde_json::from_str(&s) {
            Ok(v) => (s, v),
            Err(e) => panic!("JSON does not parse: {e}\n{s}"),
        }
    }

    /// The sample report holds every awkward case (paths that are not UTF-8, null mitigation
    /// fields, collapsed lines): it conforms to the published schema, key for key.
    #[test]
    fn the_sample_conforms_to_the_published_schema() {
        let schema: Value = serde_json::from_str(include_str!("../../docs/report.schema.json"))
            .expect("the schema is JSON");
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let (_, v) = parsed();
        let problems: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let mut renamed = v;
        renamed["flagged_files"][0]["birth"] = Value::Null;
        assert!(
            !validator.is_valid(&renamed),
            "an unknown key must be refused"
        );
    }

    #[test]
    fn one_document_that_parses_back() {
        let (s, v) = parsed();
        assert!(s.ends_with("}\n"));
        assert!(!s.ends_with("\n\n"));
        assert_eq!(v["schema"], REPORT_SCHEMA);
        assert_eq!(v["verdict"], "compromised");
        assert_eq!(v["findings"].as_array().map(Vec::len), Some(4));
        assert_eq!(v["rules"].as_array().map(Vec::len), Some(6));
        assert_eq!(v["coverage"]["gaps"].as_array().map(Vec::len), Some(3));
        assert_eq!(raw_controls(&s, &['\n']), Vec::<char>::new());
    }

    #[test]
    fn evidence_bytes_survive() {
        let (_, v) = parsed();
        let r = sample_report();
        let f = &v["findings"][0];
        assert_eq!(f["path"], r.findings[0].path.to_lossless_string());
        assert_eq!(
            f["path_base64"],
            "L25ldHNjYWxlci9wb3J0YWwvdGVtcGxhdGVzL2V2aWz/Ci54bWw="
        );
        let excerpt = r.findings[0]
            .excerpt
            .as_ref()
            .map(|b| bytes_to_lossless_string(&b.0));
        assert_eq!(f["excerpt"].as_str(), excerpt.as_deref());
        assert_eq!(v["findings"][2]["count"], 5);
        assert_eq!(v["findings"][2]["last_line"], 42);
        // Absent optional fields are left out, not null.
        assert!(v["findings"][3].get("line").is_none());
        // The gap path that is not UTF-8 got its exact bytes added.
        assert!(v["coverage"]["gaps"][0]["path_base64"].is_string());
        assert!(v["coverage"]["gaps"][1].get("path_base64").is_none());
    }
}
