//! Log continuity: whether the logs the appliance profile knows went on without holes, and when
//! the appliance was off. Works from what the scan measured (each log's first and last dated
//! line and its longest silences, see [`crate::scan::sketch`]); never reads the evidence and
//! never decides the verdict.
//!
//! * A **family** is one log and its rotations (`httpaccess.log`, `.0.gz`, `.1.gz`, ...); a
//!   rotation number missing between two present ones is a missing rotation.
//! * A **source** is a profile evidence source (the access log is `httpaccess.log` and
//!   `httpaccess-vpn.log`): its silences are the stretches in which none of its logs wrote.
//! * **Downtime** is a silence every log shares, ended by a boot record (`downtime`).
//! * A silence of a source is a **hole** when it is longer than the profile allows for that
//!   source (`[continuity]`), after downtime is taken out; a missing rotation always is.
//! * Timeline rules (`[rule.timeline]`) judge each log they name the same way against its own
//!   usual silence, and report a hole other logs do not share as a finding (`rules`).

mod downtime;
mod rules;
mod sources;
pub mod track;

use crate::appliance::profile::Profile;
use crate::model::{Downtime, EvPath, Finding, TimeGapKind, Timestamp};
use crate::rules::RuleSet;
use crate::scan::{FileRead, LogShape, Mark, ScanOutput};
use crate::util::glob;
use std::collections::BTreeMap;
use track::Track;

pub use sources::{SourceHole, SourceTime};

/// Shortest silence kept apart as a stretch of a log (seconds).
const MIN_DOWNTIME: i64 = 15 * 60;
/// A shared silence shorter than this (seconds) is a reboot, not the appliance being off.
const MIN_OFF: i64 = 3600;
/// Seconds a boot record may follow the end of a shared silence.
const BOOT_SLACK: i64 = 10 * 60;
/// Seconds a shutdown record may precede the start of a shared silence.
const SHUTDOWN_SLACK: i64 = 15 * 60;
/// Silences of a source longer than this are listed even when they are no hole.
const LIST_QUIET: i64 = 86_400;

/// What continuity found.
#[derive(Clone, Debug, Default)]
pub struct Continuity {
    /// When the appliance was off, oldest first.
    pub(crate) downtime: Vec<Downtime>,
    /// Per profile source, in profile order.
    pub(crate) sources: Vec<SourceTime>,
    /// Findings of timeline rules, unsorted.
    pub(crate) findings: Vec<Finding>,
}

/// One dated log file of a profile source.
#[derive(Debug)]
struct LogFile<'a> {
    read: &'a FileRead,
    shape: &'a LogShape,
    /// The log it is a rotation of (`var/log/httpaccess.log`).
    family: Vec<u8>,
    /// Rotation number; `None` for the current file.
    rotation: Option<u32>,
    /// Index of its profile source.
    source: usize,
    from: i64,
    to: i64,
    track: Track,
}

impl<'a> LogFile<'a> {
    /// The lines that end activity (the last line, and each line before a silence), or start it
    /// (the first line, each line after a silence), sorted by time.
    fn marks(&self, ending: bool) -> Vec<(i64, &'a Mark)> {
        let shape: &'a LogShape = self.shape;
        let mut v: Vec<(i64, &'a Mark)> = if ending {
            shape
                .last
                .iter()
                .chain(shape.silences.iter().map(|s| &s.before))
                .map(|m| (m.time, m))
                .collect()
        } else {
            shape
                .first
                .iter()
                .chain(shape.silences.iter().map(|s| &s.after))
                .map(|m| (m.time, m))
                .collect()
        };
        v.sort_by_key(|(t, m)| (*t, m.line));
        v
    }
}

