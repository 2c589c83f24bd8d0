//! Exposure windows: for each rule pack that declares one, whether it concerns this appliance
//! (its firmware and history, from the CVE table) and whether the logs reach back to it. The
//! examiner's overrides (`--since`, `--until`) are applied here and always recorded.
//!
//! Reads nothing from the evidence: it works from firmware facts, the time ranges the scan
//! measured and the holes and downtime [`crate::continuity`] found in them.

use crate::appliance::cves::{CveDef, CveTable, status};
use crate::appliance::{Facts, Sighting};
use crate::continuity::{Continuity, duration, minute};
use crate::model::CveStatus;
use crate::model::{Period, SourceCoverage, Timestamp, WindowCheck, WindowHole, WindowStatus};
use crate::rules::{Pack, RuleSet, Window};
use crate::util::version::{Build, split_version};
use std::collections::HashMap;

/// A date given with `--since` / `--until`: for every window, or for one window named by its
/// pack id (`cve-2019-19781`) or its CVE id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateArg {
    All(i64),
    For(String, i64),
}

/// The examiner's overrides of the windows' start and end.
#[derive(Clone, Debug, Default)]
pub struct WindowOverrides {
    pub since: Vec<DateArg>,
    pub until: Vec<DateArg>,
}

/// `2020-01-12`: how reasons write a day, of Unix seconds.
fn day(t: i64) -> String {
    Timestamp::from_unix(t).date()
}

impl WindowOverrides {
    /// Checks the overrides against the windows in force: every named window exists, no range
    /// ends before it starts. Returns every problem.
    pub fn validate(&self, rules: &RuleSet) -> Vec<String> {
        let mut problems = Vec::new();
        let windows: Vec<(&Pack, &Window)> = rules
            .packs()
            .iter()
            .filter_map(|p| Some((p, p.window.as_ref()?)))
            .collect();
        for (flag, args) in [("--since", &self.since), ("--until", &self.until)] {
            for a in args {
                if let DateArg::For(name, _) = a
                    && !windows.iter().any(|(p, w)| names(p, w, name))
                {
                    let known: Vec<&str> = windows.iter().map(|(p, _)| p.id.as_str()).collect();
                    problems.push(format!(
                        "{flag} {name}=...: no exposure window is named {name} (windows: {})",
                        known.join(", ")
                    ));
                }
            }
        }
        if let (Some(s), Some(u)) = (all(&self.since), all(&self.until))
            && u < s
        {
            problems.push(format!(
                "--until {} is before --since {}: the range is empty",
                day(u),
                day(s)
            ));
        }
        for (p, w) in &windows {
            let span = self.span(p, w);
            if let Some(u) = span.until
                && u < span.from
                && (self.named(&self.since, p, w).is_some()
                    || self.named(&self.until, p, w).is_some())
            {
                problems.push(format!(
                    "the {} would end {} before it starts {}: check --since and --until",
                    w.title,
                    day(u),
                    day(span.from)
                ));
            }
        }
        problems
    }

    fn named(&self, args: &[DateArg], p: &Pack, w: &Window) -> Option<i64> {
        args.iter().rev().find_map(|a| match a {
            DateArg::For(n, t) if names(p, w, n) => Some(*t),
            _ => None,
        })
    }

    /// The window's period after the overrides, and what the examiner moved.
    fn span(&self, p: &Pack, w: &Window) -> Span {
        let mut s = Span {
            from: w.from,
            until: None,
            moved: Vec::new(),
        };
        let original = w.from;
        // A date for all windows says nothing before it concerns the appliance: it can only
        // move a start later. A date for one window sets its start exactly.
        if let Some(t) = self.named(&self.since, p, w) {
            s.from = t;
        } else if let Some(t) = all(&self.since) {
            s.from = s.from.max(t);
        }
        if s.from != original {
            s.moved.push(format!(
                "start moved by the examiner from {} to {} (--since)",
                day(original),
                day(s.from)
            ));
        }
        let until = self.named(&self.until, p, w).or_else(|| all(&self.until));
        if let Some(t) = until {
            s.until = Some(t);
            s.moved
                .push(format!("end set by the examiner to {} (--until)", day(t)));
        }
        s
    }
}

/// The last `--since DATE` / `--until DATE` given for every window.
fn all(args: &[DateArg]) -> Option<i64> {
    args.iter().rev().find_map(|a| match a {
        DateArg::All(t) => Some(*t),
        DateArg::For(..) => None,
    })
}

