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
use super::mitigation;
use crate::appliance::Sighting;
use crate::appliance::cves::{CveDef, CveTable, status};
use crate::input::EntryKind;
use crate::model::{
    ConfigLine, CvePosture, CveStatus, Exposure, ExposureState, Finding, LeftVulnerable, Posture,
    Timestamp,
};
use crate::scan::ScanOutput;
use crate::util::version::{Build, parse_build, split_version};

/// Most configuration lines shown per CVE as exposing it.
const MAX_EXPOSING_LINES: usize = 5;

/// Builds the posture section.
pub(crate) fn assess(
    table: &CveTable,
    facts: &Facts,
    history: &[Sighting],
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
    let conf = current.map(|c| (c.file.as_str(), c.text.as_str()));
    p.cves = table
        .cve
        .iter()
        .map(|def| cve_posture(def, fw, conf, history))
        .collect();
    p.mitigations = mitigation::all(table, facts, &p.cves, fw, out, findings);
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

/// One CVE's status for the firmware (`None`: the version could not be read), the configuration
/// that exposes it and when the appliance left a vulnerable build.
fn cve_posture(
    def: &CveDef,
    fw: Option<(Build, Build)>,
    conf: Option<(&str, &str)>,
    history: &[Sighting],
) -> CvePosture {
    let (status, evidence) = match fw {
        Some((branch, build)) => status(def, branch, build),
        None => (
            CveStatus::Unknown,
            "the firmware version could not be read".to_owned(),
        ),
    };
    let exposure = if status == CveStatus::Vulnerable {
        exposure(def, status, conf)
    } else {
        None
    };
    CvePosture {
        id: def.id.clone(),
        title: def.title.clone(),
        advisory: def.advisory.clone(),
        status,
        evidence,
        requires: def.requires.clone(),
        exposure,
        left_vulnerable: left_vulnerable(def, history),
    }
}

/// Whether a configuration line starts with the command `prefix` (ASCII case-insensitive, a
/// whole word) and, when `with_any` is given, holds one of those words.
fn exposes(line: &str, prefix: &str, with_any: &[String]) -> bool {
    let l = line.trim_start().as_bytes();
    let p = prefix.as_bytes();
    let starts = l.len() > p.len()
        && l[..p.len()].eq_ignore_ascii_case(p)
        && matches!(l[p.len()], b' ' | b'\t');
    starts
        && (with_any.is_empty()
            || line
                .split_whitespace()
                .any(|w| with_any.iter().any(|x| x.eq_ignore_ascii_case(w))))
}

/// What the saved configuration shows about the exposing configuration of a CVE the build is
/// vulnerable to. `None` when the table names none.
fn exposure(def: &CveDef, st: CveStatus, conf: Option<(&str, &str)>) -> Option<Exposure> {
    if def.exposure.is_empty() {
        return None;
    }
    debug_assert_eq!(st, CveStatus::Vulnerable);
    let build = "vulnerable build";
    let mut notes: Vec<String> = def
        .exposure
        .iter()
        .filter(|e| e.ns_conf.is_empty())
        .map(|e| format!("{}: {}", e.what, e.note))
        .collect();
    let Some((path, text)) = conf else {
        return Some(Exposure {
            state: ExposureState::Unknown,
            summary: format!("{build}, exposure unknown (no saved configuration)"),
            lines: Vec::new(),
            notes,
        });
    };
    let checkable: Vec<_> = def
        .exposure
        .iter()
        .filter(|e| !e.ns_conf.is_empty())
        .collect();
    let mut lines = Vec::new();
    let mut more = 0usize;
    for (i, l) in text.lines().enumerate() {
        let Some(e) = checkable
            .iter()
            .find(|e| e.ns_conf.iter().any(|p| exposes(l, p, &e.with_any)))
        else {
            continue;
        };
        if lines.len() < MAX_EXPOSING_LINES {
            lines.push(ConfigLine {
                what: e.what.clone(),
                path: path.to_owned(),
                line: i as u64 + 1,
                text: l.to_owned(),
            });
        } else {
            more += 1;
        }
    }
    if more > 0 {
        notes.push(format!("{more} more exposing lines in {path}"));
    }
    let (state, summary) = if !lines.is_empty() {
        (
            ExposureState::Exposed,
            format!("{build}, exposed configuration"),
        )
    } else if checkable.is_empty() {
        (
            ExposureState::Unknown,
            format!("{build}, exposure unknown (the configuration cannot show it)"),
        )
    } else {
        let what: Vec<&str> = checkable.iter().map(|e| e.what.as_str()).collect();
        (
            ExposureState::NotConfigured,
            format!(
                "{build}, feature not configured ({path} has no {})",
                what.join(", no ")
            ),
        )
    };
    Some(Exposure {
        state,
        summary,
        lines,
        notes,
    })
}

/// `13.0-47.24`.
fn shown(s: &Sighting) -> String {
    format!("{}.{}-{}.{}", s.branch.0, s.branch.1, s.build.0, s.build.1)
}

/// When the appliance left a build vulnerable to the CVE: the first sighting of a build that
/// is fixed (or never affected) after the last sighting of a vulnerable one. `None` when no
/// vulnerable build was seen, or none that is not vulnerable came after it.
fn left_vulnerable(def: &CveDef, history: &[Sighting]) -> Option<LeftVulnerable> {
    let st = |s: &Sighting| status(def, s.branch, s.build).0;
    let first = history
        .iter()
        .position(|s| st(s) == CveStatus::Vulnerable)?;
    let last = history
        .iter()
        .rposition(|s| st(s) == CveStatus::Vulnerable)?;
    let next = history[last + 1..]
        .iter()
        .find(|s| matches!(st(s), CveStatus::Fixed | CveStatus::NotAffected))?;
    let (from, to) = (&history[first], &history[last]);
    let day = |t: i64| Timestamp::from_unix(t).date();
    Some(LeftVulnerable {
        vulnerable_from: Timestamp::from_unix(from.at),
        vulnerable_build: shown(to),
        at: Timestamp::from_unix(next.at),
        build: shown(next),
        evidence: format!(
            "{} seen {} ({}); last vulnerable build {} seen {} ({}); {} seen {} ({})",
            shown(from),
            day(from.at),
            from.what,
            shown(to),
            day(to.at),
            to.what,
            shown(next),
            day(next.at),
            next.what
        ),
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

    fn table() -> CveTable {
        crate::appliance::netscaler::cve_table().unwrap()
    }

    fn def<'t>(t: &'t CveTable, id: &str) -> &'t CveDef {
        t.cve.iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn a_configuration_line_exposes_by_its_command_and_words() {
        let lb = ["HTTP".to_owned(), "SSL".to_owned(), "HTTP_QUIC".to_owned()];
        assert!(exposes(
            "add vpn vserver gw SSL 192.0.2.20 443",
            "add vpn vserver",
            &[]
        ));
        assert!(exposes(
            "ADD VPN VSERVER gw SSL 192.0.2.20 443",
            "add vpn vserver",
            &[]
        ));
        // A longer command that merely starts with the same letters is another command.
        assert!(!exposes("add vpn vserverx gw", "add vpn vserver", &[]));
        assert!(!exposes("# add vpn vserver gw", "add vpn vserver", &[]));
        assert!(exposes(
            "add lb vserver web SSL 192.0.2.30 443",
            "add lb vserver",
            &lb
        ));
        assert!(!exposes(
            "add lb vserver dns DNS 192.0.2.30 53",
            "add lb vserver",
            &lb
        ));
    }

    #[test]
    fn exposure_says_exposed_not_configured_or_unknown() {
        let t = table();
        let saml = def(&t, "CVE-2022-27518");
        let conf = "set ns config -IPAddress 192.0.2.10\nadd authentication samlIdPProfile idp -samlSPCertName sp\n";
        let e = exposure(
            saml,
            CveStatus::Vulnerable,
            Some(("/flash/nsconfig/ns.conf", conf)),
        )
        .unwrap();
        assert_eq!(e.state, ExposureState::Exposed);
        assert_eq!(e.lines[0].line, 2);
        assert_eq!(e.lines[0].what, "SAML IdP");
        let e = exposure(
            saml,
            CveStatus::Vulnerable,
            Some((
                "/flash/nsconfig/ns.conf",
                "add vpn vserver gw SSL 192.0.2.20 443\n",
            )),
        )
        .unwrap();
        assert_eq!(e.state, ExposureState::NotConfigured);
        assert_eq!(
            e.summary,
            "vulnerable build, feature not configured (/flash/nsconfig/ns.conf has no SAML SP, no SAML IdP)"
        );
        let e = exposure(saml, CveStatus::Vulnerable, None).unwrap();
        assert_eq!(e.state, ExposureState::Unknown);
        // The management interface: a question of the network, not of the configuration.
        let mgmt = def(&t, "CVE-2023-6548");
        let e = exposure(
            mgmt,
            CveStatus::Vulnerable,
            Some(("/flash/nsconfig/ns.conf", conf)),
        )
        .unwrap();
        assert_eq!(e.state, ExposureState::Unknown);
        assert_eq!(e.notes.len(), 1);
        // At most five lines, and a note with the rest.
        let many = "add vpn vserver gw SSL 192.0.2.20 443\n".repeat(8);
        let e = exposure(
            def(&t, "CVE-2023-4966"),
            CveStatus::Vulnerable,
            Some(("/flash/nsconfig/ns.conf", &many)),
        )
        .unwrap();
        assert_eq!(e.lines.len(), MAX_EXPOSING_LINES);
        assert!(
            e.notes
                .iter()
                .any(|n| n.starts_with("3 more exposing lines"))
        );
    }

    #[test]
    fn the_exposure_ends_with_the_first_fixed_build_after_the_last_vulnerable_one() {
        let t = table();
        let shitrix = def(&t, "CVE-2019-19781");
        let seen = |v: &str, at: i64| {
            let (branch, build) = split_version(v).unwrap();
            Sighting {
                branch,
                build,
                at,
                what: format!("kernel image /flash/ns-{v}.gz"),
            }
        };
        let day = 86_400;
        let history = [
            seen("13.0-41.20", 0),
            seen("13.0-47.22", 10 * day),
            seen("13.0-47.24", 30 * day),
            seen("13.0-47.24", 40 * day),
        ];
        let l = left_vulnerable(shitrix, &history).unwrap();
        assert_eq!((l.vulnerable_from.unix(), l.at.unix()), (0, 30 * day));
        assert_eq!(
            (l.vulnerable_build.as_str(), l.build.as_str()),
            ("13.0-47.22", "13.0-47.24")
        );
        // Still on a vulnerable build at the end: it never left.
        assert!(left_vulnerable(shitrix, &history[..2]).is_none());
        // Never on a vulnerable build: nothing to leave.
        assert!(left_vulnerable(shitrix, &history[2..]).is_none());
    }
}
