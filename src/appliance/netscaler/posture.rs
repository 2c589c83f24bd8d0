//! Posture: which firmware the appliance runs, whether it was vulnerable to each CVE, whether
//! the CVE-2019-19781 mitigation was in place (and since when), and which secrets to rotate
//! after a compromise. Reported beside the verdict, never folded into it: the verdict answers
//! only "are there traces of an attack".
//!
//! The affected-build table is data (`cves.toml`); everything else comes from the facts read
//! once after the scan (`Facts`): `/flash/boot/loader.conf`, `/flash/.version`, the kernel
//! images on `/flash`, every `ns.conf*` save (header, date, content) and `rc.netscaler`. No
//! evidence is read here.

use super::firmware::Facts;
use crate::appliance::cves::{CveDef, CveTable, status};
use crate::input::EntryKind;
use crate::model::{CvePosture, CveStatus, Finding, Mitigation, Posture, Timestamp};
use crate::scan::ScanOutput;
use crate::util::version::{Build, parse_build, split_version};

/// True when a configuration holds the CTX267679 responder mitigation, bound globally.
fn has_mitigation(conf: &str) -> bool {
    let actions: Vec<&str> = conf
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("add responder action ")?;
            let (name, how) = rest.split_once(' ')?;
            (how.starts_with("respondwith") && (how.contains("403") || how.contains("404"))
                || how.starts_with("drop")
                || how.starts_with("reset"))
            .then_some(name)
        })
        .collect();
    let policies: Vec<&str> = conf
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("add responder policy ")?;
            let (name, tail) = rest.split_once(' ')?;
            let guarded =
                tail.contains("/vpns/") && (tail.contains("/../") || tail.contains("IS_SSLVPN"));
            let action_ok = actions.iter().any(|a| tail.trim_end().ends_with(a))
                || tail.contains("DROP")
                || tail.contains("RESET");
            (guarded && action_ok).then_some(name)
        })
        .collect();
    conf.lines().any(|l| {
        l.strip_prefix("bind responder global ")
            .and_then(|r| r.split_whitespace().next())
            .is_some_and(|p| policies.contains(&p))
    })
}

/// The 12.1 builds on which the responder mitigation did not work (responder and rewrite
/// policies bound to VPN vservers were not evaluated before 51.16 / 51.19 and 50.31).
fn mitigation_broken(branch: Build, build: Build) -> bool {
    branch == (12, 1) && (build < (50, 31) || ((51, 0)..(51, 16)).contains(&build))
}

/// Builds the posture section.
pub(crate) fn assess(
    table: &CveTable,
    facts: &Facts,
    out: &ScanOutput,
    findings: &[Finding],
    compromised: bool,
) -> Posture {
    let mut p = Posture::default();
    let current = facts.current();
    firmware(facts, &mut p);
    if let Some(c) = current {
        identity(&c.text, &mut p);
    }
    let fw = p.firmware.as_deref().and_then(split_version);
    p.cves = table.cve.iter().map(|def| cve_posture(def, fw)).collect();
    let rc_line = facts.rc_netscaler.as_deref().map(|rc| {
        rc.lines().any(|l| {
            !l.trim_start().starts_with('#')
                && l.contains("nsapimgr_wr.sh -ys skip_systemaccess_policyeval=0")
        })
    });
    p.mitigation = mitigation(facts, &p.cves, fw, rc_line, findings);
    if compromised {
        p.secrets_to_rotate = secrets(out, current.map(|c| c.text.as_str()).unwrap_or(""));
    }
    p
}