/// True when `name` names the window of pack `p`: its pack id or its CVE id.
fn names(p: &Pack, w: &Window, name: &str) -> bool {
    p.id.eq_ignore_ascii_case(name)
        || w.cve
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(name))
}

/// A window's period.
struct Span {
    from: i64,
    until: Option<i64>,
    /// What the examiner changed, in words.
    moved: Vec<String>,
}

/// The running firmware: version string, branch and build, and dated sightings of builds.
struct Firmware {
    version: String,
    branch: Build,
    build: Build,
    /// Sightings, oldest first.
    history: Vec<Sighting>,
}

fn firmware(facts: &Facts) -> Option<Firmware> {
    let version = facts.version.clone()?;
    let (branch, build) = split_version(&version)?;
    Some(Firmware {
        version,
        branch,
        build,
        history: facts.history.clone(),
    })
}

/// What the firmware says about a window.
enum Relevance {
    Relevant,
    NotRelevant(String),
    /// Relevant until a fixed build was first seen then.
    Until(i64),
}

/// Whether a CVE's window concerns an appliance running `f`, judged from the CVE table and the
/// builds the appliance is known to have run.
fn relevance(f: &Firmware, def: &CveDef, from: i64) -> Relevance {
    let st = |b: Build, n: Build| status(def, b, n).0;
    match st(f.branch, f.build) {
        CveStatus::NotAffected => Relevance::NotRelevant(format!(
            "firmware {} belongs to branch {}.{}, which {} does not affect",
            f.version, f.branch.0, f.branch.1, def.id
        )),
        CveStatus::Vulnerable | CveStatus::Unknown => Relevance::Relevant,
        CveStatus::Fixed => {
            // Fixed now. Was a build that was not (known to be) fixed ever seen here?
            let exposed = |s: &&Sighting| {
                !matches!(
                    st(s.branch, s.build),
                    CveStatus::Fixed | CveStatus::NotAffected
                )
            };
            if !f.history.iter().any(|s| exposed(&s)) {
                let first = f.history.first().map_or(String::new(), |s| {
                    let (b, n) = (s.branch, s.build);
                    format!(
                        " (first: {}.{}-{}.{} on {}, {})",
                        b.0,
                        b.1,
                        n.0,
                        n.1,
                        day(s.at),
                        s.what
                    )
                });
                return Relevance::NotRelevant(format!(
                    "firmware {} is fixed and no vulnerable build left a trace on this appliance{first}",
                    f.version
                ));
            }
            // Since when? The earliest sighting of a fixed build of the branch.
            let since = f
                .history
                .iter()
                .find(|s| s.branch == f.branch && st(s.branch, s.build) == CveStatus::Fixed);
            match since {
                Some(s) if s.at <= from => Relevance::NotRelevant(format!(
                    "a fixed build ({}.{}-{}.{}) ran from {} at the latest ({}), before the window opened {}",
                    f.branch.0,
                    f.branch.1,
                    s.build.0,
                    s.build.1,
                    day(s.at),
                    s.what,
                    day(from)
                )),
                Some(s) => Relevance::Until(s.at),
                None => Relevance::Relevant,
            }
        }
    }
}

/// What the logs cover, per evidence source: its first and last dated line, its holes, and
/// when the appliance was off.
pub(super) struct SourceTimes<'a> {
    pub(crate) ranges: &'a HashMap<String, (Option<i64>, Option<i64>)>,
    pub(crate) cont: &'a Continuity,
}

