//! Holes in the logs, and when the appliance was off. `clean` rests on the logs covering each
//! exposure window: a missing rotation or a stretch without lines inside a window makes that
//! window not covered, with the dates; a log edited in place (lines deleted while the other logs
//! went on, or a log that stops hours before the others) is a finding; a stretch every log
//! shares, ended by a boot record, is the appliance being off and counts as covered. Syslog
//! header times are read in the appliance's time zone.

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::archive::gzip;
use common::fixture;
use common::report::{findings_of, source, window};
use common::run::{GIB, scan_bounded};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn scan(root: &Path, format: &str) -> (Option<i32>, Vec<u8>) {
    let r = scan_bounded(root, format, &[], 120, 2 * GIB);
    assert!(!r.stdout.is_empty(), "no report; stderr:\n{}", r.stderr);
    (r.code, r.stdout)
}

fn json(root: &Path) -> Value {
    serde_json::from_slice(&scan(root, "json").1).unwrap()
}

fn text(root: &Path) -> String {
    String::from_utf8(scan(root, "text").1).unwrap()
}

fn items(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn gunzip(p: &Path) -> String {
    String::from_utf8(common::archive::gunzip(p)).unwrap()
}

fn gzip_to(p: &Path, text: &str) {
    std::fs::write(p, gzip(text.as_bytes())).unwrap();
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// `2020-01-12 10:32`, as reasons and the text report write times.
fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// A busy Gateway's access log: a request every 97 seconds from `from` to `to`, cut into
/// rotations of about 100 KB the way newsyslog leaves them (`httpaccess.log` the newest,
/// then `.0.gz`, `.1.gz`, ...), replacing the appliance's own. Returns the lines' times.
fn busy_access_log(root: &Path, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let log = root.join("var/log");
    for e in std::fs::read_dir(&log).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("httpaccess.log")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let mut times = Vec::new();
    let mut t = from;
    while t <= to {
        times.push(t);
        t += Duration::seconds(97);
    }
    write_rotations(root, &times);
    times
}

fn access_line(i: usize, t: DateTime<Utc>) -> String {
    format!(
        "198.51.100.{} - - [{}] \"GET /vpn/index.html HTTP/1.1\" 200 1982 \"-\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:72.0) Gecko/20100101 Firefox/72.0\" \"Time: {} microsecs\"\n",
        20 + i % 200,
        t.format("%d/%b/%Y:%H:%M:%S +0000"),
        300 + i % 900
    )
}

/// Writes the lines at `times` as rotations of about 100 KB.
fn write_rotations(root: &Path, times: &[DateTime<Utc>]) {
    let mut files: Vec<String> = vec![String::new()];
    for (i, t) in times.iter().enumerate() {
        if files.last().unwrap().len() > 100_000 {
            files.push(String::new());
        }
        files.last_mut().unwrap().push_str(&access_line(i, *t));
    }
    let log = root.join("var/log");
    let current = files.pop().unwrap();
    std::fs::write(log.join("httpaccess.log"), current).unwrap();
    for (n, body) in files.iter().rev().enumerate() {
        gzip_to(&log.join(format!("httpaccess.log.{n}.gz")), body);
    }
}

/// The time of an access-log line.
fn stamp_of(line: &str) -> DateTime<Utc> {
    let stamp = line.split('[').nth(1).unwrap_or("").get(..20).unwrap_or("");
    chrono::NaiveDateTime::parse_from_str(stamp, "%d/%b/%Y:%H:%M:%S")
        .unwrap()
        .and_utc()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
        .and_utc()
}

/// Deleting two rotations of the access log (12-20 January 2020, peak exploitation) leaves a
/// hole inside the CVE-2019-19781 window: the verdict cannot be clean, and the hole's dates are
/// in the reasons, the window check, the source's time gaps and the text report.
#[test]
fn missing_rotations_inside_a_window_make_it_inconclusive_with_the_dates() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    for n in [1, 2] {
        std::fs::remove_file(root.join(format!("var/log/httpaccess.log.{n}.gz"))).unwrap();
    }
    let r = json(&root);
    assert_eq!(r["verdict"], "inconclusive", "{}", r["reasons"]);
    let w = window(&r, "cve-2019-19781");
    assert_eq!(w["status"], "not_covered", "{w}");
    let hole = items(&w["holes"])
        .into_iter()
        .find(|h| h["source"] == "access-log")
        .unwrap_or_else(|| panic!("no access-log hole in {w}"));
    assert_eq!(hole["from"], "2020-01-12T10:32:48Z");
    assert_eq!(hole["to"], "2020-01-20T04:42:33Z");
    let reasons = r["reasons"].to_string();
    for want in [
        "2020-01-12 10:32",
        "2020-01-20 04:42",
        "httpaccess.log.1.gz",
        "httpaccess.log.2.gz",
    ] {
        assert!(reasons.contains(want), "reasons lack {want}: {reasons}");
    }
    assert!(!reasons.contains("reach back to the start"), "{reasons}");
    let gap = items(&source(&r, "access-log")["time_gaps"])
        .into_iter()
        .find(|g| g["kind"] == "missing_rotation")
        .unwrap_or_else(|| panic!("no missing rotation: {}", source(&r, "access-log")));
    assert_eq!(gap["status"], "hole");
    assert_eq!(gap["from"], "2020-01-12T10:32:48Z");
    assert_eq!(gap["to"], "2020-01-20T04:42:33Z");
    assert_eq!(
        gap["paths"],
        serde_json::json!([
            "/var/log/httpaccess.log.1.gz",
            "/var/log/httpaccess.log.2.gz"
        ])
    );
    let t = text(&root);
    let cover = t.split("LOGS COVER").nth(1).unwrap_or("");
    assert!(
        cover.contains("2020-01-12 10:32") && cover.contains("2020-01-20 04:42"),
        "the LOGS COVER table does not date the hole:\n{t}"
    );
}

/// `sed -i` deleting eight hours of a busy access log while the other logs went on: a medium
/// finding that names the hole, and a coverage gap that keeps the window from `clean`.
#[test]
fn a_log_edited_in_place_has_a_hole_the_other_logs_do_not() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    let times = busy_access_log(&root, utc(2020, 1, 5, 0, 0), utc(2020, 1, 27, 9, 50));
    let (cut_from, cut_to) = (utc(2020, 1, 15, 8, 0), utc(2020, 1, 15, 16, 0));
    let before = *times.iter().rev().find(|t| **t < cut_from).unwrap();
    let after = *times.iter().find(|t| **t >= cut_to).unwrap();
    // Every rotation holding some of those hours, edited in place; the finding is on the one
    // that holds the last line before them.
    let log = root.join("var/log");
    let mut edited = None;
    for e in std::fs::read_dir(&log).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("httpaccess.log.") && name.ends_with(".gz")) {
            continue;
        }
        let body = gunzip(&p);
        let kept: String = body
            .lines()
            .filter(|l| {
                let t = stamp_of(l);
                t < cut_from || t >= cut_to
            })
            .map(|l| format!("{l}\n"))
            .collect();
        if kept != body {
            gzip_to(&p, &kept);
        }
        if kept.lines().any(|l| stamp_of(l) == before) {
            edited = Some(format!("/var/log/{name}"));
        }
    }
    let edited = edited.expect("a rotation holds the line before the hole");
    let r = json(&root);
    assert_eq!(r["verdict"], "review", "{}", r["reasons"]);
    let holes = findings_of(&r, "timeline.log-hole");
    assert_eq!(holes.len(), 1, "{holes:?}");
    let f = holes[0];
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["path"], edited.as_str());
    let reason = f["reason"].as_str().unwrap();
    for want in [minute(before), minute(after)] {
        assert!(reason.contains(&want), "the reason lacks {want}: {reason}");
    }
    let w = window(&r, "cve-2019-19781");
    assert_eq!(w["status"], "not_covered", "{w}");
    assert!(
        items(&w["holes"])
            .iter()
            .any(|h| h["source"] == "access-log"
                && at(h["from"].as_str().unwrap()) == before
                && at(h["to"].as_str().unwrap()) == after),
        "{w}"
    );
    assert!(
        items(&r["coverage"]["gaps"])
            .iter()
            .any(|g| g["path"] == edited.as_str()
                && g["cause"] == "hole"
                && g["blocks_clean"] == true),
        "{}",
        r["coverage"]["gaps"]
    );
}

