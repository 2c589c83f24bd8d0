//! Bounded work on crafted evidence: whatever a log, a rule pack or a configuration save holds,
//! the scan ends in bounded time and memory, and what it did not read is a gap that blocks
//! `clean`; matching never silently stops.

mod common;

use common::archive::gzip;
use common::fixture;
use common::report::{findings_of, gaps_of};
use common::run::{GIB, scan_bounded};
use std::io::Write;
use std::path::Path;

fn append(path: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    writeln!(f, "{line}").unwrap();
}

const EXPLOIT_LINE: &str = "127.0.0.1 - - [17/Jan/2020:20:07:22 +0000] \"GET /vpn/../vpns/portal/NIGkDs7jfV4qTnX1tF5my9gPM3Bz0JpH.xml HTTP/1.1\" 200 - \"-\" \"python-requests/2.21.0\"";

#[test]
fn large_local_patterns_never_switch_matching_off() {
    let (dir, root) = fixture("clean-13.0-47.24");
    append(&root.join("var/log/httpaccess.log"), EXPLOIT_LINE);
    // Ten valid rules whose patterns are too large to share one compiled set.
    let mut pack = String::from(
        "[pack]\nid = \"iocs\"\ntitle = \"local IOCs\"\ndescription = \"long hex IOC patterns\"\n",
    );
    for i in 0..10 {
        pack.push_str(&format!(
            "\n[[rule]]\nid = \"iocs.r{i}\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"low\"\n[rule.lines]\nlogs = [\"var/log/httpaccess.log\"]\nany = [{{ regex = 'zq{i}[0-9a-f]{{100000}}' }}]\n"
        ));
    }
    let rules = dir.path().join("iocs.toml");
    std::fs::write(&rules, pack).unwrap();
    for extra in [&[][..], &["--rules", rules.to_str().unwrap()][..]] {
        let r = scan_bounded(&root, "json", extra, 120, 4 * GIB).json();
        let rules_fired: Vec<&str> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["rule"].as_str())
            .collect();
        assert_eq!(
            r["verdict"], "compromised",
            "with {extra:?}: {rules_fired:?}"
        );
        assert!(
            rules_fired.contains(&"cve-2019-19781.access-template-fetch"),
            "with {extra:?}: {rules_fired:?}"
        );
    }
}

#[test]
fn a_sparse_log_of_a_terabyte_is_read_up_to_the_budget_and_reported() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    let log = std::fs::File::create(root.join("var/log/httpaccess.log.9")).unwrap();
    log.set_len(1 << 40).unwrap();
    let r = scan_bounded(&root, "json", &["--max-file-bytes", "64M"], 60, 2 * GIB).json();
    let cut = gaps_of(&r, "too_large");
    assert!(
        cut.iter()
            .any(|(p, d, blocks)| p == "/var/log/httpaccess.log.9" && *blocks && d.contains("64")),
        "{cut:?}"
    );
    assert_ne!(r["verdict"], "clean");
}

#[test]
fn the_total_read_budget_stops_reading_and_says_so() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    for i in 10..20 {
        let f = std::fs::File::create(root.join(format!("var/log/ns.log.{i}"))).unwrap();
        f.set_len(8 << 20).unwrap();
    }
    let r = scan_bounded(&root, "json", &["--max-total-bytes", "32M"], 60, 2 * GIB).json();
    let unread = gaps_of(&r, "budget");
    assert!(!unread.is_empty(), "{}", r["coverage"]["gaps"]);
    assert!(
        unread
            .iter()
            .all(|(_, d, blocks)| *blocks && d.contains("--max-total-bytes"))
    );
    assert_eq!(r["verdict"], "inconclusive");
}