/// Every line of every log file that ends or starts activity, sorted by time, with the file it
/// is in: each look-up is a binary search, whatever the logs hold.
struct Index<'f, 'a> {
    ends: Vec<(i64, &'f LogFile<'a>, &'a Mark)>,
    starts: Vec<(i64, &'f LogFile<'a>, &'a Mark)>,
}

impl<'f, 'a> Index<'f, 'a> {
    fn new(files: &'f [LogFile<'a>]) -> Index<'f, 'a> {
        let all = |ending: bool| {
            let mut v: Vec<(i64, &'f LogFile<'a>, &'a Mark)> = files
                .iter()
                .flat_map(|f| f.marks(ending).into_iter().map(move |(t, m)| (t, f, m)))
                .collect();
            v.sort_by(|x, y| (x.0, &x.1.read.path, x.2.line).cmp(&(y.0, &y.1.read.path, y.2.line)));
            v
        };
        Index {
            ends: all(true),
            starts: all(false),
        }
    }

    /// The marks of `list` from `lo` to `hi` (inclusive).
    fn within<'l>(
        list: &'l [(i64, &'f LogFile<'a>, &'a Mark)],
        lo: i64,
        hi: i64,
    ) -> &'l [(i64, &'f LogFile<'a>, &'a Mark)] {
        let a = list.partition_point(|x| x.0 < lo);
        let b = list.partition_point(|x| x.0 <= hi);
        &list[a..b.max(a)]
    }

    /// The first line of one of `files` that ends activity at `t`.
    fn ending_at(&self, t: i64, files: &[&LogFile<'a>]) -> Option<(&'f LogFile<'a>, &'a Mark)> {
        Self::within(&self.ends, t, t)
            .iter()
            .find(|x| files.iter().any(|f| std::ptr::eq(*f, x.1)))
            .map(|x| (x.1, x.2))
    }

    /// The first line of one of `files` that starts activity at `t`.
    fn starting_at(&self, t: i64, files: &[&LogFile<'a>]) -> Option<(&'f LogFile<'a>, &'a Mark)> {
        Self::within(&self.starts, t, t)
            .iter()
            .find(|x| files.iter().any(|f| std::ptr::eq(*f, x.1)))
            .map(|x| (x.1, x.2))
    }
}

/// "7 d 14 h 56 min", "8 h 1 min", "45 min".
pub(crate) fn duration(secs: i64) -> String {
    let m = secs.max(0) / 60;
    let (d, h, m) = (m / 1440, m / 60 % 24, m % 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h {m} min"),
    }
}

/// `2020-01-12 10:32`: how reasons write a time (UTC), of Unix seconds.
pub(crate) fn minute(t: i64) -> String {
    Timestamp::from_unix(t).minute()
}

/// The rotation number of a log file (`bash.log.3.gz` → 3), `None` for the current file.
fn rotation(rel: &[u8], family: &[u8]) -> Option<u32> {
    let rest = rel.get(family.len()..)?.strip_prefix(b".")?;
    let rest = rest.strip_suffix(b".gz").unwrap_or(rest);
    std::str::from_utf8(rest).ok()?.parse().ok()
}

/// The log globs of each profile source, compiled once (`None` for sources without logs).
fn source_globs(profile: &Profile) -> Vec<Option<globset::GlobSet>> {
    profile
        .sources
        .iter()
        .map(|s| glob::set(&s.logs).ok().filter(|_| !s.logs.is_empty()))
        .collect()
}

/// The profile source whose logs include the log `family`.
fn source_of(sets: &[Option<globset::GlobSet>], family: &[u8]) -> Option<usize> {
    sets.iter().position(|s| {
        s.as_ref()
            .is_some_and(|g| g.is_match(glob::as_path(family)))
    })
}

/// The dated files of every profile source's logs, sorted by path.
fn log_files<'a>(profile: &Profile, out: &'a ScanOutput) -> Vec<LogFile<'a>> {
    let sets = source_globs(profile);
    let mut files = Vec::new();
    for read in &out.reads {
        let Some(shape) = &read.shape else { continue };
        let (Some(first), Some(last)) = (&shape.first, &shape.last) else {
            continue;
        };
        let rel = read.path.relative();
        let family = glob::log_family(rel);
        let Some(source) = source_of(&sets, family) else {
            continue;
        };
        let silences: Vec<(i64, i64)> = shape
            .silences
            .iter()
            .map(|s| (s.before.time, s.after.time))
            .collect();
        files.push(LogFile {
            read,
            shape,
            family: family.to_vec(),
            rotation: rotation(rel, family),
            source,
            from: first.time,
            to: last.time,
            track: Track::file(first.time, last.time, &silences, shape.floor),
        });
    }
    files
}

