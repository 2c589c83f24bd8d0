//! Everything sporen knows about the appliances it examines, in one place. A family (for now
//! [`netscaler`]) is one folder: its data (profile, CVE table, stock baseline) and the code that
//! reads what only it knows (firmware, time zone, posture and mitigation, the layout of its
//! archives, images and SSH collection). The rest of sporen (`input`, `scan`, `continuity`,
//! `verdict`, `report`) works through [`Appliance`] and [`Family`] and names no appliance.
//!
//! Rule packs refer to the profile and the CVE table (a window's evidence sources and CVE);
//! [`Appliance::check_rules`] reports every reference that does not resolve, located, before
//! anything is scanned.
//!
//! Adding a family: a folder `src/appliance/<family>/` with its three data files and a type
//! implementing [`Family`], and one line in [`FAMILIES`] (see `ARCHITECTURE.md`).

pub mod cves;
pub(crate) mod data;
pub mod netscaler;
pub mod profile;

use crate::input::{Evidence, Layout, Listing};
use crate::model::{Finding, Posture};
use crate::rules::baseline::Firmware;
use crate::rules::{Code, Diagnostic, RuleSet};
use crate::scan::ScanOutput;
use crate::scan::time::StampFormat;
use crate::util::version::Build;
use crate::zone::Zone;
use cves::CveTable;
use profile::Profile;
use std::any::Any;
use std::sync::Arc;

/// The registered families, by the name `--appliance` takes. The first is the default.
pub const FAMILIES: &[Registered] = &[netscaler::REGISTERED];

/// The function that loads a family's knowledge, or reports every problem in its data files.
pub type Loader = fn() -> Result<Appliance, Vec<Diagnostic>>;

/// A family as registered: its name, how its knowledge loads, and its stock baseline (name and
/// text), which the rules are compiled with.
#[derive(Clone, Copy, Debug)]
pub struct Registered {
    /// The name `--appliance` takes (`netscaler`).
    pub id: &'static str,
    pub load: Loader,
    pub baseline: (&'static str, &'static str),
}

impl Registered {
    /// The default family (the first registered).
    pub fn default_family() -> &'static Registered {
        &FAMILIES[0]
    }

    /// The family registered as `id`.
    pub fn named(id: &str) -> Option<&'static Registered> {
        FAMILIES.iter().find(|r| r.id == id)
    }

    /// The names of the registered families, for `--appliance`.
    pub fn ids() -> Vec<&'static str> {
        FAMILIES.iter().map(|r| r.id).collect()
    }
}

/// A build seen on the appliance at a time: from a kernel image put on disk, a configuration
/// saved by that build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub branch: Build,
    pub build: Build,
    /// Unix seconds.
    pub at: i64,
    /// Where it was seen ("kernel image /flash/ns-13.0-47.24.gz").
    pub what: String,
}

/// Facts read once from the evidence after the scan. The exposure windows use the firmware
/// history; the family's posture reads its own part back from `detail`.
#[derive(Clone)]
pub struct Facts {
    /// The firmware the appliance runs (`13.0-47.24`), when the evidence says.
    pub version: Option<String>,
    /// Dated sightings of builds, oldest first.
    pub history: Vec<Sighting>,
    /// What only the family reads (for NetScaler: saved configurations, `rc.netscaler`).
    pub detail: Arc<dyn Any + Send + Sync>,
}