/// A login and many connection records of sessions, gzip-compressed.
fn sessions_log(logins: usize, conns_per_login: usize, distinct_sources: bool) -> Vec<u8> {
    let mut text = Vec::new();
    for s in 0..logins {
        writeln!(
            text,
            "Oct 30 08:02:11 <local0.info> 192.0.2.10  10/30/2023:08:02:11 GMT ns-gw01 0-PPE-0 : default SSLVPN LOGIN 5240392 0 : Context alice@198.51.100.21 - SessionId: {s} - User alice - Client_ip 10.{}.{}.1 - Nat_ip \"Mapped Ip\" - Vserver 192.0.2.20:443",
            s / 256 % 256,
            s % 256
        )
        .unwrap();
    }
    for c in 0..logins * conns_per_login {
        let s = c % logins;
        let src = if distinct_sources {
            format!("172.{}.{}.9", c / 256 % 256, c % 256)
        } else {
            "203.0.113.77".to_owned()
        };
        writeln!(
            text,
            "Oct 30 13:14:52 <local0.info> 192.0.2.10  10/30/2023:13:14:52 GMT ns-gw01 0-PPE-0 : default SSLVPN TCPCONNSTAT 5240469 0 : Context alice@198.51.100.21 - SessionId: {s}- User alice - Client_ip 198.51.100.21 - Nat_ip 192.0.2.11 - Vserver 192.0.2.20:443 - Source {src}:50123 - Destination 192.0.2.101:443"
        )
        .unwrap();
    }
    gzip(&text)
}

#[test]
fn repeated_correlation_records_are_aggregated_not_kept_per_line() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    // One session used from a foreign address 400,000 times.
    std::fs::write(
        root.join("var/log/ns.log.1.gz"),
        sessions_log(1, 400_000, false),
    )
    .unwrap();
    let r = scan_bounded(&root, "json", &[], 120, GIB).json();
    let moved = findings_of(&r, "cve-2023-4966.session-moved-network");
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0]["count"], 400_000);
}

#[test]
fn a_session_with_thousands_of_addresses_gives_a_bounded_report() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    // One session key logged in from 4,000 addresses and used from 4,000 others.
    let mut text = Vec::new();
    for i in 0..4000 {
        writeln!(text, "Oct 30 08:02:11 <local0.info> 192.0.2.10  10/30/2023:08:02:11 GMT ns-gw01 0-PPE-0 : default SSLVPN LOGIN 5240392 0 : Context alice@198.51.100.21 - SessionId: 6169 - User alice - Client_ip 10.{}.{}.1 - Nat_ip \"Mapped Ip\" - Vserver 192.0.2.20:443", i / 256 % 256, i % 256).unwrap();
    }
    for i in 0..4000 {
        writeln!(text, "Oct 30 13:14:52 <local0.info> 192.0.2.10  10/30/2023:13:14:52 GMT ns-gw01 0-PPE-0 : default SSLVPN TCPCONNSTAT 5240469 0 : Context alice@198.51.100.21 - SessionId: 6169- User alice - Client_ip 198.51.100.21 - Nat_ip 192.0.2.11 - Vserver 192.0.2.20:443 - Source 172.{}.{}.9:50123 - Destination 192.0.2.101:443", i / 256 % 256, i % 256).unwrap();
    }
    std::fs::write(root.join("var/log/ns.log.1.gz"), gzip(&text)).unwrap();
    let run = scan_bounded(&root, "json", &[], 60, 2 * GIB);
    assert!(
        run.stdout.len() < 4 << 20,
        "report of {} bytes",
        run.stdout.len()
    );
    let r = run.json();
    let moved = findings_of(&r, "cve-2023-4966.session-moved-network");
    assert_eq!(moved.len(), 1, "one finding for the one session");
    assert_eq!(moved[0]["count"], 4000);
    let reason = moved[0]["reason"].as_str().unwrap();
    assert!(reason.len() < 2000, "{reason}");
    assert!(reason.contains("more"), "{reason}");
}

#[test]
fn the_correlation_budget_stops_collecting_and_says_so() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    std::fs::write(root.join("var/log/ns.log.1.gz"), sessions_log(500, 2, true)).unwrap();
    let r = scan_bounded(&root, "json", &["--max-records", "100"], 60, 2 * GIB).json();
    let cut = gaps_of(&r, "budget");
    assert!(
        cut.iter().any(|(p, d, blocks)| p == "/var/log/ns.log.1.gz"
            && *blocks
            && d.contains("--max-records")),
        "{}",
        r["coverage"]["gaps"]
    );
}

