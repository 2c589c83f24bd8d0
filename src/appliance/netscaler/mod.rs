//! NetScaler (Citrix ADC / Gateway), the family sporen was built for: FreeBSD based, `/` a RAM
//! disk rebuilt at boot, `/flash` and `/var` persistent, `/nsconfig` an absolute link to
//! `/flash/nsconfig`, logs rotated hourly to `name.N.gz`.
//!
//! Its data: `profile.toml` (markers, evidence sources, RAM disk, boot records), `cves.toml`
//! (the CVE table) and `baseline.toml` (the stock baseline per firmware family). Its code:
//! [`firmware`] (what the appliance runs, read from small files), [`zone`] (the configured time
//! zone), [`posture`] (per-CVE status, the CTX267679 mitigation, secrets to rotate), [`stamps`]
//! (ns.log's own time stamp) and the
//! [`LAYOUT`] of its support bundles, disk images and SSH collection.

pub mod firmware;
pub mod mitigation;
pub mod posture;
pub mod stamps;
pub mod zone;

use super::cves::CveTable;
use super::profile::Profile;
use super::{Appliance, Facts, Family};
use crate::input::{Evidence, Layout, Listing, MountRule};
use crate::model::{CveStatus, Finding, Posture};
use crate::rules::Diagnostic;
use crate::rules::baseline::Firmware;
use crate::scan::ScanOutput;
use crate::scan::time::StampFormat;
use crate::zone::Zone;
use std::sync::Arc;

/// `profile.toml`: name and text.
pub const PROFILE: (&str, &str) = (
    "src/appliance/netscaler/profile.toml",
    include_str!("profile.toml"),
);
/// `cves.toml`: name and text.
pub const CVES: (&str, &str) = (
    "src/appliance/netscaler/cves.toml",
    include_str!("cves.toml"),
);
/// `baseline.toml`: name and text.
pub const BASELINE: (&str, &str) = (
    "src/appliance/netscaler/baseline.toml",
    include_str!("baseline.toml"),
);

/// The paths `--ssh` collects: everything the rules and the verdict read, without core dumps
/// and upgrade packages (large, and not evidence of an attack by themselves).
const SSH_PATHS: &[&str] = &[
    "flash/boot/loader.conf",
    "flash/.version",
    "flash/nsconfig",
    "var/log",
    "var/nslog",
    "var/vpn",
    "var/netscaler/logon",
    "var/netscaler/gui",
    "var/netscaler/portal",
    "var/tmp",
    "var/nstmp",
    "var/cron",
    "var/at",
    "var/run/nshttp_profile_ids",
    "var/python/bin",
    "netscaler/portal",
    "netscaler/ns_gui/vpn",
    "netscaler/ns_gui/vpns",
    "netscaler/ns_gui/epa",
    "netscaler/ns_gui/admin_ui/rdx/core/css/images",
    "tmp",
    "etc/passwd",
    "etc/crontab",
    "etc/httpd.conf",
    "etc/rc",
    "etc/rc.local",
    "etc/rc.d",
    "root/.ssh",
    "boot",
];

/// How NetScaler archives, images and SSH collections map onto its filesystem.
pub const LAYOUT: Layout = Layout {
    ssh_paths: SSH_PATHS,
    // Support bundles the appliance made itself: not evidence of an attack, and large.
    ssh_exclude: &["var/tmp/support"],
    // The nsroot login shell is the NetScaler CLI; `shell` runs a Unix command from it.
    ssh_shell: Some("shell"),
    // `show techsupport` bundles: `collector_P_<ip>_<date>/`, with `nsconfig/` at the top.
    bundle_top: Some("collector_"),
    aliases: &[("nsconfig", "flash/nsconfig")],
    mounts: &[
        // The RAM disk (md0), or a whole tree in one filesystem.
        MountRule {
            at: "",
            all: &["bin", "etc"],
            any: &[],
        },
        MountRule {
            at: "",
            all: &["flash", "var"],
            any: &[],
        },
        MountRule {
            at: "flash",
            all: &["nsconfig"],
            any: &[],
        },
        MountRule {
            at: "var",
            all: &["netscaler"],
            any: &["log", "nslog", "vpn"],
        },
    ],
};

