//! The published mitigations of NetScaler CVEs, part by part, and whether they held: the
//! CTX267679 responder mitigation of CVE-2019-19781 (feature, policy, global binding, the
//! rc.netscaler line for the management interfaces), judged against the logged answers to the
//! `/vpns/` traversal attempts the rules found; and the sessions to end after upgrading away
//! from CVE-2023-4966 and CVE-2025-5777, looked for among the CLI commands the rules found.
//!
//! Works from the facts (saved configurations, rc.netscaler) and the findings alone: no
//! evidence is read here.

use super::firmware::Facts;
use crate::appliance::cves::CveTable;
use crate::model::{
    Bytes, CvePosture, CveStatus, Finding, Held, Mitigation, MitigationPart, Severity, Timestamp,
};
use crate::scan::ScanOutput;
use crate::util::version::Build;

/// Lines of a held (or failed) mitigation shown as examples.
const MAX_EXAMPLES: usize = 3;

/// Every mitigation that applies to the appliance, in the order of the CVE table.
pub(crate) fn all(
    table: &CveTable,
    facts: &Facts,
    cves: &[CvePosture],
    fw: Option<(Build, Build)>,
    out: &ScanOutput,
    findings: &[Finding],
) -> Vec<Mitigation> {
    let mut m = Vec::new();
    for c in cves {
        if c.id == "CVE-2019-19781" && c.status != CveStatus::NotAffected {
            m.push(ctx267679(facts, c, fw, findings));
        }
        let concerned = c.status == CveStatus::Vulnerable || c.left_vulnerable.is_some();
        if concerned && SESSION_CVES.contains(&c.id.as_str()) {
            let advice = table
                .cve
                .iter()
                .find(|d| d.id == c.id)
                .and_then(|d| d.mitigations.first())
                .map(|x| format!("{} (source `{}` of the CVE table)", x.what, x.source));
            m.push(sessions_ended(c, advice, out, findings));
        }
    }
    m
}

/// True when a configuration holds the CTX267679 responder policy (`/vpns/` and `/../`, with a
/// 403 or 404 action, a drop or a reset), bound globally. Returns the binding line.
fn bound_policy(conf: &str) -> Option<(usize, &str)> {
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
    conf.lines().enumerate().find(|(_, l)| {
        l.strip_prefix("bind responder global ")
            .and_then(|r| r.split_whitespace().next())
            .is_some_and(|p| policies.contains(&p))
    })
}

/// The line that adds a `/vpns/` responder policy.
fn policy_line(conf: &str) -> Option<(usize, &str)> {
    conf.lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("add responder policy ") && l.contains("/vpns/"))
}

/// `enable ns feature ... RESPONDER ...` (any case, among other features).
fn feature_line(conf: &str) -> Option<(usize, &str)> {
    conf.lines().enumerate().find(|(_, l)| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() > 3
            && w[..3]
                .iter()
                .zip(["enable", "ns", "feature"])
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
            && w[3..].iter().any(|f| f.eq_ignore_ascii_case("responder"))
    })
}

/// The 12.1 builds on which the responder mitigation did not work (responder and rewrite
/// policies bound to VPN vservers were not evaluated before 51.16 / 51.19 and 50.31).
fn mitigation_broken(branch: Build, build: Build) -> bool {
    branch == (12, 1) && (build < (50, 31) || ((51, 0)..(51, 16)).contains(&build))
}

/// A part found (or not) in a file: `None` when the file is not in the evidence.
fn part(name: &str, file: Option<&str>, path: &str, hit: Option<(usize, &str)>) -> MitigationPart {
    match (file, hit) {
        (None, _) => MitigationPart {
            name: name.to_owned(),
            present: None,
            line: None,
            place: format!("{path} (not in the evidence)"),
        },
        (Some(_), Some((i, l))) => MitigationPart {
            name: name.to_owned(),
            present: Some(true),
            line: Some(l.trim().to_owned()),
            place: format!("{path}:{}", i + 1),
        },
        (Some(_), None) => MitigationPart {
            name: name.to_owned(),
            present: Some(false),
            line: None,
            place: path.to_owned(),
        },
    }
}