/// An access log that stops eight hours before the image while cron, ns.log and the shell
/// history go on: the same finding, for the end of the log.
#[test]
fn a_log_that_ends_hours_before_the_others_is_a_finding() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    let times = busy_access_log(&root, utc(2020, 1, 5, 0, 0), utc(2020, 1, 27, 2, 0));
    let last = *times.last().unwrap();
    let r = json(&root);
    let f = items(&r["findings"])
        .into_iter()
        .find(|f| f["rule"] == "timeline.log-hole")
        .unwrap_or_else(|| panic!("no hole finding: {}", r["findings"]));
    assert_eq!(f["path"], "/var/log/httpaccess.log");
    let reason = f["reason"].as_str().unwrap();
    assert!(reason.contains(&minute(last)), "{reason}");
    assert!(reason.contains("2020-01-27 10:04"), "{reason}");
    assert_eq!(r["verdict"], "review");
}

/// Quiet is not a hole: the busy access log with no edit gives no finding and keeps the window
/// covered.
#[test]
fn an_unedited_busy_log_has_no_hole() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    busy_access_log(&root, utc(2020, 1, 5, 0, 0), utc(2020, 1, 27, 9, 50));
    let r = json(&root);
    assert_eq!(r["verdict"], "clean", "{}", r["reasons"]);
    assert_eq!(window(&r, "cve-2019-19781")["status"], "covered");
}

