//! Session reuse by user and time: an ICA launch (no session id, only a user) is compared with
//! the user's logins in the day before it, across rotations, not with every login in the logs.

mod common;

use common::archive::gzip;
use common::fixture;
use common::report::findings_of;
use common::run::{GIB, scan_bounded};
use std::path::Path;

const RULE: &str = "cve-2023-4966.ica-from-foreign-network";

fn login(day: u32, time: &str, user: &str, ip: &str) -> String {
    format!(
        "Nov {day} {time} <local0.info> 192.0.2.10  11/{day}/2023:{time} GMT ns-gw01 0-PPE-0 : default SSLVPN LOGIN 7711 0 : Context {user}@{ip} - SessionId: 8{day} - User {user} - Client_ip {ip} - Nat_ip \"Mapped Ip\" - Vserver 192.0.2.20:443\n"
    )
}

fn launch(day: u32, time: &str, user: &str, ip: &str) -> String {
    format!(
        "Nov {day} {time} <local0.info> 192.0.2.10  11/{day}/2023:{time} GMT ns-gw01 0-PPE-0 : default SSLVPN ICASTART 9188 0 :  Source {ip}:61022 - Destination 192.0.2.130:2598 - customername  - username:domainname {user}:CORP - applicationName Desktop Windows 11 - startTime \"11/{day}/2023:{time} GMT\" - connectionId 0b7e22d19a4c4f1e8d3a5b6c7d8e9f00\n"
    )
}

/// Writes ns.log rotations, oldest first: the last one is the live log, the others `.N.gz`.
fn write_rotations(root: &Path, oldest_first: &[String]) {
    let dir = root.join("var/log");
    let n = oldest_first.len();
    for (i, text) in oldest_first.iter().enumerate() {
        let age = n - 1 - i;
        if age == 0 {
            let mut live = std::fs::read(dir.join("ns.log")).unwrap_or_default();
            live.extend_from_slice(text.as_bytes());
            std::fs::write(dir.join("ns.log"), live).unwrap();
        } else {
            std::fs::write(
                dir.join(format!("ns.log.{}.gz", 90 + age)),
                gzip(text.as_bytes()),
            )
            .unwrap();
        }
    }
}

fn reuse_findings(oldest_first: &[String]) -> Vec<serde_json::Value> {
    let (_dir, root) = fixture("clean-13.0-47.24");
    write_rotations(&root, oldest_first);
    let r = scan_bounded(&root, "json", &[], 120, GIB).json();
    findings_of(&r, RULE).into_iter().cloned().collect()
}

#[test]
fn a_login_from_the_network_last_week_does_not_excuse_a_launch_today() {
    let hits = reuse_findings(&[
        login(13, "08:01:40", "bvdberg", "203.0.113.140"),
        login(20, "08:03:12", "bvdberg", "198.51.100.44"),
        launch(20, "14:26:09", "bvdberg", "203.0.113.151"),
    ]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let reason = hits[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("opened from 198.51.100.44 in the 24 h before each use")
            && reason.contains("used from 203.0.113.151"),
        "{reason}"
    );
    assert!(!reason.contains("203.0.113.140"), "{reason}");
}

#[test]
fn a_login_in_the_previous_rotation_explains_the_launch() {
    let hits = reuse_findings(&[
        login(20, "08:55:00", "bvdberg", "198.51.100.44"),
        launch(20, "09:10:00", "bvdberg", "198.51.100.9"),
    ]);
    assert!(hits.is_empty(), "{hits:?}");
}

#[test]
fn a_launch_without_a_login_in_its_session_lifetime_is_not_compared() {
    let hits = reuse_findings(&[
        login(17, "08:00:00", "bvdberg", "198.51.100.44"),
        launch(20, "09:10:00", "bvdberg", "203.0.113.151"),
    ]);
    assert!(hits.is_empty(), "{hits:?}");
}

#[test]
fn a_launch_before_the_login_is_not_explained_by_it() {
    // The user's only login of that day came after the launch from another network.
    let hits = reuse_findings(&[
        login(19, "22:00:00", "bvdberg", "198.51.100.44"),
        launch(20, "07:10:00", "bvdberg", "203.0.113.151"),
        login(20, "08:00:00", "bvdberg", "203.0.113.151"),
    ]);
    assert_eq!(hits.len(), 1, "{hits:?}");
}