/// Every part present: `true`; one absent: `false`; otherwise unknown.
fn effective(parts: &[MitigationPart]) -> (Option<bool>, Vec<String>) {
    let missing: Vec<String> = parts
        .iter()
        .filter(|p| p.present == Some(false))
        .map(|p| p.name.clone())
        .collect();
    let eff = if !missing.is_empty() {
        Some(false)
    } else if parts.iter().all(|p| p.present == Some(true)) {
        Some(true)
    } else {
        None
    };
    (eff, missing)
}

/// The CVE-2019-19781 mitigation (CTX267679), part by part, and whether it held.
fn ctx267679(
    facts: &Facts,
    cve: &CvePosture,
    fw: Option<(Build, Build)>,
    findings: &[Finding],
) -> Mitigation {
    let current = facts.current();
    let conf = current.map(|c| c.text.as_str());
    let ns = "/flash/nsconfig/ns.conf";
    let rc_path = "/flash/nsconfig/rc.netscaler";
    let rc = facts.rc_netscaler.as_deref();
    let rc_hit = rc.and_then(|t| {
        t.lines().enumerate().find(|(_, l)| {
            !l.trim_start().starts_with('#')
                && l.contains("nsapimgr_wr.sh -ys skip_systemaccess_policyeval=0")
        })
    });
    let bound = conf.and_then(bound_policy);
    let mut parts = vec![
        part(
            "responder feature enabled",
            conf,
            ns,
            conf.and_then(feature_line),
        ),
        part(
            "responder policy on /vpns/ traversal with a refusing action",
            conf,
            ns,
            conf.and_then(policy_line),
        ),
        part(
            "policy bound globally with -type REQ_OVERRIDE",
            conf,
            ns,
            bound.filter(|(_, l)| l.contains("-type REQ_OVERRIDE")),
        ),
        part(
            "nsapimgr_wr.sh -ys skip_systemaccess_policyeval=0 in rc.netscaler (management interfaces)",
            rc,
            rc_path,
            rc_hit,
        ),
    ];
    if let (Some(_), None, Some(p)) = (conf, bound, parts.get_mut(1))
        && p.present == Some(true)
    {
        p.present = Some(false);
        p.place = format!("{} (the policy is not bound globally)", p.place);
    }
    let (mut eff, missing) = effective(&parts);
    let broken = fw.is_some_and(|(b, n)| mitigation_broken(b, n));
    let mut notes = Vec::new();
    if broken {
        eff = eff.map(|_| false);
        notes.push("on this 12.1 build the responder mitigation did not take effect (fixed in 12.1-50.31 and 51.16/51.19)".to_owned());
    }
    if current.is_none() {
        notes.push("no saved configuration (/flash/nsconfig/ns.conf) is in the evidence: whether the mitigation was in place is unknown".to_owned());
    }
    let first = facts
        .saves
        .iter()
        .filter(|s| bound_policy(&s.text).is_some() && s.saved.is_some())
        .min_by_key(|s| s.saved);
    let partial = facts.saves.iter().filter(|s| !s.complete).count();
    if partial > 0 {
        notes.push(format!(
            "{partial} configuration saves were read only in part (more than 64 MiB of saves in all): the mitigation may have been saved earlier than stated"
        ));
    }
    let since = first.and_then(|s| s.saved).map(Timestamp::from_unix);
    if let Some(t) = since {
        let older = findings
            .iter()
            .filter(|f| f.severity >= Severity::High)
            .filter(|f| f.time.is_some_and(|x| x < t))
            .count();
        if older > 0 {
            notes.push(format!(
                "{older} high or critical findings were logged before the mitigation was first saved: it came too late for them"
            ));
        }
    }
    let held = since.and_then(|t| held(t, findings, &mut notes));
    Mitigation {
        id: "CTX267679".to_owned(),
        name: "responder policy refusing /vpns/ traversal, bound globally, applied to the management interfaces".to_owned(),
        cve: cve.id.clone(),
        parts,
        effective: eff,
        missing,
        since,
        since_source: first.map(|s| s.file.clone()),
        held,
        notes,
    }
}