#[test]
fn many_large_configuration_saves_do_not_exhaust_memory() {
    let (dir, root) = fixture("clean-13.0-47.24");
    for i in 100..250 {
        let f = std::fs::File::create(root.join(format!("flash/nsconfig/ns.conf.{i}"))).unwrap();
        f.set_len(16 << 20).unwrap();
    }
    // One rule that reads none of the saves: what remains is the configuration history the
    // posture section reads.
    let rules = dir.path().join("one.toml");
    std::fs::write(
        &rules,
        "[pack]\nid = \"one\"\ntitle = \"t\"\ndescription = \"d\"\n\n[[rule]]\nid = \"one.r\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"low\"\n[rule.file]\npaths = [\"var/nope\"]\n",
    )
    .unwrap();
    let run = scan_bounded(
        &root,
        "json",
        &["--no-builtin-rules", "--rules", rules.to_str().unwrap()],
        120,
        GIB,
    );
    run.assert_verdict("scan with 150 configuration saves of 16 MiB");
    let r = run.json();
    assert_eq!(
        r["posture"]["firmware"], "13.0-47.24",
        "the current configuration is still read"
    );
    let notes = common::report::mitigation(&r, "CTX267679")["notes"].to_string();
    assert!(notes.contains("read only in part"), "{notes}");
}

#[test]
fn records_dropped_at_the_budget_never_make_sessions_look_unopened() {
    let (_dir, root) = fixture("clean-13.0-47.24");
    let login = |s: usize| {
        format!(
            "Oct 30 08:02:11 <local0.info> 192.0.2.10  10/30/2023:08:02:11 GMT ns-gw01 0-PPE-0 : default SSLVPN LOGIN 5240392 0 : Context u{s}@198.51.100.21 - SessionId: {s} - User u{s} - Client_ip 198.51.100.21 - Nat_ip \"Mapped Ip\" - Vserver 192.0.2.20:443\n"
        )
    };
    let conn = |s: usize| {
        format!(
            "Oct 30 13:14:52 <local0.info> 192.0.2.10  10/30/2023:13:14:52 GMT ns-gw01 0-PPE-0 : default SSLVPN TCPCONNSTAT 5240469 0 : Context u{s}@198.51.100.21 - SessionId: {s}- User u{s} - Client_ip 198.51.100.21 - Nat_ip 192.0.2.11 - Vserver 192.0.2.20:443 - Source 198.51.100.21:50123 - Destination 192.0.2.101:443\n"
        )
    };
    // The logins are in a rotation past the budget (later in path order); the sessions are
    // used in the live log, which is kept.
    let logins: String = (0..500).map(login).collect();
    std::fs::write(root.join("var/log/ns.log.9.gz"), gzip(logins.as_bytes())).unwrap();
    let uses: String = (0..50).map(conn).collect();
    // Session 0 also logged in from elsewhere in the kept log: its use looks moved, but its
    // login from the use's network is in the rotation that was not kept, and the finding
    // says so.
    let elsewhere = login(0).replace("Client_ip 198.51.100.21", "Client_ip 10.9.9.9");
    append(&root.join("var/log/ns.log"), (elsewhere + &uses).trim_end());
    let r = scan_bounded(&root, "json", &["--max-records", "300"], 120, GIB).json();
    let budget: Vec<_> = gaps_of(&r, "budget")
        .into_iter()
        .filter(|(path, ..)| path == "/var/log/ns.log.9.gz")
        .collect();
    assert_eq!(budget.len(), 1, "{}", r["coverage"]["gaps"]);
    let unopened = findings_of(&r, "cve-2023-4966.session-without-login");
    assert!(unopened.is_empty(), "{} findings", unopened.len());
    let moved = findings_of(&r, "cve-2023-4966.session-moved-network");
    assert_eq!(moved.len(), 1, "{moved:?}");
    let reason = moved[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("an opening there could explain this"),
        "{reason}"
    );
    assert_ne!(r["verdict"], "clean");
}