/// One [`WindowCheck`] per pack that declares a window.
pub(super) fn check_windows(
    facts: &Facts,
    rules: &RuleSet,
    cves: &CveTable,
    times: &SourceTimes<'_>,
    sources: &[SourceCoverage],
    ov: &WindowOverrides,
) -> Vec<WindowCheck> {
    let fw = firmware(facts);
    let newest = times.ranges.values().filter_map(|r| r.1).max();
    rules
        .packs()
        .iter()
        .filter_map(|p| {
            let w = p.window.as_ref()?;
            let def = w
                .cve
                .as_deref()
                .and_then(|c| cves.cve.iter().find(|d| d.id == c));
            Some(check_window(
                p,
                w,
                fw.as_ref(),
                def,
                newest,
                times,
                sources,
                ov,
            ))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn check_window(
    p: &Pack,
    w: &Window,
    fw: Option<&Firmware>,
    def: Option<&CveDef>,
    newest: Option<i64>,
    times: &SourceTimes<'_>,
    sources: &[SourceCoverage],
    ov: &WindowOverrides,
) -> WindowCheck {
    let mut span = ov.span(p, w);
    let mut seen = Seen::default();
    let (status, detail) = match (newest, fw.zip(def)) {
        (_, _) if span.until.is_some_and(|u| u < span.from) => (
            WindowStatus::NotRelevant,
            format!(
                "the examiner ended the window on {}, before it opened {}",
                day(span.until.unwrap_or_default()),
                day(span.from)
            ),
        ),
        (Some(n), _) if n < span.from => (
            WindowStatus::NotRelevant,
            format!(
                "the newest dated evidence ({}) predates the window, which opened {}",
                day(n),
                day(span.from)
            ),
        ),
        (_, Some((f, def))) => match relevance(f, def, span.from) {
            Relevance::NotRelevant(why) => (WindowStatus::NotRelevant, why),
            Relevance::Until(t) => {
                span.until = Some(span.until.map_or(t, |u| u.min(t)));
                coverage(w, &span, times, sources, &mut seen)
            }
            Relevance::Relevant => coverage(w, &span, times, sources, &mut seen),
        },
        _ => coverage(w, &span, times, sources, &mut seen),
    };
    WindowCheck {
        pack: p.id.clone(),
        title: w.title.clone(),
        from: Timestamp::from_unix(span.from),
        until: span.until.map(Timestamp::from_unix),
        status,
        detail,
        examiner: span.moved,
        holes: seen.holes,
        appliance_off: seen.off,
    }
}

/// Holes and downtime found inside a window while checking it.
#[derive(Default)]
struct Seen {
    holes: Vec<WindowHole>,
    off: Vec<Period>,
}

/// Whether each of the window's sources has dated lines on or before its first day, and no
/// hole inside it. Downtime inside it counts as covered, and is listed.
fn coverage(
    w: &Window,
    span: &Span,
    times: &SourceTimes<'_>,
    sources: &[SourceCoverage],
    seen: &mut Seen,
) -> (WindowStatus, String) {
    let mut missing = Vec::new();
    // A hole open on one side (a missing rotation dated only by its newer or older
    // neighbour) reaches as far as it can.
    let inside = |from: Option<i64>, to: Option<i64>| {
        to.is_none_or(|b| b > span.from) && span.until.is_none_or(|u| from.is_none_or(|a| a < u))
    };
    for sid in &w.sources {
        let title = sources
            .iter()
            .find(|s| &s.id == sid)
            .map_or(sid.as_str(), |s| s.title.as_str());
        // Windows are given in days: a source covers one when its first line falls on or
        // before the window's first day.
        match times.ranges.get(sid) {
            Some((Some(lo), _)) if lo.div_euclid(86_400) <= span.from.div_euclid(86_400) => {}
            Some((Some(lo), _)) => missing.push(format!(
                "the {title} starts {}, so {} to {} is not visible",
                day(*lo),
                day(span.from),
                day(span.until.map_or(*lo, |u| u.min(*lo)))
            )),
            _ => missing.push(format!("the {title} has no dated lines")),
        }
        let Some(st) = times.cont.sources.iter().find(|s| &s.id == sid) else {
            continue;
        };
        for h in st.holes.iter().filter(|h| inside(h.from, h.to)) {
            let when = match (h.from, h.to) {
                (Some(a), Some(b)) => {
                    format!(" from {} to {} ({})", minute(a), minute(b), duration(b - a))
                }
                (Some(a), None) => format!(" from {}", minute(a)),
                (None, Some(b)) => format!(" until {}", minute(b)),
                (None, None) => String::new(),
            };
            missing.push(format!("the {title} has a hole{when}: {}", h.detail));
            seen.holes.push(WindowHole {
                source: sid.clone(),
                from: h.from.map(Timestamp::from_unix),
                to: h.to.map(Timestamp::from_unix),
                detail: h.detail.clone(),
            });
        }
    }
    for d in &times.cont.downtime {
        if inside(Some(d.from.unix()), Some(d.to.unix())) {
            seen.off.push(Period {
                from: d.from,
                to: d.to,
            });
        }
    }
    let off = seen
        .off
        .iter()
        .map(|p| format!("{} to {}", p.from.minute(), p.to.minute()))
        .collect::<Vec<_>>();
    let off = if off.is_empty() {
        String::new()
    } else {
        format!(
            "; the appliance was off from {} (counted as covered)",
            off.join(" and from ")
        )
    };
    if missing.is_empty() {
        (
            WindowStatus::Covered,
            format!(
                "{} reach back to {} or earlier, without holes{off}",
                w.sources.join(", "),
                day(span.from)
            ),
        )
    } else {
        (
            WindowStatus::NotCovered,
            format!("{}{off}.", missing.join("; ")),
        )
    }
}
