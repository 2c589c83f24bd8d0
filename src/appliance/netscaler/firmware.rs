//! Firmware facts read from the evidence, once per scan: the kernel `loader.conf` boots,
//! `/flash/.version`, the kernel images on `/flash` (their modification time is when they were
//! put there), and every saved configuration `ns.conf*` (header version, save time, text).
//! The exposure windows and the posture section both work from these.
//!
//! `identify` is the small pre-scan reading: the firmware family the rules compare with the
//! stock baseline, from three small files read with a byte cap. It never lists the evidence.

use crate::appliance::Sighting;
use crate::input::{Entry, EntryKind, Evidence};
use crate::model::EvPath;
use crate::rules::baseline::Firmware;
use crate::scan::ScanOutput;
use crate::util::version::{parse_build, split_version};
use std::io::Read;

/// One saved configuration.
#[derive(Clone, Debug)]
pub(crate) struct Save {
    /// `/flash/nsconfig/ns.conf` or `/flash/nsconfig/ns.conf.N`.
    pub(crate) file: String,
    /// Version in its header (`#NS13.0 Build 47.24`).
    pub(crate) version: Option<String>,
    /// When it was saved (`# Last modified by `save config`, <date>`, local time converted with
    /// the zone the current configuration sets), Unix seconds.
    pub(crate) saved: Option<i64>,
    /// The text, or only its header when the saves together exceed the budget (see
    /// `complete`).
    pub(crate) text: String,
    /// False when only the header was kept.
    pub(crate) complete: bool,
}

/// Everything the evidence says about firmware.
#[derive(Clone, Debug, Default)]
pub(crate) struct Facts {
    /// Version `loader.conf` boots (`13.0-47.24`).
    pub(crate) loader: Option<String>,
    /// Content of `/flash/.version`.
    pub(crate) dot_version: Option<String>,
    /// Kernel images on `/flash`: version and modification time.
    pub(crate) kernels: Vec<(String, i64)>,
    /// Upgrade packages and their unpacked folders in `/var/nsinstall`: version, modification
    /// time and path.
    pub(crate) packages: Vec<(String, i64, String)>,
    /// Saved configurations, newest first.
    pub(crate) saves: Vec<Save>,
    /// `/flash/nsconfig/rc.netscaler` (at most 1 MiB), where the CTX267679 mitigation puts a
    /// line.
    pub(crate) rc_netscaler: Option<String>,
}

/// Most bytes of the current configuration kept.
const MAX_CURRENT_CONFIG: u64 = 16 << 20;
/// Most bytes kept of all older saves together; past it only their headers are read.
const MAX_OLDER_CONFIGS: u64 = 64 << 20;
/// Bytes read for the header (version and save date) of a save.
const HEADER_BYTES: u64 = 4096;

/// `kernel="/ns-13.0-47.24"` (or `/ns-13.0-47.24.gz`) in a loader.conf → `13.0-47.24`.
pub(crate) fn parse_loader(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("kernel=")?;
        let v = v.trim_matches(|c| c == '"' || c == '/' || c == ' ');
        Some(v.strip_prefix("ns-")?.trim_end_matches(".gz").to_owned())
    })
}

/// `/var/nsinstall/build-13.0-47.24_nc_64.tgz` or the folder it was unpacked into
/// (`/var/nsinstall/13.0-47.24_nc_64`, `/var/nsinstall/build-13.1-49.15_nc_64`) → `13.0-47.24`.
/// Only entries directly in `/var/nsinstall`.
pub(crate) fn package_version(path: &str) -> Option<String> {
    let name = path.strip_prefix("/var/nsinstall/")?;
    if name.contains('/') {
        return None;
    }
    let v = name.strip_prefix("build-").unwrap_or(name);
    let (v, _) = v.split_once("_nc")?;
    split_version(v).map(|_| v.to_owned())
}

/// `#NS13.0 Build 47.24` (the first line of a saved configuration) → `13.0-47.24`.
pub(crate) fn parse_header(line: &str) -> Option<String> {
    let (b, n) = line.strip_prefix("#NS")?.split_once(" Build ")?;
    Some(format!("{}-{}", b.trim(), n.trim()))
}

