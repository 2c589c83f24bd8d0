//! The profile of an appliance family, as data: the paths that identify it, the evidence
//! sources a `clean` verdict depends on, its RAM-disk locations and the records it writes when
//! it starts and stops. Each family ships one (`src/appliance/<family>/profile.toml`).

use crate::util::glob;
use anyhow::{Context, Result};
use serde::Deserialize;

/// The shape of an appliance and the evidence sources a `clean` verdict depends on.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub(crate) profile: ProfileInfo,
    pub(crate) markers: Markers,
    #[serde(rename = "source")]
    pub(crate) sources: Vec<SourceDef>,
    pub(crate) volatile: Volatile,
    pub(crate) continuity: ContinuityDef,
}

/// `[continuity]`: when a stretch without log lines is a hole, and the records an appliance
/// writes when it starts and when it stops.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContinuityDef {
    /// A stretch shorter than this is never a hole.
    pub(crate) min_hours: u64,
    /// ... and it must be longer than this many times the source's usual silence.
    pub(crate) usual_factor: u64,
    /// Regexes of boot records (one log line each).
    pub(crate) boot: Vec<String>,
    /// Regexes of shutdown records.
    pub(crate) shutdown: Vec<String>,
}

/// `[profile]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileInfo {
    pub(crate) id: String,
    pub(crate) title: String,
}

/// `[markers]`: paths whose presence identifies the appliance.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Markers {
    pub(crate) min: usize,
    pub(crate) paths: Vec<String>,
}

/// `[[source]]`: one kind of evidence.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceDef {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) required: bool,
    #[serde(default)]
    pub(crate) logs: Vec<String>,
    #[serde(default)]
    pub(crate) files: Vec<String>,
}

/// `[volatile]`: RAM-disk locations.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Volatile {
    pub(crate) paths: Vec<String>,
    /// The persistent filesystems, named when the RAM disk is missing.
    pub(crate) persistent: Vec<String>,
    pub(crate) note: String,
}

impl Profile {
    /// Parses a profile file.
    pub fn parse(name: &str, src: &str) -> Result<Profile> {
        let p: Profile = toml::from_str(src).with_context(|| format!("invalid profile {name}"))?;
        for s in &p.sources {
            for g in s.logs.iter().chain(&s.files) {
                glob::compile(g).with_context(|| format!("profile {name}: bad glob `{g}`"))?;
            }
        }
        for r in p.continuity.boot.iter().chain(&p.continuity.shutdown) {
            crate::rules::load::compile_regex(r)
                .with_context(|| format!("profile {name}: bad pattern `{r}`"))?;
        }
        Ok(p)
    }
}