/// Rotations of one log that are not in the evidence though older and newer ones are: the
/// missing numbers and the times of the nearest dated neighbours.
#[derive(Clone, Debug)]
pub(crate) struct MissingRotations {
    pub(crate) family: Vec<u8>,
    pub(crate) paths: Vec<EvPath>,
    /// Last line of the nearest older dated rotation, first line of the nearest newer one.
    pub(crate) from: Option<i64>,
    pub(crate) to: Option<i64>,
    pub(crate) source: usize,
}

/// Missing rotation numbers of every family, from the names in the listing (a rotation that
/// is present but holds no dated line is not missing).
fn missing_rotations(
    profile: &Profile,
    out: &ScanOutput,
    files: &[LogFile<'_>],
) -> Vec<MissingRotations> {
    let sets = source_globs(profile);
    let mut numbers: BTreeMap<(usize, Vec<u8>), (Vec<u32>, bool)> = BTreeMap::new();
    for e in out.listing.entries.iter() {
        let rel = e.path.relative();
        let family = glob::log_family(rel);
        let Some(source) = source_of(&sets, family) else {
            continue;
        };
        let entry = numbers.entry((source, family.to_vec())).or_default();
        match rotation(rel, family) {
            Some(n) => entry.0.push(n),
            None => entry.1 = true,
        }
        entry.0.sort_unstable();
    }
    let mut out_list = Vec::new();
    for ((source, family), (present, current)) in numbers {
        let Some(&max) = present.last() else { continue };
        if !current {
            out_list.push(missing_current(&family, source, files));
        }
        let gz = files
            .iter()
            .any(|f| f.family == family && f.read.path.as_bytes().ends_with(b".gz"));
        let mut run: Vec<u32> = Vec::new();
        for n in 0..=max {
            if !present.contains(&n) {
                run.push(n);
                continue;
            }
            if !run.is_empty() {
                out_list.push(missing_run(&family, source, &run, gz, files));
                run.clear();
            }
        }
    }
    out_list
}

/// The current file of a log whose rotations are there: missing from the newest rotation's
/// last line on.
fn missing_current(family: &[u8], source: usize, files: &[LogFile<'_>]) -> MissingRotations {
    let from = files
        .iter()
        .filter(|f| f.family == family)
        .min_by_key(|f| f.rotation)
        .map(|f| f.to);
    MissingRotations {
        family: family.to_vec(),
        paths: vec![EvPath::new(family.to_vec())],
        from,
        to: None,
        source,
    }
}

/// One run of consecutive missing numbers, dated by the nearest dated neighbours.
fn missing_run(
    family: &[u8],
    source: usize,
    run: &[u32],
    gz: bool,
    files: &[LogFile<'_>],
) -> MissingRotations {
    let (lo, hi) = (run[0], run[run.len() - 1]);
    let same = || files.iter().filter(|f| f.family == family);
    // Older rotations have higher numbers; the current file is the newest.
    let from = same()
        .filter(|f| f.rotation.is_some_and(|n| n > hi))
        .min_by_key(|f| f.rotation)
        .map(|f| f.to);
    let to = same()
        .filter(|f| f.rotation.is_none_or(|n| n < lo))
        .max_by_key(|f| f.rotation.map_or(-1, i64::from))
        .map(|f| f.from);
    let paths = run
        .iter()
        .map(|n| {
            let mut p = family.to_vec();
            p.extend_from_slice(format!(".{n}{}", if gz { ".gz" } else { "" }).as_bytes());
            EvPath::new(p)
        })
        .collect();
    MissingRotations {
        family: family.to_vec(),
        paths,
        from,
        to,
        source,
    }
}

/// The logs of one family, with where they wrote lines.
struct Family<'f, 'a> {
    name: Vec<u8>,
    source: usize,
    files: Vec<&'f LogFile<'a>>,
    track: Track,
}

fn families<'f, 'a>(files: &'f [LogFile<'a>]) -> Vec<Family<'f, 'a>> {
    let mut by: BTreeMap<&[u8], Vec<&LogFile<'_>>> = BTreeMap::new();
    for f in files {
        by.entry(&f.family).or_default().push(f);
    }
    by.into_iter()
        .map(|(name, mut files)| {
            files.sort_by_key(|f| (f.from, f.to));
            let track = Track::union(files.iter().map(|f| &f.track));
            Family {
                name: name.to_vec(),
                source: files[0].source,
                files,
                track,
            }
        })
        .collect()
}

/// A silence of a family or a source: where it lies and the lines around it.
#[derive(Clone, Debug)]
struct Stretch<'f> {
    from: i64,
    to: i64,
    kind: TimeGapKind,
    before: Option<(&'f LogFile<'f>, &'f Mark)>,
    after: Option<(&'f LogFile<'f>, &'f Mark)>,
}

/// The silences of logs made of `files` with activity `track`, and the stretch after their
/// last line up to `end` (the newest line of any log), each with the lines around it.
fn stretches<'f>(
    files: &[&'f LogFile<'f>],
    track: &Track,
    end: i64,
    index: &Index<'f, 'f>,
) -> Vec<Stretch<'f>> {
    let find_end = |t: i64| index.ending_at(t, files);
    let find_start = |t: i64| index.starting_at(t, files);
    let mut out: Vec<Stretch<'f>> = track
        .silences()
        .into_iter()
        .map(|(a, b)| {
            let before = find_end(a);
            let after = find_start(b);
            let same_file =
                matches!((before, after), (Some((x, _)), Some((y, _))) if std::ptr::eq(x, y));
            Stretch {
                from: a,
                to: b,
                kind: if same_file {
                    TimeGapKind::InsideFile
                } else {
                    TimeGapKind::BetweenFiles
                },
                before,
                after,
            }
        })
        .collect();
    if let Some((_, last)) = track.span()
        && end - last >= MIN_DOWNTIME
    {
        out.push(Stretch {
            from: last,
            to: end,
            kind: TimeGapKind::AfterLastLine,
            before: find_end(last),
            after: None,
        });
    }
    out
}

/// Judges the continuity of the logs the scan read.
pub fn assess(profile: &Profile, out: &ScanOutput, rules: &RuleSet) -> Continuity {
    let files = log_files(profile, out);
    let missing = missing_rotations(profile, out, &files);
    let fams = families(&files);
    let global = Track::union(files.iter().map(|f| &f.track));
    let Some((_, end)) = global.span() else {
        return Continuity {
            sources: sources::empty(profile, &missing),
            ..Continuity::default()
        };
    };
    let index = Index::new(&files);
    let found = downtime::detect(&profile.continuity, &index, &global, &out.listing);
    let off: Vec<(i64, i64)> = found.periods.clone();
    let shared = found.shared.clone();
    let ctx = sources::Ctx {
        def: &profile.continuity,
        end,
        off: &off,
        shared: &shared,
        index: &index,
    };
    let source_times = profile
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| sources::judge(&ctx, i, &s.id, &fams, &missing))
        .collect();
    let findings = rules::findings(rules, out, &fams, &ctx);
    Continuity {
        downtime: found.downtime,
        sources: source_times,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_numbers() {
        assert_eq!(
            rotation(b"var/log/bash.log.3.gz", b"var/log/bash.log"),
            Some(3)
        );
        assert_eq!(
            rotation(b"var/log/httpaccess.log.12", b"var/log/httpaccess.log"),
            Some(12)
        );
        assert_eq!(rotation(b"var/log/cron", b"var/log/cron"), None);
        assert_eq!(rotation(b"var/log/ns.log.gz", b"var/log/ns.log"), None);
    }
}