/// `NetScaler 13.0 build 47` (`/flash/.version`) → branch `13.0`.
fn parse_dot_version(text: &str) -> Option<(u32, u32)> {
    let rest = text.trim().strip_prefix("NetScaler ")?;
    parse_build(rest.split_whitespace().next()?)
}

/// Most bytes read from each file [`identify`] looks at.
const IDENTIFY_BYTES: u64 = 16 * 1024;

/// Reads the first bytes of a small file by path, links resolved inside the evidence, without
/// listing it. `None` when it is missing, not a regular file or unreadable.
fn read_head(ev: &dyn Evidence, rel: &str, max: u64) -> Option<String> {
    let path = ev.resolve(&EvPath::new(rel.as_bytes().to_vec()))?;
    let entry = Entry {
        path,
        kind: EntryKind::File,
        size: 0,
        mode: 0,
        uid: 0,
        gid: 0,
        mtime: 0,
        btime: None,
        atime: None,
        ctime: None,
        link_target: None,
        identity: None,
    };
    let mut buf = Vec::new();
    ev.open(&entry).ok()?.take(max).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The firmware the appliance runs, before the scan: what `/flash/boot/loader.conf` boots, else
/// the header of `/flash/nsconfig/ns.conf` (which can be stale after an upgrade), else the
/// branch in `/flash/.version`. Reads at most 16 KiB of each. `None` when none of them says.
pub(crate) fn identify(ev: &dyn Evidence) -> Option<Firmware> {
    let full = |rel: &str, v: Option<String>| {
        let (b, n) = split_version(&v?)?;
        Some(Firmware {
            branch: Some(b),
            build: Some(n),
            source: format!("/{rel}"),
        })
    };
    let loader = "flash/boot/loader.conf";
    let conf = "flash/nsconfig/ns.conf";
    let dot = "flash/.version";
    full(
        loader,
        read_head(ev, loader, IDENTIFY_BYTES).and_then(|t| parse_loader(&t)),
    )
    .or_else(|| {
        let t = read_head(ev, conf, IDENTIFY_BYTES)?;
        full(conf, parse_header(t.lines().next()?))
    })
    .or_else(|| {
        let branch = parse_dot_version(&read_head(ev, dot, IDENTIFY_BYTES)?)?;
        Some(Firmware {
            branch: Some(branch),
            build: None,
            source: format!("/{dot}"),
        })
    })
}

/// Reads at most `max` bytes of a small evidence file (links resolved inside the evidence).
pub(crate) fn read_small(
    ev: &dyn Evidence,
    out: &ScanOutput,
    rel: &str,
    max: u64,
) -> Option<String> {
    let p = EvPath::new(rel.as_bytes().to_vec());
    let p = ev.resolve(&p).unwrap_or(p);
    let entries = &out.listing.entries;
    let e = entries
        .binary_search_by(|e| e.path.cmp(&p))
        .ok()
        .map(|i| &entries[i])
        .filter(|e| e.kind == EntryKind::File)?;
    let mut buf = Vec::new();
    ev.open(e).ok()?.take(max).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

impl Facts {
    /// Reads the facts from the evidence.
    pub(crate) fn read(ev: &dyn Evidence, out: &ScanOutput) -> Facts {
        let loader =
            read_small(ev, out, "flash/boot/loader.conf", 16 * 1024).and_then(|t| parse_loader(&t));
        let dot_version = read_small(ev, out, "flash/.version", 4096).map(|t| t.trim().to_owned());
        let mut kernels = Vec::new();
        let mut packages = Vec::new();
        let mut saves = Vec::new();
        let mut older_budget = MAX_OLDER_CONFIGS;
        for e in out.listing.entries.iter() {
            let name = String::from_utf8_lossy(e.path.as_bytes()).into_owned();
            if let Some(v) = name
                .strip_prefix("/flash/ns-")
                .and_then(|v| v.strip_suffix(".gz"))
            {
                kernels.push((v.to_owned(), e.mtime));
            }
            if let Some(v) = package_version(&name) {
                packages.push((v, e.mtime, name.clone()));
            }
            let Some(rest) = name.strip_prefix("/flash/nsconfig/ns.conf") else {
                continue;
            };
            let numbered = rest
                .strip_prefix('.')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if e.kind != EntryKind::File || !(rest.is_empty() || numbered) {
                continue;
            }
            // The current save whole; older ones while the budget lasts, then headers only.
            let want = if rest.is_empty() {
                MAX_CURRENT_CONFIG
            } else {
                e.size.min(older_budget).max(HEADER_BYTES)
            };
            let Some(text) = read_small(ev, out, &name[1..], want) else {
                continue;
            };
            let complete = (text.len() as u64) >= e.size || e.size <= want;
            if !rest.is_empty() {
                older_budget = older_budget.saturating_sub(text.len() as u64);
            }
            let mut lines = text.lines();
            let version = lines.next().and_then(parse_header);
            let saved = lines
                .next()
                .and_then(|l| l.split_once("save config`,").map(|x| x.1.trim().to_owned()))
                .and_then(|d| {
                    chrono::NaiveDateTime::parse_from_str(&d, "%a %b %e %H:%M:%S %Y").ok()
                })
                .map(|t| t.and_utc().timestamp());
            saves.push(Save {
                file: name,
                version,
                saved,
                text,
                complete,
            });
        }
        // `save config` writes its date in the appliance's local time.
        let zone = saves
            .iter()
            .find(|s| s.file == "/flash/nsconfig/ns.conf")
            .map(|s| super::zone::rule_of_config(&s.text))
            .unwrap_or_default();
        for s in &mut saves {
            s.saved = s.saved.map(|t| zone.to_utc(t));
        }
        saves.sort_by_key(|s| (s.saved.is_none(), std::cmp::Reverse(s.saved)));
        Facts {
            loader,
            dot_version,
            kernels,
            packages,
            saves,
            rc_netscaler: read_small(ev, out, "flash/nsconfig/rc.netscaler", 1 << 20),
        }
    }

    /// The current `/flash/nsconfig/ns.conf`.
    pub(crate) fn current(&self) -> Option<&Save> {
        self.saves
            .iter()
            .find(|s| s.file == "/flash/nsconfig/ns.conf")
    }

    /// The running firmware: what `loader.conf` boots, else the current configuration's header.
    pub(crate) fn version(&self) -> Option<String> {
        self.loader
            .clone()
            .or_else(|| self.current().and_then(|c| c.version.clone()))
    }

    /// Dated sightings of builds (kernel images and configuration saves), oldest first.
    pub(crate) fn sightings(&self) -> Vec<Sighting> {
        let mut seen: Vec<Sighting> = Vec::new();
        for (v, t) in &self.kernels {
            if let Some((b, n)) = split_version(v) {
                seen.push(Sighting {
                    branch: b,
                    build: n,
                    at: *t,
                    what: format!("kernel image /flash/ns-{v}.gz"),
                });
            }
        }
        for (v, t, path) in &self.packages {
            if let Some((b, n)) = split_version(v) {
                seen.push(Sighting {
                    branch: b,
                    build: n,
                    at: *t,
                    what: format!("upgrade package {path}"),
                });
            }
        }
        for s in &self.saves {
            if let (Some((b, n)), Some(t)) = (s.version.as_deref().and_then(split_version), s.saved)
            {
                seen.push(Sighting {
                    branch: b,
                    build: n,
                    at: t,
                    what: format!("configuration {} saved", s.file),
                });
            }
        }
        seen.sort_by_key(|x| x.at);
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::package_version;

    #[test]
    fn upgrade_packages_name_their_build() {
        for (path, v) in [
            (
                "/var/nsinstall/build-13.0-47.24_nc_64.tgz",
                Some("13.0-47.24"),
            ),
            ("/var/nsinstall/13.0-47.24_nc_64", Some("13.0-47.24")),
            ("/var/nsinstall/build-13.1-49.15_nc_64", Some("13.1-49.15")),
            ("/var/nsinstall/10.5-70.12_nc", Some("10.5-70.12")),
            // Inside an unpacked folder, or not a build: not a sighting.
            ("/var/nsinstall/13.0-47.24_nc_64/installns", None),
            ("/var/nsinstall/notes_nc.txt", None),
            ("/var/tmp/build-13.0-47.24_nc_64.tgz", None),
        ] {
            assert_eq!(package_version(path).as_deref(), v, "{path}");
        }
    }
}
