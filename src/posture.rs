//! Posture: which firmware the appliance runs, whether it was vulnerable to each CVE, whether
//! the CVE-2019-19781 mitigation was in place (and since when), and which secrets to rotate
//! after a compromise. Reported beside the verdict, never folded into it: the verdict answers
//! only "are there traces of an attack".
//!
//! The affected-build table is data (`profiles/cves.toml`); everything else is read from the
//! evidence: `/flash/boot/loader.conf`, `/flash/.version`, the kernel images on `/flash`, every
//! `ns.conf*` save (header, date, content) and `rc.netscaler`.

use crate::firmware::{Build, Facts, read_small, split_version};
use crate::input::{EntryKind, Evidence};
use crate::model::{CvePosture, CveStatus, Finding, Mitigation, Posture, rfc3339};
use crate::rules::load::parse_build;
use crate::scan::ScanOutput;
use anyhow::{Context, Result};
use serde::Deserialize;

/// `profiles/cves.toml`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CveTable {
    pub cve: Vec<CveDef>,
}

/// One `[[cve]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CveDef {
    pub id: String,
    pub title: String,
    pub advisory: String,
    pub requires: String,
    pub fixed: Vec<FixedDef>,
    #[serde(default)]
    pub vulnerable_branch_eol: Vec<String>,
}

/// One first fixed build.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedDef {
    pub branch: String,
    pub build: String,
    pub line: Option<String>,
}

impl CveTable {
    /// The table embedded in the binary.
    pub fn embedded() -> Result<CveTable> {
        let (name, src) = crate::rules::embedded::PROFILES
            .iter()
            .find(|(n, _)| n.ends_with("cves.toml"))
            .context("the CVE table is not embedded")?;
        let t: CveTable = toml::from_str(src).with_context(|| format!("invalid {name}"))?;
        for c in &t.cve {
            for f in &c.fixed {
                if parse_build(&f.branch).is_none() || parse_build(&f.build).is_none() {
                    anyhow::bail!(
                        "{name}: {}: bad branch or build {}-{}",
                        c.id,
                        f.branch,
                        f.build
                    );
                }
            }
        }
        Ok(t)
    }
}