/// NetScaler as registered in `FAMILIES`.
pub const REGISTERED: super::Registered = super::Registered {
    id: "netscaler",
    load: appliance,
    baseline: BASELINE,
};

/// The CVE table, or every problem in it.
pub fn cve_table() -> Result<CveTable, Vec<Diagnostic>> {
    CveTable::parse(CVES.0, CVES.1)
}

/// The NetScaler knowledge, loaded and checked: every problem of the profile and the CVE table
/// at once.
pub fn appliance() -> Result<Appliance, Vec<Diagnostic>> {
    match (Profile::parse(PROFILE.0, PROFILE.1), cve_table()) {
        (Ok(profile), Ok(cves)) => Ok(Appliance {
            registered: &REGISTERED,
            profile,
            cves,
            layout: LAYOUT,
            family: &NetScaler,
        }),
        (p, c) => Err(p.err().into_iter().chain(c.err()).flatten().collect()),
    }
}

/// The NetScaler family.
pub struct NetScaler;

impl Family for NetScaler {
    fn identify(&self, ev: &dyn Evidence) -> Option<Firmware> {
        firmware::identify(ev)
    }

    fn zone(&self, ev: &dyn Evidence, listing: &Listing) -> Zone {
        zone::read(ev, listing)
    }

    fn facts(&self, ev: &dyn Evidence, out: &ScanOutput) -> Facts {
        let f = firmware::Facts::read(ev, out);
        Facts {
            version: f.version(),
            history: f.sightings(),
            detail: Arc::new(f),
        }
    }

    fn posture(
        &self,
        cves: &CveTable,
        facts: &Facts,
        out: &ScanOutput,
        findings: &[Finding],
        compromised: bool,
    ) -> Posture {
        let none = firmware::Facts::default();
        let f = facts
            .detail
            .downcast_ref::<firmware::Facts>()
            .unwrap_or(&none);
        posture::assess(cves, f, &facts.history, out, findings, compromised)
    }

    /// True when some CVE is `vulnerable` and no effective mitigation of it exists (one that
    /// protects a vulnerable build: CTX267679; ending sessions protects nothing before the
    /// upgrade).
    fn exposed(&self, p: &Posture) -> bool {
        p.cves.iter().any(|c| {
            c.status == CveStatus::Vulnerable
                && !p.mitigations.iter().any(|m| {
                    m.cve == c.id
                        && m.id == "CTX267679"
                        && m.effective == Some(true)
                        && m.held.as_ref().is_none_or(|h| h.held)
                })
        })
    }

    fn stamps(&self) -> &'static [StampFormat] {
        stamps::FORMATS
    }

    fn record_heads(&self) -> &'static [&'static str] {
        stamps::RECORD_HEADS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_netscaler_knowledge_loads() {
        let a = appliance().unwrap();
        assert_eq!(a.profile.profile.id, "netscaler");
        assert!(
            a.profile
                .sources
                .iter()
                .any(|s| s.id == "access-log" && s.required)
        );
        let m = &a.profile.markers;
        assert!(m.min >= 1 && m.min <= m.paths.len());
        assert!(a.cves.cve.iter().any(|c| c.id == "CVE-2019-19781"));
    }

    #[test]
    fn images_mount_by_their_root() {
        let names = |n: &[&str]| n.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            LAYOUT.mount_point(&names(&["bin", "etc", "netscaler"])),
            Some("")
        );
        assert_eq!(
            LAYOUT.mount_point(&names(&["nsconfig", "boot"])),
            Some("flash")
        );
        assert_eq!(
            LAYOUT.mount_point(&names(&["netscaler", "nslog"])),
            Some("var")
        );
        assert_eq!(LAYOUT.mount_point(&names(&["netscaler"])), None);
        assert_eq!(Layout::default().mount_point(&names(&["nsconfig"])), None);
    }

    #[test]
    fn the_ssh_collection_runs_through_the_cli() {
        let cmd = crate::input::open::ssh_remote_command(&LAYOUT, true);
        assert!(cmd.starts_with(
            "shell \"tar -cf - -C / --exclude 'var/tmp/support' flash/boot/loader.conf"
        ));
        assert!(!crate::input::open::ssh_remote_command(&LAYOUT, false).starts_with("shell"));
    }
}
