//! What sporen knows about the appliance family it examines, loaded once: the profile (what the
//! filesystem looks like, which evidence a clean verdict needs) and the CVE table (affected
//! branches and first fixed builds, the one place that holds them).
//!
//! Rule packs refer to both (a window's evidence sources and CVE); [`Appliance::check_rules`]
//! reports every reference that does not resolve, located, before anything is scanned.

use crate::posture::CveTable;
use crate::rules::{Code, Diagnostic, RuleSet};
use crate::verdict::Profile;
use anyhow::Result;

/// The embedded knowledge of one appliance family.
#[derive(Clone, Debug)]
pub struct Appliance {
    pub profile: Profile,
    pub cves: CveTable,
}

impl Appliance {
    /// The NetScaler knowledge compiled into the binary.
    pub fn embedded() -> Result<Appliance> {
        Ok(Appliance {
            profile: Profile::embedded()?,
            cves: CveTable::embedded()?,
        })
    }

    /// Every window reference of `rules` that the profile or the CVE table does not know.
    pub fn check_rules(&self, rules: &RuleSet) -> Vec<Diagnostic> {
        let sources: Vec<&str> = self.profile.sources.iter().map(|s| s.id.as_str()).collect();
        let cves: Vec<&str> = self.cves.cve.iter().map(|c| c.id.as_str()).collect();
        let mut out = Vec::new();
        for w in rules.packs.iter().filter_map(|p| p.window.as_ref()) {
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
        }
        out
    }
}