/// The web server logs a request when it ends, stamped with the time it began: a VPN tunnel
/// held open for hours and closed last puts a line days older at the end of the live log. That
/// does not end the log early (no hole, no finding), in a small log and in a busy one.
#[test]
fn a_request_logged_when_it_ended_is_not_the_end_of_the_log() {
    for busy in [false, true] {
        let (_dir, root) = fixture("clean-13.0-47.24");
        if busy {
            busy_access_log(&root, utc(2020, 1, 5, 0, 0), utc(2020, 1, 27, 9, 50));
        }
        let current = |r: &Value| {
            items(&source(r, "access-log")["files"])
                .into_iter()
                .find(|f| f["path"] == "/var/log/httpaccess.log")
                .map(|f| (f["from"].clone(), f["to"].clone()))
        };
        let before = json(&root);
        let log = root.join("var/log/httpaccess.log");
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(access_line(7, utc(2020, 1, 17, 20, 7)).as_bytes())
            .unwrap();
        let r = json(&root);
        assert_eq!(r["verdict"], "clean", "busy {busy}: {}", r["reasons"]);
        // The log neither ends early nor reaches further back, and no hole appears.
        assert_eq!(current(&r), current(&before), "busy {busy}");
        assert_eq!(
            r["coverage"]["gaps"], before["coverage"]["gaps"],
            "busy {busy}"
        );
        assert_eq!(window(&r, "cve-2019-19781")["status"], "covered");
        assert!(
            !r["findings"].to_string().contains("timeline.log-hole"),
            "{}",
            r["findings"]
        );
    }
}

