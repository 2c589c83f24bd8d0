//! Responders' tools and their output hold every indicator they look for; a webshell or a
//! tunneller holds one or two, as code. sporen tells them apart by what the files hold, never by
//! their names: the tools are listed as context, the webshells stay critical.

mod common;

use common::scan_json;
use common::tree::put;

#[test]
fn detection_tools_are_context_and_webshells_stay_critical_whatever_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    // An appliance: its saved configuration and log folders.
    put(&root, "flash/nsconfig/ns.conf", b"#NS13.1 Build 49.15\n");
    std::fs::create_dir_all(root.join("var/nslog")).unwrap();
    // A copy of the 2023 scanner, renamed; its report; YARA rules; an indicator list.
    put(&root, "var/tmp/x1.sh", br##"#!/usr/bin/env bash
declare -a known_paths=( "/var/vpn/theme/.theme.php" "/var/tmp/the" "/var/tmp/npc" "/var/tmp/conf/npc.conf" )
declare -a content_terms=( 'eval($_POST' 'eval($_GET' '#nssecret#' 'uRemote' 'blv_encode' '<?=`curl' )
declare -a binary_terms=( 'ligolo-ng' 'sshd/server.go' 'ehang.io/nps' 'passwd_hook' )
for t in "${content_terms[@]}"; do grep -rlF -- "$t" /var/netscaler /var/vpn; done
"##);
    put(&root, "root/result", b"checking content: eval($_POST eval($_GET #nssecret# uRemote blv_encode: none\nchecking binaries: ligolo-ng sshd/server.go ehang.io/nps passwd_hook: none\n");
    put(
        &root,
        "home/ir/r.yar",
        br##"rule w { strings: 
  $a = "eval($_POST"
  $b = "#nssecret#"
  $c = "public $cmd;"
  $d = "return @eval($a);"
  $e = "cp /usr/bin/bash /var/tmp/bash"
 condition: any of them }
"##,
    );
    // Webshells and a tunneller with one or two indicators, as code.
    put(
        &root,
        "var/netscaler/logon/LogonPoint/uiareas/linux/x.php",
        b"<?php http_response_code(201); @eval($_POST[5]);",
    );
    put(
        &root,
        "var/tmp/.cache/upd",
        b"\x7fELF\x02\x01\x01\x09\x00\x00github.com/nicocha30/ligolo-ng/cmd/agent\x00",
    );
    // A file dressed as a scanner, with PHP that runs: still a webshell.
    put(&root, "var/tmp/ioc-scanner.php", b"<?php\n// looks for: 'eval($_POST' '#nssecret#' 'blv_encode' 'uRemote' 'ligolo-ng' 'ehang.io/nps'\n@eval($_POST['c']);\n");
    let v = scan_json(&root, &[]).1;
    let worst = |path: &str| -> String {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"] == path)
            .map(|f| f["severity"].as_str().unwrap().to_owned())
            .min_by_key(|s| {
                ["critical", "high", "medium", "low", "info"]
                    .iter()
                    .position(|x| x == s)
            })
            .unwrap_or_else(|| "none".into())
    };
    for tool in ["/var/tmp/x1.sh", "/root/result", "/home/ir/r.yar"] {
        assert_eq!(worst(tool), "info", "{tool}: {v}");
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == tool && f["rule"] == "residue.detection-tool")
            .unwrap_or_else(|| panic!("{tool} not recognised"));
        assert!(
            f["reason"]
                .as_str()
                .unwrap()
                .contains("looks like a detection tool or its output")
        );
    }
    for shell in [
        "/var/netscaler/logon/LogonPoint/uiareas/linux/x.php",
        "/var/tmp/.cache/upd",
        "/var/tmp/ioc-scanner.php",
    ] {
        assert_eq!(worst(shell), "critical", "{shell}: {v}");
    }
    assert_eq!(v["verdict"], "compromised");
}