/// The code side of an appliance family: what needs its knowledge of the evidence.
pub trait Family: Send + Sync {
    /// The firmware before the scan, from small files: the stock baseline is compared with it.
    fn identify(&self, ev: &dyn Evidence) -> Option<Firmware>;
    /// The time zone syslog header times were written in.
    fn zone(&self, ev: &dyn Evidence, listing: &Listing) -> Zone;
    /// Facts read once after the scan.
    fn facts(&self, ev: &dyn Evidence, out: &ScanOutput) -> Facts;
    /// The posture section (firmware, per-CVE status, mitigation, secrets to rotate), from the
    /// facts and the scan alone.
    fn posture(
        &self,
        cves: &CveTable,
        facts: &Facts,
        out: &ScanOutput,
        findings: &[Finding],
        compromised: bool,
    ) -> Posture;
    /// Whether the posture leaves the appliance open to a CVE (`--fail-on-vulnerable`).
    fn exposed(&self, posture: &Posture) -> bool;
    /// The time stamp formats its logs write beyond the generic syslog and Apache ones; the
    /// scanner tries them first.
    fn stamps(&self) -> &'static [StampFormat];
    /// Regular expressions (bytes, `(?-u)`) that match the start of its own log records beyond
    /// the BSD syslog head (`Jan 19 23:26:52 `): a line that matches none of them continues
    /// the record before it.
    fn record_heads(&self) -> &'static [&'static str];
}

/// The knowledge of one appliance family, loaded once.
#[derive(Clone)]
pub struct Appliance {
    /// How it is registered (name, stock baseline).
    pub registered: &'static Registered,
    pub profile: Profile,
    pub cves: CveTable,
    /// How its archives, images and SSH collection map onto its filesystem.
    pub layout: Layout,
    pub family: &'static dyn Family,
}

impl std::fmt::Debug for Appliance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appliance")
            .field("profile", &self.profile.profile.id)
            .finish_non_exhaustive()
    }
}

impl Appliance {
    /// The default family's knowledge, or every problem in its profile and CVE table, located.
    pub fn embedded() -> Result<Appliance, Vec<Diagnostic>> {
        Self::load(Registered::default_family())
    }

    /// The knowledge of a registered family, or every problem in its profile and CVE table,
    /// located.
    pub fn load(family: &'static Registered) -> Result<Appliance, Vec<Diagnostic>> {
        (family.load)()
    }

    /// Every window reference of `rules` that the profile or the CVE table does not know.
    pub fn check_rules(&self, rules: &RuleSet) -> Vec<Diagnostic> {
        let sources: Vec<&str> = self.profile.sources.iter().map(|s| s.id.as_str()).collect();
        let cves: Vec<&str> = self.cves.cve.iter().map(|c| c.id.as_str()).collect();
        let mut out = Vec::new();
        for w in rules.packs().iter().filter_map(|p| p.window.as_ref()) {
            for (sid, spot) in w.sources.iter().zip(&w.source_spots) {
                if !sources.contains(&sid.as_str()) {
                    out.push(spot.with(
                        Code::E013,
                        format!("`{sid}` is not an evidence source of the appliance profile"),
                        format!("evidence sources: {}", sources.join(", ")),
                    ));
                }
            }
            if let (Some(c), Some(spot)) = (&w.cve, &w.cve_spot)
                && !cves.contains(&c.as_str())
            {
                out.push(spot.with(
                    Code::E031,
                    format!("{c} is not in the CVE table"),
                    format!("CVEs in the table: {}", cves.join(", ")),
                ));
            }
            if let Some(d) = self.start_disagrees(w) {
                out.push(d);
            }
        }
        out
    }

    /// A window of a CVE whose start of exploitation the table dates (with its source) must
    /// open on that day: the table is the one place that cites it.
    fn start_disagrees(&self, w: &crate::rules::Window) -> Option<Diagnostic> {
        let c = w.cve.as_deref()?;
        let since = self
            .cves
            .cve
            .iter()
            .find(|d| d.id == c)?
            .exploited_since
            .as_ref()?;
        let opens = crate::model::Timestamp::from_unix(w.from).date();
        (opens != since.date).then(|| {
            w.from_spot.as_ref().map(|spot| {
                spot.with(
                    Code::E035,
                    format!(
                        "the window opens on {opens}, but the CVE table dates the start of exploitation of {c} to {} (source `{}`)",
                        since.date, since.source
                    ),
                    format!(
                        "write `from = {}`: a window opens when its CVE's table entry says exploitation began, and the table names the source",
                        since.date
                    ),
                )
            })
        })?
    }
}
