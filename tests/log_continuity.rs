//! Holes in the logs, and when the appliance was off. `clean` rests on the logs covering each
//! exposure window: a missing rotation or a stretch without lines inside a window makes that
//! window not covered, with the dates; a log edited in place (lines deleted while the other logs
//! went on, or a log that stops hours before the others) is a finding; a stretch every log
//! shares, ended by a boot record, is the appliance being off and counts as covered. Syslog
//! header times are read in the appliance's time zone.

mod common;

use common::materialise;
use common::run::sporen_bounded;
use serde_json::Value;
use std::path::{Path, PathBuf};

const GIB: u64 = 1 << 30;

fn case(name: &str, dir: &Path) -> PathBuf {
    let root = dir.join("root");
    materialise(name, &root);
    root
}

fn scan(root: &Path, format: &str) -> (Option<i32>, Vec<u8>) {
    let r = sporen_bounded(
        &["scan", root.to_str().unwrap(), "--format", format],
        120,
        2 * GIB,
    );
    assert!(!r.stdout.is_empty(), "no report; stderr:\n{}", r.stderr);
    (r.code, r.stdout)
}

fn json(root: &Path) -> Value {
    serde_json::from_slice(&scan(root, "json").1).unwrap()
}

fn text(root: &Path) -> String {
    String::from_utf8(scan(root, "text").1).unwrap()
}

fn source<'v>(r: &'v Value, id: &str) -> &'v Value {
    r["coverage"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no source {id}"))
}

/// Syslog headers are written in the zone `set ns param -timezone` sets: CET in January, CEST
/// in July (the EU daylight-saving rule); ns.log's GMT stamp and Apache's offset are exact
/// already. Without a zone, UTC is assumed and the report says so.
#[test]
fn syslog_times_are_read_in_the_configured_time_zone() {
    for (name, cron_to, zone) in [
        (
            "clean-12.0-63.13-2020",
            "2020-01-28T09:59:00Z",
            "GMT+01:00-CET-Europe/Amsterdam",
        ),
        (
            "clean-13.1-58.32-2025",
            "2025-07-24T08:00:00Z",
            "GMT+02:00-CEST-Europe/Amsterdam",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = case(name, dir.path());
        let r = json(&root);
        assert_eq!(source(&r, "cron-log")["to"], cron_to, "{name}");
        let tz = &r["coverage"]["timezone"];
        assert_eq!(tz["zone"], zone, "{name}: {tz}");
        assert_eq!(tz["source"], "/flash/nsconfig/ns.conf", "{name}: {tz}");
        assert_eq!(tz["assumed"], false, "{name}: {tz}");
        assert!(
            tz["daylight_saving"]
                .as_str()
                .unwrap()
                .contains("last Sunday of March"),
            "{name}: {tz}"
        );
        let t = text(&root);
        assert!(t.contains("Europe/Amsterdam"), "{name}:\n{t}");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = case("clean-13.0-47.24", dir.path());
    let r = json(&root);
    let tz = &r["coverage"]["timezone"];
    assert_eq!(tz["zone"], "UTC", "{tz}");
    assert_eq!(tz["assumed"], true, "{tz}");
    assert!(tz["note"].as_str().unwrap().contains("-timezone"), "{tz}");
    assert_eq!(source(&r, "cron-log")["to"], "2020-01-27T10:04:00Z");
}
