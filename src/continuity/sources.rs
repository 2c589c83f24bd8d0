//! The silences of each profile evidence source: the stretches in which none of its logs wrote
//! a line, cut where the appliance was off, judged against how long the source usually goes
//! without a line, plus its missing rotations. What is a hole here keeps an exposure window
//! that contains it from `clean` (decided in [`crate::verdict`]).

use super::track::{Track, usual_silence};
use super::{Family, LIST_QUIET, LogFile, MIN_DOWNTIME, MissingRotations, Stretch, duration};
use crate::appliance::profile::ContinuityDef;
use crate::model::{EvPath, SilenceLimit, TimeGap, TimeGapKind, TimeGapStatus, Timestamp};

/// What the judging of every source shares.
pub(super) struct Ctx<'c> {
    /// Where each log's activity starts and ends.
    pub(crate) index: &'c super::Index<'c, 'c>,
    pub(crate) def: &'c ContinuityDef,
    /// Newest dated line of any log.
    pub(crate) end: i64,
    /// When the appliance was off, oldest first.
    pub(crate) off: &'c [(i64, i64)],
    /// Silences every log shares that no boot record ends.
    pub(crate) shared: &'c [(i64, i64)],
}

/// A hole of one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceHole {
    pub(crate) from: Option<i64>,
    pub(crate) to: Option<i64>,
    pub(crate) kind: TimeGapKind,
    /// The missing rotations, or the file holding the last line before the hole.
    pub(crate) paths: Vec<EvPath>,
    /// Why it is a hole, without its dates.
    pub(crate) detail: String,
}

/// The time facts of one evidence source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceTime {
    pub(crate) id: String,
    /// Usual silence and hole threshold of each of its logs.
    pub(crate) limits: Vec<SilenceLimit>,
    /// Holes, downtime and silences longer than a day, oldest first.
    pub(crate) gaps: Vec<TimeGap>,
    pub(crate) holes: Vec<SourceHole>,
}

/// Sources when no log holds a dated line: only missing rotations can be said.
pub(super) fn empty(
    profile: &crate::appliance::profile::Profile,
    missing: &[MissingRotations],
) -> Vec<SourceTime> {
    profile
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut st = SourceTime {
                id: s.id.clone(),
                ..SourceTime::default()
            };
            add_missing(&mut st, i, missing);
            st
        })
        .collect()
}

/// The pieces of `[a, b]` inside and outside the periods `off`, in order.
fn split(a: i64, b: i64, off: &[(i64, i64)]) -> Vec<(i64, i64, bool)> {
    let mut out = Vec::new();
    let mut at = a;
    for &(x, y) in off {
        if y <= at || x >= b {
            continue;
        }
        if x > at {
            out.push((at, x, false));
        }
        out.push((at.max(x), y.min(b), true));
        at = y.min(b);
    }
    if b > at {
        out.push((at, b, false));
    }
    out.retain(|(x, y, _)| y - x >= MIN_DOWNTIME);
    out
}

/// The usual silence and the hole threshold of logs with activity `track` and silences
/// `stretches`; time the appliance was off counts for neither.
pub(super) fn threshold(
    track: &Track,
    stretches: &[Stretch<'_>],
    ctx: &Ctx<'_>,
    min_hours: u64,
    factor: u64,
) -> (i64, i64) {
    let quiet: Vec<(i64, i64)> = stretches
        .iter()
        .flat_map(|s| split(s.from, s.to, ctx.off))
        .filter(|p| !p.2)
        .map(|(a, b, _)| (a, b))
        .collect();
    let start = track.span().map_or(ctx.end, |s| s.0);
    let off: i64 = ctx
        .off
        .iter()
        .map(|&(x, y)| (y.min(ctx.end) - x.max(start)).max(0))
        .sum();
    let total = (ctx.end - start - off).max(0);
    let usual = usual_silence(&quiet, total, track.floor.max(MIN_DOWNTIME));
    let min = i64::try_from(min_hours.saturating_mul(3600)).unwrap_or(i64::MAX);
    let by_usual = usual.saturating_mul(i64::try_from(factor).unwrap_or(i64::MAX));
    (usual, min.max(by_usual))
}

/// Each log's usual silence and hole threshold under the profile's `[continuity]`.
struct Limits<'l> {
    /// (log, first line, last line, usual silence, threshold)
    logs: Vec<(&'l [u8], i64, i64, i64, i64)>,
}

impl<'l> Limits<'l> {
    fn of(ctx: &Ctx<'_>, mine: &[&'l Family<'_, '_>]) -> Limits<'l> {
        let logs = mine
            .iter()
            .filter_map(|f| {
                let (a, b) = f.track.span()?;
                let st = super::stretches(&f.files, &f.track, ctx.end, ctx.index);
                let (usual, limit) =
                    threshold(&f.track, &st, ctx, ctx.def.min_hours, ctx.def.usual_factor);
                Some((f.name.as_slice(), a, b, usual, limit))
            })
            .collect();
        Limits { logs }
    }

    /// The strictest threshold among the logs that were writing when a silence began at `at`
    /// (each is judged against its own habits; a log that had not started does not count).
    fn at(&self, at: i64) -> Option<(&'l [u8], i64, i64)> {
        self.logs
            .iter()
            .filter(|l| l.1 <= at && l.2 >= at)
            .min_by_key(|l| (l.4, l.0))
            .or_else(|| self.logs.iter().min_by_key(|l| (l.4, l.0)))
            .map(|l| (l.0, l.3, l.4))
    }
}