/// The request and status of an access-log line that asks for `/vpns/` through a `..`
/// traversal: `Some(status)`.
pub(crate) fn traversal_status(line: &[u8]) -> Option<u16> {
    let open = line.iter().position(|&b| b == b'"')?;
    let len = line[open + 1..].iter().position(|&b| b == b'"')?;
    let request = &line[open + 1..open + 1 + len];
    let uri = request.split(|&b| b == b' ').nth(1)?;
    let decoded = percent_decoded(uri).to_ascii_lowercase();
    if !decoded.windows(9).any(|w| w == b"/../vpns/") {
        return None;
    }
    let rest = line.get(open + len + 2..)?;
    let code = rest.strip_prefix(b" ")?.get(..3)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// `%2e%2E` → `..` (invalid escapes kept as they are).
fn percent_decoded(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// Counts of the traversal attempts around the date the mitigation was in place.
#[derive(Default)]
struct Tally {
    before: u64,
    after: u64,
    refused: u64,
    answered: u64,
    undated: u64,
    answered_lines: Vec<Bytes>,
    refused_lines: Vec<Bytes>,
}

impl Tally {
    fn add(&mut self, f: &Finding, status: u16, since: Timestamp) {
        let Some(t0) = f.time else {
            self.undated += f.count;
            return;
        };
        let t1 = f.last_time.unwrap_or(t0);
        let after = if t1 < since {
            0
        } else if t0 >= since {
            f.count
        } else {
            f.count.saturating_sub(1).max(1)
        };
        self.before += f.count - after;
        self.after += after;
        if after == 0 {
            return;
        }
        let line = if t0 >= since {
            f.excerpt.clone()
        } else {
            f.last_excerpt.clone().or_else(|| f.excerpt.clone())
        };
        let (n, lines) = if status == 403 {
            (&mut self.refused, &mut self.refused_lines)
        } else {
            (&mut self.answered, &mut self.answered_lines)
        };
        *n += after;
        if let Some(l) = line
            && lines.len() < MAX_EXAMPLES
        {
            lines.push(l);
        }
    }
}

/// Whether the mitigation held: every `/vpns/` traversal attempt logged from `since` on should
/// have been answered 403. Judged from the findings' lines; `None` when none came after.
fn held(since: Timestamp, findings: &[Finding], notes: &mut Vec<String>) -> Option<Held> {
    let mut t = Tally::default();
    for f in findings {
        let Some(status) = f.excerpt.as_ref().and_then(|e| traversal_status(&e.0)) else {
            continue;
        };
        t.add(f, status, since);
    }
    if t.undated > 0 {
        notes.push(format!(
            "{} /vpns/ traversal attempts carry no time and were not judged",
            t.undated
        ));
    }
    let day = since.date();
    if t.after == 0 {
        if t.before > 0 {
            notes.push(format!(
                "{} /vpns/ traversal attempts were logged before {day}, none from then on: the logs do not show whether the mitigation held",
                t.before
            ));
        }
        return None;
    }
    let attempts = |n: u64| {
        if n == 1 {
            "1 attempt".to_owned()
        } else {
            format!("{n} attempts")
        }
    };
    let (held, summary, examples) = if t.answered == 0 {
        (
            true,
            format!("from {day} on, {}, all refused (403)", attempts(t.after)),
            t.refused_lines,
        )
    } else {
        (
            false,
            format!(
                "from {day} on, {}: {} answered with something other than 403 after the mitigation date: it did not work",
                attempts(t.after),
                t.answered
            ),
            t.answered_lines,
        )
    };
    Some(Held {
        held,
        summary,
        attempts_after: t.after,
        refused_after: t.refused,
        attempts_before: t.before,
        examples,
    })
}

/// The CVEs whose advice is to end every session after upgrading: tokens stolen before the
/// upgrade stay valid until the sessions end.
const SESSION_CVES: &[&str] = &["CVE-2023-4966", "CVE-2025-5777"];

/// The commands that end the sessions (NetScaler's advice for CVE-2023-4966, repeated for
/// CVE-2025-5777).
const END_SESSIONS: &[&str] = &[
    "kill aaa session -all",
    "kill icaconnection -all",
    "kill rdp connection -all",
    "kill pcoipConnection -all",
    "clear lb persistentSessions",
];

/// A CLI command in a finding's line, as typed: `Command "kill aaa session -all"` in ns.log, a
/// `.nscli_history` line (spaces written `\040`), lower-cased with single spaces.
fn cli_command(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line).replace("\\040", " ");
    let cmd = text
        .split_once("Command \"")
        .and_then(|(_, r)| r.split_once('"'))
        .map_or(text.as_str(), |(c, _)| c);
    cmd.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// Whether the CLI history (ns.log's `CMD_EXECUTED` records, `.nscli_history`) is in the
/// evidence.
fn has_cli_history(out: &ScanOutput) -> bool {
    out.listing.entries.iter().any(|e| {
        let p = e.path.as_bytes();
        p.starts_with(b"/var/log/ns.log")
            || p.starts_with(b"/var/nslog/ns.log")
            || p.ends_with(b"/.nscli_history")
    })
}

/// Whether the sessions were ended after the upgrade away from a build vulnerable to `cve`.
fn sessions_ended(
    cve: &CvePosture,
    advice: Option<String>,
    out: &ScanOutput,
    findings: &[Finding],
) -> Mitigation {
    let upgraded = cve.left_vulnerable.as_ref().map(|l| l.at);
    let history = has_cli_history(out);
    let mut notes: Vec<String> = advice.into_iter().collect();
    notes.push("the five commands are the vendor's advice as quoted by third parties (docs/cve-sources.md); the PCoIP and RDP ones matter only where those proxies are configured".to_owned());
    if cve.status == CveStatus::Vulnerable {
        notes.push(
            "the appliance still runs a vulnerable build: upgrade first, then end the sessions"
                .to_owned(),
        );
    } else if upgraded.is_none() {
        notes.push("when the appliance left the vulnerable build is not in the evidence: commands are counted whenever they ran".to_owned());
    }
    if !history {
        notes.push("no CLI history (ns.log, .nscli_history) is in the evidence: whether the sessions were ended is unknown".to_owned());
    }
    let (parts, times): (Vec<MitigationPart>, Vec<Option<Timestamp>>) = END_SESSIONS
        .iter()
        .map(|cmd| session_part(cmd, upgraded, history, findings))
        .unzip();
    let (eff, missing) = effective(&parts);
    let since = times.into_iter().flatten().min();
    Mitigation {
        id: format!("{} sessions", cve.id),
        name: "end every active and persistent session after upgrading".to_owned(),
        cve: cve.id.clone(),
        parts,
        effective: eff,
        missing,
        since,
        since_source: None,
        held: None,
        notes,
    }
}

/// One session command: run after the upgrade (dated, with its time), run before it, or not
/// found.
fn session_part(
    cmd: &str,
    upgraded: Option<Timestamp>,
    history: bool,
    findings: &[Finding],
) -> (MitigationPart, Option<Timestamp>) {
    let want = cmd.to_ascii_lowercase();
    let mut before = None;
    let mut undated = None;
    for f in findings {
        for (line, time) in [
            (f.excerpt.as_ref(), f.time),
            (f.last_excerpt.as_ref(), f.last_time),
        ] {
            let Some(line) = line else { continue };
            if cli_command(&line.0) != want {
                continue;
            }
            let place = String::from_utf8_lossy(f.path.as_bytes()).into_owned();
            match (time, upgraded) {
                (Some(t), Some(u)) if t < u => before = Some(format!("{place} at {}", t.minute())),
                (Some(t), _) => {
                    let part = MitigationPart {
                        name: cmd.to_owned(),
                        present: Some(true),
                        line: Some(String::from_utf8_lossy(&line.0).into_owned()),
                        place: format!("{place} at {t}"),
                    };
                    return (part, Some(t));
                }
                // An undated history last written before the upgrade holds no later run.
                (None, Some(u)) if f.mtime.is_some_and(|m| m < u) => {
                    let m = f.mtime.unwrap_or(u);
                    before = Some(format!("{place} (undated, last written {})", m.minute()));
                }
                (None, _) => undated = Some(format!("{place} (undated)")),
            }
        }
    }
    // A dated record before the upgrade outweighs an undated one: ns.log records every CLI
    // command, so one run after the upgrade would be there too.
    let (present, place) = match (undated, before, history) {
        (_, Some(p), _) => (Some(false), format!("only before the upgrade: {p}")),
        (Some(p), None, _) => (None, format!("{p}: run, but when is not recorded")),
        (None, None, true) => (Some(false), "not in the CLI history".to_owned()),
        (None, None, false) => (None, "no CLI history in the evidence".to_owned()),
    };
    let part = MitigationPart {
        name: cmd.to_owned(),
        present,
        line: None,
        place,
    };
    (part, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mitigation_text() {
        let conf = "enable ns feature LB SSL SSLVPN Responder\nadd responder action respondwith403 respondwith \"\\\"HTTP/1.1 403 Forbidden\\r\\n\\r\\n\\\"\"\nadd responder policy ctx267027 \"HTTP.REQ.URL.DECODE_USING_TEXT_MODE.CONTAINS(\\\"/vpns/\\\") && (!CLIENT.SSLVPN.IS_SSLVPN || HTTP.REQ.URL.DECODE_USING_TEXT_MODE.CONTAINS(\\\"/../\\\"))\" respondwith403\nbind responder global ctx267027 1 END -type REQ_OVERRIDE\n";
        assert_eq!(bound_policy(conf).map(|x| x.0), Some(3));
        assert!(
            bound_policy(&conf.replace("bind responder global ctx267027", "# unbound")).is_none()
        );
        assert_eq!(feature_line(conf).map(|x| x.0), Some(0));
        assert!(feature_line("enable ns feature LB SSL SSLVPN\n").is_none());
        assert!(feature_line("# enable ns feature RESPONDER\n").is_none());
        assert!(mitigation_broken((12, 1), (50, 28)));
        assert!(!mitigation_broken((12, 1), (51, 19)));
        assert!(!mitigation_broken((13, 0), (47, 22)));
    }

    #[test]
    fn traversal_lines_and_their_answers() {
        let l = |s: &str| traversal_status(s.as_bytes());
        assert_eq!(
            l(
                "1.2.3.4 - - [25/Jan/2020:14:31:39 +0000] \"GET /vpn/../vpns/portal/x.xml HTTP/1.1\" 403 - \"-\""
            ),
            Some(403)
        );
        assert_eq!(
            l(
                "1.2.3.4 - - [12/Jan/2020:01:00:00 +0000] \"POST /vpn/%2E%2e/vpns/portal/scripts/newbm.pl HTTP/1.1\" 200 143"
            ),
            Some(200)
        );
        // The portal itself, no traversal: not an attempt.
        assert_eq!(
            l(
                "1.2.3.4 - - [25/Jan/2020:12:20:58 +0000] \"GET /vpns/services.html HTTP/1.1\" 200 5120"
            ),
            None
        );
        assert_eq!(l("\"GET /vpn/../vpns/x HTTP/1.1\""), None);
    }

    #[test]
    fn cli_commands_from_ns_log_and_history() {
        assert_eq!(
            cli_command(b"Jan 2 03:00:00 <local0.info> 10.0.0.1 01/02/2024:03:00:00 GMT ns 0-PPE-0 : default CLI CMD_EXECUTED 12 0 : User nsroot - Remote_ip 10.0.0.5 - Command \"kill  aaa session -all\" - Status \"Success\""),
            "kill aaa session -all"
        );
        assert_eq!(
            cli_command(b"kill\\040icaconnection\\040-all"),
            "kill icaconnection -all"
        );
    }
}
