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
    pub profile: ProfileInfo,
    pub markers: Markers,
    #[serde(rename = "source")]
    pub sources: Vec<SourceDef>,
    pub volatile: Volatile,
    pub continuity: ContinuityDef,
}

/// `[continuity]`: when a stretch without log lines is a hole, and the records an appliance
/// writes when it starts and when it stops.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinuityDef {
    /// A stretch shorter than this is never a hole.
    pub min_hours: u64,
    /// ... and it must be longer than this many times the source's usual silence.
    pub usual_factor: u64,
    /// Regexes of boot records (one log line each).
    pub boot: Vec<String>,
    /// Regexes of shutdown records.
    pub shutdown: Vec<String>,
}

/// `[profile]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInfo {
    pub id: String,
    pub title: String,
}

/// `[markers]`: paths whose presence identifies the appliance.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Markers {
    pub min: usize,
    pub paths: Vec<String>,
}

/// `[[source]]`: one kind of evidence.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    pub id: String,
    pub title: String,
    pub required: bool,
    #[serde(default)]
    pub logs: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
}

/// `[volatile]`: RAM-disk locations.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volatile {
    pub paths: Vec<String>,
    /// The persistent filesystems, named when the RAM disk is missing.
    pub persistent: Vec<String>,
    pub note: String,
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