/// The firmware version, the evidence it rests on, and where the sources disagree.
fn firmware(facts: &Facts, p: &mut Posture) {
    let current = facts.current();
    let header = current.and_then(|c| c.version.clone());
    if let Some(l) = &facts.loader {
        p.firmware_evidence
            .push(format!("/flash/boot/loader.conf boots ns-{l}"));
    }
    if let Some(v) = &facts.dot_version {
        p.firmware_evidence
            .push(format!("/flash/.version says \"{v}\""));
    }
    if let Some(v) = &header {
        p.firmware_evidence
            .push(format!("/flash/nsconfig/ns.conf was saved by {v}"));
    }
    if !facts.kernels.is_empty() {
        let kernels: Vec<&str> = facts.kernels.iter().map(|k| k.0.as_str()).collect();
        p.firmware_evidence
            .push(format!("kernel images on /flash: {}", kernels.join(", ")));
    }
    p.firmware = facts.version();
    if let (Some(l), Some(h)) = (&facts.loader, &header)
        && l != h
    {
        p.disagreements.push(format!(
            "the appliance boots {l} but ns.conf was last saved by {h}: the configuration was not saved since the firmware changed, so its header is stale"
        ));
    }
    if let (Some(fw), Some(dv)) = (&p.firmware, &facts.dot_version)
        && let Some((branch, build)) = split_version(fw)
    {
        let words: Vec<&str> = dv.split_whitespace().collect();
        let said = words
            .windows(3)
            .find(|w| w[1] == "build")
            .and_then(|w| Some((parse_build(w[0])?, w[2].parse::<u32>().ok()?)));
        if let Some((b, major)) = said
            && (b != branch || major != build.0)
        {
            p.disagreements
                .push(format!("/flash/.version (\"{dv}\") does not match {fw}"));
        }
    }
}

/// Host name, NSIP and time zone from the saved configuration.
fn identity(conf: &str, p: &mut Posture) {
    for l in conf.lines() {
        if let Some(h) = l.strip_prefix("set ns hostName ") {
            p.hostname = Some(h.trim().to_owned());
        }
        if let Some(r) = l.strip_prefix("set ns config -IPAddress ") {
            p.nsip = r.split_whitespace().next().map(str::to_owned);
        }
        if let Some(i) = l.find("-timezone ") {
            p.timezone = l[i + 10..].split('"').nth(1).map(str::to_owned);
        }
    }
}

/// One CVE's status for the firmware (`None`: the version could not be read).
fn cve_posture(def: &CveDef, fw: Option<(Build, Build)>) -> CvePosture {
    let (status, evidence) = match fw {
        Some((branch, build)) => status(def, branch, build),
        None => (
            CveStatus::Unknown,
            "the firmware version could not be read".to_owned(),
        ),
    };
    CvePosture {
        id: def.id.clone(),
        title: def.title.clone(),
        advisory: def.advisory.clone(),
        status,
        evidence,
        requires: def.requires.clone(),
    }
}

/// The CVE-2019-19781 mitigation (CTX267679), where that CVE can apply at all. Unknown, not
/// absent, when the file that would hold it is not in the evidence.
fn mitigation(
    facts: &Facts,
    cves: &[CvePosture],
    fw: Option<(Build, Build)>,
    rc_line: Option<bool>,
    findings: &[Finding],
) -> Option<Mitigation> {
    let status = cves
        .iter()
        .find(|c| c.id == "CVE-2019-19781")
        .map(|c| c.status);
    if status == Some(CveStatus::NotAffected) {
        return None;
    }
    let vulnerable = status == Some(CveStatus::Vulnerable);
    let current = facts.current();
    let responder = current.map(|c| has_mitigation(&c.text));
    let first = facts
        .saves
        .iter()
        .filter(|s| has_mitigation(&s.text) && s.saved.is_some())
        .min_by_key(|s| s.saved);
    let broken = fw.is_some_and(|(b, n)| mitigation_broken(b, n));
    let since = first.and_then(|s| s.saved).map(Timestamp::from_unix);
    let mut notes = Vec::new();
    if broken {
        notes.push("on this 12.1 build the responder mitigation did not take effect (fixed in 12.1-50.31 and 51.16/51.19)".to_owned());
    }
    if current.is_none() {
        notes.push("no saved configuration (/flash/nsconfig/ns.conf) is in the evidence: whether the mitigation was in place is unknown".to_owned());
    }
    if responder == Some(true) && rc_line == Some(false) && vulnerable {
        notes.push("the responder policy is present but rc.netscaler lacks the nsapimgr_wr.sh line of CTX267679".to_owned());
    }
    let partial = facts.saves.iter().filter(|s| !s.complete).count();
    if partial > 0 {
        notes.push(format!(
            "{partial} configuration saves were read only in part (more than 64 MiB of saves in all): the mitigation may have been saved earlier than stated"
        ));
    }
    if let Some(t) = since {
        let older = findings
            .iter()
            .filter(|f| f.severity >= crate::model::Severity::High)
            .filter(|f| f.time.is_some_and(|x| x < t))
            .count();
        if older > 0 {
            notes.push(format!(
                "{older} high or critical findings were logged before the mitigation was first saved: it came too late for them"
            ));
        }
    }
    Some(Mitigation {
        cve: "CVE-2019-19781".to_owned(),
        responder_policy: responder,
        rc_netscaler_line: rc_line,
        effective: responder.map(|r| r && !broken),
        since,
        since_source: first.map(|s| s.file.clone()),
        notes,
    })
}