/// Judges one source.
pub(super) fn judge(
    ctx: &Ctx<'_>,
    index: usize,
    id: &str,
    fams: &[Family<'_, '_>],
    missing: &[MissingRotations],
) -> SourceTime {
    let mut st = SourceTime {
        id: id.to_owned(),
        ..SourceTime::default()
    };
    let mine: Vec<&Family<'_, '_>> = fams.iter().filter(|f| f.source == index).collect();
    let files: Vec<&LogFile<'_>> = mine.iter().flat_map(|f| f.files.iter().copied()).collect();
    let track = Track::union(mine.iter().map(|f| &f.track));
    let limits = Limits::of(ctx, &mine);
    st.limits = limits
        .logs
        .iter()
        .map(|l| SilenceLimit {
            log: EvPath::new(l.0.to_vec()),
            usual_silence_seconds: l.3,
            hole_after_seconds: l.4,
        })
        .collect();
    if let Some((_, usual, limit)) = track.span().and_then(|_| limits.at(i64::MIN)) {
        let stretches = super::stretches(&files, &track, ctx.end, ctx.index);
        let runs: Vec<&MissingRotations> = missing.iter().filter(|m| m.source == index).collect();
        for s in &stretches {
            // A stretch that is exactly a missing rotation's is listed as that.
            if runs
                .iter()
                .any(|m| m.from.is_some_and(|f| f >= s.from) && m.to.is_some_and(|t| t <= s.to))
            {
                continue;
            }
            let by = limits.at(s.from).unwrap_or((b"", usual, limit));
            for (a, b, off) in split(s.from, s.to, ctx.off) {
                judge_piece(&mut st, ctx, s, (a, b, off), by);
            }
        }
    }
    add_missing(&mut st, index, missing);
    st.gaps
        .sort_by(|x, y| (&x.from, &x.to, x.kind).cmp(&(&y.from, &y.to, y.kind)));
    st.holes.sort_by_key(|h| (h.from, h.to, h.kind));
    st
}

/// One piece of a silence: a hole, the appliance being off, or quiet.
fn judge_piece(
    st: &mut SourceTime,
    ctx: &Ctx<'_>,
    s: &Stretch<'_>,
    (a, b, off): (i64, i64, bool),
    (log, usual, limit): (&[u8], i64, i64),
) {
    let len = b - a;
    let status = if off {
        TimeGapStatus::ApplianceOff
    } else if len >= limit {
        TimeGapStatus::Hole
    } else {
        TimeGapStatus::Quiet
    };
    if status == TimeGapStatus::Quiet && len <= LIST_QUIET {
        return;
    }
    let mut paths: Vec<EvPath> = [s.before, s.after]
        .into_iter()
        .flatten()
        .map(|(f, _)| f.read.path.clone())
        .collect();
    paths.dedup();
    let detail = match status {
        TimeGapStatus::ApplianceOff => "the appliance was off (see coverage.downtime)".to_owned(),
        TimeGapStatus::Quiet => format!(
            "no line for {}, within what {} usually goes without one (silences of {} or more fill half of its time)",
            duration(len),
            name(log),
            duration(usual)
        ),
        TimeGapStatus::Hole => hole_words(ctx, s.kind, (a, b), (log, usual, limit)),
    };
    if status == TimeGapStatus::Hole {
        st.holes.push(SourceHole {
            from: Some(a),
            to: Some(b),
            kind: s.kind,
            paths: paths.iter().take(1).cloned().collect(),
            detail: detail.clone(),
        });
    }
    st.gaps.push(TimeGap {
        from: Some(Timestamp::from_unix(a)),
        to: Some(Timestamp::from_unix(b)),
        kind: s.kind,
        status,
        paths,
        detail,
    });
}

