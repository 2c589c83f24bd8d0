//! `docs/report.schema.json` describes every JSON report sporen writes: each fixture appliance,
//! scanned as a folder and as its disk image, gives a report that conforms to it, and a report
//! with a key the schema does not know, or without one it requires, does not.

mod common;

use common::schema::{assert_conforms, problems, report_schema};
use common::{case_names, fixture, project, scan_json};

#[test]
fn every_fixture_report_conforms() {
    let names = case_names();
    assert!(names.len() > 30, "fixtures not found");
    for name in names {
        let (_dir, root) = fixture(&name);
        let (_out, report) = scan_json(&root, &[]);
        assert_conforms(&report, &name);
    }
}

#[test]
fn disk_image_reports_conform() {
    let mut seen = 0;
    for name in case_names() {
        let img = project().join("fixtures").join(&name).join("disk.img.gz");
        if !img.is_file() {
            continue;
        }
        let (_out, report) = scan_json(&img, &[]);
        assert_eq!(report["target"]["input"], "disk-image", "{name}");
        assert_conforms(&report, &format!("{name}/disk.img.gz"));
        seen += 1;
    }
    assert!(seen > 10, "only {seen} disk images");
}

#[test]
fn the_schema_refuses_what_it_does_not_describe() {
    let (_dir, root) = fixture("cve-2019-19781-citrixmash");
    let (_out, report) = scan_json(&root, &[]);
    let schema = report_schema();
    assert!(problems(&schema, &report).is_empty());

    let mut extra = report.clone();
    extra["findings"][0]["confidence"] = "high".into();
    let found = problems(&schema, &extra);
    assert!(found.iter().any(|p| p.contains("/findings/0")), "{found:?}");

    let mut missing = report.clone();
    missing["coverage"]
        .as_object_mut()
        .expect("coverage object")
        .remove("gaps");
    assert!(!problems(&schema, &missing).is_empty());

    let mut wrong = report;
    wrong["findings"][0]["time"] = "2020-01-11T23:41:31Z~".into();
    assert!(
        !problems(&schema, &wrong).is_empty(),
        "a time with a suffix"
    );
}