/// Secrets an attacker with the configuration can recover or crack.
fn secrets(out: &ScanOutput, conf: &str) -> Vec<String> {
    let mut s = Vec::new();
    for l in conf.lines() {
        let words: Vec<&str> = l.split_whitespace().collect();
        if !l.contains(" -encrypted") || words.len() < 4 {
            continue;
        }
        if words[1] == "system" && words[2] == "user" {
            s.push(format!(
                "password of system user {} (hashed with {}; crackable offline)",
                words[3],
                words
                    .iter()
                    .skip_while(|w| **w != "-hashmethod")
                    .nth(1)
                    .unwrap_or(&"an old method")
            ));
        } else {
            let method = words
                .iter()
                .skip_while(|w| **w != "-encryptmethod")
                .nth(1)
                .unwrap_or(&"ENCMTHD_1");
            s.push(format!(
                "secret of `{} {} {} {}` ({method}: encrypted with a key stored on the appliance, recoverable)",
                words[0], words[1], words[2], words[3]
            ));
        }
    }
    let keys: Vec<String> = out
        .listing
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| String::from_utf8_lossy(e.path.as_bytes()).into_owned())
        .filter(|n| n.starts_with("/flash/nsconfig/ssl/") && n.ends_with(".key"))
        .collect();
    if !keys.is_empty() {
        s.push(format!(
            "TLS private keys ({}): replace the certificates",
            keys.join(", ")
        ));
    }
    if out
        .listing
        .entries
        .iter()
        .any(|e| e.path.as_bytes().starts_with(b"/flash/nsconfig/.F1.key"))
    {
        s.push(
            "the appliance's configuration encryption keys (/flash/nsconfig/.F1.key, .F2.key)"
                .to_owned(),
        );
    }
    s.sort();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mitigation_text() {
        let conf = "add responder action respondwith403 respondwith \"\\\"HTTP/1.1 403 Forbidden\\r\\n\\r\\n\\\"\"\nadd responder policy ctx267027 \"HTTP.REQ.URL.DECODE_USING_TEXT_MODE.CONTAINS(\\\"/vpns/\\\") && (!CLIENT.SSLVPN.IS_SSLVPN || HTTP.REQ.URL.DECODE_USING_TEXT_MODE.CONTAINS(\\\"/../\\\"))\" respondwith403\nbind responder global ctx267027 1 END -type REQ_OVERRIDE\n";
        assert!(has_mitigation(conf));
        assert!(!has_mitigation(
            &conf.replace("bind responder global ctx267027", "# unbound")
        ));
        assert!(mitigation_broken((12, 1), (50, 28)));
        assert!(!mitigation_broken((12, 1), (51, 19)));
        assert!(!mitigation_broken((13, 0), (47, 22)));
    }
}