/// Status of one CVE for a firmware version.
pub fn status(def: &CveDef, branch: Build, build: Build) -> (CveStatus, String) {
    let v = format!("{}.{}-{}.{}", branch.0, branch.1, build.0, build.1);
    let same = |f: &&FixedDef| parse_build(&f.branch) == Some(branch);
    let regular = def.fixed.iter().filter(same).find(|f| f.line.is_none());
    let fips = def
        .fixed
        .iter()
        .filter(same)
        .find(|f| f.line.is_some() && parse_build(&f.build).is_some_and(|x| x.0 == build.0));
    if let Some(f) = regular
        && parse_build(&f.build).is_some_and(|x| build >= x)
    {
        return (
            CveStatus::Fixed,
            format!(
                "{v} is at or above the first fixed build {}-{}",
                f.branch, f.build
            ),
        );
    }
    if let Some(f) = fips
        && parse_build(&f.build).is_some_and(|x| build >= x)
    {
        return (
            CveStatus::Unknown,
            format!(
                "{v} is fixed only if it is a FIPS/NDcPP build (fixed in {}-{} {})",
                f.branch,
                f.build,
                f.line.as_deref().unwrap_or("")
            ),
        );
    }
    if let Some(f) = regular {
        return (
            CveStatus::Vulnerable,
            format!(
                "{v} is below the first fixed build {}-{}",
                f.branch, f.build
            ),
        );
    }
    let eol = def
        .vulnerable_branch_eol
        .iter()
        .any(|b| parse_build(b) == Some(branch));
    if eol {
        return (
            CveStatus::Vulnerable,
            format!(
                "branch {}.{} is affected and end of life: no regular fixed build",
                branch.0, branch.1
            ),
        );
    }
    let listed: Vec<Build> = def
        .fixed
        .iter()
        .filter_map(|f| parse_build(&f.branch))
        .collect();
    match listed.iter().min() {
        Some(&oldest) if branch < oldest => (
            CveStatus::Unknown,
            format!(
                "branch {}.{} is older than every branch the advisory lists",
                branch.0, branch.1
            ),
        ),
        _ => (
            CveStatus::NotAffected,
            format!("branch {}.{} was not affected", branch.0, branch.1),
        ),
    }
}

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
pub fn assess(
    table: &CveTable,
    facts: &Facts,
    ev: &dyn Evidence,
    out: &ScanOutput,
    findings: &[Finding],
    compromised: bool,
) -> Posture {
    let mut p = Posture::default();
    let loader = facts.loader.clone();
    let dot_version = facts.dot_version.clone();
    let saves = &facts.saves;
    let current = facts.current();
    let kernels: Vec<String> = facts.kernels.iter().map(|k| k.0.clone()).collect();
    if let Some(l) = &loader {
        p.firmware_evidence
            .push(format!("/flash/boot/loader.conf boots ns-{l}"));
    }
    if let Some(v) = &dot_version {
        p.firmware_evidence
            .push(format!("/flash/.version says \"{v}\""));
    }
    if let Some(v) = current.and_then(|c| c.version.as_ref()) {
        p.firmware_evidence
            .push(format!("/flash/nsconfig/ns.conf was saved by {v}"));
    }
    if !kernels.is_empty() {
        p.firmware_evidence
            .push(format!("kernel images on /flash: {}", kernels.join(", ")));
    }
    let header = current.and_then(|c| c.version.clone());
    p.firmware = facts.version();
    if let (Some(l), Some(h)) = (&loader, &header)
        && l != h
    {
        p.disagreements.push(format!(
            "the appliance boots {l} but ns.conf was last saved by {h}: the configuration was not saved since the firmware changed, so its header is stale"
        ));
    }
    if let (Some(fw), Some(dv)) = (&p.firmware, &dot_version)
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
    if let Some(c) = current {
        for l in c.text.lines() {
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
    let fw = p.firmware.as_deref().and_then(split_version);
    for def in &table.cve {
        let (status, evidence) = match fw {
            Some((branch, build)) => status(def, branch, build),
            None => (
                CveStatus::Unknown,
                "the firmware version could not be read".to_owned(),
            ),
        };
        p.cves.push(CvePosture {
            id: def.id.clone(),
            title: def.title.clone(),
            advisory: def.advisory.clone(),
            status,
            evidence,
            requires: def.requires.clone(),
        });
    }
    // CVE-2019-19781 mitigation (CTX267679).
    // Unknown, not absent, when the file that would hold it is not in the evidence.
    let rc_line = read_small(ev, out, "flash/nsconfig/rc.netscaler", 1 << 20).map(|rc| {
        rc.lines().any(|l| {
            !l.trim_start().starts_with('#')
                && l.contains("nsapimgr_wr.sh -ys skip_systemaccess_policyeval=0")
        })
    });
    let responder = current.map(|c| has_mitigation(&c.text));
    let first = saves
        .iter()
        .filter(|s| has_mitigation(&s.text) && s.saved.is_some())
        .min_by_key(|s| s.saved);
    let broken = fw.is_some_and(|(b, n)| mitigation_broken(b, n));
    // The mitigation only matters where CVE-2019-19781 can apply at all.
    let relevant = p
        .cves
        .iter()
        .find(|c| c.id == "CVE-2019-19781")
        .is_none_or(|c| c.status != CveStatus::NotAffected);
    let vulnerable = p
        .cves
        .iter()
        .any(|c| c.id == "CVE-2019-19781" && c.status == CveStatus::Vulnerable);
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
    let partial = saves.iter().filter(|s| !s.complete).count();
    if partial > 0 {
        notes.push(format!(
            "{partial} configuration saves were read only in part (more than 64 MiB of saves in all): the mitigation may have been saved earlier than stated"
        ));
    }
    let since = first.and_then(|s| s.saved);
    if let Some(t) = since {
        let older: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity >= crate::model::Severity::High)
            .filter(|f| f.time.as_deref().is_some_and(|x| x < rfc3339(t).as_str()))
            .collect();
        if !older.is_empty() {
            notes.push(format!(
                "{} high or critical findings were logged before the mitigation was first saved: it came too late for them",
                older.len()
            ));
        }
    }
    p.mitigation = relevant.then(|| Mitigation {
        cve: "CVE-2019-19781".to_owned(),
        responder_policy: responder,
        rc_netscaler_line: rc_line,
        effective: responder.map(|r| r && !broken),
        since: since.map(rfc3339),
        since_source: first.map(|s| s.file.clone()),
        notes,
    });
    if compromised {
        p.secrets_to_rotate = secrets(out, current.map(|c| c.text.as_str()).unwrap_or(""));
    }
    p
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
    fn statuses() {
        let t = CveTable::embedded().unwrap();
        let c = |id: &str| t.cve.iter().find(|c| c.id == id).unwrap();
        let st = |id: &str, v: &str| {
            let (b, n) = split_version(v).unwrap();
            status(c(id), b, n).0
        };
        assert_eq!(st("CVE-2019-19781", "13.0-47.22"), CveStatus::Vulnerable);
        assert_eq!(st("CVE-2019-19781", "13.0-47.24"), CveStatus::Fixed);
        assert_eq!(st("CVE-2019-19781", "13.1-49.15"), CveStatus::NotAffected);
        assert_eq!(st("CVE-2019-19781", "10.1-100.1"), CveStatus::Unknown);
        assert_eq!(st("CVE-2023-3519", "13.1-48.47"), CveStatus::Vulnerable);
        assert_eq!(st("CVE-2023-3519", "13.1-49.13"), CveStatus::Fixed);
        assert_eq!(st("CVE-2023-3519", "13.1-37.160"), CveStatus::Unknown);
        assert_eq!(st("CVE-2023-3519", "12.1-55.200"), CveStatus::Vulnerable);
        assert_eq!(st("CVE-2023-4966", "14.1-8.50"), CveStatus::Fixed);
        assert_eq!(st("CVE-2023-4966", "13.1-49.13"), CveStatus::Vulnerable);
    }

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