/// `httpaccess.log` of `var/log/httpaccess.log`.
fn name(log: &[u8]) -> String {
    let n = log.rsplit(|&c| c == b'/').next().unwrap_or(log);
    String::from_utf8_lossy(n).into_owned()
}

/// Why a silence is a hole, in words (without its dates).
fn hole_words(
    ctx: &Ctx<'_>,
    kind: TimeGapKind,
    (a, b): (i64, i64),
    (log, usual, limit): (&[u8], i64, i64),
) -> String {
    let wher = match kind {
        TimeGapKind::InsideFile => "between two neighbouring lines of one file",
        TimeGapKind::BetweenFiles => "between one file's last line and the next file's first",
        TimeGapKind::AfterLastLine => "after its last line, while other logs went on",
        TimeGapKind::MissingRotation => "where rotations are missing",
    };
    let mut w = format!(
        "no line for {} {wher}; {} usually goes at most {} without one (silences that long fill half of its time), and {} or more is a hole",
        duration(b - a),
        name(log),
        duration(usual),
        duration(limit)
    );
    let overlap = |(x, y): &(i64, i64)| (y.min(&b) - x.max(&a)).max(0);
    if let Some(sh) = ctx.shared.iter().find(|p| overlap(p) * 2 >= b - a) {
        w.push_str(&format!(
            " (every log is silent from {} to {} and no boot record follows: the appliance may have been off, or lines were removed from every log)",
            super::minute(sh.0),
            super::minute(sh.1)
        ));
    }
    w
}

/// The missing rotations of source `index`: always holes.
fn add_missing(st: &mut SourceTime, index: usize, missing: &[MissingRotations]) {
    for m in missing.iter().filter(|m| m.source == index) {
        let names: Vec<String> = m
            .paths
            .iter()
            .map(|p| String::from_utf8_lossy(p.file_name()).into_owned())
            .collect();
        let are = if names.len() == 1 { "is" } else { "are" };
        let current = m
            .paths
            .first()
            .is_some_and(|p| p.relative() == m.family.as_slice());
        let detail = match (m.from, m.to) {
            (Some(a), Some(b)) => format!(
                "{} {are} missing: no line for {} between the rotations before and after",
                join(&names),
                duration(b - a)
            ),
            (Some(_), None) if current => format!(
                "the current file {} is missing: what was logged after its newest rotation is not in the evidence",
                join(&names)
            ),
            (Some(_), None) => format!(
                "{} {are} missing: newer than the newest dated rotation",
                join(&names)
            ),
            (None, Some(_)) => format!(
                "{} {are} missing: older than the oldest dated rotation",
                join(&names)
            ),
            (None, None) => format!(
                "{} {are} missing, and no rotation of this log holds a dated line: the time {} covered cannot be placed",
                join(&names),
                if names.len() == 1 { "it" } else { "they" }
            ),
        };
        // A stretch that cannot be placed at all is listed, not held against a window.
        if m.from.is_some() || m.to.is_some() {
            st.holes.push(SourceHole {
                from: m.from,
                to: m.to,
                kind: TimeGapKind::MissingRotation,
                paths: m.paths.clone(),
                detail: detail.clone(),
            });
        }
        st.gaps.push(TimeGap {
            from: m.from.map(Timestamp::from_unix),
            to: m.to.map(Timestamp::from_unix),
            kind: TimeGapKind::MissingRotation,
            status: TimeGapStatus::Hole,
            paths: m.paths.clone(),
            detail,
        });
    }
}

/// "a, b and c".
pub(super) fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silences_are_cut_where_the_appliance_was_off() {
        let h = 3600;
        assert_eq!(
            split(0, 10 * h, &[(2 * h, 8 * h)]),
            vec![
                (0, 2 * h, false),
                (2 * h, 8 * h, true),
                (8 * h, 10 * h, false)
            ]
        );
        // Slivers shorter than a quarter of an hour are dropped.
        assert_eq!(
            split(0, 10 * h, &[(60, 10 * h - 60)]),
            vec![(60, 10 * h - 60, true)]
        );
        assert_eq!(join(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    }
}
