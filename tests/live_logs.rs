//! A current log that is not a file (a link to `/dev/null`, a FIFO, a device) hides what the
//! appliance logged since the last rotation: the rotations alone must not make `clean`.

mod common;

use common::fixture;
use common::report::gaps_of;
use common::run::{GIB, scan_bounded};
use common::tree::mknod;
use std::path::Path;

fn scan(root: &Path) -> serde_json::Value {
    scan_bounded(root, "json", &[], 60, 2 * GIB).json()
}

#[test]
fn current_logs_replaced_by_links_fifos_and_devices_block_clean() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    assert_eq!(
        scan(&root)["verdict"],
        "clean",
        "control: the tree is clean"
    );
    let log = root.join("var/log");
    for name in ["bash.log", "httpaccess.log", "ns.log", "cron"] {
        std::fs::remove_file(log.join(name)).unwrap();
    }
    std::os::unix::fs::symlink("/dev/null", log.join("bash.log")).unwrap();
    std::os::unix::fs::symlink("/dev/null", log.join("httpaccess.log")).unwrap();
    mknod(&log.join("ns.log"), libc::S_IFIFO | 0o644, 0);
    mknod(
        &log.join("cron"),
        libc::S_IFCHR | 0o644,
        libc::makedev(1, 3),
    );
    let r = scan(&root);
    assert_eq!(r["verdict"], "inconclusive", "{}", r["reasons"]);
    let blocking = |cause: &str, path: &str| {
        gaps_of(&r, cause)
            .iter()
            .any(|(p, _, blocks)| p == path && *blocks)
    };
    assert!(
        blocking("broken_symlink", "/var/log/bash.log"),
        "{}",
        r["coverage"]["gaps"]
    );
    assert!(blocking("broken_symlink", "/var/log/httpaccess.log"));
    assert!(blocking("special_file", "/var/log/ns.log"));
    assert!(blocking("special_file", "/var/log/cron"));
    let reasons = r["reasons"].to_string();
    assert!(reasons.contains("/var/log/bash.log"), "{reasons}");
}

#[test]
fn a_current_log_linked_to_a_log_file_inside_the_evidence_is_fine() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    let log = root.join("var/log");
    std::fs::rename(log.join("ns.log"), root.join("var/nslog/ns.log")).unwrap();
    std::os::unix::fs::symlink("/var/nslog/ns.log", log.join("ns.log")).unwrap();
    let r = scan(&root);
    assert_eq!(r["verdict"], "clean", "{}", r["reasons"]);
}