/// The two gateways switched off in January 2020: every log stops with the shutdown and
/// starts again with the boot. That is the appliance being off, reported with the records that
/// bound it, and it counts as covered.
#[test]
fn switched_off_appliances_are_reported_off_from_the_last_record_to_the_boot() {
    for (name, from, to) in [
        (
            "clean-10.5-70.12-2020",
            "2020-01-17T19:02:10Z",
            "2020-01-25T09:58:20Z",
        ),
        (
            "clean-12.1-55.18-2020",
            "2020-01-17T18:40:05Z",
            "2020-01-24T20:10:30Z",
        ),
    ] {
        let (_dir, root) = fixture(name);
        let r = json(&root);
        let off = items(&r["coverage"]["downtime"]);
        assert_eq!(off.len(), 1, "{name}: {off:?}");
        let d = &off[0];
        assert_eq!(d["from"], from, "{name}: {d}");
        assert_eq!(d["to"], to, "{name}: {d}");
        assert_eq!(d["boot_record"]["path"], "/var/log/messages", "{name}: {d}");
        assert!(
            d["boot_record"]["text"]
                .as_str()
                .unwrap()
                .contains("kernel boot file is"),
            "{name}: {d}"
        );
        assert_eq!(d["last_record"]["time"], from, "{name}: {d}");
        let w = window(&r, "cve-2019-19781");
        assert_eq!(w["status"], "covered", "{name}: {w}");
        assert!(items(&w["holes"]).is_empty(), "{name}: {w}");
        assert_eq!(
            items(&w["appliance_off"]),
            vec![serde_json::json!({"from": from, "to": to})],
            "{name}: {w}"
        );
        let t = text(&root);
        let want = format!(
            "appliance off from {} to {}",
            minute(at(from)),
            minute(at(to))
        );
        assert!(t.contains(&want), "{name}: no {want:?} in\n{t}");
    }
}

/// The same silence without a boot record after it is no downtime: nothing says the appliance
/// was off, so the window has a hole.
#[test]
fn a_silence_every_log_shares_without_a_boot_record_stays_a_hole() {
    let (_dir, root) = fixture("clean-10.5-70.12-2020");
    std::fs::remove_file(root.join("var/log/messages")).unwrap();
    let ns = root.join("var/log/ns.log.0.gz");
    let kept: String = gunzip(&ns)
        .lines()
        .filter(|l| !l.contains("DEVICEUP") && !l.contains("coldStart"))
        .map(|l| format!("{l}\n"))
        .collect();
    gzip_to(&ns, &kept);
    let r = json(&root);
    assert!(items(&r["coverage"]["downtime"]).is_empty());
    let w = window(&r, "cve-2019-19781");
    assert_eq!(w["status"], "not_covered", "{w}");
    assert!(
        w["detail"].as_str().unwrap().contains("every log"),
        "{}",
        w["detail"]
    );
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
        let (_dir, root) = fixture(name);
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
    let (_dir, root) = fixture("clean-13.0-47.24");
    let r = json(&root);
    let tz = &r["coverage"]["timezone"];
    assert_eq!(tz["zone"], "UTC", "{tz}");
    assert_eq!(tz["assumed"], true, "{tz}");
    assert!(tz["note"].as_str().unwrap().contains("-timezone"), "{tz}");
    assert_eq!(source(&r, "cron-log")["to"], "2020-01-27T10:04:00Z");
}

/// None of the clean appliances has a hole in a window or a log edited in place; only the two
/// switched-off gateways were off.
#[test]
fn clean_appliances_have_no_hole_and_only_the_switched_off_ones_were_off() {
    let mut problems = Vec::new();
    for name in common::case_names()
        .into_iter()
        .filter(|n| n.starts_with("clean-"))
    {
        let (_dir, root) = fixture(&name);
        let r = json(&root);
        for w in items(&r["windows"]) {
            if !items(&w["holes"]).is_empty() {
                problems.push(format!(
                    "{name}: window {} has holes: {}",
                    w["pack"], w["holes"]
                ));
            }
        }
        for f in items(&r["findings"]) {
            if f["rule"].as_str().unwrap().starts_with("timeline.") {
                problems.push(format!(
                    "{name}: {} at {}: {}",
                    f["rule"], f["path"], f["reason"]
                ));
            }
        }
        let off = items(&r["coverage"]["downtime"]).len();
        let want = usize::from(matches!(
            name.as_str(),
            "clean-10.5-70.12-2020" | "clean-12.1-55.18-2020"
        ));
        if off != want {
            problems.push(format!(
                "{name}: {off} downtime periods, expected {want}: {}",
                r["coverage"]["downtime"]
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
